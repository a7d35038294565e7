// Dirty tracking, cut and protect on x86_64 tables: what each operation
// promises (issue 7), checked through the public API and raw descriptors.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/genpt.hpp"
#include "support/table_helpers.hpp"

namespace {

using namespace genpt;

constexpr std::uint64_t k4K = 0x1000, k2M = 0x20'0000, k1G = 0x4000'0000;
constexpr prot kRW = prot::read | prot::write;

// SDM Vol. 3A Tables 4-18/4-20: D is bit 6, A is bit 5.
constexpr std::uint64_t kBitA = 0x20, kBitD = 0x40;

/// Collects dirty spans as the sink contract delivers them.
struct span_log {
  std::vector<std::pair<va_t, std::uint64_t>> spans;
  void record(va_t va, std::uint64_t len) { spans.emplace_back(va, len); }
};

class X86DirtyCutProtect : public ::testing::Test {
 protected:
  using table = page_table<x86_64, fault_injecting<heap_levels>, test::recording_flush>;

  void SetUp() override {
    auto r = table::create({}, fault_injecting<heap_levels>{heap_levels{&stats_}},
                           test::recording_flush{test::recording_sink{&flushes_}});
    ASSERT_TRUE(r);
    pt_.emplace(std::move(*r));
  }
  void TearDown() override {
    pt_.reset();
    EXPECT_EQ(stats_.live_tables.load(), 0);
  }
  table& pt() { return *pt_; }
  /// Raw descriptor of the leaf item translating va (0 if none).
  std::uint64_t raw_leaf(va_t va) {
    std::uint64_t word = 0;
    pt().for_each_item(va, 1, [&](const item_view& v) {
      if (v.kind == entry_kind::leaf) word = v.word;
    });
    return word;
  }
  std::vector<test::leaf_record<x86_64::attrs>> all_leaves() {
    return test::leaves_in(pt(), 0, 0x7FFF'FFFF'FFFF);
  }

  level_stats stats_;
  std::vector<iotlb_flush> flushes_;
  std::optional<table> pt_;
};

TEST_F(X86DirtyCutProtect, WritableMappingsStartDirtyAndAreReportedOnce) {
  ASSERT_TRUE(pt().map(0x10'0000, 0x80'0000, 3 * k4K, kRW));
  ASSERT_TRUE(pt().map(0x20'0000, 0x90'0000, k4K, prot::read));  // read-only: clean
  span_log log;
  gather g;
  ASSERT_TRUE(pt().read_and_clear_dirty(0, k1G, log, g));
  pt().sync(g);
  ASSERT_EQ(log.spans.size(), 3u);
  EXPECT_EQ(log.spans[0], std::make_pair(va_t{0x10'0000}, k4K));
  EXPECT_EQ(log.spans[2], std::make_pair(va_t{0x10'2000}, k4K));
  span_log again;
  gather g2;
  ASSERT_TRUE(pt().read_and_clear_dirty(0, k1G, again, g2));
  pt().sync(g2);
  EXPECT_TRUE(again.spans.empty());
  EXPECT_EQ(raw_leaf(0x10'0000) & kBitD, 0u);
}

TEST_F(X86DirtyCutProtect, NoClearReportsButKeepsTheDirtyBit) {
  ASSERT_TRUE(pt().map(0x10'0000, 0x80'0000, k4K, kRW));
  span_log log;
  gather g;
  ASSERT_TRUE(pt().read_and_clear_dirty(0, k1G, log, g, dirty_flags{.no_clear = true}));
  pt().sync(g);
  EXPECT_EQ(log.spans.size(), 1u);
  EXPECT_EQ(raw_leaf(0x10'0000) & kBitD, kBitD);
  EXPECT_TRUE(flushes_.empty());  // nothing cleaned, nothing to invalidate
}

TEST_F(X86DirtyCutProtect, CleanedEntriesAreGatheredLeafOnly) {
  ASSERT_TRUE(pt().map(0x40'0000, 0x80'0000, k2M, kRW));
  span_log log;
  gather g;
  ASSERT_TRUE(pt().read_and_clear_dirty(0, k1G, log, g));
  pt().sync(g);
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_EQ(flushes_[0].va, 0x40'0000u);
  EXPECT_EQ(flushes_[0].last, 0x5F'FFFFu);
  EXPECT_EQ(flushes_[0].leaf_levels, 1u << 1);  // a 2M leaf sits at level 1
  EXPECT_EQ(flushes_[0].table_levels, 0u);
  EXPECT_FALSE(flushes_[0].tables_freed);
}

TEST_F(X86DirtyCutProtect, DirtySpanIsClippedToTheRange) {
  ASSERT_TRUE(pt().map(0x40'0000, 0x80'0000, k2M, kRW));
  span_log log;
  gather g;
  ASSERT_TRUE(pt().read_and_clear_dirty(0x40'1000, 2 * k4K, log, g));
  pt().sync(g);
  ASSERT_EQ(log.spans.size(), 1u);
  EXPECT_EQ(log.spans[0], std::make_pair(va_t{0x40'1000}, 2 * k4K));
  // The whole entry was cleaned, so the whole entry is invalidated.
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_EQ(flushes_[0].va, 0x40'0000u);
  EXPECT_EQ(flushes_[0].last, 0x5F'FFFFu);
}

TEST_F(X86DirtyCutProtect, SetDirtySetsAccessedAndDirtyAsTheProcessorDoes) {
  x86_64::attrs clean{.write = true, .user = true};
  ASSERT_TRUE(pt().map(0x10'0000, 0x80'0000, k4K, clean));
  EXPECT_EQ(raw_leaf(0x10'0000) & (kBitA | kBitD), 0u);
  ASSERT_TRUE(pt().set_dirty(0x10'0123));
  EXPECT_EQ(raw_leaf(0x10'0000) & (kBitA | kBitD), kBitA | kBitD);
}

TEST_F(X86DirtyCutProtect, SetDirtyOnAHoleIsNotFound) {
  const result<void> r = pt().set_dirty(0x10'0000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::not_found);
}

TEST_F(X86DirtyCutProtect, HarvestRacingSetDirtyLosesNoWrite) {
  constexpr unsigned kPages = 512;
  x86_64::attrs clean{.write = true, .user = true};
  ASSERT_TRUE(pt().map(0x4000'0000, 0x8000'0000, kPages * k4K, clean));
  std::vector<std::atomic<bool>> seen(kPages);
  std::atomic<bool> writer_done{false};
  auto harvest = [&] {
    span_log log;
    gather g;
    ASSERT_TRUE(pt().read_and_clear_dirty(0x4000'0000, kPages * k4K, log, g));
    pt().sync(g);
    for (auto [va, len] : log.spans)
      for (va_t p = va; p < va + len; p += k4K) seen[(p - 0x4000'0000) / k4K].store(true);
  };
  std::thread writer([&] {
    for (unsigned round = 0; round < 64; ++round)
      for (unsigned i = 0; i < kPages; ++i) {
        result<void> r = pt().set_dirty(0x4000'0000 + i * k4K);
        while (!r && r.error() == errc::busy) r = pt().set_dirty(0x4000'0000 + i * k4K);
        ASSERT_TRUE(r);
      }
    writer_done.store(true);
  });
  while (!writer_done.load()) harvest();
  writer.join();
  harvest();  // every write happened before this harvest began
  for (unsigned i = 0; i < kPages; ++i) EXPECT_TRUE(seen[i].load()) << "page " << i;
}

TEST_F(X86DirtyCutProtect, CutAndUnmapHalfOfA1GPageKeepsEveryOtherTranslation) {
  ASSERT_TRUE(pt().map(k1G, 2 * k1G, k1G, kRW));
  ASSERT_TRUE(pt().cut(k1G + k1G / 2));
  for (va_t va = k1G; va < 2 * k1G; va += k4K)
    ASSERT_EQ(pt().iova_to_phys(va), std::optional<oa_t>{va + k1G}) << std::hex << va;
  EXPECT_EQ(pt().unmap(k1G + k1G / 2, k1G / 2), k1G / 2);
  for (va_t va = k1G; va < 2 * k1G; va += k4K) {
    const auto oa = pt().iova_to_phys(va);
    if (va < k1G + k1G / 2)
      ASSERT_EQ(oa, std::optional<oa_t>{va + k1G}) << std::hex << va;
    else
      ASSERT_FALSE(oa) << std::hex << va;
  }
}

TEST_F(X86DirtyCutProtect, CutAndUnmapHalfOfA2MPageKeepsEveryOtherTranslation) {
  ASSERT_TRUE(pt().map(k2M, 4 * k2M, k2M, kRW));
  ASSERT_TRUE(pt().cut(k2M + k2M / 2));
  EXPECT_EQ(pt().unmap(k2M, k2M / 2), k2M / 2);
  for (va_t va = k2M; va < 2 * k2M; va += k4K) {
    const auto oa = pt().iova_to_phys(va);
    if (va >= k2M + k2M / 2)
      ASSERT_EQ(oa, std::optional<oa_t>{va + 3 * k2M}) << std::hex << va;
    else
      ASSERT_FALSE(oa) << std::hex << va;
  }
}

TEST_F(X86DirtyCutProtect, CutKeepsAttributesAndSplitsIntoTheLargestSmallerPages) {
  x86_64::attrs a{.write = true, .user = true, .pcd = true, .global = true, .noexec = true};
  ASSERT_TRUE(pt().map(k1G, 2 * k1G, k1G, a));
  ASSERT_TRUE(pt().cut(k1G + 3 * k2M + 5 * k4K));
  const auto leaves = all_leaves();
  // 511 2M leaves and 512 4K leaves cover the old 1G page.
  ASSERT_EQ(leaves.size(), 511u + 512u);
  for (const auto& l : leaves) {
    EXPECT_EQ(l.attrs, a);
    EXPECT_EQ(l.oa, l.va + k1G);
  }
  EXPECT_EQ(leaves[3].size_lg2, 12u);
  EXPECT_EQ(leaves[3].va, k1G + 3 * k2M);
}

TEST_F(X86DirtyCutProtect, CutAtAnEntryBoundaryChangesNothing) {
  ASSERT_TRUE(pt().map(k1G, 2 * k1G, k1G, kRW));
  const auto before = stats_.live_tables.load();
  ASSERT_TRUE(pt().cut(k1G));
  EXPECT_EQ(stats_.live_tables.load(), before);
  EXPECT_EQ(all_leaves().size(), 1u);
}

TEST_F(X86DirtyCutProtect, CutOfAHoleIsNotFoundAndOfAPartialPageMisaligned) {
  EXPECT_EQ(pt().cut(k1G).error(), errc::not_found);
  ASSERT_TRUE(pt().map(k1G, 2 * k1G, k2M, kRW));
  EXPECT_EQ(pt().cut(k1G + 0x800).error(), errc::misaligned);
}

TEST_F(X86DirtyCutProtect, CutWithoutMemoryLeavesEveryTranslationAsItWas) {
  ASSERT_TRUE(pt().map(k1G, 2 * k1G, k1G, kRW));
  const auto before = all_leaves();
  pt().allocator().fail_after(1);
  const result<void> r = pt().cut(k1G + k4K);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_memory);
  EXPECT_EQ(all_leaves(), before);
}

TEST_F(X86DirtyCutProtect, CutGathersTheOldEntryBecauseTlbsMayHoldIt) {
  ASSERT_TRUE(pt().map(k1G, 2 * k1G, k1G, kRW));
  gather g;
  ASSERT_TRUE(pt().cut(k1G + k2M, g));
  pt().sync(g);
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_EQ(flushes_[0].va, k1G);
  EXPECT_EQ(flushes_[0].last, 2 * k1G - 1);
  EXPECT_EQ(flushes_[0].leaf_levels, 1u << 2);
}

TEST_F(X86DirtyCutProtect, ProtectRewritesAttributesAndKeepsOutputAddresses) {
  ASSERT_TRUE(pt().map(0, k1G, 2 * k2M, kRW));
  gather g;
  ASSERT_TRUE(pt().protect(0, 2 * k2M, prot::read, g));
  pt().sync(g);
  const auto leaves = all_leaves();
  ASSERT_EQ(leaves.size(), 2u);
  for (const auto& l : leaves) {
    EXPECT_FALSE(l.attrs.write);
    EXPECT_EQ(l.oa, l.va + k1G);
    EXPECT_EQ(l.size_lg2, 21u);
  }
  ASSERT_EQ(flushes_.size(), 1u);
  EXPECT_EQ(flushes_[0].va, 0u);
  EXPECT_EQ(flushes_[0].last, 2 * k2M - 1);
}

TEST_F(X86DirtyCutProtect, ProtectCutsEntriesStraddlingEitherEdge) {
  ASSERT_TRUE(pt().map(k2M, 4 * k2M, k2M, kRW));
  gather g;
  ASSERT_TRUE(pt().protect(k2M + k4K, 2 * k4K, prot::read, g));
  pt().sync(g);
  for (va_t va = k2M; va < 2 * k2M; va += k4K) {
    bool write = true;
    pt().for_each_leaf(va, 1, [&](const auto& l) { write = l.attrs.write; });
    EXPECT_EQ(write, va < k2M + k4K || va >= k2M + 3 * k4K) << std::hex << va;
    EXPECT_EQ(pt().iova_to_phys(va), std::optional<oa_t>{va + 3 * k2M});
  }
}

TEST_F(X86DirtyCutProtect, ProtectWithNoCutRejectsStraddlingEdgesAndChangesNothing) {
  ASSERT_TRUE(pt().map(k2M, 4 * k2M, k2M, kRW));
  const auto before = all_leaves();
  gather g;
  const result<void> r = pt().protect(k2M + k4K, k4K, prot::read, g, protect_flags{.no_cut = true});
  pt().sync(g);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::misaligned);
  EXPECT_EQ(all_leaves(), before);
}

TEST_F(X86DirtyCutProtect, ProtectSkipsHoles) {
  ASSERT_TRUE(pt().map(0, k1G, k4K, kRW));
  ASSERT_TRUE(pt().map(4 * k4K, k1G + 4 * k4K, k4K, kRW));
  gather g;
  ASSERT_TRUE(pt().protect(0, 8 * k4K, prot::read, g));
  pt().sync(g);
  const auto leaves = all_leaves();
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_FALSE(leaves[0].attrs.write);
  EXPECT_FALSE(leaves[1].attrs.write);
}

TEST_F(X86DirtyCutProtect, ProtectRejectsBadArguments) {
  gather g;
  EXPECT_EQ(pt().protect(0, 0, prot::read, g).error(), errc::invalid_argument);
  EXPECT_EQ(pt().protect(0, k4K, prot::none, g).error(), errc::invalid_argument);
  EXPECT_EQ(pt().protect(~va_t{0} - k4K + 1, 2 * k4K, prot::read, g).error(), errc::overflow);
  EXPECT_EQ(pt().protect(0x8000'0000'0000, k4K, prot::read, g).error(), errc::out_of_range);
  EXPECT_EQ(pt().protect(0x800, k4K, prot::read, g).error(), errc::misaligned);
  pt().sync(g);
}

}  // namespace
