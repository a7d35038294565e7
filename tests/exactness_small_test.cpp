// tests/exactness_small_test.cpp - issue 10, defect 9: the umbrella header
// includes every public header; the AMD command sink tells the driver about
// a grown top in DTE terms; the SMMUv3 builder encodes granule counts whose
// lowest set bit is above 31 with NUM/SCALE instead of invalidating all.
//
// Only genpt/genpt.hpp is included: every genpt name used below must come
// through it. Command words are written out by hand from the specs:
//   AMD IOMMU spec: DTE bits 63:0 = V 0, TV 1, Mode 11:9, Host Page Table
//     Root Pointer 51:12, IR 61, IW 62; INVALIDATE_DEVTAB_ENTRY (02h):
//     dw0 DeviceID[15:0], dw1 Op[31:28] = 2, dw2 = dw3 = 0.
//   Arm SMMUv3 spec §4.4: CMD_TLBI_NH_VA (12h): dw0 Op[7:0], NUM[16:12],
//     SCALE[24:20], VMID[47:32], ASID[63:48]; dw1 Leaf[0], TTL[9:8],
//     TG[11:10], Address[63:12]; (NUM+1) * 2^SCALE granules from Address.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "genpt/genpt.hpp"

namespace {

using genpt::oa_t;
using genpt::prot;
namespace amd = genpt::amd_iommu;
namespace smmu = genpt::smmuv3;

// ----------------------------------------------------------- umbrella ----

/// Cache maintenance that only counts (the heap is coherent anyway).
struct counting_cache_ops {
  std::size_t* bytes;
  void clean(const void*, std::size_t n) const noexcept { *bytes += n; }
};

/// Each header genpt.hpp once lacked, used through it alone.
TEST(Exactness, UmbrellaHeaderBringsEveryPublicHeader) {  // issue 10, defect 9
  // alloc/arena_levels.hpp: tables in caller memory at a chosen oa.
  alignas(4096) static unsigned char arena[64 * 1024];
  genpt::level_stats stats;
  auto a = genpt::page_table<genpt::x86_64, genpt::arena_levels>::create(
      {.top_level = 3}, genpt::arena_levels(arena, sizeof arena, 0x4000'0000, &stats));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->hw_info().root >> 16, 0x4000'0000u >> 16);

  // alloc/deferred_free.hpp with alloc/epoch_domain.hpp.
  genpt::epoch_domain domain;
  auto d = genpt::page_table<genpt::x86_64, genpt::deferred_free<genpt::heap_levels, genpt::epoch_domain>>::create(
      {.top_level = 3},
      genpt::deferred_free<genpt::heap_levels, genpt::epoch_domain>(genpt::heap_levels{}, domain));
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE(d->map(0x1000, 0x5000, 0x1000, prot::read).has_value());
  EXPECT_EQ(d->unmap(0x1000, 0x1000), 0x1000u);

  // alloc/incoherent.hpp: every table is cleaned when allocated.
  std::size_t cleaned = 0;
  auto i = genpt::page_table<genpt::x86_64, genpt::incoherent<genpt::heap_levels, counting_cache_ops>>::create(
      {.top_level = 3},
      genpt::incoherent<genpt::heap_levels, counting_cache_ops>(genpt::heap_levels{},
                                                                 counting_cache_ops{&cleaned}));
  ASSERT_TRUE(i.has_value());
  EXPECT_GE(cleaned, 4096u);

  // alloc/fault_injecting.hpp, core/format_traits.hpp.
  static_assert(genpt::level_allocator<genpt::fault_injecting<genpt::heap_levels>>);
  static_assert(genpt::format_traits<genpt::x86_64>::item_lg2(1) == 21);

  // walk/walk.hpp: the arena table above, walked through span_memory.
  ASSERT_TRUE(a->map(0x20'0000, 0x7000, 0x1000, prot::read).has_value());
  genpt::span_memory mem(arena, sizeof arena, 0x4000'0000);
  const genpt::walk_result w =
      genpt::walk<genpt::x86_64>(a->params(), a->hw_info().root, 0x20'0123, genpt::access{}, mem);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.t.oa, 0x7123u);
}

// ------------------------------------------------ AMD sink change_top ----

/// The driver's side of the AMD sink: queued commands and DTE updates.
struct amd_driver {
  std::vector<amd::inv_pages_cmd> pages;
  std::vector<amd::dte_update> dte_updates;
  void operator()(const amd::inv_pages_cmd& c) noexcept { pages.push_back(c); }
  void operator()(const amd::dte_update& u) noexcept { dte_updates.push_back(u); }
};
struct amd_submit {
  amd_driver* d;
  void operator()(const amd::inv_pages_cmd& c) const noexcept { (*d)(c); }
  void operator()(const amd::dte_update& u) const noexcept { (*d)(u); }
};

/// A growing AMDv1 top reaches a driver that uses the ready-made sink: the
/// new root and DTE Mode, the DTE word rewritten, and the
/// INVALIDATE_DEVTAB_ENTRY the driver queues for each device.
TEST(Exactness, AmdSinkReportsAGrownTopAsADteUpdate) {  // issue 10, defect 9
  using table_t = genpt::page_table<genpt::amdv1, genpt::heap_levels, genpt::flush_range<amd::sink<amd_submit>>>;
  amd_driver drv;
  auto t = table_t::create({.starting_level = 2, .features = genpt::amdv1::dynamic_top}, genpt::heap_levels{},
                           genpt::flush_range<amd::sink<amd_submit>>(amd::sink<amd_submit>{{7}, {&drv}}));
  ASSERT_TRUE(t.has_value());
  const oa_t old_root = t->hw_info().root;
  EXPECT_EQ(t->hw_info().mode, 3u);
  // VA bit 39 is beyond a mode-3 (39-bit) top: the table grows to mode 4.
  ASSERT_TRUE(t->map(std::uint64_t{1} << 39, 0x5000, 0x1000, prot::read | prot::write).has_value());
  ASSERT_EQ(drv.dte_updates.size(), 1u);
  const amd::dte_update u = drv.dte_updates[0];
  const oa_t new_root = t->hw_info().root;
  EXPECT_NE(new_root, old_root);
  EXPECT_EQ(u.root, new_root);
  EXPECT_EQ(u.mode, 4u);
  EXPECT_EQ(new_root & ~std::uint64_t{0x000F'FFFF'FFFF'F000}, 0u);
  // DTE bits 63:0 of a translating device: V | TV | Mode 3 | old root | IR | IW.
  const std::uint64_t dte_before = 0x6000'0000'0000'0603 | old_root;
  // Mode 4 (0x800) and the new root; V, TV, IR, IW kept.
  EXPECT_EQ(u.apply(dte_before), 0x6000'0000'0000'0803 | new_root);
  EXPECT_EQ(amd::make_inv_devtab_entry(0x00A5), (amd::inv_devtab_cmd{{0x0000'00A5u, 0x2000'0000u, 0u, 0u}}));
  EXPECT_EQ(amd::make_inv_devtab_entry(0xFFFF), (amd::inv_devtab_cmd{{0x0000'FFFFu, 0x2000'0000u, 0u, 0u}}));
  EXPECT_TRUE(drv.pages.empty()) << "growth changes no translation: nothing to invalidate";
  EXPECT_EQ(t->iova_to_phys(std::uint64_t{1} << 39), 0x5000u);
}

// --------------------------------------------- SMMUv3 SCALE above 31 ----

smmu::params s1_4k() {
  smmu::params p;
  p.asid = 5;
  p.vmid = 3;
  return p;
}

genpt::iotlb_flush leaf_flush(std::uint64_t va, std::uint64_t last) { return {va, last, 1, 0, false, false}; }

/// 2^32 granules (16 TiB of 4K pages): NUM = 1, SCALE = 31, one command.
TEST(Exactness, SmmuGranuleCountAboveScale31IsOneRangeCommand) {  // issue 10, defect 9
  const smmu::command_list l = smmu::make_tlbi<genpt::armv8_4k_s1>(leaf_flush(0, (std::uint64_t{1} << 44) - 1), s1_4k());
  ASSERT_EQ(l.count, 1u);
  // NH_VA 0x12 | NUM 1 << 12 | SCALE 31 << 20 | VMID 3 << 32 | ASID 5 << 48;
  // Leaf | TTL 3 << 8 | TG 1 (4K) << 10 | Address 0.
  EXPECT_EQ(l.cmd[0], (smmu::command{{0x0005'0003'01F0'1012ull, 0x0000'0000'0000'0701ull}}));

  // 3 * 2^32 granules: NUM = 5 (6 * 2^31), one command.
  const smmu::command_list l3 = smmu::make_tlbi<genpt::armv8_4k_s1>(leaf_flush(0, 3 * (std::uint64_t{1} << 44) - 1), s1_4k());
  ASSERT_EQ(l3.count, 1u);
  EXPECT_EQ(l3.cmd[0], (smmu::command{{0x0005'0003'01F0'5012ull, 0x0000'0000'0000'0701ull}}));
}

/// 2^40 granules (the whole 52-bit space): 16 commands of 32 * 2^31.
TEST(Exactness, SmmuWholeSpaceIsSixteenMaximalRangeCommands) {  // issue 10, defect 9
  const smmu::command_list l = smmu::make_tlbi<genpt::armv8_4k_s1>(leaf_flush(0, (std::uint64_t{1} << 52) - 1), s1_4k());
  ASSERT_EQ(l.count, 16u);
  for (unsigned k = 0; k < 16; ++k)
    EXPECT_EQ(l.cmd[k], (smmu::command{{0x0005'0003'01F1'F012ull, (std::uint64_t{k} << 48) | 0x701}})) << k;
}

/// Random counts with the lowest set bit at 32..35 tile the range exactly
/// (decoded by hand: (NUM+1) * 2^SCALE granules from Address).
TEST(Exactness, SmmuLargeGranuleCountsTileTheRangeExactly) {  // issue 10, defect 9
  std::mt19937_64 rng(10);
  for (int i = 0; i < 2000; ++i) {
    const unsigned g = 12 + 2 * static_cast<unsigned>(rng() % 3);
    const smmu::params p = s1_4k();
    const std::uint64_t granules = (1 + rng() % 31) << (32 + rng() % 4);
    const std::uint64_t va = (rng() & ((std::uint64_t{1} << 40) - 1)) >> g << g;
    const std::uint64_t last = va + (granules << g) - 1;
    // The granule is the tables' format's.
    const smmu::command_list l =
        g == 12   ? smmu::make_tlbi<genpt::armv8_4k_s1>(leaf_flush(va, last), p)
        : g == 14 ? smmu::make_tlbi<genpt::armv8_16k_s1>(leaf_flush(va, last), p)
                  : smmu::make_tlbi<genpt::armv8_64k_s1>(leaf_flush(va, last), p);
    ASSERT_GE(l.count, 1u);
    std::uint64_t next = va;
    for (unsigned k = 0; k < l.count; ++k) {
      const smmu::command& c = l.cmd[k];
      ASSERT_EQ(c.dw[0] & 0xff, 0x12u) << "a range command, not a flush of the ASID";
      ASSERT_EQ((c.dw[1] >> 10) & 3, g == 12 ? 1u : g == 14 ? 2u : 3u) << "TG";
      ASSERT_EQ(c.dw[1] & ~std::uint64_t{0xfff}, next) << "commands tile the range in order";
      const std::uint64_t num = ((c.dw[0] >> 12) & 31) + 1;
      const unsigned scale = static_cast<unsigned>((c.dw[0] >> 20) & 31);
      next += (num << scale) << g;
    }
    ASSERT_EQ(next, last + 1) << "exactly the range";
  }
}

}  // namespace
