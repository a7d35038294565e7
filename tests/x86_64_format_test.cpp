// tests/x86_64_format_test.cpp - the x86_64 format's bits, checked against
// values written out by hand from Intel SDM Vol. 3A §4.5 (Tables 4-14 to
// 4-20) and AMD APM Vol. 2 §5.3 / §7.10 (C-bit), and its config rules
// against the upstream facts (reference §6.2).
//
// Bit values used below (SDM Vol. 3A Tables 4-14..4-20):
//   P 0x1, R/W 0x2, U/S 0x4, PWT 0x8, PCD 0x10, A 0x20, D 0x40,
//   PS 0x80 (PDE/PDPTE), PAT 0x80 (4K PTE), G 0x100, PAT 0x1000 (2M/1G),
//   address bits 51:12, XD bit 63.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::entry_kind;
using genpt::errc;
using genpt::prot;
using genpt::x86_64;
using word = std::uint64_t;

x86_64::params params_of(const x86_64::config& c) {
  auto p = x86_64::init(c);
  EXPECT_TRUE(p.has_value());
  return p.has_value() ? *p : x86_64::params{};
}
x86_64::params default_params() { return params_of(x86_64::config{}); }
/// 48-bit OA with the C-bit at 51 (so every attrs bool can be set).
x86_64::params encrypt_params() {
  x86_64::config c;
  c.oa_lg2 = 48;
  c.features = x86_64::sign_extend | x86_64::amd_encrypt_tables;
  c.c_bit = 51;
  return params_of(c);
}

// --------------------------------------------------------- descriptor bits

TEST(X86_64Format, BitConstantsSitWhereTheSdmPutsThem) {
  EXPECT_EQ(x86_64::P, 0x1u);
  EXPECT_EQ(x86_64::RW, 0x2u);
  EXPECT_EQ(x86_64::US, 0x4u);
  EXPECT_EQ(x86_64::PWT, 0x8u);
  EXPECT_EQ(x86_64::PCD, 0x10u);
  EXPECT_EQ(x86_64::A, 0x20u);
  EXPECT_EQ(x86_64::D, 0x40u);
  EXPECT_EQ(x86_64::PS, 0x80u);
  EXPECT_EQ(x86_64::PAT_4K, 0x80u);
  EXPECT_EQ(x86_64::G, 0x100u);
  EXPECT_EQ(x86_64::PAT_LARGE, 0x1000u);
  EXPECT_EQ(x86_64::ADDR, 0x000F'FFFF'FFFF'F000u);
  EXPECT_EQ(x86_64::XD, 0x8000'0000'0000'0000u);
}

TEST(X86_64Format, A2MLeafWithWriteUserAccessedDirtyIsExact) {
  x86_64::attrs a;
  a.write = a.user = a.accessed = a.dirty = true;
  // P|RW|US|A|D|PS = 0xE7, address 0x40200000.
  EXPECT_EQ(x86_64::make_leaf(0x4020'0000, 21, 1, a, default_params()), 0x0000'0000'4020'00E7u);
}

TEST(X86_64Format, A4KReadOnlyUserLeafHasNoPsAndNoRw) {
  x86_64::attrs a;
  a.user = a.accessed = true;
  EXPECT_EQ(x86_64::make_leaf(0x1234'5000, 12, 0, a, default_params()), 0x1234'5025u);
}

TEST(X86_64Format, A1GLeafPutsPatAtBit12AndXdAtBit63) {
  x86_64::attrs a;
  a.pat = a.global = a.noexec = true;
  // XD | addr 0x1_4000_0000 | PAT(large) 0x1000 | G 0x100 | PS 0x80 | P.
  EXPECT_EQ(x86_64::make_leaf(0x1'4000'0000, 30, 2, a, default_params()),
            0x8000'0001'4000'1181u);
}

TEST(X86_64Format, A4KLeafPutsPatAtBit7) {
  x86_64::attrs a;
  a.pat = a.pwt = a.pcd = true;
  EXPECT_EQ(x86_64::make_leaf(0x5000, 12, 0, a, default_params()), 0x5099u);
}

TEST(X86_64Format, TablesArePresentWritableUserAccessed) {
  EXPECT_EQ(x86_64::make_table(0xABCD'E000, 1, default_params()), 0xABCD'E027u);
  EXPECT_EQ(x86_64::make_table(0x000F'FFFF'FFFF'F000, 3, default_params()),
            0x000F'FFFF'FFFF'F027u);
}

TEST(X86_64Format, TableOaIsBits51To12) {
  EXPECT_EQ(x86_64::table_oa(0x8000'0000'ABCD'EFFFu, default_params()), 0xABCD'E000u);
  EXPECT_EQ(x86_64::table_oa(0xFFFF'FFFF'FFFF'FFFFu, default_params()), 0x000F'FFFF'FFFF'F000u);
}

// Every leaf size x every combination of the ten attrs bools: make_leaf
// gives exactly the bits of the spec, and classify / entry_oa / attrs_of
// read back what was written.
TEST(X86_64Format, EveryLeafSizeAndAttrsCombinationRoundTripsBitExact) {
  const x86_64::params p = encrypt_params();
  struct size_case {
    unsigned level, size_lg2;
    word oa;
    word fixed;  // P, plus PS above level 0
    word pat;
  };
  const size_case cases[] = {
      {0, 12, 0x0000'FFFF'FFFF'F000, 0x1, 0x80},
      {1, 21, 0x0000'FFFF'FFE0'0000, 0x81, 0x1000},
      {2, 30, 0x0000'FFFF'C000'0000, 0x81, 0x1000},
  };
  for (const size_case& sc : cases) {
    for (unsigned m = 0; m < 1024; ++m) {
      x86_64::attrs a;
      word want = sc.oa | sc.fixed;
      auto bit = [&](unsigned i, bool& field, word value) {
        field = (m >> i) & 1;
        if (field) want |= value;
      };
      bit(0, a.write, 0x2);
      bit(1, a.user, 0x4);
      bit(2, a.pwt, 0x8);
      bit(3, a.pcd, 0x10);
      bit(4, a.accessed, 0x20);
      bit(5, a.dirty, 0x40);
      bit(6, a.global, 0x100);
      bit(7, a.pat, sc.pat);
      bit(8, a.noexec, 0x8000'0000'0000'0000);
      bit(9, a.encrypted, 0x0008'0000'0000'0000);  // C-bit 51
      const word e = x86_64::make_leaf(sc.oa, sc.size_lg2, sc.level, a, p);
      ASSERT_EQ(e, want) << "level " << sc.level << " attrs mask " << m;
      ASSERT_EQ(x86_64::classify(e, sc.level), entry_kind::leaf);
      ASSERT_EQ(x86_64::entry_oa(e, sc.level, p), sc.oa);
      ASSERT_TRUE(x86_64::attrs_of(e, sc.level, p) == a) << "attrs mask " << m;
    }
  }
}

TEST(X86_64Format, A52BitOutputAddressRoundTripsAtEveryLeafSize) {
  const x86_64::params p = default_params();
  const x86_64::attrs a{};
  EXPECT_EQ(x86_64::make_leaf(0x000F'FFFF'FFFF'F000, 12, 0, a, p), 0x000F'FFFF'FFFF'F001u);
  EXPECT_EQ(x86_64::make_leaf(0x000F'FFFF'FFE0'0000, 21, 1, a, p), 0x000F'FFFF'FFE0'0081u);
  EXPECT_EQ(x86_64::make_leaf(0x000F'FFFF'C000'0000, 30, 2, a, p), 0x000F'FFFF'C000'0081u);
  EXPECT_EQ(x86_64::entry_oa(0x000F'FFFF'FFFF'F001u, 0, p), 0x000F'FFFF'FFFF'F000u);
  EXPECT_EQ(x86_64::entry_oa(0x000F'FFFF'FFE0'1081u, 1, p), 0x000F'FFFF'FFE0'0000u)
      << "PAT bit 12 is not address";
  EXPECT_EQ(x86_64::entry_oa(0x000F'FFFF'C000'1081u, 2, p), 0x000F'FFFF'C000'0000u);
}

TEST(X86_64Format, LeafSizesAre4KAt0And2MAt1And1GAt2Only) {
  const x86_64::params p = default_params();
  EXPECT_EQ(x86_64::leaf_sizes(0, p), 0x1000u);
  EXPECT_EQ(x86_64::leaf_sizes(1, p), 0x20'0000u);
  EXPECT_EQ(x86_64::leaf_sizes(2, p), 0x4000'0000u);
  EXPECT_EQ(x86_64::leaf_sizes(3, p), 0u);
  EXPECT_EQ(x86_64::leaf_sizes(4, p), 0u);
}

// ------------------------------------------------------------------ classify

TEST(X86_64Format, NotPresentIsEmptyAtEveryLevel) {
  for (unsigned level = 0; level <= 4; ++level) {
    EXPECT_EQ(x86_64::classify(0, level), entry_kind::empty);
    EXPECT_EQ(x86_64::classify(0xFFFF'FFFF'FFFF'FFFEu, level), entry_kind::empty) << level;
  }
}

TEST(X86_64Format, PresentAtLevel0IsALeafWhateverBit7) {
  EXPECT_EQ(x86_64::classify(0x1, 0), entry_kind::leaf);
  EXPECT_EQ(x86_64::classify(0x81, 0), entry_kind::leaf);
}

TEST(X86_64Format, PsMakesALeafAtLevels1And2) {
  EXPECT_EQ(x86_64::classify(0x1, 1), entry_kind::table);
  EXPECT_EQ(x86_64::classify(0x81, 1), entry_kind::leaf);
  EXPECT_EQ(x86_64::classify(0x1, 2), entry_kind::table);
  EXPECT_EQ(x86_64::classify(0x81, 2), entry_kind::leaf);
}

TEST(X86_64Format, PsIsIgnoredAtLevels3And4) {
  EXPECT_EQ(x86_64::classify(0x81, 3), entry_kind::table);
  EXPECT_EQ(x86_64::classify(0x81, 4), entry_kind::table);
  EXPECT_EQ(x86_64::classify(0x1, 3), entry_kind::table);
}

// -------------------------------------------------------------------- init

TEST(X86_64Format, InitDefaultsTo48BitVaAnd52BitOaWithSignExtension) {
  const auto p = x86_64::init(x86_64::config{});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->top_level, 3u);
  EXPECT_EQ(p->va_lg2, 48u);
  EXPECT_EQ(p->oa_lg2, 52u);
  EXPECT_EQ(p->layout, genpt::va_layout::sign_extend);
}

TEST(X86_64Format, InitWithTopLevel4Decodes57Bits) {
  x86_64::config c;
  c.top_level = 4;
  const auto p = x86_64::init(c);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->va_lg2, 57u);
}

TEST(X86_64Format, InitRejectsTopLevels2And5AsNotSupported) {
  for (const unsigned top : {0u, 2u, 5u}) {
    x86_64::config c;
    c.top_level = top;
    const auto p = x86_64::init(c);
    ASSERT_FALSE(p.has_value()) << top;
    EXPECT_EQ(p.error(), errc::not_supported) << top;
  }
}

TEST(X86_64Format, InitRejectsMoreVaBitsThanTheTopDecodesAsNotSupported) {
  x86_64::config c;
  c.va_lg2 = 49;
  const auto p = x86_64::init(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error(), errc::not_supported);
  c.top_level = 4;
  c.va_lg2 = 58;
  const auto p5 = x86_64::init(c);
  ASSERT_FALSE(p5.has_value());
  EXPECT_EQ(p5.error(), errc::not_supported);
}

TEST(X86_64Format, InitRejectsTooFewVaBitsForTheTopAsInvalidArgument) {
  x86_64::config c;
  c.va_lg2 = 39;  // a 4-level top needs more than 39 bits
  const auto p = x86_64::init(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error(), errc::invalid_argument);
}

TEST(X86_64Format, InitRejectsOa53AsInvalidArgument) {
  x86_64::config c;
  c.oa_lg2 = 53;
  const auto p = x86_64::init(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error(), errc::invalid_argument);
}

TEST(X86_64Format, InitRejectsAnUnknownFeatureBitAsNotSupported) {
  x86_64::config c;
  c.features = x86_64::sign_extend | (1u << 2);
  const auto p = x86_64::init(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error(), errc::not_supported);
}

TEST(X86_64Format, InitRejectsACBitInsideTheOaAsInvalidArgument) {
  x86_64::config c;
  c.oa_lg2 = 48;
  c.features = x86_64::amd_encrypt_tables;
  c.c_bit = 47;
  const auto p = x86_64::init(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error(), errc::invalid_argument);
  c.c_bit = 52;  // above the address field
  const auto p52 = x86_64::init(c);
  ASSERT_FALSE(p52.has_value());
  EXPECT_EQ(p52.error(), errc::invalid_argument);
}

// ------------------------------------------------------ AMD C-bit (SME)

TEST(X86_64Format, EncryptedTablesCarryTheCBit) {
  x86_64::config c;
  c.oa_lg2 = 47;
  c.features = x86_64::sign_extend | x86_64::amd_encrypt_tables;
  c.c_bit = 47;
  const x86_64::params p = params_of(c);
  EXPECT_EQ(x86_64::make_table(0xABCD'E000, 2, p), 0x0000'8000'ABCD'E027u);
  EXPECT_EQ(x86_64::table_oa(0x0000'8000'ABCD'E027u, p), 0xABCD'E000u);
}

class X86_64Encrypted : public ::testing::Test {
 protected:
  using table_t = genpt::page_table<x86_64>;
  void TearDown() override { EXPECT_EQ(genpt::test::live(stats_), 0); }
  static x86_64::config config() {
    x86_64::config c;
    c.oa_lg2 = 47;
    c.features = x86_64::sign_extend | x86_64::amd_encrypt_tables;
    c.c_bit = 47;
    return c;
  }
  genpt::level_stats stats_;
};

TEST_F(X86_64Encrypted, TablesAndNonMmioLeavesGetTheCBitMmioLeavesDoNot) {
  auto t = table_t::create(config(), genpt::heap_levels{&stats_});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(0x1000, 0x5000, 0x1000, prot::read | prot::write).has_value());
  ASSERT_TRUE(t->map(0x2000, 0x6000, 0x1000, prot::read | prot::write | prot::mmio).has_value());
  std::vector<genpt::item_view> items;
  t->for_each_item(0, 0x3000, [&](const genpt::item_view& v) { items.push_back(v); });
  ASSERT_EQ(items.size(), 5u);  // PML4E, PDPTE, PDE, two PTEs
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(items[i].kind, entry_kind::table);
    EXPECT_EQ(items[i].word & 0x0000'8000'0000'0FFFu, 0x0000'8000'0000'0027u) << i;
  }
  EXPECT_EQ(items[3].word, 0x0000'8000'0000'5067u);  // C | P|RW|US|A|D
  EXPECT_EQ(items[4].word, 0x0000'0000'0000'607Fu);  // MMIO: no C-bit, PCD|PWT (UC; issue 10, defect 8)
  EXPECT_EQ(t->iova_to_phys(0x1234), 0x5234u);
  EXPECT_EQ(t->iova_to_phys(0x2234), 0x6234u);
}

TEST(X86_64Format, EncryptedAttrsWithoutTheFeatureAreInvalidArgument) {
  genpt::level_stats stats;
  {
    auto t = genpt::page_table<x86_64>::create(x86_64::config{}, genpt::heap_levels{&stats});
    ASSERT_TRUE(t.has_value());
    x86_64::attrs a;
    a.encrypted = true;
    const auto r = t->map(0x1000, 0x5000, 0x1000, a);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::invalid_argument);
    EXPECT_EQ(t->iova_to_phys(0x1000), std::nullopt);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

// -------------------------------------------------------------- hw_info

TEST(X86_64Format, HwInfoGivesTheRootAndFourLevels) {
  genpt::level_stats stats;
  {
    auto t = genpt::page_table<x86_64>::create(x86_64::config{}, genpt::heap_levels{&stats});
    ASSERT_TRUE(t.has_value());
    ASSERT_TRUE(t->map(0xFFFF'8000'0000'0000, 0x7000, 0x1000, prot::read).has_value());
    const x86_64::hw_info hw = t->hw_info();
    EXPECT_EQ(hw.levels, 4u);
    EXPECT_EQ(hw.root & 0xFFFu, 0u);
    // The root is the table whose item 256 the upper half's first page uses.
    std::vector<genpt::item_view> items;
    t->for_each_item(0xFFFF'8000'0000'0000, 0x1000,
                     [&](const genpt::item_view& v) { items.push_back(v); });
    ASSERT_FALSE(items.empty());
    EXPECT_EQ(items[0].level, 3u);
    EXPECT_EQ(items[0].index, 256u);
    const auto* root = static_cast<const word*>(t->allocator().phys_to_virt(hw.root));
    EXPECT_EQ(root[256], items[0].word);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(X86_64Format, HwInfoGivesFiveLevelsForTopLevel4) {
  genpt::level_stats stats;
  {
    x86_64::config c;
    c.top_level = 4;
    auto t = genpt::page_table<x86_64>::create(c, genpt::heap_levels{&stats});
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->hw_info().levels, 5u);
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

// ------------------------------------------------- attrs_from_prot (§6.2)

TEST(X86_64Format, ReadOnlyProtIsUserAccessedWithoutRw) {
  x86_64::attrs want;
  want.user = want.accessed = true;
  EXPECT_TRUE(x86_64::attrs_from_prot(prot::read, default_params()) == want);
  EXPECT_EQ(x86_64::make_leaf(0x9000, 12, 0, want, default_params()), 0x9025u);
}

TEST(X86_64Format, WriteProtAddsRwAndPresetsDirty) {
  x86_64::attrs want;
  want.user = want.accessed = want.write = want.dirty = true;
  EXPECT_TRUE(x86_64::attrs_from_prot(prot::write, default_params()) == want);
  EXPECT_TRUE(x86_64::attrs_from_prot(prot::read | prot::write, default_params()) == want);
  EXPECT_EQ(x86_64::make_leaf(0x9000, 12, 0, want, default_params()), 0x9067u);
}

// issue 10, defect 8: noexec is XD, priv clears U/S, mmio is PCD|PWT (UC);
// cache is the default write-back type. Every flag is supported.
TEST(X86_64Format, NoexecPrivAndMmioProtAreExpressed) {
  x86_64::attrs want;
  want.accessed = want.write = want.dirty = want.noexec = want.pcd = want.pwt = true;
  EXPECT_TRUE(x86_64::attrs_from_prot(prot::read | prot::write | prot::noexec | prot::priv | prot::mmio,
                                      default_params()) == want);
  x86_64::attrs wb;
  wb.user = wb.accessed = true;
  EXPECT_TRUE(x86_64::attrs_from_prot(prot::read | prot::cache, default_params()) == wb);
  EXPECT_TRUE(x86_64::prot_supported(prot::read | prot::write | prot::noexec | prot::cache | prot::priv,
                                     default_params()));
}

TEST(X86_64Format, ProtSetsTheCBitUnlessMmioWhenTablesAreEncrypted) {
  const x86_64::params p = encrypt_params();
  EXPECT_TRUE(x86_64::attrs_from_prot(prot::read, p).encrypted);
  EXPECT_FALSE(x86_64::attrs_from_prot(prot::read | prot::mmio, p).encrypted);
}

TEST(X86_64Format, LevelNamesAreTheSdmStructureNames) {
  const x86_64::params p = default_params();
  EXPECT_STREQ(x86_64::level_name(0, p), "PTE");
  EXPECT_STREQ(x86_64::level_name(1, p), "PDE");
  EXPECT_STREQ(x86_64::level_name(2, p), "PDPTE");
  EXPECT_STREQ(x86_64::level_name(3, p), "PML4E");
  EXPECT_STREQ(x86_64::level_name(4, p), "PML5E");
}

}  // namespace
