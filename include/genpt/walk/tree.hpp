// genpt/walk/tree.hpp - visit every item of a table tree over untrusted memory.
//
// visit_tree<Format>(regs, root, memory, visitor) reads a table tree the
// way the hardware would reach it: from the top table of the register
// state (hw_walker<Format>::top_table), each item is read once through the
// caller's memory object (genpt/walk/memory.hpp) and decoded by the
// hardware's rules for its level (hw_walker<Format>::decode_item); only
// items the hardware would follow as table pointers are descended into.
// It never dereferences a pointer and never trusts what it reads: a table
// a guest, a driver or a crash dump holds is input, and genpt's own
// page_table readers (for_each_item, genpt/fmt.hpp's dump) must not be
// used on it - they trust their own memory.
//
// Guarantees on any memory content:
//   - bounded depth: a table pointer always leads to a lower level, so the
//     recursion is at most the level count deep (6) and cannot cycle;
//   - bounded work: at most tree_limits::max_reads words are read in all
//     (a tree whose pointers all lead to one table is exponential in its
//     depth); past it the visit stops and reports truncated;
//   - a word the memory refuses is reported (item_kind::bad, bus_error,
//     readable = false) and ends the visit of that table; its pointer is
//     never followed;
//   - invalid, reserved or out-of-range items are reported as such and not
//     descended into.
// Checks that need a whole walk (permissions combined along the path, AF,
// AMD skipped-level va bits and NextLevel 7 replicas, Arm contiguous runs)
// are not made here: walk the item's va (walk<Format>) for those.
#pragma once

#include <cstdint>
#include <utility>

#include "genpt/walk/walk.hpp"

namespace genpt {

/// One item met by visit_tree.
struct tree_item {
  unsigned level = 0;       ///< genpt level of the item (0 = smallest leaves)
  unsigned depth = 0;       ///< tables above it on its path (0: in the top table)
  std::uint64_t index = 0;  ///< index in its table
  oa_t item_oa = 0;         ///< oa of the descriptor
  std::uint64_t word = 0;   ///< the descriptor as read (0 when !readable)
  va_t va = 0;              ///< first va the item translates (canonical / TTBR1 form)
  unsigned va_lg2 = 0;      ///< va bytes one item at this level spans, log2
  bool readable = true;     ///< false: the memory refused the read (d: bad, bus_error)
  item_decode d;            ///< the hardware's reading of `word` at this level
};

/// Bounds and filters of visit_tree.
struct tree_limits {
  std::uint64_t max_reads = std::uint64_t{1} << 24;  ///< words read in all before the visit stops
  bool skip_zero = true;  ///< do not report items whose word is 0 (empty)
};

/// What visit_tree did.
struct tree_summary {
  tree_top top;              ///< the start of every walk (top.ok false: nothing was read)
  std::uint64_t reads = 0;   ///< words read
  std::uint64_t items = 0;   ///< items reported to the visitor
  bool truncated = false;    ///< max_reads was reached: some items were not visited
};

namespace detail {

/// The state of one visit_tree call.
template <class Format, walk_memory M, class Visitor>
struct tree_visit {
  using walker = hw_walker<Format>;
  const typename walker::regs& r;
  M& mem;
  Visitor& visit;
  const tree_limits& lim;
  tree_summary& sum;

  va_t canonical(va_t va) const noexcept {
    const unsigned sb = sum.top.sign_bit;
    if (sb < 63 && ((va >> sb) & 1)) va |= ~std::uint64_t{0} << sb;
    return va | sum.top.va_base;
  }

  /// Visits the table at `table` whose items are at `level`; `va_prefix`
  /// holds the va bits of the levels above. Recursion depth: one per
  /// level, as decode_item's next_level is below `level` (checked).
  void table(oa_t table_oa, unsigned level, unsigned items_lg2, va_t va_prefix, unsigned depth) {
    const unsigned item_lg2 = sum.top.granule_lg2 + sum.top.stride * level;
    if (item_lg2 >= 64 || items_lg2 >= 32) return;  // no such table in any format
    for (std::uint64_t i = 0; i < (std::uint64_t{1} << items_lg2); ++i) {
      if (sum.reads >= lim.max_reads) {
        sum.truncated = true;
        return;
      }
      tree_item it;
      it.level = level;
      it.depth = depth;
      it.index = i;
      it.item_oa = table_oa + i * 8;
      it.va_lg2 = item_lg2;
      it.va = canonical(va_prefix | (i << item_lg2));  // every format's va fits 64 bits
      ++sum.reads;
      if (it.item_oa < table_oa || !mem.read64(it.item_oa, it.word)) {
        it.word = 0;
        it.readable = false;
        it.d.kind = item_kind::bad;
        it.d.fault = fault_kind::bus_error;
        ++sum.items;
        visit(std::as_const(it));
        return;  // the rest of this table is not read
      }
      it.d = walker::decode_item(r, it.word, level);
      if (it.word == 0 && lim.skip_zero) continue;
      ++sum.items;
      visit(std::as_const(it));
      if (it.d.kind == item_kind::table && it.d.next_level < level)
        this->table(it.d.oa, it.d.next_level, it.d.next_items_lg2, it.va & ~sum.top.va_base, depth + 1);
      if (sum.truncated) return;
    }
  }
};

}  // namespace detail

/// Visits, depth first in index order, every item of the tree at `root`
/// under registers `r` that the hardware could read: `visit(const
/// tree_item&)` is called for each item read (zero words skipped unless
/// lim.skip_zero is false), a table item before the items of its table.
/// Errors: none thrown; faults are reported in the items (see the file
/// comment) and the summary (top.ok false: the registers fault every walk
/// before a read; truncated: the read bound was hit). Concurrency: reads
/// only through `mem`, each word once; a table that changes meanwhile is
/// reported as read, item by item (no snapshot).
template <class Format, walk_memory M, class Visitor>
tree_summary visit_tree(const typename hw_walker<Format>::regs& r, oa_t root, M& mem, Visitor&& visit,
                        const tree_limits& lim = {}) {
  tree_summary sum;
  sum.top = hw_walker<Format>::top_table(r, root);
  if (!sum.top.ok) return sum;
  detail::tree_visit<Format, M, Visitor> v{r, mem, visit, lim, sum};
  v.table(sum.top.table, sum.top.level, sum.top.items_lg2, 0, 0);
  return sum;
}

}  // namespace genpt
