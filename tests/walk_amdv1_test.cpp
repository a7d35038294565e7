// walk_amdv1_test.cpp - the AMD IOMMU host-table walker
// (genpt/walk/amdv1.hpp) over table images written by hand, with results
// written from the AMD IOMMU specification (pub. 48882) §2.2.2.1 (DTE Mode,
// IR/IW, HAD) and §2.2.3 (I/O page tables: PDE/PTE fields, NextLevel,
// level skipping, "Next Level Page Size"). Nothing here uses genpt's decode.
//
// The image (DTE Mode 3 unless stated): root 0x1000 (level 3), level-2
// table 0x2000, level-1 table 0x3000, and
//   va = 0xC080'5678: level-3 index 3 (bits 38:30), level-2 index 4
//   (29:21), level-1 index 5 (20:12), offset 0x678.
// So the walk reads 0x1018, 0x2020, 0x3028.
// Descriptor bits: PR 0, A 5, D 6, NextLevel 11:9, IR 61, IW 62; so a PDE
// to a level-2 table at 0x2000 is 0x6000'0000'0000'2401 (IR|IW, NL 2, PR).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "genpt/walk/walk.hpp"
#include "support/walk_test_memory.hpp"

namespace {

using genpt::access;
using genpt::fault_kind;
using genpt::oa_t;
using genpt::walk_result;
using genpt::test::expect_fault;
using genpt::test::map_memory;
using walker = genpt::hw_walker<genpt::amdv1>;
using regs = walker::regs;

constexpr std::uint64_t va = 0xC080'5678;
constexpr oa_t l3e = 0x1018, l2e = 0x2020, l1e = 0x3028;
constexpr std::uint64_t irw = 0x6000'0000'0000'0000;  // IR | IW

map_memory full_4k() {
  map_memory m;
  m.set(l3e, irw | 0x2401);         // NL 2 -> 0x2000
  m.set(l2e, irw | 0x3201);         // NL 1 -> 0x3000
  m.set(l1e, irw | 0xABCD'E001);    // NL 0: a 4 KiB page
  return m;
}

walk_result run(map_memory& m, access a = {}, regs r = {}, std::uint64_t v = va) {
  return walker::walk(r, 0x1000, v, a, m);
}

// §2.2.3: Mode 3 walks levels 3, 2, 1; a level-1 PTE maps 4 KiB.
TEST(WalkAmdv1, Translates4KThroughThreeLevels) {
  map_memory m = full_4k();
  walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(w.t.size_lg2, 12u);
  EXPECT_EQ(w.t.level, 0u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{l3e, l2e, l1e}));
  EXPECT_TRUE(w.t.perms.read && w.t.perms.write);
}

// §2.2.3: PR = 0 at any level is an IO_PAGE_FAULT (not present).
TEST(WalkAmdv1, NotPresentAtEachLevel) {
  for (auto [item, level] : {std::pair{l3e, 3}, std::pair{l2e, 2}, std::pair{l1e, 1}}) {
    map_memory m = full_4k();
    const std::uint64_t w = m.get(item) & ~std::uint64_t{1};
    m.set(item, w);
    expect_fault(run(m), fault_kind::translation, level, item, w);
  }
  // Mode 6: the level-6 table has 128 items indexed by VA bits 63:57.
  map_memory m;
  regs r;
  r.mode = 6;
  expect_fault(run(m, {}, r, 0xFE00'0000'0000'0000), fault_kind::translation, 6, 0x1000 + 127 * 8, 0);
}

// §2.2.3: NextLevel 0 in a PDE position is a page of that level's default
// size (level 2: 2 MiB); its low address bits are ignored.
TEST(WalkAmdv1, NextLevelZeroIsDefaultSizePage) {
  map_memory m = full_4k();
  m.set(l2e, irw | 0x4000'0001);
  walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x4000'5678u);
  EXPECT_EQ(w.t.size_lg2, 21u);
  EXPECT_EQ(w.t.level, 1u);
}

// "Next Level Page Size": NextLevel 7, address bits 12..n-1 ones and bit n
// zero: a 2^(n+1) page. 32 KiB at level 1: bits 12, 13 set, bit 14 clear,
// replicated in the 8 items 0..7 of the level-1 table.
TEST(WalkAmdv1, NextLevelSevenEncodesPageSizeInAddress) {
  map_memory m = full_4k();
  const std::uint64_t e = irw | 0xABCD'3E01;  // base 0xABCD'0000, NL 7
  for (oa_t o = 0x3000; o < 0x3040; o += 8) m.set(o, e);
  walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'5678u);
  EXPECT_EQ(w.t.size_lg2, 15u);
  EXPECT_EQ(w.t.level, 0u);

  // 4 MiB at level 2: bits 20:12 ones, bit 21 zero; items 4 and 5.
  map_memory b = full_4k();
  const std::uint64_t big = irw | 0x401F'FE01;
  b.set(0x2020, big);
  b.set(0x2028, big);
  w = run(b);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x4000'5678u);
  EXPECT_EQ(w.t.size_lg2, 22u);
  EXPECT_EQ(w.t.level, 1u);
}

// A NextLevel 7 run whose items differ (A/D aside) is refused at the first
// differing item (strict_replicas; the hardware reads one of them).
TEST(WalkAmdv1, MismatchedSizedRunIsReservedUnlessLenient) {
  map_memory m = full_4k();
  const std::uint64_t e = irw | 0xABCD'3E01;
  for (oa_t o = 0x3000; o < 0x3040; o += 8) m.set(o, e);
  m.set(0x3000, e | 0x60);  // A and D in one item: fine
  ASSERT_TRUE(run(m).ok);
  m.set(0x3010, e & ~(std::uint64_t{1} << 62));  // item 2 lost IW
  expect_fault(run(m), fault_kind::reserved_bit, 1, 0x3010, e & ~(std::uint64_t{1} << 62));
  regs lenient;
  lenient.strict_replicas = false;
  ASSERT_TRUE(run(m, {}, lenient).ok);
}

// A sized page must be larger than the level's default size and smaller
// than the next level's (else the encoding is illegal: RZ).
TEST(WalkAmdv1, SizedPageOutsideItsLevelIsReserved) {
  map_memory m = full_4k();
  m.set(l1e, irw | 0xA01F'FE01);  // level 1, ones 20:12: 4 MiB > 2 MiB
  expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, irw | 0xA01F'FE01);
  map_memory s = full_4k();
  s.set(l2e, irw | 0x4000'0E01);  // level 2, bit 12 clear: 8 KiB < 2 MiB
  expect_fault(run(s), fault_kind::reserved_bit, 2, l2e, irw | 0x4000'0E01);
  map_memory o = full_4k();
  o.set(l1e, irw | 0x000F'FFFF'FFFF'FE01);  // no zero address bit at all
  expect_fault(run(o), fault_kind::reserved_bit, 1, l1e, irw | 0x000F'FFFF'FFFF'FE01);
}

// §2.2.3: a PDE's NextLevel must be below the current level; 1..6 in a
// level-1 entry (which can only be a PTE) is illegal too.
TEST(WalkAmdv1, NextLevelNotBelowCurrentIsReserved) {
  map_memory m = full_4k();
  m.set(l2e, irw | 0x3401);  // NL 2 in a level-2 table
  expect_fault(run(m), fault_kind::reserved_bit, 2, l2e, irw | 0x3401);
  m.set(l2e, irw | 0x3601);  // NL 3
  expect_fault(run(m), fault_kind::reserved_bit, 2, l2e, irw | 0x3601);
  map_memory p = full_4k();
  p.set(l1e, irw | 0xABCD'E201);  // NL 1 in a level-1 table
  expect_fault(run(p), fault_kind::reserved_bit, 1, l1e, irw | 0xABCD'E201);
}

// §2.2.3 level skipping: a level-3 PDE with NextLevel 1 points straight to
// a level-1 table; the skipped level-2 index bits (29:21) must be zero.
TEST(WalkAmdv1, SkippedLevelIndexBitsMustBeZero) {
  map_memory m = full_4k();
  m.set(l3e, irw | 0x3201);  // NL 1 -> 0x3000
  expect_fault(run(m), fault_kind::address_size, 3, l3e, irw | 0x3201);
  const std::uint64_t v = 0xC000'5678;  // level-2 index 0
  walk_result w = run(m, {}, regs{}, v);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(m.reads.back(), l1e);
}

// DTE Mode: 0 passes addresses through under the DTE's IR / IW; 7 is
// reserved; VA bits above the Mode's reach (Mode 3: bit 39 up) fault.
TEST(WalkAmdv1, DteModeZeroSevenAndVaAboveMode) {
  map_memory m = full_4k();
  regs pass;
  pass.mode = 0;
  walk_result w = run(m, {.write = true}, pass, 0x1234'5678'9ABC'DEF0);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x1234'5678'9ABC'DEF0u);
  EXPECT_EQ(w.t.size_lg2, 64u);
  pass.iw = false;
  expect_fault(run(m, {.write = true}, pass), fault_kind::permission, 0, 0, 0);
  EXPECT_TRUE(m.reads.empty());
  regs seven;
  seven.mode = 7;
  expect_fault(run(m, {}, seven), fault_kind::reserved_bit, 0, 0, 0);
  expect_fault(run(m, {}, regs{}, std::uint64_t{1} << 39), fault_kind::address_size, 3, 0, 0);
  EXPECT_TRUE(m.reads.empty());
}

// §2.2.3 / §2.2.2.1: IR and IW are ANDed over the DTE and every level.
TEST(WalkAmdv1, IrIwAreAndedAcrossLevels) {
  map_memory m = full_4k();
  m.set(l3e, (std::uint64_t{1} << 61) | 0x2401);  // IR only in the level-3 PDE
  walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_TRUE(w.t.perms.read);
  EXPECT_FALSE(w.t.perms.write);
  expect_fault(run(m, {.write = true}), fault_kind::permission, 1, l1e, irw | 0xABCD'E001);
  map_memory d = full_4k();
  regs noread;
  noread.ir = false;
  expect_fault(run(d, {}, noread), fault_kind::permission, 1, l1e, irw | 0xABCD'E001);
  EXPECT_TRUE(run(d, {.write = true}, noread).ok);
}

// PDE bits 60:52 and PTE bits 58:52 are reserved; U (59) and FC (60) are
// PTE fields; address bits at or above the OA width are reserved, the
// SME C-bit is not (and is not part of the address).
TEST(WalkAmdv1, ReservedBitsAndAddressWidth) {
  map_memory m = full_4k();
  m.set(l1e, irw | (std::uint64_t{1} << 52) | 0xABCD'E001);
  expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, irw | (std::uint64_t{1} << 52) | 0xABCD'E001);
  m.set(l1e, irw | (std::uint64_t{3} << 59) | 0xABCD'E001);  // U | FC
  ASSERT_TRUE(run(m).ok);
  map_memory p = full_4k();
  p.set(l2e, irw | (std::uint64_t{1} << 59) | 0x3201);  // bit 59 of a PDE
  expect_fault(run(p), fault_kind::reserved_bit, 2, l2e, irw | (std::uint64_t{1} << 59) | 0x3201);
  regs r;
  r.oa_lg2 = 40;
  map_memory a = full_4k();
  a.set(l1e, irw | 0x100'ABCD'E001);  // bit 40
  expect_fault(run(a, {}, r), fault_kind::reserved_bit, 1, l1e, irw | 0x100'ABCD'E001);
  a.set(l1e, irw | 0x8000'ABCD'E001);  // bit 47 = the C-bit
  r.c_bit = std::uint64_t{1} << 47;
  walk_result w = run(a, {}, r);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
}

// Documented choice: a page entry in the level-6 table is refused.
TEST(WalkAmdv1, PageInLevelSixTableIsReserved) {
  map_memory m;
  regs r;
  r.mode = 6;
  m.set(0x1000, irw | 0x1);
  expect_fault(run(m, {}, r, 0x5000), fault_kind::reserved_bit, 6, 0x1000, irw | 0x1);
}

// HAD: the IOMMU sets A in every entry used and D in the PTE on writes;
// a faulting walk and a read-only memory object write nothing.
TEST(WalkAmdv1, SetAdWritesAccessedAndDirty) {
  map_memory m = full_4k();
  ASSERT_TRUE(walker::walk(regs{}, 0x1000, va, {.write = true}, m, true).ok);
  EXPECT_EQ(m.get(l3e), irw | 0x2421);
  EXPECT_EQ(m.get(l2e), irw | 0x3221);
  EXPECT_EQ(m.get(l1e), irw | 0xABCD'E061);
  map_memory r = full_4k();
  ASSERT_TRUE(walker::walk(regs{}, 0x1000, va, {}, r, true).ok);
  EXPECT_EQ(r.get(l1e), irw | 0xABCD'E021);
  regs off;
  off.update_a = off.update_d = false;
  map_memory n = full_4k();
  ASSERT_TRUE(walker::walk(off, 0x1000, va, {.write = true}, n, true).ok);
  EXPECT_TRUE(n.writes.empty());
  genpt::test::map_memory_ro ro{full_4k()};
  ASSERT_TRUE(walker::walk(regs{}, 0x1000, va, {.write = true}, ro, true).ok);
  EXPECT_EQ(ro.m.get(l1e), irw | 0xABCD'E001);
}

// A table pointer outside memory is a bus error, not a crash.
TEST(WalkAmdv1, TablePointerOutsideMemoryIsBusError) {
  map_memory m = full_4k();
  m.limit = 0x10'0000;
  m.set(l3e, irw | 0xF'FFFF'F401);
  expect_fault(run(m), fault_kind::bus_error, 2, 0xF'FFFF'F020, 0);
}

}  // namespace
