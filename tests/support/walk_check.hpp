// tests/support/walk_check.hpp - the hardware walker (genpt/walk/) as a
// second, independent reader of every table the typed suites build
// (issue 11: differential tests).
//
// walk<Format> decodes descriptors by the format's specification
// (genpt/walk/<format>.hpp), page_table by its format hooks: two readings of
// the same memory. check_walk_agrees walks sampled vas of a genpt-built
// table through the table's own allocator (alloc_memory: phys_to_virt, the
// CPU view for incoherent<>) with the registers hw_info describes for the
// table's current top level, and requires, at every va:
//  * mapped (iova_to_phys, and the reference model when given): the walk
//    translates to the same oa, its leaf has for_each_leaf's size_lg2 and
//    level, and for_each_leaf's oa agrees;
//  * unmapped: the walk faults, with a translation fault inside the
//    table's va windows (AMDv1: an address-size fault above the current
//    Mode's reach, the dynamic top), and some "no translation here" fault
//    outside them.
// check_walk_table samples every mapped entry's first and last byte and
// its neighbours, plus random vas in and around the windows.
//
// The walk uses a read access (a write access where the entry is not
// readable: AMDv1 IW-only, ARMv8 stage 2 write-only).
//
// Concurrency: call from the thread that changed the table, or after every
// thread that changed it has been joined.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <type_traits>
#include <vector>

#include "genpt/format/amdv1.hpp"
#include "genpt/walk/walk.hpp"
#include "support/format_configs.hpp"
#include "support/reference_model.hpp"
#include "support/table_helpers.hpp"

namespace genpt::test {

/// A walk_memory over the tables of a genpt-built table: the word at oa is
/// read at alloc.phys_to_virt(oa) (valid for every allocator of the
/// suites: heap_levels, arena_levels, low_oa_levels, deferred_free,
/// incoherent, fault_injecting). Refuses (bus error) an unaligned oa, oa 0,
/// an oa at or above 2^oa_lg2 (no table lies there) and any read after
/// `max_reads` (a walker in a loop fails instead of hanging). A walker that
/// follows a wrong oa below 2^oa_lg2 may read stray host memory: the test
/// then crashes or fails, it never passes.
/// Concurrency: the table must not change during a walk (see above).
template <class Alloc>
class alloc_memory {
 public:
  alloc_memory(const Alloc& alloc, unsigned oa_lg2, unsigned max_reads = 1024) noexcept
      : alloc_(alloc), oa_lg2_(oa_lg2), max_reads_(max_reads) {}

  bool read64(oa_t oa, std::uint64_t& out) noexcept {
    if ((oa & 7) != 0 || oa == 0 || (oa_lg2_ < 64 && (oa >> oa_lg2_) != 0)) return false;
    if (++reads_ > max_reads_) return false;
    // phys_to_virt gives the host address of the byte at oa inside a table
    // genpt allocated; an 8-aligned oa there is one std::uint64_t item.
    auto* w = static_cast<std::uint64_t*>(alloc_.phys_to_virt(oa));
    // relaxed: the walk runs on the thread that stored the items (or after
    // joining every writer), so program order / the join makes each store
    // visible; atomic only because genpt stores items atomically.
    out = std::atomic_ref<std::uint64_t>(*w).load(std::memory_order_relaxed);
    return true;
  }
  unsigned reads() const noexcept { return reads_; }

 private:
  const Alloc& alloc_;
  unsigned oa_lg2_;
  unsigned max_reads_;
  unsigned reads_ = 0;
};

/// The walker's registers for `pt` as it is now: hw_info's, at the current
/// top level (an amdv1 dynamic_top table may have grown since create).
template <class Table>
auto walk_regs_of(const Table& pt) {
  using format = typename Table::format_type;
  return hw_walker<format>::regs_from(pt.params(), pt.info().top_level);
}

/// Walks `va` of `pt` as the hardware would, with a read access, or a
/// write access when the read is refused for permissions.
template <class Table>
walk_result walk_table(const Table& pt, va_t va) {
  using format = typename Table::format_type;
  const auto regs = walk_regs_of(pt);
  const oa_t root = pt.hw_info().root;
  alloc_memory mem(pt.allocator(), pt.info().oa_lg2);
  walk_result w = genpt::walk<format>(regs, root, va, access{}, mem);
  if (!w.ok && w.f.kind == fault_kind::permission) {
    alloc_memory mem2(pt.allocator(), pt.info().oa_lg2);
    w = genpt::walk<format>(regs, root, va, access{.write = true}, mem2);
  }
  return w;
}

/// Compares, at each of `vas`, the hardware walk of `pt` with
/// iova_to_phys, for_each_leaf and (when not null) `model` (see the top of
/// this file). `windows` are the table's va windows (fault kinds of
/// unmapped vas). Reports through gtest (non-fatal), at most 8 failures per
/// call; returns the number of disagreements found.
template <class Table>
unsigned check_walk_agrees(const Table& pt, const reference_model* model,
                           const std::vector<va_window>& windows, const std::vector<va_t>& vas) {
  using format = typename Table::format_type;
  const unsigned top_level = pt.info().top_level;
  unsigned bad = 0;
  auto in_window = [&](va_t va) {
    for (const va_window& w : windows)
      if (w.contains(va)) return true;
    return false;
  };
  for (const va_t va : vas) {
    if (bad >= 8) break;
    const std::optional<oa_t> ip = pt.iova_to_phys(va);
    if (model) {
      const std::optional<std::uint64_t> mo = model->translate(va);
      if (ip != mo) {
        ++bad;
        ADD_FAILURE() << std::hex << "va 0x" << va << ": iova_to_phys "
                      << (ip ? *ip : ~std::uint64_t{0}) << " model " << (mo ? *mo : ~std::uint64_t{0});
        continue;
      }
    }
    const walk_result w = walk_table(pt, va);
    if (!ip) {
      bool kind_ok = false;
      if (!w.ok) {
        const fault_kind k = w.f.kind;
        if (in_window(va)) {
          // AMD IOMMU spec, I/O page tables: va bits above what Mode
          // translates must be zero, else the walk faults before level 1.
          const unsigned reach = 12 + 9 * (top_level + 1);
          const bool above_mode =
              std::is_same_v<format, genpt::amdv1> && reach < 64 && (va >> reach) != 0;
          kind_ok = k == fault_kind::translation || (above_mode && k == fault_kind::address_size);
        } else {
          kind_ok = k == fault_kind::translation || k == fault_kind::address_size ||
                    k == fault_kind::non_canonical;
        }
      }
      if (!kind_ok) {
        ++bad;
        if (w.ok)
          ADD_FAILURE() << std::hex << "va 0x" << va << " is unmapped, but the hardware walk gives oa 0x"
                        << w.t.oa << " (2^" << std::dec << w.t.size_lg2 << ")";
        else
          ADD_FAILURE() << std::hex << "va 0x" << va << " is unmapped: unexpected fault kind "
                        << std::dec << int(w.f.kind) << " at level " << w.f.level;
      }
      continue;
    }
    if (!w.ok) {
      ++bad;
      ADD_FAILURE() << std::hex << "va 0x" << va << " maps to 0x" << *ip
                    << ", but the hardware walk faults: kind " << std::dec << int(w.f.kind)
                    << " level " << w.f.level << std::hex << " item oa 0x" << w.f.item_oa << " word 0x"
                    << w.f.word;
      continue;
    }
    unsigned leaves = 0;
    bool leaf_ok = true;
    pt.for_each_leaf(va, 1, [&](const auto& l) {
      ++leaves;
      leaf_ok = leaf_ok && l.size_lg2 == w.t.size_lg2 && l.level == w.t.level &&
                l.oa + (va - l.va) == w.t.oa;
    });
    if (w.t.oa != *ip || leaves != 1 || !leaf_ok) {
      ++bad;
      std::optional<leaf_record<typename Table::attrs_type>> rec;
      pt.for_each_leaf(va, 1, [&](const auto& l) {
        rec.emplace(leaf_record<typename Table::attrs_type>{l.va, l.oa, l.size_lg2, l.level, l.attrs});
      });
      ADD_FAILURE() << std::hex << "va 0x" << va << ": iova_to_phys 0x" << *ip << ", hardware walk oa 0x"
                    << w.t.oa << " 2^" << std::dec << w.t.size_lg2 << " level " << w.t.level << "; "
                    << leaves << " leaf (" << (rec ? ::testing::PrintToString(*rec) : "none") << ")";
    }
  }
  return bad;
}

/// check_walk_agrees over a sample of `pt`: every entry's first and last
/// byte and the bytes just outside it (entries from `model` when given,
/// else from for_each_leaf over `windows`; at most about `max_entries`,
/// evenly spread), plus `random_vas` random vas inside the windows and the
/// vas just outside each window. Returns the disagreements.
template <class Table>
unsigned check_walk_table(const Table& pt, const reference_model* model,
                          const std::vector<va_window>& windows, std::uint64_t seed = 1,
                          unsigned random_vas = 32, std::size_t max_entries = 4096) {
  struct span {
    std::uint64_t va;
    unsigned size_lg2;
  };
  std::vector<span> entries;
  if (model) {
    for (const model_entry& e : model->all()) entries.push_back({e.va, e.size_lg2});
  } else {
    for (const auto& l : snapshot(pt, windows)) entries.push_back({l.va, l.size_lg2});
  }
  std::vector<va_t> vas;
  const std::size_t step = entries.size() > max_entries ? entries.size() / max_entries : 1;
  auto add_entry = [&](const span& e) {
    const std::uint64_t last = e.va + ((std::uint64_t{1} << e.size_lg2) - 1);
    vas.push_back(e.va);
    vas.push_back(last);
    if (e.va != 0) vas.push_back(e.va - 1);
    if (last != ~std::uint64_t{0}) vas.push_back(last + 1);
  };
  for (std::size_t i = 0; i < entries.size(); i += step) add_entry(entries[i]);
  if (step > 1) add_entry(entries.back());  // the last entry even when sampling
  std::mt19937_64 rng(seed);
  for (unsigned i = 0; i < random_vas && !windows.empty(); ++i) {
    const va_window& w = windows[rng() % windows.size()];
    const std::uint64_t span_m1 = w.last - w.first;
    vas.push_back(w.first + (span_m1 == ~std::uint64_t{0} ? rng() : rng() % (span_m1 + 1)));
  }
  for (const va_window& w : windows) {
    if (w.first != 0) vas.push_back(w.first - 1);
    if (w.last != ~std::uint64_t{0}) vas.push_back(w.last + 1);
  }
  return check_walk_agrees(pt, model, windows, vas);
}

}  // namespace genpt::test
