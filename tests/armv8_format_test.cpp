// tests/armv8_format_test.cpp - genpt::armv8<GranuleLg2, Stage>: geometry,
// descriptors, contiguous runs, hw_info and bad configurations.
//
// Every descriptor value below is written out by hand from the Arm ARM
// (DDI 0487, D8.3 descriptor formats, D8.4 access permissions, D8.6
// attributes, D8.7.1 Contiguous bit; VTCR_EL2/TCR_ELx/TTBR field tables);
// none is computed by genpt. Each test that builds a table ends with no
// live table (checked_table's destructor).
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "genpt/format/armv8.hpp"
#include "genpt/page_table.hpp"
#include "support/low_oa_levels.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::errc;
using genpt::prot;
using s1_4k = genpt::armv8<12, 1>;
using s1_16k = genpt::armv8<14, 1>;
using s1_64k = genpt::armv8<16, 1>;
using s2_4k = genpt::armv8<12, 2>;
using s2_16k = genpt::armv8<14, 2>;
using s2_64k = genpt::armv8<16, 2>;

template <class F>
typename F::config cfg(unsigned va, unsigned oa = 0, unsigned features = 0) {
  typename F::config c;
  c.va_lg2 = va;
  c.oa_lg2 = oa;
  c.features = features;
  return c;
}

template <class F>
typename F::params params_of(unsigned va, unsigned oa = 0, unsigned features = 0) {
  auto p = F::init(cfg<F>(va, oa, features));
  EXPECT_TRUE(p.has_value());
  return p ? *p : typename F::params{};
}

template <class F>
errc init_error(unsigned va, unsigned oa = 0, unsigned features = 0) {
  auto p = F::init(cfg<F>(va, oa, features));
  EXPECT_FALSE(p.has_value());
  return p ? static_cast<errc>(0) : p.error();
}

/// A page table whose destructor checks that every table was freed. Its
/// tables sit at oas below 2^32 (low_oa_levels), so that every OA size
/// here can point to them (a heap address would not fit 32..44 bits).
template <class F>
struct checked_table {
  using table_t = genpt::page_table<F, genpt::test::low_oa_levels>;
  genpt::level_stats stats;
  std::optional<table_t> pt;
  explicit checked_table(const typename F::config& c) {
    auto r = table_t::create(c, genpt::test::low_oa_levels{&stats});
    EXPECT_TRUE(r.has_value());
    if (r) pt.emplace(std::move(*r));
  }
  ~checked_table() {
    pt.reset();
    EXPECT_EQ(genpt::test::live(stats), 0) << "tables leaked";
  }
  table_t* operator->() { return &*pt; }
};

/// Raw words of the leaf items overlapping [va, va + len), in va order.
template <class T>
std::vector<std::uint64_t> leaf_words(T& t, std::uint64_t va, std::uint64_t len) {
  std::vector<std::uint64_t> out;
  t->for_each_item(va, len, [&](const genpt::item_view& v) {
    if (v.kind == genpt::entry_kind::leaf) out.push_back(v.word);
  });
  return out;
}

/// The items of kind `kind` at `level` overlapping [va, va + len).
template <class T>
std::vector<genpt::item_view> items_at(T& t, std::uint64_t va, std::uint64_t len, unsigned level,
                                       genpt::entry_kind kind) {
  std::vector<genpt::item_view> out;
  t->for_each_item(va, len, [&](const genpt::item_view& v) {
    if (v.level == level && v.kind == kind) out.push_back(v);
  });
  return out;
}

constexpr std::uint64_t bit(unsigned n) { return std::uint64_t{1} << n; }

// ------------------------------------------------------------ geometry --
// Levels: genpt 0..4 = Arm L3..L-1. Top sizes in bytes, log2.

TEST(armv8_geometry, stage1_4k_48_bit_va_walks_four_levels_from_l0) {
  const auto p = params_of<s1_4k>(48);
  EXPECT_EQ(p.top_level, 3u);
  EXPECT_EQ(s1_4k::top_table_lg2(p, p.top_level), 12u);
}

TEST(armv8_geometry, stage1_4k_39_bit_va_walks_three_levels_from_l1) {
  const auto p = params_of<s1_4k>(39);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s1_4k::top_table_lg2(p, p.top_level), 12u);
}

TEST(armv8_geometry, stage1_4k_32_bit_va_has_a_32_byte_top_of_four_l1_items) {
  const auto p = params_of<s1_4k>(32, 36);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s1_4k::top_table_lg2(p, p.top_level), 5u);
  checked_table<s1_4k> t(cfg<s1_4k>(32, 36));
  EXPECT_EQ(t.stats.live_bytes.load(), 32);
}

TEST(armv8_geometry, stage1_4k_25_bit_va_starts_at_l2_with_16_items) {
  const auto p = params_of<s1_4k>(25, 32);
  EXPECT_EQ(p.top_level, 1u);
  EXPECT_EQ(s1_4k::top_table_lg2(p, p.top_level), 7u);
}

TEST(armv8_geometry, stage1_16k_48_bit_va_has_a_two_item_l0_top_in_32_bytes) {
  const auto p = params_of<s1_16k>(48);
  EXPECT_EQ(p.top_level, 3u);
  EXPECT_EQ(s1_16k::top_table_lg2(p, p.top_level), 5u);
}

TEST(armv8_geometry, top_is_64_byte_aligned_when_the_ttbr_holds_a_52_bit_address) {
  const auto p = params_of<s1_16k>(48, 52, s1_16k::lpa2);
  EXPECT_EQ(p.top_level, 3u);
  EXPECT_EQ(s1_16k::top_table_lg2(p, p.top_level), 6u);
}

TEST(armv8_geometry, stage1_64k_48_bit_va_walks_three_levels_from_l1_with_64_items) {
  const auto p = params_of<s1_64k>(48);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s1_64k::top_table_lg2(p, p.top_level), 9u);
}

TEST(armv8_geometry, stage1_64k_25_bit_va_is_a_single_l3_table) {
  const auto p = params_of<s1_64k>(25, 32);
  EXPECT_EQ(p.top_level, 0u);
  EXPECT_EQ(s1_64k::top_table_lg2(p, p.top_level), 12u);
}

TEST(armv8_geometry, stage1_4k_52_bit_va_with_lpa2_starts_at_l_minus_1_with_16_items) {
  const auto p = params_of<s1_4k>(52, 52, s1_4k::lpa2);
  EXPECT_EQ(p.top_level, 4u);
  EXPECT_EQ(s1_4k::top_table_lg2(p, p.top_level), 7u);
}

TEST(armv8_geometry, stage1_64k_52_bit_va_with_lva_has_1024_l1_items) {
  const auto p = params_of<s1_64k>(52, 48, s1_64k::lva);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s1_64k::top_table_lg2(p, p.top_level), 13u);
}

TEST(armv8_geometry, stage2_4k_40_bit_ipa_concatenates_two_l1_tables) {
  const auto p = params_of<s2_4k>(40, 40);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s2_4k::top_table_lg2(p, p.top_level), 13u);
}

TEST(armv8_geometry, stage2_4k_42_bit_ipa_concatenates_eight_l1_tables) {
  const auto p = params_of<s2_4k>(42, 42);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s2_4k::top_table_lg2(p, p.top_level), 15u);
}

TEST(armv8_geometry, stage2_4k_43_bit_ipa_concatenates_sixteen_l1_tables) {
  const auto p = params_of<s2_4k>(43, 44);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s2_4k::top_table_lg2(p, p.top_level), 16u);
}

TEST(armv8_geometry, stage2_4k_44_bit_ipa_starts_at_l0_with_32_items) {
  const auto p = params_of<s2_4k>(44, 44);
  EXPECT_EQ(p.top_level, 3u);
  EXPECT_EQ(s2_4k::top_table_lg2(p, p.top_level), 8u);
}

TEST(armv8_geometry, stage2_4k_48_bit_ipa_starts_at_l0_without_concatenation) {
  const auto p = params_of<s2_4k>(48);
  EXPECT_EQ(p.top_level, 3u);
  EXPECT_EQ(s2_4k::top_table_lg2(p, p.top_level), 12u);
}

TEST(armv8_geometry, stage2_4k_25_bit_ipa_starts_at_l2_because_an_l3_start_needs_ttst) {
  const auto p = params_of<s2_4k>(25, 32);
  EXPECT_EQ(p.top_level, 1u);
  EXPECT_EQ(s2_4k::top_table_lg2(p, p.top_level), 7u);
}

TEST(armv8_geometry, stage2_4k_52_bit_ipa_with_lpa2_concatenates_sixteen_l0_tables) {
  const auto p = params_of<s2_4k>(52, 52, s2_4k::lpa2);
  EXPECT_EQ(p.top_level, 3u);
  EXPECT_EQ(s2_4k::top_table_lg2(p, p.top_level), 16u);
}

TEST(armv8_geometry, stage2_16k_40_bit_ipa_concatenates_sixteen_l2_tables) {
  const auto p = params_of<s2_16k>(40, 40);
  EXPECT_EQ(p.top_level, 1u);
  EXPECT_EQ(s2_16k::top_table_lg2(p, p.top_level), 18u);
}

TEST(armv8_geometry, stage2_16k_41_bit_ipa_starts_at_l1_with_32_items) {
  const auto p = params_of<s2_16k>(41, 42);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s2_16k::top_table_lg2(p, p.top_level), 8u);
}

TEST(armv8_geometry, stage2_16k_48_bit_ipa_concatenates_two_l1_tables) {
  const auto p = params_of<s2_16k>(48);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s2_16k::top_table_lg2(p, p.top_level), 15u);
}

TEST(armv8_geometry, stage2_64k_48_bit_ipa_starts_at_l1_with_64_items) {
  const auto p = params_of<s2_64k>(48);
  EXPECT_EQ(p.top_level, 2u);
  EXPECT_EQ(s2_64k::top_table_lg2(p, p.top_level), 9u);
}

TEST(armv8_geometry, stage2_64k_30_bit_ipa_concatenates_two_l3_tables) {
  const auto p = params_of<s2_64k>(30, 40);
  EXPECT_EQ(p.top_level, 0u);
  EXPECT_EQ(s2_64k::top_table_lg2(p, p.top_level), 17u);
}

TEST(armv8_geometry, ttbr1_tables_decode_the_upper_va_range) {
  EXPECT_EQ(params_of<s1_4k>(48, 48, s1_4k::ttbr1).layout, genpt::va_layout::high);
  EXPECT_EQ(params_of<s1_4k>(48).layout, genpt::va_layout::low);
}

// ---------------------------------------------------------- page sizes --

TEST(armv8_page_sizes, granule_4k_has_4k_64k_2m_32m_1g_16g) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  EXPECT_EQ(t->info().pgsize_bitmap, bit(12) | bit(16) | bit(21) | bit(25) | bit(30) | bit(34));
}

TEST(armv8_page_sizes, granule_16k_has_16k_2m_32m_1g) {
  checked_table<s1_16k> t(cfg<s1_16k>(48));
  EXPECT_EQ(t->info().pgsize_bitmap, bit(14) | bit(21) | bit(25) | bit(30));
}

TEST(armv8_page_sizes, granule_64k_has_64k_2m_512m_16g) {
  checked_table<s2_64k> t(cfg<s2_64k>(48));
  EXPECT_EQ(t->info().pgsize_bitmap, bit(16) | bit(21) | bit(29) | bit(34));
}

TEST(armv8_page_sizes, lpa2_adds_512g_blocks_and_8t_runs_to_granule_4k) {
  checked_table<s1_4k> t(cfg<s1_4k>(52, 52, s1_4k::lpa2));
  EXPECT_EQ(t->info().pgsize_bitmap, bit(12) | bit(16) | bit(21) | bit(25) | bit(30) |
                                         bit(34) | bit(39) | bit(43));
}

TEST(armv8_page_sizes, lpa2_adds_64g_blocks_without_runs_to_granule_16k) {
  checked_table<s1_16k> t(cfg<s1_16k>(52, 52, s1_16k::lpa2));
  EXPECT_EQ(t->info().pgsize_bitmap, bit(14) | bit(21) | bit(25) | bit(30) | bit(36));
}

TEST(armv8_page_sizes, lpa_with_52_bit_oa_adds_4t_blocks_and_128t_runs_to_granule_64k) {
  checked_table<s1_64k> t(cfg<s1_64k>(52, 52, s1_64k::lva | s1_64k::lpa));
  EXPECT_EQ(t->info().pgsize_bitmap,
            bit(16) | bit(21) | bit(29) | bit(34) | bit(42) | bit(47));
}

TEST(armv8_page_sizes, lpa_with_48_bit_oa_has_no_4t_blocks) {
  const auto p = params_of<s1_64k>(48, 48, s1_64k::lpa);
  EXPECT_EQ(s1_64k::leaf_sizes(2, p), 0u);
}

TEST(armv8_page_sizes, sizes_stop_below_the_oa_size) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 32));
  EXPECT_EQ(t->info().pgsize_bitmap, bit(12) | bit(16) | bit(21) | bit(25) | bit(30));
}

TEST(armv8_page_sizes, sizes_stop_below_the_va_size_of_a_small_top) {
  checked_table<s1_4k> t(cfg<s1_4k>(32, 40));
  EXPECT_EQ(t->info().pgsize_bitmap, bit(12) | bit(16) | bit(21) | bit(25) | bit(30));
}

TEST(armv8_page_sizes, granule_16k_runs_are_128_pages_and_32_blocks) {
  const auto p = params_of<s1_16k>(48);
  EXPECT_EQ(s1_16k::leaf_sizes(0, p), bit(14) | bit(21));
  EXPECT_EQ(s1_16k::leaf_sizes(1, p), bit(25) | bit(30));
  EXPECT_EQ(s1_16k::leaf_sizes(2, p), 0u);
}

// ---------------------------------------------------------- descriptors --

TEST(armv8_descriptor, table_descriptor_is_valid_table_and_address) {
  const auto p = params_of<s1_4k>(48);
  EXPECT_EQ(s1_4k::make_table(0x0000'1234'5678'9000, 1, p), 0x0000'1234'5678'9003u);
  EXPECT_EQ(s1_4k::table_oa(0x0000'1234'5678'9003, p), 0x0000'1234'5678'9000u);
}

TEST(armv8_descriptor, tables_of_every_level_are_written_as_table_descriptors) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x0000'7654'3210'0000, 0x1000, 0x1000, prot::read).has_value());
  std::vector<unsigned> levels;
  t->for_each_item(0x0000'7654'3210'0000, 0x1000, [&](const genpt::item_view& v) {
    if (v.kind != genpt::entry_kind::table) return;
    levels.push_back(v.level);
    EXPECT_EQ(v.word & 0xFFFF'0000'0000'0FFF, 0x3u) << "level " << v.level;
  });
  EXPECT_EQ(levels, (std::vector<unsigned>{3, 2, 1}));
}

TEST(armv8_descriptor, stage1_cacheable_read_write_page) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x4000'0000, 0x1234'5000, 0x1000, prot::read | prot::write | prot::cache)
                  .has_value());
  // VALID|PAGE 0x3, AttrIndx 1 (0x4), AP[1] (0x40), SH inner (0x300), AF (0x400), nG (0x800).
  EXPECT_EQ(leaf_words(t, 0x4000'0000, 0x1000),
            (std::vector<std::uint64_t>{0x0000'0000'1234'5F47}));
}

TEST(armv8_descriptor, stage1_privileged_read_only_noexec_device_block) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x4020'0000, 0x4020'0000, 0x20'0000,
                     prot::read | prot::priv | prot::mmio | prot::noexec)
                  .has_value());
  // Block 0x1, AttrIndx 2 (0x8), AP[2] (0x80), SH outer (0x200), AF, nG, PXN 53, UXN 54.
  EXPECT_EQ(leaf_words(t, 0x4020'0000, 0x20'0000),
            (std::vector<std::uint64_t>{0x0060'0000'4020'0E89}));
}

TEST(armv8_descriptor, stage1_every_attribute_field_lands_on_its_bits) {
  const auto p = params_of<s1_4k>(48, 48, s1_4k::dbm);
  s1_4k::attrs a;
  a.attr_index = 5;
  a.ns = a.el0 = a.read_only = a.af = a.ng = a.dbm = a.pxn = a.uxn = true;
  a.sh = 3;
  // 0x3 | AttrIndx 5 (0x14) | NS 0x20 | AP 0xC0 | SH 0x300 | AF 0x400 | nG 0x800
  // | DBM bit 51 | PXN bit 53 | UXN bit 54.
  const std::uint64_t e = s1_4k::make_leaf(0x1000, 12, 0, a, p);
  EXPECT_EQ(e, 0x0068'0000'0000'1FF7u);
  EXPECT_TRUE(s1_4k::attrs_of(e, 0, p) == a);
}

TEST(armv8_descriptor, stage2_cacheable_read_write_page) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40));
  ASSERT_TRUE(t->map(0x1000, 0x8000'0000, 0x1000, prot::read | prot::write | prot::cache)
                  .has_value());
  // 0x3 | MemAttr 0b1111 (0x3C) | S2AP RW (0xC0) | SH inner (0x300) | AF (0x400).
  EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), (std::vector<std::uint64_t>{0x0000'0000'8000'07FF}));
}

TEST(armv8_descriptor, stage2_fwb_forces_write_back_with_memattr_0110) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40, s2_4k::fwb));
  ASSERT_TRUE(t->map(0x1000, 0x8000'0000, 0x1000, prot::read | prot::write | prot::cache)
                  .has_value());
  // MemAttr 0b0110 (0x18).
  EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), (std::vector<std::uint64_t>{0x0000'0000'8000'07DB}));
}

TEST(armv8_descriptor, stage2_read_only_noexec_device_page) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40));
  ASSERT_TRUE(
      t->map(0x1000, 0x8000'0000, 0x1000, prot::read | prot::mmio | prot::noexec).has_value());
  // MemAttr Device-nGnRE 0b0001 (0x4), S2AP read (0x40), SH outer, AF, XN[1] bit 54.
  EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), (std::vector<std::uint64_t>{0x0040'0000'8000'0647}));
}

TEST(armv8_descriptor, stage2_write_only_non_cacheable_page) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40));
  ASSERT_TRUE(t->map(0x1000, 0x8000'0000, 0x1000, prot::write).has_value());
  // MemAttr Normal NC 0b0101 (0x14), S2AP write (0x80), SH outer, AF.
  EXPECT_EQ(leaf_words(t, 0x1000, 0x1000), (std::vector<std::uint64_t>{0x0000'0000'8000'0697}));
}

TEST(armv8_descriptor, dbm_marks_writable_leaves_only_with_the_feature) {
  const auto with = params_of<s2_4k>(40, 40, s2_4k::dbm);
  const auto without = params_of<s2_4k>(40, 40);
  EXPECT_TRUE(s2_4k::attrs_from_prot(prot::read | prot::write, with).dbm);
  EXPECT_FALSE(s2_4k::attrs_from_prot(prot::read, with).dbm);
  EXPECT_FALSE(s2_4k::attrs_from_prot(prot::read | prot::write, without).dbm);
}

TEST(armv8_descriptor, lpa2_puts_oa_51_50_in_bits_9_8_and_drops_sh) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 52, s1_4k::lpa2));
  ASSERT_TRUE(t->map(0x2000, 0x000C'0000'1234'5000, 0x1000, prot::read | prot::write).has_value());
  // 0x3 | AP[1] 0x40 | AF 0x400 | nG 0x800 | OA[51:50]=0b11 in bits 9:8 (0x300).
  EXPECT_EQ(leaf_words(t, 0x2000, 0x1000), (std::vector<std::uint64_t>{0x0000'0000'1234'5F43}));
  EXPECT_EQ(t->iova_to_phys(0x2ABC), std::optional<std::uint64_t>{0x000C'0000'1234'5ABC});
}

TEST(armv8_descriptor, lpa2_keeps_oa_49_48_in_place) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 52, s1_4k::lpa2));
  ASSERT_TRUE(t->map(0x2000, 0x0003'0000'0000'0000, 0x1000, prot::read | prot::write).has_value());
  EXPECT_EQ(leaf_words(t, 0x2000, 0x1000), (std::vector<std::uint64_t>{0x0003'0000'0000'0C43}));
}

TEST(armv8_descriptor, lpa2_pages_crossing_oa_2_pow_50_carry_into_bits_9_8) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 52, s1_4k::lpa2));
  ASSERT_TRUE(t->map(0x2000, 0x0003'FFFF'FFFF'F000, 0x2000, prot::read | prot::write).has_value());
  EXPECT_EQ(leaf_words(t, 0x2000, 0x2000),
            (std::vector<std::uint64_t>{0x0003'FFFF'FFFF'FC43, 0x0000'0000'0000'0D43}));
  EXPECT_EQ(t->iova_to_phys(0x3000), std::optional<std::uint64_t>{0x0004'0000'0000'0000});
}

TEST(armv8_descriptor, lpa2_table_descriptor_encodes_the_high_address_bits) {
  const auto p = params_of<s1_4k>(48, 52, s1_4k::lpa2);
  EXPECT_EQ(s1_4k::make_table(0x000C'0000'1234'5000, 1, p), 0x0000'0000'1234'5303u);
  EXPECT_EQ(s1_4k::table_oa(0x0000'0000'1234'5303, p), 0x000C'0000'1234'5000u);
}

TEST(armv8_descriptor, lpa_64k_puts_oa_51_48_in_bits_15_12) {
  checked_table<s1_64k> t(cfg<s1_64k>(48, 52, s1_64k::lpa));
  ASSERT_TRUE(
      t->map(0x1'0000, 0x000A'0000'0001'0000, 0x1'0000, prot::read | prot::write).has_value());
  // OA[47:16] in place, OA[51:48] = 0xA in bits 15:12; 0x3 | AP[1] 0x40 |
  // SH outer 0x200 (64K LPA keeps SH) | AF 0x400 | nG 0x800.
  EXPECT_EQ(leaf_words(t, 0x1'0000, 0x1'0000),
            (std::vector<std::uint64_t>{0x0000'0000'0001'AE43}));
  EXPECT_EQ(t->iova_to_phys(0x1'1234), std::optional<std::uint64_t>{0x000A'0000'0001'1234});
}

TEST(armv8_descriptor, lpa_64k_pages_crossing_oa_2_pow_48_carry_into_bits_15_12) {
  checked_table<s1_64k> t(cfg<s1_64k>(48, 52, s1_64k::lpa));
  ASSERT_TRUE(
      t->map(0x1'0000, 0x0000'FFFF'FFFF'0000, 0x2'0000, prot::read | prot::write).has_value());
  EXPECT_EQ(leaf_words(t, 0x1'0000, 0x2'0000),
            (std::vector<std::uint64_t>{0x0000'FFFF'FFFF'0E43, 0x0000'0000'0000'1E43}));
}

TEST(armv8_descriptor, lpa_64k_table_descriptor_encodes_the_high_address_bits) {
  const auto p = params_of<s1_64k>(48, 52, s1_64k::lpa);
  EXPECT_EQ(s1_64k::make_table(0x000A'0000'0001'0000, 1, p), 0x0000'0000'0001'A003u);
  EXPECT_EQ(s1_64k::table_oa(0x0000'0000'0001'A003, p), 0x000A'0000'0001'0000u);
}

TEST(armv8_descriptor, classify_follows_bits_1_0_and_the_levels_that_allow_blocks) {
  using genpt::entry_kind;
  EXPECT_EQ(s1_4k::classify(0x1000, 1), entry_kind::empty);       // invalid
  EXPECT_EQ(s1_4k::classify(0x1003, 0), entry_kind::leaf);        // page
  EXPECT_EQ(s1_4k::classify(0x1001, 0), entry_kind::empty);       // reserved at L3
  EXPECT_EQ(s1_4k::classify(0x1003, 1), entry_kind::table);
  EXPECT_EQ(s1_4k::classify(0x20'0001, 1), entry_kind::leaf);     // L2 block
  EXPECT_EQ(s1_4k::classify(0x1001, 4), entry_kind::empty);       // no block at L-1
  EXPECT_EQ(s1_64k::classify(0x1001, 2), entry_kind::leaf);       // 64K L1 (LPA) block
  EXPECT_EQ(s1_16k::classify(0x1001, 3), entry_kind::empty);      // no block at 16K L0
}

// ------------------------------------------------------------ contiguous --

TEST(armv8_contiguous, aligned_64k_on_granule_4k_is_16_pages_with_the_contiguous_bit) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x1'0000, 0x8765'0000, 0x1'0000, prot::read | prot::write).has_value());
  const auto words = leaf_words(t, 0x1'0000, 0x1'0000);
  ASSERT_EQ(words.size(), 16u);
  for (std::uint64_t k = 0; k < 16; ++k)  // each item keeps its own OA; CONT is bit 52
    EXPECT_EQ(words[k], 0x0010'0000'8765'0E43 + k * 0x1000) << "item " << k;
  EXPECT_EQ(t->iova_to_phys(0x1'ABCD), std::optional<std::uint64_t>{0x8765'ABCD});
}

TEST(armv8_contiguous, the_run_is_reported_as_one_entry_of_the_run_size) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x1'0000, 0x8765'0000, 0x1'0000, prot::read).has_value());
  std::vector<genpt::test::leaf_record<s1_4k::attrs>> leaves;
  t->for_each_leaf(0x1'8000, 0x1000, [&](const auto& l) {
    leaves.push_back({l.va, l.oa, l.size_lg2, l.level, l.attrs});
  });
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].va, 0x1'0000u);
  EXPECT_EQ(leaves[0].oa, 0x8765'0000u);
  EXPECT_EQ(leaves[0].size_lg2, 16u);
}

TEST(armv8_contiguous, oa_not_aligned_to_the_run_gets_single_pages) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x1'0000, 0x8765'1000, 0x1'0000, prot::read | prot::write).has_value());
  const auto words = leaf_words(t, 0x1'0000, 0x1'0000);
  ASSERT_EQ(words.size(), 16u);
  for (std::uint64_t k = 0; k < 16; ++k)
    EXPECT_EQ(words[k], 0x0000'0000'8765'1E43 + k * 0x1000) << "item " << k;
}

TEST(armv8_contiguous, unmapping_the_first_page_removes_the_whole_run) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x1'0000, 0x8765'0000, 0x1'0000, prot::read).has_value());
  EXPECT_EQ(t->unmap(0x1'0000, 0x1000), 0x1'0000u);
  EXPECT_TRUE(leaf_words(t, 0x1'0000, 0x1'0000).empty());
}

TEST(armv8_contiguous, unmapping_from_inside_the_run_removes_nothing) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  ASSERT_TRUE(t->map(0x1'0000, 0x8765'0000, 0x1'0000, prot::read).has_value());
  EXPECT_EQ(t->unmap(0x1'1000, 0x1000), 0u);
  EXPECT_EQ(leaf_words(t, 0x1'0000, 0x1'0000).size(), 16u);
}

TEST(armv8_contiguous, granule_4k_32m_is_16_l2_blocks_with_the_contiguous_bit) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40));
  ASSERT_TRUE(t->map(0x200'0000, 0x400'0000, 0x200'0000, prot::read | prot::write).has_value());
  const auto blocks = items_at(t, 0x200'0000, 0x200'0000, 1, genpt::entry_kind::leaf);
  ASSERT_EQ(blocks.size(), 16u);
  // Block 0x1 | MemAttr NC 0x14 | S2AP RW 0xC0 | SH outer 0x200 | AF 0x400 | CONT bit 52.
  for (std::uint64_t k = 0; k < 16; ++k)
    EXPECT_EQ(blocks[k].word, 0x0010'0000'0400'06D5 + k * 0x20'0000) << "item " << k;
}

TEST(armv8_contiguous, granule_16k_2m_is_128_pages_with_the_contiguous_bit) {
  checked_table<s1_16k> t(cfg<s1_16k>(48));
  ASSERT_TRUE(t->map(0x20'0000, 0x4000'0000, 0x20'0000, prot::read | prot::write).has_value());
  const auto words = leaf_words(t, 0x20'0000, 0x20'0000);
  ASSERT_EQ(words.size(), 128u);
  EXPECT_EQ(words.front(), 0x0010'0000'4000'0E43u);
  EXPECT_EQ(words.back(), 0x0010'0000'401F'CE43u);
}

TEST(armv8_contiguous, granule_16k_1g_is_32_l2_blocks_with_the_contiguous_bit) {
  checked_table<s1_16k> t(cfg<s1_16k>(48));
  ASSERT_TRUE(t->map(0x4000'0000, 0x4000'0000, 0x4000'0000, prot::read).has_value());
  const auto blocks = items_at(t, 0x4000'0000, 0x4000'0000, 1, genpt::entry_kind::leaf);
  ASSERT_EQ(blocks.size(), 32u);
  // Block 0x1 | AP[1] 0x40 | AP[2] 0x80 | SH outer | AF | nG | CONT.
  EXPECT_EQ(blocks.front().word, 0x0010'0000'4000'0EC1u);
  EXPECT_EQ(blocks.back().word, 0x0010'0000'7E00'0EC1u);
}

TEST(armv8_contiguous, granule_64k_2m_is_32_pages_with_the_contiguous_bit) {
  checked_table<s2_64k> t(cfg<s2_64k>(48));
  ASSERT_TRUE(t->map(0x20'0000, 0x4000'0000, 0x20'0000, prot::read).has_value());
  const auto words = leaf_words(t, 0x20'0000, 0x20'0000);
  ASSERT_EQ(words.size(), 32u);
  // Page 0x3 | MemAttr NC 0x14 | S2AP read 0x40 | SH outer 0x200 | AF 0x400 | CONT.
  EXPECT_EQ(words.front(), 0x0010'0000'4000'0657u);
  EXPECT_EQ(words.back(), 0x0010'0000'401F'0657u);
}

TEST(armv8_contiguous, entry_oa_of_any_item_is_the_run_start) {
  const auto p = params_of<s1_4k>(48);
  EXPECT_EQ(s1_4k::entry_size_lg2(0x0010'0000'8765'7E43, 0), 16u);
  EXPECT_EQ(s1_4k::entry_oa(0x0010'0000'8765'7E43, 0, p), 0x8765'0000u);
  EXPECT_EQ(s1_4k::entry_size_lg2(0x0000'0000'8765'7E43, 0), 12u);
  EXPECT_EQ(s1_4k::entry_oa(0x0000'0000'8765'7E43, 0, p), 0x8765'7000u);
}

// ----------------------------------------------------------------- dirty --

TEST(armv8_dirty, stage1_dbm_leaf_is_dirty_while_ap2_is_clear) {
  const auto p = params_of<s1_4k>(48, 48, s1_4k::dbm);
  EXPECT_TRUE(s1_4k::is_write_dirty(0x0008'0000'1234'5E43, p));
  EXPECT_EQ(s1_4k::make_write_clean(0x0008'0000'1234'5E43, p), 0x0008'0000'1234'5EC3u);
  EXPECT_FALSE(s1_4k::is_write_dirty(0x0008'0000'1234'5EC3, p));
  EXPECT_EQ(s1_4k::make_write_dirty(0x0008'0000'1234'5EC3, p), 0x0008'0000'1234'5E43u);
}

TEST(armv8_dirty, stage2_dbm_leaf_is_dirty_while_s2ap_write_is_set) {
  const auto p = params_of<s2_4k>(40, 40, s2_4k::dbm);
  EXPECT_TRUE(s2_4k::is_write_dirty(0x0008'0000'8000'06D7, p));
  EXPECT_EQ(s2_4k::make_write_clean(0x0008'0000'8000'06D7, p), 0x0008'0000'8000'0657u);
  EXPECT_FALSE(s2_4k::is_write_dirty(0x0008'0000'8000'0657, p));
  EXPECT_EQ(s2_4k::make_write_dirty(0x0008'0000'8000'0657, p), 0x0008'0000'8000'06D7u);
}

TEST(armv8_dirty, leaves_without_dbm_are_never_dirty_and_never_change) {
  const auto p = params_of<s1_4k>(48, 48, s1_4k::dbm);
  EXPECT_FALSE(s1_4k::is_write_dirty(0x0000'0000'1234'5E43, p));
  EXPECT_EQ(s1_4k::make_write_clean(0x0000'0000'1234'5E43, p), 0x0000'0000'1234'5E43u);
  EXPECT_EQ(s1_4k::make_write_dirty(0x0000'0000'1234'5EC3, p), 0x0000'0000'1234'5EC3u);
}

struct dirty_log {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  void record(std::uint64_t va, std::uint64_t len) { ranges.emplace_back(va, len); }
};

TEST(armv8_dirty, dirty_tracking_needs_the_dbm_feature) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  dirty_log log;
  genpt::gather g;
  EXPECT_EQ(t->read_and_clear_dirty(0, 0x1000, log, g).error(), errc::not_supported);
}

TEST(armv8_dirty, a_written_contiguous_run_is_reported_once_and_cleaned_in_every_item) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 48, s1_4k::dbm));
  ASSERT_TRUE(t->map(0x1'0000, 0x8765'0000, 0x1'0000, prot::read | prot::write).has_value());
  dirty_log first;
  genpt::gather g;
  ASSERT_TRUE(t->read_and_clear_dirty(0x1'0000, 0x1'0000, first, g).has_value());
  t->sync(g);
  // Writable DBM leaves start out dirty (as upstream).
  EXPECT_EQ(first.ranges, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0x1'0000, 0x1'0000}}));
  for (const std::uint64_t w : leaf_words(t, 0x1'0000, 0x1'0000))
    EXPECT_EQ(w & 0x0018'0000'0000'00C0, 0x0018'0000'0000'00C0u);  // DBM, CONT, AP[2], AP[1]
  ASSERT_TRUE(t->set_dirty(0x1'5000).has_value());
  dirty_log second;
  ASSERT_TRUE(t->read_and_clear_dirty(0x1'0000, 0x1'0000, second, g).has_value());
  t->sync(g);
  EXPECT_EQ(second.ranges, first.ranges);
}

// ----------------------------------------------------- tops and ranges --

TEST(armv8_tops, stage2_concatenated_top_translates_in_its_last_table) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40));
  EXPECT_EQ(t.stats.live_bytes.load(), 8192);  // two 4K L1 tables
  const std::uint64_t last_page = (std::uint64_t{1} << 40) - 0x1000;
  ASSERT_TRUE(t->map(last_page, 0x1000, 0x1000, prot::read).has_value());
  ASSERT_TRUE(t->map(0, 0x2000, 0x1000, prot::read).has_value());
  EXPECT_EQ(t->iova_to_phys(last_page + 0xFFF), std::optional<std::uint64_t>{0x1FFF});
  const auto tops = items_at(t, 0, std::uint64_t{1} << 40, 2, genpt::entry_kind::table);
  ASSERT_EQ(tops.size(), 2u);
  EXPECT_EQ(tops[0].index, 0u);
  EXPECT_EQ(tops[1].index, 1023u);  // item 511 of the second concatenated table
  EXPECT_EQ(t->map(std::uint64_t{1} << 40, 0, 0x1000, prot::read).error(), errc::out_of_range);
}

TEST(armv8_tops, stage2_sixteen_concatenated_16k_tables_cover_a_40_bit_ipa) {
  checked_table<s2_16k> t(cfg<s2_16k>(40, 40));
  EXPECT_EQ(t.stats.live_bytes.load(), 16 * 16384);
  const std::uint64_t last_page = (std::uint64_t{1} << 40) - 0x4000;
  ASSERT_TRUE(t->map(last_page, 0x4000, 0x4000, prot::write).has_value());
  EXPECT_EQ(t->iova_to_phys(last_page + 0x123), std::optional<std::uint64_t>{0x4123});
  const auto tops = items_at(t, last_page, 0x4000, 1, genpt::entry_kind::table);
  ASSERT_EQ(tops.size(), 1u);
  EXPECT_EQ(tops[0].index, 16u * 2048 - 1);
}

TEST(armv8_tops, small_32_byte_top_translates_all_four_items) {
  checked_table<s1_4k> t(cfg<s1_4k>(32, 36));
  ASSERT_TRUE(t->map(0xFFFF'F000, 0x1000, 0x1000, prot::read).has_value());
  EXPECT_EQ(t->iova_to_phys(0xFFFF'F010), std::optional<std::uint64_t>{0x1010});
  EXPECT_EQ(t->hw_info().root % 32, 0u);
  EXPECT_EQ(t->map(0x1'0000'0000, 0x1000, 0x1000, prot::read).error(), errc::out_of_range);
}

TEST(armv8_tops, ttbr1_maps_the_top_of_the_address_space_only) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 48, s1_4k::ttbr1));
  ASSERT_TRUE(t->map(0xFFFF'FFFF'FFFF'F000, 0x5000, 0x1000, prot::read).has_value());
  ASSERT_TRUE(t->map(0xFFFF'0000'0000'0000, 0x6000, 0x1000, prot::read).has_value());
  EXPECT_EQ(t->iova_to_phys(0xFFFF'FFFF'FFFF'FFFF), std::optional<std::uint64_t>{0x5FFF});
  EXPECT_EQ(t->iova_to_phys(0xFFFF'0000'0000'0001), std::optional<std::uint64_t>{0x6001});
  const auto top = items_at(t, 0xFFFF'FFFF'FFFF'F000, 0x1000, 3, genpt::entry_kind::table);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].index, 511u);
  EXPECT_EQ(t->map(0, 0x5000, 0x1000, prot::read).error(), errc::out_of_range);
  EXPECT_EQ(t->map(0xFFFE'FFFF'FFFF'F000, 0x5000, 0x1000, prot::read).error(),
            errc::out_of_range);
  EXPECT_EQ(t->iova_to_phys(0x0000'0000'0000'5000), std::nullopt);
}

TEST(armv8_tops, lpa2_five_level_table_maps_the_top_of_a_52_bit_va) {
  checked_table<s1_4k> t(cfg<s1_4k>(52, 52, s1_4k::lpa2));
  const std::uint64_t last_page = (std::uint64_t{1} << 52) - 0x1000;
  ASSERT_TRUE(t->map(last_page, 0x000F'FFFF'FFFF'F000, 0x1000, prot::read).has_value());
  EXPECT_EQ(t->iova_to_phys(last_page + 1), std::optional<std::uint64_t>{0x000F'FFFF'FFFF'F001});
  EXPECT_EQ(items_at(t, last_page, 0x1000, 4, genpt::entry_kind::table).size(), 1u);
}

// -------------------------------------------------------------- hw_info --

TEST(armv8_hw_info, stage1_4k_ttbr0_fields_and_tcr) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 48));
  const auto h = t->hw_info();
  EXPECT_EQ(h.tsz, 16u);
  EXPECT_EQ(h.tg, 0u);
  EXPECT_EQ(h.ps, 5u);
  EXPECT_EQ(h.sh, 3u);
  EXPECT_EQ(h.irgn, 1u);
  EXPECT_EQ(h.orgn, 1u);
  EXPECT_FALSE(h.ds);
  EXPECT_EQ(h.levels, 4u);
  EXPECT_EQ(h.ttbr, h.root);
  EXPECT_EQ(h.mair, 0x0000'0000'F404'FF44u);
  // T0SZ 16 | IRGN0 01 @8 | ORGN0 01 @10 | SH0 11 @12 | TG0 00 | IPS 101 @32.
  EXPECT_EQ(h.tcr(), 0x0000'0005'0000'3510u);
}

TEST(armv8_hw_info, stage1_4k_ttbr1_uses_the_t1sz_half_and_tg1_encoding) {
  checked_table<s1_4k> t(cfg<s1_4k>(39, 40, s1_4k::ttbr1));
  const auto h = t->hw_info();
  EXPECT_EQ(h.tsz, 25u);
  EXPECT_EQ(h.tg, 2u);
  EXPECT_EQ(h.ps, 2u);
  EXPECT_TRUE(h.ttbr1);
  // T1SZ 25 @16 | IRGN1 @24 | ORGN1 @26 | SH1 @28 | TG1 10 @30 | IPS 010 @32.
  EXPECT_EQ(h.tcr(), 0x0000'0002'B519'0000u);
}

TEST(armv8_hw_info, stage1_16k_ttbr1_tcr) {
  checked_table<s1_16k> t(cfg<s1_16k>(47, 44, s1_16k::ttbr1));
  // T1SZ 17 | IRGN1 | ORGN1 | SH1 | TG1 01 (16K) | IPS 100.
  EXPECT_EQ(t->hw_info().tcr(), 0x0000'0004'7511'0000u);
}

TEST(armv8_hw_info, tg_encodings_of_every_granule_and_half) {
  EXPECT_EQ(s1_16k::make_hw_info(0, 3, params_of<s1_16k>(48)).tg, 2u);
  EXPECT_EQ(s1_64k::make_hw_info(0, 2, params_of<s1_64k>(48)).tg, 1u);
  EXPECT_EQ(s1_64k::make_hw_info(0, 2, params_of<s1_64k>(48, 48, s1_64k::ttbr1)).tg, 3u);
  EXPECT_EQ(s1_16k::make_hw_info(0, 3, params_of<s1_16k>(48, 48, s1_16k::ttbr1)).tg, 1u);
  EXPECT_EQ(s2_16k::make_hw_info(0, 2, params_of<s2_16k>(48)).tg, 2u);
  EXPECT_EQ(s2_64k::make_hw_info(0, 2, params_of<s2_64k>(48)).tg, 1u);
}

TEST(armv8_hw_info, stage2_4k_40_bit_ipa_starts_at_l1_and_packs_vtcr) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40));
  const auto h = t->hw_info();
  EXPECT_EQ(h.sl0, 1u);
  EXPECT_EQ(h.sl2, 0u);
  EXPECT_EQ(h.levels, 3u);
  EXPECT_EQ(h.mair, 0u);
  // T0SZ 24 | SL0 01 @6 | IRGN0 | ORGN0 | SH0 | TG0 00 | PS 010 @16.
  EXPECT_EQ(h.tcr(), 0x0000'0000'0002'3558u);
}

TEST(armv8_hw_info, stage2_sl0_names_the_start_level_of_every_granule) {
  EXPECT_EQ(s2_4k::make_hw_info(0, 3, params_of<s2_4k>(48)).sl0, 2u);    // L0
  EXPECT_EQ(s2_4k::make_hw_info(0, 1, params_of<s2_4k>(25, 32)).sl0, 0u);  // L2
  EXPECT_EQ(s2_16k::make_hw_info(0, 1, params_of<s2_16k>(40, 40)).sl0, 1u);  // L2
  EXPECT_EQ(s2_16k::make_hw_info(0, 2, params_of<s2_16k>(48)).sl0, 2u);  // L1
  EXPECT_EQ(s2_64k::make_hw_info(0, 0, params_of<s2_64k>(30, 40)).sl0, 0u);  // L3
  EXPECT_EQ(s2_64k::make_hw_info(0, 2, params_of<s2_64k>(48)).sl0, 2u);  // L1
}

TEST(armv8_hw_info, stage2_16k_lpa2_starts_at_l0_with_ds) {
  checked_table<s2_16k> t(cfg<s2_16k>(52, 52, s2_16k::lpa2));
  const auto h = t->hw_info();
  EXPECT_EQ(h.sl0, 3u);
  EXPECT_TRUE(h.ds);
  EXPECT_EQ(h.ps, 6u);
  // T0SZ 12 | SL0 11 | IRGN0 | ORGN0 | SH0 | TG0 10 (16K) | PS 110 | DS @32.
  EXPECT_EQ(h.tcr(), 0x0000'0001'0006'B5CCu);
}

TEST(armv8_hw_info, noncoherent_walk_is_outer_shareable_non_cacheable) {
  const auto h = s1_4k::make_hw_info(0, 3, params_of<s1_4k>(48, 48, s1_4k::noncoherent_walk));
  EXPECT_EQ(h.sh, 2u);
  EXPECT_EQ(h.irgn, 0u);
  EXPECT_EQ(h.orgn, 0u);
}

TEST(armv8_hw_info, ttbr_of_a_52_bit_root_moves_bits_51_48_to_5_2) {
  const auto p = params_of<s1_16k>(48, 52, s1_16k::lpa2);
  EXPECT_EQ(s1_16k::make_hw_info(0x000A'0000'0004'0000, 3, p).ttbr, 0x0000'0000'0004'0028u);
  const auto p48 = params_of<s1_16k>(48);
  EXPECT_EQ(s1_16k::make_hw_info(0x0000'1234'5678'0000, 3, p48).ttbr, 0x0000'1234'5678'0000u);
}

// ----------------------------------------------------- bad configurations --

TEST(armv8_config, va_below_25_bits_is_invalid) {
  EXPECT_EQ(init_error<s1_4k>(24, 48), errc::invalid_argument);
  EXPECT_EQ(init_error<s2_64k>(24, 48), errc::invalid_argument);
}

TEST(armv8_config, va_above_52_bits_is_invalid) {
  EXPECT_EQ(init_error<s1_4k>(53, 52, s1_4k::lpa2), errc::invalid_argument);
}

TEST(armv8_config, a_fifth_level_without_lpa2_is_not_supported) {
  EXPECT_EQ(init_error<s1_4k>(49, 48), errc::not_supported);
}

TEST(armv8_config, granule_64k_52_bit_va_needs_lva_at_stage1_and_lpa_at_stage2) {
  EXPECT_EQ(init_error<s1_64k>(52, 48, s1_64k::lpa), errc::not_supported);
  EXPECT_EQ(init_error<s2_64k>(52, 48), errc::not_supported);
  EXPECT_TRUE(s2_64k::init(cfg<s2_64k>(52, 48, s2_64k::lpa)).has_value());
}

TEST(armv8_config, lpa2_with_granule_64k_is_not_supported) {
  EXPECT_EQ(init_error<s1_64k>(48, 48, s1_64k::lpa2), errc::not_supported);
}

TEST(armv8_config, lpa_and_lva_need_granule_64k) {
  EXPECT_EQ(init_error<s1_4k>(48, 48, s1_4k::lpa), errc::not_supported);
  EXPECT_EQ(init_error<s1_16k>(48, 48, s1_16k::lva), errc::not_supported);
}

TEST(armv8_config, lva_at_stage2_is_not_supported) {
  EXPECT_EQ(init_error<s2_64k>(48, 48, s2_64k::lva), errc::not_supported);
}

TEST(armv8_config, fwb_at_stage1_is_not_supported) {
  EXPECT_EQ(init_error<s1_4k>(48, 48, s1_4k::fwb), errc::not_supported);
}

TEST(armv8_config, ttbr1_at_stage2_is_not_supported) {
  EXPECT_EQ(init_error<s2_4k>(40, 40, s2_4k::ttbr1), errc::not_supported);
}

TEST(armv8_config, oa_size_without_a_ps_encoding_is_invalid) {
  EXPECT_EQ(init_error<s1_4k>(48, 39), errc::invalid_argument);
  EXPECT_EQ(init_error<s1_4k>(48, 56), errc::invalid_argument);
}

TEST(armv8_config, a_52_bit_oa_without_lpa_or_lpa2_is_not_supported) {
  EXPECT_EQ(init_error<s1_4k>(48, 52), errc::not_supported);
  EXPECT_EQ(init_error<s2_64k>(48, 52), errc::not_supported);
}

TEST(armv8_config, unknown_feature_bits_are_not_supported) {
  EXPECT_EQ(init_error<s1_4k>(48, 48, 1u << 20), errc::not_supported);
}

TEST(armv8_config, dbm_with_a_noncoherent_walker_is_not_supported) {
  EXPECT_EQ(init_error<s2_4k>(40, 40, s2_4k::dbm | s2_4k::noncoherent_walk), errc::not_supported);
}

TEST(armv8_config, create_reports_the_config_error) {
  genpt::level_stats stats;
  auto r = genpt::page_table<s1_64k>::create(cfg<s1_64k>(48, 48, s1_64k::lpa2),
                                              genpt::heap_levels{&stats});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::not_supported);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

// ------------------------------------------------------------- attrs --

TEST(armv8_attrs, attr_index_above_7_is_rejected) {
  checked_table<s1_4k> t(cfg<s1_4k>(48));
  s1_4k::attrs a;
  a.attr_index = 8;
  EXPECT_EQ(t->map(0, 0, 0x1000, a).error(), errc::invalid_argument);
}

TEST(armv8_attrs, reserved_shareability_01_is_rejected) {
  checked_table<s2_4k> t(cfg<s2_4k>(40, 40));
  s2_4k::attrs a;
  a.read = true;
  a.sh = 1;
  EXPECT_EQ(t->map(0, 0, 0x1000, a).error(), errc::invalid_argument);
}

TEST(armv8_attrs, shareability_is_rejected_with_lpa2) {
  checked_table<s1_4k> t(cfg<s1_4k>(48, 52, s1_4k::lpa2));
  s1_4k::attrs a;
  a.sh = 3;
  EXPECT_EQ(t->map(0, 0, 0x1000, a).error(), errc::invalid_argument);
}

TEST(armv8_attrs, dbm_is_rejected_without_the_feature) {
  checked_table<s1_16k> t(cfg<s1_16k>(48));
  s1_16k::attrs a;
  a.dbm = true;
  EXPECT_EQ(t->map(0, 0, 0x4000, a).error(), errc::invalid_argument);
}

TEST(armv8_attrs, stage2_xn_above_3_is_rejected) {
  checked_table<s2_64k> t(cfg<s2_64k>(48));
  s2_64k::attrs a;
  a.read = true;
  a.xn = 4;
  EXPECT_EQ(t->map(0, 0, 0x1'0000, a).error(), errc::invalid_argument);
}

TEST(armv8_attrs, full_control_attrs_are_written_exactly) {
  checked_table<s2_64k> t(cfg<s2_64k>(48));
  s2_64k::attrs a;
  a.mem_attr = 0xA;  // outer WT, inner WT
  a.read = true;
  a.sh = 3;
  a.af = true;
  a.xn = 1;
  ASSERT_TRUE(t->map(0x1'0000, 0x2'0000, 0x1'0000, a).has_value());
  // 0x3 | MemAttr 0b1010 (0x28) | S2AP read 0x40 | SH 0x300 | AF 0x400 | XN[0] bit 53.
  EXPECT_EQ(leaf_words(t, 0x1'0000, 0x1'0000),
            (std::vector<std::uint64_t>{0x0020'0000'0002'076B}));
}

}  // namespace
