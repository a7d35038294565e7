// tests/fmt_dump_test.cpp - genpt/fmt.hpp: the formatters and the golden
// table dump of a small x86-64 table.
//
// The tables come from heap_levels, so their output addresses are host
// pointers that change from run to run. dump() prints a table descriptor
// with its next-table address field zeroed by default (see genpt/fmt.hpp),
// which keeps the golden text below exact; one test checks that
// dump_options::table_oa brings the real address back.

#include <cstdint>
#include <string>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "genpt/fmt.hpp"
#include "genpt/genpt.hpp"

namespace {

using genpt::prot;
using genpt::x86_64;
using table = genpt::page_table<x86_64>;

constexpr std::uint64_t k4 = 0x1000;
constexpr std::uint64_t m2 = 0x20'0000;
constexpr std::uint64_t g1 = 0x4000'0000;

TEST(fmt_formatters, errc_names) {
  EXPECT_EQ(fmt::format("{}", genpt::errc::invalid_argument), "invalid_argument");
  EXPECT_EQ(fmt::format("{}", genpt::errc::address_in_use), "address_in_use");
  EXPECT_EQ(fmt::format("{}", genpt::errc::not_found), "not_found");
  EXPECT_EQ(fmt::format("{}", static_cast<genpt::errc>(99)), "errc(99)");
  EXPECT_EQ(fmt::format("[{:>12}]", genpt::errc::overflow), "[    overflow]");
}

TEST(fmt_formatters, prot_flags) {
  EXPECT_EQ(fmt::format("{}", prot::read | prot::write | prot::mmio), "read|write|mmio");
  EXPECT_EQ(fmt::format("{}", prot::none), "none");
  EXPECT_EQ(fmt::format("{}", prot::read | prot::write | prot::cache | prot::noexec |
                                  prot::mmio | prot::priv),
            "read|write|cache|noexec|mmio|priv");
  EXPECT_EQ(fmt::format("{}", static_cast<prot>(0x41)), "read|0x40");
  EXPECT_EQ(fmt::format("{}", static_cast<prot>(0x80)), "0x80");
}

TEST(fmt_formatters, entry_kind_names) {
  EXPECT_EQ(fmt::format("{}", genpt::entry_kind::empty), "empty");
  EXPECT_EQ(fmt::format("{}", genpt::entry_kind::table), "table");
  EXPECT_EQ(fmt::format("{}", genpt::entry_kind::leaf), "leaf");
}

TEST(fmt_formatters, sizes) {
  EXPECT_EQ(genpt::size_name(9), "512");
  EXPECT_EQ(genpt::size_name(12), "4K");
  EXPECT_EQ(genpt::size_name(16), "64K");
  EXPECT_EQ(genpt::size_name(21), "2M");
  EXPECT_EQ(genpt::size_name(30), "1G");
  EXPECT_EQ(genpt::size_name(39), "512G");
  EXPECT_EQ(genpt::size_name(48), "256T");
  EXPECT_EQ(fmt::format("{}", genpt::pgsizes{(1u << 12) | (1u << 21) | (1u << 30)}), "4K|2M|1G");
  EXPECT_EQ(fmt::format("{}", genpt::pgsizes{0}), "none");
}

TEST(fmt_formatters, x86_64_attrs) {
  x86_64::attrs a;
  EXPECT_EQ(fmt::format("{}", a), "none");
  a.write = a.user = a.accessed = a.dirty = true;
  EXPECT_EQ(fmt::format("{}", a), "write|user|accessed|dirty");
  x86_64::attrs all{true, true, true, true, true, true, true, true, true, true};
  EXPECT_EQ(fmt::format("{}", all),
            "write|user|pwt|pcd|pat|global|noexec|accessed|dirty|encrypted");
}

/// The golden table: every page size, a fold of each kind, an attribute
/// change that breaks a fold, an oa gap that breaks a fold, and both halves.
table make_golden(genpt::level_stats& stats) {
  auto t = table::create(x86_64::config{}, genpt::heap_levels(&stats));
  EXPECT_TRUE(t.has_value());
  table pt = std::move(*t);
  const prot rw = prot::read | prot::write;
  // 1G: two folded, then a read-only one.
  EXPECT_TRUE(pt.map(0, 0x1'0000'0000, 2 * g1, rw));
  EXPECT_TRUE(pt.map(2 * g1, 0x1'8000'0000, g1, prot::read));
  // 4K, 2M, 4K from a start 8K below a 2M boundary.
  EXPECT_TRUE(pt.map(4 * g1 - 2 * k4, 0x2'0000'0000 - 2 * k4, m2 + 3 * k4, rw));
  // Two single 4K pages whose oa do not follow each other: no fold.
  EXPECT_TRUE(pt.map(5 * g1, 0x3000, k4, rw));
  EXPECT_TRUE(pt.map(5 * g1 + k4, 0x1000, k4, rw));
  // Upper half, full control: uncached, global, no-exec.
  x86_64::attrs a;
  a.write = a.pcd = a.pwt = a.global = a.noexec = a.accessed = true;
  EXPECT_TRUE(pt.map(0xffff'ff80'0000'0000, 0xfe00'0000, 2 * m2, a));
  return pt;
}

constexpr const char* golden =
    "[  0] PML4E 0x0000000000000000..0x0000007fffffffff 0x0000000000000027 table\n"
    "  [  0..1] \u00d72 PDPTE 0x0000000000000000..0x000000007fffffff 0x00000001000000e7 1G "
    "oa 0x0000000100000000..0x000000017fffffff write|user|accessed|dirty\n"
    "  [  2] PDPTE 0x0000000080000000..0x00000000bfffffff 0x00000001800000a5 1G "
    "oa 0x0000000180000000 user|accessed\n"
    "  [  3] PDPTE 0x00000000c0000000..0x00000000ffffffff 0x0000000000000027 table\n"
    "    [511] PDE   0x00000000ffe00000..0x00000000ffffffff 0x0000000000000027 table\n"
    "      [510..511] \u00d72 PTE   0x00000000ffffe000..0x00000000ffffffff 0x00000001ffffe067 4K "
    "oa 0x00000001ffffe000..0x00000001ffffffff write|user|accessed|dirty\n"
    "  [  4] PDPTE 0x0000000100000000..0x000000013fffffff 0x0000000000000027 table\n"
    "    [  0] PDE   0x0000000100000000..0x00000001001fffff 0x00000002000000e7 2M "
    "oa 0x0000000200000000 write|user|accessed|dirty\n"
    "    [  1] PDE   0x0000000100200000..0x00000001003fffff 0x0000000000000027 table\n"
    "      [  0] PTE   0x0000000100200000..0x0000000100200fff 0x0000000200200067 4K "
    "oa 0x0000000200200000 write|user|accessed|dirty\n"
    "  [  5] PDPTE 0x0000000140000000..0x000000017fffffff 0x0000000000000027 table\n"
    "    [  0] PDE   0x0000000140000000..0x00000001401fffff 0x0000000000000027 table\n"
    "      [  0] PTE   0x0000000140000000..0x0000000140000fff 0x0000000000003067 4K "
    "oa 0x0000000000003000 write|user|accessed|dirty\n"
    "      [  1] PTE   0x0000000140001000..0x0000000140001fff 0x0000000000001067 4K "
    "oa 0x0000000000001000 write|user|accessed|dirty\n"
    "[511] PML4E 0xffffff8000000000..0xffffffffffffffff 0x0000000000000027 table\n"
    "  [  0] PDPTE 0xffffff8000000000..0xffffff803fffffff 0x0000000000000027 table\n"
    "    [  0..1] \u00d72 PDE   0xffffff8000000000..0xffffff80003fffff 0x80000000fe0001bb 2M "
    "oa 0x00000000fe000000..0x00000000fe3fffff write|pwt|pcd|global|noexec|accessed\n";

TEST(fmt_dump, golden_x86_64) {
  genpt::level_stats stats;
  {
    const table pt = make_golden(stats);
    EXPECT_EQ(genpt::dump(pt), golden);
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

TEST(fmt_dump, range_and_unfolded) {
  genpt::level_stats stats;
  {
    const table pt = make_golden(stats);
    // Only the 1G leaves: the walk still shows the table item above them.
    EXPECT_EQ(genpt::dump(pt, 0, 2 * g1),
              "[  0] PML4E 0x0000000000000000..0x0000007fffffffff 0x0000000000000027 table\n"
              "  [  0..1] \u00d72 PDPTE 0x0000000000000000..0x000000007fffffff 0x00000001000000e7 1G "
              "oa 0x0000000100000000..0x000000017fffffff write|user|accessed|dirty\n");
    genpt::dump_options no_fold;
    no_fold.fold = false;
    EXPECT_EQ(genpt::dump(pt, g1, g1, no_fold),
              "[  0] PML4E 0x0000000000000000..0x0000007fffffffff 0x0000000000000027 table\n"
              "  [  1] PDPTE 0x0000000040000000..0x000000007fffffff 0x00000001400000e7 1G "
              "oa 0x0000000140000000 write|user|accessed|dirty\n");
    // Nothing mapped, or a non-canonical range: empty.
    EXPECT_EQ(genpt::dump(pt, 0x100'0000'0000, g1), "");
    EXPECT_EQ(genpt::dump(pt, 0x8000'0000'0000, g1), "");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

TEST(fmt_dump, table_oa_option_shows_addresses) {
  genpt::level_stats stats;
  {
    const table pt = make_golden(stats);
    genpt::dump_options o;
    o.table_oa = true;
    const std::string d = genpt::dump(pt, 0, k4, o);
    // The top's item 0 points at the PDPT; find its oa by hand.
    std::uint64_t pdpt = 0;
    pt.for_each_item(0, k4, [&](const genpt::item_view& it) {
      if (it.level == 3) pdpt = x86_64::table_oa(it.word, pt.params());
    });
    ASSERT_NE(pdpt, 0u);
    const std::string want = fmt::format(
        "[  0] PML4E 0x0000000000000000..0x0000007fffffffff {:#018x} table -> {:#x}\n",
        pdpt | 0x27, pdpt);
    EXPECT_EQ(d.substr(0, want.size()), want);
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

}  // namespace

