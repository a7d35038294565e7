// tests/walk_armv8_test.cpp - issue 11: the VMSAv8-64 hardware walker
// (genpt/walk/armv8.hpp) over table images written by hand.
//
// Every descriptor below is spelled from the Arm ARM (DDI 0487) D8.3
// formats, not made by genpt: bits 1:0 = 0b11 table / page, 0b01 block;
// AttrIndx 4:2, AP[2:1] 7:6 (stage 2 S2AP[1:0]), AF 10, DBM 51, Contiguous
// 52, PXN 53 (stage 2 XN[0]), UXN 54 (stage 2 XN[1]); table descriptors
// PXNTable 59, UXNTable 60, APTable 62:61; address bits 47:granule (DS = 1:
// 49:granule and OA[51:50] in bits 9:8; 64K FEAT_LPA: OA[51:48] in bits
// 15:12). Indexes are written out per level: 4K VA bits 47:39 / 38:30 /
// 29:21 / 20:12; 16K 47 / 46:36 / 35:25 / 24:14; 64K 47:42 / 41:29 / 28:16.
// Fault levels are the Arm lookup levels as ESR_ELx reports them.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>

#include "genpt/walk/walk.hpp"

namespace {

using genpt::access;
using genpt::fault_kind;
using genpt::oa_t;
using genpt::walk_result;
using std::uint64_t;

/// Hand-written table memory: words default to 0 (invalid descriptors);
/// oas at or above readable_end are a bus error. Counts reads and updates.
struct image {
  std::map<oa_t, uint64_t> words;
  oa_t readable_end = oa_t{1} << 36;
  unsigned updates = 0;
  void put(oa_t oa, uint64_t w) { words[oa] = w; }
  uint64_t at(oa_t oa) const {
    const auto it = words.find(oa);
    return it == words.end() ? 0 : it->second;
  }
  bool read64(oa_t oa, uint64_t& out) const {
    if ((oa & 7) != 0 || oa >= readable_end) return false;
    out = at(oa);
    return true;
  }
  bool cmpxchg64(oa_t oa, uint64_t& expected, uint64_t desired) {
    if ((oa & 7) != 0 || oa >= readable_end) return false;
    if (at(oa) != expected) {
      expected = at(oa);
      return false;
    }
    ++updates;
    words[oa] = desired;
    return true;
  }
};

/// The same image without cmpxchg64: a walk_memory only.
struct read_only {
  const image& im;
  bool read64(oa_t oa, uint64_t& out) const { return im.read64(oa, out); }
};

using s1_4k = genpt::hw_walker<genpt::armv8<12, 1>>;
using s1_16k = genpt::hw_walker<genpt::armv8<14, 1>>;
using s1_64k = genpt::hw_walker<genpt::armv8<16, 1>>;
using s2_4k = genpt::hw_walker<genpt::armv8<12, 2>>;
using s2_16k = genpt::hw_walker<genpt::armv8<14, 2>>;
using s2_64k = genpt::hw_walker<genpt::armv8<16, 2>>;

constexpr access rd{};                     // EL1 read
constexpr access wr{true, false, false};   // EL1 write
constexpr access ex{false, true, false};   // EL1 fetch
constexpr access urd{false, false, true};  // EL0 read
constexpr access uwr{true, false, true};   // EL0 write
constexpr access uex{false, true, true};   // EL0 fetch

void expect_ok(const walk_result& r, oa_t oa, unsigned size_lg2, unsigned level) {
  ASSERT_TRUE(r.ok) << "fault kind " << int(r.f.kind) << " at Arm level " << r.f.spec_level;
  EXPECT_EQ(r.t.oa, oa);
  EXPECT_EQ(r.t.size_lg2, size_lg2);
  EXPECT_EQ(r.t.level, level);
}

void expect_fault(const walk_result& r, fault_kind k, int arm_level, oa_t item_oa) {
  ASSERT_FALSE(r.ok) << "translated to " << std::hex << r.t.oa;
  EXPECT_EQ(int(r.f.kind), int(k));
  EXPECT_EQ(r.f.spec_level, arm_level);
  EXPECT_EQ(r.f.level, unsigned(3 - arm_level));
  EXPECT_EQ(r.f.item_oa, item_oa);
}

// ------------------------------------------------------- 4K, stage 1 ----
// 48-bit VA (T0SZ 16): L0 0x1000, L1 0x2000, L2 0x3000, L3 0x4000.
// va = L0 index 1, L1 index 2, L2 index 3, L3 index 4, offset 0x567.
constexpr uint64_t va4 =
    (uint64_t{1} << 39) | (uint64_t{2} << 30) | (3u << 21) | (4u << 12) | 0x567;
static_assert(va4 == 0x0000'0080'8060'4567);
constexpr oa_t l0e = 0x1000 + 1 * 8, l1e = 0x2000 + 2 * 8, l2e = 0x3000 + 3 * 8,
               l3e = 0x4000 + 4 * 8;

/// The 4-level path to a page at 0x8000'0000: AF, AP[2:1] = 01 (EL0 and EL1 read/write).
image path4k(uint64_t page = 0x0000'0000'8000'0443) {
  image m;
  m.put(l0e, 0x2003);
  m.put(l1e, 0x3003);
  m.put(l2e, 0x4003);
  m.put(l3e, page);
  return m;
}

// D8.2 (4 lookups from L0 for a 48-bit VA, 4K granule); D8.4 (AP 01: EL0
// and EL1 read/write; memory writable at EL0 is never EL1-executable).
TEST(WalkArmv8, FourKPageTranslatesThroughFourLevels) {
  image m = path4k();
  const walk_result r = s1_4k::walk({}, 0x1000, va4, rd, m);
  expect_ok(r, 0x8000'0567, 12, 0);
  EXPECT_EQ(r.t.leaf, 0x8000'0443u);
  EXPECT_TRUE(r.t.perms.read);
  EXPECT_TRUE(r.t.perms.write);
  EXPECT_FALSE(r.t.perms.exec);  // EL0-writable: PXN implied
  EXPECT_TRUE(r.t.perms.user);
  EXPECT_TRUE(r.t.perms.user_exec);
}

// D8.3: bit 0 = 0 is an invalid descriptor whatever the other bits;
// translation fault at the level of the descriptor (ESR level 0..3).
TEST(WalkArmv8, InvalidDescriptorIsTranslationFaultAtEachLevel) {
  const oa_t items[] = {l0e, l1e, l2e, l3e};
  for (int lvl = 0; lvl <= 3; ++lvl) {
    image m = path4k();
    m.put(items[lvl], 0xFFFF'FFFF'FFFF'FFFE);  // every bit but valid
    expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::translation, lvl, items[lvl]);
  }
}

// D8.3: at level 3, bits 1:0 = 0b01 is reserved: translation fault level 3.
TEST(WalkArmv8, Level3BlockEncodingIsTranslationFault) {
  image m = path4k(0x8000'0441);
  expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::translation, 3, l3e);
}

// D8.3 / AArch64.BlockDescSupported: 4K blocks at L1 (1 GiB) and L2 (2 MiB);
// the block's address bits below its size are not part of the OA.
TEST(WalkArmv8, FourKBlocksAtLevels1And2) {
  image m = path4k();
  m.put(l1e, 0x0000'0001'4012'3401);  // 1 GiB block at 0x1'4000'0000 (bits 29:12 ignored)
  expect_ok(s1_4k::walk({}, 0x1000, va4, rd, m), 0x1'4060'4567, 30, 2);
  m = path4k();
  m.put(l2e, 0x0000'0000'0060'0401);  // 2 MiB block at 0x60'0000
  expect_ok(s1_4k::walk({}, 0x1000, va4, rd, m), 0x0060'4567, 21, 1);
}

// AArch64.BlockDescSupported: a 4K L0 block exists only with DS = 1
// (FEAT_LPA2); without it bits 1:0 = 0b01 at L0 is a translation fault.
TEST(WalkArmv8, FourKLevel0BlockNeedsDs) {
  image m = path4k();
  m.put(l0e, 0x0000'0080'0000'0401);  // 512 GiB block at 2^39
  expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::translation, 0, l0e);
  s1_4k::regs ds;
  ds.ds = true;
  expect_ok(s1_4k::walk(ds, 0x1000, va4, rd, m), 0x0080'8060'4567, 39, 3);
}

// D8.4 (Access flag): AF = 0 with HA = 0 is an access flag fault at the
// leaf's level, and it takes priority over a permission fault.
TEST(WalkArmv8, AccessFlagFaultAtLeafLevel) {
  image m = path4k(0x8000'0043);  // page, AF = 0
  expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::access_flag, 3, l3e);
  m = path4k();
  m.put(l2e, 0x0060'0001);  // 2 MiB block, AF = 0
  expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::access_flag, 2, l2e);
  m = path4k();
  m.put(l1e, 0x4000'0001);  // 1 GiB block, AF = 0
  expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::access_flag, 1, l1e);
  m = path4k(0x8000'00C3);  // read-only page, AF = 0, written
  expect_fault(s1_4k::walk({}, 0x1000, va4, wr, m), fault_kind::access_flag, 3, l3e);
}

// D8.4 AP[2:1] (EL1&0): 00 EL1 RW, 01 EL0+EL1 RW, 10 EL1 RO, 11 EL0+EL1 RO.
TEST(WalkArmv8, ApBitsGivePermissionFaults) {
  image m = path4k(0x8000'0403);  // AP 00
  expect_ok(s1_4k::walk({}, 0x1000, va4, wr, m), 0x8000'0567, 12, 0);
  expect_fault(s1_4k::walk({}, 0x1000, va4, urd, m), fault_kind::permission, 3, l3e);
  m = path4k(0x8000'0483);  // AP 10
  expect_ok(s1_4k::walk({}, 0x1000, va4, rd, m), 0x8000'0567, 12, 0);
  expect_fault(s1_4k::walk({}, 0x1000, va4, wr, m), fault_kind::permission, 3, l3e);
  expect_fault(s1_4k::walk({}, 0x1000, va4, urd, m), fault_kind::permission, 3, l3e);
  m = path4k(0x8000'04C3);  // AP 11
  expect_ok(s1_4k::walk({}, 0x1000, va4, urd, m), 0x8000'0567, 12, 0);
  expect_fault(s1_4k::walk({}, 0x1000, va4, uwr, m), fault_kind::permission, 3, l3e);
}

// D8.4 execute-never: PXN (53) stops EL1 fetches, UXN (54) EL0 fetches;
// memory writable at EL0 (AP 01) is treated as PXN.
TEST(WalkArmv8, ExecuteNeverBitsGivePermissionFaults) {
  image m = path4k(0x0020'0000'8000'04C3);  // PXN, AP 11
  expect_fault(s1_4k::walk({}, 0x1000, va4, ex, m), fault_kind::permission, 3, l3e);
  expect_ok(s1_4k::walk({}, 0x1000, va4, uex, m), 0x8000'0567, 12, 0);
  m = path4k(0x0040'0000'8000'04C3);  // UXN, AP 11
  expect_ok(s1_4k::walk({}, 0x1000, va4, ex, m), 0x8000'0567, 12, 0);
  expect_fault(s1_4k::walk({}, 0x1000, va4, uex, m), fault_kind::permission, 3, l3e);
  m = path4k(0x8000'0443);  // AP 01: EL0-writable
  expect_fault(s1_4k::walk({}, 0x1000, va4, ex, m), fault_kind::permission, 3, l3e);
  expect_ok(s1_4k::walk({}, 0x1000, va4, uex, m), 0x8000'0567, 12, 0);
}

// D8.4: SCTLR.WXN makes writable memory execute-never; PSTATE.PAN forbids
// EL1 data accesses to memory EL0 may access (fetches are not affected).
TEST(WalkArmv8, WxnAndPanGivePermissionFaults) {
  s1_4k::regs r;
  r.wxn = true;
  image m = path4k(0x8000'0403);  // AP 00: EL1 writable
  expect_fault(s1_4k::walk(r, 0x1000, va4, ex, m), fault_kind::permission, 3, l3e);
  EXPECT_FALSE(s1_4k::walk(r, 0x1000, va4, rd, m).t.perms.exec);
  m = path4k(0x8000'0483);  // AP 10: read-only
  expect_ok(s1_4k::walk(r, 0x1000, va4, ex, m), 0x8000'0567, 12, 0);
  s1_4k::regs pan;
  pan.pan = true;
  m = path4k(0x8000'04C3);  // AP 11: EL0 may read
  expect_fault(s1_4k::walk(pan, 0x1000, va4, rd, m), fault_kind::permission, 3, l3e);
  expect_ok(s1_4k::walk(pan, 0x1000, va4, urd, m), 0x8000'0567, 12, 0);
  m = path4k(0x8000'0483);  // AP 10: EL1 only
  expect_ok(s1_4k::walk(pan, 0x1000, va4, rd, m), 0x8000'0567, 12, 0);
}

// D8.4 hierarchical permissions: APTable[1] (62) removes write, APTable[0]
// (61) EL0 access, UXNTable (60) / PXNTable (59) execution, for every
// level below the table descriptor; TCR.HPD = 1 ignores them.
TEST(WalkArmv8, HierarchicalTableLimitsCombineDownTheWalk) {
  image m = path4k();                 // leaf AP 01: EL0 and EL1 read/write
  m.put(l0e, 0x4000'0000'0000'2003);  // APTable[1]
  expect_fault(s1_4k::walk({}, 0x1000, va4, wr, m), fault_kind::permission, 3, l3e);
  const walk_result r = s1_4k::walk({}, 0x1000, va4, urd, m);
  expect_ok(r, 0x8000'0567, 12, 0);
  EXPECT_FALSE(r.t.perms.write);
  s1_4k::regs hpd;
  hpd.hpd = true;
  expect_ok(s1_4k::walk(hpd, 0x1000, va4, wr, m), 0x8000'0567, 12, 0);

  m = path4k();
  m.put(l1e, 0x2000'0000'0000'3003);  // APTable[0]
  expect_fault(s1_4k::walk({}, 0x1000, va4, urd, m), fault_kind::permission, 3, l3e);
  expect_ok(s1_4k::walk({}, 0x1000, va4, wr, m), 0x8000'0567, 12, 0);

  m = path4k(0x8000'04C3);            // AP 11: no implicit PXN
  m.put(l1e, 0x1000'0000'0000'3003);  // UXNTable
  expect_fault(s1_4k::walk({}, 0x1000, va4, uex, m), fault_kind::permission, 3, l3e);
  expect_ok(s1_4k::walk({}, 0x1000, va4, ex, m), 0x8000'0567, 12, 0);
  m.put(l1e, 0x3003);
  m.put(l2e, 0x0800'0000'0000'4003);  // PXNTable
  expect_fault(s1_4k::walk({}, 0x1000, va4, ex, m), fault_kind::permission, 3, l3e);
  expect_ok(s1_4k::walk({}, 0x1000, va4, uex, m), 0x8000'0567, 12, 0);
}

// D8.2 output address size: an address at or above 2^PS in a leaf, a table
// descriptor or the TTBR is an address size fault (TTBR: level 0).
TEST(WalkArmv8, OutputAddressAbovePsIsAddressSizeFault) {
  s1_4k::regs r;
  r.ps = 2;                                 // 40 bits
  image m = path4k(0x0000'0100'0000'0443);  // page at 2^40
  expect_fault(s1_4k::walk(r, 0x1000, va4, rd, m), fault_kind::address_size, 3, l3e);
  m = path4k();
  m.put(l1e, 0x0000'0100'0000'3003);  // next table at 2^40 + 0x3000
  expect_fault(s1_4k::walk(r, 0x1000, va4, rd, m), fault_kind::address_size, 1, l1e);
  expect_fault(s1_4k::walk(r, oa_t{1} << 40, va4, rd, m), fault_kind::address_size, 0, 0);
}

// D8.3: an all-ones descriptor at L0 is a valid table descriptor whose
// address is bits 47:12; it is read through the memory object only
// (a bus error there), or is an address size fault when PS < 48.
TEST(WalkArmv8, AllOnesDescriptorIsATableThroughMemoryOnly) {
  image m = path4k();
  m.put(l0e, ~uint64_t{0});
  expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::bus_error, 1,
               0x0000'FFFF'FFFF'F000 + 2 * 8);
  s1_4k::regs r;
  r.ps = 4;  // 44 bits
  expect_fault(s1_4k::walk(r, 0x1000, va4, rd, m), fault_kind::address_size, 0, l0e);
}

// D8.1 / AArch64.VAIsOutOfRange: VA bits 63:48 must all equal the TTBR
// select (0 for TTBR0, ones for TTBR1), else a translation fault at level 0;
// a VA of the other TTBR's half is not this table's (non_canonical).
TEST(WalkArmv8, VaOutsideTheTtbrRangeIsLevel0TranslationFault) {
  image m = path4k();
  expect_fault(s1_4k::walk({}, 0x1000, va4 | (uint64_t{1} << 48), rd, m), fault_kind::translation,
               0, 0);
  const walk_result other = s1_4k::walk({}, 0x1000, 0xFFFF'0080'8060'4567, rd, m);
  ASSERT_FALSE(other.ok);
  EXPECT_EQ(int(other.f.kind), int(fault_kind::non_canonical));

  s1_4k::regs t1;
  t1.ttbr1 = true;
  expect_ok(s1_4k::walk(t1, 0x1000, 0xFFFF'0080'8060'4567, rd, m), 0x8000'0567, 12, 0);
  expect_fault(s1_4k::walk(t1, 0x1000, 0xFFFE'0080'8060'4567, rd, m), fault_kind::translation, 0,
               0);
  const walk_result low = s1_4k::walk(t1, 0x1000, va4, rd, m);
  ASSERT_FALSE(low.ok);
  EXPECT_EQ(int(low.f.kind), int(fault_kind::non_canonical));
}

// D8.2 / AArch64.S1TxSZFaults: T0SZ below 16 without DS (52-bit VA needs
// FEAT_LPA2) or above 39 is faulted at level 0 (the IMPLEMENTATION DEFINED
// fault choice).
TEST(WalkArmv8, TxszOutOfRangeIsLevel0TranslationFault) {
  image m = path4k();
  s1_4k::regs r;
  r.tsz = 12;
  expect_fault(s1_4k::walk(r, 0x1000, 0x4567, rd, m), fault_kind::translation, 0, 0);
  r.tsz = 40;
  expect_fault(s1_4k::walk(r, 0x1000, 0x4567, rd, m), fault_kind::translation, 0, 0);
}

// D8.2: a 25-bit VA (T0SZ 39) starts at L2 with 16 items (VA bits 24:21).
TEST(WalkArmv8, SmallVaStartsLower) {
  image m;
  m.put(0x3000 + 0xF * 8, 0x4003);  // L2 index 15
  m.put(0x4000 + 4 * 8, 0x8000'0443);
  s1_4k::regs r;
  r.tsz = 39;
  expect_ok(s1_4k::walk(r, 0x3000, (uint64_t{0xF} << 21) | 0x4567, rd, m), 0x8000'0567, 12, 0);
}

// D8.7.1: 16 consistent 4K pages with the Contiguous bit form one 64 KiB
// entry; the choice for a misprogrammed run (one item without it, or a
// run OA not aligned to 64 KiB) is "not contiguous": the item alone.
TEST(WalkArmv8, ContiguousRunAndMisprogrammedRunAreNotContiguous) {
  image m = path4k();
  for (unsigned i = 0; i < 16; ++i)  // L3 items 0..15: 0x8000'0000 + i * 4K, CONT
    m.put(0x4000 + i * 8, 0x0010'0000'8000'0443 + (uint64_t{i} << 12));
  m.put(0x4000 + 9 * 8, m.at(0x4000 + 9 * 8) & ~uint64_t{0x400});  // AF may differ
  expect_ok(s1_4k::walk({}, 0x1000, va4, rd, m), 0x8000'4567, 16, 0);
  m.put(0x4000 + 15 * 8, 0x8000'F443);  // item 15 without CONT
  expect_ok(s1_4k::walk({}, 0x1000, va4, rd, m), 0x8000'4567, 12, 0);
  for (unsigned i = 0; i < 16; ++i)  // OA run starting at 0x8000'1000: misaligned
    m.put(0x4000 + i * 8, 0x0010'0000'8000'1443 + (uint64_t{i} << 12));
  expect_ok(s1_4k::walk({}, 0x1000, va4, rd, m), 0x8000'5567, 12, 0);
  for (unsigned i = 0; i < 16; ++i)  // aligned, but item 2 read-only
    m.put(0x4000 + i * 8, 0x0010'0000'8000'0443 + (uint64_t{i} << 12) + (i == 2 ? 0x80 : 0));
  expect_ok(s1_4k::walk({}, 0x1000, va4, rd, m), 0x8000'4567, 12, 0);
}

// The walker reads through the memory object only: an unreadable table
// word is a bus_error at that level, with no translation.
TEST(WalkArmv8, UnreadableTableIsBusErrorAtThatLevel) {
  image m = path4k();
  m.put(l1e, 0x0000'00F0'0000'3003);  // next table above readable_end
  expect_fault(s1_4k::walk({}, 0x1000, va4, rd, m), fault_kind::bus_error, 2,
               0xF0'0000'3000 + 3 * 8);
}

// ------------------------------------------------ 4K, stage 1, LPA2 -----
// D8.2/D8.3 FEAT_LPA2 (DS = 1, T0SZ 12): 52-bit VA starts at level -1 with
// 16 items (VA bits 51:48); OA[49:48] in bits 49:48, OA[51:50] in bits 9:8.
constexpr uint64_t va52 = (uint64_t{0xA} << 48) | va4;
image path_lpa2() {
  image m;
  m.put(0x1000 + 0xA * 8, 0x2003);               // L-1
  m.put(0x2000 + 1 * 8, 0x3003);                 // L0
  m.put(0x3000 + 2 * 8, 0x4003);                 // L1
  m.put(0x4000 + 3 * 8, 0x5003);                 // L2
  m.put(0x5000 + 4 * 8, 0x0001'0000'8000'0603);  // L3: OA[51:50] = 0b10, OA[48] = 1, AF
  return m;
}
s1_4k::regs lpa2_regs() {
  s1_4k::regs r;
  r.tsz = 12;
  r.ds = true;
  r.ps = 6;
  return r;
}

TEST(WalkArmv8, Lpa2FiveLevelWalkStartsAtLevelMinus1) {
  image m = path_lpa2();
  expect_ok(s1_4k::walk(lpa2_regs(), 0x1000, va52, rd, m), 0x0009'0000'8000'0567, 12, 0);
  m.put(0x1000 + 0xA * 8, 0);
  expect_fault(s1_4k::walk(lpa2_regs(), 0x1000, va52, rd, m), fault_kind::translation, -1,
               0x1000 + 0xA * 8);
  m.put(0x1000 + 0xA * 8, 0x401);  // no block at level -1
  expect_fault(s1_4k::walk(lpa2_regs(), 0x1000, va52, rd, m), fault_kind::translation, -1,
               0x1000 + 0xA * 8);
}

TEST(WalkArmv8, Lpa2OutputAbovePsIsAddressSizeFault) {
  image m = path_lpa2();
  s1_4k::regs r = lpa2_regs();
  r.ps = 5;  // 48 bits
  expect_fault(s1_4k::walk(r, 0x1000, va52, rd, m), fault_kind::address_size, 3, 0x5000 + 4 * 8);
}

// ------------------------------------------------------ 16K, stage 1 ----
// 48-bit VA: L0 of 2 items (bit 47) at 0x10000, L1 0x20000, L2 0x24000, L3 0x28000.
constexpr uint64_t va16 =
    (uint64_t{1} << 47) | (uint64_t{3} << 36) | (5u << 25) | (7u << 14) | 0x123;
static_assert(va16 == 0x0000'8030'0A01'C123);
image path16k() {
  image m;
  m.put(0x10000 + 1 * 8, 0x20003);
  m.put(0x20000 + 3 * 8, 0x24003);
  m.put(0x24000 + 5 * 8, 0x28003);
  m.put(0x28000 + 7 * 8, 0x8000'0443);
  return m;
}

TEST(WalkArmv8, SixteenKPageTranslatesFromTwoItemLevel0) {
  image m = path16k();
  expect_ok(s1_16k::walk({}, 0x10000, va16, rd, m), 0x8000'0123, 14, 0);
  m.put(0x24000 + 5 * 8, 0);
  expect_fault(s1_16k::walk({}, 0x10000, va16, rd, m), fault_kind::translation, 2, 0x24000 + 5 * 8);
}

// AArch64.BlockDescSupported: 16K L1 (64 GiB) blocks only with DS = 1.
TEST(WalkArmv8, SixteenKLevel1BlockNeedsDs) {
  image m = path16k();
  m.put(0x20000 + 3 * 8, 0x0000'0010'0000'0401);  // 64 GiB block at 2^36
  expect_fault(s1_16k::walk({}, 0x10000, va16, rd, m), fault_kind::translation, 1, 0x20000 + 3 * 8);
  s1_16k::regs ds;
  ds.ds = true;
  expect_ok(s1_16k::walk(ds, 0x10000, va16, rd, m), 0x0010'0A01'C123, 36, 2);
  m.put(0x20000 + 3 * 8, 0x24003);
  m.put(0x24000 + 5 * 8, 0x0000'0000'4000'0401);  // 32 MiB block at L2
  expect_ok(s1_16k::walk({}, 0x10000, va16, rd, m), 0x4001'C123, 25, 1);
}

// D8.7.1: 16K L3 runs are 128 items (2 MiB).
TEST(WalkArmv8, SixteenKContiguousRunIs128Pages) {
  image m = path16k();
  for (unsigned i = 0; i < 128; ++i)
    m.put(0x28000 + i * 8, 0x0010'0000'4000'0443 + (uint64_t{i} << 14));
  expect_ok(s1_16k::walk({}, 0x10000, va16, rd, m), 0x4001'C123, 21, 0);
  m.put(0x28000 + 100 * 8, m.at(0x28000 + 100 * 8) & ~(uint64_t{1} << 52));
  expect_ok(s1_16k::walk({}, 0x10000, va16, rd, m), 0x4001'C123, 14, 0);
}

// ------------------------------------------------------ 64K, stage 1 ----
// 48-bit VA: L1 of 64 items (bits 47:42) at 0x10000, L2 0x20000, L3 0x30000.
constexpr uint64_t va64 = (uint64_t{2} << 42) | (uint64_t{3} << 29) | (4u << 16) | 0x1234;
static_assert(va64 == 0x0000'0800'6004'1234);
image path64k(uint64_t page = 0x8000'0443) {
  image m;
  m.put(0x10000 + 2 * 8, 0x20003);
  m.put(0x20000 + 3 * 8, 0x30003);
  m.put(0x30000 + 4 * 8, page);
  return m;
}

TEST(WalkArmv8, SixtyFourKPageTranslatesFromLevel1) {
  image m = path64k();
  expect_ok(s1_64k::walk({}, 0x10000, va64, rd, m), 0x8000'1234, 16, 0);
  m.put(0x10000 + 2 * 8, 0);
  expect_fault(s1_64k::walk({}, 0x10000, va64, rd, m), fault_kind::translation, 1, 0x10000 + 2 * 8);
}

// D8.3 64K FEAT_LPA: OA[51:48] in bits 15:12 (ignored without FEAT_LPA),
// and 4 TiB L1 blocks exist only with it.
TEST(WalkArmv8, SixtyFourKLpaAddressBitsAndLevel1Blocks) {
  image m = path64k(0x8000'5443);  // bits 15:12 = 5
  s1_64k::regs lpa;
  lpa.lpa = true;
  lpa.ps = 6;
  expect_ok(s1_64k::walk(lpa, 0x10000, va64, rd, m), 0x0005'0000'8000'1234, 16, 0);
  expect_ok(s1_64k::walk({}, 0x10000, va64, rd, m), 0x8000'1234, 16, 0);
  lpa.ps = 5;  // 48-bit PS: OA 0x5'0000'8000'0000 is too large
  expect_fault(s1_64k::walk(lpa, 0x10000, va64, rd, m), fault_kind::address_size, 3,
               0x30000 + 4 * 8);
  m.put(0x10000 + 2 * 8, 0x0000'0400'0000'0401);  // 4 TiB block at 2^42
  expect_fault(s1_64k::walk({}, 0x10000, va64, rd, m), fault_kind::translation, 1, 0x10000 + 2 * 8);
  lpa.ps = 6;
  expect_ok(s1_64k::walk(lpa, 0x10000, va64, rd, m), 0x0400'6004'1234, 42, 2);
}

// D8.7.1: 64K L3 runs are 32 items (2 MiB).
TEST(WalkArmv8, SixtyFourKContiguousRunIs32Pages) {
  image m = path64k();
  for (unsigned i = 0; i < 32; ++i)
    m.put(0x30000 + i * 8, 0x0010'0000'8000'0443 + (uint64_t{i} << 16));
  expect_ok(s1_64k::walk({}, 0x10000, va64, rd, m), 0x8004'1234, 21, 0);
}

// ---------------------------------------------------------- stage 2 -----
// 4K, 40-bit IPA (T0SZ 24), SL0 = 1: starts at L1 with 2 concatenated
// tables (1024 items, IPA bits 39:30) at 0x10000; L2 0x20000, L3 0x21000.
constexpr uint64_t ipa4 =
    (uint64_t{1} << 39) | (uint64_t{5} << 30) | (6u << 21) | (7u << 12) | 0x89;
constexpr oa_t s2l1e = 0x10000 + 517 * 8, s2l3e = 0x21000 + 7 * 8;
image path_s2(uint64_t page = 0x9000'04C3) {  // S2AP 11, AF
  image m;
  m.put(s2l1e, 0x20003);
  m.put(0x20000 + 6 * 8, 0x21003);
  m.put(s2l3e, page);
  return m;
}
s2_4k::regs s2_regs() {
  s2_4k::regs r;
  r.tsz = 24;
  r.sl0 = 1;
  return r;
}

// D8.2 (stage 2 concatenated initial tables, VTCR_EL2.SL0); D8.4 S2AP.
TEST(WalkArmv8, Stage2ConcatenatedTopTranslates) {
  image m = path_s2();
  const walk_result r = s2_4k::walk(s2_regs(), 0x10000, ipa4, rd, m);
  expect_ok(r, 0x9000'0089, 12, 0);
  EXPECT_TRUE(r.t.perms.read && r.t.perms.write && r.t.perms.exec && r.t.perms.user_exec);
}

// AArch64.S2InconsistentSL / IPAIsOutOfRange: translation faults at level 0.
TEST(WalkArmv8, Stage2BadStartLevelOrIpaIsLevel0TranslationFault) {
  image m = path_s2();
  s2_4k::regs r = s2_regs();
  r.sl0 = 0;  // L2 start cannot decode 40 bits
  expect_fault(s2_4k::walk(r, 0x10000, ipa4, rd, m), fault_kind::translation, 0, 0);
  r = s2_regs();
  r.sl2 = 1;  // level -1 needs DS
  expect_fault(s2_4k::walk(r, 0x10000, ipa4, rd, m), fault_kind::translation, 0, 0);
  expect_fault(s2_4k::walk(s2_regs(), 0x10000, ipa4 | (uint64_t{1} << 40), rd, m),
               fault_kind::translation, 0, 0);
  s2_16k::regs r16;
  r16.sl0 = 3;  // 16K L0 start needs DS
  expect_fault(s2_16k::walk(r16, 0x10000, 0, rd, m), fault_kind::translation, 0, 0);
}

// D8.2 / VTCR_EL2.SL2: 4K with DS = 1, SL2 = 1 and SL0 = 0 starts a 52-bit
// IPA walk at level -1 (16 items, IPA bits 51:48).
TEST(WalkArmv8, Stage2Sl2StartsAtLevelMinus1) {
  image m;
  m.put(0x1000 + 3 * 8, 0x2003);  // L-1 index 3
  m.put(0x2000 + 1 * 8, 0x3003);  // L0 index 1
  m.put(0x3000 + 2 * 8, 0x4003);  // L1 index 2
  m.put(0x4000 + 3 * 8, 0x5003);  // L2 index 3
  m.put(0x5000 + 4 * 8, 0x9000'04C3);
  s2_4k::regs r;
  r.tsz = 12;
  r.ds = true;
  r.ps = 6;
  r.sl0 = 0;
  r.sl2 = 1;
  const uint64_t ipa = (uint64_t{3} << 48) | va4;
  expect_ok(s2_4k::walk(r, 0x1000, ipa, rd, m), 0x9000'0567, 12, 0);
  m.put(0x1000 + 3 * 8, 0);
  expect_fault(s2_4k::walk(r, 0x1000, ipa, rd, m), fault_kind::translation, -1, 0x1000 + 3 * 8);
}

// D8.4 stage 2: S2AP[0] read, S2AP[1] write, XN[1] no execution; with
// FEAT_XNX XN[1:0] = 01 forbids EL1 only (XN[0] ignored without it).
TEST(WalkArmv8, Stage2AccessPermissionsAndXn) {
  image m = path_s2(0x9000'0443);  // S2AP 01: read only
  expect_fault(s2_4k::walk(s2_regs(), 0x10000, ipa4, wr, m), fault_kind::permission, 3, s2l3e);
  m = path_s2(0x9000'0483);  // S2AP 10: write only
  expect_fault(s2_4k::walk(s2_regs(), 0x10000, ipa4, rd, m), fault_kind::permission, 3, s2l3e);
  expect_ok(s2_4k::walk(s2_regs(), 0x10000, ipa4, wr, m), 0x9000'0089, 12, 0);
  m = path_s2(0x0040'0000'9000'04C3);  // XN[1]
  expect_fault(s2_4k::walk(s2_regs(), 0x10000, ipa4, ex, m), fault_kind::permission, 3, s2l3e);
  expect_fault(s2_4k::walk(s2_regs(), 0x10000, ipa4, uex, m), fault_kind::permission, 3, s2l3e);
  m = path_s2(0x0020'0000'9000'04C3);  // XN[1:0] = 01
  expect_ok(s2_4k::walk(s2_regs(), 0x10000, ipa4, ex, m), 0x9000'0089, 12, 0);
  s2_4k::regs xnx = s2_regs();
  xnx.xnx = true;
  expect_fault(s2_4k::walk(xnx, 0x10000, ipa4, ex, m), fault_kind::permission, 3, s2l3e);
  expect_ok(s2_4k::walk(xnx, 0x10000, ipa4, uex, m), 0x9000'0089, 12, 0);
  m = path_s2(0x9000'00C3);  // AF = 0
  expect_fault(s2_4k::walk(s2_regs(), 0x10000, ipa4, rd, m), fault_kind::access_flag, 3, s2l3e);
}

// D8.2: 64K stage 2 with a 30-bit IPA starts at L3 (SL0 = 0) with 2
// concatenated tables: the index is IPA bits 29:16 (14 bits).
TEST(WalkArmv8, Stage2SixtyFourKLevel3StartConcatenated) {
  image m;
  m.put(0x40000 + 0x2003 * 8, 0x7000'04C3);
  s2_64k::regs r;
  r.tsz = 34;
  r.sl0 = 0;
  expect_ok(s2_64k::walk(r, 0x40000, (uint64_t{1} << 29) | (3u << 16) | 0x42, rd, m), 0x7000'0042,
            16, 0);
}

// ------------------------------------------ hardware-managed AF / DBM ---
// D8.5 (FEAT_HAFDBS): with HA the walk sets AF; with HA and HD a write to a
// DBM leaf with AP[2] = 1 clears AP[2] (stage 2: sets S2AP[1]), one
// compare-exchange each; without set_ad the walker writes nothing and the
// same accesses fault (access flag / permission).
TEST(WalkArmv8, HardwareAccessFlagIsSetOnlyWithSetAd) {
  s1_4k::regs r;
  r.ha = true;
  image m = path4k(0x8000'0043);  // AF = 0
  expect_fault(s1_4k::walk(r, 0x1000, va4, rd, m), fault_kind::access_flag, 3, l3e);
  read_only ro{m};
  expect_fault(s1_4k::walk(r, 0x1000, va4, rd, ro, true), fault_kind::access_flag, 3, l3e);
  EXPECT_EQ(m.updates, 0u);
  const walk_result ok = s1_4k::walk(r, 0x1000, va4, rd, m, true);
  expect_ok(ok, 0x8000'0567, 12, 0);
  EXPECT_EQ(m.at(l3e), 0x8000'0443u);
  EXPECT_EQ(ok.t.leaf, 0x8000'0443u);
  EXPECT_EQ(m.updates, 1u);
}

TEST(WalkArmv8, DbmWriteClearsAp2WithSetAdElsePermissionFault) {
  s1_4k::regs r;
  r.ha = r.hd = true;
  image m = path4k(0x0008'0000'8000'04C3);  // DBM, AP 11: writable-clean
  expect_fault(s1_4k::walk(r, 0x1000, va4, wr, m), fault_kind::permission, 3, l3e);
  s1_4k::regs no_hd;
  no_hd.ha = true;
  expect_fault(s1_4k::walk(no_hd, 0x1000, va4, wr, m, true), fault_kind::permission, 3, l3e);
  EXPECT_EQ(m.updates, 0u);
  expect_ok(s1_4k::walk(r, 0x1000, va4, rd, m, true), 0x8000'0567, 12, 0);
  EXPECT_EQ(m.at(l3e), 0x0008'0000'8000'04C3u);  // a read leaves it clean
  expect_ok(s1_4k::walk(r, 0x1000, va4, uwr, m, true), 0x8000'0567, 12, 0);
  EXPECT_EQ(m.at(l3e), 0x0008'0000'8000'0443u);  // AP[2] cleared
}

TEST(WalkArmv8, Stage2DbmWriteSetsS2ap1) {
  s2_4k::regs r = s2_regs();
  r.ha = r.hd = true;
  image m = path_s2(0x0008'0000'9000'0443);  // DBM, S2AP 01
  expect_fault(s2_4k::walk(r, 0x10000, ipa4, wr, m), fault_kind::permission, 3, s2l3e);
  expect_ok(s2_4k::walk(r, 0x10000, ipa4, wr, m, true), 0x9000'0089, 12, 0);
  EXPECT_EQ(m.at(s2l3e), 0x0008'0000'9000'04C3u);
}

/// A memory whose leaf another agent changes once before the walker's first
/// compare-exchange lands.
struct racing_image : image {
  oa_t leaf = 0;
  uint64_t other = 0;
  bool raced = false;
  bool cmpxchg64(oa_t oa, uint64_t& expected, uint64_t desired) {
    if (!raced && oa == leaf) {
      raced = true;
      words[oa] = other;
    }
    return image::cmpxchg64(oa, expected, desired);
  }
};

// D8.5 / AArch64.S1Translate: an update that finds the descriptor changed
// walks again and uses the new descriptor.
TEST(WalkArmv8, UpdateRaceWalksAgainWithTheNewDescriptor) {
  racing_image m;
  m.put(l0e, 0x2003);
  m.put(l1e, 0x3003);
  m.put(l2e, 0x4003);
  m.put(l3e, 0x8000'0043);  // AF = 0
  m.leaf = l3e;
  m.other = 0x9000'0043;  // remapped meanwhile, AF = 0
  s1_4k::regs r;
  r.ha = true;
  expect_ok(s1_4k::walk(r, 0x1000, va4, rd, m, true), 0x9000'0567, 12, 0);
  EXPECT_EQ(m.at(l3e), 0x9000'0443u);
}

}  // namespace
