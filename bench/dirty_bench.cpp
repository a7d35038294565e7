// bench/dirty_bench.cpp - dirty harvesting and cut timings (issue 7), with a
// read floor measured in the same binary. Run with
//   dirty_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Rows (manual time: only the operation is timed, never the set-up):
//   floor/scan/262144            read 262144 words (2 MiB) and count those
//                                with bit 6 set: the floor of a harvest
//   <f>/harvest/1GiB_4K/1pct     read_and_clear_dirty over 1 GiB of 4K pages
//   <f>/harvest/1GiB_4K/100pct   with 1% / 100% of them dirty (set with
//                                set_dirty before each iteration)
//   <f>/cut/1G_to_2M             cut of a 1G leaf at 2M: one new table of
//                                512 2M leaves, one store
//   armv8_4k_s1_dbm{,_bbml1,_bbml2}/cut/1G_to_2M
//                                the same cut on ARMv8 with break-before-make
//                                (default), FEAT_BBM level 1 (nT) and level 2
//                                (one step, the other formats' path); the
//                                flush_now sink is a no-op, so the rows show
//                                genpt's own cost, not the hardware's
//                                invalidation wait
// Counters: ns_per_pte (harvest: per PTE visited), ratio_to_floor (harvest
// ns_per_pte / floor ns per word), ns_per_cut. Targets: harvest <= 1 ns per
// clean PTE visited; cut of a 1G page into 2M leaves <= 1 us.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/genpt.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::uint64_t k4K = 0x1000, k2M = 0x20'0000, k1G = 0x4000'0000;
constexpr std::uint64_t gib_ptes = k1G / k4K;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Counts spans; the cheapest sink a user can write.
struct counting_sink {
  std::uint64_t spans = 0, bytes = 0;
  void record(std::uint64_t, std::uint64_t len) {
    ++spans;
    bytes += len;
  }
};

/// Median ns per word of scanning n words for one bit, measured once per
/// process (31 runs after 3 warm-ups): the floor of a harvest that finds
/// every PTE clean (it must at least read each one).
double scan_floor_ns_per_word() {
  static double cached = 0;
  if (cached > 0) return cached;
  std::vector<std::uint64_t> buf(gib_ptes);
  for (std::uint64_t i = 0; i < gib_ptes; ++i) buf[i] = (i << 12) | 0x27;
  std::vector<double> runs;
  for (int r = 0; r < 34; ++r) {
    const auto t0 = clock_type::now();
    std::uint64_t n = 0;
    for (const std::uint64_t w : buf) n += (w >> 6) & 1;
    benchmark::DoNotOptimize(n);
    if (r >= 3) runs.push_back(seconds_since(t0));
  }
  std::nth_element(runs.begin(), runs.begin() + 15, runs.end());
  cached = runs[15] * 1e9 / static_cast<double>(gib_ptes);
  return cached;
}

void bm_floor_scan(benchmark::State& state) {
  std::vector<std::uint64_t> buf(gib_ptes);
  for (std::uint64_t i = 0; i < gib_ptes; ++i) buf[i] = (i << 12) | 0x27;
  double total = 0;
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    std::uint64_t n = 0;
    for (const std::uint64_t w : buf) n += (w >> 6) & 1;
    benchmark::DoNotOptimize(n);
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
  }
  state.counters["ns_per_pte"] = total * 1e9 / (static_cast<double>(state.iterations()) * gib_ptes);
}

/// 1 GiB of 4K pages at va 0 (oa one page off, so no larger page fits),
/// writable; every `stride`-th page dirtied before each timed harvest.
template <class Format>
void bm_harvest(benchmark::State& state, typename Format::config cfg, unsigned stride) {
  auto t = genpt::page_table<Format>::create(cfg);
  if (!t) {
    state.SkipWithError("create failed");
    return;
  }
  auto& pt = *t;
  if (!pt.map(0, k1G + k4K, k1G, genpt::prot::read | genpt::prot::write)) {
    state.SkipWithError("map failed");
    return;
  }
  counting_sink sink;
  genpt::gather g;
  (void)pt.read_and_clear_dirty(0, k1G, sink, g);  // start clean
  pt.sync(g);
  double total = 0;
  for (auto _ : state) {
    for (std::uint64_t p = 0; p < gib_ptes; p += stride) (void)pt.set_dirty(p * k4K);
    const auto t0 = clock_type::now();
    const auto r = pt.read_and_clear_dirty(0, k1G, sink, g);
    pt.sync(g);
    const double s = seconds_since(t0);
    benchmark::DoNotOptimize(r);
    state.SetIterationTime(s);
    total += s;
  }
  const double ns = total * 1e9 / (static_cast<double>(state.iterations()) * gib_ptes);
  state.counters["ns_per_pte"] = ns;
  state.counters["ratio_to_floor"] = ns / scan_floor_ns_per_word();
}

/// A 1G leaf cut at 2M: allocation of one table, 512 leaves, one store.
/// The unmap and re-map between iterations are not timed.
template <class Format>
void bm_cut_1g(benchmark::State& state, typename Format::config cfg) {
  auto t = genpt::page_table<Format>::create(cfg);
  if (!t) {
    state.SkipWithError("create failed");
    return;
  }
  auto& pt = *t;
  double total = 0;
  for (auto _ : state) {
    if (!pt.map(k1G, 2 * k1G, k1G, genpt::prot::read | genpt::prot::write)) {
      state.SkipWithError("map failed");
      return;
    }
    genpt::gather g;
    const auto t0 = clock_type::now();
    const auto r = pt.cut(k1G + k2M, g);
    const double s = seconds_since(t0);
    benchmark::DoNotOptimize(r);
    pt.sync(g);
    (void)pt.unmap(k1G, k1G);
    state.SetIterationTime(s);
    total += s;
  }
  state.counters["ns_per_cut"] = total * 1e9 / static_cast<double>(state.iterations());
}

template <class Format>
void register_format(const std::string& name, const typename Format::config& cfg) {
  benchmark::RegisterBenchmark((name + "/harvest/1GiB_4K/1pct").c_str(),
                               [cfg](benchmark::State& s) { bm_harvest<Format>(s, cfg, 100); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark((name + "/harvest/1GiB_4K/100pct").c_str(),
                               [cfg](benchmark::State& s) { bm_harvest<Format>(s, cfg, 1); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark((name + "/cut/1G_to_2M").c_str(),
                               [cfg](benchmark::State& s) { bm_cut_1g<Format>(s, cfg); })
      ->UseManualTime()
      ->Unit(benchmark::kNanosecond);
}

int register_all() {
  benchmark::RegisterBenchmark("floor/scan/262144", bm_floor_scan)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  register_format<genpt::x86_64>("x86_64", genpt::x86_64::config{});
  genpt::amdv1::config amd;
  amd.starting_level = 2;
  register_format<genpt::amdv1>("amdv1", amd);
  genpt::armv8_4k_s1::config arm;
  arm.features = genpt::armv8_4k_s1::dbm;
  register_format<genpt::armv8_4k_s1>("armv8_4k_s1_dbm", arm);
  for (const auto& [suffix, bbm] : {std::pair<const char*, unsigned>{"_bbml1", genpt::armv8_4k_s1::bbm_level1},
                                    std::pair<const char*, unsigned>{"_bbml2", genpt::armv8_4k_s1::bbm_level2}}) {
    genpt::armv8_4k_s1::config c = arm;
    c.features |= bbm;
    benchmark::RegisterBenchmark((std::string("armv8_4k_s1_dbm") + suffix + "/cut/1G_to_2M").c_str(),
                                 [c](benchmark::State& s) { bm_cut_1g<genpt::armv8_4k_s1>(s, c); })
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond);
  }
  return 0;
}

const int registered = register_all();

}  // namespace
