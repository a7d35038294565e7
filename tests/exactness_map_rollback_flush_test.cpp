// tests/exactness_map_rollback_flush_test.cpp - issue 10, defect 3 (map
// rollback): a failed map() undoes itself and flushes what it changed, but
// under a no-gaps policy every flushed range must hold only va whose items
// changed: the pre-existing leaf the map stopped at, and the untouched va
// between the runs the rollback cleared, must never be invalidated.
//
// Everything is checked as the hardware sees it: the exact list of ranges
// handed to the IOTLB sink, written out by hand from the table geometry of
// the specs (x86-64 4-level paging, Intel SDM vol. 3A 4.5: 512 items per
// table, a PD item spans 2 MiB; ARMv8 4K granule, Arm ARM D8.2: a level 1
// item spans 2 MiB and a contiguous level 1 block is 16 items, 32 MiB), and
// for a non-snooping walker the descriptor words in the simulated device's
// memory at the moment of each flush.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/sim_noncoherent.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::iotlb_flush;
using genpt::test::recording_sink;
using genpt::test::sim_cache_ops;
using genpt::test::sim_device;

constexpr genpt::prot rw = genpt::prot::read | genpt::prot::write;

using no_gaps_t = genpt::flush_range_no_gaps<recording_sink>;
using range_t = genpt::flush_range<recording_sink>;

// x86-64: X = 1 GiB is PML4 0, PDPT 1, PD 0; X + 2M is PD 1, X + 4M is PD 2.
constexpr std::uint64_t X = 0x4000'0000;
constexpr std::uint64_t M2 = 0x20'0000;
// An oa that is 4K- but not 2M-aligned: the map can only make 4K pages.
constexpr std::uint64_t map_oa = 0x8000'1000;
// The pre-existing leaf the failing map runs into: PD 1, PT index 5.
constexpr std::uint64_t old_leaf = X + M2 + 0x5000;
constexpr std::uint64_t old_oa = 0x9000'0000;

// x86-64 PTE / PDE bits (Intel SDM vol. 3A, Tables 4-15..4-19).
constexpr std::uint64_t x86_p = std::uint64_t{1} << 0;
constexpr std::uint64_t x86_addr = 0x000F'FFFF'FFFF'F000;  // bits 51:12

/// One expected sink call.
struct want {
  std::uint64_t va, last;
  unsigned leaf_levels, table_levels;
  bool freed;
};

void expect_log(const std::vector<iotlb_flush>& log, const std::vector<want>& w) {
  ASSERT_EQ(log.size(), w.size()) << "sink calls: " << testing::PrintToString(log);
  for (std::size_t k = 0; k < w.size(); ++k) {
    SCOPED_TRACE(testing::Message() << "flush " << k);
    EXPECT_EQ(log[k].va, w[k].va);
    EXPECT_EQ(log[k].last, w[k].last);
    EXPECT_EQ(log[k].leaf_levels, w[k].leaf_levels);
    EXPECT_EQ(log[k].table_levels, w[k].table_levels);
    EXPECT_EQ(log[k].tables_freed, w[k].freed);
    EXPECT_FALSE(log[k].all);
  }
}

/// Pre-state of the x86-64 tests: a 4K leaf at old_leaf (PD 1 -> PT with
/// item 5 set) and an empty PT under PD 2 (a page mapped at X + 4M, then
/// unmapped: a partly covered table stays).
template <class Table>
void x86_prestate(Table& t, std::vector<iotlb_flush>& log) {
  ASSERT_TRUE(t.map(old_leaf, old_oa, 0x1000, rw).has_value());
  ASSERT_TRUE(t.map(X + 2 * M2, 0xa000'0000, 0x1000, rw).has_value());
  ASSERT_EQ(t.unmap(X + 2 * M2, 0x1000), 0x1000u);
  log.clear();
}

// issue 10, defect 3 (map rollback): map [X, X + 6M) stops with
// address_in_use at the leaf at X + 2M + 0x5000 after making PT 0 (512
// leaves) and PT 1 items 0..4; the rollback clears them, unlinks PT 0 and
// the empty PT under PD 2. The changed va are [X, X + 2M + 0x4fff] (leaves,
// the PD 0 pointer) and [X + 4M, X + 6M - 1] (the PD 2 pointer); the old
// leaf and [X + 2M + 0x5000, X + 4M - 1] did not change and must not be
// flushed: one covering range [X, X + 6M - 1] was.
TEST(Exactness, FailedMapNeverFlushesTheLeafItStoppedAtUnderNoGaps) {
  std::vector<iotlb_flush> log;
  auto t = genpt::page_table<genpt::x86_64, genpt::heap_levels, no_gaps_t>::create(
      genpt::x86_64::config{}, genpt::heap_levels{}, no_gaps_t{recording_sink{&log}});
  ASSERT_TRUE(t.has_value());
  x86_prestate(*t, log);
  const auto r = t->map(X, map_oa, 3 * M2, rw);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), genpt::errc::address_in_use);
  expect_log(log, {{X, X + M2 + 0x4fff, 0x1, 0x2, true},  // PT 0 leaves, PT 1 items 0..4, PD 0
                   {X + 2 * M2, X + 3 * M2 - 1, 0x0, 0x2, true}});  // PD 2 only
  EXPECT_EQ(t->iova_to_phys(old_leaf), old_oa);
  EXPECT_EQ(t->iova_to_phys(X), std::nullopt);
}

// issue 10, defect 3 (map rollback): the same map fails with no_memory when
// the PT for PD 1 cannot be allocated (the PT for PD 0 is the first
// allocation, PD 1's the second): changed are [X, X + 2M - 1] and the
// PD 2 pointer; PD 1's 2 MiB never changed.
TEST(Exactness, FailedMapFlushesEachChangedRunAloneOnNoMemory) {
  using alloc_t = genpt::fault_injecting<genpt::heap_levels>;
  std::vector<iotlb_flush> log;
  auto t = genpt::page_table<genpt::x86_64, alloc_t, no_gaps_t>::create(
      genpt::x86_64::config{}, alloc_t{}, no_gaps_t{recording_sink{&log}});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(X + 2 * M2, 0xa000'0000, 0x1000, rw).has_value());
  ASSERT_EQ(t->unmap(X + 2 * M2, 0x1000), 0x1000u);
  log.clear();
  t->allocator().fail_after(2);
  const auto r = t->map(X, map_oa, 3 * M2, rw);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), genpt::errc::no_memory);
  EXPECT_EQ(t->allocator().failures(), 1u);
  expect_log(log, {{X, X + M2 - 1, 0x1, 0x2, true},  // PT 0 leaves and PD 0
                   {X + 2 * M2, X + 3 * M2 - 1, 0x0, 0x2, true}});  // PD 2 only
  EXPECT_EQ(t->iova_to_phys(X), std::nullopt);
}

// issue 10, defect 3 (map rollback): a contiguous 32 MiB ARMv8 block at
// level 1 over items 0..15 finds empty tables at items 0 and 2, nothing at
// item 1 and a table holding a page at item 3: address_in_use. Only the
// pointers at items 0 and 2 change ([Y, Y + 2M - 1], [Y + 4M, Y + 6M - 1]);
// item 1's 2 MiB does not and must not be flushed (the walk unlinked items
// 0 and 2 before it found item 3, and gathered [Y, Y + 6M - 1]).
TEST(Exactness, FailedContiguousMapFlushesOnlyUnlinkedTablesUnderNoGaps) {
  constexpr std::uint64_t Y = 0x4000'0000;  // level 3 index 0, level 2 index 1, level 1 index 0
  std::vector<iotlb_flush> log;
  auto t = genpt::page_table<genpt::armv8_4k_s1, genpt::heap_levels, no_gaps_t>::create(
      genpt::armv8_4k_s1::config{}, genpt::heap_levels{}, no_gaps_t{recording_sink{&log}});
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->hw_info().tsz, 16u);  // 48-bit VA: levels 3..0 of 512 items
  ASSERT_TRUE(t->map(Y, 0xa000'0000, 0x1000, rw).has_value());
  ASSERT_EQ(t->unmap(Y, 0x1000), 0x1000u);
  ASSERT_TRUE(t->map(Y + 2 * M2, 0xa000'0000, 0x1000, rw).has_value());
  ASSERT_EQ(t->unmap(Y + 2 * M2, 0x1000), 0x1000u);
  ASSERT_TRUE(t->map(Y + 3 * M2, 0xb000'0000, 0x1000, rw).has_value());
  log.clear();
  const auto r = t->map(Y, 0x8000'0000, 16 * M2, rw);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), genpt::errc::address_in_use);
  expect_log(log, {{Y, Y + M2 - 1, 0x0, 0x2, true}, {Y + 2 * M2, Y + 3 * M2 - 1, 0x0, 0x2, true}});
  EXPECT_EQ(t->iova_to_phys(Y + 3 * M2), 0xb000'0000u);
}

// issue 10, defect 3 (map rollback): a merging policy still gets the one
// covering range of the failed map (gaps allowed, fewest calls).
TEST(Exactness, FailedMapStillMergesUnderFlushRange) {
  std::vector<iotlb_flush> log;
  auto t = genpt::page_table<genpt::x86_64, genpt::heap_levels, range_t>::create(
      genpt::x86_64::config{}, genpt::heap_levels{}, range_t{recording_sink{&log}});
  ASSERT_TRUE(t.has_value());
  x86_prestate(*t, log);
  const auto r = t->map(X, map_oa, 3 * M2, rw);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), genpt::errc::address_in_use);
  expect_log(log, {{X, X + 3 * M2 - 1, 0x1, 0x2, true}});
}

// ------------------------------------------- non-snooping walker (device) ---

constexpr genpt::oa_t base_oa = 0x1'0000'0000;
constexpr std::size_t block_bytes = 4 << 20;

/// What the sink saw: each request, and the device's copy of every watched
/// descriptor at that moment.
struct probe {
  const sim_device* dev = nullptr;
  std::vector<std::uint64_t> watch;  ///< descriptor oas
  std::vector<iotlb_flush> log;
  std::vector<std::vector<std::uint64_t>> seen;  ///< per flush, per watched descriptor
};
struct probe_sink {
  probe* p = nullptr;
  void flush(const iotlb_flush& f) noexcept {
    p->log.push_back(f);
    std::vector<std::uint64_t> words;
    for (const std::uint64_t oa : p->watch) words.push_back(p->dev->read(oa).value_or(~std::uint64_t{0}));
    p->seen.push_back(words);
  }
};

/// The oa of the PD item (x86-64 level 1) for va, walked by hand in the
/// device's memory from the PML4 at `root` (SDM 4.5: PML4 index va[47:39],
/// PDPT index va[38:30], PD index va[29:21], next table at bits 51:12).
std::optional<std::uint64_t> pde_oa(const sim_device& d, std::uint64_t root, std::uint64_t va) {
  std::uint64_t table = root;
  for (const unsigned shift : {39u, 30u}) {
    const std::optional<std::uint64_t> e = d.read(table + 8 * ((va >> shift) & 511));
    if (!e || !(*e & x86_p)) return std::nullopt;
    table = *e & x86_addr;
  }
  return table + 8 * ((va >> 21) & 511);
}

// issue 10, defect 3 (map rollback), with a non-snooping walker: the no-gaps
// flush in the middle of the rollback publishes items already cleaned. At
// flush 1 ([X, X + 2M + 0x4fff]) the device reads PD 0 = 0 and PT 1 items
// 0..4 = 0, item 5 still the old leaf; at flush 2 PD 2 = 0.
TEST(Exactness, FailedMapMidRollbackFlushSeesClearedItemsUnderIncoherent) {
  const std::unique_ptr<std::byte, void (*)(void*)> block(
      static_cast<std::byte*>(std::aligned_alloc(1 << 16, block_bytes)), std::free);
  ASSERT_NE(block, nullptr);
  std::byte* const mem = block.get();
  {  // the table dies before its memory
    sim_device dev{mem, block_bytes, base_oa};
    probe pr{&dev, {}, {}, {}};
    using alloc_t = genpt::incoherent<genpt::arena_levels, sim_cache_ops>;
    using flush_t = genpt::flush_range_no_gaps<probe_sink>;
    auto t = genpt::page_table<genpt::x86_64, alloc_t, flush_t>::create(
        genpt::x86_64::config{}, alloc_t(genpt::arena_levels(mem, block_bytes, base_oa), sim_cache_ops{&dev}),
        flush_t{probe_sink{&pr}});
    ASSERT_TRUE(t.has_value());
    std::vector<iotlb_flush> unused;
    x86_prestate(*t, unused);
    const std::uint64_t root = t->hw_info().root;
    const std::optional<std::uint64_t> pd0 = pde_oa(dev, root, X);
    const std::optional<std::uint64_t> pd1 = pde_oa(dev, root, X + M2);
    const std::optional<std::uint64_t> pd2 = pde_oa(dev, root, X + 2 * M2);
    ASSERT_TRUE(pd0 && pd1 && pd2);
    ASSERT_EQ(*dev.read(*pd0), 0u);
    ASSERT_TRUE(*dev.read(*pd2) & x86_p);  // the empty PT is still linked
    const std::uint64_t pt1 = *dev.read(*pd1) & x86_addr;
    ASSERT_EQ(*dev.read(pt1 + 8 * 5) & (x86_p | x86_addr), x86_p | old_oa);
    pr.watch = {*pd0, *pd2};
    for (unsigned k = 0; k < 6; ++k) pr.watch.push_back(pt1 + 8 * k);
    pr.log.clear();
    pr.seen.clear();

    const auto r = t->map(X, map_oa, 3 * M2, rw);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), genpt::errc::address_in_use);
    ASSERT_EQ(pr.log.size(), 2u) << testing::PrintToString(pr.log);
    EXPECT_EQ(pr.log[0].va, X);
    EXPECT_EQ(pr.log[0].last, X + M2 + 0x4fff);
    EXPECT_EQ(pr.log[1].va, X + 2 * M2);
    EXPECT_EQ(pr.log[1].last, X + 3 * M2 - 1);
    EXPECT_EQ(pr.seen[0][0], 0u) << "PD 0 at flush 1";
    for (unsigned k = 0; k < 5; ++k) EXPECT_EQ(pr.seen[0][2 + k], 0u) << "PT 1 item " << k << " at flush 1";
    EXPECT_EQ(pr.seen[0][7] & (x86_p | x86_addr), x86_p | old_oa) << "the old leaf at flush 1";
    EXPECT_EQ(pr.seen[1][1], 0u) << "PD 2 at flush 2";
    EXPECT_EQ(pr.seen[1][7] & (x86_p | x86_addr), x86_p | old_oa) << "the old leaf at flush 2";
  }
}

}  // namespace
