// genpt/core/cut.hpp - cut: make a va an entry boundary, translation unchanged.
//
// A large leaf becomes a table of smaller leaves with the same output and
// attributes, built aside and installed with one release store; a
// contiguous run is re-encoded into smaller entries item by item (every
// intermediate state translates every va exactly as before). Repeats one
// level down until va starts an entry. Attributes are what attrs_of()
// extracts: hardware-set state the format keeps outside attrs (e.g. an
// AMDv1 dirty bit) does not survive a cut.
#pragma once

#include <cstdint>

#include "genpt/core/best_pgsize.hpp"
#include "genpt/core/map.hpp"
#include "genpt/core/walk.hpp"

namespace genpt::detail {

template <class Format, class Alloc>
struct cut_walk {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;
  using attrs = typename Format::attrs;

  walk_ctx<Format, Alloc> c;
  const va_t va;
  change_set& changed;  ///< entries whose size changed (TLBs may hold the old size)

  template <unsigned L>
  errc level(word_t* table, unsigned span_lg2) noexcept {
    constexpr unsigned ilg2 = traits::item_lg2(L);
    const unsigned idx = traits::index_of(va, L, span_lg2);
    const word_t e = load_item_acquire(table + idx);
    switch (Format::classify(e, L)) {
      case entry_kind::empty:
        return errc::not_found;
      case entry_kind::table:
        if constexpr (L > 0) return level<L - 1>(c.child(e), ilg2);
        return errc::not_found;
      case entry_kind::leaf:
        break;
    }
    const unsigned sz = traits::entry_size_lg2(e, L);
    if (log2_mod(va, sz) == 0) return ok;  // already a boundary
    const va_t e_va = log2_align_down(va, sz);
    const oa_t e_oa = Format::entry_oa(e, L, c.p);
    const attrs a = Format::attrs_of(e, L, c.p);
    changed.leaf_levels |= static_cast<std::uint8_t>(1u << L);
    changed.add(e_va, e_va + log2_to_max_int(sz));
    if (sz > ilg2) {  // a contiguous run: smaller entries at this level
      // Pieces of single items must be expressible here (AMDv1 level 3 has
      // no single-item leaf): checked before anything is written.
      if (!(Format::leaf_sizes(L, c.p) & log2_to_int(ilg2))) return errc::not_supported;
      reencode<L>(table + (idx & ~((1u << (sz - ilg2)) - 1)), e_va, e_oa, sz, a);
      return level<L>(table, span_lg2);
    }
    if constexpr (L == 0) {
      return errc::misaligned;  // va inside the smallest page: the facade rejects this
    } else {
      const unsigned child_lg2 = traits::table_lg2(L - 1);
      const table_alloc t = c.alloc.allocate(child_lg2);
      if (!t.table) return errc::no_memory;
      auto* child = static_cast<word_t*>(t.table);
      fill<L - 1>(child, e_va, e_va + log2_to_max_int(sz), e_oa, sz, a);
      // One store swaps the leaf for an equivalent table.
      store_item_release(table + idx, Format::make_table(t.oa, L, c.p));
      return level<L - 1>(child, ilg2);
    }
  }

 private:
  /// Writes leaves of the largest sizes below `below_lg2` covering
  /// [va0, last] from oa0, into items starting at `items` (a level-L run).
  template <unsigned L>
  void fill(word_t* items, va_t va0, va_t last, oa_t oa0, unsigned below_lg2,
            const attrs& a) noexcept {
    constexpr unsigned ilg2 = traits::item_lg2(L);
    const std::uint64_t sizes = Format::leaf_sizes(L, c.p) & log2_to_max_int(below_lg2);
    for (va_t cur = va0;;) {
      const oa_t oa = oa0 + (cur - va0);
      const unsigned sz = best_pgsize_lg2(sizes, cur, last, oa);
      const word_t d = Format::make_leaf(oa, sz, L, a, c.p);
      const word_t step = traits::leaf_item_step(sz, L, c.p);
      word_t* first = items + ((cur - va0) >> ilg2);
      for (unsigned k = 0, n = 1u << (sz - ilg2); k < n; ++k) store_item(first + k, d + step * k);
      const va_t piece_last = cur + log2_to_max_int(sz);
      if (piece_last >= last) return;
      cur = piece_last + 1;
    }
  }

  /// Re-encodes a contiguous run so that the item holding va starts an
  /// entry: pieces [start, A), [A, A + item), [A + item, end).
  template <unsigned L>
  void reencode(word_t* run, va_t e_va, oa_t e_oa, unsigned sz, const attrs& a) noexcept {
    constexpr unsigned ilg2 = traits::item_lg2(L);
    const va_t e_last = e_va + log2_to_max_int(sz);
    const va_t item = log2_align_down(va, ilg2);
    if (item > e_va) fill<L>(run, e_va, item - 1, e_oa, sz, a);
    fill<L>(run + ((item - e_va) >> ilg2), item, item + log2_to_max_int(ilg2),
            e_oa + (item - e_va), sz, a);
    const va_t rest = item + log2_to_int(ilg2);
    if (rest - 1 < e_last)
      fill<L>(run + ((rest - e_va) >> ilg2), rest, e_last, e_oa + (rest - e_va), sz, a);
  }
};

/// Rewrites the attributes of every leaf in [va, last] (entries wholly
/// inside; the facade cuts or rejects the edges first), keeping the oa.
template <class Format, class Alloc>
struct protect_walk {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;

  walk_ctx<Format, Alloc> c;
  const typename Format::attrs& a;
  change_set& changed;

  template <unsigned L>
  void level(word_t* table, unsigned span_lg2, va_t va, va_t last) noexcept {
    using state = level_state<Format, L>;
    constexpr unsigned ilg2 = state::item_lg2;
    for (state s(table, span_lg2, va, last); s.index < s.end_index;) {
      const va_t item_va = state::item_va(va, span_lg2, s.index);
      switch (s.load()) {
        case entry_kind::leaf: {
          const unsigned sz = traits::entry_size_lg2(s.entry, L);
          const unsigned n = 1u << (sz - ilg2);
          const unsigned first = s.index & ~(n - 1);
          const word_t d = Format::make_leaf(Format::entry_oa(s.entry, L, c.p), sz, L, a, c.p);
          const word_t step = traits::leaf_item_step(sz, L, c.p);
          for (unsigned k = 0; k < n; ++k) store_item(table + first + k, d + step * k);
          const va_t e_va = log2_align_down(item_va, sz);
          changed.leaf_levels |= static_cast<std::uint8_t>(1u << L);
          changed.add(e_va, e_va + log2_to_max_int(sz));
          s.index = first + n;
          continue;
        }
        case entry_kind::table:
          if constexpr (L > 0) {
            const va_t item_last = item_va + log2_to_max_int(ilg2);
            level<L - 1>(c.child(s.entry), ilg2, item_va > va ? item_va : va,
                         item_last < last ? item_last : last);
          }
          break;
        case entry_kind::empty:
          break;
      }
      ++s.index;
    }
  }
};

}  // namespace genpt::detail
