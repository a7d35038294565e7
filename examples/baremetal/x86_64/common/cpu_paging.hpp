// cpu_paging.hpp - the CPU's own tables as genpt sees them: the TLB as a
// flush sink and the page_table type the bare-metal kernels load into CR3.
#pragma once

#include "common/bm.hpp"
#include "genpt/alloc/arena_levels.hpp"
#include "genpt/flush/flush_range.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace bm {

/// The last request the sink got, and how many it got.
inline genpt::iotlb_flush g_last_flush{};
inline unsigned g_flushes = 0;

/// Invalidates what a gather asks for with INVLPG, one per page of the
/// smallest leaf size that changed (INVLPG drops the TLB entry of the page
/// holding the address, whatever its size, and every paging-structure-cache
/// entry: SDM Vol. 3A §4.10.4.1); a long range reloads CR3 instead (no
/// global pages are used, so that flushes everything, §4.10.4.1).
struct cpu_tlb_sink {
  void flush(const genpt::iotlb_flush& f) noexcept {
    g_last_flush = f;
    ++g_flushes;
    const unsigned lvl = f.leaf_levels ? static_cast<unsigned>(__builtin_ctz(f.leaf_levels)) : 0;
    const unsigned step_lg2 = 12 + 9 * lvl;
    const u64 first = f.va & ~((u64{1} << step_lg2) - 1);
    const u64 n = ((f.last - first) >> step_lg2) + 1;
    if (f.all || n > 64) {
      write_cr3(read_cr3());
      return;
    }
    for (u64 i = 0; i < n; ++i) invlpg(first + (i << step_lg2));
  }
};

using cpu_table =
    genpt::page_table<genpt::x86_64, genpt::arena_levels, genpt::flush_range<cpu_tlb_sink>>;

inline u64 pa(const volatile void* p) { return reinterpret_cast<u64>(p); }  // identity: pa == va

}  // namespace bm
