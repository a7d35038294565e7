// genpt/core/map.hpp - the map walk and its rollback.
//
// map_walk installs [va, last] -> oa with the largest leaves that va, oa
// and the remaining length allow, allocating table levels on the way and
// publishing each with a release compare-exchange. It never overwrites a
// leaf (address_in_use); it replaces a table whose subtree holds no leaf
// by the larger leaf and collects that subtree in `freed`, to be released
// only after an IOTLB sync.
//
// On any error the walk stops with `va` at the first byte it did not map,
// having unlinked nothing past it (a leaf's items are all checked before
// any is cleared); map_rollback then removes the leaves of [start, va) and
// unlinks every empty table whose whole span lies inside the request, so a
// failed map changes no translation. The rollback hands each removal to
// its `out` in va order (as protect_walk does), so a no-gaps policy never
// flushes the va it left alone.
#pragma once

#include <cstdint>

#include "genpt/core/bbm.hpp"
#include "genpt/core/best_pgsize.hpp"
#include "genpt/core/walk.hpp"

namespace genpt::detail {

/// Tables and levels one operation took out of the tree.
struct change_set {
  table_list freed;               ///< unreachable tables, to free after a flush
  std::uint8_t leaf_levels = 0;   ///< levels whose leaves were removed
  std::uint8_t table_levels = 0;  ///< levels whose table pointers were removed
  va_t va = 0, last = 0;          ///< covering range of the removed items
  bool any = false;

  void add(va_t v, va_t l) noexcept {
    if (!any || v < va) va = v;
    if (!any || l > last) last = l;
    any = true;
  }
};

/// True when the hardware can reach a table of 2^lg2 bytes at `oa`: the
/// whole table [oa, oa + 2^lg2) lies below 2^oa_lg2, and a level-`level`
/// table item (make_table) holds oa exactly. (Above 2^oa_lg2 the walker
/// faults: x86 reserved bits past MAXPHYADDR, ARMv8 address size fault.)
template <class Format>
constexpr bool table_reachable(oa_t oa, unsigned lg2, unsigned level,
                               const typename Format::params& p) noexcept {
  // oa first: an oa near 2^64 must not wrap its end back below the limit.
  return log2_div(oa, p.oa_lg2) == 0 && log2_div(oa + log2_to_max_int(lg2), p.oa_lg2) == 0 &&
         Format::table_oa(Format::make_table(oa, level, p), p) == oa;
}

/// True when a top table of 2^lg2 bytes at `oa` can be the root of a table
/// whose top is `top_level`: below 2^oa_lg2, and the root register holds it
/// (format_traits::root_fits: e.g. ARMv8 TTBR, by default a table item one
/// level up holds it).
template <class Format>
constexpr bool root_reachable(oa_t oa, unsigned lg2, unsigned top_level,
                              const typename Format::params& p) noexcept {
  return log2_div(oa, p.oa_lg2) == 0 && log2_div(oa + log2_to_max_int(lg2), p.oa_lg2) == 0 &&
         format_traits<Format>::root_fits(oa, top_level, p);
}

/// Returns one table to the allocator (it was never linked anywhere).
template <class Alloc>
void free_table(Alloc& a, void* table, unsigned lg2) noexcept {
  table_list l;
  l.push_back(a.link_of(table, lg2));
  a.free(l);
}

/// Allocates a table of 2^lg2 bytes that a level-`level` item will point
/// to (root: a top at level `level` - 1, see root_reachable). A table the
/// hardware could not reach goes straight back to the allocator and the
/// result is {nullptr, 0}, as for an exhausted allocator: the caller fails
/// with no_memory, the one rule every table allocation in genpt follows.
/// Concurrency: as Alloc::allocate.
template <class Format, class Alloc>
[[gnu::always_inline]] inline table_alloc allocate_table(Alloc& a, unsigned lg2, unsigned level,
                                                         const typename Format::params& p,
                                                         bool root = false) noexcept {
  const table_alloc t = a.allocate(lg2);
  if (!t.table) return t;
  if (root ? root_reachable<Format>(t.oa, lg2, level - 1, p)
           : table_reachable<Format>(t.oa, lg2, level, p))
    return t;
  free_table(a, t.table, lg2);
  return {};
}

template <class Format, class Alloc>
struct map_walk {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;
  using attrs = typename Format::attrs;

  walk_ctx<Format, Alloc> c;
  const attrs& a;
  va_t va;                  ///< next va to map
  oa_t oa;                  ///< its oa
  const va_t last;          ///< last va of the request
  const std::uint64_t allowed;  ///< page sizes the table may use
  change_set& removed;      ///< subtrees replaced by leaves
  bool done = false;
  bool child_fresh = false;  ///< the table about to be descended into was just made
  live_flush live{};         ///< table -> leaf replacement rule (core/bbm.hpp)

  /// `fresh`: this call allocated `table`, so every item in the request's
  /// window is still zero (other threads map only disjoint va into it).
  template <unsigned L>
  errc level(word_t* table, unsigned span_lg2, bool fresh = false) noexcept {
    using state = level_state<Format, L>;
    constexpr unsigned ilg2 = state::item_lg2;
    const std::uint64_t sizes = Format::leaf_sizes(L, c.p) & allowed;
    dirty_span<Alloc, word_t> dirty{c.alloc, table};  // leaves written here, cleaned on return
    for (state s(table, span_lg2, va, last); s.index < s.end_index;) {
      const unsigned sz = sizes ? best_pgsize_lg2(sizes, va, last, oa) : 0;
      if (sz) {
        const unsigned first = s.index;
        const errc r = sz == ilg2 ? leaf_run<L>(s, sizes, fresh) : leaf_span<L>(s, sz, sizes, fresh);
        dirty.note(first, s.index);
        if (r != ok || done) return r;
        continue;
      }
      if constexpr (L == 0) {
        return errc::misaligned;  // the caller checked granule alignment; defensive
      } else {
        switch (s.load()) {
          case entry_kind::leaf:
            return errc::address_in_use;
          case entry_kind::empty: {
            child_fresh = true;
            const table_alloc t = allocate_table<Format>(c.alloc, traits::table_lg2(L - 1), L, c.p);
            if (!t.table) return errc::no_memory;  // exhausted, or out of the hardware's reach
            if (!cas_item_release(s.item(), s.entry, Format::make_table(t.oa, L, c.p))) {
              // Another thread installed a table here first: drop ours
              // (never visible to anyone) and walk theirs.
              free_table(c.alloc, t.table, traits::table_lg2(L - 1));
              child_fresh = false;
              continue;
            }
            s.entry = Format::make_table(t.oa, L, c.p);
            if constexpr (cleaning_allocator<Alloc>) {
              // allocate() cleaned the child; now the item pointing to it,
              // then the SW bit tells racing walkers the path is clean.
              clean_items(c.alloc, s.item(), 1);
              or_item_release(s.item(), format_traits<Format>::sw_bit_mask(c.p));
            }
            break;
          }
          case entry_kind::table:
            if constexpr (cleaning_allocator<Alloc>) {
              // No SW bit yet: its installer may still be cleaning it, so
              // clean it here too; this map's path is then visible on return.
              if (!(s.entry & format_traits<Format>::sw_bit_mask(c.p))) clean_items(c.alloc, s.item(), 1);
            }
            break;
        }
        const errc r = level<L - 1>(c.child(s.entry), ilg2, child_fresh);
        child_fresh = false;
        if (r != ok || done) return r;
        ++s.index;
      }
    }
    return ok;
  }

 private:
  void advance(unsigned sz) noexcept {
    const va_t entry_last = va + log2_to_max_int(sz);
    if (entry_last == last) done = true;
    va = entry_last + 1;
    oa += log2_to_int(sz);
  }

  /// address_in_use when item idx holds a leaf or a subtree with one;
  /// ok when it is empty or a leaf-less subtree (unlink_empty's to clear).
  template <unsigned L, class State>
  errc check_free(const State& s, unsigned idx) const noexcept {
    const word_t e = load_item_acquire(s.table + idx);
    switch (Format::classify(e, L)) {
      case entry_kind::empty:
        return ok;
      case entry_kind::leaf:
        return errc::address_in_use;
      case entry_kind::table:
        if constexpr (L > 0) {
          if (subtree_has_leaf<Format, L - 1>(c, c.child(e), walk_ctx<Format, Alloc>::child_items(L)))
            return errc::address_in_use;
        }
        return ok;
    }
    return ok;
  }

  /// Unlinks the leaf-less subtree at item idx (check_free passed: no other
  /// thread maps into this request's va) and collects it; empty stays.
  template <unsigned L, class State>
  void unlink_empty(State& s, unsigned idx) noexcept {
    if constexpr (L > 0) {
      word_t* item = s.table + idx;
      const word_t e = load_item_acquire(item);
      if (Format::classify(e, L) != entry_kind::table) return;
      auto* child = c.child(e);
      const unsigned n = walk_ctx<Format, Alloc>::child_items(L);
      // Unlinking an empty subtree changes no translation; hardware
      // may still walk it until the sync, so it is freed only then.
      store_item(item, word_t{0});
      clean_items(c.alloc, item, 1);
      collect_subtree<Format, L - 1>(c, child, n, removed.freed, &removed.table_levels);
      removed.freed.push_back(c.alloc.link_of(child, traits::table_lg2(L - 1)));
      removed.table_levels |= static_cast<std::uint8_t>(1u << L);
      const va_t item_va = log2_align_down(va, State::item_lg2) +
                           (va_t{idx - s.index} << State::item_lg2);
      removed.add(item_va, item_va + log2_to_max_int(State::item_lg2));
    }
  }

  /// Frees the n items of a leaf of size 2^sz at s.index that are not all
  /// zero: address_in_use when one holds a leaf, else every leaf-less
  /// subtree is unlinked. Out of line and cold, so the common all-zero
  /// path of leaf() stays small.
  template <unsigned L, class State>
  [[gnu::noinline, gnu::cold]] errc make_free(State& s, unsigned n, unsigned sz) noexcept {
    // Every item first, then the unlinks: a failure here leaves the
    // items untouched, so what a failed map unlinked lies below `va`.
    for (unsigned k = 0; k < n; ++k)
      if (const errc r = check_free<L>(s, s.index + k); r != ok) return r;
    for (unsigned k = 0; k < n; ++k) unlink_empty<L>(s, s.index + k);
    // A valid table descriptor becoming a block breaks first where the
    // format asks (ARMv8, Arm ARM D8.16.1): the walk caches drop the
    // unlinked tables before the leaf is written.
    if (live.rule != live_rule::one_step)
      live.now(va, va + log2_to_max_int(sz), 0, removed.table_levels);
    return ok;
  }

  /// One leaf of size 2^sz (possibly several contiguous items) at s.index.
  template <unsigned L, class State>
  errc leaf(State& s, unsigned sz, bool fresh = false) noexcept {
    const unsigned n = 1u << (sz - State::item_lg2);
    // Fast check: all zero (the only empty form genpt writes), or a table
    // this call made; otherwise item by item, replacing empty subtrees.
    word_t any = 0;
    if (!fresh) {
#pragma GCC unroll 8
      for (unsigned k = 0; k < n; ++k) any |= load_item(s.table + s.index + k);
    }
    if (any != 0) [[unlikely]] {
      if (const errc r = make_free<L>(s, n, sz); r != ok) return r;
    }
    const word_t d = Format::make_leaf(oa, sz, L, a, c.p);
    const word_t step = traits::leaf_item_step(sz, L, c.p);
    fill_items(s.table + s.index, d, step, n);
    s.index += n;
    advance(sz);
    return ok;
  }

  /// Leaves to make at s.index before the table end, the request end, or
  /// the point where a size of this level larger than 2^sz could start:
  /// each of 2^sz bytes, so 2^(sz - item_lg2) items apiece.
  template <class State>
  std::uint64_t run_leaves(const State& s, unsigned sz, std::uint64_t sizes) const noexcept {
    std::uint64_t count = (s.end_index - s.index) >> (sz - State::item_lg2);
    const std::uint64_t len = last - va + 1;  // 0: the whole 64-bit space
    if (len != 0 && (len >> sz) < count) count = len >> sz;
    if (const std::uint64_t larger = sizes & ~log2_to_max_int(sz + 1)) {
      const unsigned next = ffs64(larger);
      if (log2_mod(va ^ oa, next) == 0) {
        const std::uint64_t to_boundary = (log2_to_int(next) - log2_mod(va, next)) >> sz;
        if (to_boundary < count) count = to_boundary;
      }
    }
    return count;
  }

  /// Leaves of 2^sz bytes, each of several items (a contiguous run: ARMv8
  /// contiguous hint, RISC-V Svnapot, AMDv1 NextLevel=7), from s.index on,
  /// as many as run_leaves() allows: when the format's leaf word is linear
  /// over the leaves (each one's first item is the one before plus the
  /// encoded step of 2^sz), one loop with one make_leaf writes them up to
  /// the first leaf whose items are not all zero; that one, and every run
  /// that is not linear, goes by leaf().
  template <unsigned L, class State>
  errc leaf_span(State& s, unsigned sz, std::uint64_t sizes, bool fresh) noexcept {
    const std::uint64_t count = run_leaves(s, sz, sizes);
    if (count < 2) return leaf<L>(s, sz, fresh);
    const unsigned n = 1u << (sz - State::item_lg2);
    word_t* const item = s.table + s.index;
    const word_t d0 = Format::make_leaf(oa, sz, L, a, c.p);
    const word_t leaf_step = Format::make_leaf(oa + log2_to_int(sz), sz, L, a, c.p) - d0;
    // Linear up to the run's last leaf (no oa bit the encoding moves
    // elsewhere, e.g. ARMv8 LPA2's OA[51:50], changes inside the run).
    if (Format::make_leaf(oa + ((count - 1) << sz), sz, L, a, c.p) != d0 + (count - 1) * leaf_step)
      return leaf<L>(s, sz, fresh);
    const word_t step = traits::leaf_item_step(sz, L, c.p);
    // One pass, leaf by leaf: its n items are checked (all zero, the only
    // empty form genpt writes), then written while they are hot. A leaf
    // holding anything else stops the run; leaf() takes it with full checks.
    std::uint64_t j = 0;
    word_t d = d0;
    for (; j < count; ++j, d += leaf_step) {
      word_t* const first = item + j * n;
      if (!fresh) {
        word_t any = 0;
#pragma GCC unroll 8
        for (unsigned k = 0; k < n; ++k) any |= load_item(first + k);
        if (any != 0) break;
      }
      fill_items(first, d, step, n);
    }
    if (j != 0) {
      s.index += static_cast<unsigned>(j * n);
      const va_t run_last = va + ((j << sz) - 1);
      if (run_last == last) done = true;
      va = run_last + 1;
      oa += j << sz;
    }
    if (j != count) return leaf<L>(s, sz, fresh);  // a nonzero item ahead: full checks
    return ok;
  }

  /// A run of single-item leaves, up to the table end, the request end, or
  /// the point where a larger (contiguous) size of this level could start.
  /// Items that are zero (the only empty form genpt writes) are checked and
  /// written in one pass; from the first group holding anything else, one
  /// leaf at a time with full checks (leaf()).
  template <unsigned L, class State>
  errc leaf_run(State& s, std::uint64_t sizes, bool fresh) noexcept {
    constexpr unsigned ilg2 = State::item_lg2;
    const std::uint64_t count = run_leaves(s, ilg2, sizes);
    word_t* item = s.table + s.index;
    // make_leaf(oa) is attribute bits | encode_oa(oa): take the attribute
    // bits once, then add each item's encoded oa.
    const word_t w0 = Format::make_leaf(oa, ilg2, L, a, c.p);
    const word_t bits = w0 ^ traits::encode_oa(oa, c.p);
    const oa_t oa_last = oa + ((count - 1) << ilg2);
    const word_t step = traits::encode_oa(oa + log2_to_int(ilg2), c.p) - traits::encode_oa(oa, c.p);
    std::uint64_t written = count;
    if ((bits | traits::encode_oa(oa_last, c.p)) == w0 + (count - 1) * step) [[likely]] {
      // The encoding is linear over the run (no oa bit it moves elsewhere,
      // e.g. ARMv8 LPA2's OA[51:50], changes inside it; one that did would
      // break the equality at the run's last item): each item is the one
      // before plus the encoded page step.
      if constexpr (cleaning_allocator<Alloc>) prefetch_items_for_write(item, count);
      if (fresh)
        fill_items(item, w0, step, count);
      else
        written = fill_zero_items(item, w0, step, count);
    } else {
      word_t any = 0;
      if (!fresh) {
        for (std::uint64_t k = 0; k < count; ++k) any |= load_item(item + k);
      }
      if (any != 0) return leaf<L>(s, ilg2);  // one at a time, with full checks
      for (std::uint64_t k = 0; k < count; ++k)
        store_item(item + k, bits | traits::encode_oa(oa + (k << ilg2), c.p));
    }
    if (written != 0) {
      s.index += static_cast<unsigned>(written);
      const va_t run_last = va + ((written << ilg2) - 1);
      if (run_last == last) done = true;
      va = run_last + 1;
      oa += written << ilg2;
    }
    if (written != count) return leaf<L>(s, ilg2);  // a nonzero item ahead: full checks
    return ok;
  }
};

/// Undoes a failed map: clears the leaves in [lo, leaf_end) (all made by
/// that map) and unlinks the empty tables whose span lies in [lo, req_last].
/// Each removal goes to `out` as the walk goes, in va order (a table after
/// its child's items, its span covering theirs):
///   out.must_flush_before(va, last)  the pending changes must be flushed
///                                    before [va, last] joins them
///   out.sync()                       flush them (every item this walk
///                                    cleared is cleaned first)
///   out.add_leaf(level, va, last)    one cleared leaf item
///   out.add_table(level, va, last, link)  one cleared table pointer; the
///                                    table is freed after the flush of
///                                    the range it joins
/// The caller cleans `written` (clean_all) before its last sync.
template <class Format, class Alloc, class Out>
struct map_rollback {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;

  walk_ctx<Format, Alloc> c;
  const va_t lo;
  const va_t leaf_end;   ///< first va the failed map did not map (== lo: none)
  const va_t req_last;
  Out& out;
  leaf_windows<Alloc, word_t> written{c.alloc};  ///< items cleared, cleaned before any flush

  template <unsigned L>
  void level(word_t* table, unsigned span_lg2, va_t va, va_t last) noexcept {
    using state = level_state<Format, L>;
    constexpr unsigned ilg2 = state::item_lg2;
    for (state s(table, span_lg2, va, last); s.index < s.end_index; ++s.index) {
      const va_t item_va = state::item_va(va, span_lg2, s.index);
      const va_t item_last = item_va + log2_to_max_int(ilg2);
      switch (s.load()) {
        case entry_kind::empty:
          break;
        case entry_kind::leaf: {
          const unsigned sz = traits::entry_size_lg2(s.entry, L);
          const va_t start = log2_align_down(item_va, sz);
          if (start >= lo && start < leaf_end) {
            clear(L, table, s.item(), item_va, item_last);
            out.add_leaf(L, item_va, item_last);
          }
          break;
        }
        case entry_kind::table:
          if constexpr (L > 0) {
            auto* child = c.child(s.entry);
            level<L - 1>(child, ilg2, item_va > va ? item_va : va,
                         item_last < last ? item_last : last);
            const unsigned n = walk_ctx<Format, Alloc>::child_items(L);
            if (item_va >= lo && item_last <= req_last && table_is_empty<Format, L - 1>(child, n)) {
              clear(L, table, s.item(), item_va, item_last);
              out.add_table(L, item_va, item_last, c.alloc.link_of(child, traits::table_lg2(L - 1)));
            }
          }
          break;
      }
    }
  }

 private:
  /// Clears one item whose removal joins the gather as [va, last]: the
  /// pending changes are synced first when the policy asks (every item
  /// cleared so far cleaned before that flush).
  void clear(unsigned level, word_t* table, word_t* item, va_t va, va_t last) noexcept {
    if (out.must_flush_before(va, last)) {
      written.clean_all();
      out.sync();
    }
    store_item(item, word_t{0});
    written.note(level, table, item, 1);
  }
};

}  // namespace genpt::detail
