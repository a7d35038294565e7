// walk_vtd_ss_test.cpp - the VT-d second-stage and EPT hardware walkers
// (genpt/walk/vtd_ss.hpp) over table images written by hand, with results
// written from the specs: VT-d §3.7 (walk, access rights, A/D), §9.8
// (entry formats, reserved fields), fault reasons 4h (input address above
// the AGAW / MGAW), 5h / 6h (write / read), Ch (reserved field); Intel SDM
// Vol. 3C §29.3.2 (EPT walk), §29.3.3.1 (EPT misconfiguration), §29.3.3.2
// (EPT violation), Table 28-7 (exit qualification), §29.3.5 (A/D).
// Nothing here uses genpt's decode.
//
// The image (4-level unless stated): root 0x1000 (PML4), PDPT 0x2000,
// PD 0x3000, PT 0x4000, and
//   va = 0x0000'0100'C080'5678: PML4 index 2 (bits 47:39), PDPT index 3
//   (38:30), PD index 4 (29:21), PT index 5 (20:12), offset 0x678.
// So the walk reads 0x1010, 0x2018, 0x3020, 0x4028.
// Words: R 0x1, W 0x2, X 0x4, memory type 5:3 (WB 6 = 0x30), IPAT 0x40,
// PS 0x80, A 0x100, D 0x200, EPT user-execute 0x400, VT-d SNP 0x800.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "genpt/walk/walk.hpp"
#include "support/walk_test_memory.hpp"

namespace {

using genpt::access;
using genpt::ept_exit;
using genpt::fault_kind;
using genpt::oa_t;
using genpt::walk_result;
using genpt::test::expect_fault;
using genpt::test::map_memory;
using vtd = genpt::hw_walker<genpt::vtd_ss>;
using eptw = genpt::hw_walker<genpt::ept>;

constexpr std::uint64_t va = 0x0000'0100'C080'5678;
constexpr oa_t pml4e = 0x1010, pdpte = 0x2018, pde = 0x3020, pte = 0x4028;

// ------------------------------------------------------------------ VT-d --

/// R|W tables and a R|W 4K page at 0xABCD'E000.
map_memory vtd_4k() {
  map_memory m;
  m.set(pml4e, 0x2003);
  m.set(pdpte, 0x3003);
  m.set(pde, 0x4003);
  m.set(pte, 0xABCD'E003);
  return m;
}

walk_result vrun(map_memory& m, access a = {}, vtd::regs r = {}, std::uint64_t v = va) {
  return vtd::walk(r, 0x1000, v, a, m);
}

// §3.7: one entry per level, indexed by input bits; an SS-PTE maps 4 KiB.
TEST(WalkVtdSs, Translates4KThroughFourLevels) {
  map_memory m = vtd_4k();
  walk_result w = vrun(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(w.t.size_lg2, 12u);
  EXPECT_EQ(w.t.level, 0u);
  EXPECT_EQ(w.t.leaf, 0xABCD'E003u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{pml4e, pdpte, pde, pte}));
  EXPECT_TRUE(m.writes.empty());
  EXPECT_TRUE(w.t.perms.read && w.t.perms.write);
  EXPECT_FALSE(w.t.perms.exec) << "no execute requests by default";
}

// §9.8: PS = 1 in an SS-PDE maps 2 MiB at bits 51:21, in an SS-PDPTE 1 GiB.
TEST(WalkVtdSs, Translates2MAnd1GPages) {
  map_memory m = vtd_4k();
  m.set(pde, 0x4000'0083);
  walk_result w = vrun(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x4000'5678u);
  EXPECT_EQ(w.t.size_lg2, 21u);
  EXPECT_EQ(w.t.level, 1u);
  m.set(pdpte, 0x8000'0083);
  w = vrun(m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x8080'5678u);
  EXPECT_EQ(w.t.size_lg2, 30u);
  EXPECT_EQ(w.t.level, 2u);
}

// AW = 1 (3-level, 39-bit): the walk starts at the SS-PDPT.
TEST(WalkVtdSs, ThreeLevelStartsAtPdpt) {
  map_memory m = vtd_4k();
  vtd::regs r;
  r.levels = 3;
  r.va_bits = 39;
  walk_result w = vtd::walk(r, 0x2000, 0xC080'5678, {}, m);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{pdpte, pde, pte}));
}

// AW = 3 (5-level, 57-bit): SS-PML5E indexed by bits 56:48.
TEST(WalkVtdSs, FiveLevelStartsAtPml5) {
  map_memory m = vtd_4k();
  m.set(0x1008, 0x5003);  // PML5 index 1
  m.set(0x5010, 0x2003);  // PML4 at 0x5000, index 2
  vtd::regs r;
  r.levels = 5;
  r.va_bits = 57;
  walk_result w = vrun(m, {}, r, 0x0001'0000'0000'0000 | va);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{0x1008, 0x5010, pdpte, pde, pte}));
}

// §9.8: R = W = 0 (X ignored without execute requests) is not present.
TEST(WalkVtdSs, NotPresentAtEachLevel) {
  const oa_t items[] = {pml4e, pdpte, pde, pte};
  for (int depth = 4; depth >= 1; --depth) {
    map_memory m = vtd_4k();
    const oa_t item = items[4 - depth];
    const std::uint64_t w = (m.get(item) & ~std::uint64_t{3}) | 0x4;  // X only
    m.set(item, w);
    expect_fault(vrun(m), fault_kind::translation, depth, item, w);
  }
}

// Fault reasons 5h / 6h: R and W ANDed over every level; the fault is
// reported at the leaf.
TEST(WalkVtdSs, ReadAndWritePermissionFaults) {
  {
    map_memory m = vtd_4k();
    m.set(pte, 0xABCD'E002);  // write-only page
    expect_fault(vrun(m), fault_kind::permission, 1, pte, 0xABCD'E002);
    ASSERT_TRUE(vrun(m, {.write = true}).ok) << "write-only DMA";
  }
  {
    map_memory m = vtd_4k();
    m.set(pdpte, 0x3001);  // the SS-PDPTE withholds W
    expect_fault(vrun(m, {.write = true}), fault_kind::permission, 1, pte, 0xABCD'E003);
    walk_result w = vrun(m);
    ASSERT_TRUE(w.ok);
    EXPECT_FALSE(w.t.perms.write);
  }
}

// §3.7.2: an execute request needs R and X on every level, and execute
// requests at all (ERS / SLEE); without them X is ignored and genpt blocks
// the request.
TEST(WalkVtdSs, ExecutePermissionFaults) {
  map_memory m = vtd_4k();
  m.set(pml4e, 0x2007);
  m.set(pdpte, 0x3007);
  m.set(pde, 0x4007);
  m.set(pte, 0xABCD'E007);
  expect_fault(vrun(m, {.exec = true}), fault_kind::permission, 1, pte, 0xABCD'E007);
  vtd::regs r;
  r.exec = true;
  walk_result w = vrun(m, {.exec = true}, r);
  ASSERT_TRUE(w.ok);
  EXPECT_TRUE(w.t.perms.exec);
  m.set(pde, 0x4003);  // no X in the SS-PDE
  expect_fault(vrun(m, {.exec = true}, r), fault_kind::permission, 1, pte, 0xABCD'E007);
}

// Fault reason Ch: a reserved field in a present entry, at its level.
TEST(WalkVtdSs, ReservedFieldsAtEachLevel) {
  {
    map_memory m = vtd_4k();
    m.set(pml4e, 0x4000'0000'0000'2003);  // bit 62
    expect_fault(vrun(m), fault_kind::reserved_bit, 4, pml4e, 0x4000'0000'0000'2003);
  }
  {
    map_memory m = vtd_4k();
    m.set(pml4e, 0x2083);  // PS in an SS-PML4E
    expect_fault(vrun(m), fault_kind::reserved_bit, 4, pml4e, 0x2083);
  }
  {
    map_memory m = vtd_4k();
    m.set(pdpte, 0x100'0000'3003);  // address bit 40 with HAW 40
    vtd::regs r;
    r.oa_bits = 40;
    expect_fault(vrun(m, {}, r), fault_kind::reserved_bit, 3, pdpte, 0x100'0000'3003);
  }
  {
    map_memory m = vtd_4k();
    m.set(pdpte, 0x8000'1083);  // 1G page, bit 12 (29:12 reserved)
    expect_fault(vrun(m), fault_kind::reserved_bit, 3, pdpte, 0x8000'1083);
    m.set(pdpte, 0x8000'0083);
    vtd::regs r;
    r.page_1g = false;  // SLLPS without 1G: PS is reserved
    expect_fault(vrun(m, {}, r), fault_kind::reserved_bit, 3, pdpte, 0x8000'0083);
  }
  {
    map_memory m = vtd_4k();
    m.set(pde, 0x4010'0083);  // 2M page, bit 20 (20:12 reserved)
    expect_fault(vrun(m), fault_kind::reserved_bit, 2, pde, 0x4010'0083);
    m.set(pde, 0x4803);  // SNP in a non-leaf entry
    expect_fault(vrun(m), fault_kind::reserved_bit, 2, pde, 0x4803);
  }
  {
    map_memory m = vtd_4k();
    m.set(pte, 0xABCD'E803);  // SNP without snoop control
    expect_fault(vrun(m), fault_kind::reserved_bit, 1, pte, 0xABCD'E803);
    vtd::regs r;
    r.snoop = true;
    EXPECT_TRUE(vrun(m, {}, r).ok);
  }
  {
    map_memory m = vtd_4k();
    m.set(0x1008, 0x4000'0000'0000'5003);  // bit 62 in an SS-PML5E
    vtd::regs r;
    r.levels = 5;
    r.va_bits = 57;
    expect_fault(vrun(m, {}, r, 0x0001'0000'0000'0000 | va), fault_kind::reserved_bit, 5, 0x1008,
                 0x4000'0000'0000'5003);
  }
  {
    // Bits 61:52, 63, EMT / IPAT and bit 10 are ignored.
    map_memory m = vtd_4k();
    m.set(pte, 0xBFF0'0000'ABCD'E47B);
    EXPECT_TRUE(vrun(m).ok);
  }
}

// Fault reason 4h: input bits at or above min(MGAW, AGAW): no read.
TEST(WalkVtdSs, InputAboveTheAddressWidth) {
  map_memory m = vtd_4k();
  expect_fault(vrun(m, {}, {}, std::uint64_t{1} << 48), fault_kind::address_size, 0, 0, 0);
  vtd::regs r;
  r.va_bits = 39;  // MGAW 39 with a 4-level table
  expect_fault(vrun(m, {}, r, va), fault_kind::address_size, 0, 0, 0);
  EXPECT_TRUE(m.reads.empty());
}

TEST(WalkVtdSs, UnreadableTableIsABusError) {
  map_memory m = vtd_4k();
  m.set(pde, 0x100'0000'0003);  // PT at 2^40 = the memory's limit
  expect_fault(vrun(m), fault_kind::bus_error, 1, 0x100'0000'0028, 0);
}

// §3.7.3: with SSADE, A in every entry used and D in the leaf on writes,
// only on success.
TEST(WalkVtdSs, SsadeSetsAccessedAndDirty) {
  vtd::regs r;
  r.ad = true;
  map_memory m = vtd_4k();
  walk_result w = vtd::walk(r, 0x1000, va, {.write = true}, m, true);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(m.get(pml4e), 0x2103u);
  EXPECT_EQ(m.get(pdpte), 0x3103u);
  EXPECT_EQ(m.get(pde), 0x4103u);
  EXPECT_EQ(m.get(pte), 0xABCD'E303u);
  EXPECT_EQ(w.t.leaf, 0xABCD'E303u);
  EXPECT_EQ(m.writes, (std::vector<oa_t>{pml4e, pdpte, pde, pte}));

  map_memory n = vtd_4k();
  ASSERT_TRUE(vtd::walk(r, 0x1000, va, {}, n, true).ok);
  EXPECT_EQ(n.get(pte), 0xABCD'E103u) << "a read sets A only";

  map_memory off = vtd_4k();
  ASSERT_TRUE(vtd::walk(vtd::regs{}, 0x1000, va, {.write = true}, off, true).ok);
  EXPECT_TRUE(off.writes.empty()) << "SSADE = 0: A/D are ignored bits";

  map_memory f = vtd_4k();
  f.set(pte, 0xABCD'E001);
  EXPECT_FALSE(vtd::walk(r, 0x1000, va, {.write = true}, f, true).ok);
  EXPECT_TRUE(f.writes.empty()) << "a faulting walk writes nothing";
}

// ------------------------------------------------------------------- EPT --

/// R|W|X tables and a R|W|X WB 4K page at 0xABCD'E000.
map_memory ept_4k() {
  map_memory m;
  m.set(pml4e, 0x2007);
  m.set(pdpte, 0x3007);
  m.set(pde, 0x4007);
  m.set(pte, 0xABCD'E037);
  return m;
}

walk_result erun(map_memory& m, access a, eptw::regs r, ept_exit& q, std::uint64_t v = va) {
  return eptw::walk(r, 0x1000, v, a, m, q);
}

TEST(WalkEpt, Translates4KAnd2MAnd1G) {
  map_memory m = ept_4k();
  ept_exit q;
  walk_result w = erun(m, {}, {}, q);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0xABCD'E678u);
  EXPECT_EQ(w.t.size_lg2, 12u);
  EXPECT_TRUE(w.t.perms.read && w.t.perms.write && w.t.perms.exec && w.t.perms.user_exec);
  EXPECT_EQ(m.reads, (std::vector<oa_t>{pml4e, pdpte, pde, pte}));
  m.set(pde, 0x4000'00B7);
  w = erun(m, {}, {}, q);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x4000'5678u);
  EXPECT_EQ(w.t.level, 1u);
  m.set(pdpte, 0x8000'00B7);
  w = erun(m, {}, {}, q);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x8080'5678u);
  EXPECT_EQ(w.t.level, 2u);
}

// §29.3.3.2: bits 2:0 all clear is not present: an EPT violation whose
// exit qualification has bits 6:3 = AND over the entries walked (0).
TEST(WalkEpt, NotPresentIsAViolationAtEachLevel) {
  const oa_t items[] = {pml4e, pdpte, pde, pte};
  for (int depth = 4; depth >= 1; --depth) {
    map_memory m = ept_4k();
    const oa_t item = items[4 - depth];
    const std::uint64_t w = m.get(item) & ~std::uint64_t{7};
    m.set(item, w);
    ept_exit q;
    expect_fault(erun(m, {.write = true}, {}, q), fault_kind::translation, depth, item, w);
    EXPECT_TRUE(q.violation);
    EXPECT_FALSE(q.misconfig);
    EXPECT_EQ(q.bits(), 0x2u) << "write access, nothing readable / writable / executable";
  }
}

// §29.3.3.2: a write through a read-only leaf: violation, qualification
// write (bit 1), readable (3) and executable (5): 0x2A.
TEST(WalkEpt, WriteToReadOnlyIsAViolationWithItsQualification) {
  map_memory m = ept_4k();
  m.set(pte, 0xABCD'E035);
  ept_exit q;
  expect_fault(erun(m, {.write = true}, {}, q), fault_kind::permission, 1, pte, 0xABCD'E035);
  EXPECT_TRUE(q.violation);
  EXPECT_EQ(q.bits(), 0x2Au);
  // A read of a page whose PDPTE withholds R (X only, with execute-only
  // support): read access bit 0, executable bit 5 = 0x21.
  map_memory n = ept_4k();
  n.set(pdpte, 0x3004);
  eptw::regs r;
  r.exec_only = true;
  expect_fault(erun(n, {}, r, q), fault_kind::permission, 1, pte, 0xABCD'E037);
  EXPECT_EQ(q.bits(), 0x21u);
  EXPECT_TRUE(erun(n, {.exec = true}, r, q).ok) << "execute-only";
}

// §29.3.3.1 misconfigurations, at the entry's level.
TEST(WalkEpt, MisconfigurationsAtEachLevel) {
  struct one_case {
    oa_t item;
    int depth;
    std::uint64_t word;
    const char* why;
  };
  const one_case cases[] = {
      {pte, 1, 0xABCD'E032, "W without R"},
      {pde, 2, 0x4002, "W without R in a non-leaf entry"},
      {pte, 1, 0xABCD'E034, "execute-only without the capability"},
      {pte, 1, 0xABCD'E017, "memory type 2"},
      {pte, 1, 0xABCD'E01F, "memory type 3"},
      {pte, 1, 0xABCD'E03F, "memory type 7"},
      {pml4e, 4, 0x2087, "PS (bits 7:3) in a PML4E"},
      {pdpte, 3, 0x3047, "bit 6 (7:3) in a non-leaf PDPTE"},
      {pde, 2, 0x400F, "bit 3 (7:3) in a non-leaf PDE"},
      {pdpte, 3, 0x8000'10B7, "bit 12 of a 1G page (29:12)"},
      {pde, 2, 0x4000'10B7, "bit 12 of a 2M page (20:12)"},
  };
  for (const one_case& c : cases) {
    map_memory m = ept_4k();
    m.set(c.item, c.word);
    ept_exit q;
    SCOPED_TRACE(c.why);
    expect_fault(erun(m, {}, {}, q), fault_kind::reserved_bit, c.depth, c.item, c.word);
    EXPECT_TRUE(q.misconfig);
    EXPECT_FALSE(q.violation);
  }
  // Address bits at or above MAXPHYADDR.
  map_memory m = ept_4k();
  m.set(pde, 0x100'0000'4007);
  eptw::regs r;
  r.oa_bits = 40;
  ept_exit q;
  expect_fault(erun(m, {}, r, q), fault_kind::reserved_bit, 2, pde, 0x100'0000'4007);
  // 1G pages not supported: PS in a PDPTE is reserved.
  map_memory g = ept_4k();
  g.set(pdpte, 0x8000'00B7);
  eptw::regs r1;
  r1.page_1g = false;
  expect_fault(erun(g, {}, r1, q), fault_kind::reserved_bit, 3, pdpte, 0x8000'00B7);
}

// MBEC: bit 2 is supervisor execute, bit 10 user-mode execute; bit 10
// alone makes an entry present.
TEST(WalkEpt, ModeBasedExecuteControl) {
  eptw::regs r;
  r.exec = true;  // MBEC
  map_memory m = ept_4k();
  m.set(pml4e, 0x2407);
  m.set(pdpte, 0x3407);
  m.set(pde, 0x4407);
  m.set(pte, 0xABCD'E035);  // R|X, no bit 10
  ept_exit q;
  ASSERT_TRUE(erun(m, {.exec = true}, r, q).ok) << "supervisor fetch: X";
  expect_fault(erun(m, {.exec = true, .user = true}, r, q), fault_kind::permission, 1, pte, 0xABCD'E035);
  EXPECT_EQ(q.bits(), 0x2Cu) << "fetch, readable, executable; not user-executable";
  m.set(pte, 0xABCD'E431);  // R|XU
  ASSERT_TRUE(erun(m, {.exec = true, .user = true}, r, q).ok);
  expect_fault(erun(m, {.exec = true}, r, q), fault_kind::permission, 1, pte, 0xABCD'E431);
  EXPECT_EQ(q.bits(), 0x4Cu);
  // Bit 10 alone: present (misconfigured without execute-only support).
  m.set(pte, 0xABCD'E430);
  expect_fault(erun(m, {.exec = true, .user = true}, r, q), fault_kind::reserved_bit, 1, pte, 0xABCD'E430);
  r.exec_only = true;
  EXPECT_TRUE(erun(m, {.exec = true, .user = true}, r, q).ok);
  // Without MBEC bit 10 is ignored: not present.
  expect_fault(erun(m, {.exec = true}, eptw::regs{}, q), fault_kind::translation, 1, pte, 0xABCD'E430);
}

TEST(WalkEpt, GuestPhysicalAddressAboveTheWalk) {
  map_memory m = ept_4k();
  ept_exit q;
  expect_fault(erun(m, {}, {}, q, std::uint64_t{1} << 48), fault_kind::address_size, 0, 0, 0);
  EXPECT_TRUE(m.reads.empty());
  eptw::regs r;
  r.levels = 5;
  r.va_bits = 57;
  m.set(0x1000, 0x5007);  // PML5 index 0 -> PML4 at 0x5000
  m.set(0x5010, 0x2007);
  ASSERT_TRUE(erun(m, {}, r, q).ok);
}

// §29.3.5: with EPTP bit 6, A in every entry used, D in the leaf on writes.
TEST(WalkEpt, AdEnableSetsAccessedAndDirty) {
  eptw::regs r;
  r.ad = true;
  map_memory m = ept_4k();
  walk_result w = eptw::walk(r, 0x1000, va, {.write = true}, m, true);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(m.get(pml4e), 0x2107u);
  EXPECT_EQ(m.get(pte), 0xABCD'E337u);
  EXPECT_EQ(m.writes.size(), 4u);
  map_memory f = ept_4k();
  f.set(pte, 0xABCD'E035);
  EXPECT_FALSE(eptw::walk(r, 0x1000, va, {.write = true}, f, true).ok);
  EXPECT_TRUE(f.writes.empty());
}

// genpt/walk/tree.hpp's view: decode_item by the same rules.
TEST(WalkEpt, DecodeItemMatchesTheWalk) {
  const eptw::regs r;
  EXPECT_EQ(eptw::decode_item(r, 0x2007, 3).kind, genpt::item_kind::table);
  EXPECT_EQ(eptw::decode_item(r, 0x2087, 3).kind, genpt::item_kind::bad);
  EXPECT_EQ(eptw::decode_item(r, 0x4000'00B7, 1).kind, genpt::item_kind::leaf);
  EXPECT_EQ(eptw::decode_item(r, 0x30, 0).kind, genpt::item_kind::invalid);
  const vtd::regs v;
  EXPECT_EQ(vtd::decode_item(v, 0x4, 0).kind, genpt::item_kind::invalid);
  EXPECT_EQ(vtd::decode_item(v, 0x2083, 3).kind, genpt::item_kind::bad);
  const auto top = vtd::top_table(v, 0x1FFF);
  EXPECT_TRUE(top.ok);
  EXPECT_EQ(top.table, 0x1000u);
  EXPECT_EQ(top.level, 3u);
}

}  // namespace
