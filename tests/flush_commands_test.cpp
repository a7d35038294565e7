// tests/flush_commands_test.cpp - the IOMMU invalidation command builders:
// hand-written command words for chosen requests, and, over seeded random
// requests, that the decoded commands cover exactly what the gather says
// (decoding restated here from the specs, not from the builders).
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "genpt/flush/commands.hpp"
#include "genpt/format/armv8.hpp"

namespace {

using genpt::iotlb_flush;
namespace amd = genpt::amd_iommu;
namespace vtd = genpt::vtd;
namespace smmu = genpt::smmuv3;
using a4k = genpt::armv8_4k_s1;  ///< the SMMU's tables: 4K granule

iotlb_flush leaf_flush(std::uint64_t va, std::uint64_t last, std::uint8_t leaf_levels = 1) {
  return {va, last, leaf_levels, 0, false, false};
}
iotlb_flush table_flush(std::uint64_t va, std::uint64_t last, std::uint8_t leaf_levels,
                        std::uint8_t table_levels) {
  return {va, last, leaf_levels, table_levels, true, false};
}

struct span {
  std::uint64_t va = 0, last = 0;
};

// ===================================================================== AMD ==

/// The range an INVALIDATE_IOMMU_PAGES invalidates (AMD IOMMU spec: S=0 one
/// 4K page; S=1 the naturally aligned block of 2^(b+1) bytes, b the lowest
/// zero bit of Address at or above bit 12).
span amd_decode(const amd::inv_pages_cmd& c) {
  const std::uint64_t addr = (std::uint64_t{c.dw[3]} << 32) | (c.dw[2] & 0xfffff000u);
  if (!(c.dw[2] & 1)) return {addr, addr + 0xfff};
  const unsigned b = static_cast<unsigned>(std::countr_one(addr >> 12)) + 12;
  if (b >= 63) return {0, ~std::uint64_t{0}};
  const std::uint64_t size = std::uint64_t{1} << (b + 1);
  return {addr & ~(size - 1), (addr & ~(size - 1)) + (size - 1)};
}

TEST(amd_inv_pages, one_page_uses_s0_and_the_page_address) {
  const amd::inv_pages_cmd c = amd::make_inv_pages(leaf_flush(0x12345000, 0x12345fff), {0x42});
  EXPECT_EQ(c, (amd::inv_pages_cmd{{0x00000000u, 0x30000042u, 0x12345000u, 0x00000000u}}));
}

TEST(amd_inv_pages, aligned_16k_encodes_its_size_in_the_lowest_zero_address_bit) {
  const amd::inv_pages_cmd c = amd::make_inv_pages(leaf_flush(0x10000, 0x13fff), {0x42});
  EXPECT_EQ(c, (amd::inv_pages_cmd{{0x0u, 0x30000042u, 0x00011001u, 0x0u}}));
}

TEST(amd_inv_pages, freed_tables_set_pde) {
  const amd::inv_pages_cmd c = amd::make_inv_pages(table_flush(0x10000, 0x13fff, 1, 2), {0x42});
  EXPECT_EQ(c.dw[2], 0x00011003u);
}

TEST(amd_inv_pages, unaligned_range_widens_to_the_smallest_aligned_block) {
  // [0x3000, 0x4fff] crosses 16K: the covering block is [0, 0x7fff].
  const amd::inv_pages_cmd c = amd::make_inv_pages(leaf_flush(0x3000, 0x4fff), {1});
  EXPECT_EQ(c.dw[2], 0x00003001u);
  EXPECT_EQ(c.dw[3], 0u);
}

TEST(amd_inv_pages, block_past_2_to_the_52_flushes_all_pages) {
  const amd::inv_pages_cmd c =
      amd::make_inv_pages(leaf_flush(0, (std::uint64_t{1} << 53) - 1), {7});
  EXPECT_EQ(c, (amd::inv_pages_cmd{{0x0u, 0x30000007u, 0xfffff001u, 0x7fffffffu}}));
}

TEST(amd_inv_pages, queued_flush_of_everything_flushes_all_pages) {
  iotlb_flush f = leaf_flush(0, ~std::uint64_t{0});
  f.all = true;
  EXPECT_EQ(amd::make_inv_pages(f, {7}).dw[3], 0x7fffffffu);
}

TEST(amd_inv_pages, upper_half_2m_keeps_the_high_address_bits) {
  const amd::inv_pages_cmd c =
      amd::make_inv_pages(leaf_flush(0xffffffffffe00000, 0xffffffffffffffff, 2), {1});
  EXPECT_EQ(c.dw[2], 0xffeff001u);
  EXPECT_EQ(c.dw[3], 0xffffffffu);
}

TEST(amd_inv_pages, guest_pasid_sets_gn_and_the_pasid_field) {
  const amd::inv_pages_cmd c =
      amd::make_inv_pages(leaf_flush(0x5000, 0x5fff), {0x42, 0x1234, true});
  EXPECT_EQ(c, (amd::inv_pages_cmd{{0x00001234u, 0x30000042u, 0x00005004u, 0x0u}}));
}

TEST(amd_inv_pages, covers_every_random_range_with_the_smallest_aligned_block) {
  std::mt19937_64 rng(6);
  for (int i = 0; i < 20000; ++i) {
    const unsigned lg2 = 12 + static_cast<unsigned>(rng() % 40);
    const std::uint64_t va = (rng() & ((std::uint64_t{1} << 56) - 1)) & ~std::uint64_t{0xfff};
    const std::uint64_t len = ((rng() % (std::uint64_t{1} << (lg2 - 12))) + 1) << 12;
    const std::uint64_t last = va + len - 1;
    const span s = amd_decode(amd::make_inv_pages(leaf_flush(va, last), {1}));
    ASSERT_LE(s.va, va);
    ASSERT_GE(s.last, last);
    const std::uint64_t size = s.last - s.va + 1;
    if (size > 0x1000 && size != 0) {
      // Half the block would not do: the range crosses its middle.
      const std::uint64_t mid = s.va + size / 2;
      ASSERT_TRUE(va < mid && last >= mid) << std::hex << va << " " << last;
    }
  }
}

// ==================================================================== VT-d ==

/// The range a page-selective IOTLB invalidation covers (VT-d spec: ADDR
/// with its low AM page bits ignored, 2^AM pages); everything otherwise.
span vtd_decode(const vtd::descriptor& d) {
  if (((d.qw0 >> 4) & 3) != vtd::gran_page) return {0, ~std::uint64_t{0}};
  const unsigned am = static_cast<unsigned>(d.qw1 & 0x3f);
  const std::uint64_t size = std::uint64_t{1} << (12 + am);
  const std::uint64_t base = (d.qw1 & ~std::uint64_t{0xfff}) & ~(size - 1);
  return {base, base + (size - 1)};
}

TEST(vtd_iotlb_inv, one_leaf_page_is_page_selective_with_ih) {
  const vtd::descriptor d = vtd::make_iotlb_inv(leaf_flush(0x12345000, 0x12345fff), {0x42});
  EXPECT_EQ(d, (vtd::descriptor{0x0000000000420032ull, 0x0000000012345040ull}));
}

TEST(vtd_iotlb_inv, freed_tables_clear_ih_and_am_gives_the_block) {
  const vtd::descriptor d = vtd::make_iotlb_inv(table_flush(0x10000, 0x13fff, 1, 2), {0x42});
  EXPECT_EQ(d, (vtd::descriptor{0x0000000000420032ull, 0x0000000000010002ull}));
}

TEST(vtd_iotlb_inv, am_above_mamv_becomes_domain_selective) {
  vtd::params p{0x42};
  p.mamv = 9;
  const vtd::descriptor d = vtd::make_iotlb_inv(leaf_flush(0, (std::uint64_t{1} << 22) - 1), p);
  EXPECT_EQ(d, (vtd::descriptor{0x0000000000420022ull, 0}));
}

TEST(vtd_iotlb_inv, pasid_based_descriptor_carries_did_and_pasid) {
  vtd::params p{7};
  p.pasid_based = true;
  p.pasid = 0x55;
  const vtd::descriptor d = vtd::make_iotlb_inv(leaf_flush(0x2000, 0x3fff), p);
  EXPECT_EQ(d, (vtd::descriptor{0x0000005500070036ull, 0x0000000000002041ull}));
}

TEST(vtd_iotlb_inv, drain_flags_set_dr_and_dw) {
  vtd::params p{1};
  p.drain_reads = p.drain_writes = true;
  EXPECT_EQ(vtd::make_iotlb_inv(leaf_flush(0, 0xfff), p).qw0, 0x00000000000100f2ull);
}

TEST(vtd_iotlb_inv, covers_every_random_range_with_the_smallest_aligned_block) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const unsigned lg2 = 12 + static_cast<unsigned>(rng() % 40);
    const std::uint64_t va = (rng() & ((std::uint64_t{1} << 56) - 1)) & ~std::uint64_t{0xfff};
    const std::uint64_t len = ((rng() % (std::uint64_t{1} << (lg2 - 12))) + 1) << 12;
    const std::uint64_t last = va + len - 1;
    const bool freed = rng() & 1;
    const iotlb_flush f = freed ? table_flush(va, last, 1, 2) : leaf_flush(va, last);
    const vtd::descriptor d = vtd::make_iotlb_inv(f, {1});
    const span s = vtd_decode(d);
    ASSERT_LE(s.va, va);
    ASSERT_GE(s.last, last);
    ASSERT_EQ(((d.qw1 >> 6) & 1) == 1, !freed) << "IH must be 1 exactly when no table was freed";
    const std::uint64_t size = s.last - s.va + 1;
    if (size > 0x1000 && size != 0) {
      const std::uint64_t mid = s.va + size / 2;
      ASSERT_TRUE(va < mid && last >= mid);
    }
  }
}

// ================================================================== SMMUv3 ==

/// What one SMMUv3 TLBI by address invalidates (spec 4.4.1.1): with TG,
/// (NUM+1) * 2^SCALE granules from Address; without, the entries holding
/// Address (one granule of leaf-level entries here).
span smmu_decode(const smmu::command& c, unsigned granule_lg2) {
  const std::uint64_t addr = c.dw[1] & ~std::uint64_t{0xfff};
  const unsigned tg = static_cast<unsigned>((c.dw[1] >> 10) & 3);
  if (tg == 0) return {addr, addr + ((std::uint64_t{1} << granule_lg2) - 1)};
  const std::uint64_t num = ((c.dw[0] >> 12) & 31) + 1;
  const unsigned scale = static_cast<unsigned>((c.dw[0] >> 20) & 31);
  return {addr, addr + ((num << scale) << granule_lg2) - 1};
}

smmu::params s1_4k() {
  smmu::params p;
  p.asid = 5;
  p.vmid = 3;
  return p;
}

TEST(smmuv3_tlbi, unmap_of_256_pages_is_one_range_command_with_ttl_3_and_leaf) {
  const smmu::command_list l = smmu::make_tlbi<a4k>(leaf_flush(0x100000, 0x1fffff), s1_4k());
  ASSERT_EQ(l.count, 1u);
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0005000300800012ull, 0x0000000000100701ull}}));
}

TEST(smmuv3_tlbi, freed_table_clears_leaf_and_keeps_ttl_of_the_leaves_below_it) {
  const smmu::command_list l = smmu::make_tlbi<a4k>(table_flush(0x200000, 0x3fffff, 1, 2), s1_4k());
  ASSERT_EQ(l.count, 1u);
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0005000300900012ull, 0x0000000000200700ull}}));
}

TEST(smmuv3_tlbi, granule_count_splits_into_num_and_scale_chunks) {
  // 33 granules: 1 at 0x1000 (SCALE 0), then 32 at 0x2000 (SCALE 5).
  const smmu::command_list l = smmu::make_tlbi<a4k>(leaf_flush(0x1000, 0x21fff), s1_4k());
  ASSERT_EQ(l.count, 2u);
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0005000300000012ull, 0x0000000000001701ull}}));
  EXPECT_EQ(l.cmd[1], (smmu::command{{0x0005000300500012ull, 0x0000000000002701ull}}));
}

TEST(smmuv3_tlbi, one_granule_without_a_level_hint_uses_the_non_range_form) {
  // Two leaf levels changed: no TTL; NUM=SCALE=TTL=0 with a TG is reserved.
  const smmu::command_list l = smmu::make_tlbi<a4k>(leaf_flush(0x5000, 0x5fff, 0b11), s1_4k());
  ASSERT_EQ(l.count, 1u);
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0005000300000012ull, 0x0000000000005001ull}}));
}

TEST(smmuv3_tlbi, stage2_16k_block_uses_s2_ipa_with_ttl_2) {
  smmu::params p;
  p.stage = 2;
  p.vmid = 9;
  const smmu::command_list l =
      smmu::make_tlbi<genpt::armv8_16k_s2>(leaf_flush(0x2000000, 0x3ffffff, 0b10), p);  // one 32M block
  ASSERT_EQ(l.count, 1u);
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0000000900b0002aull, 0x0000000002000a01ull}}));
}

TEST(smmuv3_tlbi, flush_of_everything_is_tlbi_nh_asid_or_s12_vmall) {
  iotlb_flush f = leaf_flush(0, ~std::uint64_t{0});
  f.all = true;
  smmu::command_list l = smmu::make_tlbi<a4k>(f, s1_4k());
  ASSERT_EQ(l.count, 1u);
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0005000300000011ull, 0}}));
  smmu::params p2;
  p2.stage = 2;
  p2.vmid = 9;
  l = smmu::make_tlbi<a4k>(f, p2);
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0000000900000028ull, 0}}));
}

// 2^44 granules need 256 commands of 32 * 2^31 (a count whose lowest set
// bit is above 31 is encoded with SCALE 31: issue 10, defect 9).
TEST(smmuv3_tlbi, range_needing_more_than_max_commands_falls_back_to_the_asid) {
  const smmu::command_list l =
      smmu::make_tlbi<a4k>(leaf_flush(0, (std::uint64_t{1} << 56) - 1), s1_4k());
  ASSERT_EQ(l.count, 1u);
  EXPECT_EQ(l.cmd[0].dw[0] & 0xff, smmu::op_tlbi_nh_asid);
}

TEST(smmuv3_tlbi, without_range_support_one_command_per_smallest_changed_entry) {
  smmu::params p = s1_4k();
  p.range = false;
  const smmu::command_list l = smmu::make_tlbi<a4k>(leaf_flush(0x200000, 0x5fffff, 0b10), p);
  ASSERT_EQ(l.count, 2u);  // two 2M blocks
  EXPECT_EQ(l.cmd[0].dw[1], 0x200001ull);
  EXPECT_EQ(l.cmd[1].dw[1], 0x400001ull);
}

TEST(smmuv3_tlbi, commands_cover_exactly_every_random_granule_range) {
  std::mt19937_64 rng(8);
  const auto run = [&]<class Format>() {
    constexpr unsigned g = Format::granule_lg2;
    const smmu::params p = s1_4k();
    for (int i = 0; i < 5000; ++i) {
      const std::uint64_t va = (rng() & ((std::uint64_t{1} << 48) - 1)) >> g << g;
      const std::uint64_t granules = 1 + rng() % (std::uint64_t{1} << (rng() % 20));
      const std::uint64_t last = va + (granules << g) - 1;
      const smmu::command_list l = smmu::make_tlbi<Format>(leaf_flush(va, last), p);
      ASSERT_GE(l.count, 1u);
      std::uint64_t next = va;
      for (unsigned k = 0; k < l.count; ++k) {
        const span s = smmu_decode(l.cmd[k], g);
        ASSERT_EQ(s.va, next) << "commands must tile the range in order";
        next = s.last + 1;
      }
      ASSERT_EQ(next, last + 1) << "exactly the range, nothing past it";
    }
  };
  run.template operator()<genpt::armv8_4k_s1>();
  run.template operator()<genpt::armv8_16k_s1>();
  run.template operator()<genpt::armv8_64k_s1>();
}

// ======================================================== sink adapters ==

TEST(command_sinks, each_sink_submits_the_builders_commands) {
  std::vector<amd::inv_pages_cmd> a;
  amd::sink<std::function<void(const amd::inv_pages_cmd&)>> as{{1},
                                                                 [&](const auto& c) { a.push_back(c); }};
  as.flush(leaf_flush(0x1000, 0x1fff));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], amd::make_inv_pages(leaf_flush(0x1000, 0x1fff), {1}));

  std::vector<smmu::command> s;
  smmu::sink<a4k, std::function<void(const smmu::command&)>> ss{s1_4k(),
                                                             [&](const auto& c) { s.push_back(c); }};
  ss.flush(leaf_flush(0x1000, 0x21fff));
  EXPECT_EQ(s.size(), 2u);
}

}  // namespace
