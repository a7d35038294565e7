// bench/alloc_bench.cpp - what the level allocator policies cost.
//
// Rows: map of 1 and 256 pages of 4 KiB (x86_64, existing path, so the
// allocator's per-table work is not on the path but its hooks are), for
//   heap          heap_levels (the default; the coherent baseline)
//   arena         arena_levels
//   deferred      deferred_free<heap_levels> (epoch domain)
//   incoherent_sim   incoherent<arena_levels, simulated device: lines copied to a shadow>
//   incoherent_clflushopt / incoherent_clwb   incoherent<heap_levels, cache_ops_x86> (skipped
//                 with a message when the CPU lacks the instruction)
// plus iova_to_phys for heap and deferred (the read-side section's cost).
// Map rows time a batch of 64 maps + 64 unmaps; the ns_per_map counter is
// the map alone (what the target is about). Each map row reports meta_B_per_table: the allocator's metadata bytes
// per live table (level_stats::meta_bytes / live_tables).
//   floor/store_clean_<insn>/<pages>   the floor of the incoherent rows: store
//                 the PTEs of one range into its table and write each line
//                 back once (ns_per_range, the median batch)
//   floor/check_store_clean_<insn>/<pages>   the same, testing each item
//                 (a load and a branch) before its store, as map tests that
//                 the items it fills are empty
// The incoherent_<insn> rows time one batch of each floor after each batch
// of maps and report the medians of the per-iteration ratios:
// ratio_to_floor and ratio_to_checked.
// Targets: incoherent map 256x4K <= 1.5x heap; incoherent_<insn> <= 1.2x its floor.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_stats.hpp"

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/deferred_free.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace {

using genpt::x86_64;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t arena_bytes = 64 << 20;
constexpr std::uint64_t batch = 64;           ///< ranges mapped per timed batch
constexpr std::uint64_t stride = 0x20'0000;   ///< one level-0 table per range
constexpr std::uint64_t va_base = 0x10'0000'0000;

/// A simulated non-snooping device: every clean copies whole lines into a shadow.
struct shadow_ops {
  const std::byte* cpu = nullptr;
  std::byte* shadow = nullptr;
  void clean(const void* p, std::size_t n) noexcept {
    const auto off = static_cast<std::size_t>(static_cast<const std::byte*>(p) - cpu);
    for (std::size_t a = off & ~std::size_t{63}; a < off + n; a += 64) std::memcpy(shadow + a, cpu + a, 64);
  }
};

/// Memory for arena rows (64 KiB aligned), and its shadow.
struct arena_mem {
  std::byte* mem = static_cast<std::byte*>(std::aligned_alloc(1 << 16, arena_bytes));
  std::vector<std::byte> shadow = std::vector<std::byte>(arena_bytes);
  ~arena_mem() { std::free(mem); }
};

template <class Alloc>
struct kind;

template <>
struct kind<genpt::heap_levels> {
  static genpt::heap_levels make(genpt::level_stats* s, arena_mem&) { return genpt::heap_levels(s); }
};
template <>
struct kind<genpt::arena_levels> {
  static genpt::arena_levels make(genpt::level_stats* s, arena_mem& m) {
    return genpt::arena_levels(m.mem, arena_bytes, 0x1'0000'0000, s);
  }
};
template <>
struct kind<genpt::deferred_free<genpt::heap_levels>> {
  static auto make(genpt::level_stats* s, arena_mem&) {
    return genpt::deferred_free<genpt::heap_levels>(genpt::heap_levels(s));
  }
};
template <>
struct kind<genpt::incoherent<genpt::arena_levels, shadow_ops>> {
  static auto make(genpt::level_stats* s, arena_mem& m) {
    return genpt::incoherent<genpt::arena_levels, shadow_ops>(kind<genpt::arena_levels>::make(s, m),
                                                              shadow_ops{m.mem, m.shadow.data()});
  }
};
template <>
struct kind<genpt::incoherent<genpt::heap_levels, genpt::cache_ops_x86>> {
  static genpt::cache_ops_x86::insn which;
  static auto make(genpt::level_stats* s, arena_mem&) {
    return genpt::incoherent<genpt::heap_levels, genpt::cache_ops_x86>(genpt::heap_levels(s),
                                                                       genpt::cache_ops_x86(which));
  }
};
genpt::cache_ops_x86::insn kind<genpt::incoherent<genpt::heap_levels, genpt::cache_ops_x86>>::which =
    genpt::cache_ops_x86::insn::clflushopt;

using incoherent_x86_t = genpt::incoherent<genpt::heap_levels, genpt::cache_ops_x86>;

/// The floor of an incoherent map of `pages` 4 KiB pages: per range, store
/// the PTE-like values into its own 4 KiB table, then write each line they
/// touch back once with `insn` (cache_ops_x86::clean: one instruction per
/// line and one SFENCE). batch_seconds() times one batch of `batch` ranges,
/// as bm_map times its maps. With `check`, each item is tested before its
/// store (a load and a branch), as map tests that the items it fills are
/// empty. The map rows time one batch of this floor after each batch of
/// their own, so a ratio compares two phases a few microseconds apart: the
/// store speed of this VM moves by up to 3x from one second to the next.
class store_clean_floor {
 public:
  store_clean_floor(std::uint64_t pages, genpt::cache_ops_x86::insn insn, bool check)
      : pages_(pages), ops_(insn), check_(check) {
    std::memset(mem_, 0, batch * 4096);
  }
  store_clean_floor(const store_clean_floor&) = delete;
  store_clean_floor& operator=(const store_clean_floor&) = delete;
  ~store_clean_floor() {
    ::operator delete(mem_, std::align_val_t{4096});
    if (bad_) std::abort();  // the check's loads are used, and right
  }

  double batch_seconds() {
    const auto t0 = clock_type::now();
    for (std::uint64_t k = 0; k < batch; ++k) {
      std::uint64_t* t = mem_ + k * 512;
      const std::uint64_t oa = (k << 21) + (rep_ << 30);  // a new value each pass: no silent store
      if (check_) {
        // Each item must hold what the last pass stored, tested item by
        // item before its store, as map tests each item it fills.
        const std::uint64_t prev = last_oa_[k];
        for (std::uint64_t i = 0; i < pages_; ++i) {
          const std::uint64_t want = prev == ~std::uint64_t{0} ? 0 : (prev + (i << 12)) | 0x67;
          if (t[i] != want) [[unlikely]]
            ++bad_;
          t[i] = (oa + (i << 12)) | 0x67;
        }
        last_oa_[k] = oa;
      } else {
        for (std::uint64_t i = 0; i < pages_; ++i) t[i] = (oa + (i << 12)) | 0x67;
      }
      benchmark::ClobberMemory();
      ops_.clean(t, pages_ * 8);
    }
    rep_ = (rep_ + 1) & 0xFFFF;
    return std::chrono::duration<double>(clock_type::now() - t0).count();
  }

 private:
  std::uint64_t pages_;
  genpt::cache_ops_x86 ops_;
  bool check_;
  std::uint64_t* mem_ = static_cast<std::uint64_t*>(::operator new(batch * 4096, std::align_val_t{4096}));
  std::vector<std::uint64_t> last_oa_ = std::vector<std::uint64_t>(batch, ~std::uint64_t{0});  // ~0: still 0
  std::uint64_t rep_ = 0;
  std::uint64_t bad_ = 0;
};

using genpt_bench::median_of;

/// floor/[check_]store_clean_<insn>/<pages>: the floor above as a row of
/// its own (time: one batch); ns_per_range is the median batch.
void bm_floor_store_clean(benchmark::State& state, std::uint64_t pages, genpt::cache_ops_x86::insn insn,
                          bool check) {
  if (!genpt::cache_ops_x86::has(insn)) {
    state.SkipWithError("the CPU lacks this cache-line instruction (cpuid)");
    return;
  }
  store_clean_floor floor(pages, insn, check);
  std::vector<double> batches;
  for (auto _ : state) batches.push_back(floor.batch_seconds());
  state.counters["ns_per_range"] = median_of(batches) * 1e9 / static_cast<double>(batch);
}

/// map of `pages` 4 KiB pages onto existing paths, timed per call.
template <class Alloc>
void bm_map(benchmark::State& state, std::uint64_t pages, genpt::cache_ops_x86::insn insn) {
  if constexpr (std::is_same_v<Alloc, incoherent_x86_t>) {
    if (!genpt::cache_ops_x86::has(insn)) {
      state.SkipWithError("the CPU lacks this cache-line instruction (cpuid)");
      return;
    }
    kind<Alloc>::which = insn;
  }
  arena_mem mem;
  genpt::level_stats stats;
  using table = genpt::page_table<x86_64, Alloc>;
  auto created = table::create(x86_64::config{}, kind<Alloc>::make(&stats, mem));
  if (!created) {
    state.SkipWithError("create failed");
    return;
  }
  table& pt = *created;
  const std::uint64_t len = pages << 12;
  // Build every path once: later maps allocate nothing.
  for (std::uint64_t k = 0; k < batch; ++k) {
    if (!pt.map(va_base + k * stride, 0x1000, len, genpt::prot::read | genpt::prot::write)) {
      state.SkipWithError("map failed");
      return;
    }
    pt.unmap(va_base + k * stride, len);
  }
  constexpr bool has_floor = std::is_same_v<Alloc, incoherent_x86_t>;
  // Issue 15's target: <= 1.2x storing the PTEs and writing each line back
  // once; ratio_to_checked: the same floor when each item is tested before
  // its store, as map must. Each iteration times one batch of each floor
  // right after its own maps; the ratios are the medians of those of the
  // iterations.
  std::optional<store_clean_floor> plain, checked;
  if constexpr (has_floor) {
    plain.emplace(pages, insn, false);
    checked.emplace(pages, insn, true);
  }
  std::vector<double> to_plain, to_checked;
  double map_seconds = 0;
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    for (std::uint64_t k = 0; k < batch; ++k)
      benchmark::DoNotOptimize(pt.map(va_base + k * stride, 0x1000 + (k << 21), len, genpt::prot::read | genpt::prot::write));
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    map_seconds += s;
    for (std::uint64_t k = 0; k < batch; ++k) pt.unmap(va_base + k * stride, len);
    if constexpr (has_floor) {
      to_plain.push_back(s / plain->batch_seconds());
      to_checked.push_back(s / checked->batch_seconds());
    }
  }
  // The row's time is one batch of 64 maps and 64 unmaps (and, for the
  // incoherent_<insn> rows, one batch of each floor); ns_per_map is the map alone.
  const double calls = static_cast<double>(state.iterations()) * static_cast<double>(batch);
  if (calls > 0) state.counters["ns_per_map"] = map_seconds * 1e9 / calls;
  if (!to_plain.empty()) {
    state.counters["ratio_to_floor"] = median_of(to_plain);
    state.counters["ratio_to_checked"] = median_of(to_checked);
  }
  const double tables = static_cast<double>(stats.live_tables.load());
  state.counters["meta_B_per_table"] = tables > 0 ? static_cast<double>(stats.meta_bytes.load()) / tables : 0;
  state.counters["tables"] = tables;
}

template <class Alloc>
void bm_iova_to_phys(benchmark::State& state) {
  arena_mem mem;
  genpt::level_stats stats;
  using table = genpt::page_table<x86_64, Alloc>;
  auto created = table::create(x86_64::config{}, kind<Alloc>::make(&stats, mem));
  table& pt = *created;
  (void)pt.map(va_base, 0x1000, 0x10'0000, genpt::prot::read);
  std::uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pt.iova_to_phys(va_base + ((i * 0x1000) & 0xF'F000)));
    ++i;
  }
}

using ops = genpt::cache_ops_x86;
using heap = genpt::heap_levels;
using arena = genpt::arena_levels;
using deferred = genpt::deferred_free<genpt::heap_levels>;
using incoherent_sim = genpt::incoherent<genpt::arena_levels, shadow_ops>;
using incoherent_x86 = genpt::incoherent<genpt::heap_levels, genpt::cache_ops_x86>;

void register_all() {
  for (std::uint64_t pages : {1u, 256u}) {
    const std::string n = "map_" + std::to_string(pages) + "x4K/";
    benchmark::RegisterBenchmark((n + "heap").c_str(), bm_map<heap>, pages, ops::insn::clflush)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((n + "arena").c_str(), bm_map<arena>, pages, ops::insn::clflush)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((n + "deferred").c_str(), bm_map<deferred>, pages, ops::insn::clflush)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((n + "incoherent_sim").c_str(), bm_map<incoherent_sim>, pages, ops::insn::clflush)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((n + "incoherent_clflushopt").c_str(), bm_map<incoherent_x86>, pages,
                                 ops::insn::clflushopt)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((n + "incoherent_clwb").c_str(), bm_map<incoherent_x86>, pages, ops::insn::clwb)
        ->Unit(benchmark::kMicrosecond);
    for (const bool check : {false, true})
      for (const auto insn : {ops::insn::clflushopt, ops::insn::clwb})
        benchmark::RegisterBenchmark((std::string(check ? "floor/check_store_clean_" : "floor/store_clean_") +
                                      (insn == ops::insn::clwb ? "clwb" : "clflushopt") + "/" + std::to_string(pages))
                                         .c_str(),
                                     bm_floor_store_clean, pages, insn, check)
            ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("iova_to_phys/heap", bm_iova_to_phys<heap>);
  benchmark::RegisterBenchmark("iova_to_phys/deferred", bm_iova_to_phys<deferred>);
}

const int registered = (register_all(), 0);

}  // namespace
