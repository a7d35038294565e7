// tests/alloc_failure_test.cpp - every allocation of a map may fail: the map
// then reports no_memory, every translation is as before, the tables it
// made whose whole span lies inside the request are freed at once, and
// nothing leaks. Also the fault_injecting wrapper's own contract.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::errc;
using genpt::prot;
using genpt::x86_64;
using genpt::test::live;
using faulty = genpt::fault_injecting<genpt::heap_levels>;
using table_t = genpt::page_table<x86_64, faulty, genpt::test::recording_flush>;

static_assert(genpt::level_allocator<faulty>);
static_assert(genpt::check_level_allocator<faulty>());

constexpr prot rw = prot::read | prot::write;

// ------------------------------------------------- fault_injecting itself

TEST(FaultInjecting, FailsExactlyTheArmedAllocationOnce) {
  genpt::level_stats stats;
  faulty a{genpt::heap_levels{&stats}};
  a.fail_after(3);
  EXPECT_TRUE(a.armed());
  genpt::table_list got;
  for (int i = 1; i <= 5; ++i) {
    const genpt::table_alloc t = a.allocate(12);
    if (i == 3) {
      EXPECT_EQ(t.table, nullptr);
      EXPECT_EQ(t.oa, 0u);
    } else {
      ASSERT_NE(t.table, nullptr) << i;
      got.push_back(a.link_of(t.table, 12));
    }
  }
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(a.allocations(), 5u);
  EXPECT_EQ(a.failures(), 1u);
  EXPECT_EQ(live(stats), 4);
  a.free(got);
  EXPECT_EQ(live(stats), 0);
}

TEST(FaultInjecting, DisarmCancelsThePendingFailure) {
  genpt::level_stats stats;
  faulty a{genpt::heap_levels{&stats}};
  a.fail_after(1);
  a.disarm();
  const genpt::table_alloc t = a.allocate(12);
  ASSERT_NE(t.table, nullptr);
  EXPECT_EQ(a.failures(), 0u);
  genpt::table_list l;
  l.push_back(a.link_of(t.table, 12));
  a.free(l);
  EXPECT_EQ(live(stats), 0);
}

TEST(FaultInjecting, ZeroDisarms) {
  faulty a;
  a.fail_after(0);
  EXPECT_FALSE(a.armed());
}

TEST(FaultInjecting, MovingKeepsTheCountAndTheArming) {
  genpt::level_stats stats;
  faulty a{genpt::heap_levels{&stats}};
  a.fail_after(2);
  faulty b(std::move(a));
  EXPECT_TRUE(b.armed());
  const genpt::table_alloc t1 = b.allocate(12);
  const genpt::table_alloc t2 = b.allocate(12);
  ASSERT_NE(t1.table, nullptr);
  EXPECT_EQ(t2.table, nullptr);
  genpt::table_list l;
  l.push_back(b.link_of(t1.table, 12));
  b.free(l);
  EXPECT_EQ(live(stats), 0);
}

// ------------------------------------------------ failed maps change nothing

class AllocFailure : public ::testing::Test {
 protected:
  using leaf = genpt::test::leaf_record<x86_64::attrs>;

  void TearDown() override {
    pt_.reset();
    EXPECT_EQ(live(stats_), 0) << "tables leaked";
  }
  table_t& make(unsigned top_level) {
    pt_.reset();
    x86_64::config c;
    c.top_level = top_level;
    auto r = table_t::create(c, faulty{genpt::heap_levels{&stats_}},
                             genpt::test::recording_flush{genpt::test::recording_sink{&flushes_}});
    EXPECT_TRUE(r.has_value());
    pt_.emplace(std::move(*r));
    return *pt_;
  }
  std::vector<leaf> leaves() const {
    return genpt::test::snapshot(*pt_, genpt::test::sign_extended_windows(pt_->info().va_lg2));
  }

  struct request {
    std::uint64_t va, oa, len;
  };
  struct setup_map {
    std::uint64_t va, oa, len;
  };
  /// For failure points 1..k (k = tables the request allocates): a fresh
  /// table with `pre` mapped, the request failing at that allocation.
  /// `kept[i-1]` is how many of the tables made before the failure must
  /// still be alive afterwards (those not wholly inside the request).
  void run(unsigned top_level, const std::vector<setup_map>& pre, request rq, unsigned k,
           const std::vector<std::int64_t>& kept) {
    ASSERT_EQ(kept.size(), k);
    // First, without failure: the request allocates exactly k tables.
    {
      table_t& t = make(top_level);
      for (const setup_map& m : pre) ASSERT_TRUE(t.map(m.va, m.oa, m.len, rw).has_value());
      const std::uint64_t before = t.allocator().allocations();
      ASSERT_TRUE(t.map(rq.va, rq.oa, rq.len, rw).has_value());
      ASSERT_EQ(t.allocator().allocations() - before, k);
    }
    for (unsigned i = 1; i <= k; ++i) {
      SCOPED_TRACE(::testing::Message() << "allocation " << i << " of " << k << " fails");
      table_t& t = make(top_level);
      for (const setup_map& m : pre) ASSERT_TRUE(t.map(m.va, m.oa, m.len, rw).has_value());
      const auto before = leaves();
      const std::int64_t tables = live(stats_);
      t.allocator().fail_after(i);
      const auto r = t.map(rq.va, rq.oa, rq.len, rw);
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error(), errc::no_memory);
      EXPECT_EQ(t.allocator().failures(), 1u);
      EXPECT_EQ(leaves(), before);
      for (const setup_map& m : pre)
        EXPECT_EQ(t.iova_to_phys(m.va + m.len - 1), m.oa + m.len - 1);
      EXPECT_EQ(t.iova_to_phys(rq.va), std::nullopt);
      EXPECT_EQ(live(stats_), tables + kept[i - 1]);
      // The table still works: the same request now succeeds.
      ASSERT_TRUE(t.map(rq.va, rq.oa, rq.len, rw).has_value());
      EXPECT_EQ(t.iova_to_phys(rq.va + rq.len - 1), rq.oa + rq.len - 1);
      pt_.reset();
      EXPECT_EQ(live(stats_), 0);
    }
  }

  genpt::level_stats stats_;
  std::vector<genpt::iotlb_flush> flushes_;
  std::optional<table_t> pt_;
};

// [512G - 4K, 512G + 4K) on an empty 4-level table: PDPT, PD, PT on each
// side of the boundary. No table span lies inside the request, so every
// table made before the failure stays (empty).
TEST_F(AllocFailure, CrossingA512GBoundaryOnAnEmptyTable) {
  run(3, {}, {0x7F'FFFF'F000, 0x1000, 0x2000}, 6, {0, 1, 2, 3, 4, 5});
}

// The same request with a page already mapped in the lower side's PD:
// the failed map must keep that PDPT/PD and its leaf intact.
TEST_F(AllocFailure, CrossingA512GBoundaryBesideAnExistingMapping) {
  run(3, {{0x7F'FFC0'0000, 0x9000, 0x1000}}, {0x7F'FFFF'F000, 0x1000, 0x2000}, 4,
      {0, 1, 2, 3});
}

// [256T - 4K, 256T + 4K) on a 5-level table: four tables each side.
TEST_F(AllocFailure, CrossingA256TBoundaryOn5Levels) {
  run(4, {}, {0xFFFF'FFFF'F000, 0x1000, 0x2000}, 8, {0, 1, 2, 3, 4, 5, 6, 7});
}

// 4M of 4K pages at [2M, 6M): PDPT, PD, then two PTs whose 2M spans lie
// wholly inside the request; a failure frees those at once.
TEST_F(AllocFailure, PageTablesWhollyInsideTheRequestAreFreed) {
  run(3, {{0x0, 0x5000, 0x1000}}, {0x20'0000, 0x1000, 0x40'0000}, 2, {0, 0});
  run(3, {}, {0x20'0000, 0x1000, 0x40'0000}, 4, {0, 1, 2, 2});
}

// [1G, 2G + 4K) with a 2M-aligned oa: PD #1 is filled with 2M pages (its
// whole 1G span is inside the request), then PD #2 and a PT for the 4K
// tail. PD #1 is freed by the failure; PDPT, PD #2 stay.
TEST_F(AllocFailure, APageDirectoryWhollyInsideTheRequestIsFreed) {
  run(3, {}, {0x4000'0000, 0x20'0000, 0x4000'1000}, 4, {0, 1, 1, 2});
}

// The rollback of a prefix that was briefly mapped is flushed, so no IOTLB
// can keep the removed translations; the freed directory goes with it.
TEST_F(AllocFailure, TheRolledBackPrefixIsFlushed) {
  table_t& t = make(3);
  flushes_.clear();
  t.allocator().fail_after(3);  // PDPT, PD #1 succeed; PD #2 fails
  const auto r = t.map(0x4000'0000, 0x20'0000, 0x4000'1000, rw);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::no_memory);
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_LE(flushes_[0].va, 0x4000'0000u);
  EXPECT_GE(flushes_[0].last, 0x7FFF'FFFFu);
  EXPECT_EQ(flushes_[0].leaf_levels & 0x2u, 0x2u) << "2M leaves were removed";
  EXPECT_EQ(flushes_[0].table_levels & 0x4u, 0x4u) << "the PDPTE of PD #1 was cleared";
  EXPECT_TRUE(flushes_[0].tables_freed);
  EXPECT_EQ(live(stats_), 2) << "top and PDPT";
}

}  // namespace
