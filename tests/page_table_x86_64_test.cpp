// tests/page_table_x86_64_test.cpp - page_table<x86_64> edge cases: the
// ends of both canonical halves, table boundaries at every level, huge
// ranges, bad arguments, page-size choice, empty-subtree replacement, unmap
// semantics and the gather, all with exact table counts.
//
// Geometry used for the expected values (SDM Vol. 3A §4.5): 4K pages at
// level 0, 2M at level 1, 1G at level 2; one table spans 2M (level 0),
// 1G (level 1), 512G (level 2), 256T (level 3, the 5-level PML4).
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
using table_t = genpt::page_table<x86_64, genpt::heap_levels, genpt::test::recording_flush>;
using leaf = genpt::test::leaf_record<x86_64::attrs>;

constexpr prot rw = prot::read | prot::write;

x86_64::attrs rw_attrs() {
  x86_64::attrs a;
  a.write = a.user = a.accessed = a.dirty = true;
  return a;
}

class PageTableX86_64 : public ::testing::Test {
 protected:
  void TearDown() override {
    pt_.reset();
    EXPECT_EQ(live(stats_), 0) << "tables leaked";
  }
  table_t& make(unsigned top_level) {
    x86_64::config c;
    c.top_level = top_level;
    auto r = table_t::create(c, genpt::heap_levels{&stats_},
                             genpt::test::recording_flush{genpt::test::recording_sink{&flushes_}});
    EXPECT_TRUE(r.has_value());
    pt_.emplace(std::move(*r));
    return *pt_;
  }
  std::vector<leaf> leaves() const {
    const unsigned bits = pt_->info().va_lg2;
    return genpt::test::snapshot(*pt_, genpt::test::sign_extended_windows(bits));
  }
  std::vector<genpt::item_view> top_items() const {
    std::vector<genpt::item_view> out;
    const unsigned top = pt_->info().top_level;
    const unsigned bits = pt_->info().va_lg2;
    for (const auto& w : genpt::test::sign_extended_windows(bits))
      pt_->for_each_item(w.first, w.last - w.first + 1, [&](const genpt::item_view& v) {
        if (v.level == top) out.push_back(v);
      });
    return out;
  }
  void expect_refused(std::uint64_t va, std::uint64_t oa, std::uint64_t len, prot p, errc want) {
    const auto before = leaves();
    const std::int64_t tables = live(stats_);
    const auto r = pt_->map(va, oa, len, p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), want) << "got " << genpt::to_string(r.error());
    EXPECT_EQ(leaves(), before);
    EXPECT_EQ(live(stats_), tables);
  }
  /// Some mappings every bad-argument test must leave untouched.
  void populate() {
    ASSERT_TRUE(pt_->map(0x0, 0x10'0000, 0x1000, rw).has_value());
    ASSERT_TRUE(pt_->map(0x20'0000, 0x4000'0000, 0x20'0000, rw).has_value());
    ASSERT_TRUE(pt_->map(0xFFFF'FFFF'FFFF'F000, 0x3000, 0x1000, prot::read).has_value());
  }

  genpt::level_stats stats_;
  std::vector<genpt::iotlb_flush> flushes_;
  std::optional<table_t> pt_;
};

// ---------------------------------------------------- ends of both halves

TEST_F(PageTableX86_64, FirstAndLastPagesOfBothHalvesTranslate4Level) {
  table_t& t = make(3);
  const std::uint64_t vas[] = {0x0, 0x7FFF'FFFF'F000, 0xFFFF'8000'0000'0000,
                               0xFFFF'FFFF'FFFF'F000};
  for (unsigned i = 0; i < 4; ++i)
    ASSERT_TRUE(t.map(vas[i], 0x10'0000 * (i + 1), 0x1000, rw).has_value()) << i;
  EXPECT_EQ(t.iova_to_phys(0x0), 0x10'0000u);
  EXPECT_EQ(t.iova_to_phys(0x7FFF'FFFF'FFFF), 0x20'0FFFu);
  EXPECT_EQ(t.iova_to_phys(0xFFFF'8000'0000'0000), 0x30'0000u);
  EXPECT_EQ(t.iova_to_phys(0xFFFF'FFFF'FFFF'FFFF), 0x40'0FFFu);
  // The upper half lands in top indexes 256..511 (va mod 2^48).
  const auto top = top_items();
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].index, 0u);
  EXPECT_EQ(top[1].index, 255u);
  EXPECT_EQ(top[2].index, 256u);
  EXPECT_EQ(top[3].index, 511u);
  for (const std::uint64_t va : vas) EXPECT_EQ(t.unmap(va, 0x1000), 0x1000u);
  EXPECT_TRUE(leaves().empty());
}

TEST_F(PageTableX86_64, FirstAndLastPagesOfBothHalvesTranslate5Level) {
  table_t& t = make(4);
  const std::uint64_t vas[] = {0x0, 0x00FF'FFFF'FFFF'F000, 0xFF00'0000'0000'0000,
                               0xFFFF'FFFF'FFFF'F000};
  for (unsigned i = 0; i < 4; ++i)
    ASSERT_TRUE(t.map(vas[i], 0x10'0000 * (i + 1), 0x1000, rw).has_value()) << i;
  EXPECT_EQ(t.iova_to_phys(0x00FF'FFFF'FFFF'FFFF), 0x20'0FFFu);
  EXPECT_EQ(t.iova_to_phys(0xFF00'0000'0000'0000), 0x30'0000u);
  const auto top = top_items();
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].index, 0u);
  EXPECT_EQ(top[1].index, 255u);
  EXPECT_EQ(top[2].index, 256u);
  EXPECT_EQ(top[3].index, 511u);
  EXPECT_EQ(t.iova_to_phys(0x0100'0000'0000'0000), std::nullopt) << "non-canonical";
  for (const std::uint64_t va : vas) EXPECT_EQ(t.unmap(va, 0x1000), 0x1000u);
}

// ------------------------------------------------ table boundaries

struct crossing {
  unsigned top_level;
  std::uint64_t boundary;
  std::int64_t tables;  // live tables after mapping one 4K page each side
};

TEST_F(PageTableX86_64, RangesCrossingATableBoundaryAtEachLevelGetTablesOnBothSides) {
  const crossing cases[] = {
      {3, 0x20'0000, 1 + 1 + 1 + 2},                // 2M: two PTs
      {3, 0x4000'0000, 1 + 1 + 2 + 2},              // 1G: two PDs
      {3, 0x80'0000'0000, 1 + 2 + 2 + 2},           // 512G: two PDPTs
      {4, 0x1'0000'0000'0000, 1 + 2 + 2 + 2 + 2},   // 256T: two PML4s
  };
  for (const crossing& c : cases) {
    SCOPED_TRACE(::testing::Message() << std::hex << "boundary 0x" << c.boundary);
    table_t& t = make(c.top_level);
    const std::uint64_t va = c.boundary - 0x1000;
    ASSERT_TRUE(t.map(va, 0x7000'0000, 0x2000, rw).has_value());
    EXPECT_EQ(live(stats_), c.tables);
    const std::vector<leaf> want{{va, 0x7000'0000, 12, 0, rw_attrs()},
                                 {c.boundary, 0x7000'1000, 12, 0, rw_attrs()}};
    EXPECT_EQ(leaves(), want);
    EXPECT_EQ(t.iova_to_phys(c.boundary - 1), 0x7000'0FFFu);
    EXPECT_EQ(t.iova_to_phys(c.boundary), 0x7000'1000u);
    EXPECT_EQ(t.unmap(va, 0x2000), 0x2000u);
    EXPECT_EQ(live(stats_), c.tables) << "partly covered tables stay";
    pt_.reset();
    EXPECT_EQ(live(stats_), 0);
  }
}

TEST_F(PageTableX86_64, TheWholeLowerHalfMapsAs1GPagesAndUnmapsWhole) {
  table_t& t = make(3);
  const std::uint64_t half = std::uint64_t{1} << 47;
  ASSERT_TRUE(t.map(0, 0, half, rw).has_value());
  EXPECT_EQ(t.info().pgsize_bitmap, 0x4020'1000u);
  EXPECT_EQ(live(stats_), 1 + 256) << "the top and 256 PDPTs";
  std::uint64_t count = 0, next = 0;
  bool all_1g = true, contiguous = true;
  t.for_each_leaf(0, half, [&](const auto& l) {
    ++count;
    all_1g = all_1g && l.size_lg2 == 30 && l.level == 2 && l.oa == l.va;
    contiguous = contiguous && l.va == next;
    next = l.va + 0x4000'0000;
  });
  EXPECT_EQ(count, 131072u);
  EXPECT_TRUE(all_1g);
  EXPECT_TRUE(contiguous);
  EXPECT_EQ(t.iova_to_phys(0x7FFF'FFFF'FFFF), 0x7FFF'FFFF'FFFFu);
  flushes_.clear();
  EXPECT_EQ(t.unmap(0, half), half);
  EXPECT_EQ(live(stats_), 1) << "only the top is left";
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_EQ(flushes_[0].va, 0u);
  EXPECT_EQ(flushes_[0].last, 0x7FFF'FFFF'FFFFu);
  EXPECT_EQ(flushes_[0].leaf_levels, 0x4u) << "1G leaves sit at level 2";
  EXPECT_EQ(flushes_[0].table_levels, 0x8u) << "PDPT pointers sit at level 3";
  EXPECT_TRUE(flushes_[0].tables_freed);
}

// --------------------------------------------------------- bad arguments

TEST_F(PageTableX86_64, ZeroLengthIsInvalidArgument) {
  make(3);
  populate();
  expect_refused(0x1000, 0x1000, 0, rw, errc::invalid_argument);
}

TEST_F(PageTableX86_64, ProtWithoutReadOrWriteIsInvalidArgument) {
  make(3);
  populate();
  expect_refused(0x1000, 0x1000, 0x1000, prot::none, errc::invalid_argument);
  expect_refused(0x1000, 0x1000, 0x1000, prot::noexec | prot::cache | prot::mmio,
                 errc::invalid_argument);
}

TEST_F(PageTableX86_64, WrapAroundIsOverflow) {
  make(3);
  populate();
  expect_refused(0xFFFF'FFFF'FFFF'E000, 0x1000, 0x3000, rw, errc::overflow);
  expect_refused(0x1000, 0xFFFF'FFFF'FFFF'F000, 0x2000, rw, errc::overflow);
}

TEST_F(PageTableX86_64, NonCanonicalVaIsOutOfRange) {
  make(3);
  populate();
  expect_refused(0x0000'8000'0000'0000, 0x1000, 0x1000, rw, errc::out_of_range);
  expect_refused(0xFFFF'7FFF'FFFF'F000, 0x1000, 0x1000, rw, errc::out_of_range);
  expect_refused(0x1234'0000'0000'0000, 0x1000, 0x1000, rw, errc::out_of_range);
}

TEST_F(PageTableX86_64, RangeCrossingTheCanonicalHoleIsOutOfRange) {
  make(3);
  populate();
  expect_refused(0x7FFF'FFFF'F000, 0x1000, 0x2000, rw, errc::out_of_range);
  expect_refused(0x7FFF'FFFF'F000, 0x1000, 0xFFFF'8000'0000'1000 - 0x7FFF'FFFF'F000, rw,
                 errc::out_of_range);
}

TEST_F(PageTableX86_64, OaAbove52BitsIsOutOfRange) {
  make(3);
  populate();
  expect_refused(0x1000, 0x0010'0000'0000'0000, 0x1000, rw, errc::out_of_range);
  expect_refused(0x1000, 0x000F'FFFF'FFFF'F000, 0x2000, rw, errc::out_of_range);
}

TEST_F(PageTableX86_64, MisalignedVaOaOrLenIsMisaligned) {
  make(3);
  populate();
  expect_refused(0x1800, 0x1000, 0x1000, rw, errc::misaligned);
  expect_refused(0x1000, 0x1001, 0x1000, rw, errc::misaligned);
  expect_refused(0x1000, 0x1000, 0x1200, rw, errc::misaligned);
}

TEST_F(PageTableX86_64, MapOverAnExistingLeafIsAddressInUseWithNothingChanged) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x4000'0000, 0x20'0000, rw).has_value());
  const auto before = leaves();
  for (const auto& [va, len] : {std::pair<std::uint64_t, std::uint64_t>{0x30'0000, 0x1000},
                                {0x20'0000, 0x20'0000},
                                {0x1F'F000, 0x2000},
                                {0x0, 0x40'0000}}) {
    const auto r = t.map(va, 0x8000'0000, len, rw);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::address_in_use);
    EXPECT_EQ(leaves(), before);
  }
  EXPECT_EQ(t.iova_to_phys(0x1F'F000), std::nullopt) << "the free prefix was rolled back";
}

// ---------------------------------------------------------- page sizes

TEST_F(PageTableX86_64, TwoMegAlignedFourMegPlus4KIsTwo2MPagesAndOne4K) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x4020'0000, 0x40'1000, rw).has_value());
  const std::vector<leaf> want{{0x20'0000, 0x4020'0000, 21, 1, rw_attrs()},
                               {0x40'0000, 0x4040'0000, 21, 1, rw_attrs()},
                               {0x60'0000, 0x4060'0000, 12, 0, rw_attrs()}};
  EXPECT_EQ(leaves(), want);
}

TEST_F(PageTableX86_64, ARangeStartingBelowA2MBoundaryUses4KThen2MThen4K) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x1F'F000, 0x401F'F000, 0x20'2000, rw).has_value());
  const std::vector<leaf> want{{0x1F'F000, 0x401F'F000, 12, 0, rw_attrs()},
                               {0x20'0000, 0x4020'0000, 21, 1, rw_attrs()},
                               {0x40'0000, 0x4040'0000, 12, 0, rw_attrs()}};
  EXPECT_EQ(leaves(), want);
}

TEST_F(PageTableX86_64, OaAlignmentLimitsThePageSize) {
  table_t& t = make(3);
  // va 1G-aligned, oa only 2M-aligned: 512 2M pages, no 1G page.
  ASSERT_TRUE(t.map(0x4000'0000, 0x20'0000, 0x4000'0000, rw).has_value());
  const auto l = leaves();
  ASSERT_EQ(l.size(), 512u);
  EXPECT_EQ(l.front(), (leaf{0x4000'0000, 0x20'0000, 21, 1, rw_attrs()}));
  EXPECT_EQ(l.back(), (leaf{0x7FE0'0000, 0x4000'0000, 21, 1, rw_attrs()}));
  // Both 1G-aligned: one 1G page.
  ASSERT_TRUE(t.map(0x8000'0000, 0x4000'0000, 0x4000'0000, rw).has_value());
  EXPECT_EQ(leaves().back(), (leaf{0x8000'0000, 0x4000'0000, 30, 2, rw_attrs()}));
}

// --------------------------------------- replacing an empty subtree

TEST_F(PageTableX86_64, A2MMapOverAnEmptyPageTableFreesItThroughAFlush) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x9000, 0x1000, rw).has_value());
  ASSERT_EQ(t.unmap(0x20'0000, 0x1000), 0x1000u);
  EXPECT_EQ(live(stats_), 4) << "top, PDPT, PD and the now empty PT";
  flushes_.clear();
  ASSERT_TRUE(t.map(0x20'0000, 0x4020'0000, 0x20'0000, rw).has_value());
  EXPECT_EQ(live(stats_), 3) << "the empty PT was freed";
  EXPECT_EQ(leaves(), (std::vector<leaf>{{0x20'0000, 0x4020'0000, 21, 1, rw_attrs()}}));
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_LE(flushes_[0].va, 0x20'0000u);
  EXPECT_GE(flushes_[0].last, 0x3F'FFFFu);
  EXPECT_EQ(flushes_[0].table_levels, 0x2u) << "a PDE's table pointer was removed";
  EXPECT_TRUE(flushes_[0].tables_freed);
}

TEST_F(PageTableX86_64, A1GMapOverAnEmptyTwoLevelSubtreeFreesBothTables) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x4020'0000, 0x9000, 0x1000, rw).has_value());
  ASSERT_TRUE(t.map(0x7FFF'F000, 0xA000, 0x1000, rw).has_value());
  ASSERT_EQ(t.unmap(0x4020'0000, 0x1000), 0x1000u);
  ASSERT_EQ(t.unmap(0x7FFF'F000, 0x1000), 0x1000u);
  EXPECT_EQ(live(stats_), 5) << "top, PDPT, PD, two PTs";
  flushes_.clear();
  ASSERT_TRUE(t.map(0x4000'0000, 0xC000'0000, 0x4000'0000, rw).has_value());
  EXPECT_EQ(live(stats_), 2) << "PD and both PTs freed";
  EXPECT_EQ(leaves(), (std::vector<leaf>{{0x4000'0000, 0xC000'0000, 30, 2, rw_attrs()}}));
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_LE(flushes_[0].va, 0x4000'0000u);
  EXPECT_GE(flushes_[0].last, 0x7FFF'FFFFu);
  EXPECT_EQ(flushes_[0].table_levels & 0x4u, 0x4u);
  EXPECT_TRUE(flushes_[0].tables_freed);
}

// --------------------------------------------------------- unmap

TEST_F(PageTableX86_64, UnmapStartingInsideA2MPageRemovesNothing) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x4020'0000, 0x20'0000, rw).has_value());
  EXPECT_EQ(t.unmap(0x20'1000, 0x1000), 0u);
  EXPECT_EQ(t.unmap(0x3F'F000, 0x2000), 0u);
  EXPECT_EQ(t.iova_to_phys(0x20'1000), 0x4020'1000u);
}

TEST_F(PageTableX86_64, UnmapEndingInsideA2MPageRemovesItWholeAndReportsMore) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x4020'0000, 0x20'0000, rw).has_value());
  EXPECT_EQ(t.unmap(0x20'0000, 0x1000), 0x20'0000u);
  EXPECT_EQ(t.iova_to_phys(0x3F'F000), std::nullopt);
}

TEST_F(PageTableX86_64, UnmapStopsAtTheFirstHole) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x1000, 0x1000, 0x3000, rw).has_value());
  ASSERT_TRUE(t.map(0x5000, 0x5000, 0x1000, rw).has_value());
  EXPECT_EQ(t.unmap(0x1000, 0x5000), 0x3000u);
  EXPECT_EQ(t.iova_to_phys(0x5000), 0x5000u);
  EXPECT_EQ(t.unmap(0x4000, 0x2000), 0u) << "starts in a hole";
}

TEST_F(PageTableX86_64, UnmapStopsAtAnEmptyTableItemAboveTheLeaves) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x3FFF'F000, 0x1000, 0x1000, rw).has_value());
  ASSERT_TRUE(t.map(0x8000'0000, 0x2000, 0x1000, rw).has_value());
  // [1G, 2G) has no PD at all: the walk stops at the empty PDPTE.
  EXPECT_EQ(t.unmap(0x3FFF'F000, 0x4000'2000), 0x1000u);
  EXPECT_EQ(t.iova_to_phys(0x8000'0000), 0x2000u);
}

TEST_F(PageTableX86_64, UnmapFreesATableOnlyWhenTheRangeCoversItsWholeSpan) {
  table_t& t = make(3);
  // oa 4K-aligned only: 512 4K pages filling one PT.
  ASSERT_TRUE(t.map(0x20'0000, 0x1000, 0x20'0000, rw).has_value());
  EXPECT_EQ(live(stats_), 4);
  EXPECT_EQ(t.unmap(0x20'0000, 0x1F'F000), 0x1F'F000u);
  EXPECT_EQ(live(stats_), 4);
  EXPECT_EQ(t.unmap(0x3F'F000, 0x1000), 0x1000u);
  EXPECT_EQ(live(stats_), 4) << "empty, but never covered by one unmap";
  ASSERT_TRUE(t.map(0x20'0000, 0x1000, 0x20'0000, rw).has_value());
  EXPECT_EQ(t.unmap(0x20'0000, 0x20'0000), 0x20'0000u);
  EXPECT_EQ(live(stats_), 3);
}

TEST_F(PageTableX86_64, UnmapFreesACoveredTableEvenWhenItThenStopsAtAHole) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x1000, 0x20'0000, rw).has_value());
  EXPECT_EQ(t.unmap(0x20'0000, 0x40'0000), 0x20'0000u);
  EXPECT_EQ(live(stats_), 3);
}

TEST_F(PageTableX86_64, TheGatherHoldsTheRemovedRangeAndLevels) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x4020'0000, 0x20'0000, rw).has_value());
  ASSERT_TRUE(t.map(0x40'0000, 0x9000, 0x1000, rw).has_value());
  genpt::gather g;
  EXPECT_EQ(t.unmap(0x20'0000, 0x20'1000, g), 0x20'1000u);
  EXPECT_EQ(g.va(), 0x20'0000u);
  EXPECT_EQ(g.last(), 0x40'0FFFu);
  EXPECT_EQ(g.leaf_levels(), 0x3u) << "a 2M leaf (level 1) and a 4K leaf (level 0)";
  EXPECT_EQ(g.table_levels(), 0x0u);
  EXPECT_FALSE(g.tables_freed()) << "the PT at 4M is only partly covered";
  flushes_.clear();
  t.sync(g);
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_EQ(flushes_[0].va, 0x20'0000u);
  EXPECT_EQ(flushes_[0].last, 0x40'0FFFu);
  EXPECT_EQ(flushes_[0].leaf_levels, 0x3u);
  EXPECT_EQ(flushes_[0].table_levels, 0x0u);
  EXPECT_FALSE(flushes_[0].tables_freed);
  EXPECT_TRUE(g.empty());
}

TEST_F(PageTableX86_64, AFreedTableIsReleasedOnlyBySync) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x60'0000, 0x1000, 0x20'0000, rw).has_value());
  const std::int64_t before = live(stats_);
  genpt::gather g;
  EXPECT_EQ(t.unmap(0x60'0000, 0x20'0000, g), 0x20'0000u);
  EXPECT_EQ(g.va(), 0x60'0000u);
  EXPECT_EQ(g.last(), 0x7F'FFFFu);
  EXPECT_EQ(g.leaf_levels(), 0x1u);
  EXPECT_EQ(g.table_levels(), 0x2u) << "the PDE pointing at the PT";
  EXPECT_TRUE(g.tables_freed());
  EXPECT_EQ(live(stats_), before) << "not before the flush";
  flushes_.clear();
  t.sync(g);
  EXPECT_EQ(live(stats_), before - 1);
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_TRUE(flushes_[0].tables_freed);
}

TEST_F(PageTableX86_64, UnmapOfAnInvalidRangeReturnsZero) {
  table_t& t = make(3);
  populate();
  const auto before = leaves();
  EXPECT_EQ(t.unmap(0x0, 0), 0u);
  EXPECT_EQ(t.unmap(0xFFFF'FFFF'FFFF'F000, 0x2000), 0u);
  EXPECT_EQ(t.unmap(0x0000'8000'0000'0000, 0x1000), 0u);
  EXPECT_EQ(t.unmap(0x7FFF'FFFF'F000, 0x2000), 0u);
  EXPECT_EQ(leaves(), before);
}

// ------------------------------------------------------------- lookup

TEST_F(PageTableX86_64, IovaToPhysTakesAnyAlignment) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x20'0000, 0x4020'0000, 0x20'0000, rw).has_value());
  ASSERT_TRUE(t.map(0x8000'0000, 0x1'0000'0000, 0x4000'0000, rw).has_value());
  ASSERT_TRUE(t.map(0xFFFF'8000'0000'3000, 0x7000, 0x1000, rw).has_value());
  EXPECT_EQ(t.iova_to_phys(0x2A'BCDE), 0x402A'BCDEu);
  EXPECT_EQ(t.iova_to_phys(0x3F'FFFF), 0x403F'FFFFu);
  EXPECT_EQ(t.iova_to_phys(0x40'0000), std::nullopt);
  EXPECT_EQ(t.iova_to_phys(0x1F'FFFF), std::nullopt);
  EXPECT_EQ(t.iova_to_phys(0xBFFF'FFFF), 0x1'3FFF'FFFFu);
  EXPECT_EQ(t.iova_to_phys(0x9234'5677), 0x1'1234'5677u);
  EXPECT_EQ(t.iova_to_phys(0xFFFF'8000'0000'3ABC), 0x7ABCu);
  EXPECT_EQ(t.iova_to_phys(0x0000'8000'0000'3ABC), std::nullopt) << "non-canonical";
}

TEST_F(PageTableX86_64, InfoReportsTheGeometry) {
  table_t& t4 = make(3);
  EXPECT_EQ(t4.info().pgsize_bitmap, 0x4020'1000u);
  EXPECT_EQ(t4.info().va_lg2, 48u);
  EXPECT_EQ(t4.info().oa_lg2, 52u);
  EXPECT_EQ(t4.info().top_level, 3u);
  table_t& t5 = make(4);
  EXPECT_EQ(t5.info().va_lg2, 57u);
  EXPECT_EQ(t5.info().top_level, 4u);
}

// ------------------------------------------------------ lifetime

TEST_F(PageTableX86_64, MoveConstructionTransfersEveryTable) {
  table_t& t = make(3);
  ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, rw).has_value());
  const std::int64_t tables = live(stats_);
  {
    table_t moved(std::move(t));
    EXPECT_EQ(moved.iova_to_phys(0x1000), 0x5000u);
    EXPECT_EQ(moved.hw_info().levels, 4u);
    EXPECT_EQ(live(stats_), tables);
  }
  EXPECT_EQ(live(stats_), 0) << "the new owner freed them";
  pt_.reset();  // the moved-from table frees nothing twice
  EXPECT_EQ(live(stats_), 0);
}

TEST_F(PageTableX86_64, MoveAssignmentFreesTheTargetsOldTables) {
  table_t& a = make(3);
  ASSERT_TRUE(a.map(0x1000, 0x5000, 0x1000, rw).has_value());
  x86_64::config c;
  auto b = table_t::create(c, genpt::heap_levels{&stats_},
                           genpt::test::recording_flush{genpt::test::recording_sink{&flushes_}});
  ASSERT_TRUE(b.has_value());
  ASSERT_TRUE(b->map(0x4000'0000, 0x0, 0x1000, rw).has_value());
  EXPECT_EQ(live(stats_), 8);
  *b = std::move(a);
  EXPECT_EQ(live(stats_), 4);
  EXPECT_EQ(b->iova_to_phys(0x1000), 0x5000u);
  EXPECT_EQ(b->iova_to_phys(0x4000'0000), std::nullopt);
}

TEST(PageTableX86_64Create, FailsWithNoMemoryWhenTheTopAllocationFails) {
  genpt::level_stats stats;
  genpt::fault_injecting<genpt::heap_levels> alloc{genpt::heap_levels{&stats}};
  alloc.fail_after(1);
  const auto r = genpt::page_table<x86_64, genpt::fault_injecting<genpt::heap_levels>>::create(
      x86_64::config{}, std::move(alloc));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::no_memory);
  EXPECT_EQ(stats.allocations.load(), 0);
  EXPECT_EQ(live(stats), 0);
}

TEST(PageTableX86_64Create, BadConfigIsRefusedBeforeAnyAllocation) {
  genpt::level_stats stats;
  x86_64::config c;
  c.top_level = 5;
  const auto r = genpt::page_table<x86_64>::create(c, genpt::heap_levels{&stats});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::not_supported);
  EXPECT_EQ(stats.allocations.load(), 0);
}

}  // namespace
