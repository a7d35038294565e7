// tests/exactness_prot_test.cpp - issue 10, defect 8: every `prot` flag is
// honoured in the descriptor the hardware walks, or refused with an errc and
// the table left exactly as it was; never silently dropped.
//
// Every expected word below is written out by hand from the spec, bit by
// bit, never from genpt's own encoder or decoder:
//   x86-64 PTE/PDE (Intel SDM Vol. 3A Tables 4-18/4-20): P 0, R/W 1, U/S 2,
//     PWT 3, PCD 4, A 5, D 6, PS 7 (2M leaf), address 51:12, XD 63.
//   AMD IOMMU v1 PTE ("I/O Page Table Entry"): PR 0, NextLevel 11:9,
//     address 51:12, FC 60, IR 61, IW 62.
//   ARMv8 stage 1 page (Arm ARM D8.3): bits 1:0 = 0b11, AttrIndx 4:2,
//     AP[1] 6 (EL0 access), AP[2] 7 (read-only), SH 9:8, AF 10, nG 11,
//     PXN 53, UXN 54. Stage 2 page: MemAttr 5:2, S2AP 7:6, SH 9:8, AF 10,
//     XN[1:0] 54:53.
#include <gtest/gtest.h>

#include <cstdint>
#include <tuple>
#include <vector>

#include "genpt/genpt.hpp"

namespace {

using genpt::errc;
using genpt::prot;

/// Every non-empty item of [va, va + len): (level, index, raw word).
template <class Table>
std::vector<std::tuple<unsigned, unsigned, std::uint64_t>> raw_items(const Table& t, std::uint64_t va,
                                                                     std::uint64_t len) {
  std::vector<std::tuple<unsigned, unsigned, std::uint64_t>> out;
  t.for_each_item(va, len, [&](const genpt::item_view& v) { out.emplace_back(v.level, v.index, v.word); });
  return out;
}

/// The raw words of the leaf items of [va, va + len).
template <class Table>
std::vector<std::uint64_t> leaf_words(const Table& t, std::uint64_t va, std::uint64_t len) {
  std::vector<std::uint64_t> out;
  t.for_each_item(va, len, [&](const genpt::item_view& v) {
    if (v.kind == genpt::entry_kind::leaf) out.push_back(v.word);
  });
  return out;
}

/// map(prot) must fail with `want` and leave every item as it was.
template <class Table>
void expect_map_refused(Table& t, std::uint64_t va, std::uint64_t oa, std::uint64_t len, prot p, errc want,
                        const char* what) {
  const auto before = raw_items(t, 0, std::uint64_t{1} << 30);
  const auto r = t.map(va, oa, len, p);
  ASSERT_FALSE(r.has_value()) << what;
  EXPECT_EQ(r.error(), want) << what << ": got " << genpt::to_string(r.error());
  EXPECT_EQ(raw_items(t, 0, std::uint64_t{1} << 30), before) << what;
}

/// protect(prot) must fail with `want`, gather nothing and leave every item.
template <class Table>
void expect_protect_refused(Table& t, std::uint64_t va, std::uint64_t len, prot p, errc want,
                            const char* what) {
  const auto before = raw_items(t, 0, std::uint64_t{1} << 30);
  genpt::gather g;
  const auto r = t.protect(va, len, p, g);
  ASSERT_FALSE(r.has_value()) << what;
  EXPECT_EQ(r.error(), want) << what << ": got " << genpt::to_string(r.error());
  EXPECT_TRUE(g.empty()) << what;
  EXPECT_EQ(raw_items(t, 0, std::uint64_t{1} << 30), before) << what;
  t.sync(g);
}

// ------------------------------------------------------------- x86-64 ----

genpt::page_table<genpt::x86_64> x86_table() {
  auto t = genpt::page_table<genpt::x86_64>::create({.top_level = 3});
  EXPECT_TRUE(t.has_value());
  return std::move(*t);
}

/// x86-64 4K PTE for oa 0x5000 with each prot combination.
TEST(Exactness, X86ProtFlagsReachThePte) {  // issue 10, defect 8
  struct row {
    prot p;
    std::uint64_t word;
    const char* what;
  };
  const row rows[] = {
      // P | U/S | A: user, read-only, executable, write-back (PCD = PWT = 0).
      {prot::read, 0x0000'0000'0000'5025, "read"},
      // + R/W + D (pre-set dirty).
      {prot::read | prot::write, 0x0000'0000'0000'5067, "read|write"},
      // priv: U/S = 0 (supervisor only).
      {prot::read | prot::priv, 0x0000'0000'0000'5021, "read|priv"},
      // noexec: XD (bit 63).
      {prot::read | prot::noexec, 0x8000'0000'0000'5025, "read|noexec"},
      // A kernel data page: supervisor, writable, not executable.
      {prot::read | prot::write | prot::noexec | prot::priv, 0x8000'0000'0000'5063,
       "read|write|noexec|priv"},
      // cache: write-back, the PAT entry 0 type (PCD = PWT = 0).
      {prot::read | prot::write | prot::cache, 0x0000'0000'0000'5067, "read|write|cache"},
      // mmio: PCD | PWT, PAT entry 3 = UC (SDM Vol. 3A Table 11-12).
      {prot::read | prot::write | prot::mmio, 0x0000'0000'0000'507F, "read|write|mmio"},
      // write alone: x86 cannot withhold read from a present page.
      {prot::write, 0x0000'0000'0000'5067, "write"},
  };
  for (const row& r : rows) {
    auto t = x86_table();
    ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, r.p).has_value()) << r.what;
    EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), std::vector<std::uint64_t>{r.word}) << r.what;
  }
}

/// A 2 MiB PDE leaf: PS (bit 7) plus the same attribute bits.
TEST(Exactness, X86ProtFlagsReachALargePde) {  // issue 10, defect 8
  auto t = x86_table();
  ASSERT_TRUE(t.map(0x20'0000, 0x40'0000, 0x20'0000, prot::read | prot::noexec | prot::priv).has_value());
  // P | A | PS | XD, U/S clear, oa 0x40'0000.
  EXPECT_EQ(leaf_words(t, 0x20'0000, 0x20'0000), std::vector<std::uint64_t>{0x8000'0000'0040'00A1});
}

TEST(Exactness, X86ProtectWithProtRewritesXdAndUs) {  // issue 10, defect 8
  auto t = x86_table();
  ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, prot::read | prot::write).has_value());
  genpt::gather g;
  ASSERT_TRUE(t.protect(0x1000, 0x1000, prot::read | prot::noexec | prot::priv, g).has_value());
  t.sync(g);
  // P | A | XD; R/W, U/S and D clear.
  EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), std::vector<std::uint64_t>{0x8000'0000'0000'5021});
}

TEST(Exactness, X86ContradictoryOrUnknownProtIsRefusedUnchanged) {  // issue 10, defect 8
  auto t = x86_table();
  ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, prot::read).has_value());
  expect_map_refused(t, 0x2000, 0x6000, 0x1000, prot::read | prot::mmio | prot::cache, errc::invalid_argument,
                     "mmio|cache");
  expect_map_refused(t, 0x2000, 0x6000, 0x1000, prot::read | static_cast<prot>(64), errc::invalid_argument,
                     "unknown flag");
  expect_protect_refused(t, 0x1000, 0x1000, prot::read | prot::mmio | prot::cache, errc::invalid_argument,
                         "protect mmio|cache");
}

// ------------------------------------------------------------- AMDv1 -----

genpt::page_table<genpt::amdv1> amd_table(unsigned features = 0) {
  auto t = genpt::page_table<genpt::amdv1>::create({.starting_level = 2, .features = features});
  EXPECT_TRUE(t.has_value());
  return std::move(*t);
}

TEST(Exactness, Amdv1ProtFlagsReachThePte) {  // issue 10, defect 8
  struct row {
    prot p;
    std::uint64_t word;
    const char* what;
  };
  const row rows[] = {
      {prot::read, 0x2000'0000'0000'5001, "read: PR | IR"},
      {prot::write, 0x4000'0000'0000'5001, "write: PR | IW (write-only is expressible)"},
      {prot::read | prot::write, 0x6000'0000'0000'5001, "read|write: PR | IR | IW"},
      // Host-table requests carry no execute request: noexec holds as is.
      {prot::read | prot::noexec, 0x2000'0000'0000'5001, "read|noexec"},
      // DMA through the IOMMU snoops: cache holds as is.
      {prot::read | prot::cache, 0x2000'0000'0000'5001, "read|cache"},
      {prot::read | prot::mmio, 0x2000'0000'0000'5001, "read|mmio"},
  };
  for (const row& r : rows) {
    auto t = amd_table();
    ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, r.p).has_value()) << r.what;
    EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), std::vector<std::uint64_t>{r.word}) << r.what;
  }
  auto fc = amd_table(genpt::amdv1::force_coherence);
  ASSERT_TRUE(fc.map(0x1000, 0x5000, 0x1000, prot::read | prot::write | prot::cache).has_value());
  EXPECT_EQ(leaf_words(fc, 0x1000, 0x1000), std::vector<std::uint64_t>{0x7000'0000'0000'5001})
      << "force_coherence: FC | IR | IW | PR";
}

/// AMDv1 host tables have no user/supervisor bit: priv cannot be honoured.
TEST(Exactness, Amdv1PrivIsNotSupportedAndChangesNothing) {  // issue 10, defect 8
  auto t = amd_table();
  ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, prot::read).has_value());
  expect_map_refused(t, 0x2000, 0x6000, 0x1000, prot::read | prot::priv, errc::not_supported, "map priv");
  expect_protect_refused(t, 0x1000, 0x1000, prot::read | prot::write | prot::priv, errc::not_supported,
                         "protect priv");
  expect_map_refused(t, 0x2000, 0x6000, 0x1000, prot::read | prot::mmio | prot::cache, errc::invalid_argument,
                     "mmio|cache");
  EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), std::vector<std::uint64_t>{0x2000'0000'0000'5001});
}

// ------------------------------------------------------------- ARMv8 -----

template <class F>
genpt::page_table<F> arm_table() {
  auto t = genpt::page_table<F>::create({.va_lg2 = 48});
  EXPECT_TRUE(t.has_value());
  return std::move(*t);
}

TEST(Exactness, Armv8Stage1ProtFlagsReachThePage) {  // issue 10, defect 8
  struct row {
    prot p;
    std::uint64_t word;
    const char* what;
  };
  const row rows[] = {
      // 0b11 | AttrIndx 0 (NC) | AP[1] 0x40 | AP[2] 0x80 | SH outer 0x200 | AF 0x400 | nG 0x800.
      {prot::read, 0x0000'0000'0000'5EC3, "read"},
      {prot::read | prot::write | prot::cache, 0x0000'0000'0000'5F47, "read|write|cache: AttrIndx 1, SH inner"},
      // priv: AP[1] clear, and UXN: EL0 may not even fetch instructions.
      {prot::read | prot::priv, 0x0040'0000'0000'5E83, "read|priv"},
      {prot::read | prot::noexec, 0x0060'0000'0000'5EC3, "read|noexec: PXN | UXN"},
      {prot::read | prot::write | prot::noexec | prot::priv, 0x0060'0000'0000'5E03,
       "read|write|noexec|priv"},
      {prot::read | prot::write | prot::mmio, 0x0000'0000'0000'5E4B, "read|write|mmio: AttrIndx 2"},
      // write alone: stage 1 AP cannot withhold read.
      {prot::write, 0x0000'0000'0000'5E43, "write"},
  };
  for (const row& r : rows) {
    auto t = arm_table<genpt::armv8_4k_s1>();
    ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, r.p).has_value()) << r.what;
    EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), std::vector<std::uint64_t>{r.word}) << r.what;
  }
}

TEST(Exactness, Armv8Stage2ProtFlagsReachThePage) {  // issue 10, defect 8
  struct row {
    prot p;
    std::uint64_t word;
    const char* what;
  };
  const row rows[] = {
      // 0b11 | MemAttr 0x5 (NC) << 2 | S2AP[0] 0x40 | SH outer 0x200 | AF 0x400.
      {prot::read, 0x0000'0000'0000'5657, "read"},
      {prot::write, 0x0000'0000'0000'5697, "write: S2AP[1] only"},
      {prot::read | prot::write | prot::cache, 0x0000'0000'0000'57FF, "read|write|cache: MemAttr 0xF, SH inner"},
      {prot::read | prot::noexec, 0x0040'0000'0000'5657, "read|noexec: XN 0b10"},
      {prot::read | prot::mmio, 0x0000'0000'0000'5647, "read|mmio: MemAttr 0x1"},
  };
  for (const row& r : rows) {
    auto t = arm_table<genpt::armv8_4k_s2>();
    ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, r.p).has_value()) << r.what;
    EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), std::vector<std::uint64_t>{r.word}) << r.what;
  }
}

/// Stage 2 permissions have no privilege level: priv cannot be honoured.
TEST(Exactness, Armv8Stage2PrivIsNotSupportedAndChangesNothing) {  // issue 10, defect 8
  auto t = arm_table<genpt::armv8_4k_s2>();
  ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, prot::read).has_value());
  expect_map_refused(t, 0x2000, 0x6000, 0x1000, prot::read | prot::priv, errc::not_supported, "map priv");
  expect_protect_refused(t, 0x1000, 0x1000, prot::read | prot::priv, errc::not_supported, "protect priv");
  EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), std::vector<std::uint64_t>{0x0000'0000'0000'5657});
}

TEST(Exactness, Armv8ContradictoryProtIsRefusedUnchanged) {  // issue 10, defect 8
  auto t = arm_table<genpt::armv8_4k_s1>();
  ASSERT_TRUE(t.map(0x1000, 0x5000, 0x1000, prot::read).has_value());
  expect_map_refused(t, 0x2000, 0x6000, 0x1000, prot::read | prot::mmio | prot::cache, errc::invalid_argument,
                     "mmio|cache");
  expect_protect_refused(t, 0x1000, 0x1000, prot::read | prot::mmio | prot::cache, errc::invalid_argument,
                         "protect mmio|cache");
}

}  // namespace
