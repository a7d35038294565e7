// exactness_map_run_test.cpp - the words a run of single-page leaves holds.
//
// map() writes a run of 4K leaves by adding the encoded page step to the
// previous item when the format's oa encoding is linear over the run, and
// item by item when it is not (ARMv8 FEAT_LPA2 moves OA[51:50] to bits 9:8,
// so a run whose oa crosses 2^50 is not). A run of same-size multi-item
// leaves (ARMv8 contiguous, RISC-V Svnapot, AMDv1 NextLevel=7) is written
// the same way, one leaf word per leaf plus the format's item step, with
// the same fallback. Every expected word here is
// written by hand from the spec's descriptor layout, never from genpt's
// encode hooks.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::prot;
using genpt::test::leaf_words;

constexpr std::uint64_t page = 4096;
constexpr prot rw = prot::read | prot::write;

// SDM Vol. 3A Table 4-20 (PTE): P (bit 0), R/W (1), U/S (2), A (5), D (6);
// address bits 51:12. genpt's prot::read|write: P, R/W, U/S (no priv), A,
// and D pre-set (docs/formats.md).
constexpr std::uint64_t x86_rw_user = 0x1 | 0x2 | 0x4 | 0x20 | 0x40;

TEST(MapRun, X86RunOf256PagesHoldsOneFrameEach) {
  auto t = genpt::page_table<genpt::x86_64>::create({.top_level = 3});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x4000'0000, oa = 0x1'2345'6000;  // oa not 2M-aligned: 4K leaves only
  ASSERT_TRUE(t->map(va, oa, 256 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 256 * page);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k) EXPECT_EQ(w[k], (oa + k * page) | x86_rw_user) << k;
}

TEST(MapRun, X86RunOnAWarmTableHoldsOneFrameEach) {
  auto t = genpt::page_table<genpt::x86_64>::create({.top_level = 3});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x4000'0000, oa = 0x8'0000'3000;
  ASSERT_TRUE(t->map(va, oa, 512 * page, rw));  // makes the leaf table
  ASSERT_EQ(t->unmap(va, 512 * page), 512 * page);
  ASSERT_TRUE(t->map(va + 3 * page, oa, 300 * page, rw));  // not fresh: the empty check runs
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 512 * page);
  ASSERT_EQ(w.size(), 300u);
  for (unsigned k = 0; k < 300; ++k) EXPECT_EQ(w[k], (oa + k * page) | x86_rw_user) << k;
}

// The run is checked and written a group of 8 items at a time, then the
// last count % 8 items together: an occupied item in the first group, at a
// group's first or last item, or in that tail must stop the run before any
// of its own items change, and the failed map must leave every word as it
// was. 253 pages: 31 groups (items 0-247) and a tail of 5 (248-252).
TEST(MapRun, X86RunOverAnOccupiedPageFailsAndLeavesTheTableAsItWas) {
  for (const unsigned at : {0u, 5u, 7u, 8u, 13u, 247u, 248u, 250u, 252u}) {
    auto t = genpt::page_table<genpt::x86_64>::create({.top_level = 3});
    ASSERT_TRUE(t);
    const std::uint64_t va = 0x4000'0000, oa = 0x1'2345'6000;
    ASSERT_TRUE(t->map(va + at * page, 0x7777'7000, page, rw));
    const std::vector<std::uint64_t> before = leaf_words(*t, va, 512 * page);
    ASSERT_EQ(before, std::vector<std::uint64_t>{0x7777'7000u | x86_rw_user}) << at;
    EXPECT_EQ(t->map(va, oa, 253 * page, rw).error(), genpt::errc::address_in_use) << at;
    EXPECT_EQ(leaf_words(*t, va, 512 * page), before) << at;
  }
}

// SDM Vol. 3A Table 4-17 (PDE mapping a 2-MByte page): PS (bit 7) set,
// address bits 51:21. A level-1 item holding an empty leaf table (mapped,
// then unmapped) is nonzero, so the one-pass run stops there; that item is
// then replaced by a 2M leaf with full checks and the run goes on.
TEST(MapRun, X86Run2MOverAnEmptyLeafTableReplacesIt) {
  auto t = genpt::page_table<genpt::x86_64>::create({.top_level = 3});
  ASSERT_TRUE(t);
  constexpr std::uint64_t m2 = 0x20'0000;
  const std::uint64_t va = 0x4000'0000, oa = 0x8'4000'0000;
  ASSERT_TRUE(t->map(va + 2 * m2 + 5 * page, 0x5000, page, rw));
  ASSERT_EQ(t->unmap(va + 2 * m2 + 5 * page, page), page);
  ASSERT_TRUE(t->map(va, oa, 4 * m2, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 4 * m2);
  ASSERT_EQ(w.size(), 4u);
  for (unsigned k = 0; k < 4; ++k) EXPECT_EQ(w[k], (oa + k * m2) | x86_rw_user | 0x80) << k;
  EXPECT_EQ(t->iova_to_phys(va + 2 * m2 + 5 * page), oa + 2 * m2 + 5 * page);
}

// AMD IOMMU spec Table 15 (PTE): PR (bit 0), NextLevel 11:9 = 0 for a 4K
// leaf, address 51:12, IR (61), IW (62).
constexpr std::uint64_t amd_pr_ir_iw = 0x1 | (std::uint64_t{1} << 61) | (std::uint64_t{1} << 62);

/// The 256 leaf items an AMDv1 map of 256 pages at va made, without what
/// genpt may add beyond the spec fields these tests check (the dirty bit,
/// bit 6, and the FC bit 60).
std::vector<std::uint64_t> amdv1_run_fields(std::uint64_t va, std::uint64_t oa) {
  auto t = genpt::page_table<genpt::amdv1>::create(genpt::amdv1::config{.starting_level = 3});
  EXPECT_TRUE(t && t->map(va, oa, 256 * page, rw));
  if (!t) return {};
  std::vector<std::uint64_t> w = leaf_words(*t, va, 256 * page);
  for (std::uint64_t& x : w) x &= ~((std::uint64_t{1} << 6) | (std::uint64_t{1} << 60));
  return w;
}

TEST(MapRun, Amdv1RunOf256PagesHoldsOneFrameEach) {
  const std::uint64_t va = 0x20'0000'0000, oa = 0x7'6543'1000;
  const std::vector<std::uint64_t> w = amdv1_run_fields(va, oa);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k) EXPECT_EQ(w[k], (oa + k * page) | amd_pr_ir_iw) << k;
}

// Arm ARM D8.3 (VMSAv8-64 descriptors), 4K granule, stage 1 page:
// bits 1:0 = 0b11, AttrIndx 4:2 (0: genpt's Normal NC for prot without
// cache/mmio), AP[1] bit 6 (EL0 access: no prot::priv), AF bit 10, nG bit
// 11, OA[47:12] in bits 47:12; with FEAT_LPA2 (DS=1) OA[49:12] in bits
// 49:12 and OA[51:50] in bits 9:8 (no SH field).
constexpr std::uint64_t arm_page_rw_el0 = 0x3 | (1u << 6) | (1u << 10) | (1u << 11);

std::uint64_t arm_lpa2_page(std::uint64_t oa) {
  return arm_page_rw_el0 | (oa & 0x0003'FFFF'FFFF'F000) | ((oa >> 50) & 0x3) << 8;
}

TEST(MapRun, Armv8Lpa2RunAcrossOa2Pow50KeepsEachItemsHighBits) {
  using F = genpt::armv8<12, 1>;
  auto t = genpt::page_table<F>::create(F::config{.va_lg2 = 48, .oa_lg2 = 52, .features = F::lpa2});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x1'0000'0000;
  // Half the run below 2^50, half above; va and oa differ mod 64K, so no
  // contiguous (bit 52) runs: 256 single-page leaves.
  const std::uint64_t oa = (std::uint64_t{1} << 50) - 127 * page;
  ASSERT_TRUE(t->map(va, oa, 256 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 256 * page);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k) EXPECT_EQ(w[k], arm_lpa2_page(oa + k * page)) << k;
  EXPECT_EQ(w[126] & (0x3u << 8), 0u);          // OA 2^50 - 4K: OA[51:50] = 0
  EXPECT_EQ(w[127] & (0x3u << 8), 0x1u << 8);   // OA 2^50: OA[51:50] = 0b01
  EXPECT_EQ(t->iova_to_phys(va + 127 * page + 5), oa + 127 * page + 5);
}

TEST(MapRun, Armv8Lpa2RunAboveOa2Pow50HoldsOneFrameEach) {
  using F = genpt::armv8<12, 1>;
  auto t = genpt::page_table<F>::create(F::config{.va_lg2 = 48, .oa_lg2 = 52, .features = F::lpa2});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x1'0000'0000;
  const std::uint64_t oa = (std::uint64_t{3} << 50) + 0x1234'5000;  // OA[51:50] = 0b11 throughout
  ASSERT_TRUE(t->map(va, oa, 256 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 256 * page);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k) EXPECT_EQ(w[k], arm_lpa2_page(oa + k * page)) << k;
}

TEST(MapRun, Armv8RunOf256PagesHoldsOneFrameEach) {
  using F = genpt::armv8<12, 1>;
  auto t = genpt::page_table<F>::create(F::config{});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x8000'0000, oa = 0x40'0000'1000;  // one page off 64K: no contiguous runs
  ASSERT_TRUE(t->map(va, oa, 256 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 256 * page);
  ASSERT_EQ(w.size(), 256u);
  // Without LPA2 bits 9:8 are SH: genpt writes outer shareable (0b10) for
  // Normal NC (docs/formats.md), so it is masked off here.
  for (unsigned k = 0; k < 256; ++k)
    EXPECT_EQ(w[k] & ~(std::uint64_t{0x3} << 8), arm_page_rw_el0 | (oa + k * page)) << k;
}

// Arm ARM D8.3: the Contiguous bit is bit 52; every item of a 4K-granule
// contiguous run holds its own page's OA.
constexpr std::uint64_t arm_contiguous = std::uint64_t{1} << 52;

TEST(MapRun, Armv8RunOfSixteenContiguousLeavesHoldsEachPagesOa) {
  using F = genpt::armv8<12, 1>;
  auto t = genpt::page_table<F>::create(F::config{});
  ASSERT_TRUE(t);
  // va and oa agree mod 64K, not mod 128K: sixteen 64K contiguous runs.
  const std::uint64_t va = 0x8000'0000, oa = 0x40'0001'0000;
  ASSERT_TRUE(t->map(va, oa, 256 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 256 * page);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k)
    EXPECT_EQ(w[k] & ~(std::uint64_t{0x3} << 8), arm_page_rw_el0 | arm_contiguous | (oa + k * page)) << k;
}

TEST(MapRun, Armv8Lpa2ContiguousLeavesAcrossOa2Pow50KeepEachItemsHighBits) {
  using F = genpt::armv8<12, 1>;
  auto t = genpt::page_table<F>::create(F::config{.va_lg2 = 48, .oa_lg2 = 52, .features = F::lpa2});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x1'0000'0000;
  // Eight 64K runs below 2^50, eight above (va ^ oa has bit 16 set).
  const std::uint64_t oa = (std::uint64_t{1} << 50) - 8 * 0x1'0000;
  const std::uint64_t va_odd = va + 0x1'0000;  // makes va ^ oa = 64K mod 128K
  ASSERT_TRUE(t->map(va_odd, oa, 256 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va_odd, 256 * page);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k) EXPECT_EQ(w[k], arm_lpa2_page(oa + k * page) | arm_contiguous) << k;
  EXPECT_EQ(w[127] & (0x3u << 8), 0u);         // OA 2^50 - 4K
  EXPECT_EQ(w[128] & (0x3u << 8), 0x1u << 8);  // OA 2^50
  EXPECT_EQ(t->iova_to_phys(va_odd + 128 * page + 7), oa + 128 * page + 7);
}

// RISC-V Svnapot: a 64 KiB NAPOT leaf is 16 identical PTEs with N (bit 63)
// and ppn[0][3:0] = 0b1000; 0xDF is V R W X U A D (riscv_format_test.cpp,
// NapotSixtyFourK).
TEST(MapRun, RiscvRunOfSixteenNapotLeavesRepeatsEachLeafsPte) {
  auto t = genpt::page_table<genpt::riscv>::create(
      {.levels = 3, .features = genpt::riscv::sign_extend | genpt::riscv::svnapot});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x4000'0000, oa = 0x8001'0000;  // va ^ oa: 64K-aligned only
  ASSERT_TRUE(t->map(va, oa, 256 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(*t, va, 256 * page);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k) {
    const std::uint64_t ppn = ((oa >> 12) + 16 * (k / 16)) | 0x8;
    EXPECT_EQ(w[k], (std::uint64_t{1} << 63) | (ppn << 10) | 0xDF) << k;
  }
  EXPECT_EQ(w[0], 0x8000'0000'2000'60DFu);  // riscv_format_test.cpp's worked value
}

// AMD IOMMU spec Table 15: a NextLevel=7 64K page has address bits 14:12
// set and bit 15 clear, NextLevel 11:9 = 7; all 16 items repeat it
// (amdv1_format_test.cpp, Page64KHasBits14To12Set).
TEST(MapRun, Amdv1RunOfSixteen64KLeavesRepeatsEachLeafsWord) {
  const std::uint64_t va = 0x20'0000'0000, oa = 0x7'6541'0000;  // va ^ oa: 64K-aligned only
  const std::vector<std::uint64_t> w = amdv1_run_fields(va, oa);
  ASSERT_EQ(w.size(), 256u);
  for (unsigned k = 0; k < 256; ++k)
    EXPECT_EQ(w[k], (oa + 0x1'0000 * (k / 16)) | 0x7000 | (0x7u << 9) | amd_pr_ir_iw) << k;
}

TEST(MapRun, ContiguousRunOverAnOccupiedLeafFailsAndLeavesTheTableAsItWas) {
  using F = genpt::armv8<12, 1>;
  auto t = genpt::page_table<F>::create(F::config{});
  ASSERT_TRUE(t);
  const std::uint64_t va = 0x8000'0000, oa = 0x40'0001'0000;
  ASSERT_TRUE(t->map(va + 200 * page, 0x9000'0000, page, rw));  // inside the 13th 64K run
  const std::vector<std::uint64_t> before = leaf_words(*t, va, 512 * page);
  EXPECT_EQ(t->map(va, oa, 256 * page, rw).error(), genpt::errc::address_in_use);
  EXPECT_EQ(leaf_words(*t, va, 512 * page), before);
}

}  // namespace
