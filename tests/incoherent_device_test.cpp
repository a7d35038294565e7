// incoherent_device_test.cpp - incoherent<A, CacheOps>: a walker that does
// not snoop CPU caches (simulated: it sees a cache line only as of its last
// clean) translates exactly like the CPU after every map, unmap and sync.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/sim_noncoherent.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::arena_levels;
using genpt::incoherent;
using genpt::level_stats;
using genpt::oa_t;
using genpt::x86_64;
using genpt::test::sim_cache_ops;
using genpt::test::sim_device;

constexpr oa_t base_oa = 0x1'0000'0000;
constexpr std::size_t block_bytes = 16 << 20;

/// An arena block, its simulated device, and the allocator stats.
struct rig {
  std::byte* mem = static_cast<std::byte*>(std::aligned_alloc(1 << 16, block_bytes));
  sim_device dev{mem, block_bytes, base_oa};
  level_stats stats;
  rig() = default;
  rig(const rig&) = delete;
  rig& operator=(const rig&) = delete;
  ~rig() { std::free(mem); }
  incoherent<arena_levels, sim_cache_ops> alloc() {
    return incoherent<arena_levels, sim_cache_ops>(arena_levels(mem, block_bytes, base_oa, &stats),
                                                   sim_cache_ops{&dev});
  }
};

using table = genpt::page_table<x86_64, incoherent<arena_levels, sim_cache_ops>>;

table make_table(rig& r) {
  auto t = table::create(x86_64::config{}, r.alloc());
  EXPECT_TRUE(t.has_value());
  return std::move(*t);
}

/// Expects the device to translate like the CPU at the addresses [va, va + len)
/// touched: every 4 KiB page (at most 2048, spread evenly) and the last byte.
template <class Table>
void expect_device_agrees(const Table& pt, const sim_device& dev, std::uint64_t va, std::uint64_t len,
                          const std::string& what) {
  const std::uint64_t pages = len >> 12;
  const std::uint64_t step = pages > 2048 ? pages / 2048 : 1;
  auto check = [&](std::uint64_t a) {
    const genpt::test::device_result d = genpt::test::device_translate<x86_64>(
        dev, pt.params(), pt.hw_info().root, pt.info().top_level, a);
    const genpt::test::device_result cpu{false, pt.iova_to_phys(a)};
    ASSERT_EQ(d, cpu) << what << " at va 0x" << std::hex << a;
  };
  for (std::uint64_t i = 0; i < pages; i += step) check(va + (i << 12) + ((i * 40) & 0xFF8));
  check(va + len - 1);
}

TEST(incoherent, DeviceTranslatesLikeTheCpuAfterEveryOperation) {
  rig r;
  {
    table pt = make_table(r);
    std::mt19937_64 rng(0x5eed);
    const std::uint64_t anchors[] = {0, 0x3fe0'0000, 0x7f'ffe0'0000, 0x7fff'fff0'0000, 0x1234'5660'0000};
    for (int op = 0; op < 3000; ++op) {
      const std::uint64_t anchor = anchors[rng() % 5];
      const std::uint64_t va = anchor + ((rng() % 1024) << 12);
      const bool big = rng() % 8 == 0;
      const std::uint64_t len = big ? ((rng() % 3 + 1) << 21) : ((rng() % 1100 + 1) << 12);
      if (va + len > (std::uint64_t{1} << 47)) continue;
      const std::string what = "op " + std::to_string(op);
      if (rng() % 2) {
        const oa_t oa = (rng() % 2 ? (rng() % 4096) << 21 : (rng() % (1u << 26)) << 12) + (va & 0x1F'F000 & ~(rng() % 2 ? 0 : ~std::uint64_t{0}));
        (void)pt.map(va, oa & ((std::uint64_t{1} << 46) - 1), len, genpt::prot::read | genpt::prot::write);
      } else {
        (void)pt.unmap(va, len);  // unmap, then sync: freed tables leave the device's walk
      }
      expect_device_agrees(pt, r.dev, va, len, what);
      if (testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

TEST(incoherent, LeavesWrittenInOneTableAreCleanedOncePerCacheLine) {
  rig r;
  {
    table pt = make_table(r);
    ASSERT_TRUE(pt.map(0x40'0000 + 511 * 0x1000, 0x1000, 0x1000, genpt::prot::read).has_value());
    r.dev.clear_log();
    // Items 0..255 of the same level-0 table: 2 KiB, 32 cache lines.
    ASSERT_TRUE(pt.map(0x40'0000, 0x80'0000, 256 * 0x1000, genpt::prot::read).has_value());
    EXPECT_EQ(r.dev.lines_cleaned(), 32u);
    EXPECT_EQ(r.dev.log().size(), 1u);
    expect_device_agrees(pt, r.dev, 0x40'0000, 512 * 0x1000, "map");
    r.dev.clear_log();
    EXPECT_EQ(pt.unmap(0x40'0000, 256 * 0x1000), 256u * 0x1000);
    EXPECT_EQ(r.dev.lines_cleaned(), 32u);
    expect_device_agrees(pt, r.dev, 0x40'0000, 512 * 0x1000, "unmap");
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

TEST(incoherent, NewTableIsCleanedBeforeTheItemPointingToIt) {
  rig r;
  {
    table pt = make_table(r);
    r.dev.clear_log();
    ASSERT_TRUE(pt.map(0x7f12'3456'7000, 0x1000, 0x1000, genpt::prot::read).has_value());
    // Three new tables (levels 2, 1, 0): each cleaned whole, then the item
    // in its parent; then the leaf.
    const auto& log = r.dev.log();
    ASSERT_EQ(log.size(), 7u);
    for (int k = 0; k < 3; ++k) {
      const auto& table_clean = log[static_cast<std::size_t>(2 * k)];
      const auto& item_clean = log[static_cast<std::size_t>(2 * k + 1)];
      EXPECT_EQ(table_clean.bytes, 4096u);
      EXPECT_EQ(item_clean.bytes, 8u);
      const std::optional<std::uint64_t> item = r.dev.read(base_oa + item_clean.offset);
      ASSERT_TRUE(item.has_value());
      EXPECT_EQ(x86_64::table_oa(*item, pt.params()), base_oa + table_clean.offset) << "table " << k;
    }
    EXPECT_EQ(log[6].bytes, 8u);
    expect_device_agrees(pt, r.dev, 0x7f12'3456'7000, 0x1000, "map");
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

/// Fakes the race of a map whose installer may still be cleaning: the
/// top's item 0 loses its "flush done" bit and the device holds a stale
/// (empty) copy of it.
void unfinish_top_item(table& pt, rig& r) {
  const oa_t root = pt.hw_info().root;
  // The allocator maps the root's oa back to the table's memory.
  auto* top = static_cast<std::uint64_t*>(pt.allocator().phys_to_virt(root));
  top[0] &= ~x86_64::sw_bit_mask(pt.params());
  r.dev.write(root, 0);
}

TEST(incoherent, MapCleansAPathItemWhoseInstallerMayStillBeCleaning) {
  rig r;
  {
    table pt = make_table(r);
    ASSERT_TRUE(pt.map(0x40'0000, 0x1000, 0x1000, genpt::prot::read).has_value());
    unfinish_top_item(pt, r);
    ASSERT_TRUE(pt.map(0x40'1000, 0x2000, 0x1000, genpt::prot::read).has_value());
    expect_device_agrees(pt, r.dev, 0x40'0000, 0x2000, "map over an unfinished path");
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

/// Expects the device log to hold one clean: item `index` of a 4 KiB table.
void expect_one_item_cleaned(const sim_device& dev, unsigned index) {
  ASSERT_EQ(dev.log().size(), 1u);
  EXPECT_EQ(dev.log()[0].bytes, 8u);
  EXPECT_EQ(dev.log()[0].offset % 4096, index * 8u);
}

// The one-page paths skip the general walk when every table item on the
// path carries the "flush done" bit: they write one item and clean only it.
TEST(incoherent, OnePageMapOntoACleanPathCleansOnlyItsItem) {
  rig r;
  {
    table pt = make_table(r);
    ASSERT_TRUE(pt.map(0x40'0000, 0x1000, 0x1000, genpt::prot::read).has_value());
    r.dev.clear_log();
    ASSERT_TRUE(pt.map(0x40'5000, 0x9000, 0x1000, genpt::prot::read).has_value());
    expect_one_item_cleaned(r.dev, 5);  // va 0x40'5000: item 5 of its level-0 table
    expect_device_agrees(pt, r.dev, 0x40'0000, 0x6000, "one-page map");
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

TEST(incoherent, OnePageUnmapCleansOnlyItsItem) {
  rig r;
  {
    table pt = make_table(r);
    ASSERT_TRUE(pt.map(0x40'0000, 0x1000, 0x4000, genpt::prot::read).has_value());
    r.dev.clear_log();
    EXPECT_EQ(pt.unmap(0x40'2000, 0x1000), 0x1000u);
    expect_one_item_cleaned(r.dev, 2);  // va 0x40'2000
    expect_device_agrees(pt, r.dev, 0x40'0000, 0x4000, "one-page unmap");
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

// A range inside one level-0 table also starts its walk in that table, but
// only over a path whose items all carry the bit: here the top's item lacks
// it (and the device holds a stale copy), so the walk goes from the top and
// cleans that item.
TEST(incoherent, MapInsideOneTableCleansAPathItemWhoseInstallerMayStillBeCleaning) {
  rig r;
  {
    table pt = make_table(r);
    ASSERT_TRUE(pt.map(0x40'0000, 0x1000, 0x1000, genpt::prot::read).has_value());
    unfinish_top_item(pt, r);
    ASSERT_TRUE(pt.map(0x40'1000, 0x2000, 0x3000, genpt::prot::read).has_value());
    expect_device_agrees(pt, r.dev, 0x40'0000, 0x4000, "map of a range over an unfinished path");
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

TEST(incoherent, InstalledTableItemsCarryTheFlushDoneBit) {
  rig r;
  {
    table pt = make_table(r);
    ASSERT_TRUE(pt.map(0x40'0000, 0x1000, 0x1000, genpt::prot::read).has_value());
    std::vector<std::uint64_t> table_items;
    pt.for_each_item(0x40'0000, 0x1000, [&](const auto& it) {
      if (it.kind == genpt::entry_kind::table) table_items.push_back(it.word);
    });
    ASSERT_EQ(table_items.size(), 3u);
    for (std::uint64_t e : table_items) EXPECT_NE(e & x86_64::sw_bit_mask(pt.params()), 0u);
  }
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

TEST(incoherent, EveryFailedAllocationLeavesTheDeviceViewConsistent) {
  rig r;
  using ftable = genpt::page_table<x86_64, genpt::fault_injecting<incoherent<arena_levels, sim_cache_ops>>>;
  bool succeeded = false;
  for (std::uint64_t n = 1; n <= 8 && !succeeded; ++n) {
    auto t = ftable::create(x86_64::config{},
                            genpt::fault_injecting<incoherent<arena_levels, sim_cache_ops>>(r.alloc()));
    ASSERT_TRUE(t.has_value());
    ASSERT_TRUE(t->map(0x7f12'3400'0000, 0x10'0000, 0x40'0000, genpt::prot::read).has_value());
    t->allocator().fail_after(n);
    // 4 MiB + 8 KiB of 4 KiB pages from the end of a 1 GiB span: new tables at levels 1 and 0.
    const auto m = t->map(0x7f12'4000'0000 - 0x1000, 0x1000, 0x40'2000, genpt::prot::read);
    expect_device_agrees(*t, r.dev, 0x7f12'3400'0000, 0x0c40'2000, "after allocation " + std::to_string(n));
    if (t->allocator().failures() == 0) {
      EXPECT_TRUE(m.has_value());
      succeeded = true;
    } else {
      EXPECT_EQ(m.error(), genpt::errc::no_memory);
    }
  }
  EXPECT_TRUE(succeeded);
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

TEST(incoherent, FormatWithoutSoftwareBitsIsNotSupported) {
  rig r;
  using atable = genpt::page_table<genpt::amdv1, incoherent<arena_levels, sim_cache_ops>>;
  const auto t = atable::create(genpt::amdv1::config{}, r.alloc());
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error(), genpt::errc::not_supported);
  EXPECT_EQ(genpt::test::live(r.stats), 0);
}

#if defined(__x86_64__)
TEST(incoherent, RealX86CacheCleaningKeepsTranslationsWorking) {
  using ops = genpt::cache_ops_x86;
  for (ops::insn i : {ops::insn::clflush, ops::insn::clflushopt, ops::insn::clwb}) {
    if (!ops::has(i)) continue;
    level_stats stats;
    {
      using htable = genpt::page_table<x86_64, incoherent<genpt::heap_levels, ops>>;
      auto t = htable::create(x86_64::config{},
                              incoherent<genpt::heap_levels, ops>(genpt::heap_levels(&stats), ops(i)));
      ASSERT_TRUE(t.has_value());
      ASSERT_TRUE(t->map(0x40'0000, 0x1000, 0x10'0000, genpt::prot::read).has_value());
      EXPECT_EQ(t->iova_to_phys(0x40'0123), std::optional<oa_t>{0x1123});
      EXPECT_EQ(t->unmap(0x40'0000, 0x10'0000), 0x10'0000u);
      EXPECT_EQ(t->iova_to_phys(0x40'0123), std::nullopt);
    }
    EXPECT_EQ(genpt::test::live(stats), 0);
  }
}
#endif

}  // namespace
