// deferred_free_concurrency_test.cpp - deferred_free<A, epoch_domain>: freed
// tables outlive every read-side section that could have seen them, so
// lock-free readers may race an unmap of the very range they translate.
// Run under ASan (use after free) and TSan (races) as well as plainly.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/deferred_free.hpp"
#include "genpt/alloc/epoch_domain.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::deferred_free;
using genpt::epoch_domain;
using genpt::heap_levels;
using genpt::level_stats;
using genpt::oa_t;
using genpt::x86_64;

using alloc_t = deferred_free<heap_levels>;
using table = genpt::page_table<x86_64, alloc_t>;

constexpr std::uint64_t va0 = 0x4000'0000;  // a level-0 table's span starts here
constexpr std::uint64_t span = 0x20'0000;   // one whole level-0 table (512 x 4 KiB)
constexpr oa_t oa0 = 0x1'0000'1000;         // oa misaligned for 2 MiB: forces 4 KiB leaves

table make_table(level_stats& stats, epoch_domain& d) {
  auto r = table::create(x86_64::config{}, alloc_t(heap_levels(&stats), d));
  EXPECT_TRUE(r.has_value());
  return std::move(*r);
}

TEST(deferred_free, UnmappedTablesWaitForAReaderStillInside) {
  epoch_domain d;
  level_stats stats;
  {
    table pt = make_table(stats, d);
    ASSERT_TRUE(pt.map(va0, oa0, span, genpt::prot::read).has_value());
    ASSERT_TRUE(pt.map(va0 + span, oa0, span, genpt::prot::read).has_value());
    const std::int64_t mapped = genpt::test::live(stats);
    {
      auto reader = pt.allocator().read_guard();     // a reader that may hold a pointer
      EXPECT_EQ(pt.unmap(va0, span), span);          // unlinks and "frees" a level-0 table
      EXPECT_EQ(pt.unmap(va0 + span, span), span);   // a later free releases what is safe
      EXPECT_EQ(genpt::test::live(stats), mapped);   // ... which is neither table
      EXPECT_EQ(pt.allocator().pending(), 2u);
    }
    pt.allocator().barrier();
    EXPECT_EQ(genpt::test::live(stats), mapped - 2);
    EXPECT_EQ(pt.allocator().pending(), 0u);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(deferred_free, RetiredTablesAreReleasedByLaterFreesOnceNoReaderIsInside) {
  epoch_domain d;
  level_stats stats;
  {
    table pt = make_table(stats, d);
    for (int round = 0; round < 4; ++round) {
      ASSERT_TRUE(pt.map(va0, oa0, span, genpt::prot::read).has_value());
      EXPECT_EQ(pt.unmap(va0, span), span);
    }
    // With no reader, each free advances the epoch: at most the last two
    // retirements are still pending.
    EXPECT_LE(pt.allocator().pending(), 2u);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(deferred_free, DestroyingTheTableReleasesEverythingRetired) {
  epoch_domain d;
  level_stats stats;
  {
    table pt = make_table(stats, d);
    auto reader = pt.allocator().read_guard();
    ASSERT_TRUE(pt.map(va0, oa0, span, genpt::prot::read).has_value());
    EXPECT_EQ(pt.unmap(va0, span), span);
    EXPECT_GT(pt.allocator().pending(), 0u);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(deferred_free, ReadSectionsNest) {
  epoch_domain d;
  level_stats stats;
  {
    table pt = make_table(stats, d);
    ASSERT_TRUE(pt.map(va0, oa0, span, genpt::prot::read).has_value());
    auto outer = pt.allocator().read_guard();
    EXPECT_EQ(pt.iova_to_phys(va0), std::optional<oa_t>{oa0});  // enters and leaves an inner section
    EXPECT_EQ(pt.unmap(va0, span), span);
    EXPECT_EQ(pt.allocator().pending(), 1u);
    EXPECT_FALSE(d.reclaimable(d.retire_point()));  // the outer section blocks two advances
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

/// Readers translate and visit [va0, va0 + span) while one writer maps and
/// unmaps that same range (freeing its level-0 table every round). Every
/// answer must be "not mapped" or the one translation ever mapped there.
template <class Table>
void race_readers_against_unmap(Table& pt, int rounds) {
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0}, hits{0};
  auto reader = [&](unsigned seed) {
    std::uint64_t x = seed;
    while (!stop.load(std::memory_order_relaxed)) {
      x = x * 6364136223846793005u + 1442695040888963407u;
      const std::uint64_t off = (x >> 20) % span;
      const std::optional<oa_t> r = pt.iova_to_phys(va0 + off);
      if (r && *r != oa0 + off) bad.fetch_add(1, std::memory_order_relaxed);
      if (r) hits.fetch_add(1, std::memory_order_relaxed);
      if ((x & 63) == 0) {
        pt.for_each_leaf(va0, span, [&](const auto& l) {
          if (l.oa != oa0 + (l.va - va0)) bad.fetch_add(1, std::memory_order_relaxed);
        });
      }
    }
  };
  std::vector<std::thread> readers;
  for (unsigned i = 0; i < 3; ++i) readers.emplace_back(reader, i + 1);
  for (int round = 0; round < rounds; ++round) {
    ASSERT_TRUE(pt.map(va0, oa0, span, genpt::prot::read | genpt::prot::write).has_value());
    std::this_thread::yield();
    ASSERT_EQ(pt.unmap(va0, span), span);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(deferred_free, ReadersRacingUnmapOfTheSameRangeNeverSeeFreedMemory) {
  epoch_domain d;
  level_stats stats;
  {
    table pt = make_table(stats, d);
    race_readers_against_unmap(pt, 200);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(deferred_free, ReadersRacingUnmapOverAnArenaNeverSeeFreedMemory) {
  using atable = genpt::page_table<x86_64, deferred_free<genpt::arena_levels>>;
  epoch_domain d;
  level_stats stats;
  std::vector<std::uint64_t> mem(1 << 17);  // 1 MiB, 8-byte aligned
  auto* base = reinterpret_cast<std::byte*>(mem.data());  // byte view of the test's buffer
  const auto misalign = (4096 - reinterpret_cast<std::uintptr_t>(base) % 4096) % 4096;
  {
    auto r = atable::create(x86_64::config{},
                            deferred_free<genpt::arena_levels>(
                                genpt::arena_levels(base + misalign, (1 << 20) - 4096, 0x10'0000, &stats), d));
    ASSERT_TRUE(r.has_value());
    race_readers_against_unmap(*r, 150);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(deferred_free, UsesTheGlobalDomainByDefault) {
  level_stats stats;
  {
    auto r = table::create(x86_64::config{}, alloc_t(heap_levels(&stats)));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(&r->allocator().domain(), &epoch_domain::global());
    race_readers_against_unmap(*r, 100);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

}  // namespace
