// bench/scaling_bench.cpp - map + unmap on one shared table from 1 and 2
// threads (Google Benchmark ->Threads()), for three placements of each
// thread's range:
//   disjoint_1G    thread t works at va (t + 1) GiB: its own level-1 and
//                  leaf tables; only the upper tables are shared (read)
//   neighbour_2M   thread t works at 1 GiB + t * 2 MiB: its own leaf table,
//                  one shared level-1 table
//   neighbour_4K   thread t works at 1 GiB + t * 1 MiB: both threads write
//                  halves of one leaf table (no shared cache line: each
//                  half is 2 KiB)
// One operation maps 256 4K pages (oa one page off 2M alignment, so 256
// entries) and unmaps them (with its sync). Every table the ranges need
// exists before timing starts, so no thread allocates or frees.
//
// Counter `scaling` (rows with 2 threads): each iteration is two phases of
// `phase_ops` operations (about 50 microseconds each): thread 0 alone
// (the other thread waits at a barrier), then both threads at once. The
// iteration's scaling is the threads' summed rate in the second phase over
// thread 0's rate in the first; the counter is the median over the
// iterations. A one-thread rate measured once before the row drifted with
// this VM's speed (up to 3x from one second to the next), and gave anything
// from 1.00 to 2.10 for the same row.
// Issue 15's targets: disjoint_1G >= 1.9 and neighbour_2M >= 1.8 at 2
// threads. Only meaningful with as many idle CPUs as threads.
//
// floor/store+clear/256x8B: each thread stores and clears 256 words of its
// own page, with no table; its `scaling` is what two threads' stores alone
// reach on this machine, the bound on every row's.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_stats.hpp"

#include "genpt/genpt.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t one_gib = std::uint64_t{1} << 30;
constexpr std::uint64_t pages = 256;
constexpr std::uint64_t len = pages << 12;
constexpr genpt::prot rw = genpt::prot::read | genpt::prot::write;

enum class placement { disjoint_1G, neighbour_2M, neighbour_4K };

constexpr const char* placement_name(placement p) {
  switch (p) {
    case placement::disjoint_1G: return "disjoint_1G";
    case placement::neighbour_2M: return "neighbour_2M";
    case placement::neighbour_4K: return "neighbour_4K";
  }
  return "?";
}

constexpr genpt::va_t va_of(placement p, int thread) {
  const auto t = static_cast<std::uint64_t>(thread);
  switch (p) {
    case placement::disjoint_1G: return (t + 1) * one_gib;
    case placement::neighbour_2M: return one_gib + t * (std::uint64_t{2} << 20);
    case placement::neighbour_4K: return one_gib + t * len;
  }
  return 0;
}

/// A spin-wait hint to the CPU (PAUSE on x86, YIELD on Arm), nothing elsewhere.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// A barrier for the row's threads: sense by generation, spinning (the
/// phases are short, and each thread has its own CPU).
class spin_barrier {
 public:
  void wait(int threads) noexcept {
    // Acquire/release: what one thread did before the barrier (its phase
    // time) is visible to every thread after it.
    const unsigned gen = gen_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads) {
      arrived_.store(0, std::memory_order_relaxed);  // no one touches it until gen_ moves
      gen_.store(gen + 1, std::memory_order_release);
    } else {
      while (gen_.load(std::memory_order_acquire) == gen) cpu_relax();
    }
  }

 private:
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> gen_{0};
};

constexpr int phase_ops = 200;  ///< operations per phase (about 50 microseconds of map+unmap)

/// What every row's threads share: the barrier, each thread's phase time,
/// and thread 0's per-iteration scalings.
struct phases {
  spin_barrier barrier;
  double both_s[2] = {0, 0};  ///< one per thread: rows register ->Threads(1) and ->Threads(2) only
  std::vector<double> scalings;
};

using genpt_bench::median_of;

/// The loop of every row: op() is one operation of this thread. With one
/// thread, each iteration is one phase; with two, a phase of thread 0
/// alone, then one of both (the file comment). Google Benchmark gives each
/// thread the same iteration count, so the barriers always pair up.
template <class Op>
void run_phases(benchmark::State& state, phases& ph, Op&& op) {
  const int threads = state.threads();
  const int me = state.thread_index();
  auto timed_phase = [&] {
    const auto t0 = clock_type::now();
    for (int i = 0; i < phase_ops; ++i) op();
    return std::chrono::duration<double>(clock_type::now() - t0).count();
  };
  for (auto _ : state) {
    if (threads == 1) {
      timed_phase();
      continue;
    }
    ph.barrier.wait(threads);
    double alone = 0;
    if (me == 0) alone = timed_phase();
    ph.barrier.wait(threads);
    ph.both_s[me] = timed_phase();
    ph.barrier.wait(threads);
    if (me == 0) {
      double rate = 0;
      for (int t = 0; t < threads; ++t) rate += phase_ops / ph.both_s[t];
      ph.scalings.push_back(rate / (phase_ops / alone));
    }
  }
  state.SetItemsProcessed(state.iterations() * phase_ops * static_cast<std::int64_t>(pages));
  if (me == 0 && threads > 1) state.counters["scaling"] = median_of(ph.scalings);  // thread 0's only: not summed
}

template <class Format>
struct scaling {
  using table = genpt::page_table<Format>;

  /// The table the threads share: made by setup() before the row's threads
  /// start and dropped by teardown() after they stop.
  static inline std::optional<table> shared;
  static inline typename Format::config cfg;
  static inline phases ph;

  /// One operation: map 256 pages at va (oa one page off 2M), unmap them.
  static bool once(table& pt, genpt::va_t va) {
    const bool ok = pt.map(va, va + 0x1000, len, rw).has_value();
    return (pt.unmap(va, len) == len) & ok;
  }

  /// Makes the table and every level each thread's range needs (one
  /// map/unmap each). Left empty on failure; run() then reports it.
  template <placement P>
  static void setup(const benchmark::State& state) {
    ph.scalings.clear();
    shared.reset();
    auto created = table::create(cfg);
    if (!created) return;
    shared.emplace(std::move(*created));
    bool ok = true;
    for (int t = 0; t < state.threads(); ++t) ok &= once(*shared, va_of(P, t));
    if (!ok) shared.reset();
  }

  static void teardown(const benchmark::State&) { shared.reset(); }

  static void run(benchmark::State& state, placement p) {
    if (!shared) {
      for (auto _ : state) {
      }
      state.SkipWithError("page_table::create or the warm-up map/unmap failed");
      return;
    }
    table& pt = *shared;
    const genpt::va_t va = va_of(p, state.thread_index());
    std::uint64_t failed = 0;
    run_phases(state, ph, [&] { failed += !once(pt, va); });
    if (failed) state.SkipWithError("map/unmap failed");
  }

  template <placement P>
  static void register_row(const std::string& name) {
    benchmark::RegisterBenchmark((name + "/map+unmap/256x4K/" + placement_name(P)).c_str(), run, P)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime()
        ->Setup(setup<P>)
        ->Teardown(teardown);
  }

  static void register_rows(const std::string& name, const typename Format::config& c) {
    cfg = c;
    register_row<placement::disjoint_1G>(name);
    register_row<placement::neighbour_2M>(name);
    register_row<placement::neighbour_4K>(name);
  }
};

/// floor/store+clear/256x8B: the stores of one operation without a table:
/// write 256 PTE words into this thread's own 4 KiB page, then zero them
/// (map's and unmap's stores, no walk, no check). Each thread has its own
/// page. `scaling` as for the table rows: the bound two threads' stores
/// put on any row's scaling on this machine.
struct store_floor {
  static inline phases ph;

  static void once(std::uint64_t* t, std::uint64_t oa) {
    for (std::uint64_t i = 0; i < pages; ++i) t[i] = (oa + (i << 12)) | 0x67;
    benchmark::ClobberMemory();
    for (std::uint64_t i = 0; i < pages; ++i) t[i] = 0;
    benchmark::ClobberMemory();
  }

  static void run(benchmark::State& state) {
    if (state.thread_index() == 0) ph.scalings.clear();
    auto* t = static_cast<std::uint64_t*>(::operator new(4096, std::align_val_t{4096}));
    run_phases(state, ph, [t] { once(t, std::uint64_t{1} << 30); });
    ::operator delete(t, std::align_val_t{4096});
  }
};

bool register_all() {
  benchmark::RegisterBenchmark("floor/store+clear/256x8B", store_floor::run)->Threads(1)->Threads(2)->UseRealTime();
  scaling<genpt::x86_64>::register_rows("x86_64", genpt::x86_64::config{});
  scaling<genpt::amdv1>::register_rows("amdv1", genpt::amdv1::config{.starting_level = 3});
  scaling<genpt::armv8_4k_s1>::register_rows("armv8_4k_s1", genpt::armv8_4k_s1::config{});
  return true;
}

const bool registered = register_all();

}  // namespace
