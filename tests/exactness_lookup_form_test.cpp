// exactness_lookup_form_test.cpp - iova_to_phys's table step.
//
// With a linear allocator (heap_levels, arena_levels), iova_to_phys does
// not classify a table item and mask its address: an item in the exact
// form make_table writes (format_traits::table_item_form: every bit outside
// the address field as written) gives its child's address as
// (e - value) << oa_shift, one add the next load takes. Any other table
// item (a bit a walker or an OS set) takes the classify path, out of line.
//
// The forms are checked against table items written here by hand from each
// spec's non-leaf descriptor layout; the walks below set bits in upper
// items the way hardware does, reaching them with index bits and address
// fields written out by hand, never through genpt's decode.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/core/format_traits.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/format/vtd_ss.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"

namespace {

using genpt::oa_t;
using genpt::prot;

constexpr std::uint64_t page = 4096;
constexpr prot rw = prot::read | prot::write;

template <class F>
typename F::params params_of(const typename F::config& c = {}) {
  auto made = F::init(c);
  EXPECT_TRUE(made);
  return *made;
}

/// True when `e` takes the one-add step at `level`, and then the oa it gives.
template <class F>
std::optional<oa_t> form_oa(std::uint64_t e, unsigned level, const typename F::params& p) {
  const auto f = genpt::format_traits<F>::table_item_form(level, p);
  if ((e & f.mask) != f.value) return std::nullopt;
  return (e - f.value) << f.oa_shift;
}

constexpr oa_t table_at = 0x000F'EDCB'A000;  // a table's oa, below 2^40

// SDM Vol. 3A Tables 4-15, 4-17, 4-19 (and 4-13 for a PML5E): P bit 0,
// R/W 1, U/S 2, A 5, PS 7 clear (a table), address 51:12. genpt writes
// P | R/W | U/S | A = 0x27.
TEST(LookupTableForm, X86TableItemIsPresentWritableUserAccessed) {
  const auto p = params_of<genpt::x86_64>();
  for (unsigned level = 1; level <= 4; ++level) {
    EXPECT_EQ(form_oa<genpt::x86_64>(table_at | 0x27, level, p), table_at) << level;
    EXPECT_EQ(form_oa<genpt::x86_64>(table_at | 0x27 | 0x800, level, p), std::nullopt) << "bit 11, ignored";
    EXPECT_EQ(form_oa<genpt::x86_64>(table_at | 0x07, level, p), std::nullopt) << "A clear";
    EXPECT_EQ(form_oa<genpt::x86_64>(table_at | 0x8000'0000'0000'0027, level, p), std::nullopt) << "XD";
  }
  // A PDE with PS (bit 7) maps a 2 MiB page.
  EXPECT_EQ(form_oa<genpt::x86_64>(0x0000'000F'EDC0'00A7, 1, p), std::nullopt);
}

// AMD IOMMU §2.2.3 PDE: PR bit 0, NextLevel 11:9 (the AMD level of the next
// table: genpt level L's child is AMD level L), IR 61, IW 62, address
// 51:12; A (bit 5) is the IOMMU's.
TEST(LookupTableForm, Amdv1PdeIsPresentNextLevelReadWrite) {
  const auto p = params_of<genpt::amdv1>();
  for (unsigned level = 1; level <= 5; ++level) {
    const std::uint64_t pde = 0x6000'0000'0000'0001 | std::uint64_t{level} << 9 | table_at;
    EXPECT_EQ(form_oa<genpt::amdv1>(pde, level, p), table_at) << level;
    EXPECT_EQ(form_oa<genpt::amdv1>(pde | 0x20, level, p), std::nullopt) << "A set by the IOMMU";
    EXPECT_EQ(form_oa<genpt::amdv1>(pde & ~std::uint64_t{0x2000'0000'0000'0000}, level, p), std::nullopt) << "IR clear";
  }
  // NextLevel 7 (a larger page) and 0 (a page) are leaves.
  EXPECT_EQ(form_oa<genpt::amdv1>(0x6000'0000'0000'0E01 | table_at, 1, p), std::nullopt);
  EXPECT_EQ(form_oa<genpt::amdv1>(0x6000'0000'0000'0001 | table_at, 1, p), std::nullopt);
}

// Arm ARM D8.3.1 table descriptor: bits 1:0 = 0b11, next-level table
// address in 47:granule (OA[51:48] in 15:12 with 64K FEAT_LPA, OA[51:50]
// in 9:8 with DS), APTable/XNTable/PXNTable/NSTable 63:59 zero as genpt
// writes them; AF (bit 10) is the walker's with FEAT_HAFT.
TEST(LookupTableForm, Armv8TableDescriptorIsValidTableAndAddress) {
  const auto p4 = params_of<genpt::armv8_4k_s1>();
  for (unsigned level = 1; level <= 3; ++level) {
    EXPECT_EQ(form_oa<genpt::armv8_4k_s1>(table_at | 0x3, level, p4), table_at) << level;
    EXPECT_EQ(form_oa<genpt::armv8_4k_s1>(table_at | 0x403, level, p4), std::nullopt) << "AF (HAFT)";
    EXPECT_EQ(form_oa<genpt::armv8_4k_s1>(table_at | 0x1, level, p4), std::nullopt) << "a block";
    EXPECT_EQ(form_oa<genpt::armv8_4k_s1>(table_at | 0x8000'0000'0000'0003, level, p4), std::nullopt) << "NSTable";
  }
  // 64K granule, 52-bit OA: a table at OA 2^48 holds OA[48] in bit 12 and
  // takes the decoding path; one below 2^48 takes the add.
  const auto p64 = params_of<genpt::armv8_64k_s1>({.va_lg2 = 52, .oa_lg2 = 52, .features = genpt::armv8_64k_s1::lpa |
                                                                                             genpt::armv8_64k_s1::lva});
  EXPECT_EQ(form_oa<genpt::armv8_64k_s1>(0x0000'0000'1235'0003, 1, p64), oa_t{0x1235'0000});
  EXPECT_EQ(form_oa<genpt::armv8_64k_s1>(0x0000'0000'0000'1003, 1, p64), std::nullopt);
  // 4K with DS: OA[51:50] in bits 9:8.
  const auto pds = params_of<genpt::armv8_4k_s1>({.va_lg2 = 52, .oa_lg2 = 52, .features = genpt::armv8_4k_s1::lpa2});
  EXPECT_EQ(form_oa<genpt::armv8_4k_s1>(table_at | 0x3, 2, pds), table_at);
  EXPECT_EQ(form_oa<genpt::armv8_4k_s1>(table_at | 0x103, 2, pds), std::nullopt);
}

// RISC-V privileged spec, Sv39/48/57 PTE: V bit 0, R/W/X 3:1 clear (a
// pointer to the next level), U/G/A/D 7:4 (A, D, U reserved in non-leaf
// PTEs), PPN 53:10, PBMT 62:61 and N 63 reserved in non-leaf PTEs. genpt
// writes V and the PPN: the table at PA 0xF'EDCB'A000 is PPN 0xFEDCBA.
TEST(LookupTableForm, RiscvPointerPteIsValidAndPpn) {
  const auto p = params_of<genpt::riscv>();
  for (unsigned level = 1; level <= 4; ++level) {
    EXPECT_EQ(form_oa<genpt::riscv>(0x0000'0003'FB72'E801, level, p), table_at) << level;
    EXPECT_EQ(form_oa<genpt::riscv>(0x0000'0003'FB72'E821, level, p), std::nullopt) << "G";
    EXPECT_EQ(form_oa<genpt::riscv>(0x0000'0003'FB72'E803, level, p), std::nullopt) << "R: a leaf";
    EXPECT_EQ(form_oa<genpt::riscv>(0x0000'0003'FB72'E901, level, p), std::nullopt) << "RSW bit 8";
  }
}

// VT-d §9.8 SS-PML4E .. SS-PDE / SDM Vol. 3C Tables 29-3 .. 29-5 EPT
// non-leaf entries: R, W, X bits 2:0, PS 7 clear, A 8 (the walker's with
// SSADE / EPT A/D), address 51:12. genpt writes R | W | X = 0x7.
TEST(LookupTableForm, VtdSsAndEptTableEntryIsReadWriteExecute) {
  const auto pv = params_of<genpt::vtd_ss>();
  const auto pe = params_of<genpt::ept>();
  for (unsigned level = 1; level <= 3; ++level) {
    EXPECT_EQ(form_oa<genpt::vtd_ss>(table_at | 0x7, level, pv), table_at) << level;
    EXPECT_EQ(form_oa<genpt::ept>(table_at | 0x7, level, pe), table_at) << level;
    EXPECT_EQ(form_oa<genpt::vtd_ss>(table_at | 0x107, level, pv), std::nullopt) << "A";
    EXPECT_EQ(form_oa<genpt::ept>(table_at | 0x107, level, pe), std::nullopt) << "A";
    EXPECT_EQ(form_oa<genpt::ept>(table_at | 0x87, level, pe), std::nullopt) << "PS: a leaf";
  }
}

/// Random words (biased to the flag bits) forced into the form at each
/// level: each is a table item to classify, with the table_oa the add
/// gives; and make_table's own items below 2^48 all take the add.
template <class F>
void expect_form_is_a_table(const typename F::config& cfg = {}) {
  using traits = genpt::format_traits<F>;
  const auto p = params_of<F>(cfg);
  std::mt19937_64 rng(0x666f726d);
  for (unsigned level = 1; level <= F::max_top_level; ++level) {
    const auto f = traits::table_item_form(level, p);
    ASSERT_NE(f.mask, 0u) << "no form at level " << level;
    for (unsigned i = 0; i < 20000; ++i) {
      std::uint64_t e = rng();
      if (i & 1) e &= 0xF000'0000'0000'0FFFu | (rng() & 0x000F'FFFF'FFFF'F000u);
      e = (e & ~f.mask) | f.value;
      ASSERT_EQ(F::classify(e, level), genpt::entry_kind::table) << std::hex << e << " level " << level;
      ASSERT_EQ((e - f.value) << f.oa_shift, F::table_oa(e, p)) << std::hex << e << " level " << level;
      const oa_t oa = rng() & 0x0000'FFFF'FFFF'0000u & ((oa_t{1} << p.oa_lg2) - 1);
      ASSERT_EQ(form_oa<F>(F::make_table(oa, level, p), level, p), oa) << std::hex << oa << " level " << level;
    }
  }
}
TEST(LookupTableForm, X86FormIsATableItem) { expect_form_is_a_table<genpt::x86_64>(); }
TEST(LookupTableForm, Amdv1FormIsATableItem) { expect_form_is_a_table<genpt::amdv1>(); }
TEST(LookupTableForm, Armv8FormIsATableItem) {
  genpt::test::for_each_armv8_oa_layout([]<class F>(const typename F::config& c) { expect_form_is_a_table<F>(c); });
}
TEST(LookupTableForm, RiscvFormIsATableItem) { expect_form_is_a_table<genpt::riscv>(); }
TEST(LookupTableForm, VtdSsAndEptFormIsATableItem) {
  expect_form_is_a_table<genpt::vtd_ss>();
  expect_form_is_a_table<genpt::ept>();
}

// ------------------------------------------------------- whole lookups --

/// One format's walk by hand: the index bits and address field of its
/// table items, from its spec (4 KiB granule, 9 index bits a level).
struct hand_walk {
  unsigned levels;                        ///< table levels, the top's included
  std::uint64_t (*table_of)(std::uint64_t e);  ///< table address of a non-leaf item
  std::uint64_t walker_bit;               ///< a bit a walker (or an OS) may set in one
};

/// Pointers to the non-leaf items on va's path, top first (heap_levels:
/// the oa is the host address).
std::vector<std::uint64_t*> upper_items(oa_t root, std::uint64_t va, const hand_walk& w) {
  std::vector<std::uint64_t*> out;
  std::uint64_t* table = reinterpret_cast<std::uint64_t*>(root);
  for (unsigned level = w.levels - 1; level >= 1; --level) {
    std::uint64_t* item = table + ((va >> (12 + 9 * level)) & 511);
    out.push_back(item);
    table = reinterpret_cast<std::uint64_t*>(w.table_of(*item));
  }
  return out;
}

/// 64 random 4 KiB pages of a 16 GiB window, each looked up (at a random
/// byte) before and after every upper item on every path gets
/// `w.walker_bit`, then after it is cleared again: the item then fails
/// table_item_form and the lookup takes the classify path. An unmapped va
/// stays untranslated throughout.
template <class F>
void expect_lookup_through_walker_bits(const typename F::config& cfg, const hand_walk& w) {
  auto made = genpt::page_table<F>::create(cfg);
  ASSERT_TRUE(made);
  auto& t = *made;
  std::mt19937_64 rng(0x6c6f6f6b);
  std::map<std::uint64_t, oa_t> pages;
  while (pages.size() < 64) {
    const std::uint64_t va = 0x1'0000'0000 + (rng() & 0x3'FFFF'F000);
    const oa_t oa = 0x80'0000'0000 + (rng() & 0xF'FFFF'F000);
    if (pages.count(va)) continue;
    ASSERT_TRUE(t.map(va, oa, page, rw));
    pages[va] = oa;
  }
  const auto check = [&](const char* when) {
    for (const auto& [va, oa] : pages) {
      const std::uint64_t off = rng() & 0xFFF;
      EXPECT_EQ(t.iova_to_phys(va + off), std::optional<oa_t>{oa + off}) << when << " va " << std::hex << va;
      if (!pages.count(va ^ 0x1000)) {
        EXPECT_EQ(t.iova_to_phys(va ^ 0x1000), std::nullopt) << when;
      }
    }
  };
  check("as written");
  const oa_t root = t.hw_info().root;
  for (const auto& [va, oa] : pages)
    for (std::uint64_t* item : upper_items(root, va, w)) *item |= w.walker_bit;
  check("with the walker's bit");
  for (const auto& [va, oa] : pages)
    for (std::uint64_t* item : upper_items(root, va, w)) *item &= ~w.walker_bit;
  check("with it cleared");
}

std::uint64_t addr_51_12(std::uint64_t e) { return e & 0x000F'FFFF'FFFF'F000; }

TEST(LookupThroughWalkerBits, X86IgnoredBit11) {
  // SDM Vol. 3A Table 4-15: bit 11 of a PML4E is ignored (an OS may use it).
  expect_lookup_through_walker_bits<genpt::x86_64>({}, {4, addr_51_12, 0x800});
}
TEST(LookupThroughWalkerBits, Amdv1AccessedBit5) {
  expect_lookup_through_walker_bits<genpt::amdv1>({.starting_level = 3}, {4, addr_51_12, 0x20});
}
TEST(LookupThroughWalkerBits, Armv8AccessFlagOfHaft) {
  expect_lookup_through_walker_bits<genpt::armv8_4k_s1>(
      {}, {4, [](std::uint64_t e) -> std::uint64_t { return e & 0x0000'FFFF'FFFF'F000; }, 0x400});
}
TEST(LookupThroughWalkerBits, RiscvGlobalBit) {
  expect_lookup_through_walker_bits<genpt::riscv>(
      {.levels = 4}, {4, [](std::uint64_t e) -> std::uint64_t { return ((e >> 10) & 0xFFF'FFFF'FFFF) << 12; }, 0x20});
}
TEST(LookupThroughWalkerBits, VtdSsAndEptAccessedBit8) {
  expect_lookup_through_walker_bits<genpt::vtd_ss>({}, {4, addr_51_12, 0x100});
  expect_lookup_through_walker_bits<genpt::ept>({}, {4, addr_51_12, 0x100});
}

// Both allocators of genpt's own declare the linear map the one-add step
// needs, and the wrappers pass it on.
static_assert(genpt::detail::linear_allocator<genpt::heap_levels>);
static_assert(genpt::detail::linear_allocator<genpt::arena_levels>);

/// arena_levels maps oa to its block at an offset (linear_offset): lookups
/// through tables at an output address far from their host address.
TEST(LookupLinearOffset, ArenaAtAHighOutputAddress) {
  constexpr std::size_t bytes = std::size_t{4} << 20;
  constexpr std::align_val_t align{std::size_t{1} << 16};
  std::byte* mem = static_cast<std::byte*>(::operator new(bytes, align));
  {
    constexpr oa_t base_oa = 0x7F'8000'0000;
    genpt::arena_levels a(mem, bytes, base_oa, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.phys_to_virt(base_oa + 0x3000)), a.linear_offset() + base_oa + 0x3000);
    auto made = genpt::page_table<genpt::x86_64, genpt::arena_levels>::create({}, std::move(a));
    ASSERT_TRUE(made);
    auto& t = *made;
    EXPECT_GE(t.hw_info().root, base_oa);
    std::mt19937_64 rng(0x6172656e61);
    std::map<std::uint64_t, oa_t> pages;
    while (pages.size() < 64) {
      const std::uint64_t va = rng() & 0x7FFF'FFFF'F000;
      if (pages.count(va)) continue;
      const oa_t oa = 0x1234'5000 + pages.size() * page;
      ASSERT_TRUE(t.map(va, oa, page, rw));
      pages[va] = oa;
    }
    for (const auto& [va, oa] : pages) {
      EXPECT_EQ(t.iova_to_phys(va + 0x123), std::optional<oa_t>{oa + 0x123}) << std::hex << va;
      if (!pages.count(va ^ 0x20'0000)) {
        EXPECT_EQ(t.iova_to_phys(va ^ 0x20'0000), std::nullopt);
      }
    }
  }
  ::operator delete(mem, align);
}

}  // namespace
