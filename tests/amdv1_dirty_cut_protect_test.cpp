// tests/amdv1_dirty_cut_protect_test.cpp - dirty tracking, cut and protect
// on AMDv1 tables: the D bit checked descriptor by descriptor against
// values written out from the spec (the typed suites run in
// amdv1_battery_test.cpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "genpt/format/amdv1.hpp"
#include "genpt/page_table.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::amdv1;
using genpt::test::span_log;

// AMD IOMMU spec §2.2.3, I/O Page Table Entry: PR bit 0, D bit 6,
// NextLevel 11:9, address 51:12, IR bit 61, IW bit 62.
constexpr std::uint64_t kD = std::uint64_t{1} << 6;

class amdv1_dirty_bits : public ::testing::Test {
 protected:
  using table = genpt::page_table<amdv1>;
  void SetUp() override {
    amdv1::config c;
    c.starting_level = 2;
    auto r = table::create(c, genpt::heap_levels{&stats_});
    ASSERT_TRUE(r);
    pt_.emplace(std::move(*r));
  }
  void TearDown() override {
    pt_.reset();
    EXPECT_EQ(stats_.live_tables.load(), 0);
  }
  std::vector<std::uint64_t> words(std::uint64_t va, std::uint64_t len) {
    return genpt::test::leaf_words(*pt_, va, len);
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> harvest(std::uint64_t va, std::uint64_t len) {
    span_log log;
    genpt::gather g;
    EXPECT_TRUE(pt_->read_and_clear_dirty(va, len, log, g));
    pt_->sync(g);
    return log.spans;
  }
  genpt::level_stats stats_;
  std::optional<table> pt_;
};

TEST_F(amdv1_dirty_bits, MappingsStartCleanAndSetDirtySetsBit6) {
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x1000, genpt::prot::read | genpt::prot::write));
  // PR | IR | IW | oa 0x40000, NextLevel 0.
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x6000'0000'0004'0001});
  EXPECT_TRUE(harvest(0, 0x100000).empty());
  ASSERT_TRUE(pt_->set_dirty(0x10000));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x6000'0000'0004'0041});
  EXPECT_EQ(harvest(0, 0x100000), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0x10000, 0x1000}}));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x6000'0000'0004'0001});
}

// A 16K page is four replicated items: PR | NextLevel 7 | address field
// 0x41000 (OA 0x40000 with bit 12 = 1: size 2^(1 + first zero at 13) = 16K).
// The IOMMU may set D in any one of them; harvest ORs, then cleans all four.
TEST_F(amdv1_dirty_bits, DInAnyItemOfA16KPageReportsItAndCleansEveryItem) {
  constexpr std::uint64_t kItem = 0x6000'0000'0004'1E01;
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x4000, genpt::prot::read | genpt::prot::write));
  ASSERT_EQ(words(0x10000, 0x4000), std::vector<std::uint64_t>(4, kItem));
  for (std::uint64_t k = 0; k < 4; ++k) {
    ASSERT_TRUE(pt_->set_dirty(0x10000 + k * 0x1000 + 0x123));
    std::vector<std::uint64_t> want(4, kItem);
    want[k] |= kD;
    EXPECT_EQ(words(0x10000, 0x4000), want) << "item " << k;
    EXPECT_EQ(harvest(0x10000, 0x4000),
              (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0x10000, 0x4000}}));
    EXPECT_EQ(words(0x10000, 0x4000), std::vector<std::uint64_t>(4, kItem)) << "item " << k;
  }
}

// Upstream's span for a contiguous entry looks one item short (reference
// §1.7): a harvest of items 1..2 of a dirty 16K page reports all of 1..2.
TEST_F(amdv1_dirty_bits, ClippedContiguousSpanIsNotOneItemShort) {
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x4000, genpt::prot::read | genpt::prot::write));
  ASSERT_TRUE(pt_->set_dirty(0x13000));
  EXPECT_EQ(harvest(0x11000, 0x2000),
            (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0x11000, 0x2000}}));
}

// D lives in attrs (attrs::dirty), so a cut carries it into every piece;
// a D set in only one item of a sized page is carried too.
TEST_F(amdv1_dirty_bits, CutOfAPageDirtyInOneItemLeavesEveryPieceDirty) {
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x4000, genpt::prot::read | genpt::prot::write));
  ASSERT_TRUE(pt_->set_dirty(0x13000));
  ASSERT_TRUE(pt_->cut(0x11000));
  // 4K | 4K | 8K (NextLevel 7, bit 12 clear), each with D.
  EXPECT_EQ(words(0x10000, 0x4000),
            (std::vector<std::uint64_t>{0x6000'0000'0004'0041, 0x6000'0000'0004'1041,
                                        0x6000'0000'0004'2E41, 0x6000'0000'0004'2E41}));
}

// A 1T page (two replicated items at AMD level 4) cannot be cut: no 512G
// page exists to split it into. Nothing changes.
TEST_F(amdv1_dirty_bits, CutOfA1TPageIsNotSupported) {
  amdv1::config c;
  c.starting_level = 5;
  auto r = table::create(c, genpt::heap_levels{&stats_});
  ASSERT_TRUE(r);
  table& t = *r;
  ASSERT_TRUE(t.map(0, 0, std::uint64_t{1} << 40, genpt::prot::read));
  std::vector<std::uint64_t> before;
  t.for_each_item(0, 1, [&](const genpt::item_view& it) { before.push_back(it.word); });
  EXPECT_EQ(t.cut(std::uint64_t{1} << 39).error(), genpt::errc::not_supported);
  std::vector<std::uint64_t> after;
  t.for_each_item(0, 1, [&](const genpt::item_view& it) { after.push_back(it.word); });
  EXPECT_EQ(after, before);
  // PR | NextLevel 7 | IR, address ones 38..12: 0x2000'007F'FFFF'FE01.
  EXPECT_EQ(after.back(), 0x2000'007F'FFFF'FE01u);
}

}  // namespace
