// tests/bbm_test.cpp - ARMv8 live-table updates: break-before-make and
// FEAT_BBM (issue 12), typed over every granule and both stages.
//
// Arm ARM D8.16.1 "Using break-before-make when updating translation table
// entries": a valid descriptor may not be replaced by one of another size
// (block <-> table, Contiguous bit), nor have its memory type or
// shareability changed, in one write; it must be made invalid, the TLB
// invalidated for its range (and the invalidation completed), then the new
// descriptor written. D8.16.2: FEAT_BBM level 1 lets a block be marked nT
// (bit 16) instead of invalid; level 2 allows the one-step size change.
//
// The hardware's view is what is checked: the flush_now calls the policy
// receives (range and levels, written out here from the geometry), and at
// the moment of each call what the spec-written hardware walker
// (genpt/walk/) reads from the live table; a simulated TLB
// (support/sim_tlb.hpp) flags two cached translations of one va.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cstdint>
#include <thread>
#include <vector>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/flush/commands.hpp"
#include "genpt/flush/flush_range.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/page_table.hpp"
#include "genpt/walk/walk.hpp"
#include "support/sim_tlb.hpp"

namespace {

using genpt::iotlb_flush;
using genpt::oa_t;
using genpt::prot;
using genpt::va_t;

/// The device: TLB, walker registers and memory, and a log of the
/// invalidations with what the walker saw at each flush_now.
template <class F>
struct device {
  struct event {
    bool now = false;          ///< flush_now (else a gather flush)
    iotlb_flush f;
    genpt::walk_result probe;  ///< walk of probe_va when the flush arrived
  };
  genpt::test::sim_tlb<F> tlb;
  typename genpt::hw_walker<F>::regs regs{};
  oa_t root = 0;
  genpt::test::live_table_memory<genpt::heap_levels> mem{nullptr};
  va_t probe_va = 0;
  std::vector<event> log;

  genpt::walk_result walk(va_t va) { return genpt::hw_walker<F>::walk(regs, root, va, genpt::access{}, mem); }
};

template <class F>
struct tlb_sink {
  device<F>* d = nullptr;
  void flush(const iotlb_flush& f) noexcept {
    d->tlb.invalidate(f);
    d->log.push_back({false, f, {}});
  }
  void flush_now(const iotlb_flush& f) noexcept {
    // What the hardware reads before the invalidation completes.
    d->log.push_back({true, f, d->mem.alloc ? d->walk(d->probe_va) : genpt::walk_result{}});
    d->tlb.invalidate(f);
  }
};

template <class F>
using table_t = genpt::page_table<F, genpt::heap_levels, genpt::flush_range<tlb_sink<F>>>;

template <class F>
table_t<F> make_table(device<F>& d, unsigned features) {
  typename F::config c;
  c.features = features;
#ifdef GENPT_BBM_TEST_FORCE_ONE_STEP
  c.features |= F::bbm_level2;  // shows how the one-step path (genpt before issue 12) fails these tests
#endif
  auto t = table_t<F>::create(c, genpt::heap_levels{}, genpt::flush_range<tlb_sink<F>>{tlb_sink<F>{&d}});
  EXPECT_TRUE(t.has_value());
  return std::move(*t);
}

/// Points the device at the table (after it reached its final place).
template <class F>
void attach(device<F>& d, table_t<F>& t) {
  d.root = t.hw_info().root;
  d.regs = genpt::hw_walker<F>::regs_from(t.params(), t.info().top_level);
  d.mem.alloc = &t.allocator();
}

/// Geometry from the Arm ARM (D8.2, D8.7.1): page = granule; a level-2
/// (Arm) block = granule * 2^(granule_lg2 - 3); the level-3 contiguous run
/// is 16 (4K), 128 (16K) or 32 (64K) pages.
template <class F>
struct geo {
  static constexpr unsigned g = F::granule_lg2;
  static constexpr std::uint64_t page = std::uint64_t{1} << g;
  static constexpr std::uint64_t block = std::uint64_t{1} << (2 * g - 3);
  static constexpr std::uint64_t run = page * (g == 12 ? 16 : g == 14 ? 128 : 32);
  static constexpr va_t base = va_t{4} * block;   // block aligned, inside a 48-bit space
  static constexpr oa_t oa = oa_t{64} * block;    // block aligned
};

constexpr std::uint64_t nt_bit = std::uint64_t{1} << 16;  // D8.3.2 nT
constexpr prot rw_wb = prot::read | prot::write | prot::cache;

template <class F>
class Bbm : public ::testing::Test {};
using formats = ::testing::Types<genpt::armv8<12, 1>, genpt::armv8<14, 1>, genpt::armv8<16, 1>,
                                 genpt::armv8<12, 2>, genpt::armv8<14, 2>, genpt::armv8<16, 2>>;
TYPED_TEST_SUITE(Bbm, formats);

template <class F>
std::vector<typename device<F>::event> nows(const device<F>& d) {
  std::vector<typename device<F>::event> r;
  for (const auto& e : d.log)
    if (e.now) r.push_back(e);
  return r;
}

// D8.16.1: block -> table. The block is invalid when its range is
// invalidated, exactly that range at the block's level, then the table of
// pages (descriptor bits 1:0 = 0b11 at Arm level 3) translates as before.
TYPED_TEST(Bbm, CutInvalidatesTheBlockThenInstallsTheTable) {
  using F = TypeParam;
  using G = geo<F>;
  device<F> d;
  auto t = make_table<F>(d, 0);
  attach(d, t);
  ASSERT_TRUE(t.map(G::base, G::oa, G::block, rw_wb));
  const auto before = d.walk(G::base);
  ASSERT_TRUE(before.ok);
  ASSERT_EQ(before.t.level, 1u);
  d.probe_va = G::base;
  d.log.clear();
  ASSERT_TRUE(t.cut(G::base + G::page));
  const auto n = nows(d);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].f.va, G::base);
  EXPECT_EQ(n[0].f.last, G::base + G::block - 1);
  EXPECT_EQ(n[0].f.leaf_levels, 0b10);
  EXPECT_EQ(n[0].f.table_levels, 0);
  // During the invalidation the block descriptor reads 0: a translation fault.
  EXPECT_FALSE(n[0].probe.ok);
  EXPECT_EQ(n[0].probe.f.kind, genpt::fault_kind::translation);
  EXPECT_EQ(n[0].probe.f.level, 1u);
  EXPECT_EQ(n[0].probe.f.word, 0u);
  // After: a page descriptor (0b11) with the old output address.
  const auto after = d.walk(G::base + G::page);
  ASSERT_TRUE(after.ok);
  EXPECT_EQ(after.t.level, 0u);
  EXPECT_EQ(after.t.leaf & 3, 3u);
  EXPECT_EQ(after.t.oa, G::oa + G::page);
  EXPECT_EQ(after.t.leaf & ~0x0003'FFFF'FFFF'F003ull, before.t.leaf & ~0x0003'FFFF'FFFF'F003ull);
}

// D8.16.1 / D8.7.1: a Contiguous bit change breaks the whole run first.
TYPED_TEST(Bbm, ContiguousReencodeInvalidatesTheWholeRunFirst) {
  using F = TypeParam;
  using G = geo<F>;
  device<F> d;
  auto t = make_table<F>(d, 0);
  attach(d, t);
  ASSERT_TRUE(t.map(G::base, G::oa, G::run, rw_wb));
  const auto before = d.walk(G::base);
  ASSERT_TRUE(before.ok);
  ASSERT_EQ(before.t.size_lg2, static_cast<unsigned>(std::countr_zero(G::run)));
  ASSERT_NE(before.t.leaf & (std::uint64_t{1} << 52), 0u);  // Contiguous
  d.probe_va = G::base + G::run - G::page;
  d.log.clear();
  ASSERT_TRUE(t.cut(G::base + 3 * G::page));
  const auto n = nows(d);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].f.va, G::base);
  EXPECT_EQ(n[0].f.last, G::base + G::run - 1);
  EXPECT_EQ(n[0].f.leaf_levels, 0b1);
  EXPECT_FALSE(n[0].probe.ok);
  EXPECT_EQ(n[0].probe.f.word, 0u);
  for (unsigned k : {0u, 3u, 4u}) {
    const auto a = d.walk(G::base + k * G::page);
    ASSERT_TRUE(a.ok);
    EXPECT_EQ(a.t.size_lg2, G::g);
    EXPECT_EQ(a.t.leaf & (std::uint64_t{1} << 52), 0u);
    EXPECT_EQ(a.t.oa, G::oa + k * G::page);
  }
}

// D8.16.1: a memory-type / shareability change breaks; a permission-only
// change (AP / S2AP) does not.
TYPED_TEST(Bbm, ProtectBreaksOnMemoryTypeChangeOnly) {
  using F = TypeParam;
  using G = geo<F>;
  device<F> d;
  auto t = make_table<F>(d, 0);
  attach(d, t);
  ASSERT_TRUE(t.map(G::base, G::oa, 2 * G::page, rw_wb));
  d.probe_va = G::base;
  d.log.clear();
  {
    genpt::gather g;
    ASSERT_TRUE(t.protect(G::base, 2 * G::page, prot::read | prot::cache, g));
    t.sync(g);
  }
  EXPECT_TRUE(nows(d).empty());
  d.log.clear();
  {
    genpt::gather g;
    ASSERT_TRUE(t.protect(G::base, G::page, prot::read | prot::write, g));  // cacheable -> NC
    t.sync(g);
  }
  const auto n = nows(d);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].f.va, G::base);
  EXPECT_EQ(n[0].f.last, G::base + G::page - 1);
  EXPECT_EQ(n[0].f.leaf_levels, 0b1);
  EXPECT_FALSE(n[0].probe.ok);
  const auto a = d.walk(G::base);
  ASSERT_TRUE(a.ok);
  // Stage 1 AttrIndx (4:2) 0 = Normal NC in genpt's MAIR; stage 2 MemAttr (5:2) 0b0101.
  EXPECT_EQ((a.t.leaf >> 2) & (F::stage == 1 ? 7u : 15u), F::stage == 1 ? 0u : 5u);
}

// D8.16.1: table -> block. map() replacing an empty table by a block drops
// the table pointer, invalidates the walk caches for the span, then writes
// the block.
TYPED_TEST(Bbm, MapOverEmptyTableBreaksTheTablePointer) {
  using F = TypeParam;
  using G = geo<F>;
  device<F> d;
  auto t = make_table<F>(d, 0);
  attach(d, t);
  ASSERT_TRUE(t.map(G::base, G::oa, G::page, rw_wb));
  ASSERT_EQ(t.unmap(G::base, G::page), G::page);
  d.probe_va = G::base;
  d.log.clear();
  ASSERT_TRUE(t.map(G::base, G::oa, G::block, rw_wb));
  const auto n = nows(d);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].f.va, G::base);
  EXPECT_EQ(n[0].f.last, G::base + G::block - 1);
  EXPECT_NE(n[0].f.table_levels & 0b10, 0);
  EXPECT_TRUE(n[0].f.tables_freed);
  EXPECT_FALSE(n[0].probe.ok);
  EXPECT_EQ(n[0].probe.f.level, 1u);
  EXPECT_EQ(n[0].probe.f.word, 0u);
  const auto a = d.walk(G::base);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.t.level, 1u);
}

// D8.16.2 FEAT_BBM level 1: the block is marked nT (bit 16) instead of
// invalid, keeps its translation (for hardware that walks nT entries) while
// its range is invalidated, and only then does the table replace it.
TYPED_TEST(Bbm, Level1CutMarksTheBlockNtWhileItsRangeIsInvalidated) {
  using F = TypeParam;
  using G = geo<F>;
  device<F> d;
  auto t = make_table<F>(d, F::bbm_level1);
  attach(d, t);
  ASSERT_TRUE(t.map(G::base, G::oa, G::block, rw_wb));
  d.probe_va = G::base;
  d.log.clear();
  ASSERT_TRUE(t.cut(G::base + G::page));
  const auto n = nows(d);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].f.va, G::base);
  EXPECT_EQ(n[0].f.last, G::base + G::block - 1);
  ASSERT_TRUE(n[0].probe.ok);
  EXPECT_EQ(n[0].probe.t.level, 1u);
  EXPECT_NE(n[0].probe.t.leaf & nt_bit, 0u);
  EXPECT_EQ(n[0].probe.t.oa, G::oa);
  const auto a = d.walk(G::base + G::page);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.t.level, 0u);
  EXPECT_EQ(a.t.oa, G::oa + G::page);
}

// D8.16.2 FEAT_BBM level 2: one step, no invalidate-now.
TYPED_TEST(Bbm, Level2CutIsOneStep) {
  using F = TypeParam;
  using G = geo<F>;
  device<F> d;
  auto t = make_table<F>(d, F::bbm_level2);
  attach(d, t);
  ASSERT_TRUE(t.map(G::base, G::oa, G::block, rw_wb));
  d.log.clear();
  ASSERT_TRUE(t.cut(G::base + G::page));
  EXPECT_TRUE(nows(d).empty());
}

// The simulated TLB can fail: with the one-step path (FEAT_BBM level 2
// forced) a device that cached the block and then walks a va of the new
// table holds two translations of one va; with break-before-make it never
// does.
TYPED_TEST(Bbm, SimTlbFlagsTheOneStepConflictAndNotBreakBeforeMake) {
  using F = TypeParam;
  using G = geo<F>;
  for (const unsigned features : {0u, unsigned{F::bbm_level1}, unsigned{F::bbm_level2}}) {
    device<F> d;
    auto t = make_table<F>(d, features);
  attach(d, t);
    ASSERT_TRUE(t.map(G::base, G::oa, G::block, rw_wb));
    ASSERT_TRUE(d.tlb.access(d.regs, d.root, G::base, d.mem, false));  // caches the block
    genpt::gather g;
    ASSERT_TRUE(t.cut(G::base + G::page, g));
    ASSERT_TRUE(d.tlb.access(d.regs, d.root, G::base + G::page, d.mem, true));
    t.sync(g);
    if (features == F::bbm_level2)
      EXPECT_GT(d.tlb.conflicts.load(), 0u);
    else
      EXPECT_EQ(d.tlb.conflicts.load(), 0u) << "features " << features;
  }
}

/// A device thread walks random vas of the region while the main thread
/// cuts and protects it; returns the conflicts seen.
struct device_run {
  std::uint64_t conflicts = 0, faults = 0, accesses = 0;
};

template <class F>
device_run run_device(unsigned features, bool stop_at_first_conflict) {
  using G = geo<F>;
  constexpr unsigned blocks = 4;
  device<F> d;
  auto t = make_table<F>(d, features);
  attach(d, t);
  std::atomic<bool> stop{false};
  // The device touches the region only while it is mapped: a DMA to an
  // iova that is being mapped or unmapped is outside every contract (and
  // a run being cleared item by item is misprogrammed, D8.7.1, until then).
  std::atomic<bool> pause{true}, paused{false};
  std::thread dev([&] {
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    while (!stop.load(std::memory_order_relaxed)) {
      // acquire / release: the handshake orders the device's walks against
      // the main thread's map and unmap.
      if (pause.load(std::memory_order_acquire)) {
        paused.store(true, std::memory_order_release);
        std::this_thread::yield();
        continue;
      }
      paused.store(false, std::memory_order_release);
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const va_t va = G::base + ((x >> 8) % (blocks * G::block) & ~(G::page - 1));
      d.tlb.access(d.regs, d.root, va, d.mem, (x & 3) == 0);
    }
  });
  const auto let_device_run = [&] {
    const std::uint64_t start = d.tlb.accesses.load();
    for (unsigned spin = 0; spin < 100000 && d.tlb.accesses.load() < start + 8; ++spin) std::this_thread::yield();
  };
  std::uint64_t x = 12345;
  const auto rnd = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  const prot prots[] = {rw_wb, prot::read | prot::write, prot::read | prot::cache};
  const auto hold_device = [&] {
    pause.store(true, std::memory_order_release);
    for (unsigned spin = 0; !paused.load(std::memory_order_acquire) && spin < 100000000; ++spin)
      std::this_thread::yield();
  };
  for (unsigned iter = 0; iter < 24; ++iter) {
    hold_device();
    EXPECT_TRUE(t.map(G::base, G::oa, blocks * G::block, rw_wb));
    pause.store(false, std::memory_order_release);
    let_device_run();
    genpt::gather g;  // kept open across the operations: TLBs may hold old sizes until it syncs
    for (unsigned k = 0; k < 6; ++k) {
      const va_t va = G::base + (rnd() % (blocks * G::block) & ~(G::page - 1));
      EXPECT_TRUE(t.cut(va, g));
      let_device_run();
      const va_t pva = G::base + (rnd() % (blocks * G::block) & ~(G::page - 1));
      const std::uint64_t len = (1 + rnd() % 8) * G::page;
      if (pva + len <= G::base + blocks * G::block) {
        EXPECT_TRUE(t.protect(pva, len, prots[rnd() % 3], g));
      }
      let_device_run();
    }
    t.sync(g);
    hold_device();
    EXPECT_EQ(t.unmap(G::base, blocks * G::block), blocks * G::block);
    if (stop_at_first_conflict && d.tlb.conflicts.load() != 0) break;
  }
  stop = true;
  dev.join();
  if (d.tlb.conflicts.load() != 0 && !stop_at_first_conflict) {
    const auto& c = d.tlb.first_conflict;
    ADD_FAILURE() << std::hex << "conflict: cached va " << c.cached.va << " size_lg2 " << std::dec
                  << c.cached.size_lg2 << " contig " << c.cached.contig << std::hex << " oa " << c.cached.oa
                  << " bits " << c.cached.bits << " / walked va " << c.walked.va << std::dec << " size_lg2 "
                  << c.walked.size_lg2 << " contig " << c.walked.contig << std::hex << " oa " << c.walked.oa
                  << " bits " << c.walked.bits;
  }
  return {d.tlb.conflicts.load(), d.tlb.faults.load(), d.tlb.accesses.load()};
}

// With break-before-make (and with FEAT_BBM level 1) no conflict ever
// appears; the device may fault during a break (counted, allowed).
TYPED_TEST(Bbm, DeviceThreadSeesNoConflictWithBreakBeforeMake) {
  const device_run bbm = run_device<TypeParam>(0, false);
  EXPECT_EQ(bbm.conflicts, 0u);
  EXPECT_GT(bbm.accesses, 1000u);  // the device did run alongside
  ::testing::Test::RecordProperty("translation_faults", static_cast<int>(bbm.faults));
  const device_run nt = run_device<TypeParam>(TypeParam::bbm_level1, false);
  EXPECT_EQ(nt.conflicts, 0u);
  EXPECT_GT(nt.accesses, 1000u);
}

// The same device against the one-step path (FEAT_BBM level 2 forced on a
// TLB that flags conflicts): the test does find one, so it can fail.
TYPED_TEST(Bbm, DeviceThreadFindsConflictWithOneStep) {
  EXPECT_GT(run_device<TypeParam>(TypeParam::bbm_level2, true).conflicts, 0u);
}

// The command builders' flush_now: the invalidation, then the queue's
// completion wait, words written out from the specs.
// SMMUv3 spec 4.7.2 CMD_SYNC: Op 0x46 in dw0[7:0], CS = 0 (SIG_NONE).
TEST(BbmCommands, Smmuv3FlushNowEndsWithCmdSync) {
  std::vector<genpt::smmuv3::command> got;
  auto submit = [&](const genpt::smmuv3::command& c) noexcept { got.push_back(c); };
  genpt::smmuv3::sink<genpt::armv8_4k_s1, decltype(submit)> s{{}, submit};
  s.params.asid = 5;
  s.flush_now(iotlb_flush{0x200000, 0x3fffff, 0b10, 0, false, false});
  ASSERT_EQ(got.size(), 2u);
  // CMD_TLBI_NH_VA 0x12, ASID 5 in dw0[63:48], one 2M entry: NUM = 0,
  // SCALE = 9 (512 granules), TTL = 2, TG = 1 (4K), Leaf = 1.
  EXPECT_EQ(got[0].dw[0], 0x12u | (std::uint64_t{5} << 48) | (std::uint64_t{9} << 20));
  EXPECT_EQ(got[0].dw[1], 0x200000u | (2u << 8) | (1u << 10) | 1u);
  EXPECT_EQ(got[1].dw[0], 0x46u);
  EXPECT_EQ(got[1].dw[1], 0u);
}

// AMD IOMMU spec, COMPLETION_WAIT (01h): S = dw0[0], StoreAddress[31:3] in
// dw0[31:3], [51:32] in dw1[19:0], Op in dw1[31:28], StoreData in dw2/dw3.
TEST(BbmCommands, AmdFlushNowEndsWithCompletionWait) {
  const auto c = genpt::amd_iommu::make_completion_wait(0x1234'5678'9ab8, 0x1122'3344'5566'7788);
  EXPECT_EQ(c.dw[0], 0x5678'9ab9u);
  EXPECT_EQ(c.dw[1], 0x1000'1234u);
  EXPECT_EQ(c.dw[2], 0x5566'7788u);
  EXPECT_EQ(c.dw[3], 0x1122'3344u);
  unsigned pages = 0, waits = 0;
  struct submit_t {
    unsigned* p;
    unsigned* w;
    void operator()(const genpt::amd_iommu::inv_pages_cmd&) noexcept { ++*p; }
    void operator()(const genpt::amd_iommu::completion_wait_cmd&) noexcept { ++*w; }
  };
  genpt::amd_iommu::sink<submit_t> s{{}, submit_t{&pages, &waits}};
  s.flush_now(iotlb_flush{0x1000, 0x1fff, 1, 0, false, false});
  EXPECT_EQ(pages, 1u);
  EXPECT_EQ(waits, 1u);
}

// VT-d spec, Invalidation Wait Descriptor: Type 5h in qw0[3:0], SW qw0[5],
// StatusData qw0[63:32], StatusAddress[63:2] in qw1.
TEST(BbmCommands, VtdFlushNowEndsWithInvalidationWait) {
  std::vector<genpt::vtd::descriptor> got;
  auto submit = [&](const genpt::vtd::descriptor& d) noexcept { got.push_back(d); };
  genpt::vtd::sink<decltype(submit)> s{{}, submit, 0xfee0'0000, 7};
  s.flush_now(iotlb_flush{0x1000, 0x1fff, 1, 0, false, false});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].qw0, 0x0000'0007'0000'0025u);
  EXPECT_EQ(got[1].qw1, 0xfee0'0000u);
}

}  // namespace
