// urcu_domain_test.cpp - deferred_free over liburcu: tables unlinked while
// an RCU reader may hold a pointer into them are released only after a
// grace period, so readers may race an unmap of the very range they walk.
// Built when GENPT_WITH_LIBURCU=ON (the dev, release and asan-ubsan presets;
// not tsan: liburcu itself is not built with ThreadSanitizer, which would
// then miss its synchronisation and report its grace periods as races).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "genpt/alloc/deferred_free.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/urcu_domain.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace {

using genpt::level_stats;
using genpt::oa_t;
using genpt::urcu_domain;
using genpt::x86_64;

using alloc_t = genpt::deferred_free<genpt::heap_levels, urcu_domain>;
using table = genpt::page_table<x86_64, alloc_t>;

constexpr std::uint64_t va0 = 0x4000'0000;
constexpr std::uint64_t span = 0x20'0000;  // one whole level-0 table
constexpr oa_t oa0 = 0x1'0000'1000;        // not 2M-aligned: 4K leaves, so a level-0 table

table make_table(level_stats& stats, urcu_domain& d) {
  auto r = table::create(x86_64::config{}, alloc_t(genpt::heap_levels(&stats), d));
  EXPECT_TRUE(r.has_value());
  return std::move(*r);
}

/// Polls reclaimable() (which never blocks) until it answers true.
bool eventually_reclaimable(urcu_domain& d, std::uint64_t point) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (d.reclaimable(point)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(urcu_domain, APointBecomesReclaimableAfterAGracePeriodWithoutBlocking) {
  urcu_domain d;
  const std::uint64_t p = d.retire_point();
  EXPECT_TRUE(eventually_reclaimable(d, p));
}

TEST(urcu_domain, SynchronizeCoversEveryEarlierPoint) {
  urcu_domain d;
  const std::uint64_t a = d.retire_point();
  const std::uint64_t b = d.retire_point();
  d.synchronize();
  EXPECT_TRUE(d.reclaimable(a));
  EXPECT_TRUE(d.reclaimable(b));
}

TEST(urcu_domain, UnmappedTablesWaitForAReaderStillInside) {
  urcu_domain d;
  level_stats stats;
  {
    table pt = make_table(stats, d);
    ASSERT_TRUE(pt.map(va0, oa0, span, genpt::prot::read).has_value());
    ASSERT_TRUE(pt.map(va0 + span, oa0, span, genpt::prot::read).has_value());
    const std::int64_t mapped = stats.live_tables.load();
    std::atomic<int> step{0};
    std::thread reader([&] {
      auto g = pt.allocator().read_guard();
      // The reader holds a pointer into the first level-0 table (heap
      // tables: the table item's address bits are the host address).
      const std::uint64_t* t0 = nullptr;
      pt.for_each_item(va0, 1, [&](const genpt::item_view& v) {
        if (v.level == 1 && v.kind == genpt::entry_kind::table)
          t0 = reinterpret_cast<const std::uint64_t*>(v.word & x86_64::ADDR);
      });
      ASSERT_NE(t0, nullptr);
      step.store(1);
      while (step.load() != 2) std::this_thread::yield();
      // Both level-0 tables were unlinked and freed meanwhile; the first
      // must still be there (ASan reports a read of a released table).
      EXPECT_EQ(__atomic_load_n(t0, __ATOMIC_RELAXED), 0u);  // cleared, not released
      EXPECT_EQ(stats.live_tables.load(), mapped);
    });
    while (step.load() != 1) std::this_thread::yield();
    EXPECT_EQ(pt.unmap(va0, span), span);         // retires table 1
    EXPECT_EQ(pt.unmap(va0 + span, span), span);  // retires table 2, releases what is safe
    EXPECT_EQ(pt.allocator().pending(), 2u);
    step.store(2);
    reader.join();
    pt.allocator().barrier();  // the reader left: a grace period releases both
    EXPECT_EQ(pt.allocator().pending(), 0u);
    EXPECT_EQ(stats.live_tables.load(), mapped - 2);
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

TEST(urcu_domain, ReadersRacingUnmapOfTheSameRangeNeverTouchFreedTables) {
  urcu_domain d;
  level_stats stats;
  {
    table pt = make_table(stats, d);
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r)
      readers.emplace_back([&] {
        std::uint64_t hits = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          for (std::uint64_t off = 0; off < span; off += 0x1000)
            if (auto oa = pt.iova_to_phys(va0 + off)) {
              EXPECT_EQ(*oa, oa0 + off);
              ++hits;
            }
          pt.for_each_leaf(va0, span, [](const auto&) {});
        }
        (void)hits;
      });
    for (int round = 0; round < 300; ++round) {
      ASSERT_TRUE(pt.map(va0, oa0, span, genpt::prot::read).has_value());
      ASSERT_EQ(pt.unmap(va0, span), span);  // frees the level-0 table every round
    }
    stop.store(true);
    for (auto& t : readers) t.join();
    pt.allocator().barrier();
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

}  // namespace
