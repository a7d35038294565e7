// Growth of an AMDv1 dynamic top (issue 3): one level at a time from mode 2
// to mode 6, the driver told of each new root before it is used, the
// configured maximum honoured, and a failed growth leaving the old top.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/flush/flush_range.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/page_table.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::amdv1;
using genpt::errc;
using genpt::oa_t;
using genpt::va_t;

constexpr std::uint64_t k4 = 0x1000;
constexpr genpt::prot rw = genpt::prot::read | genpt::prot::write;

/// One change_top call as the driver saw it, with item 0 of the new root
/// read at that moment (the old top must already be linked there).
struct top_change {
  oa_t root;
  unsigned top_level;
  std::uint64_t item0;
};

/// IOTLB sink that also takes the growable top's change_top hook.
struct driver_sink {
  std::vector<top_change>* log = nullptr;
  std::vector<genpt::iotlb_flush>* flushes = nullptr;
  void flush(const genpt::iotlb_flush& f) noexcept { flushes->push_back(f); }
  void change_top(oa_t root, unsigned top_level) noexcept {
    // heap_levels: a table's oa is its host address.
    const auto* table = reinterpret_cast<const std::uint64_t*>(root);
    log->push_back({root, top_level, __atomic_load_n(table, __ATOMIC_RELAXED)});
  }
};

using alloc_t = genpt::fault_injecting<genpt::heap_levels>;
using table = genpt::page_table<amdv1, alloc_t, genpt::flush_range<driver_sink>>;

class Amdv1Growth : public ::testing::Test {
 protected:
  std::optional<table> make(const amdv1::config& c) {
    auto r = table::create(c, alloc_t{genpt::heap_levels{&stats_}},
                           genpt::flush_range<driver_sink>{driver_sink{&changes_, &flushes_}});
    if (!r) {
      ADD_FAILURE() << "create: " << genpt::to_string(r.error());
      return std::nullopt;
    }
    return std::optional<table>(std::move(*r));
  }
  void TearDown() override { EXPECT_EQ(stats_.live_tables.load(), 0); }

  genpt::level_stats stats_;
  std::vector<top_change> changes_;
  std::vector<genpt::iotlb_flush> flushes_;
};

TEST_F(Amdv1Growth, GrowsOneLevelAtATimeFromMode2ToMode6TellingTheDriverEachRoot) {
  auto t = make({.starting_level = 1, .features = amdv1::dynamic_top});
  ASSERT_TRUE(t);
  ASSERT_EQ(t->info().top_level, 1u);
  ASSERT_TRUE(t->map(0, 0x5000, k4, rw));
  // Each map reaches just past what the current top decodes: 30, 39, 48, 57 bits.
  for (unsigned level = 2; level <= 5; ++level) {
    const oa_t old_root = t->hw_info().root;
    const va_t va = std::uint64_t{1} << (12 + 9 * level);
    ASSERT_TRUE(t->map(va, 0x6000, k4, rw)) << "level " << level;
    ASSERT_EQ(changes_.size(), level - 1);
    const top_change& c = changes_.back();
    EXPECT_EQ(c.top_level, level);
    EXPECT_EQ(t->info().top_level, level);
    EXPECT_EQ(t->hw_info().mode, level + 1);  // AMD mode = levels
    EXPECT_EQ(t->hw_info().root, c.root);
    // AMD spec §2.2.3: PR | NextLevel = level of the old top (its AMD level
    // is `level`) | its address | IR | IW, already in place for the hook.
    EXPECT_EQ(c.item0, 0x6000'0000'0000'0001u | (std::uint64_t{level} << 9) | old_root);
    // Growth changes no translation: no IOTLB flush.
    EXPECT_TRUE(flushes_.empty());
    EXPECT_EQ(t->iova_to_phys(0x123), std::optional<oa_t>{0x5123});
    EXPECT_EQ(t->iova_to_phys(va + 0x45), std::optional<oa_t>{0x6045});
  }
  EXPECT_EQ(t->info().top_level, 5u);  // mode 6 decodes all 64 bits
  EXPECT_TRUE(t->map(~va_t{0} - k4 + 1, 0x7000, k4, rw));
  EXPECT_EQ(changes_.size(), 4u);  // nothing left to grow
  t.reset();
}

TEST_F(Amdv1Growth, AVaBeyondTheConfiguredMaximumIsOutOfRangeWithNothingChanged) {
  auto t = make({.starting_level = 1, .va_lg2 = 48, .features = amdv1::dynamic_top});
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->map(0, 0x5000, k4, rw));
  const auto before = genpt::test::leaves_in(*t, 0, (std::uint64_t{1} << 48) - 1);
  const std::int64_t tables = stats_.live_tables.load();
  const genpt::result<void> r = t->map(std::uint64_t{1} << 48, 0x6000, k4, rw);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::out_of_range);
  EXPECT_EQ(t->info().top_level, 1u);
  EXPECT_TRUE(changes_.empty());
  EXPECT_EQ(stats_.live_tables.load(), tables);
  EXPECT_EQ(genpt::test::leaves_in(*t, 0, (std::uint64_t{1} << 48) - 1), before);
  // Up to the maximum it grows as usual.
  EXPECT_TRUE(t->map((std::uint64_t{1} << 48) - k4, 0x6000, k4, rw));
  EXPECT_EQ(t->info().top_level, 3u);
  t.reset();
}

TEST_F(Amdv1Growth, AFailedAllocationDuringGrowthLeavesTheOldTopAndLeaksNothing) {
  for (unsigned fail = 1; fail <= 3; ++fail) {  // growth from level 1 to 4 needs 3 tops
    changes_.clear();
    auto t = make({.starting_level = 1, .features = amdv1::dynamic_top});
    ASSERT_TRUE(t);
    ASSERT_TRUE(t->map(0, 0x5000, k4, rw));
    const oa_t root = t->hw_info().root;
    const std::int64_t tables = stats_.live_tables.load();
    t->allocator().fail_after(fail);
    const genpt::result<void> r = t->map(std::uint64_t{1} << 48, 0x6000, k4, rw);
    ASSERT_FALSE(r) << "failure " << fail;
    EXPECT_EQ(r.error(), errc::no_memory);
    EXPECT_EQ(t->info().top_level, 1u);
    EXPECT_EQ(t->hw_info().root, root);
    EXPECT_TRUE(changes_.empty());  // the driver never saw a root that was not kept
    EXPECT_EQ(stats_.live_tables.load(), tables);
    EXPECT_EQ(t->iova_to_phys(0x10), std::optional<oa_t>{0x5010});
    t->allocator().disarm();
    EXPECT_TRUE(t->map(std::uint64_t{1} << 48, 0x6000, k4, rw));  // and it can grow after
    EXPECT_EQ(t->info().top_level, 4u);
    t.reset();
    EXPECT_EQ(stats_.live_tables.load(), 0);
  }
}

}  // namespace
