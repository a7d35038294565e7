// alloc_arena_test.cpp - arena_levels: tables in caller-given memory at a
// chosen output address, deterministic placement, sub-page tables, metadata
// outside the tables and found in O(1), freeing without allocating.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "support/table_helpers.hpp"

// Counts every global operator new of this binary, to show that freeing
// never allocates. Sanitizer runtimes own operator new: no count there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GENPT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GENPT_SANITIZED 1
#endif
#endif
#ifndef GENPT_SANITIZED
namespace {
std::atomic<long> g_allocations{0};
}  // namespace
// Not inlined: at -O2 GCC 12 would inline delete's std::free into callers
// whose pointer came from operator new and report -Wmismatched-new-delete.
[[gnu::noinline]] void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

using genpt::arena_levels;
using genpt::level_stats;
using genpt::oa_t;
using genpt::x86_64;

/// Host memory for one arena (64 KiB aligned unless asked), freed with the test.
struct block {
  // aligned_alloc wants a size that is a multiple of the alignment.
  explicit block(std::size_t n, std::size_t align = std::size_t{1} << 16)
      : size(n),
        p(static_cast<std::byte*>(std::aligned_alloc(align, (n + align - 1) & ~(align - 1)))) {}
  ~block() { std::free(p); }
  block(const block&) = delete;
  block& operator=(const block&) = delete;
  std::size_t size;
  std::byte* p;
};

constexpr oa_t base_oa = 0x8000'0000;
using table = genpt::page_table<x86_64, arena_levels>;

table make_table(block& b, level_stats& stats) {
  auto r = table::create(x86_64::config{}, arena_levels(b.p, b.size, base_oa, &stats));
  EXPECT_TRUE(r.has_value());
  return std::move(*r);
}

TEST(arena_levels, TableOutputAddressIsBasePlusOffset) {
  block b(1 << 20);
  level_stats stats;
  arena_levels a(b.p, b.size, base_oa, &stats);
  const genpt::table_alloc t = a.allocate(12);
  ASSERT_NE(t.table, nullptr);
  EXPECT_EQ(t.oa, base_oa + static_cast<oa_t>(static_cast<std::byte*>(t.table) - b.p));
  EXPECT_EQ(a.phys_to_virt(t.oa), t.table);
  genpt::table_list l;
  l.push_back(a.link_of(t.table, 12));
  a.free(l);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, PageTableRootLiesInTheArena) {
  block b(1 << 20);
  level_stats stats;
  {
    table pt = make_table(b, stats);
    const oa_t root = pt.hw_info().root;
    EXPECT_GE(root, base_oa);
    EXPECT_LT(root, base_oa + b.size);
    ASSERT_TRUE(pt.map(0x40'0000, 0x1234'5000, 0x3000, genpt::prot::read).has_value());
    EXPECT_EQ(pt.iova_to_phys(0x40'1234), std::optional<oa_t>{0x1234'6234});
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, SameOperationsGiveByteIdenticalImages) {
  auto run = [](block& b, level_stats& stats) {
    table pt = make_table(b, stats);
    EXPECT_TRUE(
        pt.map(0x1000, 0x20'0000, 0x10'0000, genpt::prot::read | genpt::prot::write).has_value());
    EXPECT_TRUE(pt.map(0x7f00'0000'0000, 0x4000'0000, 0x40'0000, genpt::prot::read).has_value());
    EXPECT_EQ(pt.unmap(0x1000, 0x8000), 0x8000u);
    const genpt::arena_image img = pt.allocator().image(pt.hw_info().root);
    std::vector<std::byte> bytes(img.bytes, img.bytes + img.size);
    return std::pair{bytes, img.root - img.base_oa};
  };
  block b1(1 << 20), b2(1 << 20);
  std::memset(b2.p, 0xA5, b2.size);  // different garbage before construction
  level_stats s1, s2;
  const auto [i1, r1] = run(b1, s1);
  const auto [i2, r2] = run(b2, s2);
  EXPECT_FALSE(i1.empty());
  EXPECT_EQ(i1, i2);
  EXPECT_EQ(r1, r2);
  EXPECT_EQ(genpt::test::live(s1), 0);
  EXPECT_EQ(genpt::test::live(s2), 0);
}

TEST(arena_levels, EveryTableIsAlignedToItsSizeInBothAddressSpaces) {
  block b(std::size_t{16} << 20, std::size_t{1} << 20);  // up to 1 MiB tables
  level_stats stats;
  arena_levels a(b.p, b.size, base_oa, &stats);
  genpt::table_list l;
  for (unsigned lg2 = arena_levels::min_table_lg2; lg2 <= arena_levels::max_table_lg2; ++lg2) {
    for (int k = 0; k < 3; ++k) {
      const genpt::table_alloc t = a.allocate(lg2);
      ASSERT_NE(t.table, nullptr) << lg2;
      const std::uint64_t mask = (std::uint64_t{1} << lg2) - 1;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.table) & mask, 0u) << lg2;
      EXPECT_EQ(t.oa & mask, 0u) << lg2;
      l.push_back(a.link_of(t.table, lg2));
    }
  }
  a.free(l);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, SubPageTablesShareOnePage) {
  block b(1 << 20);
  level_stats stats;
  arena_levels a(b.p, b.size, base_oa, &stats);
  genpt::table_list l;
  oa_t first_page = 0;
  for (unsigned k = 0; k < 128; ++k) {  // 128 tables of 32 bytes: one 4 KiB page
    const genpt::table_alloc t = a.allocate(5);
    ASSERT_NE(t.table, nullptr);
    if (k == 0) first_page = t.oa;
    EXPECT_EQ(t.oa, first_page + k * 32);
    l.push_back(a.link_of(t.table, 5));
  }
  const genpt::table_alloc next = a.allocate(5);
  EXPECT_EQ(next.oa, first_page + 4096);  // the 129th opens the next page
  l.push_back(a.link_of(next.table, 5));
  EXPECT_EQ(stats.live_bytes.load(), 129 * 32);
  a.free(l);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, LinkOfFindsEachTablesOwnMetadata) {
  block b(1 << 20);
  level_stats stats;
  arena_levels a(b.p, b.size, base_oa, &stats);
  std::vector<genpt::table_alloc> tables;
  const unsigned sizes[] = {5, 7, 12, 13, 9, 5, 12};
  for (unsigned lg2 : sizes) tables.push_back(a.allocate(lg2));
  genpt::table_list l;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    genpt::table_link& link = a.link_of(tables[i].table, sizes[i]);
    EXPECT_EQ(link.table, tables[i].table);
    EXPECT_EQ(link.size_lg2, sizes[i]);
    l.push_back(link);
  }
  EXPECT_EQ(l.size(), tables.size());  // distinct links: all threaded
  a.free(l);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

// Counting operator new needs our replacement of it, which the sanitizer
// runtimes own: this test is built in the plain presets (dev, release) only.
#ifndef GENPT_SANITIZED
TEST(arena_levels, FreeingTablesNeverAllocates) {
  block b(1 << 22);
  level_stats stats;
  std::optional<table> pt(make_table(b, stats));
  ASSERT_TRUE(pt->map(0, 0x1000, 0x100'0000, genpt::prot::read).has_value());  // 8 level-0 tables
  ASSERT_TRUE(pt->map(0x3f00'0000'0000, 0, 0x1000, genpt::prot::read).has_value());
  const std::int64_t tables = genpt::test::live(stats);
  const long before = g_allocations.load();
  EXPECT_EQ(pt->unmap(0, 0x100'0000), 0x100'0000u);  // unlinks and frees the 8
  EXPECT_EQ(genpt::test::live(stats), tables - 8);
  pt.reset();  // frees the whole tree
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

// issue 10, defect 6: the arena took its bookkeeping from operator new, so
// a -nostdlib kernel could not link it. Now all of it lives in the block.
TEST(Exactness, ArenaKeepsItsBookkeepingInTheCallersBlock) {
  block b(std::size_t{4} << 20, std::size_t{1} << 20);
  level_stats stats;
  const long before = g_allocations.load();
  {
    arena_levels a(b.p, b.size, base_oa, &stats);
    genpt::table_list l;
    for (unsigned lg2 : {5u, 6u, 11u, 12u, 16u, 20u}) {
      const genpt::table_alloc t = a.allocate(lg2);
      ASSERT_NE(t.table, nullptr) << lg2;
      l.push_back(a.link_of(t.table, lg2));
    }
    // Tables fill the block from offset 0; the bookkeeping (fixed part and
    // slot arrays) is at the high end, outside the exported image.
    EXPECT_EQ(l.front()->table, b.p);
    EXPECT_GT(a.fixed_meta_bytes(), 0u);
    EXPECT_EQ(a.capacity() + a.fixed_meta_bytes(), b.size);
    EXPECT_EQ(a.slot_meta_bytes(), 3u << 12);  // one slot-array page per class used
    EXPECT_LE(a.image(0).size + a.slot_meta_bytes(), a.capacity());
    a.free(l);
  }
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_EQ(genpt::test::live(stats), 0);
}
#endif

TEST(Exactness, ArenaTooSmallForItsBookkeepingFailsEveryAllocation) {
  // issue 10, defect 6: one page cannot hold a table and the bookkeeping.
  block b(1 << 12);
  arena_levels tiny(b.p, b.size, base_oa);
  EXPECT_EQ(tiny.capacity(), 0u);
  EXPECT_EQ(tiny.allocate(12).table, nullptr);
  EXPECT_EQ(tiny.allocate(5).table, nullptr);
  // Three pages: a table page at offset 0, a slot-array page above it, and
  // the fixed bookkeeping page.
  block c(3 << 12);
  arena_levels a(c.p, c.size, base_oa);
  EXPECT_EQ(a.capacity(), 2u << 12);
  const genpt::table_alloc t = a.allocate(5);
  ASSERT_NE(t.table, nullptr);
  EXPECT_EQ(t.oa, base_oa);
  EXPECT_EQ(a.allocate(12).table, nullptr);  // both pages are in use
  genpt::table_list l;
  l.push_back(a.link_of(t.table, 5));
  a.free(l);
}

// Sub-page tables pay for their page's metadata array up front, so the
// bound is per table of full pages (one open page per size class is extra).
TEST(arena_levels, MetadataCostsAtMost64BytesPerTableOfFullPages) {
  block b(1 << 22);
  level_stats stats;
  arena_levels a(b.p, b.size, base_oa, &stats);
  for (unsigned lg2 : {5u, 8u, 11u, 12u, 16u}) {
    genpt::table_list l;
    const unsigned n = lg2 < 12 ? 2u << (12 - lg2) : 20u;  // two full pages of sub-page tables
    for (unsigned k = 0; k < n; ++k) l.push_back(a.link_of(a.allocate(lg2).table, lg2));
    EXPECT_LE(stats.meta_bytes.load(), 64 * stats.live_tables.load()) << "size 2^" << lg2;
    a.free(l);
    EXPECT_EQ(stats.meta_bytes.load(), 0) << "size 2^" << lg2;
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, FreedTablesAreZeroAndReused) {
  block b(1 << 20);
  level_stats stats;
  arena_levels a(b.p, b.size, base_oa, &stats);
  genpt::table_alloc t = a.allocate(12);
  std::memset(t.table, 0x5A, 4096);
  genpt::table_list l;
  l.push_back(a.link_of(t.table, 12));
  a.free(l);
  const genpt::table_alloc u = a.allocate(12);
  EXPECT_EQ(u.table, t.table);  // lowest free page first
  const auto* bytes = static_cast<const unsigned char*>(u.table);
  EXPECT_TRUE(std::all_of(bytes, bytes + 4096, [](unsigned char c) { return c == 0; }));
  l.push_back(a.link_of(u.table, 12));
  a.free(l);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, ExhaustedArenaFailsAllocation) {
  block b(17 << 12);  // 16 pages for tables, 1 for the arena's bookkeeping
  level_stats stats;
  arena_levels a(b.p, b.size, base_oa, &stats);
  EXPECT_EQ(a.capacity(), 16u << 12);
  EXPECT_EQ(a.fixed_meta_bytes(), 1u << 12);
  genpt::table_list l;
  for (int k = 0; k < 16; ++k) {
    const genpt::table_alloc t = a.allocate(12);
    ASSERT_NE(t.table, nullptr);
    l.push_back(a.link_of(t.table, 12));
  }
  EXPECT_EQ(a.allocate(12).table, nullptr);
  EXPECT_EQ(a.allocate(5).table, nullptr);
  a.free(l);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, SizeAboveTheBlockAlignmentFails) {
  block b(1 << 20);
  level_stats stats;
  arena_levels a(b.p + 4096, b.size - 4096, base_oa + 4096, &stats);  // only 4 KiB aligned
  EXPECT_EQ(a.allocate(13).table, nullptr);
  const genpt::table_alloc t = a.allocate(12);
  EXPECT_NE(t.table, nullptr);
  genpt::table_list l;
  l.push_back(a.link_of(t.table, 12));
  a.free(l);
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, FailedMapOnAFullArenaChangesNothing) {
  block b(5 << 12);  // 4 pages, the top plus three tables, and 1 of bookkeeping
  level_stats stats;
  {
    table pt = make_table(b, stats);
    ASSERT_TRUE(pt.map(0, 0x1000, 0x1000, genpt::prot::read).has_value());  // uses all 4 pages
    const auto r = pt.map(0x8000'0000, 0x1000, 0x1000, genpt::prot::read);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), genpt::errc::no_memory);
    EXPECT_EQ(pt.iova_to_phys(0x8000'0000), std::nullopt);
    EXPECT_EQ(pt.iova_to_phys(0), std::optional<oa_t>{0x1000});
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

TEST(arena_levels, EveryAllocationOfAMapCanFailCleanly) {
  block b(1 << 22);
  level_stats stats;
  using ftable = genpt::page_table<x86_64, genpt::fault_injecting<arena_levels>>;
  for (std::uint64_t n = 1; n <= 4; ++n) {
    auto r = ftable::create(x86_64::config{}, genpt::fault_injecting<arena_levels>(
                                                  arena_levels(b.p, b.size, base_oa, &stats)));
    ASSERT_TRUE(r.has_value());
    ftable& pt = *r;
    pt.allocator().fail_after(n);
    const auto m = pt.map(0x7f12'3456'7000, 0x1000, 0x2000, genpt::prot::read);
    if (pt.allocator().failures() == 0) {
      EXPECT_TRUE(m.has_value());
      break;
    }
    EXPECT_EQ(m.error(), genpt::errc::no_memory) << "allocation " << n;
    EXPECT_EQ(pt.iova_to_phys(0x7f12'3456'7000), std::nullopt) << "allocation " << n;
    EXPECT_TRUE(pt.map(0x7f12'3456'7000, 0x1000, 0x2000, genpt::prot::read).has_value());
  }
  EXPECT_EQ(genpt::test::live(stats), 0);
}

}  // namespace
