// tests/vtd_ss_format_test.cpp - the vtd_ss and ept formats' bits, checked
// against values written out by hand from the specs:
//
// VT-d spec §9.8 "Second-Stage Paging Entries" (SS-PML5E .. SS-PTE):
//   R 0x1, W 0x2, X 0x4, EMT bits 5:3 (0x38), IPAT 0x40, PS 0x80,
//   A 0x100, D 0x200, SNP 0x800, address bits 51:12; context / PASID
//   entry AW 1 = 39-bit (3-level), 2 = 48-bit, 3 = 57-bit (§9.3, §9.6).
// Intel SDM Vol. 3C §29.3.2 Tables 29-2 .. 29-7 (EPT entries) and §25.6.11
// Table 25-9 (EPTP): R 0x1, W 0x2, X 0x4, memory type 5:3 (WB = 6: 0x30),
//   IPAT 0x40, PS 0x80, A 0x100, D 0x200, user-execute 0x400, suppress-#VE
//   bit 63; EPTP memory type 2:0, walk length - 1 in 5:3, A/D enable bit 6.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/fmt.hpp"
#include "genpt/format/vtd_ss.hpp"
#include "genpt/page_table.hpp"

namespace {

using genpt::entry_kind;
using genpt::ept;
using genpt::errc;
using genpt::prot;
using genpt::vtd_ss;
using word = std::uint64_t;

template <class F>
typename F::params params_of(unsigned top_level, unsigned features, unsigned oa_lg2 = 0) {
  typename F::config c;
  c.top_level = top_level;
  c.features = features;
  c.oa_lg2 = oa_lg2;
  auto p = F::init(c);
  EXPECT_TRUE(p.has_value());
  return p.has_value() ? *p : typename F::params{};
}

// ------------------------------------------------------------------ VT-d --

TEST(VtdSsFormat, BitConstantsSitWhereSection9_8PutsThem) {
  EXPECT_EQ(vtd_ss::R, 0x1u);
  EXPECT_EQ(vtd_ss::W, 0x2u);
  EXPECT_EQ(vtd_ss::X, 0x4u);
  EXPECT_EQ(vtd_ss::EMT, 0x38u);
  EXPECT_EQ(vtd_ss::IPAT, 0x40u);
  EXPECT_EQ(vtd_ss::PS, 0x80u);
  EXPECT_EQ(vtd_ss::A, 0x100u);
  EXPECT_EQ(vtd_ss::D, 0x200u);
  EXPECT_EQ(vtd_ss::SNP, 0x800u);
  EXPECT_EQ(vtd_ss::ADDR, 0x000F'FFFF'FFFF'F000u);
}

TEST(VtdSsFormat, TablesAreReadWriteExecute) {
  const auto p = params_of<vtd_ss>(3, 0);
  EXPECT_EQ(vtd_ss::make_table(0xABCD'E000, 1, p), 0xABCD'E007u);
  EXPECT_EQ(vtd_ss::make_table(0x000F'FFFF'FFFF'F000, 3, p), 0x000F'FFFF'FFFF'F007u);
  EXPECT_EQ(vtd_ss::table_oa(0xC000'0000'ABCD'EFFFu, p), 0xABCD'E000u);
}

TEST(VtdSsFormat, ProtReadWriteIs4KLeafRW) {
  const auto p = params_of<vtd_ss>(3, 0);
  const auto a = vtd_ss::attrs_from_prot(prot::read | prot::write, p);
  EXPECT_EQ(vtd_ss::make_leaf(0x1234'5000, 12, 0, a, p), 0x1234'5003u);  // no X without `exec`
  EXPECT_EQ(vtd_ss::make_leaf(0x1234'5000, 12, 0, vtd_ss::attrs_from_prot(prot::write, p), p),
            0x1234'5002u)
      << "write-only DMA: W without R";
  EXPECT_EQ(vtd_ss::make_leaf(0x1234'5000, 12, 0, vtd_ss::attrs_from_prot(prot::read, p), p),
            0x1234'5001u);
}

TEST(VtdSsFormat, SnoopControlPutsSnpInA2MLeafForCache) {
  const auto p = params_of<vtd_ss>(3, vtd_ss::snoop);
  const auto a = vtd_ss::attrs_from_prot(prot::read | prot::write | prot::cache, p);
  // SNP 0x800 | PS 0x80 | W | R.
  EXPECT_EQ(vtd_ss::make_leaf(0x4020'0000, 21, 1, a, p), 0x4020'0883u);
  const auto m = vtd_ss::attrs_from_prot(prot::read | prot::write | prot::mmio, p);
  EXPECT_EQ(vtd_ss::make_leaf(0x4020'0000, 21, 1, m, p), 0x4020'0083u) << "mmio is never snooped";
}

TEST(VtdSsFormat, AdPresetsAccessedAndDirtyOnA1GLeaf) {
  const auto p = params_of<vtd_ss>(3, vtd_ss::ad);
  EXPECT_EQ(vtd_ss::make_leaf(0x1'4000'0000, 30, 2, vtd_ss::attrs_from_prot(prot::read | prot::write, p), p),
            0x1'4000'0383u);  // D 0x200 | A 0x100 | PS 0x80 | W | R
  EXPECT_EQ(vtd_ss::make_leaf(0x1'4000'0000, 30, 2, vtd_ss::attrs_from_prot(prot::read, p), p),
            0x1'4000'0181u);  // read-only: A, no D
}

TEST(VtdSsFormat, ExecuteRequestsSetXUnlessNoexec) {
  const auto p = params_of<vtd_ss>(3, vtd_ss::exec);
  EXPECT_EQ(vtd_ss::make_leaf(0x5000, 12, 0, vtd_ss::attrs_from_prot(prot::read, p), p), 0x5005u);
  EXPECT_EQ(vtd_ss::make_leaf(0x5000, 12, 0, vtd_ss::attrs_from_prot(prot::read | prot::noexec, p), p),
            0x5001u);
}

TEST(VtdSsFormat, MemtypeWritesEmtWbOrUcWithIpat) {
  const auto p = params_of<vtd_ss>(3, vtd_ss::memtype);
  // WB = 6 in bits 5:3 = 0x30.
  EXPECT_EQ(vtd_ss::make_leaf(0x5000, 12, 0, vtd_ss::attrs_from_prot(prot::read | prot::cache, p), p),
            0x5031u);
  // UC = 0, IPAT 0x40.
  EXPECT_EQ(vtd_ss::make_leaf(0x5000, 12, 0, vtd_ss::attrs_from_prot(prot::read | prot::mmio, p), p),
            0x5041u);
}

TEST(VtdSsFormat, EveryAttrsFieldRoundTripsAtEverySize) {
  const auto p = params_of<vtd_ss>(4, vtd_ss::ad | vtd_ss::exec | vtd_ss::snoop | vtd_ss::memtype);
  vtd_ss::attrs a;
  a.read = a.write = a.exec = a.snoop = a.ipat = a.accessed = a.dirty = true;
  a.emt = 4;  // WT: 0x20
  const word bits = 0x1 | 0x2 | 0x4 | 0x20 | 0x40 | 0x100 | 0x200 | 0x800;
  EXPECT_EQ(vtd_ss::make_leaf(0x000F'FFFF'FFFF'F000, 12, 0, a, p), 0x000F'FFFF'FFFF'F000u | bits);
  EXPECT_EQ(vtd_ss::make_leaf(0x000F'FFFF'FFE0'0000, 21, 1, a, p), 0x000F'FFFF'FFE0'0000u | bits | 0x80);
  EXPECT_EQ(vtd_ss::make_leaf(0x000F'FFFF'C000'0000, 30, 2, a, p), 0x000F'FFFF'C000'0000u | bits | 0x80);
  for (unsigned level = 0; level <= 2; ++level) {
    const word oa = 0x000F'FFFF'C000'0000;
    const word e = vtd_ss::make_leaf(oa, 12 + 9 * level, level, a, p);
    EXPECT_EQ(vtd_ss::classify(e, level), entry_kind::leaf);
    EXPECT_EQ(vtd_ss::entry_oa(e, level, p), oa);
    EXPECT_TRUE(vtd_ss::attrs_of(e, level, p) == a);
    EXPECT_TRUE(vtd_ss::attrs_valid(a, p));
  }
}

TEST(VtdSsFormat, ClassifyPresentIsAnyOfRWXAndPsOnlyAtLevels1And2) {
  for (unsigned level = 0; level <= 4; ++level) {
    EXPECT_EQ(vtd_ss::classify(0, level), entry_kind::empty);
    EXPECT_EQ(vtd_ss::classify(0xFFFF'FFFF'FFFF'FFF8u, level), entry_kind::empty) << level;
  }
  EXPECT_EQ(vtd_ss::classify(0x1, 0), entry_kind::leaf);
  EXPECT_EQ(vtd_ss::classify(0x2, 0), entry_kind::leaf);
  EXPECT_EQ(vtd_ss::classify(0x3, 1), entry_kind::table);
  EXPECT_EQ(vtd_ss::classify(0x83, 1), entry_kind::leaf);
  EXPECT_EQ(vtd_ss::classify(0x83, 2), entry_kind::leaf);
  EXPECT_EQ(vtd_ss::classify(0x83, 3), entry_kind::table);
  EXPECT_EQ(vtd_ss::classify(0x83, 4), entry_kind::table);
}

TEST(VtdSsFormat, LeafSizesFollowSllps) {
  const auto p = params_of<vtd_ss>(3, 0);
  EXPECT_EQ(vtd_ss::leaf_sizes(0, p), 0x1000u);
  EXPECT_EQ(vtd_ss::leaf_sizes(1, p), 0x20'0000u);
  EXPECT_EQ(vtd_ss::leaf_sizes(2, p), 0x4000'0000u);
  EXPECT_EQ(vtd_ss::leaf_sizes(3, p), 0u);
  const auto q = params_of<vtd_ss>(3, vtd_ss::no_1g);
  EXPECT_EQ(vtd_ss::leaf_sizes(2, q), 0u);
  const auto r = params_of<vtd_ss>(3, vtd_ss::no_2m | vtd_ss::no_1g);
  EXPECT_EQ(vtd_ss::leaf_sizes(1, r), 0u);
}

TEST(VtdSsFormat, InitTakesThreeFourFiveLevels) {
  for (unsigned top = 2; top <= 4; ++top) {
    vtd_ss::config c;
    c.top_level = top;
    const auto p = vtd_ss::init(c);
    ASSERT_TRUE(p.has_value()) << top;
    EXPECT_EQ(p->va_lg2, 12 + 9 * (top + 1));
    EXPECT_EQ(p->oa_lg2, 52u);
    EXPECT_EQ(p->layout, genpt::va_layout::low);
  }
  vtd_ss::config c;
  c.top_level = 1;
  EXPECT_EQ(vtd_ss::init(c).error(), errc::not_supported);
  c.top_level = 5;
  EXPECT_EQ(vtd_ss::init(c).error(), errc::not_supported);
  c.top_level = 3;
  c.va_lg2 = 49;
  EXPECT_EQ(vtd_ss::init(c).error(), errc::not_supported);
  c.va_lg2 = 39;  // the top (512G items) would decode one item
  EXPECT_EQ(vtd_ss::init(c).error(), errc::invalid_argument);
  c.va_lg2 = 40;
  EXPECT_TRUE(vtd_ss::init(c).has_value());
  c.va_lg2 = 0;
  c.oa_lg2 = 53;
  EXPECT_EQ(vtd_ss::init(c).error(), errc::invalid_argument);
  c.oa_lg2 = 0;
  c.features = vtd_ss::mbec;  // an EPT feature
  EXPECT_EQ(vtd_ss::init(c).error(), errc::not_supported);
  c.features = 1u << 20;
  EXPECT_EQ(vtd_ss::init(c).error(), errc::not_supported);
}

TEST(VtdSsFormat, HwInfoGivesAwAndSagawBit) {
  const auto p3 = params_of<vtd_ss>(2, 0);
  const auto h3 = vtd_ss::make_hw_info(0x7000, 2, p3);
  EXPECT_EQ(h3.root, 0x7000u);
  EXPECT_EQ(h3.levels, 3u);
  EXPECT_EQ(h3.aw, 1u);  // 39-bit AGAW
  EXPECT_EQ(h3.sagaw_bit, 1u);
  EXPECT_FALSE(h3.ad);
  EXPECT_EQ(h3.eptp, 0u);
  const auto p5 = params_of<vtd_ss>(4, vtd_ss::ad | vtd_ss::exec | vtd_ss::memtype);
  const auto h5 = vtd_ss::make_hw_info(0x8000, 4, p5);
  EXPECT_EQ(h5.levels, 5u);
  EXPECT_EQ(h5.aw, 3u);  // 57-bit AGAW
  EXPECT_EQ(h5.sagaw_bit, 3u);
  EXPECT_TRUE(h5.ad && h5.exec && h5.emte);
}

TEST(VtdSsFormat, AttrsValidRefusesWhatTheHardwareWouldNotTake) {
  const auto p = params_of<vtd_ss>(3, 0);
  vtd_ss::attrs a;
  EXPECT_FALSE(vtd_ss::attrs_valid(a, p)) << "no R, no W: not present";
  a.read = true;
  EXPECT_TRUE(vtd_ss::attrs_valid(a, p));
  auto b = a;
  b.exec = true;
  EXPECT_FALSE(vtd_ss::attrs_valid(b, p)) << "X without execute requests";
  b = a;
  b.snoop = true;
  EXPECT_FALSE(vtd_ss::attrs_valid(b, p)) << "bit 11 is reserved without snoop control";
  b = a;
  b.emt = 6;
  EXPECT_FALSE(vtd_ss::attrs_valid(b, p)) << "EMT without EMTE";
  b = a;
  b.dirty = true;
  EXPECT_FALSE(vtd_ss::attrs_valid(b, p)) << "D without SSADE";
  b = a;
  b.suppress_ve = true;
  EXPECT_FALSE(vtd_ss::attrs_valid(b, p));
  const auto q = params_of<vtd_ss>(3, vtd_ss::memtype);
  b = a;
  b.emt = 2;
  EXPECT_FALSE(vtd_ss::attrs_valid(b, q)) << "memory type 2 is reserved";
  b.emt = 1;
  EXPECT_TRUE(vtd_ss::attrs_valid(b, q));
}

TEST(VtdSsFormat, PrivIsNotSupportedEverythingElseIs) {
  const auto p = params_of<vtd_ss>(3, 0);
  EXPECT_FALSE(vtd_ss::prot_supported(prot::read | prot::priv, p));
  EXPECT_TRUE(vtd_ss::prot_supported(prot::read | prot::write | prot::noexec | prot::cache, p));
  EXPECT_TRUE(vtd_ss::prot_supported(prot::read | prot::mmio, p));
}

TEST(VtdSsFormat, DirtyIsBit9AndNeedsSsade) {
  const auto p = params_of<vtd_ss>(3, 0);
  const auto q = params_of<vtd_ss>(3, vtd_ss::ad);
  EXPECT_FALSE(genpt::format_traits<vtd_ss>::dirty_supported(p));
  EXPECT_TRUE(genpt::format_traits<vtd_ss>::dirty_supported(q));
  EXPECT_TRUE(vtd_ss::is_write_dirty(0x1000'0203u, q));
  EXPECT_FALSE(vtd_ss::is_write_dirty(0x1000'0103u, q));
  EXPECT_EQ(vtd_ss::make_write_clean(0x1000'0303u, q), 0x1000'0103u);
  EXPECT_EQ(vtd_ss::make_write_dirty(0x1000'0003u, q), 0x1000'0303u);
}

TEST(VtdSsFormat, LevelNamesAreTheSpecs) {
  const auto p = params_of<vtd_ss>(4, 0);
  EXPECT_STREQ(vtd_ss::level_name(0, p), "SS-PTE");
  EXPECT_STREQ(vtd_ss::level_name(2, p), "SS-PDPTE");
  EXPECT_STREQ(vtd_ss::level_name(4, p), "SS-PML5E");
  EXPECT_STREQ(ept::level_name(3, params_of<ept>(3, 0)), "EPT PML4E");
}

TEST(VtdSsFormat, PageTableMapsExactWords) {
  genpt::level_stats stats;
  auto pt = genpt::page_table<vtd_ss>::create({.top_level = 3, .features = vtd_ss::ad},
                                              genpt::heap_levels{&stats});
  ASSERT_TRUE(pt.has_value());
  ASSERT_TRUE(pt->map(0x4000'0000, 0x8000'0000, 0x4020'1000, prot::read | prot::write).has_value());
  std::vector<word> words;
  pt->for_each_item(0x4000'0000, 0x4020'1000, [&](const genpt::item_view& v) {
    if (v.kind == entry_kind::leaf) words.push_back(v.word);
  });
  // va 0x4000_0000: 1G -> 0x8000_0000; va 0x8000_0000: 2M -> 0xC000_0000;
  // va 0x8020_0000: 4K -> 0xC020_0000; each R|W|A|D.
  EXPECT_EQ(words, (std::vector<word>{0x8000'0383u, 0xC000'0383u, 0xC020'0303u}));
  EXPECT_EQ(pt->iova_to_phys(0x4020'0123), 0x8020'0123u);  // inside the 1G page
  EXPECT_EQ(pt->iova_to_phys(0x8020'0123), 0xC020'0123u);  // the 4K page
  EXPECT_EQ(pt->hw_info().aw, 2u);
  EXPECT_EQ(pt->map(0, 0, 0x1000, prot::read | prot::priv).error(), errc::not_supported);
}

// ------------------------------------------------------------------- EPT --

TEST(EptFormat, ProtMapsToRwxWithWbMemoryType) {
  const auto p = params_of<ept>(3, 0);
  // write -> R|W (W without R is a misconfiguration) | X | WB 0x30.
  EXPECT_EQ(ept::make_leaf(0x1234'5000, 12, 0, ept::attrs_from_prot(prot::write, p), p), 0x1234'5037u);
  EXPECT_EQ(ept::make_leaf(0x1234'5000, 12, 0, ept::attrs_from_prot(prot::read | prot::noexec, p), p),
            0x1234'5031u);
  // mmio: UC (0) with IPAT 0x40.
  EXPECT_EQ(ept::make_leaf(0x1234'5000, 12, 0, ept::attrs_from_prot(prot::read | prot::write | prot::mmio, p), p),
            0x1234'5047u);
  // 2M: PS 0x80.
  EXPECT_EQ(ept::make_leaf(0x4020'0000, 21, 1, ept::attrs_from_prot(prot::read, p), p), 0x4020'00B5u);
}

TEST(EptFormat, AdAndMbecBits) {
  const auto p = params_of<ept>(3, ept::ad | ept::mbec);
  // R|W|X|WB|A|D|XU = 0x7 | 0x30 | 0x100 | 0x200 | 0x400.
  EXPECT_EQ(ept::make_leaf(0x1'4000'0000, 30, 2, ept::attrs_from_prot(prot::read | prot::write, p), p),
            0x1'4000'07B7u);
  EXPECT_EQ(ept::make_table(0x3000, 1, p), 0x3407u) << "tables grant user-execute with MBEC";
  EXPECT_EQ(ept::make_table(0x3000, 1, params_of<ept>(3, 0)), 0x3007u);
}

TEST(EptFormat, EptpHasWbWalkLengthAndAdEnable) {
  const auto p4 = params_of<ept>(3, ept::ad);
  const auto h4 = ept::make_hw_info(0x1000, 3, p4);
  EXPECT_EQ(h4.eptp, 0x105Eu);  // root | A/D 0x40 | (4 - 1) << 3 = 0x18 | WB 6
  EXPECT_EQ(h4.levels, 4u);
  EXPECT_EQ(h4.aw, 0u);
  const auto p5 = params_of<ept>(4, 0);
  EXPECT_EQ(ept::make_hw_info(0x2000, 4, p5).eptp, 0x2026u);  // (5 - 1) << 3 = 0x20 | 6
}

TEST(EptFormat, InitTakesFourAndFiveLevelsOnly) {
  ept::config c;
  c.top_level = 2;
  EXPECT_EQ(ept::init(c).error(), errc::not_supported);
  c.top_level = 4;
  EXPECT_TRUE(ept::init(c).has_value());
  c.features = ept::snoop;  // a VT-d feature
  EXPECT_EQ(ept::init(c).error(), errc::not_supported);
}

TEST(EptFormat, AttrsValidRefusesMisconfigurations) {
  const auto p = params_of<ept>(3, 0);
  ept::attrs a;
  EXPECT_FALSE(ept::attrs_valid(a, p)) << "not present";
  a.write = true;
  EXPECT_FALSE(ept::attrs_valid(a, p)) << "W without R";
  a = {};
  a.exec = true;
  EXPECT_FALSE(ept::attrs_valid(a, p)) << "execute-only without the capability";
  EXPECT_TRUE(ept::attrs_valid(a, params_of<ept>(3, ept::exec_only)));
  a = {};
  a.read = true;
  a.emt = 2;
  EXPECT_FALSE(ept::attrs_valid(a, p)) << "memory type 2";
  a.emt = 7;
  EXPECT_FALSE(ept::attrs_valid(a, p)) << "memory type 7";
  a.emt = 5;
  EXPECT_TRUE(ept::attrs_valid(a, p));
  a.user_exec = true;
  EXPECT_FALSE(ept::attrs_valid(a, p)) << "bit 10 without MBEC";
  EXPECT_TRUE(ept::attrs_valid(a, params_of<ept>(3, ept::mbec)));
  a = {};
  a.read = true;
  a.suppress_ve = true;
  EXPECT_TRUE(ept::attrs_valid(a, p));
  EXPECT_EQ(ept::make_leaf(0x5000, 12, 0, a, p), 0x8000'0000'0000'5001u);
  EXPECT_TRUE(ept::attrs_of(0x8000'0000'0000'5001u, 0, p) == a);
}

TEST(EptFormat, ExecuteOnlyLeafIsPresent) {
  EXPECT_EQ(ept::classify(0x4, 0), entry_kind::leaf);
  EXPECT_EQ(ept::classify(0x400, 0), entry_kind::leaf);
  EXPECT_EQ(ept::classify(0x30, 0), entry_kind::empty) << "memory type alone is not present";
}

TEST(EptFormat, DumpNamesTheFields) {
  auto pt = genpt::page_table<ept>::create({.top_level = 3, .features = ept::ad});
  ASSERT_TRUE(pt.has_value());
  ASSERT_TRUE(pt->map(0x1000, 0x5000, 0x1000, prot::read | prot::write).has_value());
  const std::string s = genpt::dump(*pt);
  EXPECT_NE(s.find("EPT PTE"), std::string::npos) << s;
  EXPECT_NE(s.find("emt6"), std::string::npos) << s;
  EXPECT_NE(s.find("dirty"), std::string::npos) << s;
}

}  // namespace
