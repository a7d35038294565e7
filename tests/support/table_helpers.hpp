// tests/support/table_helpers.hpp - small tools every page-table test uses:
// a flush sink that records what it is asked, full leaf snapshots, and the
// page-size bitmap as a list.
#pragma once

#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/flush/flush_range.hpp"
#include "genpt/flush/gather.hpp"
#include "support/format_configs.hpp"

namespace genpt {
// gtest prints these in failure messages.
inline void PrintTo(const iotlb_flush& f, std::ostream* os) {
  *os << std::hex << "{va 0x" << f.va << ", last 0x" << f.last << ", leaf_levels 0x"
      << unsigned{f.leaf_levels} << ", table_levels 0x" << unsigned{f.table_levels}
      << (f.tables_freed ? ", tables freed}" : "}") << std::dec;
}
}  // namespace genpt

namespace genpt::test {

/// IOTLB sink that appends every request to a log the test owns (the log
/// outlives moves of the page_table). Concurrency: one thread.
struct recording_sink {
  std::vector<iotlb_flush>* log = nullptr;
  void flush(const iotlb_flush& f) noexcept { log->push_back(f); }
};
using recording_flush = flush_range<recording_sink>;

/// One leaf as for_each_leaf reported it, comparable and printable.
template <class Attrs>
struct leaf_record {
  std::uint64_t va = 0;
  std::uint64_t oa = 0;
  unsigned size_lg2 = 0;
  unsigned level = 0;
  Attrs attrs{};
  friend bool operator==(const leaf_record& a, const leaf_record& b) {
    return a.va == b.va && a.oa == b.oa && a.size_lg2 == b.size_lg2 && a.level == b.level &&
           a.attrs == b.attrs;
  }
  friend void PrintTo(const leaf_record& r, std::ostream* os) {
    *os << std::hex << "{va 0x" << r.va << ", oa 0x" << r.oa << std::dec << ", 2^" << r.size_lg2
        << ", level " << r.level << "}";
  }
};

/// Every leaf of [va, last] (last inclusive, so the whole 64-bit space works).
template <class Table>
std::vector<leaf_record<typename Table::attrs_type>> leaves_in(const Table& t, std::uint64_t va,
                                                               std::uint64_t last) {
  std::vector<leaf_record<typename Table::attrs_type>> out;
  auto visit = [&](const auto& l) { out.push_back({l.va, l.oa, l.size_lg2, l.level, l.attrs}); };
  const std::uint64_t len = last - va + 1;
  if (len != 0) {
    t.for_each_leaf(va, len, visit);
  } else {  // 2^64 bytes: two halves
    t.for_each_leaf(0, std::uint64_t{1} << 63, visit);
    t.for_each_leaf(std::uint64_t{1} << 63, std::uint64_t{1} << 63, visit);
  }
  return out;
}

/// The raw words of the leaf items overlapping [va, va + len), in order.
template <class Table>
std::vector<std::uint64_t> leaf_words(const Table& t, std::uint64_t va, std::uint64_t len) {
  std::vector<std::uint64_t> out;
  t.for_each_item(va, len, [&](const item_view& it) {
    if (it.kind == entry_kind::leaf) out.push_back(it.word);
  });
  return out;
}

/// Every leaf of every window: the full translation state of the table.
template <class Table>
std::vector<leaf_record<typename Table::attrs_type>> snapshot(
    const Table& t, const std::vector<va_window>& windows) {
  std::vector<leaf_record<typename Table::attrs_type>> out;
  for (const va_window& w : windows) {
    auto part = leaves_in(t, w.first, w.last);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

/// The sizes (log2) of a page-size bitmap, smallest first.
inline std::vector<unsigned> page_sizes(std::uint64_t bitmap) {
  std::vector<unsigned> out;
  for (unsigned s = 0; s < 64; ++s)
    if ((bitmap >> s) & 1) out.push_back(s);
  return out;
}

/// Live tables of an allocator's stats.
inline std::int64_t live(const level_stats& s) {
  return s.live_tables.load(std::memory_order_relaxed);
}

/// A dirty sink that keeps every span in the order reported.
struct span_log {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;  ///< {va, len}
  void record(std::uint64_t va, std::uint64_t len) { spans.emplace_back(va, len); }
};

}  // namespace genpt::test
