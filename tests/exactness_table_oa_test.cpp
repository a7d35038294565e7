// exactness_table_oa_test.cpp - every table genpt makes lies where the
// format can point to it (issue 10, defect 4). A table whose output address
// does not fit below 2^oa_lg2 (MAXPHYADDR, the PS / IPA size, the IOMMU's
// OA width) would make the walker raise a reserved-bit / address-size fault;
// genpt must refuse it with no_memory and leave the table as it was.
//
// Each test places an arena at a chosen output address and reads the table
// memory back the way the hardware does, with field positions written out
// here by hand (Intel SDM Vol. 3A §4.5, AMD IOMMU spec §2.2.3, Arm ARM
// D8.3.1), never through genpt's own decode.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/level_meta.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace {

using genpt::errc;
using genpt::oa_t;

constexpr std::uint64_t k4 = 0x1000;
constexpr std::uint64_t m2 = 0x20'0000;
constexpr genpt::prot rw = genpt::prot::read | genpt::prot::write;

/// `pages` 4 KiB table pages of 64 KiB-aligned memory at output address
/// `base`, handed out lowest first, plus room at the top for the arena's
/// own bookkeeping.
struct block {
  static constexpr std::size_t align = std::size_t{1} << 16;
  static constexpr std::size_t meta_pages = 4;
  std::size_t bytes;
  std::byte* mem;
  oa_t base_oa;
  block(oa_t base, std::size_t pages)
      : bytes((pages + meta_pages) * k4),
        mem(static_cast<std::byte*>(::operator new(bytes, std::align_val_t{align}))),
        base_oa(base) {}
  ~block() { ::operator delete(mem, std::align_val_t{align}); }
  block(const block&) = delete;
  block& operator=(const block&) = delete;

  genpt::arena_levels arena(genpt::level_stats* s) { return genpt::arena_levels(mem, bytes, base_oa, s); }

  /// The 8-byte item at table oa `table` index `i`, read as the walker reads it.
  std::uint64_t item(oa_t table, unsigned i) const {
    std::uint64_t v;
    std::memcpy(&v, mem + (table - base_oa) + 8 * i, 8);
    return v;
  }
  /// True when all `n` items of the table at `table` are zero.
  bool all_zero(oa_t table, unsigned n) const {
    for (unsigned i = 0; i < n; ++i)
      if (item(table, i) != 0) return false;
    return true;
  }
};

constexpr oa_t p2(unsigned n) { return oa_t{1} << n; }

// --- x86_64 ---------------------------------------------------------------
// SDM Vol. 3A §4.5.4, Tables 4-15/4-17: a PML4E / PDE that references a
// table holds its address in bits M-1:12 (M = MAXPHYADDR); bits 51:M are
// reserved, must be 0, and a set one is a reserved-bit page fault. genpt's
// table entries are P | R/W | U/S | A = 0x27 plus the address.

using x86_table = genpt::page_table<genpt::x86_64, genpt::arena_levels>;

genpt::x86_64::config x86_oa(unsigned oa_lg2) {
  genpt::x86_64::config c;
  c.oa_lg2 = oa_lg2;
  return c;
}

TEST(Exactness, X86RootAboveMaxPhyAddrIsNoMemory) {
  // issue 10, defect 4: the root at 2^40 with MAXPHYADDR 36 was accepted;
  // CR3 (and any PML4E) cannot hold bit 40 there.
  block b(p2(40), 2);
  genpt::level_stats s;
  {
    auto pt = x86_table::create(x86_oa(36), b.arena(&s));
    ASSERT_FALSE(pt.has_value());
    EXPECT_EQ(pt.error(), errc::no_memory);
  }
  EXPECT_EQ(s.live_tables.load(), 0);  // the refused root went back
  // The same arena is fine once the OA width covers it.
  auto pt = x86_table::create(x86_oa(41), b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  EXPECT_EQ(pt->hw_info().root, p2(40));
}

TEST(Exactness, X86RootEndingExactlyAtMaxPhyAddrIsAccepted) {
  // issue 10, defect 4: the limit is on the whole table [oa, oa + 4K):
  // a root in the last page below 2^36 is fine.
  block b(p2(36) - k4, 2);
  genpt::level_stats s;
  auto pt = x86_table::create(x86_oa(36), b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  ASSERT_EQ(pt->hw_info().root, p2(36) - k4);  // arena_levels hands out its lowest page first
}

TEST(Exactness, X86NewLevelAboveMaxPhyAddrIsNoMemoryAndTheRootStaysZero) {
  // issue 10, defect 4: the PDPT a map needed landed at 2^36 and the PML4E
  // pointed to it with bit 36 set (reserved with MAXPHYADDR 36).
  block b(p2(36) - k4, 2);
  genpt::level_stats s;
  auto pt = x86_table::create(x86_oa(36), b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  const oa_t root = pt->hw_info().root;
  ASSERT_EQ(root, p2(36) - k4);
  const auto r = pt->map(0, 0x5000, k4, rw);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_memory);
  EXPECT_TRUE(b.all_zero(root, 512)) << "PML4E[0] = 0x" << std::hex << b.item(root, 0);
  EXPECT_EQ(s.live_tables.load(), 1);  // only the root: the refused PDPT was freed
  EXPECT_FALSE(pt->iova_to_phys(0).has_value());
}

TEST(Exactness, X86NewLevelBelowMaxPhyAddrIsLinkedWithItsAddress) {
  // The same layout with MAXPHYADDR 37: PML4E[0] = 2^36 | P|RW|US|A.
  block b(p2(36) - k4, 4);
  genpt::level_stats s;
  auto pt = x86_table::create(x86_oa(37), b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  const oa_t root = pt->hw_info().root;
  ASSERT_EQ(root, p2(36) - k4);
  ASSERT_TRUE(pt->map(0, 0x5000, k4, rw));
  EXPECT_EQ(b.item(root, 0), 0x0000'0010'0000'0027u);
}

TEST(Exactness, X86CutTableAboveMaxPhyAddrIsNoMemoryAndTheLeafStays) {
  // issue 10, defect 4: the PT a cut of a 2M leaf needs would sit at 2^36.
  // Pages: root 2^36-12K, PDPT 2^36-8K, PD 2^36-4K, then 2^36.
  block b(p2(36) - 3 * k4, 4);
  genpt::level_stats s;
  auto pt = x86_table::create(x86_oa(36), b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  const oa_t root = pt->hw_info().root;
  ASSERT_EQ(root, p2(36) - 3 * k4);
  ASSERT_TRUE(pt->map(0, 0x4000'0000, m2, rw));
  EXPECT_EQ(b.item(root, 0), (p2(36) - 2 * k4) | 0x27);
  const oa_t pdpt = p2(36) - 2 * k4, pd = p2(36) - k4;
  EXPECT_EQ(b.item(pdpt, 0), pd | 0x27);
  // PDE mapping 2 MiB (Table 4-17): P|RW|US|A|D|PS = 0xE7, address 0x4000'0000.
  const std::uint64_t leaf = 0x4000'00E7;
  ASSERT_EQ(b.item(pd, 0), leaf);
  genpt::gather g;
  const auto r = pt->cut(k4, g);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_memory);
  EXPECT_EQ(b.item(pd, 0), leaf);
  EXPECT_EQ(s.live_tables.load(), 3);
  pt->sync(g);
}

// --- ARMv8 stage 2, 4K granule ---------------------------------------------
// D8.3.1: a table descriptor is bits[1:0] = 0b11 with the next-level address
// in bits 47:12; an address at or above the configured PS (VTCR_EL2.PS,
// here 40 bits) is an Address size fault (D8.11.3).

using s2_table = genpt::page_table<genpt::armv8_4k_s2, genpt::arena_levels>;

TEST(Exactness, Armv8Stage2RootAboveThePhysicalSizeIsNoMemory) {
  // issue 10, defect 4: oa_lg2 = 40 with the root at 2^44 was accepted.
  block b(p2(44), 4);
  genpt::level_stats s;
  {
    auto pt = s2_table::create({.va_lg2 = 40, .oa_lg2 = 40}, b.arena(&s));
    ASSERT_FALSE(pt.has_value());
    EXPECT_EQ(pt.error(), errc::no_memory);
  }
  EXPECT_EQ(s.live_tables.load(), 0);
}

TEST(Exactness, Armv8Stage2NewLevelAboveThePhysicalSizeIsNoMemory) {
  // issue 10, defect 4. A 40-bit IPA starts at level 1 with two
  // concatenated tables (8 KiB root, D8.2.7): root at 2^40-8K, the next
  // page is 2^40.
  block b(p2(40) - 2 * k4, 3);
  genpt::level_stats s;
  auto pt = s2_table::create({.va_lg2 = 40, .oa_lg2 = 40}, b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  const oa_t root = pt->hw_info().root;
  ASSERT_EQ(root, p2(40) - 2 * k4);
  const auto r = pt->map(0, 0x5000, k4, rw);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_memory);
  EXPECT_TRUE(b.all_zero(root, 1024));
  EXPECT_EQ(s.live_tables.load(), 1);

  // With a 48-bit PS the same table is reachable: descriptor 2^40 | 0b11.
  block b2(p2(40) - 2 * k4, 5);
  auto pt2 = s2_table::create({.va_lg2 = 40, .oa_lg2 = 48}, b2.arena(nullptr));
  ASSERT_TRUE(pt2.has_value());
  ASSERT_TRUE(pt2->map(0, 0x5000, k4, rw));
  EXPECT_EQ(b2.item(pt2->hw_info().root, 0), 0x0000'0100'0000'0003u);
}

// --- AMDv1 growth ------------------------------------------------------------
// AMD IOMMU spec §2.2.3: the DTE root pointer and a PDE's address field are
// bits 51:12; the IOMMU reports an IO_PAGE_FAULT for address bits above its
// supported width.

using amd_table = genpt::page_table<genpt::amdv1, genpt::arena_levels>;

TEST(Exactness, Amdv1GrowthAboveTheOaWidthIsNoMemoryAndTheTopStays) {
  // issue 10, defect 4: the new top a growth needs would sit at 2^36.
  block b(p2(36) - k4, 2);
  genpt::level_stats s;
  auto pt = amd_table::create(
      {.starting_level = 1, .oa_lg2 = 36, .features = genpt::amdv1::dynamic_top}, b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  const oa_t root = pt->hw_info().root;
  ASSERT_EQ(root, p2(36) - k4);
  ASSERT_EQ(pt->hw_info().mode, 2u);
  const auto r = pt->map(p2(30), 0x5000, k4, rw);  // beyond the 30 bits mode 2 decodes
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_memory);
  EXPECT_EQ(pt->hw_info().root, root);
  EXPECT_EQ(pt->hw_info().mode, 2u);
  EXPECT_EQ(pt->info().top_level, 1u);
  EXPECT_TRUE(b.all_zero(root, 512));
  EXPECT_EQ(s.live_tables.load(), 1);
}

TEST(Exactness, Amdv1NewLevelAboveTheOaWidthIsNoMemory) {
  // issue 10, defect 4: a fixed mode-2 top at 2^36-4K and a level-0
  // table that would sit at 2^36.
  block b(p2(36) - k4, 2);
  genpt::level_stats s;
  auto pt = amd_table::create({.starting_level = 1, .oa_lg2 = 36}, b.arena(&s));
  ASSERT_TRUE(pt.has_value());
  const oa_t root = pt->hw_info().root;
  const auto r = pt->map(0, 0x5000, k4, rw);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_memory);
  EXPECT_TRUE(b.all_zero(root, 512));
  EXPECT_EQ(s.live_tables.load(), 1);
}

// --- heap_levels: the oa is the host address ---------------------------------

/// Forwards to heap_levels and records the oa of the first table it hands out.
class first_oa_levels {
 public:
  first_oa_levels(genpt::level_stats* s, oa_t* first) noexcept : inner_(s), first_(first) {}
  genpt::table_alloc allocate(unsigned lg2) noexcept {
    const genpt::table_alloc t = inner_.allocate(lg2);
    if (t.table && *first_ == 0) *first_ = t.oa;
    return t;
  }
  void* phys_to_virt(oa_t oa) const noexcept { return inner_.phys_to_virt(oa); }
  genpt::table_link& link_of(void* t, unsigned lg2) noexcept { return inner_.link_of(t, lg2); }
  void free(genpt::table_list& l) noexcept { inner_.free(l); }

 private:
  genpt::heap_levels inner_;
  oa_t* first_;
};

TEST(Exactness, HeapRootAboveTheOaWidthIsNoMemory) {
  // issue 10, defect 4: heap_levels' oa is the host address (typically
  // ~2^46 on x86-64 Linux); with oa_lg2 = 32 such a root cannot be pointed to.
  for (const unsigned oa_lg2 : {32u, 40u, 48u, 52u}) {
    genpt::level_stats s;
    oa_t first = 0;
    {
      auto pt = genpt::page_table<genpt::x86_64, first_oa_levels>::create(x86_oa(oa_lg2),
                                                                          first_oa_levels(&s, &first));
      ASSERT_NE(first, 0u);
      const bool fits = ((first + k4 - 1) >> oa_lg2) == 0;
      EXPECT_EQ(pt.has_value(), fits) << "oa_lg2 " << oa_lg2 << " root 0x" << std::hex << first;
      if (!pt) {
        EXPECT_EQ(pt.error(), errc::no_memory);
      } else {
        EXPECT_EQ(pt->hw_info().root, first);
      }
    }
    EXPECT_EQ(s.live_tables.load(), 0);
  }
}

}  // namespace
