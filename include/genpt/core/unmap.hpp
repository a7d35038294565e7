// genpt/core/unmap.hpp - the unmap walk.
//
// Removes whole entries from va on and never splits one: a range that
// starts inside an entry removes nothing there; one that ends inside an
// entry removes it whole. It stops at the first hole. A table is unlinked
// (and collected for freeing after the sync) only when the range covers
// its whole span; a partly covered table stays, even if it became empty.
#pragma once

#include <cstdint>

#include "genpt/core/map.hpp"
#include "genpt/core/walk.hpp"

namespace genpt::detail {

template <class Format, class Alloc>
struct unmap_walk {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;

  walk_ctx<Format, Alloc> c;
  va_t va;                 ///< next va to unmap
  const va_t last;         ///< last va requested
  change_set& removed;
  std::uint64_t unmapped = 0;  ///< bytes removed so far
  bool stop = false;       ///< hit a hole or the inside of an entry
  bool done = false;       ///< reached `last`

  template <unsigned L>
  void level(word_t* table, unsigned span_lg2) noexcept {
    using state = level_state<Format, L>;
    constexpr unsigned ilg2 = state::item_lg2;
    dirty_span<Alloc, word_t> dirty{c.alloc, table};  // items cleared here, cleaned on return
    for (state s(table, span_lg2, va, last); s.index < s.end_index;) {
      switch (s.load()) {
        case entry_kind::empty:
          stop = true;
          return;
        case entry_kind::leaf: {
          const unsigned sz = traits::entry_size_lg2(s.entry, L);
          if (log2_mod(va, sz) != 0) {  // starts inside this entry
            stop = true;
            return;
          }
          const unsigned n = 1u << (sz - ilg2);
          if (n == 1) {
            const unsigned first = s.index;
            clear_run<L>(s);
            dirty.note(first, s.index);
            if (done) return;
            continue;
          }
          fill_items(s.item(), word_t{0}, word_t{0}, n);
          dirty.note(s.index, s.index + n);
          removed.leaf_levels |= static_cast<std::uint8_t>(1u << L);
          const va_t entry_last = va + log2_to_max_int(sz);
          unmapped += log2_to_int(sz);
          s.index += n;
          if (entry_last >= last) {
            done = true;
            return;
          }
          va = entry_last + 1;
          continue;
        }
        case entry_kind::table:
          if constexpr (L > 0) {
            const va_t item_last = log2_set_mod_max(va, ilg2);
            const bool covered = log2_mod(va, ilg2) == 0 && item_last <= last;
            auto* child = c.child(s.entry);
            level<L - 1>(child, ilg2);
            if (covered && !stop) {
              // Everything below was removed: unlink the now empty table.
              store_item(s.item(), word_t{0});
              dirty.note(s.index, s.index + 1);
              removed.freed.push_back(c.alloc.link_of(child, traits::table_lg2(L - 1)));
              removed.table_levels |= static_cast<std::uint8_t>(1u << L);
            }
            if (stop || done) return;
          }
          ++s.index;
          continue;
      }
    }
  }

 private:
  /// Clears the run of single-item leaves starting at s.index (which holds
  /// one), up to the table end, the first item past `last`, or the first
  /// item that is not a single-item leaf.
  template <unsigned L, class State>
  void clear_run(State& s) noexcept {
    constexpr unsigned ilg2 = State::item_lg2;
    unsigned lim = s.end_index;
    const std::uint64_t left = ((last - va) >> ilg2) + 1;  // items starting <= last
    if (left < lim - s.index) lim = s.index + static_cast<unsigned>(left);
    // Find the run, then clear it in one fill (rep stosq from 33 items on):
    // a hardware A/D update that lands in between is dropped with the item,
    // as it would be one store later.
    unsigned k = s.index + 1;
    constexpr auto bits = traits::single_leaf_bits(L);
    if constexpr (bits.mask != 0 && (bits.value & ~bits.mask) == 0) {
      // (e & mask) == value for every item <=> their AND has every `ones`
      // bit and their OR no `zeros` bit (items_match_all). The usual case,
      // every item up to lim a single-item leaf, is one check of the whole
      // rest; a run that ends early is checked again eight items at a time
      // to find where.
      constexpr word_t ones = bits.value & bits.mask;
      constexpr word_t zeros = bits.mask & ~bits.value;
      if (items_match_all(s.table + k, lim - k, ones, zeros)) {
        k = lim;
      } else {
        while (k + 8 <= lim && items_match_all(s.table + k, 8, ones, zeros)) k += 8;
      }
    } else {
      while (k + 8 <= lim) {  // eight at a time, branch-free inside
        bool all = true;
#pragma GCC unroll 8
        for (unsigned j = 0; j < 8; ++j) all &= is_single_leaf<L>(load_item(s.table + k + j));
        if (!all) break;
        k += 8;
      }
    }
    while (k < lim && is_single_leaf<L>(load_item(s.table + k))) ++k;
    fill_items(s.table + s.index, word_t{0}, word_t{0}, k - s.index);
    removed.leaf_levels |= static_cast<std::uint8_t>(1u << L);
    const std::uint64_t bytes = std::uint64_t{k - s.index} << ilg2;
    unmapped += bytes;
    const va_t run_last = va + (bytes - 1);
    s.index = k;
    if (run_last >= last) {
      done = true;
      return;
    }
    va = run_last + 1;
  }

  template <unsigned L>
  static bool is_single_leaf(word_t e) noexcept {
    return Format::classify(e, L) == entry_kind::leaf &&
           traits::entry_size_lg2(e, L) == traits::item_lg2(L);
  }
};

}  // namespace genpt::detail
