// tests/exactness_flush_clean_test.cpp - issue 10, defects 2 and 3: every
// item write of protect, dirty harvesting and set_dirty reaches a walker
// that does not snoop CPU caches before the flush that publishes it, and a
// no-gaps flush policy never sees a flushed range that covers a hole.
//
// Everything is checked as the hardware sees it: descriptor words read from
// the simulated device's memory (tests/support/sim_noncoherent.hpp) at the
// moment of each flush, walked by hand with indexes and masks from the
// specs, and the exact list of ranges handed to the IOTLB sink.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/sim_noncoherent.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::iotlb_flush;
using genpt::test::recording_sink;
using genpt::test::sim_cache_ops;
using genpt::test::sim_device;

constexpr genpt::prot rw = genpt::prot::read | genpt::prot::write;
constexpr genpt::prot ro = genpt::prot::read;

// x86-64 PTE bits (Intel SDM vol. 3A, Table 4-19).
constexpr std::uint64_t x86_p = std::uint64_t{1} << 0;
constexpr std::uint64_t x86_rw = std::uint64_t{1} << 1;
constexpr std::uint64_t x86_a = std::uint64_t{1} << 5;
constexpr std::uint64_t x86_d = std::uint64_t{1} << 6;
constexpr std::uint64_t x86_addr = 0x000F'FFFF'FFFF'F000;  // bits 51:12
// ARMv8 stage 1 descriptor bits (Arm ARM D8.3.1, D8.3.2).
constexpr std::uint64_t arm_ap2 = std::uint64_t{1} << 7;   // AP[2]: 1 = read-only
constexpr std::uint64_t arm_af = std::uint64_t{1} << 10;   // AF
constexpr std::uint64_t arm_dbm = std::uint64_t{1} << 51;  // DBM
constexpr std::uint64_t arm_addr = 0x0000'FFFF'FFFF'F000;  // bits 47:12 (48-bit OA, 4K)

constexpr genpt::oa_t base_oa = 0x1'0000'0000;
constexpr std::size_t block_bytes = 4 << 20;

/// What the IOTLB sink saw: each request, and the device's copy of every
/// watched descriptor at that moment.
struct probe {
  const sim_device* dev = nullptr;
  std::vector<std::uint64_t> watch;  ///< descriptor oas
  std::vector<iotlb_flush> log;
  std::vector<std::vector<std::uint64_t>> seen;  ///< per flush, per watched descriptor
};
struct probe_sink {
  probe* p = nullptr;
  void flush(const iotlb_flush& f) noexcept {
    p->log.push_back(f);
    std::vector<std::uint64_t> words;
    for (const std::uint64_t oa : p->watch) words.push_back(p->dev->read(oa).value_or(~std::uint64_t{0}));
    p->seen.push_back(words);
  }
};

/// An arena block and the simulated device that sees it.
struct rig {
  std::byte* mem = static_cast<std::byte*>(std::aligned_alloc(1 << 16, block_bytes));
  sim_device dev{mem, block_bytes, base_oa};
  probe pr{&dev, {}, {}, {}};
  rig() = default;
  rig(const rig&) = delete;
  rig& operator=(const rig&) = delete;
  ~rig() { std::free(mem); }
  genpt::incoherent<genpt::arena_levels, sim_cache_ops> alloc() {
    return genpt::incoherent<genpt::arena_levels, sim_cache_ops>(
        genpt::arena_levels(mem, block_bytes, base_oa), sim_cache_ops{&dev});
  }
};

/// The oa of the level-0 descriptor translating va, walked by hand in the
/// device's memory from `root`: four levels of 512 items, index
/// (va >> (12 + 9 * level)) & 511, every upper item valid (bit 0) with its
/// next table at `addr_mask` (x86-64 4-level: SDM 4.5; ARMv8 4K 48-bit
/// stage 1: D8.2). nullopt when the device cannot walk there.
std::optional<std::uint64_t> pte_oa(const sim_device& d, std::uint64_t root, std::uint64_t va,
                                    std::uint64_t addr_mask) {
  std::uint64_t table = root;
  for (unsigned level = 3; level >= 1; --level) {
    const std::optional<std::uint64_t> e = d.read(table + 8 * ((va >> (12 + 9 * level)) & 511));
    if (!e || !(*e & 1)) return std::nullopt;
    table = *e & addr_mask;
  }
  return table + 8 * ((va >> 12) & 511);
}

using dev_alloc = genpt::incoherent<genpt::arena_levels, sim_cache_ops>;
template <class Flush>
using x86_dev_table = genpt::page_table<genpt::x86_64, dev_alloc, Flush>;
template <class Flush>
using arm_dev_table = genpt::page_table<genpt::armv8_4k_s1, dev_alloc, Flush>;

constexpr std::uint64_t dev_va = 0x82d77d7000;  // PML4 471, PDPT 187, PD 11, PT 471
constexpr std::uint64_t dev_oa = 0x18177d7000;
constexpr std::uint64_t dev_len = 0x8000;       // 8 pages, PT indexes 471..478

/// Watches the 8 level-0 descriptors of [dev_va, dev_va + dev_len).
template <class Table>
void watch_pages(rig& r, const Table& t, std::uint64_t addr_mask) {
  for (std::uint64_t k = 0; k < dev_len / 0x1000; ++k) {
    const std::optional<std::uint64_t> oa = pte_oa(r.dev, t.hw_info().root, dev_va + k * 0x1000, addr_mask);
    ASSERT_TRUE(oa.has_value()) << "page " << k << " not walkable on the device after map";
    r.pr.watch.push_back(*oa);
  }
}

// ------------------------------------------------------------ defect 2 ---

// issue 10, defect 2: protect() wrote RW=0 into the CPU's cache only; the
// device kept RW=1 through the flush.
TEST(Exactness, ProtectCleansEveryChangedLineUnderIncoherent) {
  rig r;
  using flush_t = genpt::flush_range<probe_sink>;
  auto t = x86_dev_table<flush_t>::create(genpt::x86_64::config{}, r.alloc(), flush_t{probe_sink{&r.pr}});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(dev_va, dev_oa, dev_len, rw).has_value());
  watch_pages(r, *t, x86_addr);
  for (std::uint64_t k = 0; k < 8; ++k) {
    const std::uint64_t w = *r.dev.read(r.pr.watch[k]);
    ASSERT_EQ(w & (x86_p | x86_rw | x86_addr), x86_p | x86_rw | (dev_oa + k * 0x1000)) << "page " << k;
  }
  r.dev.clear_log();
  genpt::gather g;
  ASSERT_TRUE(t->protect(dev_va, dev_len, ro, g).has_value());
  // PT items 471..478 are bytes 0xEB8..0xEFF of the table: two 64-byte
  // lines, each cleaned once.
  EXPECT_EQ(r.dev.lines_cleaned(), 2u);
  t->sync(g);
  ASSERT_EQ(r.pr.log.size(), 1u);
  EXPECT_EQ(r.pr.log[0].va, dev_va);
  EXPECT_EQ(r.pr.log[0].last, dev_va + dev_len - 1);
  for (std::uint64_t k = 0; k < 8; ++k) {
    const std::uint64_t w = r.pr.seen[0][k];
    EXPECT_EQ(w & (x86_p | x86_rw | x86_addr), x86_p | (dev_oa + k * 0x1000))
        << "device PTE of page " << k << " at the flush: 0x" << std::hex << w;
  }
}

// issue 10, defect 2 (ARMv8 4K stage 1): AP[2] set by protect() must be in
// memory when the flush is issued.
TEST(Exactness, ProtectCleansEveryChangedLineUnderIncoherentArmv8) {
  rig r;
  using flush_t = genpt::flush_range<probe_sink>;
  genpt::armv8_4k_s1::config cfg;
  cfg.features = genpt::armv8_4k_s1::noncoherent_walk;
  auto t = arm_dev_table<flush_t>::create(cfg, r.alloc(), flush_t{probe_sink{&r.pr}});
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->hw_info().tsz, 16u);  // 48-bit VA: levels 3..0 of 512 items
  ASSERT_TRUE(t->map(dev_va, dev_oa, dev_len, rw).has_value());
  watch_pages(r, *t, arm_addr);
  for (std::uint64_t k = 0; k < 8; ++k) {
    const std::uint64_t w = *r.dev.read(r.pr.watch[k]);
    ASSERT_EQ(w & (3 | arm_ap2 | arm_af | arm_addr), 3 | arm_af | (dev_oa + k * 0x1000)) << "page " << k;
  }
  genpt::gather g;
  ASSERT_TRUE(t->protect(dev_va, dev_len, ro, g).has_value());
  t->sync(g);
  ASSERT_EQ(r.pr.log.size(), 1u);
  for (std::uint64_t k = 0; k < 8; ++k) {
    const std::uint64_t w = r.pr.seen[0][k];
    EXPECT_EQ(w & (3 | arm_ap2 | arm_af | arm_addr), 3 | arm_ap2 | arm_af | (dev_oa + k * 0x1000))
        << "device descriptor of page " << k << " at the flush: 0x" << std::hex << w;
  }
}

/// Records dirty spans.
struct span_sink {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  void record(std::uint64_t va, std::uint64_t len) { spans.emplace_back(va, len); }
};

// issue 10, defect 2: read_and_clear_dirty cleared D in the CPU's cache
// only; the device still saw D=1 at the flush.
TEST(Exactness, DirtyClearCleansEveryChangedLineUnderIncoherent) {
  rig r;
  using flush_t = genpt::flush_range<probe_sink>;
  auto t = x86_dev_table<flush_t>::create(genpt::x86_64::config{}, r.alloc(), flush_t{probe_sink{&r.pr}});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(dev_va, dev_oa, dev_len, rw).has_value());  // writable leaves start dirty
  watch_pages(r, *t, x86_addr);
  for (std::uint64_t k = 0; k < 8; ++k) ASSERT_TRUE(*r.dev.read(r.pr.watch[k]) & x86_d) << "page " << k;
  span_sink s;
  genpt::gather g;
  ASSERT_TRUE(t->read_and_clear_dirty(dev_va, dev_len, s, g).has_value());
  t->sync(g);
  ASSERT_EQ(r.pr.log.size(), 1u);
  for (std::uint64_t k = 0; k < 8; ++k) {
    const std::uint64_t w = r.pr.seen[0][k];
    EXPECT_EQ(w & (x86_p | x86_rw | x86_d | x86_addr), x86_p | x86_rw | (dev_oa + k * 0x1000))
        << "device PTE of page " << k << " at the flush: 0x" << std::hex << w;
  }
}

// issue 10, defect 2 (ARMv8 DBM): the harvest's AP[2] := 1 (writable-clean)
// must be in memory when the flush is issued.
TEST(Exactness, DirtyClearCleansEveryChangedLineUnderIncoherentArmv8) {
  rig r;
  using flush_t = genpt::flush_range<probe_sink>;
  genpt::armv8_4k_s1::config cfg;
  cfg.features = genpt::armv8_4k_s1::dbm;
  auto t = arm_dev_table<flush_t>::create(cfg, r.alloc(), flush_t{probe_sink{&r.pr}});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(dev_va, dev_oa, dev_len, rw).has_value());
  watch_pages(r, *t, arm_addr);
  for (std::uint64_t k = 0; k < 8; ++k) {  // DBM=1, AP[2]=0: writable and dirty
    const std::uint64_t w = *r.dev.read(r.pr.watch[k]);
    ASSERT_EQ(w & (3 | arm_ap2 | arm_dbm | arm_addr), 3 | arm_dbm | (dev_oa + k * 0x1000)) << "page " << k;
  }
  span_sink s;
  genpt::gather g;
  ASSERT_TRUE(t->read_and_clear_dirty(dev_va, dev_len, s, g).has_value());
  t->sync(g);
  ASSERT_EQ(r.pr.log.size(), 1u);
  for (std::uint64_t k = 0; k < 8; ++k) {  // DBM=1, AP[2]=1: writable-clean
    const std::uint64_t w = r.pr.seen[0][k];
    EXPECT_EQ(w & (3 | arm_ap2 | arm_dbm | arm_addr), 3 | arm_ap2 | arm_dbm | (dev_oa + k * 0x1000))
        << "device descriptor of page " << k << " at the flush: 0x" << std::hex << w;
  }
}

// issue 10, defect 2: set_dirty() wrote A|D into the CPU's cache only.
TEST(Exactness, SetDirtyCleansItsLineUnderIncoherent) {
  rig r;
  using flush_t = genpt::flush_range<probe_sink>;
  auto t = x86_dev_table<flush_t>::create(genpt::x86_64::config{}, r.alloc(), flush_t{probe_sink{&r.pr}});
  ASSERT_TRUE(t.has_value());
  genpt::x86_64::attrs a = genpt::x86_64::attrs_from_prot(rw, t->params());
  a.dirty = false;
  a.accessed = false;
  ASSERT_TRUE(t->map(dev_va, dev_oa, dev_len, a).has_value());
  watch_pages(r, *t, x86_addr);
  ASSERT_EQ(*r.dev.read(r.pr.watch[3]) & (x86_a | x86_d), 0u);
  ASSERT_TRUE(t->set_dirty(dev_va + 0x3000).has_value());
  const std::uint64_t w = *r.dev.read(r.pr.watch[3]);
  EXPECT_EQ(w & (x86_p | x86_rw | x86_a | x86_d | x86_addr), x86_p | x86_rw | x86_a | x86_d | (dev_oa + 0x3000))
      << "device PTE after set_dirty: 0x" << std::hex << w;
}

// ------------------------------------------------------------ defect 3 ---

constexpr std::uint64_t hole_a = 0x40000000;

/// x86-64 4-level table on the heap with `Flush` over a recording sink:
/// 4 pages at A and 4 at A + 0x10000 (a 48 KiB hole between them).
template <class Flush>
struct holed {
  std::vector<iotlb_flush> log;
  std::optional<genpt::page_table<genpt::x86_64, genpt::heap_levels, Flush>> pt;
  explicit holed(bool dirty) {
    auto r = genpt::page_table<genpt::x86_64, genpt::heap_levels, Flush>::create(
        genpt::x86_64::config{}, genpt::heap_levels{}, Flush{recording_sink{&log}});
    EXPECT_TRUE(r.has_value());
    pt.emplace(std::move(*r));
    genpt::x86_64::attrs a = genpt::x86_64::attrs_from_prot(rw, pt->params());
    a.dirty = dirty;
    EXPECT_TRUE(pt->map(hole_a, 0x80000000, 0x4000, a).has_value());
    EXPECT_TRUE(pt->map(hole_a + 0x10000, 0x80010000, 0x4000, a).has_value());
    log.clear();
  }
};

using no_gaps_t = genpt::flush_range_no_gaps<recording_sink>;
using range_t = genpt::flush_range<recording_sink>;

// issue 10, defect 3: protect() over two runs with a hole gathered one
// covering range, so a no-gaps policy flushed [A, A + 0x13fff].
TEST(Exactness, ProtectNeverFlushesAHoleUnderNoGaps) {
  holed<no_gaps_t> h(true);
  genpt::gather g;
  ASSERT_TRUE(h.pt->protect(hole_a, 0x14000, ro, g).has_value());
  h.pt->sync(g);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_EQ(h.log[0].va, hole_a);
  EXPECT_EQ(h.log[0].last, hole_a + 0x3fff);
  EXPECT_EQ(h.log[0].leaf_levels, 1u);
  EXPECT_EQ(h.log[1].va, hole_a + 0x10000);
  EXPECT_EQ(h.log[1].last, hole_a + 0x13fff);
  EXPECT_EQ(h.log[1].leaf_levels, 1u);
}

// issue 10, defect 3: the harvest of two dirty pages 0x13000 apart
// flushed the clean pages and the hole between them.
TEST(Exactness, DirtyHarvestNeverFlushesAHoleUnderNoGaps) {
  holed<no_gaps_t> h(false);
  ASSERT_TRUE(h.pt->set_dirty(hole_a).has_value());
  ASSERT_TRUE(h.pt->set_dirty(hole_a + 0x13000).has_value());
  span_sink s;
  genpt::gather g;
  ASSERT_TRUE(h.pt->read_and_clear_dirty(hole_a, 0x14000, s, g).has_value());
  h.pt->sync(g);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_EQ(h.log[0].va, hole_a);
  EXPECT_EQ(h.log[0].last, hole_a + 0xfff);
  EXPECT_EQ(h.log[1].va, hole_a + 0x13000);
  EXPECT_EQ(h.log[1].last, hole_a + 0x13fff);
  ASSERT_EQ(s.spans.size(), 2u);
}

// issue 10, defect 3: a merging policy still gets one covering range.
TEST(Exactness, ProtectAndHarvestStillMergeUnderFlushRange) {
  holed<range_t> h(false);
  genpt::gather g;
  ASSERT_TRUE(h.pt->set_dirty(hole_a).has_value());
  ASSERT_TRUE(h.pt->set_dirty(hole_a + 0x13000).has_value());
  span_sink s;
  ASSERT_TRUE(h.pt->read_and_clear_dirty(hole_a, 0x14000, s, g).has_value());
  h.pt->sync(g);
  ASSERT_TRUE(h.pt->protect(hole_a, 0x14000, ro, g).has_value());
  h.pt->sync(g);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_EQ(h.log[0].va, hole_a);
  EXPECT_EQ(h.log[0].last, hole_a + 0x13fff);
  EXPECT_EQ(h.log[1].va, hole_a);
  EXPECT_EQ(h.log[1].last, hole_a + 0x13fff);
}

// issue 10, defects 2 and 3: a no-gaps flush in the middle of protect()
// publishes lines already cleaned: at the first flush [A, A + 0x3fff] the
// device already reads RW=0 in those four PTEs.
TEST(Exactness, NoGapsMidWalkFlushSeesCleanedLinesUnderIncoherent) {
  rig r;
  using flush_t = genpt::flush_range_no_gaps<probe_sink>;
  auto t = x86_dev_table<flush_t>::create(genpt::x86_64::config{}, r.alloc(), flush_t{probe_sink{&r.pr}});
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->map(hole_a, 0x80000000, 0x4000, rw).has_value());
  ASSERT_TRUE(t->map(hole_a + 0x10000, 0x80010000, 0x4000, rw).has_value());
  // A = 0x40000000: PML4 0, PDPT 1, PD 0, PT 0..3 and 16..19.
  for (const std::uint64_t off : {0x0000u, 0x1000u, 0x2000u, 0x3000u, 0x10000u, 0x11000u, 0x12000u, 0x13000u}) {
    const std::optional<std::uint64_t> oa = pte_oa(r.dev, t->hw_info().root, hole_a + off, x86_addr);
    ASSERT_TRUE(oa.has_value());
    r.pr.watch.push_back(*oa);
  }
  genpt::gather g;
  ASSERT_TRUE(t->protect(hole_a, 0x14000, ro, g).has_value());
  t->sync(g);
  ASSERT_EQ(r.pr.log.size(), 2u);
  EXPECT_EQ(r.pr.log[0].va, hole_a);
  EXPECT_EQ(r.pr.log[0].last, hole_a + 0x3fff);
  EXPECT_EQ(r.pr.log[1].va, hole_a + 0x10000);
  EXPECT_EQ(r.pr.log[1].last, hole_a + 0x13fff);
  for (unsigned k = 0; k < 4; ++k)
    EXPECT_EQ(r.pr.seen[0][k] & (x86_p | x86_rw), x86_p) << "first run, page " << k << " at flush 1";
  for (unsigned k = 0; k < 8; ++k)
    EXPECT_EQ(r.pr.seen[1][k] & (x86_p | x86_rw), x86_p) << "page " << k << " at flush 2";
}

}  // namespace
