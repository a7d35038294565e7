// walk_riscv_test.cpp - the RISC-V hardware walker (genpt/walk/riscv.hpp)
// over table images written by hand, with results written from the RISC-V
// Privileged Architecture ("Virtual Address Translation Process" steps 1-8,
// Sv39 / Sv48 / Sv57 PTE fields, §"Memory Privilege in sstatus" SUM / MXR,
// Svnapot, Svpbmt, Svade / Svadu, the Hypervisor extension's G-stage x4
// modes and guest-page faults, the scause exception codes). Nothing here
// uses genpt's decode.
//
// The Sv39 image: satp.PPN -> root 0x1000, level-1 table 0x2000, level-0
// table 0x3000, and
//   va = 0x4040'3045: vpn[2] = 1 (bits 38:30), vpn[1] = 2 (29:21),
//   vpn[0] = 3 (20:12), offset 0x045.
// So the walk reads 0x1008, 0x2010, 0x3018. A pointer PTE to 0x2000 is
// PPN 2 << 10 | V = 0x801; to 0x3000 0xC01. The leaf maps PA 0xABCD'E000:
// PPN 0xABCDE << 10 = 0x2AF3'7800, with V R W X A D = 0xCF (U = 0).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <random>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/page_table.hpp"
#include "genpt/walk/walk.hpp"
#include "support/walk_test_memory.hpp"

namespace {

using genpt::access;
using genpt::fault_kind;
using genpt::oa_t;
using genpt::walk_result;
using genpt::test::map_memory;
using walker = genpt::hw_walker<genpt::riscv>;
using regs = walker::regs;

constexpr std::uint64_t va = 0x4040'3045;
constexpr oa_t l2e = 0x1008, l1e = 0x2010, l0e = 0x3018;
constexpr std::uint64_t leaf4k = 0x2AF3'78CF;  // PA 0xABCD'E000, V R W X A D

map_memory sv39_4k(std::uint64_t leaf = leaf4k) {
  map_memory m;
  m.set(l2e, 0x801);
  m.set(l1e, 0xC01);
  m.set(l0e, leaf);
  return m;
}

walk_result run(map_memory& m, access a = {}, regs r = {}, std::uint64_t v = va, oa_t root = 0x1000) {
  return walker::walk(r, root, v, a, m);
}

/// A fault of kind k at spec level i (= genpt level) on the given PTE.
void expect_fault(const walk_result& w, fault_kind k, int level, oa_t item, std::uint64_t word) {
  ASSERT_FALSE(w.ok);
  EXPECT_EQ(w.f.kind, k);
  EXPECT_EQ(w.f.spec_level, level);
  EXPECT_EQ(w.f.level, static_cast<unsigned>(level));
  EXPECT_EQ(w.f.item_oa, item);
  EXPECT_EQ(w.f.word, word);
}

constexpr access load{}, store{.write = true}, fetch{.exec = true};
constexpr access uload{.user = true}, ustore{.write = true, .user = true}, ufetch{.exec = true, .user = true};

// ------------------------------------------------------------ translation --

// Steps 1, 2, 4, 8: one PTE per level, indexed by vpn[i].
TEST(WalkRiscv, Sv39Translates4KThroughThreeLevels) {
  map_memory m = sv39_4k();
  const walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E045u);
  EXPECT_EQ(w.t.size_lg2, 12u);
  EXPECT_EQ(w.t.level, 0u);
  EXPECT_EQ(w.t.leaf, leaf4k);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{l2e, l1e, l0e}));
  EXPECT_TRUE(m.writes.empty());
  EXPECT_TRUE(w.t.perms.read && w.t.perms.write && w.t.perms.exec);
  EXPECT_FALSE(w.t.perms.user || w.t.perms.user_exec);
}

// Step 8 with i = 1: pa.ppn[0] = va.vpn[0]. PA 0x4020'0000: PPN 0x40200 << 10 = 0x1008'0000.
TEST(WalkRiscv, Sv39MegapageAtLevel1) {
  map_memory m;
  m.set(l2e, 0x801);
  m.set(l1e, 0x1008'00CF);
  const walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x4020'3045u);
  EXPECT_EQ(w.t.size_lg2, 21u);
  EXPECT_EQ(w.t.level, 1u);
}

// i = 2: a gigapage in the root. PA 0xC000'0000: PPN 0xC0000 << 10 = 0x3000'0000.
TEST(WalkRiscv, Sv39GigapageAtTheRoot) {
  map_memory m;
  m.set(l2e, 0x3000'00CF);
  const walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xC040'3045u);
  EXPECT_EQ(w.t.size_lg2, 30u);
  EXPECT_EQ(w.t.level, 2u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{l2e}));
}

// Sv48: vpn[3] = VA 47:39. VA 0x80'4040'3045: vpn[3] = 1 -> root 0x1008 points to 0x5000
// (PPN 5 << 10 | V = 0x1401); 0x5008 (vpn[2] = 1) to 0x2000.
TEST(WalkRiscv, Sv48TranslatesThroughFourLevels) {
  map_memory m;
  m.set(0x1008, 0x1401);
  m.set(0x5008, 0x801);
  m.set(l1e, 0xC01);
  m.set(l0e, leaf4k);
  const walk_result w = run(m, load, regs{.levels = 4}, 0x80'4040'3045);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E045u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{0x1008, 0x5008, l1e, l0e}));
  // A terapage (512 GiB) at level 3: PA 0x80'0000'0000, PPN 0x8000000 << 10 = 0x20'0000'0000.
  m.set(0x1008, 0x20'0000'00CF);
  const walk_result t = run(m, load, regs{.levels = 4}, 0x80'4040'3045);
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.t.size_lg2, 39u);
  EXPECT_EQ(t.t.oa, 0x80'4040'3045u);
}

// Sv57: vpn[4] = VA 56:48. VA 0x1'0080'4040'3045, root 0x6000: 0x6008 -> 0x1000 (0x401).
TEST(WalkRiscv, Sv57TranslatesThroughFiveLevels) {
  map_memory m;
  m.set(0x6008, 0x401);
  m.set(0x1008, 0x1401);
  m.set(0x5008, 0x801);
  m.set(l1e, 0xC01);
  m.set(l0e, leaf4k);
  const walk_result w = run(m, load, regs{.levels = 5}, 0x1'0080'4040'3045, 0x6000);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E045u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{0x6008, 0x1008, 0x5008, l1e, l0e}));
}

// Svnapot: pte.ppn[0][3:0] = 0b1000 maps 64 KiB; pa.ppn[0][3:0] = va.vpn[0][3:0].
// PA 0x8001'0000: PPN 0x80018 << 10 = 0x2000'6000, N = bit 63.
TEST(WalkRiscv, NapotSixtyFourK) {
  map_memory m = sv39_4k(0x8000'0000'2000'60CF);
  const walk_result w = run(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x8001'3045u);  // vpn[0] = 3
  EXPECT_EQ(w.t.size_lg2, 16u);
  EXPECT_EQ(w.t.level, 0u);
}

// Svpbmt: PBMT 1 (NC) and 2 (IO) on a leaf translate.
TEST(WalkRiscv, PbmtNcAndIoTranslate) {
  map_memory m = sv39_4k(0x4000'0000'2AF3'78CF);
  EXPECT_TRUE(run(m).ok);
  m.set(l0e, 0x2000'0000'2AF3'78CF);
  EXPECT_TRUE(run(m).ok);
}

// Step 1 (Sv): VA bits 63:39 must equal bit 38. The upper half indexes the root from 256.
TEST(WalkRiscv, NonCanonicalVaFaultsBeforeAnyRead) {
  map_memory m = sv39_4k();
  expect_fault(run(m, load, {}, 0x40'0000'0000), fault_kind::non_canonical, 0, 0, 0);
  expect_fault(run(m, load, {}, 0x8000'0000'0000'0000), fault_kind::non_canonical, 0, 0, 0);
  EXPECT_TRUE(m.reads.empty());
  // 0xFFFF'FFC0'4040'3045: vpn[2] = 257 -> 0x1000 + 257 * 8 = 0x1808, empty.
  expect_fault(run(m, load, {}, 0xFFFF'FFC0'4040'3045), fault_kind::translation, 2, 0x1808, 0);
  // Sv48 checks at bit 47.
  expect_fault(run(m, load, regs{.levels = 4}, 0x8000'0000'0000), fault_kind::non_canonical, 0, 0, 0);
}

// Bare (satp.MODE = 0): no translation, no protection.
TEST(WalkRiscv, BareTranslatesToItself) {
  map_memory m;
  const walk_result w = run(m, ustore, regs{.levels = 0}, 0x1234'5678'9ABC);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x1234'5678'9ABCu);
  EXPECT_EQ(w.t.size_lg2, 64u);
  EXPECT_TRUE(m.reads.empty());
}

// ----------------------------------------------------------------- faults --

// Step 3: V = 0 at each level.
TEST(WalkRiscv, InvalidPteFaultsAtEachLevel) {
  map_memory m = sv39_4k();
  m.set(l2e, 0x800);  // V = 0
  expect_fault(run(m), fault_kind::translation, 2, l2e, 0x800);
  m = sv39_4k();
  m.set(l1e, 0);
  expect_fault(run(m), fault_kind::translation, 1, l1e, 0);
  m = sv39_4k(leaf4k & ~std::uint64_t{1});
  expect_fault(run(m), fault_kind::translation, 0, l0e, leaf4k & ~std::uint64_t{1});
}

// Step 4: R = W = X = 0 at level 0 has no next level.
TEST(WalkRiscv, PointerAtLevel0Faults) {
  map_memory m = sv39_4k(0x401);
  expect_fault(run(m), fault_kind::translation, 0, l0e, 0x401);
}

// Step 3: R = 0 with W = 1 is reserved (W alone 0xC5, W + X 0xCD).
TEST(WalkRiscv, WriteWithoutReadIsReserved) {
  map_memory m = sv39_4k(0x2AF3'78C5);
  expect_fault(run(m), fault_kind::reserved_bit, 0, l0e, 0x2AF3'78C5);
  m.set(l0e, 0x2AF3'78CD);
  expect_fault(run(m, fetch), fault_kind::reserved_bit, 0, l0e, 0x2AF3'78CD);
  m = sv39_4k();
  m.set(l1e, 0xC05);  // in a non-leaf position too
  expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, 0xC05);
}

// Step 3: bits 60:54 reserved, at every level.
TEST(WalkRiscv, ReservedHighBitsFault) {
  map_memory m = sv39_4k(leaf4k | (std::uint64_t{1} << 54));
  expect_fault(run(m), fault_kind::reserved_bit, 0, l0e, leaf4k | (std::uint64_t{1} << 54));
  m = sv39_4k();
  m.set(l2e, 0x1000'0000'0000'0801);  // bit 60
  expect_fault(run(m), fault_kind::reserved_bit, 2, l2e, 0x1000'0000'0000'0801);
}

// Svpbmt: PBMT is reserved without the extension, 3 is reserved, and PBMT
// is reserved in non-leaf PTEs.
TEST(WalkRiscv, PbmtReservedEncodings) {
  map_memory m = sv39_4k(0x2000'0000'2AF3'78CF);
  expect_fault(run(m, load, regs{.svpbmt = false}), fault_kind::reserved_bit, 0, l0e, 0x2000'0000'2AF3'78CF);
  m.set(l0e, 0x6000'0000'2AF3'78CF);
  expect_fault(run(m), fault_kind::reserved_bit, 0, l0e, 0x6000'0000'2AF3'78CF);
  m = sv39_4k();
  m.set(l1e, 0x4000'0000'0000'0C01);
  expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, 0x4000'0000'0000'0C01);
}

// Svnapot: N is reserved without the extension, above level 0, in a
// non-leaf PTE, and with any ppn[0][3:0] but 0b1000.
TEST(WalkRiscv, NapotReservedEncodings) {
  const std::uint64_t napot = 0x8000'0000'2000'60CF;
  map_memory m = sv39_4k(napot);
  expect_fault(run(m, load, regs{.svnapot = false}), fault_kind::reserved_bit, 0, l0e, napot);
  m.set(l0e, 0x8000'0000'2000'50CF);  // ppn[0][3:0] = 0b0100 (the reserved 32 KiB form)
  expect_fault(run(m), fault_kind::reserved_bit, 0, l0e, 0x8000'0000'2000'50CF);
  m.set(l0e, 0x8000'0000'2000'40CF);  // ppn[0][3:0] = 0b0000
  expect_fault(run(m), fault_kind::reserved_bit, 0, l0e, 0x8000'0000'2000'40CF);
  m = sv39_4k();
  m.set(l1e, 0x8000'0000'1008'20CF);  // N on a megapage
  expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, 0x8000'0000'1008'20CF);
  m.set(l1e, 0x8000'0000'0000'0C01);  // N on a pointer
  expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, 0x8000'0000'0000'0C01);
}

// Non-leaf PTEs: D, A and U are reserved for future standard use.
TEST(WalkRiscv, NonLeafAccessedDirtyUserAreReserved) {
  for (std::uint64_t bit : {0x40u, 0x80u, 0x10u}) {
    map_memory m = sv39_4k();
    m.set(l1e, 0xC01 | bit);
    expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, 0xC01 | bit);
  }
  map_memory m = sv39_4k();
  m.set(l1e, 0xC01 | 0x20 | 0x300);  // G and RSW are fine in a pointer
  EXPECT_TRUE(run(m).ok);
}

// Step 6: a superpage's low PPN bits must be zero; step 5 comes first.
TEST(WalkRiscv, MisalignedSuperpageFaultsAfterThePermissionCheck) {
  map_memory m;
  m.set(l2e, 0x801);
  m.set(l1e, 0x1008'04CF);  // PA 0x4020'1000: ppn[0] = 1
  expect_fault(run(m), fault_kind::reserved_bit, 1, l1e, 0x1008'04CF);
  expect_fault(run(m, uload), fault_kind::permission, 1, l1e, 0x1008'04CF);
  m = map_memory{};
  m.set(l2e, 0x3008'00CF);  // gigapage at PA 0xC020'0000: ppn[1] = 1
  expect_fault(run(m), fault_kind::reserved_bit, 2, l2e, 0x3008'00CF);
}

// Step 5, privilege: U-mode needs U = 1; S-mode data access to U = 1
// needs SUM; S-mode never fetches from U = 1.
TEST(WalkRiscv, UserAndSupervisorPermissions) {
  map_memory m = sv39_4k();  // U = 0
  expect_fault(run(m, uload), fault_kind::permission, 0, l0e, leaf4k);
  expect_fault(run(m, ufetch), fault_kind::permission, 0, l0e, leaf4k);
  const std::uint64_t user = leaf4k | 0x10;
  m.set(l0e, user);
  EXPECT_TRUE(run(m, uload).ok);
  EXPECT_TRUE(run(m, ustore).ok);
  EXPECT_TRUE(run(m, ufetch).ok);
  expect_fault(run(m, load), fault_kind::permission, 0, l0e, user);
  expect_fault(run(m, store), fault_kind::permission, 0, l0e, user);
  EXPECT_TRUE(run(m, load, regs{.sum = true}).ok);
  EXPECT_TRUE(run(m, store, regs{.sum = true}).ok);
  expect_fault(run(m, fetch, regs{.sum = true}), fault_kind::permission, 0, l0e, user);
  const walk_result w = run(m, uload);
  EXPECT_TRUE(w.t.perms.user && w.t.perms.user_exec);
  EXPECT_FALSE(w.t.perms.exec);  // S-mode may not fetch from it
}

// Step 5, access type: R, W, X; MXR makes X pages readable.
TEST(WalkRiscv, ReadWriteExecuteAndMxr) {
  const std::uint64_t ro = 0x2AF3'7843;  // V R A
  map_memory m = sv39_4k(ro);
  EXPECT_TRUE(run(m).ok);
  expect_fault(run(m, store), fault_kind::permission, 0, l0e, ro);
  expect_fault(run(m, fetch), fault_kind::permission, 0, l0e, ro);
  const std::uint64_t xo = 0x2AF3'7849;  // V X A: execute-only
  m.set(l0e, xo);
  EXPECT_TRUE(run(m, fetch).ok);
  expect_fault(run(m), fault_kind::permission, 0, l0e, xo);
  const walk_result w = run(m, load, regs{.mxr = true});
  ASSERT_TRUE(w.ok);
  EXPECT_TRUE(w.t.perms.read);
  expect_fault(run(m, store, regs{.mxr = true}), fault_kind::permission, 0, l0e, xo);
}

// Step 7 with Svade (no ADUE): A = 0, or a store with D = 0, is a page fault.
TEST(WalkRiscv, AccessedAndDirtyFaultWithoutSvadu) {
  const std::uint64_t no_a = 0x2AF3'788F;  // V R W X D
  map_memory m = sv39_4k(no_a);
  expect_fault(run(m), fault_kind::access_flag, 0, l0e, no_a);
  const std::uint64_t no_d = 0x2AF3'784F;  // V R W X A
  m.set(l0e, no_d);
  EXPECT_TRUE(run(m).ok);  // a load needs no D
  expect_fault(run(m, store), fault_kind::access_flag, 0, l0e, no_d);
  EXPECT_TRUE(m.writes.empty());
}

// Step 7 with Svadu: A (and D on a store) set atomically in the leaf only.
TEST(WalkRiscv, SvaduSetsAccessedAndDirtyByCompareExchange) {
  const std::uint64_t clean = 0x2AF3'780F;  // V R W X, A = D = 0
  map_memory m = sv39_4k(clean);
  const regs r{.adue = true};
  walk_result w = genpt::walk<genpt::riscv>(r, 0x1000, va, load, m, true);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(m.get(l0e), 0x2AF3'784Fu);  // A
  EXPECT_EQ(w.t.leaf, 0x2AF3'784Fu);
  w = genpt::walk<genpt::riscv>(r, 0x1000, va, store, m, true);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(m.get(l0e), 0x2AF3'78CFu);  // A D
  EXPECT_EQ(m.writes, (std::vector<oa_t>{l0e, l0e}));
  EXPECT_EQ(m.get(l1e), 0xC01u);  // pointers untouched
  // Without set_ad the translation is given and nothing is written.
  map_memory n = sv39_4k(clean);
  EXPECT_TRUE(run(n, store, r).ok);
  EXPECT_TRUE(n.writes.empty());
  // A faulting walk writes nothing.
  map_memory f = sv39_4k(0x2AF3'7803);  // V R: a store faults on W
  expect_fault(genpt::walk<genpt::riscv>(r, 0x1000, va, store, f, true), fault_kind::permission, 0, l0e,
               0x2AF3'7803);
  EXPECT_TRUE(f.writes.empty());
}

/// Memory whose leaf changes (not only A/D) under the first A/D update.
struct racing_memory : map_memory {
  bool raced = false;
  bool cmpxchg64(oa_t oa, std::uint64_t& expected, std::uint64_t desired) {
    if (!raced && oa == l0e) {
      raced = true;
      set(l0e, 0x2000'0000'2AF3'780F);  // PBMT changed by another agent
    }
    return map_memory::cmpxchg64(oa, expected, desired);
  }
};

// Step 7: when the PTE changed before the update, the walk starts again.
TEST(WalkRiscv, SvaduRewalksWhenThePteChanged) {
  racing_memory m;
  m.set(l2e, 0x801);
  m.set(l1e, 0xC01);
  m.set(l0e, 0x2AF3'780F);
  const walk_result w = genpt::walk<genpt::riscv>(regs{.adue = true}, 0x1000, va, load, m, true);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.leaf, 0x2000'0000'2AF3'784Fu);
  EXPECT_EQ(m.reads.size(), 6u);  // two walks
}

// Step 2: a PTE the platform cannot read is an access fault.
TEST(WalkRiscv, UnreadablePteIsABusError) {
  map_memory m = sv39_4k();
  m.limit = 0x2000;
  const walk_result w = run(m);
  expect_fault(w, fault_kind::bus_error, 1, l1e, 0);
  EXPECT_EQ(walker::exception_code(w.f, load, {}), 5u);   // load access fault
  EXPECT_EQ(walker::exception_code(w.f, store, {}), 7u);  // store/AMO access fault
  EXPECT_EQ(walker::exception_code(w.f, fetch, {}), 1u);  // instruction access fault
}

// ---------------------------------------------------------------- G-stage --
//
// Sv39x4: 16 KiB root at 0x4000, indexed by GPA 40:30 (11 bits).
// GPA 0x169'4040'3045 = 0x5A5 << 30 | 2 << 21 | 3 << 12 | 0x45: the root
// PTE is at 0x4000 + 0x5A5 * 8 = 0x6D28.

constexpr std::uint64_t gpa = 0x169'4040'3045;
constexpr oa_t groot_e = 0x6D28;
constexpr regs gstage{.levels = 3, .g_stage = true};

map_memory sv39x4(std::uint64_t leaf = leaf4k | 0x10) {
  map_memory m;
  m.set(groot_e, 0x801);
  m.set(l1e, 0xC01);
  m.set(l0e, leaf);
  return m;
}

TEST(WalkRiscvGStage, Sv39x4UsesElevenRootIndexBits) {
  map_memory m = sv39x4();
  const walk_result w = walker::walk(gstage, 0x4000, gpa, load, m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E045u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{groot_e, l1e, l0e}));
  // hgatp.PPN's two low bits read as zero: a root given at 0x7000 is 0x4000.
  m.reads.clear();
  EXPECT_TRUE(walker::walk(gstage, 0x7000, gpa, load, m).ok);
  EXPECT_EQ(m.reads.front(), groot_e);
}

// GPA bits 63:41 must be zero (no sign extension): a guest-page fault.
TEST(WalkRiscvGStage, GpaAboveFortyOneBitsFaults) {
  map_memory m = sv39x4();
  const walk_result w = walker::walk(gstage, 0x4000, 0x200'0000'0000, load, m);
  expect_fault(w, fault_kind::non_canonical, 0, 0, 0);
  EXPECT_TRUE(m.reads.empty());
  EXPECT_EQ(walker::exception_code(w.f, load, gstage), 21u);  // load guest-page fault
  EXPECT_EQ(walker::exception_code(w.f, store, gstage), 23u);
  EXPECT_EQ(walker::exception_code(w.f, fetch, gstage), 20u);
  EXPECT_FALSE(walker::walk(gstage, 0xFFFF'FFFF'FFFF'F000, gpa | 0xFFFF'FE00'0000'0000, load, m).ok);
}

// Every G-stage access is a U-mode access: U = 0 faults even for an
// S-mode (VS) access; G is ignored.
TEST(WalkRiscvGStage, LeavesNeedUAndIgnoreG) {
  map_memory m = sv39x4(leaf4k);  // U = 0
  const walk_result w = walker::walk(gstage, 0x4000, gpa, load, m);
  expect_fault(w, fault_kind::permission, 0, l0e, leaf4k);
  EXPECT_EQ(walker::exception_code(w.f, load, gstage), 21u);
  m.set(l0e, leaf4k | 0x10 | 0x20);  // U and G
  const walk_result g = walker::walk(gstage, 0x4000, gpa, store, m);
  ASSERT_TRUE(g.ok);
  EXPECT_TRUE(g.t.perms.read && g.t.perms.write && g.t.perms.user && g.t.perms.exec);
  // SUM has no meaning here: a U page is accessible to every access.
  EXPECT_TRUE(walker::walk(gstage, 0x4000, gpa, fetch, m).ok);
}

// Sv48x4: GPA 49:39 index the 2048-entry root; GPAs have 50 bits. GPA
// 0x3'FF80'0000'0000 = 0x7FF << 39 uses root PTE 0x4000 + 0x7FF * 8 = 0x7FF8.
TEST(WalkRiscvGStage, Sv48x4) {
  map_memory m;
  m.set(0x7FF8, 0x3000'00DF);  // a terapage at PA 0xC000'0000: not 512 GiB aligned
  const regs r{.levels = 4, .g_stage = true};
  expect_fault(walker::walk(r, 0x4000, 0x3'FF80'0000'0000, load, m), fault_kind::reserved_bit, 3, 0x7FF8,
               0x3000'00DF);
  m.set(0x7FF8, 0x20'0000'00DF);  // PA 0x80'0000'0000 (PPN 0x800'0000 << 10): aligned
  const walk_result w = walker::walk(r, 0x4000, 0x3'FF80'0000'1234, load, m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x80'0000'1234u);
  EXPECT_EQ(w.t.size_lg2, 39u);
  expect_fault(walker::walk(r, 0x4000, 0x4'0000'0000'0000, load, m), fault_kind::non_canonical, 0, 0, 0);
}

// ------------------------------------------------------------ registers --

TEST(WalkRiscvRegs, FromSatpAndHgatp) {
  // satp Sv39, ASID 5, PPN 0x80200.
  regs r = walker::regs_from_atp(0x8000'5000'0008'0200, false);
  EXPECT_EQ(r.levels, 3u);
  EXPECT_EQ(walker::root_of(0x8000'5000'0008'0200, false), 0x8020'0000u);
  EXPECT_EQ(walker::regs_from_atp(0x9000'0000'0000'0001, false).levels, 4u);
  EXPECT_EQ(walker::regs_from_atp(0xA000'0000'0000'0001, false).levels, 5u);
  EXPECT_EQ(walker::regs_from_atp(0, false).levels, 0u);  // Bare
  // hgatp Sv39x4, PPN 0x80205: bits 1:0 read as zero -> 0x8020'4000.
  r = walker::regs_from_atp(0x8000'3000'0008'0205, true);
  EXPECT_TRUE(r.g_stage);
  EXPECT_EQ(walker::root_of(0x8000'3000'0008'0205, true), 0x8020'4000u);
  // A reserved MODE: every walk faults.
  map_memory m;
  const regs bad = walker::regs_from_atp(0x1000'0000'0000'0000, false);
  EXPECT_FALSE(walker::top_table(bad, 0).ok);
  expect_fault(walker::walk(bad, 0, 0, load, m), fault_kind::reserved_bit, 0, 0, 0);
}

TEST(WalkRiscvRegs, FromGenptParams) {
  auto p = genpt::riscv::init({.levels = 4, .features = genpt::riscv::g_stage | genpt::riscv::svadu});
  ASSERT_TRUE(p.has_value());
  const regs r = walker::regs_from(*p, 3);
  EXPECT_EQ(r.levels, 4u);
  EXPECT_TRUE(r.g_stage);
  EXPECT_TRUE(r.adue);
  EXPECT_TRUE(r.sum);
  EXPECT_FALSE(r.svnapot);
  EXPECT_FALSE(r.svpbmt);
  const genpt::tree_top t = walker::top_table(r, 0x8000);
  EXPECT_TRUE(t.ok);
  EXPECT_EQ(t.items_lg2, 11u);
  EXPECT_EQ(t.level, 3u);
  EXPECT_EQ(t.sign_bit, 64u);
  EXPECT_EQ(walker::top_table(regs{}, 0x1000).sign_bit, 38u);
}

TEST(WalkRiscvRegs, DecodeItemReadsOnePte) {
  const regs r{};
  auto d = walker::decode_item(r, leaf4k, 0);
  EXPECT_EQ(d.kind, genpt::item_kind::leaf);
  EXPECT_EQ(d.oa, 0xABCD'E000u);
  EXPECT_EQ(d.size_lg2, 12u);
  d = walker::decode_item(r, 0xC01, 1);
  EXPECT_EQ(d.kind, genpt::item_kind::table);
  EXPECT_EQ(d.oa, 0x3000u);
  EXPECT_EQ(d.next_level, 0u);
  EXPECT_EQ(walker::decode_item(r, 0xC01, 0).kind, genpt::item_kind::bad);  // pointer at level 0
  EXPECT_EQ(walker::decode_item(r, 0x1008'04CF, 1).fault, fault_kind::reserved_bit);  // misaligned
  EXPECT_EQ(walker::decode_item(r, 0x8000'0000'2000'60CF, 0).size_lg2, 16u);
  EXPECT_EQ(walker::decode_item(r, 0x8000'0000'2000'60CF, 0).oa, 0x8001'0000u);
  EXPECT_EQ(walker::decode_item(r, 0x800, 2).kind, genpt::item_kind::invalid);
}

// ------------------------------------------------- genpt-built, corrupted --

/// A 64 KiB-aligned zeroed block the arena places tables in.
struct block {
  explicit block(std::size_t n)
      : size(n), p(static_cast<std::byte*>(::operator new(n, std::align_val_t{65536}))) {
    for (std::size_t i = 0; i < n; ++i) p[i] = std::byte{0};
  }
  ~block() { ::operator delete(p, std::align_val_t{65536}); }
  block(const block&) = delete;
  block& operator=(const block&) = delete;
  std::size_t size;
  std::byte* p;
};

/// Counts reads: a walk reads at most one PTE per level.
struct counting {
  genpt::span_memory& m;
  unsigned reads = 0;
  bool read64(oa_t oa, std::uint64_t& out) {
    ++reads;
    return m.read64(oa, out);
  }
};

/// A genpt table of every size (Sv39 with Svnapot and Svpbmt, and Sv39x4),
/// walked before and after random bit flips: every walk of the intact
/// image agrees with iova_to_phys; over the flipped images every walk ends
/// in a translation or a fault, reads at most `levels` PTEs, only through
/// the memory object (run under ASan), and a translation keeps the va's
/// offset inside its page.
void built_then_corrupted(const genpt::riscv::config& c, unsigned levels) {
  constexpr oa_t base = 0x1'0000'0000;
  block mem(std::size_t{4} << 20);
  auto pt = genpt::page_table<genpt::riscv, genpt::arena_levels>::create(
      c, genpt::arena_levels(mem.p, mem.size, base));
  ASSERT_TRUE(pt.has_value());
  std::vector<std::uint64_t> vas;
  std::uint64_t va0 = 0x4000'0000, oa0 = 0x2'0000'0000;
  for (unsigned s : {30u, 21u, 16u, 12u}) {
    if (!((pt->info().pgsize_bitmap >> s) & 1)) continue;
    const std::uint64_t len = std::uint64_t{1} << s;
    ASSERT_TRUE(pt->map(va0, oa0, len, genpt::prot::read | genpt::prot::write).has_value());
    vas.push_back(va0);
    vas.push_back(va0 + len - 1);
    va0 += std::uint64_t{1} << 30;
    oa0 += std::uint64_t{1} << 30;
  }
  const genpt::arena_image img = pt->allocator().image(pt->hw_info().root);
  const regs r = walker::regs_from(pt->params(), pt->info().top_level);
  genpt::span_memory intact(img.bytes, img.size, base);
  for (std::uint64_t v : vas) {
    const walk_result w = genpt::walk<genpt::riscv>(r, pt->hw_info().root, v, store, intact);
    ASSERT_TRUE(w.ok) << std::hex << v;
    EXPECT_EQ(std::optional<oa_t>{w.t.oa}, pt->iova_to_phys(v)) << std::hex << v;
  }
  std::mt19937_64 rng(levels);
  unsigned ok = 0, faults = 0;
  for (unsigned round = 0; round < 300; ++round) {
    std::vector<std::byte> copy(img.bytes, img.bytes + img.size);
    for (unsigned f = 0; f < 1 + rng() % 8; ++f) copy[rng() % copy.size()] ^= std::byte(1u << (rng() % 8));
    genpt::span_memory sm(copy.data(), copy.size(), base);
    for (unsigned i = 0; i < 40; ++i) {
      const std::uint64_t v = i % 2 ? vas[rng() % vas.size()] + (rng() & 0xFFF) : rng() >> (rng() % 40);
      const access a{.write = (rng() & 1) != 0, .exec = (rng() & 3) == 0, .user = (rng() & 1) != 0};
      counting cm{sm};
      const walk_result w = genpt::walk<genpt::riscv>(r, pt->hw_info().root, v, a, cm);
      ASSERT_LE(cm.reads, levels);
      if (w.ok) {
        ++ok;
        ASSERT_LE(w.t.size_lg2, 39u);
        const std::uint64_t low = (std::uint64_t{1} << w.t.size_lg2) - 1;
        ASSERT_EQ(w.t.oa & low, v & low);
      } else {
        ++faults;
        ASSERT_LE(static_cast<unsigned>(w.f.kind), static_cast<unsigned>(fault_kind::bus_error));
      }
    }
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(faults, 0u);
}

TEST(WalkRiscvBuilt, Sv39TableAgreesThenSurvivesCorruption) {
  built_then_corrupted({.levels = 3,
                        .features = genpt::riscv::sign_extend | genpt::riscv::svnapot | genpt::riscv::svpbmt},
                       3);
}

TEST(WalkRiscvBuilt, Sv39x4TableAgreesThenSurvivesCorruption) {
  built_then_corrupted({.levels = 3, .features = genpt::riscv::g_stage | genpt::riscv::svnapot}, 3);
}

}  // namespace
