// exactness_unmap_run_test.cpp - unmap's scan of a run of single-page
// leaves.
//
// unmap clears a run of 4 KiB leaves in one fill after finding where it
// ends with the format's one-mask test (format_traits::single_leaf_bits):
// one check of the whole run (detail::items_match_all, two items per
// 16-byte load), then, when that fails, eight items at a time. The masks
// below are written by hand from each spec's level-0 descriptor layout;
// the test must only ever accept single-item leaves, and a run that meets
// a contiguous entry (ARMv8 Contiguous, AMDv1 NextLevel 7, RISC-V Svnapot)
// or an empty item must stop there and leave the table exactly as an
// item-by-item unmap would.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/item.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/format/vtd_ss.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::prot;
using genpt::test::leaf_words;

constexpr std::uint64_t page = 4096;
constexpr prot rw = prot::read | prot::write;

template <class F>
constexpr genpt::leaf_bits<std::uint64_t> bits0() {
  return genpt::format_traits<F>::single_leaf_bits(0);
}

// SDM Vol. 3A Table 4-20: a PTE with P (bit 0) maps one 4 KiB page.
TEST(UnmapRunBits, X86PteIsPresentBit) {
  EXPECT_EQ(bits0<genpt::x86_64>().mask, 0x1u);
  EXPECT_EQ(bits0<genpt::x86_64>().value, 0x1u);
}
// Arm ARM D8.3: level 3 page descriptor bits 1:0 = 0b11, Contiguous bit 52 clear.
TEST(UnmapRunBits, Armv8PageIsValidPageWithoutContiguous) {
  EXPECT_EQ(bits0<genpt::armv8_4k_s1>().mask, 0x0010'0000'0000'0003u);
  EXPECT_EQ(bits0<genpt::armv8_4k_s1>().value, 0x3u);
  EXPECT_EQ(bits0<genpt::armv8_64k_s2>().mask, 0x0010'0000'0000'0003u);
}
// AMD IOMMU §2.2.3: PR bit 0, NextLevel bits 11:9 = 0 (7 is a larger page).
TEST(UnmapRunBits, Amdv1PteIsPresentWithNextLevel0) {
  EXPECT_EQ(bits0<genpt::amdv1>().mask, 0xE01u);
  EXPECT_EQ(bits0<genpt::amdv1>().value, 0x1u);
}
// RISC-V Sv39 PTE: V bit 0; Svnapot N bit 63 clear.
TEST(UnmapRunBits, RiscvPteIsValidWithoutNapot) {
  EXPECT_EQ(bits0<genpt::riscv>().mask, 0x8000'0000'0000'0001u);
  EXPECT_EQ(bits0<genpt::riscv>().value, 0x1u);
}
// VT-d §9.8 SS-PTE / SDM Vol. 3C Table 29-7 EPT PTE: present is any of
// R (bit 0), W, X; a PTE with R is a present 4 KiB leaf, so the test is R
// alone (write-only and execute-only PTEs are classified one by one).
TEST(UnmapRunBits, VtdSsAndEptPteIsReadBit) {
  EXPECT_EQ(bits0<genpt::vtd_ss>().mask, 0x1u);
  EXPECT_EQ(bits0<genpt::vtd_ss>().value, 0x1u);
  EXPECT_EQ(bits0<genpt::ept>().mask, 0x1u);
  EXPECT_EQ(bits0<genpt::ept>().value, 0x1u);
}

// The run check reads two items per 16-byte load, which is exact only if
// no hardware walker writes a masked bit meanwhile. The bits walkers write,
// by hand from each spec: x86 PTE A 5, D 6 (SDM Vol. 3A Table 4-20); AMDv1
// PTE A 5, D 6 (AMD IOMMU §2.2.3); ARMv8 AF 10, AP[2] / S2AP[1] 7 and
// DBM 51 (Arm ARM D8.4, hardware dirty state); RISC-V A 6, D 7 (Svadu);
// VT-d SS-PTE A 8, D 9 (VT-d §9.8); EPT A 8, D 9 (SDM Vol. 3C Table 29-7).
TEST(UnmapRunBits, NoMaskHoldsABitAWalkerWrites) {
  EXPECT_EQ(bits0<genpt::x86_64>().mask & 0x60u, 0u);
  EXPECT_EQ(bits0<genpt::amdv1>().mask & 0x60u, 0u);
  EXPECT_EQ(bits0<genpt::armv8_4k_s1>().mask & 0x0008'0000'0000'0480u, 0u);
  EXPECT_EQ(bits0<genpt::armv8_64k_s2>().mask & 0x0008'0000'0000'0480u, 0u);
  EXPECT_EQ(bits0<genpt::riscv>().mask & 0xC0u, 0u);
  EXPECT_EQ(bits0<genpt::vtd_ss>().mask & 0x300u, 0u);
  EXPECT_EQ(bits0<genpt::ept>().mask & 0x300u, 0u);
}

/// items_match_all over n items starting at an even or odd item of an
/// aligned array (so the 16-byte loads start after a peeled item or not),
/// with one bad item at each position in turn: it must say no exactly when
/// the bad item is one of the n, whichever of its head, pair loop or tail
/// reads it.
TEST(UnmapRunCheck, ItemsMatchAllSeesABadItemAtEveryPosition) {
  constexpr std::uint64_t ones = 0x3, zeros = 0x0010'0000'0000'0000;  // ARMv8 page, no Contiguous
  constexpr std::uint64_t good = 0x0040'0000'1000'0743;
  const std::uint64_t bad[] = {good & ~std::uint64_t{1}, good & ~std::uint64_t{2}, good | zeros};
  alignas(64) std::uint64_t a[64];
  for (unsigned start = 0; start < 2; ++start) {
    for (unsigned n = 0; n + start <= 48; ++n) {
      for (std::uint64_t& w : a) w = good;
      EXPECT_TRUE(genpt::detail::items_match_all(a + start, n, ones, zeros)) << start << " " << n;
      for (unsigned pos = 0; pos < 50; ++pos) {
        for (const std::uint64_t b : bad) {
          for (std::uint64_t& w : a) w = good;
          a[pos] = b;
          const bool inside = pos >= start && pos < start + n;
          EXPECT_EQ(genpt::detail::items_match_all(a + start, n, ones, zeros), !inside)
              << "start " << start << " n " << n << " bad at " << pos;
        }
      }
    }
  }
}

/// A run of 4 KiB pages with a hole: unmap of the whole range removes the
/// pages before the hole and stops there (unmap stops at the first hole),
/// for a hole at every position and a run that starts at an even or odd
/// item, so the whole-run check fails at every place it can and the scan
/// that follows must still find the hole exactly.
template <class F>
void run_with_hole_everywhere(const typename F::config& c) {
  constexpr unsigned pages = 41;
  for (unsigned start = 0; start < 2; ++start) {
    for (unsigned hole = 1; hole < pages; ++hole) {
      auto made = genpt::page_table<F>::create(c);
      ASSERT_TRUE(made);
      auto& t = *made;
      const std::uint64_t va = 0x4000'0000 + start * page;
      ASSERT_TRUE(t.map(va, 0x1'0000'1000, hole * page, rw));
      if (hole + 1 < pages) {
        ASSERT_TRUE(t.map(va + (hole + 1) * page, 0x2'0000'1000, (pages - hole - 1) * page, rw));
      }
      const std::vector<std::uint64_t> after = leaf_words(t, va + hole * page, (pages - hole) * page);
      genpt::gather g;
      EXPECT_EQ(t.unmap(va, pages * page, g), hole * page) << "start " << start << " hole " << hole;
      t.sync(g);
      EXPECT_TRUE(leaf_words(t, va, hole * page).empty()) << hole;
      EXPECT_EQ(leaf_words(t, va + hole * page, (pages - hole) * page), after) << hole;
    }
  }
}
TEST(UnmapRun, X86StopsAtAHoleAnywhere) { run_with_hole_everywhere<genpt::x86_64>({}); }
TEST(UnmapRun, Amdv1StopsAtAHoleAnywhere) {
  run_with_hole_everywhere<genpt::amdv1>(genpt::amdv1::config{.starting_level = 3});
}
TEST(UnmapRun, Armv8StopsAtAHoleAnywhere) {
  run_with_hole_everywhere<genpt::armv8_4k_s1>(genpt::armv8_4k_s1::config{});
}

/// Random words (biased towards the low flag bits and the top bits the
/// formats use): every word the mask accepts is a single-item leaf, whose
/// OA single_leaf_oa (iova_to_phys's shortcut) decodes as entry_oa does.
template <class F>
void expect_mask_implies_single_leaf(const typename F::config& cfg = {}) {
  using traits = genpt::format_traits<F>;
  const auto made = F::init(cfg);
  ASSERT_TRUE(made);
  const typename F::params& p = *made;
  constexpr auto b = traits::single_leaf_bits(0);
  std::mt19937_64 rng(0x756e6d6170);
  unsigned accepted = 0;
  for (unsigned i = 0; i < 200000; ++i) {
    std::uint64_t e = rng();
    if (i & 1) e &= 0xF000'0000'0000'0FFFu | (rng() & 0x000F'FFFF'FFFF'F000u);
    if ((e & b.mask) != b.value) continue;
    ++accepted;
    ASSERT_EQ(F::classify(e, 0), genpt::entry_kind::leaf) << std::hex << e;
    ASSERT_EQ(traits::entry_size_lg2(e, 0), traits::item_lg2(0)) << std::hex << e;
    ASSERT_EQ(traits::single_leaf_oa(e, 0, p), F::entry_oa(e, 0, p)) << std::hex << e;
  }
  EXPECT_GT(accepted, 1000u);
}
TEST(UnmapRunBits, X86MaskAcceptsOnlySingleLeaves) { expect_mask_implies_single_leaf<genpt::x86_64>(); }
TEST(UnmapRunBits, Armv8MaskAcceptsOnlySingleLeaves) {
  genpt::test::for_each_armv8_oa_layout([]<class F>(const typename F::config& c) { expect_mask_implies_single_leaf<F>(c); });
}
TEST(UnmapRunBits, Amdv1MaskAcceptsOnlySingleLeaves) { expect_mask_implies_single_leaf<genpt::amdv1>(); }
TEST(UnmapRunBits, RiscvMaskAcceptsOnlySingleLeaves) { expect_mask_implies_single_leaf<genpt::riscv>(); }
TEST(UnmapRunBits, VtdSsAndEptMaskAcceptsOnlySingleLeaves) {
  expect_mask_implies_single_leaf<genpt::vtd_ss>();
  expect_mask_implies_single_leaf<genpt::ept>();
}

/// 48 pages, then a 64 KiB contiguous entry (16 items), then 40 pages,
/// all adjacent in one leaf table. An unmap of the first 48 pages leaves
/// the contiguous entry as it was; an unmap of all 104 pages in one call
/// (its scan meets the contiguous entry inside an eight-item group)
/// removes everything.
template <class F>
void run_with_contiguous_entry(const typename F::config& c) {
  const std::uint64_t va = 0x4000'0000;
  auto build = [&] {
    auto made = genpt::page_table<F>::create(c);
    EXPECT_TRUE(made);
    auto& t = *made;
    EXPECT_TRUE(t.map(va, 0x1'0000'1000, 48 * page, rw));               // oa off 64K: 4K leaves
    EXPECT_TRUE(t.map(va + 48 * page, 0x2'0000'0000, 16 * page, rw));   // 64K aligned: one entry
    EXPECT_TRUE(t.map(va + 64 * page, 0x3'0000'1000, 40 * page, rw));
    return std::move(*made);
  };
  {
    auto t = build();
    const std::vector<std::uint64_t> cont = leaf_words(t, va + 48 * page, 16 * page);
    ASSERT_EQ(cont.size(), 16u);
    genpt::gather g;
    EXPECT_EQ(t.unmap(va, 48 * page, g), 48 * page);
    t.sync(g);
    EXPECT_EQ(leaf_words(t, va + 48 * page, 16 * page), cont);  // untouched
    EXPECT_FALSE(t.iova_to_phys(va + 47 * page));
    EXPECT_EQ(t.iova_to_phys(va + 48 * page), 0x2'0000'0000u);
    EXPECT_EQ(t.iova_to_phys(va + 64 * page), 0x3'0000'1000u);
  }
  {
    auto t = build();
    genpt::gather g;
    EXPECT_EQ(t.unmap(va, 104 * page, g), 104 * page);
    t.sync(g);
    for (std::uint64_t k = 0; k < 104; ++k) EXPECT_FALSE(t.iova_to_phys(va + k * page)) << k;
    EXPECT_TRUE(leaf_words(t, va, 104 * page).empty());
  }
}
TEST(UnmapRun, Armv8StopsAtAContiguousRun) {
  run_with_contiguous_entry<genpt::armv8_4k_s1>(genpt::armv8_4k_s1::config{});
}
TEST(UnmapRun, Amdv1StopsAtANextLevel7Page) {
  run_with_contiguous_entry<genpt::amdv1>(genpt::amdv1::config{.starting_level = 3});
}
TEST(UnmapRun, RiscvStopsAtANapotRange) {
  run_with_contiguous_entry<genpt::riscv>(
      genpt::riscv::config{.levels = 3, .features = genpt::riscv::sign_extend | genpt::riscv::svnapot});
}

/// A run of single-page leaves where the one-mask test rejects some items
/// that are still single-page leaves (VT-d write-only PTEs: W without R)
/// is removed whole: the scan classifies those items one by one. The
/// words are the SS-PTE layout (VT-d §9.8): R bit 0, W bit 1, address 51:12.
TEST(UnmapRun, VtdSsRemovesWriteOnlyPagesInsideARun) {
  auto made = genpt::page_table<genpt::vtd_ss>::create(genpt::vtd_ss::config{});
  ASSERT_TRUE(made);
  auto& t = *made;
  const std::uint64_t va = 0x4000'0000;
  ASSERT_TRUE(t.map(va, 0x1'0000'1000, 20 * page, rw));
  ASSERT_TRUE(t.map(va + 20 * page, 0x2'0000'1000, 5 * page, prot::write));
  ASSERT_TRUE(t.map(va + 25 * page, 0x3'0000'1000, 15 * page, rw));
  const std::vector<std::uint64_t> w = leaf_words(t, va + 19 * page, 2 * page);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], 0x1'0001'4003u);  // R | W
  EXPECT_EQ(w[1], 0x2'0000'1002u);  // W only
  genpt::gather g;
  EXPECT_EQ(t.unmap(va, 40 * page, g), 40 * page);
  t.sync(g);
  EXPECT_TRUE(leaf_words(t, va, 40 * page).empty());
}

}  // namespace
