// genpt/core/walk.hpp - range checks, per-level iteration and the walks
// that only read (lookup, leaf visits) or collect tables.
//
// Levels are template parameters: each walk is a family of functions
// level<L>(...) that recurse to level<L-1>, so every shift and mask is a
// constant and a single-entry walk unrolls into straight-line code
// (upstream's PT_MAKE_LEVELS). dispatch_level turns the runtime top level
// into the first compile-time one.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/item.hpp"
#include "genpt/core/log2.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/table_list.hpp"

/// Makes a lambda's call operator always inline: GCC and Clang take the
/// GNU attribute after the parameter list (C++20 has no standard place).
#define GENPT_INLINE_LAMBDA __attribute__((always_inline))

namespace genpt::detail {

/// Calls fn(std::integral_constant<unsigned, L>{}) with L == level: a chain
/// of compares, always inline. A hot caller marks its lambda
/// GENPT_INLINE_LAMBDA as well, so that the whole walk lands in the caller
/// with no call and no block of captures (GCC 12 otherwise outlined the
/// lambda, or the dispatch, in a chained lookup loop and spilled the loop's
/// state around it).
template <unsigned Max, class Fn>
[[gnu::always_inline]] constexpr decltype(auto) dispatch_level(unsigned level, Fn&& fn) {
  if constexpr (Max == 0) {
    return fn(std::integral_constant<unsigned, 0>{});
  } else {
    if (level == Max) return fn(std::integral_constant<unsigned, Max>{});
    return dispatch_level<Max - 1>(level, static_cast<Fn&&>(fn));
  }
}

/// Success value for the internal status (errc has no 0 member).
inline constexpr errc ok = static_cast<errc>(0);

/// Checks that [va, last] lies inside the VA space a top spanning
/// `span_lg2` bits decodes, without crossing a sign-extension hole.
constexpr bool va_range_valid(va_layout layout, unsigned span_lg2, va_t va, va_t last) noexcept {
  switch (layout) {
    case va_layout::low:
      return log2_div(va, span_lg2) == 0 && log2_div(last, span_lg2) == 0;
    case va_layout::high:
      return log2_div(~va, span_lg2) == 0 && log2_div(~last, span_lg2) == 0;
    case va_layout::sign_extend: {
      // Bits 63..span-1 must all equal the sign bit, in both ends alike.
      const std::uint64_t hi = va >> (span_lg2 - 1);
      const std::uint64_t ones = ~std::uint64_t{0} >> (span_lg2 - 1);
      return (hi == 0 || hi == ones) && (last >> (span_lg2 - 1)) == hi;
    }
  }
  return false;
}

/// The va a top spanning span_lg2 bits of `layout` decodes, reduced to two
/// words so that the check and the top index of one va cost an add, two
/// ANDs and a shift: va is inside iff ((va + bias) & outside) == 0, since
/// adding bias moves the window onto [0, 2^span) (high: 2^span, 0 at 64;
/// sign_extend: 2^(span - 1); low: 0). The same as va_range_valid(layout,
/// span_lg2, va, va).
struct top_window {
  va_t bias = 0;
  va_t outside = 0;  ///< bits 63..span, 0 at span 64

  static constexpr top_window of(va_layout layout, unsigned span_lg2) noexcept {
    va_t bias = 0;
    if (layout == va_layout::high) bias = log2_to_int(span_lg2);
    if (layout == va_layout::sign_extend) bias = log2_to_int(span_lg2 - 1);
    return {bias, ~log2_to_max_int(span_lg2)};
  }
  constexpr bool contains(va_t va) const noexcept { return ((va + bias) & outside) == 0; }
  /// The index of va in the top, whose items span item_lg2 bits each:
  /// va's low span bits, in every layout (format_traits::index_of).
  constexpr unsigned index(va_t va, unsigned item_lg2) const noexcept {
    return static_cast<unsigned>((va & ~outside) >> item_lg2);
  }
};

/// Iteration state at one table level of one walk: the table, the window of
/// indexes the walk visits, and the item last loaded.
template <class Format, unsigned Level>
struct level_state {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;
  static constexpr unsigned level = Level;
  static constexpr unsigned item_lg2 = traits::item_lg2(Level);

  word_t* table;
  unsigned index;      ///< current item
  unsigned end_index;  ///< one past the last item the walk visits
  word_t entry = 0;    ///< raw copy of table[index] after load()
  entry_kind kind = entry_kind::empty;

  /// Window of `table` (spanning span_lg2 VA bits) that [va, last] covers.
  constexpr level_state(word_t* t, unsigned span_lg2, va_t va, va_t last) noexcept
      : table(t), index(traits::index_of(va, Level, span_lg2)) {
    // Does `last` lie in this table? (Shifts stay below 64: see index_of.)
    const bool last_inside = (((va ^ last) >> item_lg2) >> (span_lg2 - item_lg2)) == 0;
    end_index = last_inside ? traits::index_of(last, Level, span_lg2) + 1
                            : 1u << (span_lg2 - item_lg2);
  }
  word_t* item() const noexcept { return table + index; }
  /// Loads table[index] (acquire: a table pointer may be followed).
  entry_kind load() noexcept {
    entry = load_item_acquire(table + index);
    kind = Format::classify(entry, Level);
    return kind;
  }
  /// First va of item `index`, given any va inside this table.
  static constexpr va_t item_va(va_t any_va, unsigned span_lg2, unsigned index) noexcept {
    const va_t table_mask = (va_t{1} << (span_lg2 - item_lg2)) - 1;
    return (((any_va >> item_lg2) & ~table_mask) | index) << item_lg2;
  }
};

/// True for allocators whose tables a non-snooping walker reads: they clean
/// every written cache line (allocator hook `clean(const void*, size_t)`).
template <class Alloc>
concept cleaning_allocator = requires(Alloc& a, const void* p, std::size_t n) { a.clean(p, n); };

/// An allocator whose phys_to_virt(oa) is the address oa + linear_offset()
/// (modulo 2^64) for every oa it gave: iova_to_phys then forms a child
/// table's address by one add (lookup).
template <class Alloc>
concept linear_allocator = requires(const Alloc& a) {
  { a.linear_offset() } noexcept -> std::same_as<std::uintptr_t>;
};

/// `v`, which the optimizer can no longer relate to the expressions it came
/// from (an empty asm that claims to change it in its register): no
/// instruction, only a fence against rewriting.
template <class T>
[[gnu::always_inline]] inline T opaque(T v) noexcept {
  asm("" : "+r"(v));
  return v;
}

/// Cleans n items from p for a cleaning allocator; nothing otherwise.
template <class Alloc, class Word>
[[gnu::always_inline]] inline void clean_items(Alloc& a, const Word* p, std::size_t n) noexcept {
  if constexpr (cleaning_allocator<Alloc>) a.clean(p, n * sizeof(Word));
}

/// The window of items one walk wrote in one table, cleaned once when the
/// walk leaves the table (one clean per cache line per operation). Empty
/// and free for allocators that do not clean.
template <class Alloc, class Word, bool = cleaning_allocator<Alloc>>
struct dirty_span {
  dirty_span(Alloc&, Word*) noexcept {}
  void note(unsigned, unsigned) noexcept {}
};
template <class Alloc, class Word>
struct dirty_span<Alloc, Word, true> {
  Alloc& a;
  Word* table;
  unsigned lo = ~0u, hi = 0;  ///< [lo, hi) written
  dirty_span(Alloc& al, Word* t) noexcept : a(al), table(t) {}
  dirty_span(const dirty_span&) = delete;
  dirty_span& operator=(const dirty_span&) = delete;
  /// Items [first, end) were written.
  void note(unsigned first, unsigned end) noexcept {
    if (first < lo) lo = first;
    if (end > hi) hi = end;
  }
  ~dirty_span() {
    if (lo < hi) a.clean(table + lo, (hi - lo) * sizeof(Word));
  }
};

/// The items a leaf walk (for_each_leaf_entry: tables visited depth first,
/// each once) wrote, as one window per level, cleaned when the walk moves
/// to another table at that level, or by clean_all(): one clean per cache
/// line per operation, as dirty_span. Empty and free for allocators that
/// do not clean.
template <class Alloc, class Word, bool = cleaning_allocator<Alloc>>
struct leaf_windows {
  leaf_windows(Alloc&) noexcept {}
  void note(unsigned, Word*, Word*, unsigned) noexcept {}
  void clean_all() noexcept {}
};
template <class Alloc, class Word>
struct leaf_windows<Alloc, Word, true> {
  struct window {
    Word* table = nullptr;
    Word* lo = nullptr;
    Word* hi = nullptr;  ///< [lo, hi) written
  };
  Alloc& a;
  window w[8] = {};
  explicit leaf_windows(Alloc& al) noexcept : a(al) {}
  leaf_windows(const leaf_windows&) = delete;
  leaf_windows& operator=(const leaf_windows&) = delete;
  ~leaf_windows() { clean_all(); }
  /// The n items from `items`, in `table` at `level`, were written.
  void note(unsigned level, Word* table, Word* items, unsigned n) noexcept {
    window& x = w[level];
    if (x.table != table) {  // that level's previous table is finished
      clean(x);
      x = {table, items, items + n};
      return;
    }
    if (items < x.lo) x.lo = items;
    if (items + n > x.hi) x.hi = items + n;
  }
  /// Cleans every window now (before a flush in the middle of the walk).
  void clean_all() noexcept {
    for (window& x : w) clean(x);
  }

 private:
  void clean(window& x) noexcept {
    if (x.lo != x.hi) a.clean(x.lo, static_cast<std::size_t>(x.hi - x.lo) * sizeof(Word));
    x = {};
  }
};

/// What a walk needs beside the table: the format's params and the allocator.
template <class Format, class Alloc>
struct walk_ctx {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;
  const typename Format::params& p;
  Alloc& alloc;

  word_t* child(word_t e) const noexcept {
    // The allocator maps the table's output address back to the memory it gave.
    return static_cast<word_t*>(alloc.phys_to_virt(Format::table_oa(e, p)));
  }
  static constexpr unsigned child_items(unsigned level) noexcept {
    return 1u << traits::num_items_lg2(level - 1);
  }
};

/// walk_ctx for a walk that only reads, holding a copy of the params: the
/// copy is a local the walk's acquire loads cannot change, so the compiler
/// keeps the format's masks in registers across levels (through a
/// reference, it reloads them after every acquire load).
template <class Format, class Alloc>
struct read_ctx {
  read_ctx(const typename Format::params& params, Alloc& a) noexcept : p(params), alloc(a), src(&params) {}

  typename Format::params p;
  Alloc& alloc;
  /// The params p copies: what an out-of-line step (lookup_cold) copies
  /// again, so that this copy's address never escapes.
  const typename Format::params* src;

  typename Format::word_t* child(typename Format::word_t e) const noexcept {
    // The allocator maps the table's output address back to the memory it gave.
    return static_cast<typename Format::word_t*>(alloc.phys_to_virt(Format::table_oa(e, p)));
  }
};

/// lookup()'s "no translation": no output address is all ones (oa_lg2 is
/// at most 56 in every format), so the value cannot be a translation.
inline constexpr oa_t no_oa = ~oa_t{0};

template <class Format, unsigned L, class Alloc>
oa_t lookup_cold(const typename Format::params* p, Alloc& alloc, const typename Format::word_t* table, unsigned index,
                 va_t va) noexcept;

/// Translates one va; no_oa for no translation. A plain integer, not an
/// optional: GCC builds a returned std::optional in memory, which put two
/// store-to-load forwards on a chained lookup's latency.
/// `index` is va's index in `table`.
///
/// With a linear allocator, a table item in the form make_table writes
/// (format_traits::table_item_form, plus the SW "flush done" bit under a
/// cleaning allocator) gives its child item's address as one add that the
/// next load's address mode takes, where classify and table_oa would put a
/// mask (RISC-V: and a shift) on the latency chain. Any other table item
/// (a bit a walker set, say) leads to lookup_cold, out of line, so each
/// level inlines one copy of the level below, not two.
template <class Format, unsigned L, class Ctx>
[[gnu::always_inline]] inline oa_t lookup(const Ctx& c, const typename Format::word_t* table, unsigned index,
                                          va_t va) noexcept {
  using traits = format_traits<Format>;
  using alloc_t = std::remove_cvref_t<decltype(c.alloc)>;
  constexpr bool linear = L > 0 && linear_allocator<alloc_t>;
  const auto e = load_item_acquire(table + index);
  if constexpr (linear) {
    const auto form = traits::table_item_form(L, c.p);
    auto value = form.value;
    if constexpr (cleaning_allocator<alloc_t>) value |= traits::sw_bit_mask(c.p) & form.mask;
    // The child item's byte offset in its table: index_of(va, L - 1, ...)
    // times 8, shifted and masked in place (items are 8 bytes, and every
    // item spans at least 2^3 bytes of va).
    static_assert(sizeof(e) == 8 && traits::item_lg2(L - 1) >= 3);
    constexpr unsigned ilg2 = traits::item_lg2(L - 1);
    const std::uintptr_t next_off = static_cast<std::uintptr_t>(va >> (ilg2 - 3)) &
                                    (((std::uintptr_t{1} << (traits::item_lg2(L) - ilg2)) - 1) << 3);
    // The allocator's offset, the child's item, less the value's share:
    // none depends on e. opaque: after the test the compiler knows value
    // == (e & mask) and would otherwise rebuild bias from e, putting the
    // mask back on the chain.
    const std::uintptr_t bias =
        opaque(c.alloc.linear_offset() + next_off - static_cast<std::uintptr_t>(value << form.oa_shift));
    if ((e & form.mask) == value) [[likely]] {
      // (e - value) << oa_shift is the child's oa (table_item_form; the SW
      // bit lies outside the address), which the allocator maps linearly:
      // the sum is the child item's address.
      const auto* item =
          reinterpret_cast<const typename Format::word_t*>((static_cast<std::uintptr_t>(e) << form.oa_shift) + bias);
      return lookup<Format, L - 1>(c, item, 0, va);
    }
  }
  switch (Format::classify(e, L)) {
    case entry_kind::leaf:
      // A single-item leaf first (a branch the predictor takes), so a
      // contiguous-entry size decode stays off the lookup's latency chain.
      if constexpr (traits::single_leaf_bits(L).mask != 0) {
        constexpr auto one = traits::single_leaf_bits(L);
        if ((e & one.mask) == one.value) [[likely]]
          return traits::single_leaf_oa(e, L, c.p) | log2_mod(va, traits::item_lg2(L));
      }
      return Format::entry_oa(e, L, c.p) | log2_mod(va, traits::entry_size_lg2(e, L));
    case entry_kind::table:
      if constexpr (linear)
        return lookup_cold<Format, L - 1>(c.src, c.alloc, c.child(e), traits::index_of(va, L - 1, traits::item_lg2(L)),
                                          va);
      else if constexpr (L > 0)
        return lookup<Format, L - 1>(c, c.child(e), traits::index_of(va, L - 1, traits::item_lg2(L)), va);
      [[fallthrough]];
    default:
      return no_oa;
  }
}

/// lookup() below a table item not in table_item_form, out of line (the
/// levels below take the one-add step again). It takes the params the
/// caller's read_ctx copied, not that copy: the copy's address would
/// escape, and the compiler would then keep it in memory, storing it on
/// every lookup and reloading it after every acquire load.
template <class Format, unsigned L, class Alloc>
[[gnu::noinline, gnu::cold]] oa_t lookup_cold(const typename Format::params* p, Alloc& alloc,
                                             const typename Format::word_t* table, unsigned index, va_t va) noexcept {
  const read_ctx<Format, Alloc> c{*p, alloc};
  return lookup<Format, L>(c, table, index, va);
}

/// The level-0 item for va when every level above holds a table pointer
/// with all the bits of `need` set (a cleaning allocator's SW "flush done"
/// bit; 0 for none); nullptr when the path has a hole, a leaf above level
/// 0, or a table item without them. `index` is va's index in `table`.
template <class Format, unsigned L, class Ctx>
[[gnu::always_inline]] inline typename Format::word_t* find_leaf_item(const Ctx& c, typename Format::word_t* table,
                                                                      unsigned index, va_t va,
                                                                      typename Format::word_t need) noexcept {
  using traits = format_traits<Format>;
  auto* item = table + index;
  if constexpr (L == 0) {
    return item;
  } else {
    const auto e = load_item_acquire(item);
    if (Format::classify(e, L) != entry_kind::table || (e & need) != need) return nullptr;
    return find_leaf_item<Format, L - 1>(c, c.child(e), traits::index_of(va, L - 1, traits::item_lg2(L)), va, need);
  }
}

/// Puts every table below `table` (a table at level L with n_items items)
/// on `out`, deepest first. Never allocates.
/// `table_levels`, when given, gets bit L for every table pointer met at
/// level L (a flush must drop the walk-cache entries of those levels).
template <class Format, unsigned L, class Ctx>
void collect_subtree(Ctx& c, typename Format::word_t* table, unsigned n_items,
                     table_list& out, std::uint8_t* table_levels = nullptr) noexcept {
  if constexpr (L > 0) {
    using traits = format_traits<Format>;
    for (unsigned i = 0; i < n_items; ++i) {
      const auto e = load_item(table + i);
      if (Format::classify(e, L) != entry_kind::table) continue;
      auto* child = c.child(e);
      collect_subtree<Format, L - 1>(c, child, Ctx::child_items(L), out, table_levels);
      out.push_back(c.alloc.link_of(child, traits::table_lg2(L - 1)));
      if (table_levels) *table_levels |= static_cast<std::uint8_t>(1u << L);
    }
  }
}

/// True when any item of the subtree below `table` (level L) is a leaf.
template <class Format, unsigned L, class Ctx>
bool subtree_has_leaf(const Ctx& c, const typename Format::word_t* table,
                      unsigned n_items) noexcept {
  for (unsigned i = 0; i < n_items; ++i) {
    const auto e = load_item(table + i);
    const entry_kind k = Format::classify(e, L);
    if (k == entry_kind::leaf) return true;
    if constexpr (L > 0) {
      if (k == entry_kind::table &&
          subtree_has_leaf<Format, L - 1>(c, c.child(e), Ctx::child_items(L)))
        return true;
    }
  }
  return false;
}

/// True when every item of a table is empty.
template <class Format, unsigned L>
bool table_is_empty(const typename Format::word_t* table, unsigned n_items) noexcept {
  for (unsigned i = 0; i < n_items; ++i)
    if (Format::classify(load_item(table + i), L) != entry_kind::empty) return false;
  return true;
}

/// One leaf entry as for_each_leaf_entry hands it over.
template <class Format>
struct leaf_entry {
  typename Format::word_t* items;  ///< the entry's first item
  unsigned n;                      ///< its items (1, or a contiguous run)
  unsigned size_lg2;               ///< bytes it translates, log2
  va_t va;                         ///< its first va
  typename Format::word_t word;    ///< the item the walk loaded
  typename Format::word_t* table;  ///< the table holding it
};

/// Calls on_leaf(std::integral_constant<unsigned, level>, leaf_entry) for
/// every leaf entry overlapping [va, last], in va order, each once and
/// whole (its first va may be below `va`), descending every table. The
/// walk of read_and_clear_dirty, protect and for_each_leaf.
template <class Format, unsigned L, class Ctx, class OnLeaf>
void for_each_leaf_entry(const Ctx& c, typename Format::word_t* table, unsigned span_lg2, va_t va,
                         va_t last, OnLeaf& on_leaf) {
  using traits = format_traits<Format>;
  using state = level_state<Format, L>;
  for (state s(table, span_lg2, va, last); s.index < s.end_index;) {
    const va_t item_va = state::item_va(va, span_lg2, s.index);
    switch (s.load()) {
      case entry_kind::leaf: {
        const unsigned sz = traits::entry_size_lg2(s.entry, L);
        if (sz == state::item_lg2) {  // the common single-item leaf: no run arithmetic
          on_leaf(std::integral_constant<unsigned, L>{},
                  leaf_entry<Format>{table + s.index, 1, sz, item_va, s.entry, table});
          ++s.index;
          continue;
        }
        const unsigned n = 1u << (sz - state::item_lg2);
        const unsigned first = s.index & ~(n - 1);  // a run may start before the window
        on_leaf(std::integral_constant<unsigned, L>{},
                leaf_entry<Format>{table + first, n, sz, log2_align_down(item_va, sz), s.entry,
                                   table});
        s.index = first + n;
        continue;
      }
      case entry_kind::table:
        if constexpr (L > 0) {
          const va_t lo = item_va > va ? item_va : va;
          const va_t item_last = item_va + log2_to_max_int(state::item_lg2);
          for_each_leaf_entry<Format, L - 1>(c, c.child(s.entry), state::item_lg2, lo,
                                             item_last < last ? item_last : last, on_leaf);
        }
        break;
      case entry_kind::empty:
        break;
    }
    ++s.index;
  }
}

/// Calls visit(leaf_view) for every entry that overlaps [va, last], in va
/// order, each once and whole (its first va may be below `va`).
template <class Format, unsigned L, class Ctx, class Visit>
void visit_leaves(const Ctx& c, typename Format::word_t* table, unsigned span_lg2, va_t va,
                  va_t last, Visit& visit) {
  auto on_leaf = [&](auto lv, const leaf_entry<Format>& e) {
    visit(leaf_view<typename Format::attrs>{e.va, Format::entry_oa(e.word, lv, c.p), e.size_lg2,
                                            lv, Format::attrs_of(e.word, lv, c.p)});
  };
  for_each_leaf_entry<Format, L>(c, table, span_lg2, va, last, on_leaf);
}

/// Calls visit(item_view) for every non-empty item overlapping [va, last],
/// depth first: a table item before the items of its child table.
template <class Format, unsigned L, class Ctx, class Visit>
void visit_items(const Ctx& c, typename Format::word_t* table, unsigned span_lg2, va_t va,
                 va_t last, Visit& visit) {
  using state = level_state<Format, L>;
  for (state s(table, span_lg2, va, last); s.index < s.end_index; ++s.index) {
    const va_t item_va = state::item_va(va, span_lg2, s.index);
    const entry_kind k = s.load();
    if (k == entry_kind::empty) continue;
    visit(item_view{item_va, s.entry, L, s.index, k});
    if constexpr (L > 0) {
      if (k == entry_kind::table) {
        const va_t lo = item_va > va ? item_va : va;
        const va_t item_last = item_va + log2_to_max_int(state::item_lg2);
        visit_items<Format, L - 1>(c, c.child(s.entry), state::item_lg2, lo,
                                   item_last < last ? item_last : last, visit);
      }
    }
  }
}

}  // namespace genpt::detail
