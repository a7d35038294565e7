// exactness_lookup_window_test.cpp - which va iova_to_phys and the one-page
// map/unmap paths accept, at the edges of every va layout. Those paths test
// a va with a precomputed window (detail::top_window) instead of
// va_range_valid; each expected answer here is written from the spec's
// address ranges by hand:
// - x86 4-level / 5-level paging: canonical addresses, bits 63:47 (63:56)
//   all equal (SDM Vol. 3A §4.5, "canonical");
// - ARMv8 TTBR1 with TnSZ = 64 - bits: va[63:bits] all ones (Arm ARM D8.2);
// - AMDv1: an IOVA below 2^(12 + 9 * mode) bits, all 64 bits at mode 6
//   (AMD IOMMU spec §2.2.3);
// - RISC-V Sv39: bits 63:39 equal bit 38 (privileged spec §12.4).
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace {

using genpt::va_layout;
using genpt::detail::top_window;

constexpr std::uint64_t k4 = 0x1000;

// --- the window itself --------------------------------------------------------

TEST(LookupWindow, SignExtended48AcceptsBothCanonicalHalvesOnly) {
  constexpr top_window w = top_window::of(va_layout::sign_extend, 48);
  EXPECT_TRUE(w.contains(0));
  EXPECT_TRUE(w.contains(0x0000'7FFF'FFFF'FFFF));
  EXPECT_FALSE(w.contains(0x0000'8000'0000'0000));
  EXPECT_FALSE(w.contains(0xFFFF'7FFF'FFFF'FFFF));
  EXPECT_TRUE(w.contains(0xFFFF'8000'0000'0000));
  EXPECT_TRUE(w.contains(0xFFFF'FFFF'FFFF'FFFF));
  EXPECT_FALSE(w.contains(0x8000'0000'0000'0000));
  EXPECT_FALSE(w.contains(0x7FFF'FFFF'FFFF'FFFF));
}

TEST(LookupWindow, SignExtended57AcceptsBothCanonicalHalvesOnly) {
  constexpr top_window w = top_window::of(va_layout::sign_extend, 57);
  EXPECT_TRUE(w.contains(0x00FF'FFFF'FFFF'FFFF));
  EXPECT_FALSE(w.contains(0x0100'0000'0000'0000));
  EXPECT_FALSE(w.contains(0xFEFF'FFFF'FFFF'FFFF));
  EXPECT_TRUE(w.contains(0xFF00'0000'0000'0000));
}

TEST(LookupWindow, HighAcceptsTheTopOfTheSpaceOnly) {
  constexpr top_window w = top_window::of(va_layout::high, 48);
  EXPECT_TRUE(w.contains(0xFFFF'0000'0000'0000));
  EXPECT_TRUE(w.contains(0xFFFF'FFFF'FFFF'FFFF));
  EXPECT_FALSE(w.contains(0xFFFE'FFFF'FFFF'FFFF));
  EXPECT_FALSE(w.contains(0));
  EXPECT_FALSE(w.contains(0x0000'FFFF'FFFF'FFFF));
}

TEST(LookupWindow, LowAcceptsTheBottomOfTheSpaceOnly) {
  constexpr top_window w = top_window::of(va_layout::low, 48);
  EXPECT_TRUE(w.contains(0));
  EXPECT_TRUE(w.contains(0x0000'FFFF'FFFF'FFFF));
  EXPECT_FALSE(w.contains(0x0001'0000'0000'0000));
  EXPECT_FALSE(w.contains(0xFFFF'FFFF'FFFF'F000));
}

TEST(LookupWindow, A64BitSpanAcceptsEveryVa) {
  for (const va_layout l : {va_layout::low, va_layout::high, va_layout::sign_extend}) {
    const top_window w = top_window::of(l, 64);
    EXPECT_TRUE(w.contains(0));
    EXPECT_TRUE(w.contains(0x7FFF'FFFF'FFFF'FFFF));
    EXPECT_TRUE(w.contains(0x8000'0000'0000'0000));
    EXPECT_TRUE(w.contains(0xFFFF'FFFF'FFFF'FFFF));
  }
}

TEST(LookupWindow, TopIndexIsTheVaBitsTheSpecNames) {
  // SDM §4.5.4: PML4 index = va[47:39], whatever the upper half's sign bits.
  constexpr top_window x = top_window::of(va_layout::sign_extend, 48);
  EXPECT_EQ(x.index(0xFFFF'FF80'0000'0000, 39), 511u);
  EXPECT_EQ(x.index(0xFFFF'8000'0000'0000, 39), 256u);
  EXPECT_EQ(x.index(0x0000'7F80'0000'0000, 39), 255u);
  // Arm ARM D8.2: a 39-bit TTBR1 level-1 table indexes va[38:30].
  constexpr top_window a = top_window::of(va_layout::high, 39);
  EXPECT_EQ(a.index(0xFFFF'FFFF'C000'0000, 30), 511u);
  EXPECT_EQ(a.index(0xFFFF'FF80'0000'1000, 30), 0u);
  // AMD mode 6: level 6 indexes IOVA[63:57].
  constexpr top_window m = top_window::of(va_layout::low, 64);
  EXPECT_EQ(m.index(0xFE00'0000'0000'0000, 57), 127u);
}

// --- through page_table: lookup, one-page map and unmap ------------------------

/// Maps one page at each va of `inside` and checks iova_to_phys (with an
/// offset into the page) and unmap; each va of `outside` is refused by
/// map (out_of_range), unmap (0 bytes) and iova_to_phys (nullopt).
template <class Table>
void check_edges(Table& pt, std::initializer_list<std::uint64_t> inside,
                 std::initializer_list<std::uint64_t> outside) {
  std::uint64_t oa = 0x4000'0000;
  for (const std::uint64_t va : inside) {
    SCOPED_TRACE(testing::Message() << std::hex << "inside va 0x" << va);
    ASSERT_TRUE(pt.map(va, oa, k4, genpt::prot::read));
    EXPECT_EQ(pt.iova_to_phys(va + 0x123), std::optional<std::uint64_t>(oa + 0x123));
    EXPECT_EQ(pt.unmap(va, k4), k4);
    EXPECT_EQ(pt.iova_to_phys(va), std::nullopt);
    oa += k4;
  }
  for (const std::uint64_t va : outside) {
    SCOPED_TRACE(testing::Message() << std::hex << "outside va 0x" << va);
    const auto r = pt.map(va, oa, k4, genpt::prot::read);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), genpt::errc::out_of_range);
    EXPECT_EQ(pt.unmap(va, k4), 0u);
    EXPECT_EQ(pt.iova_to_phys(va), std::nullopt);
  }
}

/// Maps a page in the same leaf table first, so that each later one-page
/// map and unmap takes the one-page path (an existing level-0 table).
template <class Table>
void check_edges_with_leaf_tables(Table& pt, std::initializer_list<std::uint64_t> inside,
                                  std::initializer_list<std::uint64_t> outside) {
  for (const std::uint64_t va : inside) {
    const std::uint64_t neighbour = (va & 0x1000) ? va - k4 : va + k4;
    ASSERT_TRUE(pt.map(neighbour, 0x8000'0000, k4, genpt::prot::read));
  }
  check_edges(pt, inside, outside);
}

TEST(LookupWindow, X86FourLevelPathsAcceptCanonicalVasOnly) {
  auto pt = genpt::page_table<genpt::x86_64>::create(genpt::x86_64::config{});
  ASSERT_TRUE(pt);
  check_edges_with_leaf_tables(*pt, {0, 0x0000'7FFF'FFFF'F000, 0xFFFF'8000'0000'0000, 0xFFFF'FFFF'FFFF'F000},
                               {0x0000'8000'0000'0000, 0xFFFF'7FFF'FFFF'F000, 0x8000'0000'0000'0000});
}

TEST(LookupWindow, X86FiveLevelPathsAcceptCanonicalVasOnly) {
  genpt::x86_64::config c;
  c.top_level = 4;
  auto pt = genpt::page_table<genpt::x86_64>::create(c);
  ASSERT_TRUE(pt);
  check_edges_with_leaf_tables(*pt, {0x00FF'FFFF'FFFF'F000, 0xFF00'0000'0000'0000, 0x0000'8000'0000'0000},
                               {0x0100'0000'0000'0000, 0xFEFF'FFFF'FFFF'F000});
}

TEST(LookupWindow, Armv8Ttbr1PathsAcceptTheUpperRangeOnly) {
  using fmt = genpt::armv8<12, 1>;
  fmt::config c;
  c.va_lg2 = 39;
  c.features = fmt::ttbr1;
  auto pt = genpt::page_table<fmt>::create(c);
  ASSERT_TRUE(pt);
  check_edges_with_leaf_tables(*pt, {0xFFFF'FF80'0000'0000, 0xFFFF'FFFF'FFFF'F000},
                               {0xFFFF'FF7F'FFFF'F000, 0, 0x0000'007F'FFFF'F000});
}

TEST(LookupWindow, Riscv39PathsAcceptSignExtendedVasOnly) {
  auto pt = genpt::page_table<genpt::riscv>::create(genpt::riscv::config{});
  ASSERT_TRUE(pt);
  check_edges_with_leaf_tables(*pt, {0x0000'003F'FFFF'F000, 0xFFFF'FFC0'0000'0000},
                               {0x0000'0040'0000'0000, 0xFFFF'FFBF'FFFF'F000});
}

TEST(LookupWindow, Amdv1FixedTopAcceptsItsWidthOnly) {
  genpt::amdv1::config c;
  c.starting_level = 2;  // mode 3: 39 bits
  auto pt = genpt::page_table<genpt::amdv1>::create(c);
  ASSERT_TRUE(pt);
  check_edges_with_leaf_tables(*pt, {0, 0x0000'007F'FFFF'F000}, {0x0000'0080'0000'0000, 0xFFFF'FFFF'FFFF'F000});
}

TEST(LookupWindow, Amdv1GrownTopLooksUpOldAndNewVas) {
  genpt::amdv1::config c;
  c.starting_level = 1;  // mode 2: 30 bits, grows to 64
  c.features = genpt::amdv1::dynamic_top;
  auto pt = genpt::page_table<genpt::amdv1>::create(c);
  ASSERT_TRUE(pt);
  ASSERT_TRUE(pt->map(0x3FFF'F000, 0x1000'0000, k4, genpt::prot::read));
  // Above the mode-2 top: not there yet, and refused by the lookup's window.
  EXPECT_EQ(pt->iova_to_phys(0x4000'0000), std::nullopt);
  ASSERT_TRUE(pt->map(0xFFFF'FFFF'FFFF'F000, 0x2000'0000, k4, genpt::prot::read));
  ASSERT_EQ(pt->info().top_level, 5u);  // mode 6: all 64 bits
  EXPECT_EQ(pt->iova_to_phys(0x3FFF'F001), std::optional<std::uint64_t>(0x1000'0001));
  EXPECT_EQ(pt->iova_to_phys(0xFFFF'FFFF'FFFF'FFFF), std::optional<std::uint64_t>(0x2000'0FFF));
  EXPECT_EQ(pt->iova_to_phys(0x8000'0000'0000'0000), std::nullopt);
  // A 64-bit window: every va is inside, so the one-page paths take them.
  check_edges_with_leaf_tables(*pt, {0x8000'0000'0000'0000, 0xFFFF'FFFF'FFFF'D000}, {});
}

}  // namespace
