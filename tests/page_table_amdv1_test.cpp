// tests/page_table_amdv1_test.cpp - page_table<amdv1>: contiguous (NextLevel
// 7) entries through map, unmap, iova_to_phys and the item/leaf visitors,
// the edges of the VA space at every starting level, the C-bit and FC on a
// live table, and growth of a dynamic top.
//
// Every test ends with the allocator's live-table count back at zero.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/page_table.hpp"

namespace {

using genpt::amdv1;
using genpt::entry_kind;
using genpt::errc;
using genpt::prot;
using table = genpt::page_table<amdv1>;
using leaf = genpt::leaf_view<amdv1::attrs>;
using word = std::uint64_t;

constexpr prot rw = prot::read | prot::write;
constexpr std::uint64_t k4 = 0x1000, k64 = 0x10000;

/// The error of a failed map; nullopt when it succeeded.
std::optional<errc> error_of(const genpt::result<void>& r) {
  if (r) return std::nullopt;
  return r.error();
}

std::vector<genpt::item_view> items(const table& t, std::uint64_t va, std::uint64_t len) {
  std::vector<genpt::item_view> out;
  t.for_each_item(va, len, [&](const genpt::item_view& v) { out.push_back(v); });
  return out;
}

std::vector<leaf> leaves(const table& t, std::uint64_t va, std::uint64_t len) {
  std::vector<leaf> out;
  t.for_each_leaf(va, len, [&](const leaf& v) { out.push_back(v); });
  return out;
}

std::vector<genpt::item_view> at_level(const std::vector<genpt::item_view>& all, unsigned level) {
  std::vector<genpt::item_view> out;
  for (const auto& v : all)
    if (v.level == level) out.push_back(v);
  return out;
}

class Amdv1Table : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(stats.live_tables.load(), 0);
    EXPECT_EQ(stats.live_bytes.load(), 0);
  }
  genpt::result<table> create(const amdv1::config& c) {
    return table::create(c, genpt::heap_levels{&stats});
  }
  genpt::level_stats stats;
};

/// A fixed top at starting level GetParam() (1..5), decoding all it can.
class Amdv1FixedTop : public Amdv1Table, public ::testing::WithParamInterface<unsigned> {
 protected:
  unsigned level() const { return GetParam(); }
  /// VA bits the top decodes: 30, 39, 48, 57, 64 for levels 1..5.
  unsigned span() const {
    const unsigned spans[6] = {0, 30, 39, 48, 57, 64};
    return spans[GetParam()];
  }
  std::uint64_t va_end() const { return span() == 64 ? 0 : std::uint64_t{1} << span(); }
};

TEST_P(Amdv1FixedTop, CreateAllocatesOne4KTopAndReportsTheMode) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(stats.live_tables.load(), 1);
  EXPECT_EQ(stats.live_bytes.load(), 4096);
  EXPECT_EQ(t->info().top_level, level());
  EXPECT_EQ(t->info().va_lg2, span());
  EXPECT_EQ(t->hw_info().mode, level() + 1);
  EXPECT_NE(t->hw_info().root, 0u);
  EXPECT_EQ(t->hw_info().root % 4096, 0u);
}

TEST_P(Amdv1FixedTop, Aligned64KRangeBecomesOneSixteenItemEntry) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  const auto lv0 = at_level(items(*t, k64, k64), 0);
  ASSERT_EQ(lv0.size(), 16u);
  for (unsigned k = 0; k < 16; ++k) {
    EXPECT_EQ(lv0[k].word, 0x6000'0000'0005'7E01u) << k;  // PR | NL 7 | 0x50000 + ones 14:12 | IR | IW
    EXPECT_EQ(lv0[k].index, 16 + k);
    EXPECT_EQ(lv0[k].kind, entry_kind::leaf);
  }
  const auto l = leaves(*t, k64, k64);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].va, k64);
  EXPECT_EQ(l[0].oa, 0x5'0000u);
  EXPECT_EQ(l[0].size_lg2, 16u);
  EXPECT_EQ(l[0].level, 0u);
}

TEST_P(Amdv1FixedTop, TableItemsNameTheirChildLevel) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(0, 0x5000, k4, rw));
  const auto all = items(*t, 0, k4);
  ASSERT_EQ(all.size(), level() + 1);
  for (const auto& v : all) {
    if (v.level == 0) {
      EXPECT_EQ(v.word, 0x6000'0000'0000'5001u);
      continue;
    }
    EXPECT_EQ(v.kind, entry_kind::table);
    // PR, IR, IW and NextLevel = this level (the AMD level of the child).
    EXPECT_EQ(v.word & 0xFFF0'0000'0000'0FFFu, 0x6000'0000'0000'0001u | (word{v.level} << 9)) << v.level;
  }
}

TEST_P(Amdv1FixedTop, IovaToPhysReportsOffsetsWithinTheWholeEntry) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  EXPECT_EQ(t->iova_to_phys(k64), 0x5'0000u);
  EXPECT_EQ(t->iova_to_phys(0x1'ABCD), 0x5'ABCDu);
  EXPECT_EQ(t->iova_to_phys(0x1'FFFF), 0x5'FFFFu);
  EXPECT_EQ(t->iova_to_phys(0x2'0000), std::nullopt);
}

TEST_P(Amdv1FixedTop, UnmapRemovesTheWholeEntry) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  EXPECT_EQ(t->unmap(k64, k4), k64);
  EXPECT_TRUE(at_level(items(*t, k64, k64), 0).empty());
  EXPECT_EQ(t->iova_to_phys(0x1'F000), std::nullopt);
}

TEST_P(Amdv1FixedTop, UnmapStartingInsideAnEntryRemovesNothing) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  EXPECT_EQ(t->unmap(0x1'4000, k4), 0u);
  EXPECT_EQ(at_level(items(*t, k64, k64), 0).size(), 16u);
  EXPECT_EQ(t->iova_to_phys(0x1'4000), 0x5'4000u);
}

TEST_P(Amdv1FixedTop, MapOverPartOfAnEntryIsAddressInUse) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  EXPECT_EQ(error_of(t->map(0x1'4000, 0x9'0000, k4, rw)), errc::address_in_use);
  EXPECT_EQ(t->iova_to_phys(0x1'4000), 0x5'4000u);
  EXPECT_EQ(leaves(*t, k64, k64).size(), 1u);
}

TEST_P(Amdv1FixedTop, UnalignedStartClimbsThroughTheSizes) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(0x1000, 0x4'1000, 0xF000, rw));
  const auto l = leaves(*t, 0, k64);
  ASSERT_EQ(l.size(), 4u);
  const std::uint64_t want_va[4] = {0x1000, 0x2000, 0x4000, 0x8000};
  const unsigned want_lg2[4] = {12, 13, 14, 15};
  for (unsigned k = 0; k < 4; ++k) {
    EXPECT_EQ(l[k].va, want_va[k]);
    EXPECT_EQ(l[k].oa, 0x4'0000 + want_va[k]);
    EXPECT_EQ(l[k].size_lg2, want_lg2[k]);
  }
  EXPECT_EQ(t->unmap(0x1000, 0xF000), 0xF000u);
}

TEST_P(Amdv1FixedTop, EverySizeMapsAsOneEntryAndUnmapsWhole) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  const std::uint64_t sizes = t->info().pgsize_bitmap;
  for (unsigned s = 12; s < 64; ++s) {
    if (!((sizes >> s) & 1)) continue;
    const std::uint64_t size = std::uint64_t{1} << s;
    const unsigned leaf_level = (s - 12) / 9;  // 12 + 9 * level <= s < 12 + 9 * (level + 1)
    ASSERT_TRUE(t->map(size, size, size, rw)) << s;
    const auto l = leaves(*t, size, size);
    ASSERT_EQ(l.size(), 1u) << s;
    EXPECT_EQ(l[0].size_lg2, s);
    EXPECT_EQ(l[0].level, leaf_level) << s;
    EXPECT_EQ(l[0].oa, size);
    EXPECT_EQ(at_level(items(*t, size, size), leaf_level).size(),
              std::size_t{1} << (s - 12 - 9 * leaf_level))
        << s;
    EXPECT_EQ(t->iova_to_phys(size + size - 1), size + size - 1) << s;
    EXPECT_EQ(t->unmap(size, size), size) << s;
    EXPECT_EQ(t->iova_to_phys(size), std::nullopt) << s;
  }
}

TEST_P(Amdv1FixedTop, FirstAndLastPageOfTheVaSpaceMap) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  const std::uint64_t last_page = va_end() - k4;  // wraps to 0xFFFF'FFFF'FFFF'F000 at 64 bits
  ASSERT_TRUE(t->map(0, 0x7000, k4, rw));
  ASSERT_TRUE(t->map(last_page, 0x8000, k4, rw));
  EXPECT_EQ(t->iova_to_phys(0x123), 0x7123u);
  EXPECT_EQ(t->iova_to_phys(last_page + 0xFFF), 0x8FFFu);
  EXPECT_EQ(t->unmap(last_page, k4), k4);
  EXPECT_EQ(t->unmap(0, k4), k4);
}

TEST_P(Amdv1FixedTop, LastSixtyFourKOfTheVaSpaceIsOneEntry) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  const std::uint64_t va = va_end() - k64;
  ASSERT_TRUE(t->map(va, 0x5'0000, k64, rw));
  const auto lv0 = at_level(items(*t, va, k64), 0);
  ASSERT_EQ(lv0.size(), 16u);
  EXPECT_EQ(lv0.front().index, 496u);
  EXPECT_EQ(lv0.back().index, 511u);
  EXPECT_EQ(lv0.back().word, 0x6000'0000'0005'7E01u);
  EXPECT_EQ(t->iova_to_phys(va + 0xFFFF), 0x5'FFFFu);
  EXPECT_EQ(t->unmap(va, k64), k64);
}

TEST_P(Amdv1FixedTop, ContiguousLeafReplacesAnEmptySubtree) {
  auto t = create({.starting_level = level()});
  ASSERT_TRUE(t.has_value());
  const std::uint64_t m2 = 0x20'0000;
  ASSERT_TRUE(t->map(m2, 0x5000, k4, rw));  // builds a level-0 table under 2M item 1
  ASSERT_EQ(t->unmap(m2, k4), k4);         // partly covered: that table stays, empty
  const auto before = stats.live_tables.load();
  ASSERT_TRUE(t->map(0, 0x40'0000, 2 * m2, rw));  // one 4M entry over items 0 and 1
  EXPECT_EQ(stats.live_tables.load(), before - 1);
  const auto l = leaves(*t, 0, 2 * m2);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].size_lg2, 22u);
  EXPECT_EQ(l[0].level, 1u);
  const auto lv1 = at_level(items(*t, 0, 2 * m2), 1);
  ASSERT_EQ(lv1.size(), 2u);
  EXPECT_EQ(lv1[0].word, 0x6000'0000'005F'FE01u);  // PR | NL 7 | 0x400000 + ones 20:12 | IR | IW
  EXPECT_EQ(lv1[1].word, lv1[0].word);
}

TEST_P(Amdv1FixedTop, VaBeyondAFixedTopIsOutOfRange) {
  auto t = create({.starting_level = level()});
  if (span() == 64) {  // a 6-level table decodes every VA: the very last page maps
    ASSERT_TRUE(t.has_value());
    const genpt::va_t last_page = ~genpt::va_t{0} - k4 + 1;
    EXPECT_TRUE(t->map(last_page, 0x7000, k4, rw));
    EXPECT_EQ(t->iova_to_phys(~genpt::va_t{0}), std::optional<genpt::oa_t>{0x7FFF});
    EXPECT_EQ(t->unmap(last_page, k4), k4);
    return;
  }
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(error_of(t->map(va_end(), 0x7000, k4, rw)), errc::out_of_range);
  EXPECT_EQ(t->iova_to_phys(va_end()), std::nullopt);
  EXPECT_EQ(t->unmap(va_end(), k4), 0u);
  EXPECT_EQ(t->info().top_level, level());
}

INSTANTIATE_TEST_SUITE_P(StartingLevels, Amdv1FixedTop, ::testing::Values(1u, 2u, 3u, 4u, 5u),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                           return "Level" + std::to_string(i.param);
                         });

// ------------------------------------------------------------ one-offs --

TEST_F(Amdv1Table, A512GRangeBecomesTwo256GEntries) {
  auto t = create({.starting_level = 3});
  ASSERT_TRUE(t.has_value());
  const std::uint64_t g512 = std::uint64_t{1} << 39;
  ASSERT_TRUE(t->map(g512, g512, g512, rw));
  const auto l = leaves(*t, g512, g512);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].size_lg2, 38u);
  EXPECT_EQ(l[0].level, 2u);
  EXPECT_EQ(l[1].va, g512 + (g512 >> 1));
  EXPECT_EQ(t->unmap(g512, g512), g512);
}

TEST_F(Amdv1Table, EncryptTablesPutsTheCBitOnTablesAndNonMmioLeaves) {
  auto t = create({.starting_level = 2,
                   .oa_lg2 = 48,
                   .features = amdv1::encrypt_tables | amdv1::force_coherence,
                   .c_bit = 51});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(0, 0x5000, k4, rw));
  ASSERT_TRUE(t->map(k4, 0x6000, k4, rw | prot::mmio));
  for (const auto& v : items(*t, 0, k4)) {
    if (v.kind == entry_kind::table) {
      EXPECT_NE(v.word & 0x0008'0000'0000'0000u, 0u) << v.level;
    }
  }
  const auto lv0 = at_level(items(*t, 0, 2 * k4), 0);
  ASSERT_EQ(lv0.size(), 2u);
  EXPECT_EQ(lv0[0].word, 0x7008'0000'0000'5001u);  // PR | addr | C(51) | FC | IR | IW
  EXPECT_EQ(lv0[1].word, 0x7000'0000'0000'6001u);  // MMIO: no C-bit
  EXPECT_EQ(t->iova_to_phys(0x10), 0x5010u);
}

TEST_F(Amdv1Table, FixedTopCreateCanStillMapNearItsLimit) {
  auto t = create({.starting_level = 2, .va_lg2 = 36});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(stats.live_bytes.load(), 4096);
  const std::uint64_t g32 = std::uint64_t{1} << 35;
  ASSERT_TRUE(t->map(g32, g32, g32, rw));  // the upper half: one 32G entry of 32 items
  const auto l = leaves(*t, g32, g32);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].size_lg2, 35u);
  EXPECT_EQ(error_of(t->map(std::uint64_t{1} << 36, 0, k4, rw)), errc::out_of_range);
  EXPECT_EQ(t->unmap(g32, g32), g32);
}

/// Records what read_and_clear_dirty reports.
struct dirty_log {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  void record(std::uint64_t va, std::uint64_t len) { spans.emplace_back(va, len); }
};

TEST_F(Amdv1Table, SetDirtyMarksOneItemOfASizedPage) {
  auto t = create({.starting_level = 2});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  ASSERT_TRUE(t->set_dirty(0x1'7123));
  const auto lv0 = at_level(items(*t, k64, k64), 0);
  ASSERT_EQ(lv0.size(), 16u);
  for (unsigned k = 0; k < 16; ++k)
    EXPECT_EQ(lv0[k].word, k == 7 ? 0x6000'0000'0005'7E41u : 0x6000'0000'0005'7E01u) << k;  // D is bit 6
}

TEST_F(Amdv1Table, DirtyInAnyItemReportsAndCleansTheWholeSizedPage) {
  auto t = create({.starting_level = 2});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  ASSERT_TRUE(t->set_dirty(0x1'F000));  // the last item only
  dirty_log log;
  genpt::gather g;
  ASSERT_TRUE(t->read_and_clear_dirty(0, 0x10'0000, log, g));
  t->sync(g);
  ASSERT_EQ(log.spans.size(), 1u);
  EXPECT_EQ(log.spans[0].first, k64);
  EXPECT_EQ(log.spans[0].second, k64);
  for (const auto& v : at_level(items(*t, k64, k64), 0)) EXPECT_EQ(v.word, 0x6000'0000'0005'7E01u);
}

TEST_F(Amdv1Table, CutInsideASizedPageKeepsEveryTranslation) {
  auto t = create({.starting_level = 2});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(k64, 0x5'0000, k64, rw));
  ASSERT_TRUE(t->cut(0x1'4000));
  bool starts_at_cut = false;
  std::uint64_t covered = 0;
  for (const auto& l : leaves(*t, k64, k64)) {
    starts_at_cut |= l.va == 0x1'4000;
    covered += std::uint64_t{1} << l.size_lg2;
    EXPECT_EQ(l.oa, l.va + 0x4'0000);
  }
  EXPECT_TRUE(starts_at_cut);
  EXPECT_EQ(covered, k64);
  for (std::uint64_t va = k64; va < 2 * k64; va += k4) EXPECT_EQ(t->iova_to_phys(va + 0x5), va + 0x4'0005);
  EXPECT_EQ(t->unmap(0x1'4000, 3 * k64 / 4), 3 * k64 / 4);
  EXPECT_EQ(t->iova_to_phys(0x1'0000), 0x5'0000u);
}

TEST_F(Amdv1Table, DynamicTopGrowsToFitAVaAndKeepsOldMappings) {
  auto t = create({.starting_level = 1, .features = amdv1::dynamic_top});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(0, 0x5000, k4, rw));
  const std::uint64_t va = std::uint64_t{1} << 39;  // beyond a level-2 top (39 bits)
  ASSERT_TRUE(t->map(va, 0x6000, k4, rw));
  EXPECT_EQ(t->info().top_level, 3u);
  EXPECT_EQ(t->hw_info().mode, 4u);
  EXPECT_EQ(t->iova_to_phys(0x10), 0x5010u);
  EXPECT_EQ(t->iova_to_phys(va + 0x10), 0x6010u);
}

TEST_F(Amdv1Table, DynamicTopGrowsUntilTheLargestPageFits) {
  auto t = create({.starting_level = 2, .features = amdv1::dynamic_top});
  ASSERT_TRUE(t.has_value());
  const std::uint64_t t256 = std::uint64_t{1} << 48;
  ASSERT_TRUE(t->map(t256, t256, t256, rw));
  EXPECT_EQ(t->info().top_level, 4u);
  const auto l = leaves(*t, t256, t256);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].size_lg2, 48u);
  EXPECT_EQ(l[0].level, 4u);
}

// The VA a dynamic top may grow into but has not yet is unmapped, not
// outside the table: a visit over the whole growable space still sees the
// leaves of the current top.
TEST_F(Amdv1Table, VisitingTheWholeGrowableVaSeesTheCurrentTop) {
  auto t = create({.starting_level = 2, .features = amdv1::dynamic_top});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(0, 0x5000, k4, rw));
  const std::uint64_t half = std::uint64_t{1} << 63;
  EXPECT_EQ(leaves(*t, 0, half).size(), 1u);
  EXPECT_EQ(at_level(items(*t, 0, half), 0).size(), 1u);
}

TEST_F(Amdv1Table, DynamicTopStopsAtItsVaLimit) {
  auto t = create({.starting_level = 1, .va_lg2 = 40, .features = amdv1::dynamic_top});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(error_of(t->map(std::uint64_t{1} << 40, 0, k4, rw)), errc::out_of_range);
  ASSERT_TRUE(t->map((std::uint64_t{1} << 40) - k4, 0, k4, rw));
  EXPECT_EQ(t->info().top_level, 3u);
}

}  // namespace
