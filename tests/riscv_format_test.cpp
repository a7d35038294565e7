// tests/riscv_format_test.cpp - genpt::riscv bit by bit, against the
// RISC-V Privileged Architecture (Sv39 / Sv48 / Sv57 "page table entry"
// figures and field descriptions, satp; Svnapot; Svpbmt; the Hypervisor
// extension's hgatp and x4 modes).
//
// Every expected PTE, index and register value below is a literal worked
// out by hand from the spec's layouts: V bit 0, R 1, W 2, X 3, U 4, G 5,
// A 6, D 7, RSW 9:8, PPN 53:10 (= PA 55:12), reserved 60:54, PBMT 62:61,
// N 63; satp / hgatp MODE 63:60, ASID 59:44 / VMID 57:44, PPN 43:0. None is
// computed with genpt code.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/fmt.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/page_table.hpp"

// The format contract is checked at compile time, one message per member.
static_assert(genpt::check_format<genpt::riscv>());

namespace {

using genpt::entry_kind;
using genpt::errc;
using genpt::prot;
using genpt::riscv;
using traits = genpt::format_traits<riscv>;
using word = std::uint64_t;

riscv::params params_of(riscv::config c) {
  auto p = riscv::init(c);
  EXPECT_TRUE(p.has_value());
  return p ? *p : riscv::params{};
}
riscv::params sv39(unsigned features = riscv::sign_extend) {
  return params_of({.levels = 3, .features = features});
}
riscv::params sv39x4(unsigned features = riscv::g_stage) {
  return params_of({.levels = 3, .features = features});
}

// -------------------------------------------------------------- bit layout --

// Sv39 "page table entry" figure: V R W X U G A D | RSW 9:8 | PPN 53:10;
// Svpbmt PBMT 62:61; Svnapot N 63; bits 60:54 reserved.
TEST(RiscvBits, PteBitsSitAtTheirSpecPositions) {
  EXPECT_EQ(riscv::V, 0x0000'0000'0000'0001u);
  EXPECT_EQ(riscv::R, 0x0000'0000'0000'0002u);
  EXPECT_EQ(riscv::W, 0x0000'0000'0000'0004u);
  EXPECT_EQ(riscv::X, 0x0000'0000'0000'0008u);
  EXPECT_EQ(riscv::U, 0x0000'0000'0000'0010u);
  EXPECT_EQ(riscv::G, 0x0000'0000'0000'0020u);
  EXPECT_EQ(riscv::A, 0x0000'0000'0000'0040u);
  EXPECT_EQ(riscv::D, 0x0000'0000'0000'0080u);
  EXPECT_EQ(riscv::RSW, 0x0000'0000'0000'0300u);
  EXPECT_EQ(riscv::PPN, 0x003F'FFFF'FFFF'FC00u);
  EXPECT_EQ(riscv::RESERVED, 0x1FC0'0000'0000'0000u);
  EXPECT_EQ(riscv::PBMT, 0x6000'0000'0000'0000u);
  EXPECT_EQ(riscv::N, 0x8000'0000'0000'0000u);
  EXPECT_EQ(riscv::NAPOT_64K, 0x0000'0000'0000'2000u);  // ppn[0][3:0] = 0b1000
}

// Sv39 vpn[2:0] = VA 38:30, 29:21, 20:12; Sv48 adds vpn[3] = 47:39, Sv57 vpn[4] = 56:48.
TEST(RiscvBits, ItemSizesAreFourKTimes512PerLevel) {
  EXPECT_EQ(traits::item_lg2(0), 12u);
  EXPECT_EQ(traits::item_lg2(1), 21u);
  EXPECT_EQ(traits::item_lg2(2), 30u);
  EXPECT_EQ(traits::item_lg2(3), 39u);
  EXPECT_EQ(traits::item_lg2(4), 48u);
}

// VA 0x4040'3045: vpn[2] = 1, vpn[1] = 2, vpn[0] = 3, offset 0x45.
TEST(RiscvBits, Sv39IndexesComeFromTheVpnFields) {
  EXPECT_EQ(traits::index_of(0x4040'3045, 2, 39), 1u);
  EXPECT_EQ(traits::index_of(0x4040'3045, 1, 30), 2u);
  EXPECT_EQ(traits::index_of(0x4040'3045, 0, 21), 3u);
  // Sv48: VA 47:39 = 0x155 at the top.
  EXPECT_EQ(traits::index_of(0x0000'AA80'0000'0000, 3, 48), 0x155u);
}

// Hypervisor "Guest Physical Address Translation": Sv39x4's root is
// indexed by GPA 40:30, 11 bits. GPA 0x169'4000'0000 = 0x5A5 << 30.
TEST(RiscvBits, X4RootIsIndexedByElevenGpaBits) {
  EXPECT_EQ(traits::index_of(0x169'4000'0000, 2, 41), 0x5A5u);
  EXPECT_EQ(traits::index_of(0x1FF'C000'0000, 2, 41), 0x7FFu);
  const auto p = sv39x4();
  EXPECT_EQ(traits::top_table_lg2(p, 2), 14u);  // 16 KiB root
  EXPECT_EQ(p.va_lg2, 41u);
  EXPECT_EQ(params_of({.levels = 4, .features = riscv::g_stage}).va_lg2, 50u);
  EXPECT_EQ(params_of({.levels = 5, .features = riscv::g_stage}).va_lg2, 59u);
  EXPECT_EQ(traits::top_table_lg2(sv39(), 2), 12u);  // 4 KiB root
}

TEST(RiscvBits, LeafSizesPerLevel) {
  const auto p = sv39(), n = sv39(riscv::sign_extend | riscv::svnapot);
  EXPECT_EQ(riscv::leaf_sizes(0, p), 0x0000'0000'0000'1000u);  // 4K
  EXPECT_EQ(riscv::leaf_sizes(0, n), 0x0000'0000'0001'1000u);  // 4K, 64K NAPOT
  EXPECT_EQ(riscv::leaf_sizes(1, n), 0x0000'0000'0020'0000u);  // 2M megapage
  EXPECT_EQ(riscv::leaf_sizes(2, n), 0x0000'0000'4000'0000u);  // 1G gigapage
  EXPECT_EQ(riscv::leaf_sizes(3, n), 0x0000'0080'0000'0000u);  // 512G terapage
  EXPECT_EQ(riscv::leaf_sizes(4, n), 0x0001'0000'0000'0000u);  // 256T petapage
}

// ------------------------------------------------------------------ config --

TEST(RiscvInit, ValidatesModeFeaturesAndWidths) {
  EXPECT_EQ(riscv::init({.levels = 2}).error(), errc::not_supported);
  EXPECT_EQ(riscv::init({.levels = 6}).error(), errc::not_supported);
  EXPECT_EQ(riscv::init({.features = 1u << 9}).error(), errc::not_supported);
  EXPECT_EQ(riscv::init({.features = riscv::sign_extend | riscv::g_stage}).error(), errc::not_supported);
  EXPECT_EQ(riscv::init({.va_lg2 = 40}).error(), errc::not_supported);  // Sv39 decodes 39
  EXPECT_EQ(riscv::init({.va_lg2 = 38}).error(), errc::not_supported);  // canonical check is at bit 38
  EXPECT_EQ(riscv::init({.va_lg2 = 30, .features = 0}).error(), errc::invalid_argument);
  EXPECT_EQ(riscv::init({.oa_lg2 = 57}).error(), errc::invalid_argument);
  EXPECT_EQ(riscv::init({.oa_lg2 = 12}).error(), errc::invalid_argument);
  EXPECT_EQ(riscv::init({.asid = 0x10000}).error(), errc::invalid_argument);
  EXPECT_EQ(riscv::init({.features = riscv::g_stage, .asid = 0x4000}).error(), errc::invalid_argument);
  EXPECT_TRUE(riscv::init({.features = riscv::g_stage, .asid = 0x3FFF}).has_value());
  const auto low = params_of({.levels = 3, .va_lg2 = 38, .oa_lg2 = 40, .features = 0});
  EXPECT_EQ(low.layout, genpt::va_layout::low);
  EXPECT_EQ(low.oa_lg2, 40u);
  EXPECT_EQ(sv39().oa_lg2, 56u);
  EXPECT_EQ(sv39().layout, genpt::va_layout::sign_extend);
  EXPECT_EQ(sv39x4().layout, genpt::va_layout::low);
}

// Sv39: VA bits 63:39 equal bit 38: lower half [0, 2^38), upper half from
// 0xFFFF'FFC0'0000'0000. Sv48: 0xFFFF'8000'0000'0000; Sv57: 0xFF00'0000'0000'0000.
TEST(RiscvInit, CanonicalHalves) {
  auto w = traits::windows(sv39(), 2);
  ASSERT_EQ(w.count, 2u);
  EXPECT_EQ(w.window[0].va, 0u);
  EXPECT_EQ(w.window[0].len, 0x40'0000'0000u);
  EXPECT_EQ(w.window[1].va, 0xFFFF'FFC0'0000'0000u);
  w = traits::windows(params_of({.levels = 4}), 3);
  EXPECT_EQ(w.window[1].va, 0xFFFF'8000'0000'0000u);
  w = traits::windows(params_of({.levels = 5}), 4);
  EXPECT_EQ(w.window[1].va, 0xFF00'0000'0000'0000u);
  w = traits::windows(sv39x4(), 2);  // GPA zero-extended: [0, 2^41)
  ASSERT_EQ(w.count, 1u);
  EXPECT_EQ(w.window[0].len, 0x200'0000'0000u);
}

// ------------------------------------------------------------- descriptors --

TEST(RiscvPte, TablePointerIsVAndPpnOnly) {
  const auto p = sv39();
  // Next table at PA 0x8020'4000: PPN 0x80204 << 10 = 0x2008'1000, V.
  EXPECT_EQ(riscv::make_table(0x8020'4000, 2, p), 0x2008'1001u);
  EXPECT_EQ(riscv::table_oa(0x2008'1001, p), 0x8020'4000u);
  // RSW bit 8 (software "flush done") does not disturb the pointer.
  EXPECT_EQ(riscv::sw_bit_mask(p), 0x100u);
  EXPECT_EQ(riscv::table_oa(0x2008'1101, p), 0x8020'4000u);
  EXPECT_EQ(riscv::classify(0x2008'1101, 2), entry_kind::table);
  // The highest PA: PPN all ones.
  EXPECT_EQ(riscv::make_table(0x00FF'FFFF'FFFF'F000, 1, p), 0x003F'FFFF'FFFF'FC01u);
}

TEST(RiscvPte, ClassifyFollowsVAndRwx) {
  EXPECT_EQ(riscv::classify(0, 2), entry_kind::empty);
  EXPECT_EQ(riscv::classify(0x2008'0CDE, 0), entry_kind::empty);  // V = 0
  EXPECT_EQ(riscv::classify(0x2008'1001, 1), entry_kind::table);  // R = W = X = 0
  EXPECT_EQ(riscv::classify(0x2008'0CDF, 0), entry_kind::leaf);
  EXPECT_EQ(riscv::classify(0x1008'0043, 1), entry_kind::leaf);   // R only
  EXPECT_EQ(riscv::classify(0x1008'0009, 2), entry_kind::leaf);   // X only
}

TEST(RiscvPte, FourKPageFromProtReadWrite) {
  const auto p = sv39();
  const auto a = riscv::attrs_from_prot(prot::read | prot::write, p);
  // PA 0x8020'3000: PPN 0x80203 << 10 = 0x2008'0C00; V R W X U A D = 0xDF.
  EXPECT_EQ(riscv::make_leaf(0x8020'3000, 12, 0, a, p), 0x2008'0CDFu);
  EXPECT_EQ(riscv::entry_oa(0x2008'0CDF, 0, p), 0x8020'3000u);
  EXPECT_EQ(traits::entry_size_lg2(0x2008'0CDF, 0), 12u);
  EXPECT_EQ(riscv::attrs_of(0x2008'0CDF, 0, p), a);
  // make_leaf = attribute bits | encode_oa(oa).
  EXPECT_EQ(riscv::encode_oa(0x8020'3000, p), 0x2008'0C00u);
}

TEST(RiscvPte, MegapageFromProtReadNoexecPriv) {
  const auto p = sv39();
  const auto a = riscv::attrs_from_prot(prot::read | prot::noexec | prot::priv, p);
  // PA 0x4020'0000: PPN 0x40200 << 10 = 0x1008'0000; V R A = 0x43 (U = 0, X = 0, D = 0).
  EXPECT_EQ(riscv::make_leaf(0x4020'0000, 21, 1, a, p), 0x1008'0043u);
  EXPECT_EQ(riscv::entry_oa(0x1008'0043, 1, p), 0x4020'0000u);
}

TEST(RiscvPte, WriteAloneAlsoSetsRead) {
  const auto a = riscv::attrs_from_prot(prot::write, sv39());
  EXPECT_TRUE(a.read);  // R = 0, W = 1 is reserved
  EXPECT_TRUE(a.write);
  EXPECT_TRUE(a.dirty);
}

// Svpbmt "Encodings for PBMT field": 0 PMA, 1 NC, 2 IO, 3 reserved.
TEST(RiscvPte, SvpbmtMemoryTypes) {
  const auto p = sv39(riscv::sign_extend | riscv::svpbmt);
  // Gigapage at PA 0xC000'0000: PPN 0xC0000 << 10 = 0x3000'0000; 0xDF.
  const auto io = riscv::attrs_from_prot(prot::read | prot::write | prot::mmio, p);
  EXPECT_EQ(riscv::make_leaf(0xC000'0000, 30, 2, io, p), 0x4000'0000'3000'00DFu);
  const auto nc = riscv::attrs_from_prot(prot::read | prot::write, p);
  EXPECT_EQ(riscv::make_leaf(0xC000'0000, 30, 2, nc, p), 0x2000'0000'3000'00DFu);
  const auto pma = riscv::attrs_from_prot(prot::read | prot::write | prot::cache, p);
  EXPECT_EQ(riscv::make_leaf(0xC000'0000, 30, 2, pma, p), 0x0000'0000'3000'00DFu);
  EXPECT_EQ(riscv::attrs_of(0x4000'0000'3000'00DF, 2, p).pbmt, 2u);
  // Without Svpbmt: no PBMT bits, the PMAs decide.
  const auto q = sv39();
  EXPECT_EQ(riscv::make_leaf(0xC000'0000, 30, 2, riscv::attrs_from_prot(prot::read | prot::mmio, q), q),
            0x0000'0000'3000'005Bu);  // V R X U A
}

// Svnapot "Page-based NAPOT ranges": 64 KiB is ppn[0][3:0] = 0b1000 with N.
TEST(RiscvPte, NapotSixtyFourK) {
  const auto p = sv39(riscv::sign_extend | riscv::svnapot);
  const auto a = riscv::attrs_from_prot(prot::read | prot::write, p);
  // PA 0x8001'0000: PPN 0x80010 | 0b1000 = 0x80018, << 10 = 0x2000'6000; N; 0xDF.
  EXPECT_EQ(riscv::make_leaf(0x8001'0000, 16, 0, a, p), 0x8000'0000'2000'60DFu);
  EXPECT_EQ(traits::entry_size_lg2(0x8000'0000'2000'60DF, 0), 16u);
  EXPECT_EQ(riscv::entry_oa(0x8000'0000'2000'60DF, 0, p), 0x8001'0000u);
  EXPECT_EQ(traits::leaf_item_step(16, 0, p), 0u);  // all 16 PTEs identical
  EXPECT_EQ(riscv::attrs_of(0x8000'0000'2000'60DF, 0, p), a);
}

TEST(RiscvPte, GStageLeavesAlwaysHaveU) {
  const auto p = sv39x4(riscv::g_stage | riscv::svpbmt);
  const auto a = riscv::attrs_from_prot(prot::read | prot::noexec | prot::cache, p);
  EXPECT_TRUE(a.user);
  // 4K at PA 0x8020'3000: V R U A = 0x53.
  EXPECT_EQ(riscv::make_leaf(0x8020'3000, 12, 0, a, p), 0x2008'0C53u);
  EXPECT_FALSE(riscv::prot_supported(prot::read | prot::priv, p));
  EXPECT_TRUE(riscv::prot_supported(prot::read | prot::priv, sv39()));
  EXPECT_TRUE(riscv::prot_supported(prot::read | prot::mmio | prot::noexec, p));
}

TEST(RiscvPte, AttrsValidRefusesReservedEncodings) {
  const auto p = sv39(riscv::sign_extend | riscv::svpbmt), q = sv39();
  riscv::attrs a;
  EXPECT_FALSE(riscv::attrs_valid(a, p));  // R = W = X = 0 is a pointer
  a.write = true;
  EXPECT_FALSE(riscv::attrs_valid(a, p));  // W without R
  a.read = true;
  EXPECT_TRUE(riscv::attrs_valid(a, p));
  a.pbmt = 3;
  EXPECT_FALSE(riscv::attrs_valid(a, p));  // reserved PBMT
  a.pbmt = 1;
  EXPECT_TRUE(riscv::attrs_valid(a, p));
  EXPECT_FALSE(riscv::attrs_valid(a, q));  // no Svpbmt
  a.pbmt = 0;
  a.rsw = 4;
  EXPECT_FALSE(riscv::attrs_valid(a, p));
  a.rsw = 3;
  a.global = true;
  EXPECT_TRUE(riscv::attrs_valid(a, p));
  EXPECT_FALSE(riscv::attrs_valid(a, sv39x4()));  // G unused in G-stage PTEs
  riscv::attrs x;
  x.exec = true;  // execute-only is a valid leaf
  EXPECT_TRUE(riscv::attrs_valid(x, p));
}

TEST(RiscvPte, DirtyHooks) {
  const auto p = sv39();
  EXPECT_TRUE(riscv::is_write_dirty(0x2008'0CDF, p));
  EXPECT_EQ(riscv::make_write_clean(0x2008'0CDF, p), 0x2008'0C5Fu);
  EXPECT_FALSE(riscv::is_write_dirty(0x2008'0C5F, p));
  EXPECT_EQ(riscv::make_write_dirty(0x2008'0C1F, p), 0x2008'0CDFu);  // A and D
  EXPECT_TRUE(traits::dirty_supported(p));
}

// ------------------------------------------------------------------ hw_info --

// satp: MODE 63:60 (8 Sv39, 9 Sv48, 10 Sv57), ASID 59:44, PPN 43:0.
TEST(RiscvHwInfo, SatpValues) {
  auto h = riscv::make_hw_info(0x8020'0000, 2, params_of({.levels = 3, .asid = 5}));
  EXPECT_EQ(h.atp, 0x8000'5000'0008'0200u);
  EXPECT_EQ(h.mode, 8u);
  EXPECT_EQ(h.levels, 3u);
  EXPECT_FALSE(h.g_stage);
  h = riscv::make_hw_info(0x8020'0000, 3, params_of({.levels = 4}));
  EXPECT_EQ(h.atp, 0x9000'0000'0008'0200u);
  h = riscv::make_hw_info(0x00FF'FFFF'FFFF'F000, 4, params_of({.levels = 5, .asid = 0xFFFF}));
  EXPECT_EQ(h.atp, 0xAFFF'FFFF'FFFF'FFFFu);
  EXPECT_FALSE(h.adue);
  EXPECT_TRUE(riscv::make_hw_info(0, 2, sv39(riscv::sign_extend | riscv::svadu)).adue);
}

// hgatp: MODE 63:60 (8 Sv39x4, 9 Sv48x4, 10 Sv57x4), VMID 57:44, PPN 43:0.
TEST(RiscvHwInfo, HgatpValues) {
  const auto h = riscv::make_hw_info(0x8020'4000, 2, params_of({.levels = 3, .features = riscv::g_stage, .asid = 3}));
  EXPECT_EQ(h.atp, 0x8000'3000'0008'0204u);
  EXPECT_TRUE(h.g_stage);
  EXPECT_TRUE(riscv::root_fits(0x8020'4000, sv39x4()));
  EXPECT_FALSE(riscv::root_fits(0x8020'1000, sv39x4()));  // 16 KiB alignment
  EXPECT_TRUE(riscv::root_fits(0x8020'1000, sv39()));
}

TEST(RiscvHwInfo, LevelNames) {
  const auto p = sv39();
  EXPECT_STREQ(riscv::level_name(0, p), "L0");
  EXPECT_STREQ(riscv::level_name(4, p), "L4");
}

// --------------------------------------------------------- through page_table --

/// Every nonzero item of the table with its level.
template <class Table>
std::vector<genpt::item_view> items(const Table& pt, genpt::va_t va, std::uint64_t len) {
  std::vector<genpt::item_view> out;
  pt.for_each_item(va, len, [&](const genpt::item_view& v) {
    if (v.word) out.push_back(v);
  });
  return out;
}

TEST(RiscvPageTable, NapotLeafFillsSixteenIdenticalPtes) {
  auto pt = genpt::page_table<riscv>::create({.levels = 3, .features = riscv::sign_extend | riscv::svnapot});
  ASSERT_TRUE(pt.has_value());
  ASSERT_TRUE(pt->map(0x1'0000, 0x8001'0000, 0x1'0000, prot::read | prot::write).has_value());
  std::vector<genpt::item_view> leaves;
  for (const auto& v : items(*pt, 0x1'0000, 0x1'0000))
    if (v.level == 0) leaves.push_back(v);
  ASSERT_EQ(leaves.size(), 16u);
  for (unsigned k = 0; k < 16; ++k) {
    EXPECT_EQ(leaves[k].word, 0x8000'0000'2000'60DFu);
    EXPECT_EQ(leaves[k].index, 16u + k);  // VA 0x1'0000 is vpn[0] = 16
  }
  EXPECT_EQ(pt->iova_to_phys(0x1'ABCD), 0x8001'ABCDu);
  EXPECT_EQ(pt->info().pgsize_bitmap & 0x1'1000, 0x1'1000u);
}

TEST(RiscvPageTable, UpperHalfUsesTopIndexesAbove255) {
  auto pt = genpt::page_table<riscv>::create({.levels = 3});
  ASSERT_TRUE(pt.has_value());
  // VA 0xFFFF'FFC0'0000'0000: vpn[2] = 256 (bit 38 set), a 1 GiB page.
  ASSERT_TRUE(pt->map(0xFFFF'FFC0'0000'0000, 0x4000'0000, 0x4000'0000, prot::read).has_value());
  const auto v = items(*pt, 0xFFFF'FFC0'0000'0000, 0x4000'0000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].level, 2u);
  EXPECT_EQ(v[0].index, 256u);
  EXPECT_EQ(v[0].word, 0x1000'005Bu);  // PPN 0x40000 << 10; V R X U A
  EXPECT_EQ(pt->hw_info().atp >> 60, 8u);
}

TEST(RiscvPageTable, GStageRefusesPrivAndUsesTheSixteenKRoot) {
  auto pt = genpt::page_table<riscv>::create({.levels = 3, .features = riscv::g_stage});
  ASSERT_TRUE(pt.has_value());
  EXPECT_EQ(pt->hw_info().root & 0x3FFF, 0u);
  EXPECT_EQ(pt->map(0x0, 0x1000, 0x1000, prot::read | prot::priv).error(), errc::not_supported);
  // GPA 0x1FF'C000'0000 uses top index 0x7FF (GPA 40:30).
  ASSERT_TRUE(pt->map(0x1FF'C000'0000, 0x4000'0000, 0x4000'0000, prot::read | prot::write).has_value());
  const auto v = items(*pt, 0x1FF'C000'0000, 0x4000'0000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].index, 0x7FFu);
  EXPECT_EQ(v[0].word, 0x1000'00DFu);
  riscv::attrs bad;
  bad.read = bad.global = true;
  EXPECT_EQ(pt->map(0x1000, 0x1000, 0x1000, bad).error(), errc::invalid_argument);
}

// ------------------------------------------------------------------ dumps --

TEST(RiscvFmt, AttrsFormatter) {
  riscv::attrs a;
  EXPECT_EQ(fmt::format("{}", a), "none");
  a.read = a.write = a.exec = a.user = a.accessed = a.dirty = true;
  a.pbmt = 2;
  EXPECT_EQ(fmt::format("{}", a), "read|write|exec|user|accessed|dirty|pbmt2");
  a.pbmt = 0;
  a.global = true;
  a.rsw = 1;
  EXPECT_EQ(fmt::format("{}", a), "read|write|exec|user|global|accessed|dirty|rsw1");
}

// Sv39 with Svnapot and Svpbmt: a gigapage, a NAPOT 64 KiB run folded into
// one line, and an IO 4K page. Table addresses are masked in dumps.
TEST(RiscvFmt, GoldenSv39Dump) {
  genpt::level_stats stats;
  {
    auto t = genpt::page_table<riscv>::create(
        {.levels = 3, .features = riscv::sign_extend | riscv::svnapot | riscv::svpbmt}, genpt::heap_levels(&stats));
    ASSERT_TRUE(t.has_value());
    auto& pt = *t;
    const prot rwc = prot::read | prot::write | prot::cache;
    ASSERT_TRUE(pt.map(0, 0x4000'0000, 0x4000'0000, rwc).has_value());  // PPN 0x40000; V R W X U A D
    ASSERT_TRUE(pt.map(0x4001'0000, 0x1234'0000, 0x1'0000, rwc).has_value());  // PPN 0x12348, N
    ASSERT_TRUE(pt.map(0x4002'0000, 0x5000, 0x1000, prot::read | prot::mmio).has_value());  // PBMT IO; V R X U A
    EXPECT_EQ(genpt::dump(pt),
              "[  0] L2 0x0000000000000000..0x000000003fffffff 0x00000000100000df 1G "
              "oa 0x0000000040000000 read|write|exec|user|accessed|dirty\n"
              "[  1] L2 0x0000000040000000..0x000000007fffffff 0x0000000000000001 table\n"
              "  [  0] L1 0x0000000040000000..0x00000000401fffff 0x0000000000000001 table\n"
              "    [ 16..31] \u00d716 L0 0x0000000040010000..0x000000004001ffff 0x80000000048d20df 64K "
              "oa 0x0000000012340000..0x000000001234ffff read|write|exec|user|accessed|dirty\n"
              "    [ 32] L0 0x0000000040020000..0x0000000040020fff 0x400000000000145b 4K "
              "oa 0x0000000000005000 read|exec|user|accessed|pbmt2\n");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

}  // namespace
