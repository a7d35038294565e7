// tests/support/sim_iotlb.hpp - a simulated IOTLB and walk cache, and the
// bookkeeping that proves a flush policy right.
//
// sim_iotlb caches what hardware may cache while it translates: the leaf
// entry (whole, at its level) and every table pointer on the walk, keyed by
// the va span of the item that held it. fill(table, va) walks the table the
// way the hardware would and caches the path. invalidate(flush) is the
// strictest hardware a correct gather must satisfy ("generic exclusive"):
// it drops a cached leaf only when the entry lies wholly inside
// [va, last] and its level is in leaf_levels, and a cached table pointer
// only when tables were freed, its item span lies wholly inside the range
// and its level is in table_levels; `all` drops everything. stale(table)
// lists every cached entry that disagrees with the table now.
//
// change_tracker proves the no-gaps promise: it snapshots every item of a
// region and turns two snapshots into the va that changed (an item at
// level L that appeared, vanished or changed marks its whole item span).
#pragma once

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "genpt/core/format_traits.hpp"
#include "genpt/flush/gather.hpp"

namespace genpt::test {

template <class Table>
class sim_iotlb {
 public:
  using format = typename Table::format_type;
  using attrs = typename Table::attrs_type;
  using traits = genpt::format_traits<format>;

  struct leaf_entry {
    std::uint64_t va = 0;
    unsigned size_lg2 = 0;
    unsigned level = 0;
    std::uint64_t oa = 0;
    attrs a{};
  };
  struct table_entry {
    std::uint64_t va = 0;  ///< first va of the item holding the pointer
    unsigned span_lg2 = 0;
    unsigned level = 0;    ///< level of that item
    std::uint64_t word = 0;
  };

  /// Caches the walk of `va` (nothing when va is unmapped; the table
  /// pointers on the way are cached even then).
  void fill(const Table& t, std::uint64_t va) {
    t.for_each_item(va, 1, [&](const genpt::item_view& it) {
      if (it.kind != genpt::entry_kind::table) return;
      add_table({it.va, traits::item_lg2(it.level), it.level, it.word});
    });
    t.for_each_leaf(va, 1, [&](const auto& l) { add_leaf({l.va, l.size_lg2, l.level, l.oa, l.attrs}); });
  }

  /// Drops what a hardware honouring exactly `f` would drop.
  void invalidate(const genpt::iotlb_flush& f) {
    if (f.all) {
      leaves_.clear();
      tables_.clear();
      return;
    }
    std::erase_if(leaves_, [&](const auto& kv) {
      const leaf_entry& e = kv.second;
      return inside(e.va, e.size_lg2, f) && ((f.leaf_levels >> e.level) & 1);
    });
    if (!f.tables_freed) return;
    std::erase_if(tables_, [&](const auto& kv) {
      const table_entry& e = kv.second;
      return inside(e.va, e.span_lg2, f) && ((f.table_levels >> e.level) & 1);
    });
  }

  /// Every cached entry the table no longer agrees with, described.
  std::vector<std::string> stale(const Table& t) const {
    std::vector<std::string> out;
    for (const auto& kv : leaves_) {
      const leaf_entry& e = kv.second;  // not a structured binding: lambdas capture it (clang 14)
      bool same = false;
      t.for_each_leaf(e.va, 1, [&](const auto& l) {
        same = l.va == e.va && l.size_lg2 == e.size_lg2 && l.level == e.level && l.oa == e.oa &&
               l.attrs == e.a;
      });
      if (!same) out.push_back("leaf va 0x" + hex(e.va) + " level " + std::to_string(e.level));
    }
    for (const auto& kv : tables_) {
      const table_entry& e = kv.second;
      bool same = false;
      t.for_each_item(e.va, 1, [&](const genpt::item_view& it) {
        if (it.level == e.level && it.va == e.va && it.kind == genpt::entry_kind::table &&
            it.word == e.word)
          same = true;
      });
      if (!same) out.push_back("table pointer va 0x" + hex(e.va) + " level " + std::to_string(e.level));
    }
    return out;
  }

  std::size_t leaves() const { return leaves_.size(); }
  std::size_t tables() const { return tables_.size(); }

 private:
  static bool inside(std::uint64_t va, unsigned lg2, const genpt::iotlb_flush& f) {
    const std::uint64_t last = va + (lg2 >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << lg2) - 1);
    return va >= f.va && last <= f.last;
  }
  static std::string hex(std::uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    return buf;
  }
  void add_leaf(const leaf_entry& e) { leaves_[{e.va, e.level}] = e; }
  void add_table(const table_entry& e) { tables_[{e.va, e.level}] = e; }

  std::map<std::pair<std::uint64_t, unsigned>, leaf_entry> leaves_;
  std::map<std::pair<std::uint64_t, unsigned>, table_entry> tables_;
};

/// A set of va, as disjoint inclusive intervals.
class va_set {
 public:
  void add(std::uint64_t va, std::uint64_t last) {
    auto it = s_.upper_bound(va);
    if (it != s_.begin()) {
      auto prev = std::prev(it);
      if (prev->second >= va || (prev->second + 1 == va && va != 0)) {
        va = prev->first;
        if (prev->second > last) last = prev->second;
        it = s_.erase(prev);
      }
    }
    while (it != s_.end() && (it->first <= last || (last + 1 == it->first && last + 1 != 0))) {
      if (it->second > last) last = it->second;
      it = s_.erase(it);
    }
    s_[va] = last;
  }
  void remove(std::uint64_t va, std::uint64_t last) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> keep;
    for (auto it = s_.begin(); it != s_.end();) {
      if (it->second < va || it->first > last) {
        ++it;
        continue;
      }
      if (it->first < va) keep.push_back({it->first, va - 1});
      if (it->second > last) keep.push_back({last + 1, it->second});
      it = s_.erase(it);
    }
    for (const auto& [a, b] : keep) s_[a] = b;
  }
  bool contains(std::uint64_t va, std::uint64_t last) const {
    auto it = s_.upper_bound(va);
    if (it == s_.begin()) return false;
    --it;
    return it->first <= va && it->second >= last;
  }
  bool empty() const { return s_.empty(); }

 private:
  std::map<std::uint64_t, std::uint64_t> s_;
};

/// Snapshots of every item in a set of va windows; the difference of two
/// is the va whose translation or walk changed.
template <class Table>
class change_tracker {
 public:
  using traits = genpt::format_traits<typename Table::format_type>;
  using snapshot = std::map<std::pair<std::uint64_t, unsigned>, std::uint64_t>;

  explicit change_tracker(std::vector<std::pair<std::uint64_t, std::uint64_t>> regions)
      : regions_(std::move(regions)) {}

  snapshot take(const Table& t) const {
    snapshot s;
    for (const auto& [va, last] : regions_)
      t.for_each_item(va, last - va + 1,
                      [&](const genpt::item_view& it) { s[{it.va, it.level}] = it.word; });
    return s;
  }

  /// Adds to `out` the span of every item that differs between a and b.
  static void diff(const snapshot& a, const snapshot& b, va_set& out) {
    auto mark = [&](const std::pair<std::uint64_t, unsigned>& k) {
      const unsigned lg2 = traits::item_lg2(k.second);
      out.add(k.first, k.first + (lg2 >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << lg2) - 1));
    };
    for (const auto& [k, w] : a) {
      auto it = b.find(k);
      if (it == b.end() || it->second != w) mark(k);
    }
    for (const auto& [k, w] : b)
      if (!a.count(k)) mark(k);
  }

 private:
  std::vector<std::pair<std::uint64_t, std::uint64_t>> regions_;
};

}  // namespace genpt::test
