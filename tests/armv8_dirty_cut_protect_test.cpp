// tests/armv8_dirty_cut_protect_test.cpp - dirty tracking on ARMv8 tables:
// the DBM dirty state checked descriptor by descriptor against values
// written out from the Arm ARM (D8.5.4) (the typed suites run over every
// ARMv8 config, DBM on every granule and stage, in armv8_battery_test.cpp):
// stage 1 writable-clean = DBM (bit 51) with AP[2] (bit 7) set, dirty = AP[2]
// clear; stage 2 writable-clean = DBM with S2AP[1] (bit 7) clear, dirty =
// S2AP[1] set.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "genpt/format/armv8.hpp"
#include "genpt/page_table.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::test::span_log;

using spans = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

template <class Format>
class armv8_dirty_bits : public ::testing::Test {
 protected:
  using table = genpt::page_table<Format>;
  void make(unsigned features) {
    typename Format::config c;
    c.features = features;
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
  spans harvest(std::uint64_t va, std::uint64_t len) {
    span_log log;
    genpt::gather g;
    EXPECT_TRUE(pt_->read_and_clear_dirty(va, len, log, g));
    pt_->sync(g);
    return log.spans;
  }
  genpt::level_stats stats_;
  std::optional<table> pt_;
};

using s1_4k = armv8_dirty_bits<genpt::armv8_4k_s1>;
using s2_4k = armv8_dirty_bits<genpt::armv8_4k_s2>;
using s2_64k = armv8_dirty_bits<genpt::armv8_64k_s2>;

constexpr genpt::prot kRW = genpt::prot::read | genpt::prot::write;

// Stage 1 page, read|write from prot: valid|page (0x3), AP[1] EL0 (0x40),
// SH outer (0x200), AF (0x400), nG (0x800), DBM (bit 51); AP[2] clear, so
// a writable DBM page starts out dirty.
TEST_F(s1_4k, WritablePageStartsDirtyAndCleanSetsAp2) {
  make(genpt::armv8_4k_s1::dbm);
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x1000, kRW));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0008'0000'0004'0E43});
  EXPECT_EQ(harvest(0, 0x100000), (spans{{0x10000, 0x1000}}));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0008'0000'0004'0EC3});
  ASSERT_TRUE(pt_->set_dirty(0x10000));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0008'0000'0004'0E43});
}

// A 64K contiguous run: 16 pages with Contiguous (bit 52), each with its own
// OA. Clearing AP[2] in any one reports the whole 64K and sets AP[2] in all.
TEST_F(s1_4k, AnyPageOfAContiguousRunReportsTheRunAndCleansAllSixteen) {
  make(genpt::armv8_4k_s1::dbm);
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x10000, kRW));
  harvest(0x10000, 0x10000);
  std::vector<std::uint64_t> clean;
  for (std::uint64_t k = 0; k < 16; ++k) clean.push_back(0x0018'0000'0004'0EC3 + k * 0x1000);
  ASSERT_EQ(words(0x10000, 0x10000), clean);
  for (std::uint64_t k = 0; k < 16; ++k) {
    ASSERT_TRUE(pt_->set_dirty(0x10000 + k * 0x1000));
    std::vector<std::uint64_t> want = clean;
    want[k] &= ~std::uint64_t{0x80};
    EXPECT_EQ(words(0x10000, 0x10000), want) << "page " << k;
    EXPECT_EQ(harvest(0x10000, 0x10000), (spans{{0x10000, 0x10000}})) << "page " << k;
    EXPECT_EQ(words(0x10000, 0x10000), clean) << "page " << k;
  }
}

// A read-only page has no DBM: the hardware faults a write, it never
// becomes dirty; set_dirty says so instead of pretending.
TEST_F(s1_4k, ReadOnlyPageWithoutDbmCannotBeDirtied) {
  make(genpt::armv8_4k_s1::dbm);
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x1000, genpt::prot::read));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0000'0000'0004'0EC3});
  EXPECT_EQ(pt_->set_dirty(0x10000).error(), genpt::errc::not_supported);
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0000'0000'0004'0EC3});
  EXPECT_TRUE(harvest(0, 0x100000).empty());
}

TEST_F(s1_4k, WithoutDbmTrackingIsNotSupported) {
  make(0);
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x1000, kRW));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0000'0000'0004'0E43});
  span_log log;
  genpt::gather g;
  EXPECT_EQ(pt_->read_and_clear_dirty(0, 0x100000, log, g).error(), genpt::errc::not_supported);
  EXPECT_EQ(pt_->set_dirty(0x10000).error(), genpt::errc::not_supported);
}

// Stage 2 page: valid|page (0x3), MemAttr Normal NC 0b0101 (0x14), S2AP
// read (0x40) and write (0x80), SH outer (0x200), AF (0x400), DBM: starts
// dirty (S2AP[1] set); clean clears S2AP[1]; set_dirty sets it again.
TEST_F(s2_4k, CleanClearsS2apWriteAndSetDirtySetsIt) {
  make(genpt::armv8_4k_s2::dbm);
  ASSERT_TRUE(pt_->map(0x10000, 0x40000, 0x1000, kRW));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0008'0000'0004'06D7});
  EXPECT_EQ(harvest(0, 0x100000), (spans{{0x10000, 0x1000}}));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0008'0000'0004'0657});
  ASSERT_TRUE(pt_->set_dirty(0x10000));
  EXPECT_EQ(words(0x10000, 0x1000), std::vector<std::uint64_t>{0x0008'0000'0004'06D7});
}

// 64K granule, stage 2, a 2M contiguous run of 32 pages: dirtying the last
// page reports the run; a harvest clipped to pages 1..30 reports exactly
// those (not one page short, reference §1.7) and cleans all 32.
TEST_F(s2_64k, ClippedHarvestOfAContiguousRunIsExactAndCleansAll) {
  make(genpt::armv8_64k_s2::dbm);
  ASSERT_TRUE(pt_->map(0x20'0000, 0x400'0000, 0x20'0000, kRW));
  harvest(0x20'0000, 0x20'0000);
  std::vector<std::uint64_t> clean;
  for (std::uint64_t k = 0; k < 32; ++k) clean.push_back(0x0018'0000'0400'0657 + k * 0x1'0000);
  ASSERT_EQ(words(0x20'0000, 0x20'0000), clean);
  ASSERT_TRUE(pt_->set_dirty(0x3F'0000));
  EXPECT_EQ(harvest(0x21'0000, 30 * 0x1'0000), (spans{{0x21'0000, 30 * 0x1'0000}}));
  EXPECT_EQ(words(0x20'0000, 0x20'0000), clean);
}

// A cut of a run dirty in one page only keeps every piece dirty.
TEST_F(s2_64k, CutOfARunDirtyInOnePageKeepsEveryPieceDirty) {
  make(genpt::armv8_64k_s2::dbm);
  ASSERT_TRUE(pt_->map(0x20'0000, 0x400'0000, 0x20'0000, kRW));
  harvest(0x20'0000, 0x20'0000);
  ASSERT_TRUE(pt_->set_dirty(0x3F'0000));
  ASSERT_TRUE(pt_->cut(0x21'0000));
  for (const std::uint64_t w : words(0x20'0000, 0x20'0000)) {
    EXPECT_EQ(w & 0x0010'0000'0000'0000, 0u) << "no page is contiguous any more";
    EXPECT_EQ(w & 0x80, 0x80u) << std::hex << w;
  }
}

}  // namespace
