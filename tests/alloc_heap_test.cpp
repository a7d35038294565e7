// heap_levels, the default allocator: page-sized tables from shared slabs,
// other sizes one by one; every table zeroed, aligned to its size, with
// metadata outside the table memory.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "genpt/alloc/heap_levels.hpp"

namespace {

using genpt::heap_levels;
using genpt::level_stats;
using genpt::table_alloc;
using genpt::table_list;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

bool all_zero(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i]) return false;
  return true;
}

void free_all(heap_levels& h, const std::vector<table_alloc>& ts, unsigned lg2) {
  table_list l;
  for (const table_alloc& t : ts) l.push_back(h.link_of(t.table, lg2));
  h.free(l);
}

TEST(heap_levels, EverySizeIsZeroedAlignedAndLinked) {
  level_stats stats;
  heap_levels h(&stats);
  for (unsigned lg2 = 5; lg2 <= 16; ++lg2) {
    const table_alloc t = h.allocate(lg2);
    ASSERT_NE(t.table, nullptr) << lg2;
    EXPECT_EQ(t.oa, addr(t.table));  // heap tables: oa is the host address
    EXPECT_EQ(addr(t.table) % (std::uintptr_t{1} << lg2), 0u) << lg2;
    EXPECT_TRUE(all_zero(t.table, std::size_t{1} << lg2)) << lg2;
    genpt::table_link& l = h.link_of(t.table, lg2);
    EXPECT_EQ(l.table, t.table);
    EXPECT_EQ(l.size_lg2, lg2);
    // The link lies outside the table's bytes.
    EXPECT_TRUE(addr(&l) + sizeof l <= addr(t.table) || addr(&l) >= addr(t.table) + (1u << lg2));
    free_all(h, {t}, lg2);
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
  EXPECT_EQ(stats.live_bytes.load(), 0);
}

TEST(heap_levels, PageTablesShareSlabs) {
  heap_levels h;
  std::vector<table_alloc> ts;
  for (int i = 0; i < 63; ++i) ts.push_back(h.allocate(12));
  // 63 page tables fit one 256 KiB slab (its first page holds metadata).
  const std::uintptr_t slab = addr(ts[0].table) & ~((std::uintptr_t{1} << 18) - 1);
  for (const table_alloc& t : ts) EXPECT_EQ(addr(t.table) & ~((std::uintptr_t{1} << 18) - 1), slab);
  EXPECT_NE(addr(ts[0].table), slab);  // page 0 is never a table
  free_all(h, ts, 12);
}

TEST(heap_levels, AFreedTableComesBackZeroed) {
  heap_levels h;
  const table_alloc t = h.allocate(12);
  std::memset(t.table, 0xA5, 4096);
  free_all(h, {t}, 12);
  const table_alloc u = h.allocate(12);
  EXPECT_EQ(u.table, t.table);  // reused
  EXPECT_TRUE(all_zero(u.table, 4096));
  free_all(h, {u}, 12);
}

TEST(heap_levels, ThreadsAllocateAndFreeConcurrently) {
  level_stats stats;
  heap_levels h(&stats);
  auto work = [&] {
    for (int round = 0; round < 50; ++round) {
      std::vector<table_alloc> ts;
      for (int i = 0; i < 100; ++i) {
        ts.push_back(h.allocate(12));
        ASSERT_NE(ts.back().table, nullptr);
        static_cast<std::uint64_t*>(ts.back().table)[i % 512] = 1;  // owned: no one else writes it
      }
      free_all(h, ts, 12);
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_EQ(stats.live_tables.load(), 0);
  EXPECT_EQ(stats.allocations.load(), 2 * 50 * 100);
}

}  // namespace
