// exactness_layout_test.cpp - where the hardware looks for a va (issue 10,
// defect 1). Each test maps through page_table, then walks the table memory
// with a few lines of spec arithmetic written here by hand (index bits and
// descriptor fields from the SDM, the AMD IOMMU spec and the Arm ARM), never
// through genpt's own decode.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace {

/// 1 MiB of 64 KiB-aligned table memory at a chosen oa.
struct arena_block {
  static constexpr std::size_t bytes = std::size_t{1} << 20;
  static constexpr std::size_t align = std::size_t{1} << 16;
  std::byte* mem = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{align}));
  std::uint64_t base_oa;
  explicit arena_block(std::uint64_t base) : base_oa(base) {}
  ~arena_block() { ::operator delete(mem, std::align_val_t{align}); }
  arena_block(const arena_block&) = delete;
  arena_block& operator=(const arena_block&) = delete;

  /// The 8-byte item at table oa `table` index `i`, read as the hardware reads it.
  std::uint64_t item(std::uint64_t table, unsigned i) const {
    std::uint64_t v;
    std::memcpy(&v, mem + (table - base_oa) + 8 * i, 8);
    return v;
  }
};

constexpr std::uint64_t addr_51_12 = 0x000F'FFFF'FFFF'F000;  // x86 / AMD table address field
constexpr std::uint64_t addr_47_12 = 0x0000'FFFF'FFFF'F000;  // ARMv8 (48-bit OA) next-level address

unsigned bits(std::uint64_t va, unsigned hi, unsigned lo) {
  return static_cast<unsigned>((va >> lo) & ((std::uint64_t{1} << (hi - lo + 1)) - 1));
}

// --- x86_64 ---------------------------------------------------------------

TEST(Exactness, X86SignExtendedNarrowerThanTheTopIsRefused) {
  // issue 10, defect 1: a 47-bit sign-extended space on a 4-level top put
  // its upper half at PML4 index 255; the CPU indexes with bits 47:39.
  arena_block b(0x100000);
  genpt::x86_64::config c;
  c.top_level = 3;
  c.va_lg2 = 47;  // sign_extend is the default feature
  auto pt = genpt::page_table<genpt::x86_64, genpt::arena_levels>::create(
      c, genpt::arena_levels(b.mem, b.bytes, b.base_oa));
  ASSERT_FALSE(pt.has_value());
  EXPECT_EQ(pt.error(), genpt::errc::not_supported);

  c.top_level = 4;
  c.va_lg2 = 56;
  EXPECT_EQ(genpt::x86_64::init(c).error(), genpt::errc::not_supported);
  // A low-half-only table may be narrower: its indexes are the hardware's.
  c.top_level = 3;
  c.va_lg2 = 47;
  c.features = 0;
  EXPECT_TRUE(genpt::x86_64::init(c).has_value());
}

TEST(Exactness, X86UpperHalfPageSitsWhereA4LevelWalkLooks) {
  // issue 10, defect 1. SDM Vol. 3A §4.5.4: PML4 index = VA[47:39],
  // PDPT = [38:30], PD = [29:21], PT = [20:12]; P = bit 0, PS = bit 7,
  // address = bits 51:12.
  arena_block b(0x100000);
  auto pt = genpt::page_table<genpt::x86_64, genpt::arena_levels>::create(
      genpt::x86_64::config{}, genpt::arena_levels(b.mem, b.bytes, b.base_oa));
  ASSERT_TRUE(pt.has_value());
  constexpr std::uint64_t va = 0xFFFF'FFFF'C000'0000;
  ASSERT_TRUE(pt->map(va, 0x4000'0000, 0x1000, genpt::prot::read));
  ASSERT_EQ(bits(va, 47, 39), 511u);
  std::uint64_t t = pt->hw_info().root;
  for (const unsigned idx : {bits(va, 47, 39), bits(va, 38, 30), bits(va, 29, 21)}) {
    const std::uint64_t e = b.item(t, idx);
    ASSERT_EQ(e & 1, 1u) << "table entry at index " << idx << " not present";
    ASSERT_EQ(e & 0x80, 0u) << "PS set in a table entry";
    t = e & addr_51_12;
  }
  const std::uint64_t pte = b.item(t, bits(va, 20, 12));
  EXPECT_EQ(pte & 1, 1u);
  EXPECT_EQ(pte & addr_51_12, 0x4000'0000u);
  // Nothing at the index a 47-bit decode would have used.
  EXPECT_EQ(b.item(pt->hw_info().root, 255), 0u);
}

TEST(Exactness, X86UpperHalfPageSitsWhereA5LevelWalkLooks) {
  // issue 10, defect 1. SDM Vol. 3A §4.5.4: PML5 index = VA[56:48].
  arena_block b(0x100000);
  genpt::x86_64::config c;
  c.top_level = 4;
  auto pt = genpt::page_table<genpt::x86_64, genpt::arena_levels>::create(
      c, genpt::arena_levels(b.mem, b.bytes, b.base_oa));
  ASSERT_TRUE(pt.has_value());
  constexpr std::uint64_t va = 0xFF00'0000'0020'0000;  // canonical: bits 63:56 all ones
  ASSERT_TRUE(pt->map(va, 0x20'0000, 0x20'0000, genpt::prot::read));
  std::uint64_t t = pt->hw_info().root;
  for (const unsigned idx : {bits(va, 56, 48), bits(va, 47, 39), bits(va, 38, 30)}) {
    const std::uint64_t e = b.item(t, idx);
    ASSERT_EQ(e & 1, 1u) << "index " << idx;
    t = e & addr_51_12;
  }
  ASSERT_EQ(bits(va, 56, 48), 256u);
  const std::uint64_t pde = b.item(t, bits(va, 29, 21));
  EXPECT_EQ(pde & 0x81, 0x81u) << "a 2M page: P and PS";
  EXPECT_EQ(pde & 0x000F'FFFF'FFE0'0000, 0x20'0000u);
}

// --- ARMv8 TTBR1 ------------------------------------------------------------

/// Arm ARM D8.2: with the 4K granule a stage-1 walk for TnSZ = 64 - bits
/// starts at level 1 for 31..39 bits, indexing it with VA[bits-1:30]; level
/// 2 uses VA[29:21], level 3 VA[20:12]. Table and page descriptors have
/// bits[1:0] = 0b11.
void check_ttbr1(unsigned va_bits, std::uint64_t va) {
  SCOPED_TRACE(va_bits);
  arena_block b(0x100000);
  using fmt = genpt::armv8<12, 1>;
  fmt::config c;
  c.va_lg2 = va_bits;
  c.features = fmt::ttbr1;
  auto pt = genpt::page_table<fmt, genpt::arena_levels>::create(
      c, genpt::arena_levels(b.mem, b.bytes, b.base_oa));
  ASSERT_TRUE(pt.has_value());
  ASSERT_TRUE(pt->map(va, 0x4000'0000, 0x1000, genpt::prot::read));
  std::uint64_t t = pt->hw_info().root;
  for (const unsigned idx : {bits(va, va_bits - 1, 30), bits(va, 29, 21)}) {
    const std::uint64_t e = b.item(t, idx);
    ASSERT_EQ(e & 3, 3u) << "index " << idx;
    t = e & addr_47_12;
  }
  const std::uint64_t page = b.item(t, bits(va, 20, 12));
  EXPECT_EQ(page & 3, 3u);
  EXPECT_EQ(page & addr_47_12, 0x4000'0000u);
}

TEST(Exactness, Armv8Ttbr1SmallVaIndexesTheTopWithItsOwnBits) {
  // issue 10, defect 1 (TTBR1 with va_lg2 below 48): the top of 39 bits
  // (512 items) and of 36 bits (64 items).
  check_ttbr1(39, 0xFFFF'FFFF'C000'0000);  // VA[38:30] = 511
  check_ttbr1(39, 0xFFFF'FF80'0000'1000);  // VA[38:30] = 0
  check_ttbr1(36, 0xFFFF'FFFF'C000'0000);  // VA[35:30] = 63
  check_ttbr1(36, 0xFFFF'FFF0'4000'0000);  // VA[35:30] = 1
}

// --- AMDv1 -------------------------------------------------------------------

TEST(Exactness, Amdv1NarrowVaIndexesTheTopLikeTheIommu) {
  // issue 10, defect 1. AMD IOMMU spec §2.2.3: a Mode 3 table indexes
  // level 3 with IOVA[38:30], level 2 with [29:21], level 1 with [20:12];
  // a PDE has PR = bit 0, NextLevel = bits 11:9, address = bits 51:12.
  arena_block b(0x100000);
  genpt::amdv1::config c;
  c.starting_level = 2;  // Mode 3
  c.va_lg2 = 36;
  auto pt = genpt::page_table<genpt::amdv1, genpt::arena_levels>::create(
      c, genpt::arena_levels(b.mem, b.bytes, b.base_oa));
  ASSERT_TRUE(pt.has_value());
  constexpr std::uint64_t va = 0xF'C000'0000;  // IOVA[38:30] = 63
  ASSERT_TRUE(pt->map(va, 0x4000'0000, 0x1000, genpt::prot::read));
  std::uint64_t t = pt->hw_info().root;
  unsigned next = 2;
  for (const unsigned idx : {bits(va, 38, 30), bits(va, 29, 21)}) {
    const std::uint64_t e = b.item(t, idx);
    ASSERT_EQ(e & 1, 1u) << "index " << idx;
    ASSERT_EQ((e >> 9) & 7, next--) << "NextLevel";
    t = e & addr_51_12;
  }
  const std::uint64_t pte = b.item(t, bits(va, 20, 12));
  EXPECT_EQ(pte & 1, 1u);
  EXPECT_EQ((pte >> 9) & 7, 0u);
  EXPECT_EQ(pte & addr_51_12, 0x4000'0000u);
  // Beyond the configured width: refused, table unchanged.
  EXPECT_EQ(pt->map(0x10'0000'0000, 0, 0x1000, genpt::prot::read).error(),
            genpt::errc::out_of_range);
}

// --- whole-table visits, as docs/operations.md describes them ---------------

TEST(Exactness, WholeTableVisitsCoverEveryLayoutAsDocumented) {
  arena_block b(0x100000);
  {
    // sign_extend: two calls, one per half.
    auto pt = genpt::page_table<genpt::x86_64, genpt::arena_levels>::create(
        genpt::x86_64::config{}, genpt::arena_levels(b.mem, b.bytes, b.base_oa));
    ASSERT_TRUE(pt.has_value());
    ASSERT_TRUE(pt->map(0x1000, 0x1000, 0x1000, genpt::prot::read));
    ASSERT_TRUE(pt->map(0xFFFF'FFFF'FFFF'F000, 0x2000, 0x1000, genpt::prot::read));
    const unsigned n = pt->info().va_lg2;
    ASSERT_EQ(n, 48u);
    const std::uint64_t half = std::uint64_t{1} << (n - 1);
    std::vector<std::uint64_t> seen;
    auto visit = [&](const auto& leaf) { seen.push_back(leaf.va); };
    pt->for_each_leaf(0, half, visit);
    pt->for_each_leaf(~(half - 1), half, visit);
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{0x1000, 0xFFFF'FFFF'FFFF'F000}));
  }
  {
    // low with 64 VA bits (AMDv1 mode 6): two calls of 2^63.
    arena_block b2(0x100000);
    genpt::amdv1::config c;
    c.starting_level = 5;
    auto pt = genpt::page_table<genpt::amdv1, genpt::arena_levels>::create(
        c, genpt::arena_levels(b2.mem, b2.bytes, b2.base_oa));
    ASSERT_TRUE(pt.has_value());
    ASSERT_EQ(pt->info().va_lg2, 64u);
    ASSERT_TRUE(pt->map(0x1000, 0x1000, 0x1000, genpt::prot::read));
    ASSERT_TRUE(pt->map(0xFFFF'FFFF'FFFF'F000, 0x2000, 0x1000, genpt::prot::read));
    std::vector<std::uint64_t> seen;
    auto visit = [&](const auto& leaf) { seen.push_back(leaf.va); };
    const std::uint64_t half = std::uint64_t{1} << 63;
    pt->for_each_leaf(0, half, visit);
    pt->for_each_leaf(half, half, visit);
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{0x1000, 0xFFFF'FFFF'FFFF'F000}));
  }
  {
    // high (ARMv8 TTBR1, 39 bits): one call from 2^64 - 2^39.
    arena_block b3(0x100000);
    using fmt = genpt::armv8<12, 1>;
    fmt::config c;
    c.va_lg2 = 39;
    c.features = fmt::ttbr1;
    auto pt = genpt::page_table<fmt, genpt::arena_levels>::create(
        c, genpt::arena_levels(b3.mem, b3.bytes, b3.base_oa));
    ASSERT_TRUE(pt.has_value());
    ASSERT_TRUE(pt->map(0xFFFF'FF80'0000'0000, 0x1000, 0x1000, genpt::prot::read));
    ASSERT_TRUE(pt->map(0xFFFF'FFFF'FFFF'F000, 0x2000, 0x1000, genpt::prot::read));
    std::vector<std::uint64_t> seen;
    auto visit = [&](const auto& leaf) { seen.push_back(leaf.va); };
    const std::uint64_t span = std::uint64_t{1} << 39;
    pt->for_each_leaf(~(span - 1), span, visit);
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{0xFFFF'FF80'0000'0000, 0xFFFF'FFFF'FFFF'F000}));
  }
}

}  // namespace
