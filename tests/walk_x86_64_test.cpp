// walk_x86_64_test.cpp - the x86-64 hardware walker (genpt/walk/x86_64.hpp)
// over table images written by hand, with results written from the Intel
// SDM Vol. 3A (§4.5 walk, §4.6 access rights, §4.7 #PF, §4.8 A/D, Tables
// 4-14 .. 4-20 descriptor formats). Nothing here uses genpt's decode.
//
// The image (4-level unless stated): CR3 = 0x1000 (PML4), PDPT 0x2000,
// PD 0x3000, PT 0x4000, and
//   va = 0x0000'0100'C080'5678: PML4 index 2 (bits 47:39), PDPT index 3
//   (38:30), PD index 4 (29:21), PT index 5 (20:12), offset 0x678.
// So the walk reads 0x1010, 0x2018, 0x3020, 0x4028.
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
using walker = genpt::hw_walker<genpt::x86_64>;
using regs = walker::regs;

constexpr std::uint64_t va = 0x0000'0100'C080'5678;
constexpr oa_t pml4e = 0x1010, pdpte = 0x2018, pde = 0x3020, pte = 0x4028;

// P | R/W | U/S = 0x7; A = 0x20; D = 0x40; PS = 0x80; XD = bit 63.
map_memory full_4k() {
  map_memory m;
  m.set(pml4e, 0x2007);
  m.set(pdpte, 0x3007);
  m.set(pde, 0x4007);
  m.set(pte, 0xABCD'E007);
  return m;
}

walk_result run(map_memory& m, access a = {}, regs r = {}, std::uint64_t v = va) {
  return walker::walk(r, 0x1000, v, a, m);
}

// §4.5.4: the walk reads one entry per level, indexed by VA bits; a PTE
// maps 4 KiB at its bits 51:12.
TEST(WalkX86, Translates4KThroughFourLevels) {
  map_memory m = full_4k();
  walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(w.t.size_lg2, 12u);
  EXPECT_EQ(w.t.level, 0u);
  EXPECT_EQ(w.t.leaf, 0xABCD'E007u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{pml4e, pdpte, pde, pte}));
  EXPECT_TRUE(m.writes.empty());
  EXPECT_TRUE(w.t.perms.write && w.t.perms.user && w.t.perms.exec && w.t.perms.read);
}

// Table 4-18: PS = 1 in a PDE maps a 2 MiB page at bits 51:21.
TEST(WalkX86, Translates2MPageFromPde) {
  map_memory m = full_4k();
  m.set(pde, 0x4000'0087);
  walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x4000'5678u);
  EXPECT_EQ(w.t.size_lg2, 21u);
  EXPECT_EQ(w.t.level, 1u);
  EXPECT_EQ(m.reads.size(), 3u);
}

// Table 4-16: PS = 1 in a PDPTE maps a 1 GiB page at bits 51:30; bit 12
// is PAT, not an address bit and not reserved. (va - 0x1000 has VA bit 12
// clear, so a PAT bit leaking into the address would show.)
TEST(WalkX86, Translates1GPageFromPdpteWithPatBit) {
  map_memory m = full_4k();
  m.set(pdpte, 0x8000'1087);
  walk_result w = run(m, {}, regs{}, va - 0x1000);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x8080'4678u);
  EXPECT_EQ(w.t.size_lg2, 30u);
  EXPECT_EQ(w.t.level, 2u);
}

// §4.5.4 / Table 4-14: with CR4.LA57 the walk starts at the PML5 indexed
// by VA bits 56:48 (here 0x1FF of an upper-half va).
TEST(WalkX86, FiveLevelStartsAtPml5) {
  map_memory m = full_4k();
  // Bits 63:56 all ones, 55:48 zero: canonical for 57 bits, PML5 index
  // (bits 56:48) 0x100 -> PML5E at 0x1000 + 0x100 * 8 = 0x1800; the PML4
  // is at 0x5000, its index (bits 47:39) still 2 -> 0x5010.
  const std::uint64_t v = 0xFF00'0000'0000'0000 | va;
  m.words.clear();
  m.set(0x1800, 0x5007);
  m.set(0x5010, 0x2007);
  m.set(pdpte, 0x3007);
  m.set(pde, 0x4007);
  m.set(pte, 0xABCD'E007);
  regs r;
  r.la57 = true;
  walk_result w = run(m, {}, r, v);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{0x1800, 0x5010, pdpte, pde, pte}));
  // Without LA57 the same va is not canonical (bits 63:47 not all equal).
  expect_fault(run(m, {}, regs{}, v), fault_kind::non_canonical, 0, 0, 0);
}

// §4.7: P = 0 in the entry at any depth is a not-present #PF at that entry.
TEST(WalkX86, NotPresentAtEachLevel) {
  {
    map_memory m = full_4k();
    m.set(pml4e, 0x2006);
    expect_fault(run(m), fault_kind::translation, 4, pml4e, 0x2006);
  }
  {
    map_memory m = full_4k();
    m.set(pdpte, 0);
    expect_fault(run(m), fault_kind::translation, 3, pdpte, 0);
  }
  {
    map_memory m = full_4k();
    m.set(pde, 0x4006);
    expect_fault(run(m), fault_kind::translation, 2, pde, 0x4006);
  }
  {
    map_memory m = full_4k();
    m.set(pte, 0xABCD'E006);
    expect_fault(run(m), fault_kind::translation, 1, pte, 0xABCD'E006);
  }
  {
    map_memory m;  // 5-level, empty PML5: PML5E index 0 of va = 0x1000 + 0
    regs r;
    r.la57 = true;
    expect_fault(run(m, {}, r, 0x1234), fault_kind::translation, 5, 0x1000, 0);
  }
}

// §3.3.7.1: bits 63:47 must equal bit 47 (4-level), else #GP: no walk.
TEST(WalkX86, NonCanonicalVaIsGpWithoutWalk) {
  map_memory m = full_4k();
  expect_fault(run(m, {}, regs{}, 0x0000'8000'0000'0000), fault_kind::non_canonical, 0, 0, 0);
  expect_fault(run(m, {}, regs{}, 0xFFFF'7FFF'FFFF'F000), fault_kind::non_canonical, 0, 0, 0);
  EXPECT_TRUE(m.reads.empty());
  // The upper half is canonical: PML4 index 256 (0x1000 + 0x800), empty.
  expect_fault(run(m, {}, regs{}, 0xFFFF'8000'0000'0000), fault_kind::translation, 4, 0x1800, 0);
}

// Table 4-15 (PML4E) and 4-14 (PML5E): bit 7 is reserved: RSVD #PF, where
// a builder that "ignores PS above the PDPT" would translate.
TEST(WalkX86, PsInPml4eAndPml5eIsReserved) {
  map_memory m = full_4k();
  m.set(pml4e, 0x2087);
  expect_fault(run(m), fault_kind::reserved_bit, 4, pml4e, 0x2087);
  map_memory m5;
  m5.set(0x1000, 0x2087);
  regs r;
  r.la57 = true;
  expect_fault(run(m5, {}, r, 0x1234), fault_kind::reserved_bit, 5, 0x1000, 0x2087);
}

// Tables 4-16 / 4-18: bits 29:13 of a 1 GiB PDPTE and 20:13 of a 2 MiB
// PDE are reserved (must be 0).
TEST(WalkX86, LargePageLowAddressBitsAreReserved) {
  map_memory m = full_4k();
  m.set(pde, 0x4000'2087);  // bit 13
  expect_fault(run(m), fault_kind::reserved_bit, 2, pde, 0x4000'2087);
  m.set(pde, 0x4010'0087);  // bit 20
  expect_fault(run(m), fault_kind::reserved_bit, 2, pde, 0x4010'0087);
  map_memory g = full_4k();
  g.set(pdpte, 0xA000'0087);  // bit 29
  expect_fault(run(g), fault_kind::reserved_bit, 3, pdpte, 0xA000'0087);
  g.set(pdpte, 0x8000'2087);  // bit 13
  expect_fault(run(g), fault_kind::reserved_bit, 3, pdpte, 0x8000'2087);
}

// §4.1.4: without 1-GByte page support, PS in a PDPTE is reserved.
TEST(WalkX86, PdptePsWithout1GSupportIsReserved) {
  map_memory m = full_4k();
  m.set(pdpte, 0x8000'0087);
  regs r;
  r.page_1g = false;
  expect_fault(run(m, {}, r), fault_kind::reserved_bit, 3, pdpte, 0x8000'0087);
}

// Tables 4-14 .. 4-20: address bits M..51 (M = MAXPHYADDR) are reserved,
// in table pointers and pages alike.
TEST(WalkX86, AddressBitsAboveMaxphyaddrAreReserved) {
  regs r;
  r.maxphyaddr = 40;
  map_memory m = full_4k();
  m.set(pte, 0x100'ABCD'E007);  // bit 40
  expect_fault(run(m, {}, r), fault_kind::reserved_bit, 1, pte, 0x100'ABCD'E007);
  map_memory t = full_4k();
  t.set(pdpte, 0x8000'0000'3007);  // bit 47: reserved with M = 40
  expect_fault(run(t, {}, r), fault_kind::reserved_bit, 3, pdpte, 0x8000'0000'3007);
  // Bit 39 is an address bit with M = 40: the PD is at 2^39 + 0x3000, and
  // its (never written, zero) PDE is not present.
  t.set(pdpte, 0x80'0000'3007);
  expect_fault(run(t, {}, r), fault_kind::translation, 2, 0x80'0000'3020, 0);
}

// AMD APM Vol. 2 §7.10: the SME C-bit sits above MAXPHYADDR and is not
// reserved; it is not part of the address.
TEST(WalkX86, SmeCBitIsNotReservedNorAnAddressBit) {
  regs r;
  r.maxphyaddr = 47;
  r.c_bit = std::uint64_t{1} << 47;
  map_memory m = full_4k();
  m.set(pml4e, 0x8000'0000'2007);
  m.set(pte, 0x8000'ABCD'E007);
  walk_result w = run(m, {}, r);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  r.c_bit = 0;  // without SME, bit 47 >= M is reserved
  expect_fault(run(m, {}, r), fault_kind::reserved_bit, 4, pml4e, 0x8000'0000'2007);
}

// Table 4-14..4-20 / §4.6: XD (bit 63) with IA32_EFER.NXE = 0 is reserved;
// with NXE = 1 an XD on any level forbids instruction fetches only.
TEST(WalkX86, XdIsReservedWithoutNxeAndForbidsFetchWithIt) {
  const std::uint64_t xd = std::uint64_t{1} << 63;
  map_memory m = full_4k();
  m.set(pdpte, xd | 0x3007);
  regs nonx;
  nonx.efer_nxe = false;
  expect_fault(run(m, {}, nonx), fault_kind::reserved_bit, 3, pdpte, xd | 0x3007);
  walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_FALSE(w.t.perms.exec);
  EXPECT_FALSE(w.t.perms.user_exec);
  expect_fault(run(m, {.exec = true}), fault_kind::permission, 1, pte, 0xABCD'E007);
  expect_fault(run(m, {.exec = true, .user = true}), fault_kind::permission, 1, pte, 0xABCD'E007);
}

// §4.6.1: user accesses need U/S = 1 at every level; user writes need R/W
// = 1 at every level whatever CR0.WP.
TEST(WalkX86, UserAccessNeedsUsAndRwOnEveryLevel) {
  map_memory m = full_4k();
  m.set(pde, 0x4003);  // U/S = 0 in the PDE only
  expect_fault(run(m, {.user = true}), fault_kind::permission, 1, pte, 0xABCD'E007);
  ASSERT_TRUE(run(m).ok);  // supervisor read: fine
  EXPECT_FALSE(run(m).t.perms.user);
  map_memory ro = full_4k();
  ro.set(pml4e, 0x2005);  // R/W = 0 in the PML4E only
  ASSERT_TRUE(run(ro, {.user = true}).ok);
  EXPECT_FALSE(run(ro).t.perms.write);
  regs nowp;
  nowp.cr0_wp = false;
  expect_fault(run(ro, {.write = true, .user = true}, nowp), fault_kind::permission, 1, pte, 0xABCD'E007);
}

// §4.6.1: supervisor writes honour R/W only with CR0.WP = 1.
TEST(WalkX86, SupervisorWriteToReadOnlyDependsOnWp) {
  map_memory m = full_4k();
  m.set(pte, 0xABCD'E005);  // R/W = 0
  expect_fault(run(m, {.write = true}), fault_kind::permission, 1, pte, 0xABCD'E005);
  regs nowp;
  nowp.cr0_wp = false;
  EXPECT_TRUE(run(m, {.write = true}, nowp).ok);
}

// §4.6.1: SMEP forbids supervisor fetches from user pages (U/S = 1 at
// every level); a supervisor page stays executable.
TEST(WalkX86, SmepForbidsSupervisorFetchFromUserPage) {
  map_memory m = full_4k();
  regs smep;
  smep.cr4_smep = true;
  expect_fault(run(m, {.exec = true}, smep), fault_kind::permission, 1, pte, 0xABCD'E007);
  EXPECT_TRUE(run(m, {.exec = true}).ok);
  m.set(pte, 0xABCD'E003);  // supervisor page
  EXPECT_TRUE(run(m, {.exec = true}, smep).ok);
}

// §4.6.1: SMAP forbids explicit supervisor data accesses to user pages
// unless EFLAGS.AC = 1.
TEST(WalkX86, SmapForbidsSupervisorDataAccessUnlessAc) {
  map_memory m = full_4k();
  regs smap;
  smap.cr4_smap = true;
  expect_fault(run(m, {}, smap), fault_kind::permission, 1, pte, 0xABCD'E007);
  expect_fault(run(m, {.write = true}, smap), fault_kind::permission, 1, pte, 0xABCD'E007);
  smap.eflags_ac = true;
  EXPECT_TRUE(run(m, {}, smap).ok);
  EXPECT_TRUE(run(m, {.write = true}, smap).ok);
}

// §4.8: a write sets A in every entry used and D in the PTE; a read sets
// A only; a faulting walk writes nothing. Words written out by hand.
TEST(WalkX86, SetAdWritesAccessedEverywhereAndDirtyOnLeaf) {
  map_memory m = full_4k();
  walk_result w = walker::walk(regs{}, 0x1000, va, {.write = true}, m, true);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(m.get(pml4e), 0x2027u);
  EXPECT_EQ(m.get(pdpte), 0x3027u);
  EXPECT_EQ(m.get(pde), 0x4027u);
  EXPECT_EQ(m.get(pte), 0xABCD'E067u);
  EXPECT_EQ(w.t.leaf, 0xABCD'E067u);

  map_memory r = full_4k();
  ASSERT_TRUE(walker::walk(regs{}, 0x1000, va, {}, r, true).ok);
  EXPECT_EQ(r.get(pte), 0xABCD'E027u);
  EXPECT_EQ(r.get(pml4e), 0x2027u);

  map_memory f = full_4k();
  f.set(pte, 0xABCD'E005);
  EXPECT_FALSE(walker::walk(regs{}, 0x1000, va, {.write = true}, f, true).ok);
  EXPECT_TRUE(f.writes.empty());

  // A 2 MiB page: D goes into the PDE, the entry that maps the page.
  map_memory l = full_4k();
  l.set(pde, 0x4000'0087);
  ASSERT_TRUE(walker::walk(regs{}, 0x1000, va, {.write = true}, l, true).ok);
  EXPECT_EQ(l.get(pde), 0x4000'00E7u);
  EXPECT_EQ(l.get(pte), 0xABCD'E007u);  // never read, never written
}

// §4.8 with another agent: A/D are set by a locked update of the entry the
// walk used. When the PTE changes under the update (here: P cleared by the
// OS), the walk starts again and reports what the new entry says; when only
// A/D changed (another walker), the update simply retries.
struct racing_memory {
  map_memory m;
  std::uint64_t race_with = 0;  ///< stored into the PTE before the first update
  bool read64(oa_t oa, std::uint64_t& out) { return m.read64(oa, out); }
  bool cmpxchg64(oa_t oa, std::uint64_t& expected, std::uint64_t desired) {
    if (oa == pte && race_with) {
      m.set(pte, race_with);
      race_with = 0;
    }
    return m.cmpxchg64(oa, expected, desired);
  }
};

TEST(WalkX86, SetAdRestartsWhenEntryChangesUnderUpdate) {
  racing_memory gone{full_4k(), 0xABCD'E006};  // P cleared meanwhile
  walk_result w = walker::walk(regs{}, 0x1000, va, {.write = true}, gone, true);
  expect_fault(w, fault_kind::translation, 1, pte, 0xABCD'E006);
  racing_memory ad{full_4k(), 0xABCD'E027};  // another walker set A
  w = walker::walk(regs{}, 0x1000, va, {.write = true}, ad, true);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(ad.m.get(pte), 0xABCD'E067u);
}

// The memory object may refuse a read: bus_error at that entry, and the
// walker reads nothing else (a table pointer outside RAM is not a crash).
TEST(WalkX86, TablePointerOutsideMemoryIsBusError) {
  map_memory m = full_4k();
  m.limit = 0x10'0000;
  m.set(pdpte, 0xF'FFFF'F000 | 7);
  walk_result w = run(m);
  expect_fault(w, fault_kind::bus_error, 2, 0xF'FFFF'F000 + 0x20, 0);
  EXPECT_EQ(m.reads.back(), 0xF'FFFF'F020u);
}

}  // namespace
