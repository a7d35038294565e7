// walk_tree_test.cpp - genpt/walk/tree.hpp over hand-written memory.
//
// Every image here is written word by word from the specifications (Intel
// SDM Vol. 3A §4.5 Tables 4-14..4-20; AMD IOMMU spec §2.2.3), never by
// genpt's builder, and every expectation is a raw descriptor oa, index or
// va computed by hand: what the hardware would read, not genpt's decode.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "genpt/walk/tree.hpp"
#include "genpt/walk/walk.hpp"

namespace {

using genpt::item_kind;
using genpt::oa_t;

/// Words at oa 0 .. 8 * n, host order (span_memory_rw reads them as words).
struct words {
  explicit words(std::size_t n) : w(n, 0) {}
  std::vector<std::uint64_t> w;
  void set(oa_t oa, std::uint64_t v) { w.at(oa / 8) = v; }
  genpt::span_memory_rw mem() { return genpt::span_memory_rw(w.data(), w.size(), 0); }
};

struct seen {
  unsigned level;
  std::uint64_t index;
  oa_t item_oa;
  std::uint64_t va;
  item_kind kind;
  genpt::fault_kind fault;
};

template <class Format, class M>
std::vector<seen> visit(const typename genpt::hw_walker<Format>::regs& r, oa_t root, M& m,
                        genpt::tree_summary* sum = nullptr, genpt::tree_limits lim = {}) {
  std::vector<seen> out;
  const auto s = genpt::visit_tree<Format>(
      r, root, m,
      [&](const genpt::tree_item& it) {
        out.push_back({it.level, it.index, it.item_oa, it.va, it.d.kind, it.d.fault});
      },
      lim);
  if (sum) *sum = s;
  return out;
}

// x86-64, 4-level: CR3 = 0x1000. PML4E[0] -> PDPT 0x2000 (P|RW = 0x3);
// PML4E[511] -> PDPT 0x3000; PDPTE 0x2000[1] -> a table at 0x9000000 (not
// in memory); PDPTE 0x3000[511] = a 1 GiB page at 0x40000000 (P|PS = 0x81);
// PDPTE 0x2000[2] = a 1 GiB page with bit 13 set (reserved, Table 4-16).
// Checks: the table pointer outside memory yields one bus_error item at
// its table's first item oa and no more reads there; the reserved page is
// reported bad, not followed; the top-half va is canonical (bits 63:48 =
// bit 47 = 1).
TEST(WalkTree, ReportsUnreadableTableOnceAndCanonicalUpperHalf) {
  words w(0x4000 / 8);
  w.set(0x1000 + 0 * 8, 0x2003);
  w.set(0x1000 + 511 * 8, 0x3003);
  w.set(0x2000 + 1 * 8, 0x900'0003);
  w.set(0x2000 + 2 * 8, 0x8000'0081 | (1u << 13));
  w.set(0x3000 + 511 * 8, 0x4000'0081);
  auto m = w.mem();
  genpt::tree_summary sum;
  const auto v = visit<genpt::x86_64>({}, 0x1000, m, &sum);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[0].item_oa, 0x1000u);
  EXPECT_EQ(v[0].kind, item_kind::table);
  EXPECT_EQ(v[1].item_oa, 0x2008u);
  EXPECT_EQ(v[1].kind, item_kind::table);
  EXPECT_EQ(v[1].va, 0x4000'0000u);  // PDPTE index 1: va bits 38:30 = 1
  EXPECT_EQ(v[2].item_oa, 0x900'0000u);  // PD[0] at the pointer: refused
  EXPECT_EQ(v[2].kind, item_kind::bad);
  EXPECT_EQ(v[2].fault, genpt::fault_kind::bus_error);
  EXPECT_EQ(v[3].item_oa, 0x2010u);
  EXPECT_EQ(v[3].kind, item_kind::bad);
  EXPECT_EQ(v[3].fault, genpt::fault_kind::reserved_bit);
  EXPECT_EQ(v[4].item_oa, 0x1000u + 511 * 8);
  EXPECT_EQ(v[4].va, 0xffff'ff80'0000'0000u);  // index 511 << 39, sign-extended from bit 47
  EXPECT_EQ(v[5].item_oa, 0x3000u + 511 * 8);
  EXPECT_EQ(v[5].kind, item_kind::leaf);
  EXPECT_EQ(v[5].va, 0xffff'ffff'c000'0000u);
  // PML4 512 + PDPT 0x2000 512 + 1 refused read + PDPT 0x3000 512.
  EXPECT_EQ(sum.reads, 512u * 3 + 1);
  EXPECT_FALSE(sum.truncated);
}

// x86-64: every PML4E, PDPTE and PDE points back at CR3's own page (a
// cyclic, exponential graph: 512^3 page-table visits). Checks: the visit
// stops at max_reads, says truncated, and never reads more.
TEST(WalkTree, SelfReferencingTablesStopAtTheReadBound) {
  words w(0x2000 / 8);
  for (unsigned i = 0; i < 512; ++i) w.set(0x1000 + i * 8, 0x1003);  // P|RW -> 0x1000
  auto m = w.mem();
  genpt::tree_summary sum;
  genpt::tree_limits lim;
  lim.max_reads = 10'000;
  const auto v = visit<genpt::x86_64>({}, 0x1000, m, &sum, lim);
  EXPECT_TRUE(sum.truncated);
  EXPECT_EQ(sum.reads, 10'000u);
  EXPECT_EQ(v.size(), 10'000u);
  // Depth is the level count: the PTE level reads 0x1003 as a 4K page.
  EXPECT_EQ(v[3].level, 0u);
  EXPECT_EQ(v[3].kind, item_kind::leaf);
}

// AMD IOMMU, DTE Mode 3: root 0x1000. L3 entry [1] = PR | NextLevel 1
// (bits 11:9 = 001b, skipping level 2) -> 0x2000 | IR | IW; L1 entry [5] =
// a 4 KiB page at 0x7000 (NextLevel 0). Checks: the L1 item's va is
// 1 << 30 | 5 << 12 (the skipped level's va bits zero, AMD §2.2.3), and
// the L3 entry with NextLevel 3 (not below its own level) is bad
// reserved_bit (illegal NextLevel).
TEST(WalkTree, AmdSkippedLevelHasZeroVaBitsAndIllegalNextLevelIsBad) {
  words w(0x3000 / 8);
  const std::uint64_t ir_iw = std::uint64_t{3} << 61;
  w.set(0x1000 + 1 * 8, 0x2000 | (1u << 9) | 1 | ir_iw);
  w.set(0x1000 + 2 * 8, 0x2000 | (3u << 9) | 1 | ir_iw);
  w.set(0x2000 + 5 * 8, 0x7000 | 1 | ir_iw);
  auto m = w.mem();
  const auto v = visit<genpt::amdv1>({}, 0x1000, m);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].kind, item_kind::table);
  EXPECT_EQ(v[1].item_oa, 0x2028u);
  EXPECT_EQ(v[1].level, 0u);
  EXPECT_EQ(v[1].va, (std::uint64_t{1} << 30) | (5u << 12));
  EXPECT_EQ(v[1].kind, item_kind::leaf);
  EXPECT_EQ(v[2].item_oa, 0x1010u);
  EXPECT_EQ(v[2].kind, item_kind::bad);
  EXPECT_EQ(v[2].fault, genpt::fault_kind::reserved_bit);
  // The walker agrees for the leaf's va: the same page, through the skip.
  const auto t = genpt::walk<genpt::amdv1>(genpt::hw_walker<genpt::amdv1>::regs{}, 0x1000, v[1].va, {}, m);
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.t.oa, 0x7000u);
}

// AMD IOMMU DTE Mode 0 (translation disabled) and Mode 7 (reserved):
// nothing is read.
TEST(WalkTree, AmdModeZeroAndSevenReadNothing) {
  words w(0x2000 / 8);
  w.set(0x1000, 0x2000 | (1u << 9) | 1);
  auto m = w.mem();
  genpt::hw_walker<genpt::amdv1>::regs r;
  r.mode = 0;
  genpt::tree_summary sum;
  EXPECT_TRUE(visit<genpt::amdv1>(r, 0x1000, m, &sum).empty());
  EXPECT_TRUE(sum.top.no_table);
  EXPECT_EQ(sum.reads, 0u);
  r.mode = 7;
  EXPECT_TRUE(visit<genpt::amdv1>(r, 0x1000, m, &sum).empty());
  EXPECT_FALSE(sum.top.ok);
  EXPECT_EQ(sum.top.fault, genpt::fault_kind::reserved_bit);
  EXPECT_EQ(sum.reads, 0u);
}

// ARMv8 4K stage 1, TTBR1, T1SZ 16, IPS 2 (40-bit OA): root 0x1000. L0
// [511] = table 0x2000 (bits 1:0 = 0b11); L0 [510] = bits 1:0 = 0b01, a
// block where 4K has none without DS (translation fault, D8.3); L1 [0] =
// a table at 2^40, at the OA size (address size fault, D8.2); L1 [511] =
// a 1 GiB block at 0x40000000 (bits 1:0 = 0b01, AF bit 10). Checks: TTBR1 vas have ones above bit 47; the bad items are reported
// with the Arm fault kinds and not followed.
TEST(WalkTree, ArmTtbr1VasAndAddressSizeAndBlockRules) {
  words w(0x3000 / 8);
  w.set(0x1000 + 511 * 8, 0x2003);
  w.set(0x1000 + 510 * 8, 0x4000'0401);  // L0 block: none at 4K without DS
  w.set(0x2000 + 0 * 8, 0x100'0000'0003);
  w.set(0x2000 + 511 * 8, 0x4000'0401);
  auto m = w.mem();
  genpt::hw_walker<genpt::armv8_4k_s1>::regs r;
  r.ttbr1 = true;
  r.ps = 2;
  genpt::tree_summary sum;
  const auto v = visit<genpt::armv8_4k_s1>(r, 0x1000, m, &sum);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(sum.top.level, 3u);  // Arm level 0
  EXPECT_EQ(v[0].item_oa, 0x1000u + 510 * 8);
  EXPECT_EQ(v[0].kind, item_kind::bad);
  EXPECT_EQ(v[0].fault, genpt::fault_kind::translation);
  EXPECT_EQ(v[1].va, 0xffff'ff80'0000'0000u);  // L0 index 511 << 39, ones above bit 47
  EXPECT_EQ(v[1].kind, item_kind::table);
  EXPECT_EQ(v[2].item_oa, 0x2000u);
  EXPECT_EQ(v[2].kind, item_kind::bad);
  EXPECT_EQ(v[2].fault, genpt::fault_kind::address_size);
  EXPECT_EQ(v[3].item_oa, 0x2000u + 511 * 8);
  EXPECT_EQ(v[3].kind, item_kind::leaf);
  EXPECT_EQ(v[3].va, 0xffff'ffff'c000'0000u);
  const auto t = genpt::walk<genpt::armv8_4k_s1>(r, 0x1000, v[3].va + 0x123, {}, m);
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.t.oa, 0x4000'0123u);
}

}  // namespace
