// tests/flush_policy_test.cpp - what every producer gathers and what each
// flush policy hands to its sink, on x86_64 4-level tables (4K, 2M, 1G).
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::iotlb_flush;
using genpt::test::live;
using genpt::test::recording_sink;

constexpr std::uint64_t k4k = std::uint64_t{1} << 12;
constexpr std::uint64_t k2m = std::uint64_t{1} << 21;
constexpr std::uint64_t k1g = std::uint64_t{1} << 30;
constexpr genpt::prot rw = genpt::prot::read | genpt::prot::write;

/// Sink that also has flush_all(), counting its calls.
struct flush_all_sink {
  std::vector<iotlb_flush>* log = nullptr;
  unsigned* all_calls = nullptr;
  void flush(const iotlb_flush& f) noexcept { log->push_back(f); }
  void flush_all() noexcept { ++*all_calls; }
};

/// Sink recording, at each flush, how many tables were still alive.
struct live_at_flush_sink {
  const genpt::level_stats* stats = nullptr;
  std::vector<std::int64_t>* live_seen = nullptr;
  void flush(const iotlb_flush&) noexcept { live_seen->push_back(live(*stats)); }
};

/// A table of `Flush` over counted heap levels, with its flush log.
template <class Flush, class Alloc = genpt::heap_levels>
struct fixture_table {
  using table_t = genpt::page_table<genpt::x86_64, Alloc, Flush>;
  genpt::level_stats stats;
  std::optional<table_t> pt;

  explicit fixture_table(Flush f, Alloc a) {
    auto r = table_t::create(genpt::test::x86_64_4level::config(), std::move(a), std::move(f));
    EXPECT_TRUE(r.has_value());
    if (r) pt.emplace(std::move(*r));
  }
};

class flush_policy : public ::testing::Test {
 protected:
  template <class Flush>
  fixture_table<Flush>& make(Flush f) {
    auto* t = new fixture_table<Flush>(std::move(f), genpt::heap_levels{&stats_});
    cleanup_.push_back([t] { delete t; });
    return *t;
  }
  void TearDown() override {
    for (auto& c : cleanup_) c();
    EXPECT_EQ(live(stats_), 0) << "tables leaked";
  }
  recording_sink rec() { return recording_sink{&log_}; }

  genpt::level_stats stats_;
  std::vector<iotlb_flush> log_;
  std::vector<std::function<void()>> cleanup_;
};

using range_t = genpt::flush_range<recording_sink>;
using no_gaps_t = genpt::flush_range_no_gaps<recording_sink>;

// ----------------------------------------------------------------- gather --

TEST_F(flush_policy, unmap_gathers_the_range_actually_unmapped_not_the_range_requested) {
  auto& t = make(range_t{rec()});
  ASSERT_TRUE(t.pt->map(k2m, k2m, k2m, rw));
  genpt::gather g;
  EXPECT_EQ(t.pt->unmap(k2m, k4k, g), k2m);  // the 2M leaf goes whole
  EXPECT_EQ(g.va(), k2m);
  EXPECT_EQ(g.last(), 2 * k2m - 1);
  EXPECT_EQ(g.leaf_levels(), 0b10);
  t.pt->sync(g);
}

TEST_F(flush_policy, unmap_of_a_whole_table_span_reports_its_table_level_and_frees_it) {
  auto& t = make(range_t{rec()});
  ASSERT_TRUE(t.pt->map(0, 0, k2m, rw));             // one 2M leaf
  ASSERT_TRUE(t.pt->map(k2m, k1g + k4k, k2m, rw));  // oa only 4K aligned: a level-0 table
  genpt::gather g;
  EXPECT_EQ(t.pt->unmap(k2m, k2m, g), k2m);
  EXPECT_EQ(g.leaf_levels(), 0b01);
  EXPECT_EQ(g.table_levels(), 0b10);
  EXPECT_TRUE(g.tables_freed());
  EXPECT_EQ(g.freed().size(), 1u);
  t.pt->sync(g);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].va, k2m);
  EXPECT_EQ(log_[0].last, 2 * k2m - 1);
  EXPECT_TRUE(log_[0].tables_freed);
  EXPECT_EQ(t.pt->unmap(0, k2m), k2m);
}

TEST_F(flush_policy, sync_calls_the_sink_before_it_frees_the_gathered_tables) {
  std::vector<std::int64_t> seen;
  using policy = genpt::flush_range<live_at_flush_sink>;
  auto& t = make(policy{live_at_flush_sink{&stats_, &seen}});
  ASSERT_TRUE(t.pt->map(0, k4k, k2m, rw));  // a level-0 table
  const std::int64_t with_table = live(stats_);
  genpt::gather g;
  t.pt->unmap(0, k2m, g);
  t.pt->sync(g);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], with_table);          // still alive while the hardware is told
  EXPECT_EQ(live(stats_), with_table - 1);  // released right after
}

TEST_F(flush_policy, map_over_an_empty_subtree_reports_every_level_of_table_pointers_it_removed) {
  auto& t = make(range_t{rec()});
  // Leave an empty level-1 table holding two empty level-0 tables.
  ASSERT_TRUE(t.pt->map(0, 0, k4k, rw));
  ASSERT_TRUE(t.pt->map(k2m, k2m, k4k, rw));
  EXPECT_EQ(t.pt->unmap(0, k4k), k4k);
  EXPECT_EQ(t.pt->unmap(k2m, k4k), k4k);
  log_.clear();
  ASSERT_TRUE(t.pt->map(0, 0, k1g, rw));  // one 1G leaf replaces the subtree
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].va, 0u);
  EXPECT_EQ(log_[0].last, k1g - 1);
  EXPECT_EQ(log_[0].table_levels, 0b110);
  EXPECT_TRUE(log_[0].tables_freed);
  EXPECT_EQ(t.pt->unmap(0, k1g), k1g);
}

TEST_F(flush_policy, failed_map_flushes_the_leaves_its_rollback_removed) {
  using alloc_t = genpt::fault_injecting<genpt::heap_levels>;
  fixture_table<range_t, alloc_t> t(range_t{rec()}, alloc_t{genpt::heap_levels{&stats_}});
  ASSERT_TRUE(t.pt->map(0, 0, k4k, rw));  // the path to the first 2M exists
  log_.clear();
  t.pt->allocator().fail_after(1);  // the level-0 table of the second 2M fails
  EXPECT_FALSE(t.pt->map(k4k, k4k, k2m, rw));
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].va, k4k);
  EXPECT_EQ(log_[0].last, k2m - 1);
  EXPECT_EQ(log_[0].leaf_levels, 0b01);
  EXPECT_EQ(t.pt->iova_to_phys(k4k), std::nullopt);
  t.pt->unmap(0, k4k);
  t.pt.reset();
}

// ------------------------------------------------------------- flush_range --

TEST_F(flush_policy, flush_range_merges_disjoint_unmaps_into_one_flush_at_sync) {
  auto& t = make(range_t{rec()});
  ASSERT_TRUE(t.pt->map(0, 0, 16 * k4k, rw));
  genpt::gather g;
  t.pt->unmap(0, k4k, g);
  t.pt->unmap(8 * k4k, k4k, g);
  EXPECT_TRUE(log_.empty());
  t.pt->sync(g);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].va, 0u);
  EXPECT_EQ(log_[0].last, 9 * k4k - 1);
  t.pt->unmap(k4k, 7 * k4k);
  t.pt->unmap(9 * k4k, 7 * k4k);
}

TEST_F(flush_policy, sync_of_an_empty_gather_calls_no_sink) {
  auto& t = make(range_t{rec()});
  genpt::gather g;
  t.pt->sync(g);
  EXPECT_TRUE(log_.empty());
}

// --------------------------------------------------------- no gaps policy --

TEST_F(flush_policy, no_gaps_flushes_the_pending_range_before_a_disjoint_one_joins) {
  auto& t = make(no_gaps_t{rec()});
  ASSERT_TRUE(t.pt->map(0, 0, 16 * k4k, rw));
  genpt::gather g;
  t.pt->unmap(0, k4k, g);
  EXPECT_TRUE(log_.empty());
  t.pt->unmap(8 * k4k, k4k, g);  // not touching [0, 4K): flush that first
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].va, 0u);
  EXPECT_EQ(log_[0].last, k4k - 1);
  t.pt->sync(g);
  ASSERT_EQ(log_.size(), 2u);
  EXPECT_EQ(log_[1].va, 8 * k4k);
  EXPECT_EQ(log_[1].last, 9 * k4k - 1);
  t.pt->unmap(k4k, 7 * k4k);
  t.pt->unmap(9 * k4k, 7 * k4k);
}

TEST_F(flush_policy, no_gaps_merges_a_range_adjacent_to_the_pending_one) {
  auto& t = make(no_gaps_t{rec()});
  ASSERT_TRUE(t.pt->map(0, 0, 4 * k4k, rw));
  genpt::gather g;
  t.pt->unmap(2 * k4k, k4k, g);
  t.pt->unmap(k4k, k4k, g);      // touches from below
  t.pt->unmap(3 * k4k, k4k, g);  // touches from above
  EXPECT_TRUE(log_.empty());
  t.pt->sync(g);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].va, k4k);
  EXPECT_EQ(log_[0].last, 4 * k4k - 1);
  t.pt->unmap(0, k4k);
}

// ---------------------------------------------------------------- queued --

TEST_F(flush_policy, queued_gather_keeps_no_range_and_syncs_as_one_flush_of_everything) {
  auto& t = make(no_gaps_t{rec()});
  ASSERT_TRUE(t.pt->map(0, 0, 16 * k4k, rw));
  genpt::gather g{genpt::queued};
  t.pt->unmap(0, k4k, g);
  t.pt->unmap(8 * k4k, k4k, g);  // disjoint, yet no early flush
  EXPECT_TRUE(log_.empty());
  EXPECT_FALSE(g.empty());
  t.pt->sync(g);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_TRUE(log_[0].all);
  EXPECT_EQ(log_[0].va, 0u);
  EXPECT_EQ(log_[0].last, ~std::uint64_t{0});
  EXPECT_TRUE(g.empty());
  EXPECT_TRUE(g.queued());
  t.pt->unmap(k4k, 7 * k4k);
  t.pt->unmap(9 * k4k, 7 * k4k);
}

TEST_F(flush_policy, queued_sync_uses_the_sinks_flush_all_when_it_has_one) {
  unsigned all_calls = 0;
  using policy = genpt::flush_range<flush_all_sink>;
  auto& t = make(policy{flush_all_sink{&log_, &all_calls}});
  ASSERT_TRUE(t.pt->map(0, 0, k4k, rw));
  genpt::gather g{genpt::queued};
  t.pt->unmap(0, k4k, g);
  t.pt->sync(g);
  EXPECT_EQ(all_calls, 1u);
  EXPECT_TRUE(log_.empty());
}

TEST_F(flush_policy, queued_gather_frees_its_tables_only_at_its_sync) {
  auto& t = make(range_t{rec()});
  ASSERT_TRUE(t.pt->map(0, k4k, k2m, rw));  // a level-0 table
  const std::int64_t with_table = live(stats_);
  genpt::gather g{genpt::queued};
  t.pt->unmap(0, k2m, g);
  EXPECT_EQ(live(stats_), with_table);
  t.pt->sync(g);
  EXPECT_EQ(live(stats_), with_table - 1);
}

// ------------------------------------------------------------ flush_none --

TEST_F(flush_policy, flush_none_still_frees_the_gathered_tables_at_sync) {
  auto& t = make(genpt::flush_none{});
  ASSERT_TRUE(t.pt->map(0, k4k, k2m, rw));  // a level-0 table
  const std::int64_t with_table = live(stats_);
  EXPECT_EQ(t.pt->unmap(0, k2m), k2m);
  EXPECT_EQ(live(stats_), with_table - 1);
}

}  // namespace
