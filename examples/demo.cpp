// examples/demo.cpp - a guest's x86-64 4-level table, built, dumped, queried
// and torn down with genpt.
//
// The layout is a classic PC guest with 5 GiB of RAM:
//   va 0 .. 3 GiB          RAM, at oa 0x1_0000_0000 (1G pages)
//   va 3 GiB .. 4 GiB      the PCI hole: an MMIO window, uncached (PCD|PWT)
//   va 4 GiB .. 5 GiB      the rest of the RAM, continuing after the first 3 GiB
//   a small region whose start is not 2M-aligned: 4K pages, one 2M page, 4K pages
//   a kernel-style direct map at 0xffff_8000_0000_0000 (global 2M pages)
#include <cstdint>
#include <cstdlib>

#include <fmt/core.h>

#include "genpt/fmt.hpp"
#include "genpt/genpt.hpp"

namespace {

using genpt::x86_64;
using table = genpt::page_table<x86_64>;

constexpr std::uint64_t gib = std::uint64_t{1} << 30;
constexpr std::uint64_t mib = std::uint64_t{1} << 20;
constexpr genpt::va_t kernel_base = 0xffff'8000'0000'0000;

/// Prints what failed and exits: the demo has no other error path.
void check(const genpt::result<void>& r, const char* what) {
  if (r) return;
  fmt::print("{}: {}\n", what, r.error());
  std::exit(1);
}

/// Builds, shows and empties the table; it is destroyed on return.
void run(genpt::level_stats& stats) {
  auto created = table::create(x86_64::config{}, genpt::heap_levels(&stats));
  if (!created) {
    fmt::print("create: {}\n", created.error());
    std::exit(1);
  }
  table& pt = *created;

  const genpt::table_info info = pt.info();
  const x86_64::hw_info hw = pt.hw_info();
  fmt::print("x86_64 table: page sizes {}, va {} bits, oa {} bits, top level {}\n",
             genpt::pgsizes{info.pgsize_bitmap}, info.va_lg2, info.oa_lg2, info.top_level);
  fmt::print("hw_info: {}-level paging, root (CR3) at oa {:#x}; {} table live\n\n", hw.levels,
             hw.root, stats.live_tables.load());

  // Guest RAM and the PCI hole.
  const auto ram = genpt::prot::read | genpt::prot::write | genpt::prot::cache;
  check(pt.map(0, 0x1'0000'0000, 3 * gib, ram), "map low RAM");
  x86_64::attrs mmio;
  mmio.write = mmio.user = mmio.pcd = mmio.pwt = mmio.noexec = true;
  mmio.accessed = mmio.dirty = true;
  check(pt.map(3 * gib, 0xf'c000'0000, gib, mmio), "map MMIO window");
  check(pt.map(4 * gib, 0x1'c000'0000, gib, ram), "map high RAM");

  // A region whose start is 12 KiB below a 2M boundary: 4K, 2M, 4K pages.
  const genpt::va_t odd_va = 5 * gib + 2 * mib - 0x3000;
  check(pt.map(odd_va, 0x2'8000'0000 + 2 * mib - 0x3000, 2 * mib + 0x6000, ram),
        "map 4K region");

  // Kernel direct map: text read-only and executable, data no-exec; global.
  x86_64::attrs ktext;
  ktext.global = ktext.accessed = true;
  x86_64::attrs kdata = ktext;
  kdata.write = kdata.dirty = kdata.noexec = true;
  check(pt.map(kernel_base, 0x100'0000, 8 * mib, ktext), "map kernel text");
  check(pt.map(kernel_base + 8 * mib, 0x180'0000, 24 * mib, kdata), "map kernel data");

  fmt::print("{} tables live after mapping; the table:\n", stats.live_tables.load());
  fmt::print("{}\n", genpt::dump(pt));

  fmt::print("translations:\n");
  const genpt::va_t probes[] = {0x1234, 0xfee0'0020, odd_va + 0x2345, 5 * gib + 3 * mib,
                                kernel_base + 9 * mib + 7, 6 * gib};
  for (const genpt::va_t va : probes) {
    if (const auto oa = pt.iova_to_phys(va))
      fmt::print("  va {:#018x} -> oa {:#x}\n", va, *oa);
    else
      fmt::print("  va {:#018x} -> not mapped\n", va);
  }

  const genpt::result<void> again = pt.map(gib, 0x9000'0000, 4096, ram);
  fmt::print("\nmap(va {:#x}, 4K) over the RAM mapping: {}\n", gib,
             again ? "ok?!" : fmt::format("{}", again.error()));

  std::uint64_t bytes = 0;
  bytes += pt.unmap(0, 5 * gib);
  bytes += pt.unmap(odd_va, 2 * mib + 0x6000);
  bytes += pt.unmap(kernel_base, 32 * mib);
  fmt::print("unmapped {:#x} bytes; {} tables live: a table is freed only when an unmap\n"
             "covers its whole span, so the emptied ones stay until the table dies:\n{}",
             bytes, stats.live_tables.load(), genpt::dump(pt));
}

}  // namespace

int main() {
  genpt::level_stats stats;
  run(stats);
  fmt::print("table destroyed: {} tables live, {} allocated and {} freed in all\n",
             stats.live_tables.load(), stats.allocations.load(), stats.frees.load());
  return stats.live_tables.load() == 0 ? 0 : 1;
}
