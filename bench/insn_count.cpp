// bench/insn_count.cpp - instructions per operation, counted by callgrind.
//
// Times on a shared 2-core VM are noisy; instruction counts are not: the
// same binary, inputs and environment give the same count whatever else the
// machine is doing. bench/insn_count.sh runs this program under
// `valgrind --tool=callgrind` and prints one table. Each row runs its
// operation `reps` times between CALLGRIND_ZERO_STATS and
// CALLGRIND_DUMP_STATS_AT("<row> <divisor>"), so the dump holds that phase's
// instructions only; the script divides by the divisor (operations, or PTEs
// for the per-PTE rows). Outside valgrind the client requests do nothing
// and the program just runs (it is built, and smoke-run, like the
// benchmarks).
//
// The rows mirror page_table_bench's (bench/README.md): warm tables (every
// level the timed phase needs already exists), pages read/write, oa aligned
// to the page size, or one page off for the `_exact` rows so that only
// entries of exactly 4K fit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <valgrind/callgrind.h>

#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/genpt.hpp"

namespace {

constexpr std::uint64_t page = 4096;
constexpr unsigned reps = 64;  ///< operations per measured phase

/// Starts a measured phase.
void begin() { CALLGRIND_ZERO_STATS; }

/// Ends the phase: its dump is named "<row> <divisor>".
void end(const std::string& row, std::uint64_t divisor) {
  const std::string name = row + " " + std::to_string(divisor);
  CALLGRIND_DUMP_STATS_AT(name.c_str());
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "insn_count: %s\n", what.c_str());
  std::exit(1);
}

/// The floor rows: n PTE-like stores into a warm buffer.
__attribute__((noinline)) void store_ptes(std::uint64_t* buf, std::uint64_t n, std::uint64_t oa) {
  for (std::uint64_t i = 0; i < n; ++i) buf[i] = (oa + (i << 12)) | 0x67;
}

void floors() {
  static std::uint64_t buf[262144];
  store_ptes(buf, 262144, 0x1000);  // warm
  begin();
  for (unsigned r = 0; r < reps; ++r) store_ptes(buf, 256, 0x1000 + r * page);
  end("floor/store/256", std::uint64_t{reps} * 256);
  begin();
  store_ptes(buf, 262144, 0x2000);
  end("floor/store/262144", 262144);
}

/// Each operation runs out of line: a row counts whole calls, whatever the
/// compiler would hoist out of a loop of inlined copies.
template <class T>
[[gnu::noinline]] bool op_map(T& pt, genpt::va_t va, genpt::oa_t oa, std::uint64_t len, genpt::prot p) {
  return pt.map(va, oa, len, p).has_value();
}
template <class T>
[[gnu::noinline]] std::uint64_t op_unmap(T& pt, genpt::va_t va, std::uint64_t len, genpt::gather& g) {
  return pt.unmap(va, len, g);
}
template <class T>
[[gnu::noinline]] std::uint64_t op_unmap(T& pt, genpt::va_t va, std::uint64_t len) {
  return pt.unmap(va, len);
}
template <class T>
[[gnu::noinline]] std::uint64_t op_lookup(const T& pt, genpt::va_t va) {
  return pt.iova_to_phys(va).value_or(0);
}

template <class Format>
void rows(const char* name, const typename Format::config& cfg) {
  using table = genpt::page_table<Format>;
  auto made = table::create(cfg);
  if (!made) die(std::string(name) + ": create failed");
  table& pt = *made;
  const genpt::prot rw = genpt::prot::read | genpt::prot::write;
  const std::string n = name;
  // reps distinct 2M-apart windows (their tables made once, below).
  const genpt::va_t base = genpt::va_t{1} << 32;
  const auto va_of = [&](unsigned r) { return base + genpt::va_t{r} * (std::uint64_t{2} << 20); };
  const genpt::oa_t oa0 = genpt::oa_t{1} << 33;
  for (unsigned r = 0; r < reps; ++r)
    if (!op_map(pt, va_of(r), oa0 + page, 256 * page, rw) || op_unmap(pt, va_of(r), 256 * page) != 256 * page)
      die(n + ": warm-up failed");

  // map / unmap 1x4K
  begin();
  for (unsigned r = 0; r < reps; ++r)
    if (!op_map(pt, va_of(r), oa0 + r * page, page, rw)) die(n + ": map 1x4K");
  end(n + "/map/1x4K", reps);
  {
    genpt::gather g;
    begin();
    for (unsigned r = 0; r < reps; ++r)
      if (op_unmap(pt, va_of(r), page, g) != page) die(n + ": unmap 1x4K");
    pt.sync(g);
    end(n + "/unmap/1x4K", reps);
  }
  // map / unmap of 256 pages at oa0 + oa_off, as rows "<n>/{map,unmap}/256x4K<tail>"
  const auto rows_256 = [&](genpt::oa_t oa_off, const std::string& tail) {
    begin();
    for (unsigned r = 0; r < reps; ++r)
      if (!op_map(pt, va_of(r), oa0 + oa_off, 256 * page, rw)) die(n + ": map 256x4K" + tail);
    end(n + "/map/256x4K" + tail, reps);
    genpt::gather g;
    begin();
    for (unsigned r = 0; r < reps; ++r)
      if (op_unmap(pt, va_of(r), 256 * page, g) != 256 * page) die(n + ": unmap 256x4K" + tail);
    pt.sync(g);
    end(n + "/unmap/256x4K" + tail, reps);
  };
  // exact 4K entries (oa one page off any larger size)
  rows_256(page, "_exact");
  // sixteen 64K entries (va ^ oa = 64K), where the format has a 64K size:
  // ARMv8 contiguous, RISC-V Svnapot, AMDv1 NextLevel=7 runs, written by
  // one loop (core/map.hpp, leaf_span)
  if (pt.info().pgsize_bitmap & (std::uint64_t{1} << 16)) rows_256(16 * page, "_as_64K");
  // iova_to_phys of one mapped address
  if (!op_map(pt, va_of(0), oa0, page, rw)) die(n + ": map for lookup");
  std::uint64_t sum = 0;
  begin();
  for (unsigned r = 0; r < reps; ++r) sum += op_lookup(pt, va_of(0) + 8 * r);
  end(n + "/iova_to_phys/hot", reps);
  if (sum == 0) die(n + ": lookups found nothing");
  op_unmap(pt, va_of(0), page);

  // 1 GiB of 4K pages into a fresh table, one call (per PTE)
  auto fresh = table::create(cfg);
  if (!fresh) die(n + ": create (fresh) failed");
  const genpt::va_t gva = genpt::va_t{1} << 36;
  begin();
  if (!op_map(*fresh, gva, oa0 + page, std::uint64_t{1} << 30, rw)) die(n + ": map 1 GiB");
  end(n + "/map_1G_of_4K_fresh/one_call", std::uint64_t{1} << 18);
}

}  // namespace

int main() {
  floors();
  rows<genpt::x86_64>("x86_64", genpt::x86_64::config{});
  rows<genpt::amdv1>("amdv1", genpt::amdv1::config{.starting_level = 3});
  rows<genpt::armv8_4k_s1>("armv8_4k_s1", genpt::armv8_4k_s1::config{});
  rows<genpt::vtd_ss>("vtd_ss", genpt::vtd_ss::config{});
  rows<genpt::ept>("ept", genpt::ept::config{.features = genpt::ept::ad});
  rows<genpt::riscv>("riscv_sv39",
                     genpt::riscv::config{.levels = 3, .features = genpt::riscv::sign_extend | genpt::riscv::svnapot});
  std::puts("insn_count: every row ran (counts only under callgrind: bench/insn_count.sh)");
  return 0;
}
