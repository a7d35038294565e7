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
          for (unsigned k = 0; k < n; ++k) store_item(s.item() + k, word_t{0});
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
};

}  // namespace genpt::detail
