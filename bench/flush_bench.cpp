// bench/flush_bench.cpp - what a flush policy adds on top of an unmap:
// unmap 256 x 4K (one level-0 table's worth, freed) with each policy, and
// with the AMD / VT-d / SMMUv3 command builders as sinks. Each iteration
// maps the 1M back outside the timing. Compare each against the no-op
// baseline (flush_none); report medians (--benchmark_repetitions=9
// --benchmark_report_aggregates_only=true).
#include <benchmark/benchmark.h>

#include <cstdint>

#include "genpt/flush/commands.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace {

constexpr std::uint64_t k4k = 4096;
constexpr std::uint64_t kLen = 256 * k4k;
constexpr std::uint64_t kVa = std::uint64_t{1} << 30;

/// Swallows commands so the builder's work is not optimised away.
template <class Cmd>
struct swallow {
  std::uint64_t* acc;
  void operator()(const Cmd& c) const noexcept {
    const auto* w = reinterpret_cast<const unsigned char*>(&c);
    *acc += w[0] + w[sizeof(Cmd) - 1];
  }
};

template <class Flush>
void unmap_256(benchmark::State& state, Flush flush) {
  genpt::x86_64::config cfg;
  cfg.top_level = 3;
  cfg.features = genpt::x86_64::sign_extend;
  auto r = genpt::page_table<genpt::x86_64, genpt::heap_levels, Flush>::create(cfg, {}, flush);
  if (!r) {
    state.SkipWithError("create failed");
    return;
  }
  auto& pt = *r;
  for (auto _ : state) {
    state.PauseTiming();
    // oa offset by 4K: 4K leaves, not one 2M leaf.
    if (!pt.map(kVa, kVa + k4k, kLen, genpt::prot::read | genpt::prot::write)) {
      state.SkipWithError("map failed");
      return;
    }
    state.ResumeTiming();
    genpt::gather g;
    benchmark::DoNotOptimize(pt.unmap(kVa, kLen, g));
    pt.sync(g);
  }
  state.SetItemsProcessed(state.iterations() * 256);
}

std::uint64_t g_acc = 0;

void BM_unmap256_flush_none(benchmark::State& s) { unmap_256(s, genpt::flush_none{}); }
void BM_unmap256_flush_range(benchmark::State& s) { unmap_256(s, genpt::flush_range<>{}); }
void BM_unmap256_flush_range_no_gaps(benchmark::State& s) {
  unmap_256(s, genpt::flush_range_no_gaps<>{});
}
void BM_unmap256_amd_inv_pages(benchmark::State& s) {
  using sink_t = genpt::amd_iommu::sink<swallow<genpt::amd_iommu::inv_pages_cmd>>;
  unmap_256(s, genpt::flush_range<sink_t>{sink_t{{1}, {&g_acc}}});
}
void BM_unmap256_vtd_psi(benchmark::State& s) {
  using sink_t = genpt::vtd::sink<swallow<genpt::vtd::descriptor>>;
  unmap_256(s, genpt::flush_range<sink_t>{sink_t{{1}, {&g_acc}}});
}
void BM_unmap256_smmuv3_range(benchmark::State& s) {
  // The commands for 4K-granule tables (the same geometry as the x86_64 table).
  using sink_t = genpt::smmuv3::sink<genpt::armv8_4k_s1, swallow<genpt::smmuv3::command>>;
  unmap_256(s, genpt::flush_range<sink_t>{sink_t{{}, {&g_acc}}});
}

BENCHMARK(BM_unmap256_flush_none);
BENCHMARK(BM_unmap256_flush_range);
BENCHMARK(BM_unmap256_flush_range_no_gaps);
BENCHMARK(BM_unmap256_amd_inv_pages);
BENCHMARK(BM_unmap256_vtd_psi);
BENCHMARK(BM_unmap256_smmuv3_range);

}  // namespace
