// bench/page_table_bench.cpp - map, unmap and iova_to_phys timings, with a
// store-bandwidth floor measured in the same binary. bench/README.md
// describes every row; run with
//   page_table_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Every row is registered by register_format<Format>(name, config, sizes):
// adding a format or a configuration is one line in register_all() below.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_stats.hpp"

#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/genpt.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t one_gib = std::uint64_t{1} << 30;
constexpr unsigned granule_lg2 = 12;
/// PTEs of 1 GiB of 4K pages.
constexpr std::uint64_t gib_ptes = one_gib >> granule_lg2;
/// Distinct ranges one batch of the map-only / unmap-only rows touches.
constexpr std::uint64_t max_batch = 64;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string size_name(unsigned lg2) {
  constexpr const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
  return std::to_string(std::uint64_t{1} << (lg2 % 10)) + units[lg2 / 10];
}

/// Sets the ns_per_pte counter: `seconds` spent over all iterations, n PTEs
/// written (or removed) per iteration.
void set_ns_per_pte(benchmark::State& state, double seconds, std::uint64_t n) {
  const double it = static_cast<double>(state.iterations());
  if (it > 0) state.counters["ns_per_pte"] = seconds * 1e9 / (it * static_cast<double>(n));
}

// ------------------------------------------------------------------ floor --

using genpt_bench::median_of;

/// Writes n PTE-like values (an advancing oa with attribute bits) to buf.
/// Out of line and 64-byte aligned, so every floor of every row runs this
/// one copy of the loop: copies inlined into each row ran at 0.39 or 0.67
/// ns per value by where the loop fell in the code (the same copy at the
/// same speed in every run), which made a row's ratio depend on its
/// floor's code placement.
[[gnu::noinline, gnu::aligned(64)]] void store_ptes(std::uint64_t* buf, std::uint64_t n, std::uint64_t oa) {
  for (std::uint64_t i = 0; i < n; ++i) buf[i] = (oa + (i << granule_lg2)) | 0x67;
}

/// One fresh-buffer floor run: allocate 8n bytes 4K-aligned and zero them
/// (as heap_levels does for tables), then store n values. Seconds taken;
/// the free is not timed.
double fresh_store_once(std::uint64_t n) {
  const std::size_t bytes = static_cast<std::size_t>(n * 8);
  const auto t0 = clock_type::now();
  void* p = ::operator new(bytes, std::align_val_t{4096});
  std::memset(p, 0, bytes);
  benchmark::ClobberMemory();
  auto* buf = static_cast<std::uint64_t*>(p);
  store_ptes(buf, n, 0x1000);
  benchmark::DoNotOptimize(buf);
  benchmark::ClobberMemory();
  const double s = seconds_since(t0);
  ::operator delete(p, std::align_val_t{4096});
  return s;
}

/// Median ns per value of the fresh-buffer floor for n values, measured
/// once per process (31 runs after 3 warm-ups) and cached: the in-binary
/// denominator of the 1 GiB rows' ratio_to_floor.
double fresh_floor_ns_per_value(std::uint64_t n) {
  static std::map<std::uint64_t, double> cache;
  if (const auto it = cache.find(n); it != cache.end()) return it->second;
  for (int i = 0; i < 3; ++i) fresh_store_once(n);
  std::vector<double> runs;
  for (int i = 0; i < 31; ++i) runs.push_back(fresh_store_once(n));
  std::nth_element(runs.begin(), runs.begin() + 15, runs.end());
  const double ns = runs[15] * 1e9 / static_cast<double>(n);
  cache.emplace(n, ns);
  return ns;
}

/// Nanoseconds per value of storing n PTE-like values into a warm buffer:
/// median of 31 runs, measured once per process (the strict floor of a
/// bulk map: every byte it must write, already in memory). Only the 1 GiB
/// rows use it, with n large enough that the clock's cost is lost.
double warm_floor_ns_per_value(std::uint64_t n) {
  static std::map<std::uint64_t, double> cache;
  if (const auto it = cache.find(n); it != cache.end()) return it->second;
  std::vector<std::uint64_t> buf(n);
  std::vector<double> runs;
  for (int i = 0; i < 34; ++i) {
    const auto t0 = clock_type::now();
    store_ptes(buf.data(), n, static_cast<std::uint64_t>(i) << 32);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
    if (i >= 3) runs.push_back(seconds_since(t0));
  }
  const double ns = median_of(runs) * 1e9 / static_cast<double>(n);
  cache.emplace(n, ns);
  return ns;
}

/// floor/store/N: N values into a warm buffer (the floor of a map into
/// tables that already exist).
void bm_floor_store(benchmark::State& state, std::uint64_t n) {
  std::vector<std::uint64_t> buf(n);
  std::uint64_t oa = 0;
  const auto t0 = clock_type::now();
  for (auto _ : state) {
    store_ptes(buf.data(), n, oa);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
    oa += 0x1000;
  }
  set_ns_per_pte(state, seconds_since(t0), n);
}

/// floor/fresh_store/N: allocate + zero + store, per iteration (the floor
/// of a map into a fresh table, table allocation included).
void bm_floor_fresh_store(benchmark::State& state, std::uint64_t n) {
  double total = 0;
  for (auto _ : state) {
    const double s = fresh_store_once(n);
    state.SetIterationTime(s);
    total += s;
  }
  set_ns_per_pte(state, total, n);
}

// --------------------------------------------------- pointer-chase floor --

/// The floor of iova_to_phys: a radix tree of Depth levels of 4K tables
/// (512 words each) shaped like the iova_to_phys rows' tables (1 GiB of 4K
/// pages at va 1 GiB: one path of upper tables, one level-1 table, 512 leaf
/// tables), whose upper words hold their child's address as a plain
/// pointer. A lookup is Depth dependent loads indexed by 9 va bits each and
/// one add: no present bit, no address mask, no range check.
///
/// Checked: the least a hardware descriptor asks of a walk. Every word
/// also holds flag bits below its address (bits 1:0 set, as an ARMv8 table
/// descriptor or an x86 P|RW), and each level tests the valid bit (bit 0,
/// a branch) and masks the address (one AND) before the next load: the
/// floor of any format whose descriptors carry flags in the address word.
///
/// WordShift: each word holds its address shifted right by WordShift (the
/// flags, if any, below bit 12 - WordShift), and each level shifts it back
/// before the next load: with 2, RISC-V's encoding (PPN at bit 10 of the
/// PTE, address bit 12), the least a walk of that format must do.
template <unsigned Depth, bool Checked = false, unsigned WordShift = 0>
class chase_tree {
  static_assert(Depth >= 2);
  /// Depth - 1 upper tables (one path), then 512 leaf tables.
  static constexpr std::size_t tables = Depth - 1 + 512;
  /// One block, 2 MiB aligned (the best case for the TLB; heap_levels
  /// packs its tables into 256 KiB slabs).
  static constexpr std::align_val_t align{std::size_t{1} << 21};

 public:
  chase_tree() {
    std::memset(mem_, 0, tables * 4096);
    std::uint64_t* t = table(0);
    for (unsigned level = Depth - 1; level >= 2; --level) {
      std::uint64_t* child = table(Depth - level);
      t[index(one_gib, level)] = word_of(child);
      t = child;
    }
    for (std::uint64_t i = 0; i < 512; ++i) {  // t is the level-1 table
      std::uint64_t* leaf = table(Depth - 1 + i);
      for (std::uint64_t j = 0; j < 512; ++j)
        leaf[j] = ((2 * one_gib + ((i * 512 + j) << granule_lg2)) >> WordShift) | flags;
      t[i] = word_of(leaf);
    }
  }
  chase_tree(const chase_tree&) = delete;
  chase_tree& operator=(const chase_tree&) = delete;
  ~chase_tree() { ::operator delete(mem_, align); }

  const std::uint64_t* top() const { return table(0); }

  /// Depth dependent loads from `top`.
  static std::uint64_t lookup(const std::uint64_t* top, std::uint64_t va) {
    const std::uint64_t* t = top;
    for (unsigned level = Depth - 1; level > 0; --level) {
      std::uint64_t w = t[index(va, level)];
      if constexpr (Checked) {
        if (!(w & valid)) [[unlikely]]
          return 0;
        w &= addr;
      }
      // The word holds the address of a table of this block (word_of).
      t = reinterpret_cast<const std::uint64_t*>(static_cast<std::uintptr_t>(w << WordShift));
    }
    std::uint64_t w = t[index(va, 0)];
    if constexpr (Checked) {
      if (!(w & valid)) [[unlikely]]
        return 0;
      w &= addr;
    }
    return (w << WordShift) + (va & ((std::uint64_t{1} << granule_lg2) - 1));
  }

 private:
  static unsigned index(std::uint64_t va, unsigned level) {
    return static_cast<unsigned>(va >> (granule_lg2 + 9 * level)) & 511;
  }
  // The pointer as an integer, to store it in a table word.
  static std::uint64_t word_of(std::uint64_t* p) { return (reinterpret_cast<std::uintptr_t>(p) >> WordShift) | flags; }
  static constexpr std::uint64_t valid = 1;
  static constexpr std::uint64_t flags = Checked ? 3 : 0;
  static constexpr std::uint64_t addr = ~std::uint64_t{0xFFF} >> WordShift;
  std::uint64_t* table(std::size_t i) const { return mem_ + i * 512; }

  std::uint64_t* mem_ = static_cast<std::uint64_t*>(::operator new(tables * 4096, align));
};

/// The va sequence of the random lookup rows and of their floor.
const std::vector<std::uint64_t>& random_vas() {
  static const std::vector<std::uint64_t> vas = [] {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> v(std::size_t{1} << 16);
    for (auto& x : v) x = one_gib + (rng() & (one_gib - 1));
    return v;
  }();
  return vas;
}

/// The va of the hot lookup rows and of their floor.
constexpr std::uint64_t hot_va = one_gib + 0x1234'5678;

/// The loop of every iova_to_phys row and of its floor, one lookup per
/// step(): the same va (hot) or the next of random_vas(); independent
/// lookups, or, chained, each va depending on the previous result (a
/// latency chain: the dependency adds the result's bit 63, which is zero,
/// so the vas are the same). Chained is a template argument: a run-time
/// flag lets the compiler pick a conditional move, which chains every loop.
template <bool Chained>
class lookup_driver {
 public:
  explicit lookup_driver(bool random) : random_(random) {}
  template <class Lookup>
  void step(Lookup&& lookup) {
    const std::uint64_t va = (random_ ? vas_[i_] : hot_va) + dep_;
    std::uint64_t r = lookup(va);
    // The compiler may know bit 63 of r (a format's address mask clears
    // it) and fold the chain to a constant; this empty asm claims to
    // change r in its register, so it cannot, at no cost on the chain
    // (DoNotOptimize's "+m,r" lets GCC go through the stack).
    asm volatile("" : "+r"(r));
    if constexpr (Chained) dep_ = r >> 63;
    i_ = (i_ + 1) & mask_;
  }

 private:
  const std::uint64_t* vas_ = random_vas().data();
  std::size_t mask_ = random_vas().size() - 1;  // the size is a power of two
  bool random_;
  std::uint64_t dep_ = 0;
  std::size_t i_ = 0;
};

/// floor/chase[_checked]/<depth>/{hot,random_1G_of_4K}[_chained]: the
/// floors' own rows.
template <unsigned Depth, bool Chained, bool Checked = false, unsigned WordShift = 0>
void bm_floor_chase(benchmark::State& state, bool random) {
  using tree_t = chase_tree<Depth, Checked, WordShift>;
  const tree_t tree;
  lookup_driver<Chained> d(random);
  const std::uint64_t* const top = tree.top();
  const auto t0 = clock_type::now();
  for (auto _ : state) d.step([top](std::uint64_t va) { return tree_t::lookup(top, va); });
  set_ns_per_pte(state, seconds_since(t0), 1);
}

// ------------------------------------------------------- page-table rows --

/// The rows of one format and configuration.
template <class Format>
struct format_bench {
  using table = genpt::page_table<Format>;
  using config = typename Format::config;

  static std::optional<table> make(benchmark::State& state, const config& cfg) {
    auto r = table::create(cfg);
    if (!r) {
      state.SkipWithError("page_table::create failed");
      return std::nullopt;
    }
    return std::optional<table>(std::move(*r));
  }

  /// Bytes of lower-half va the rows may use.
  static std::uint64_t va_space(const table& pt) {
    const unsigned lg2 = pt.info().va_lg2;
    return std::uint64_t{1} << (lg2 - 1 < 62 ? lg2 - 1 : 62);
  }

  /// Ranges of len bytes one batch maps: up to max_batch, all inside the
  /// lower half of the va space, with room for the offset of one range.
  static std::uint64_t batch_size(const table& pt, std::uint64_t len) {
    return std::min(max_batch, va_space(pt) / (2 * len));
  }

  /// map+unmap pair: each iteration maps n pages of 2^size_lg2 at one va,
  /// then unmaps them (with its sync); the tables stay allocated.
  static void map_unmap(benchmark::State& state, config cfg, unsigned size_lg2, std::uint64_t n) {
    auto pt = make(state, cfg);
    if (!pt) return;
    const std::uint64_t len = n << size_lg2;
    const genpt::va_t va = len;          // not at 0: a realistic interior range
    const genpt::oa_t oa = 4 * len;      // aligned to the page size
    const genpt::prot p = genpt::prot::read | genpt::prot::write;
    if (!pt->map(va, oa, len, p) || pt->unmap(va, len) != len) {
      state.SkipWithError("warm-up map/unmap failed");
      return;
    }
    const auto t0 = clock_type::now();
    for (auto _ : state) {
      const genpt::result<void> r = pt->map(va, oa, len, p);
      benchmark::DoNotOptimize(r.has_value());
      benchmark::DoNotOptimize(pt->unmap(va, len));
    }
    set_ns_per_pte(state, seconds_since(t0), n);
  }

  /// map-only or unmap-only: each iteration maps a batch of distinct ranges
  /// of n pages, then unmaps them; only one of the two phases is timed
  /// (manual time), and the reported time is that phase divided by the
  /// batch: ns per call.
  /// exact: oa is offset by one page, so va and oa agree only up to the page
  /// size and the map makes n entries of exactly that size (no contiguous
  /// or larger entry), as upstream's "pa not aligned" rows.
  static void batched(benchmark::State& state, config cfg, unsigned size_lg2, std::uint64_t n,
                      bool time_map, bool exact) {
    auto pt = make(state, cfg);
    if (!pt) return;
    const std::uint64_t len = n << size_lg2;
    const std::uint64_t batch = batch_size(*pt, len);
    if (batch == 0) {
      state.SkipWithError("va space too small for this row");
      return;
    }
    const genpt::va_t base = len;
    const genpt::oa_t oa = (std::uint64_t{1} << 40) + (exact ? std::uint64_t{1} << size_lg2 : 0);
    const genpt::prot p = genpt::prot::read | genpt::prot::write;
    auto map_all = [&] {
      bool ok = true;
      for (std::uint64_t i = 0; i < batch; ++i)
        ok &= pt->map(base + i * len, oa + i * len, len, p).has_value();
      return ok;
    };
    auto unmap_all = [&] {
      genpt::gather g;
      std::uint64_t bytes = 0;
      for (std::uint64_t i = 0; i < batch; ++i) bytes += pt->unmap(base + i * len, len, g);
      pt->sync(g);
      return bytes;
    };
    // Warm: every table the batch needs exists before timing starts.
    if (!map_all() || unmap_all() != batch * len) {
      state.SkipWithError("warm-up map/unmap failed");
      return;
    }
    // The floor of n > 1 rows, timed inside each iteration right after the
    // row's phase: the same number of values, n per store_ptes call, into
    // one warm buffer (floor/store/n's loop). This VM's host changes the
    // speed of that loop by up to 3x from one second to the next (0.4 to
    // 1.5 ns per value in one process, same buffer) while the rows move
    // far less, so a floor measured once per process gave ratios that
    // jumped by 2x between runs. Each iteration yields one ratio; the
    // counter is their median, so an iteration that straddles a change of
    // speed does not count.
    std::vector<std::uint64_t> floor_buf(n > 1 ? n : 0);
    double total = 0;
    std::vector<double> ratios;
    std::vector<double> floors;
    for (auto _ : state) {
      const auto t0 = clock_type::now();
      const bool mapped = map_all();
      const double t_map = seconds_since(t0);
      const auto t1 = clock_type::now();
      const std::uint64_t bytes = unmap_all();
      const double t_unmap = seconds_since(t1);
      if (!mapped || bytes != batch * len) {
        state.SkipWithError("map/unmap failed");
        break;
      }
      const double s = (time_map ? t_map : t_unmap) / static_cast<double>(batch);
      state.SetIterationTime(s);
      total += s;
      if (n > 1) {
        const auto t2 = clock_type::now();
        for (std::uint64_t i = 0; i < batch; ++i) {
          store_ptes(floor_buf.data(), n, oa + i * len);
          benchmark::DoNotOptimize(floor_buf.data());
          benchmark::ClobberMemory();
        }
        const double floor_s = seconds_since(t2);
        ratios.push_back(s * static_cast<double>(batch) / floor_s);
        floors.push_back(floor_s / static_cast<double>(batch));
      }
    }
    set_ns_per_pte(state, total, n);
    state.counters["batch"] = static_cast<double>(batch);
    // n > 1: the row against the store floor of as many values, the median
    // of the iterations' ratios (issue 15's targets: map 256x4K <= 1.5x,
    // unmap <= 1.3x), and the floor's own median speed beside it, so a
    // reader sees which speed the host ran at.
    if (!ratios.empty()) {
      state.counters["ratio_to_floor"] = median_of(ratios);
      state.counters["floor_ns_per_pte"] = median_of(floors) * 1e9 / static_cast<double>(n);
    }
  }

  /// A table with 1 GiB of 4K pages at va 1 GiB (oa misaligned to 2M, so
  /// only 4K leaves), for the iova_to_phys rows.
  static std::optional<table> make_gib_of_4k(benchmark::State& state, const config& cfg) {
    auto pt = make(state, cfg);
    if (pt && !pt->map(one_gib, 2 * one_gib + 0x1000, one_gib, genpt::prot::read)) {
      state.SkipWithError("map of 1 GiB failed");
      pt.reset();
    }
    return pt;
  }

  /// Lookups in each iteration of the iova_to_phys rows.
  static constexpr std::uint64_t lookup_chunk(bool random) { return random ? 65536 : 1024; }

  /// iova_to_phys in a table holding 1 GiB of 4K pages: of the same address
  /// every time (a hot walk) or of precomputed random addresses over the
  /// GiB; independent or chained lookups (lookup_driver). Manual time, per
  /// lookup; each iteration times lookup_chunk(random) lookups.
  /// ratio_to_chase divides by the pointer chase of the table's depth in
  /// the same loop shape, ratio_to_checked by its checked form (valid bit
  /// and address mask), both timed inside the row so the host's changes of
  /// speed (see batched()) reach both sides:
  /// - hot: every iteration also times a chunk of each floor, and the
  ///   counters are the medians of the iterations' ratios (all three walk
  ///   a few lines of L1, so taking turns disturbs none of them);
  /// - random: the floors run 5 chunks each before and after the row's
  ///   iterations, and the counters divide by their medians. Taking turns
  ///   per chunk would not do here: three trees with 2 MiB of leaf tables
  ///   each evict one another from the caches and the TLB, and on this VM
  ///   that made all three rows 3 to 4 times slower.
  template <bool Chained>
  static void lookup(benchmark::State& state, config cfg, bool random) {
    auto pt = make_gib_of_4k(state, cfg);
    if (!pt) return;
    switch (pt->info().top_level + 1) {
      case 3: return lookup_against<Chained, 3>(state, *pt, random);
      case 4: return lookup_against<Chained, 4>(state, *pt, random);
      case 5: return lookup_against<Chained, 5>(state, *pt, random);
      default: state.SkipWithError("no pointer-chase floor of this depth");
    }
  }

  template <bool Chained, unsigned Depth>
  static void lookup_against(benchmark::State& state, const table& pt, bool random) {
    const chase_tree<Depth> plain;
    const chase_tree<Depth, true> checked;
    lookup_driver<Chained> row_driver(random), plain_driver(random), checked_driver(random);
    const std::uint64_t chunk = lookup_chunk(random);
    // Seconds for one chunk of steps of driver d through fn.
    auto timed = [chunk](lookup_driver<Chained>& d, auto&& fn) {
      // The loop runs on a local copy: its address never escapes, so the
      // compiler keeps it in registers. Through d, every acquire load of a
      // walk made GCC store the driver's state to the stack each step, and
      // with those stores ARMv8's hot chained row read anywhere from 12.4
      // to 18.9 ns, by binary and by run.
      lookup_driver<Chained> local = d;
      const auto t0 = clock_type::now();
      for (std::uint64_t k = 0; k < chunk; ++k) local.step(fn);
      const double s = seconds_since(t0);
      d = local;
      return s;
    };
    auto row = [&] { return timed(row_driver, [&pt](std::uint64_t va) { return pt.iova_to_phys(va).value_or(0); }); };
    auto plain_chunk = [&] {
      return timed(plain_driver, [top = plain.top()](std::uint64_t va) { return chase_tree<Depth>::lookup(top, va); });
    };
    auto checked_chunk = [&] {
      return timed(checked_driver,
                   [top = checked.top()](std::uint64_t va) { return chase_tree<Depth, true>::lookup(top, va); });
    };
    // hot: per-iteration ratios; random: floor chunk times.
    std::vector<double> plain_v, checked_v;
    auto time_floors = [&] {  // random: one warm-up chunk, then 5 timed
      plain_chunk();
      for (int i = 0; i < 5; ++i) plain_v.push_back(plain_chunk());
      checked_chunk();
      for (int i = 0; i < 5; ++i) checked_v.push_back(checked_chunk());
    };
    if (random) time_floors();
    double total = 0;
    for (auto _ : state) {
      const double t_row = row();
      state.SetIterationTime(t_row / static_cast<double>(chunk));
      total += t_row;
      if (!random) {
        plain_v.push_back(t_row / plain_chunk());
        checked_v.push_back(t_row / checked_chunk());
      }
    }
    if (random) time_floors();
    set_ns_per_pte(state, total, chunk);
    const double it = static_cast<double>(state.iterations());
    if (random && it > 0) {
      state.counters["ratio_to_chase"] = total / it / median_of(plain_v);
      state.counters["ratio_to_checked"] = total / it / median_of(checked_v);
    } else if (!plain_v.empty()) {
      state.counters["ratio_to_chase"] = median_of(plain_v);
      state.counters["ratio_to_checked"] = median_of(checked_v);
    }
    state.counters["depth"] = Depth;
  }

  /// 1 GiB as 4K pages into a fresh table (only the top exists), table
  /// allocation included; created and destroyed outside the timed region.
  /// single_calls: 262144 map calls of one page instead of one call.
  static void map_gib_fresh(benchmark::State& state, config cfg, bool single_calls) {
    const genpt::prot p = genpt::prot::read | genpt::prot::write;
    const genpt::oa_t oa = 2 * one_gib + 0x1000;  // not 2M-aligned: 4K leaves only
    double total = 0;
    for (auto _ : state) {
      auto pt = make(state, cfg);
      if (!pt) return;
      const auto t0 = clock_type::now();
      bool ok = true;
      if (single_calls) {
        for (std::uint64_t i = 0; i < gib_ptes; ++i)
          ok &= pt->map(one_gib + (i << granule_lg2), oa + (i << granule_lg2),
                        std::uint64_t{1} << granule_lg2, p)
                    .has_value();
      } else {
        ok = pt->map(one_gib, oa, one_gib, p).has_value();
      }
      benchmark::ClobberMemory();
      const double s = seconds_since(t0);
      if (!ok) {
        state.SkipWithError("map of 1 GiB failed");
        return;
      }
      state.SetIterationTime(s);
      total += s;
      pt.reset();  // frees every table, untimed
    }
    set_ns_per_pte(state, total, gib_ptes);
    const double it = static_cast<double>(state.iterations());
    if (it > 0) {
      const double ns = total * 1e9 / (it * static_cast<double>(gib_ptes));
      state.counters["ratio_to_floor"] = ns / fresh_floor_ns_per_value(gib_ptes);
      state.counters["ratio_to_warm_floor"] = ns / warm_floor_ns_per_value(gib_ptes);
    }
  }

  /// Registers every row of this format under "<name>/...".
  static void register_rows(const std::string& name, const config& cfg,
                            std::initializer_list<unsigned> sizes_lg2, bool gib_rows) {
    const auto probe = table::create(cfg);
    if (!probe) return;
    for (const unsigned sz : sizes_lg2) {
      for (const std::uint64_t n : {std::uint64_t{1}, std::uint64_t{256}}) {
        const std::string tail = "/" + std::to_string(n) + "x" + size_name(sz);
        // The manual time of one iteration is one call's share of a timed
        // batch phase, while the iteration runs both phases of the batch:
        // scale min_time down so a row takes about half a second of wall time.
        const std::uint64_t batch = std::max<std::uint64_t>(1, batch_size(*probe, n << sz));
        // GENPT_BENCH_SMOKE (set by the bench_smoke ctest) runs each row once.
        const double min_time =
            std::getenv("GENPT_BENCH_SMOKE") ? 1e-9 : 0.5 / static_cast<double>(2 * batch);
        // Formats with contiguous sizes above this one also get the rows
        // with n entries of exactly this size.
        const std::uint64_t bigger = probe->info().pgsize_bitmap & ~((std::uint64_t{2} << sz) - 1) &
                                     ((std::uint64_t{1} << (sz + 9)) - 1);
        for (const bool exact : {false, true}) {
          if (exact && (n == 1 || !bigger)) continue;
          for (const bool time_map : {true, false})
            benchmark::RegisterBenchmark(
                (name + (time_map ? "/map" : "/unmap") + tail + (exact ? "_exact" : "")).c_str(),
                batched, cfg, sz, n, time_map, exact)
                ->UseManualTime()
                ->MinTime(min_time);
        }
        benchmark::RegisterBenchmark((name + "/map+unmap" + tail).c_str(), map_unmap, cfg, sz, n);
      }
    }
    if (!gib_rows) return;  // the 1 GiB rows use 4K pages
    for (const bool random : {false, true}) {
      const std::string what = name + "/iova_to_phys/" + (random ? "random_1G_of_4K" : "hot");
      // Manual time is per lookup while an iteration runs a chunk of them
      // (hot: and two of the floors): scale min_time to about half a
      // second of wall time, as the batched rows do.
      const double min_time =
          std::getenv("GENPT_BENCH_SMOKE") ? 1e-9 : 0.5 / static_cast<double>(3 * lookup_chunk(random));
      benchmark::RegisterBenchmark(what.c_str(), lookup<false>, cfg, random)->UseManualTime()->MinTime(min_time);
      benchmark::RegisterBenchmark((what + "_chained").c_str(), lookup<true>, cfg, random)
          ->UseManualTime()
          ->MinTime(min_time);
    }
    benchmark::RegisterBenchmark((name + "/map_1G_of_4K_fresh/one_call").c_str(), map_gib_fresh,
                                 cfg, false)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((name + "/map_1G_of_4K_fresh/single_page_calls").c_str(),
                                 map_gib_fresh, cfg, true)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
};

/// Every format and configuration benchmarked: one line each.
/// Arguments: row prefix, the format's config, the page sizes (log2) whose
/// 1- and 256-page map/unmap rows to run (contiguous sizes are one entry
/// per page: AMDv1 64K is one 16-item NextLevel=7 entry, ARMv8 4K-granule
/// 64K one 16-item contiguous-hint run), and whether to run the 1 GiB of
/// 4K pages rows (formats with a 4K page).
template <class Format>
void register_format(const char* name, const typename Format::config& cfg,
                     std::initializer_list<unsigned> sizes_lg2, bool gib_rows = true) {
  format_bench<Format>::register_rows(name, cfg, sizes_lg2, gib_rows);
}

bool register_all() {
  for (const std::uint64_t n : {std::uint64_t{1}, std::uint64_t{256}, gib_ptes})
    benchmark::RegisterBenchmark(("floor/store/" + std::to_string(n)).c_str(), bm_floor_store, n);
  benchmark::RegisterBenchmark(("floor/fresh_store/" + std::to_string(gib_ptes)).c_str(),
                               bm_floor_fresh_store, gib_ptes)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);

  using chase_fn = void (*)(benchmark::State&, bool);
  const std::pair<const char*, chase_fn> chases[] = {
      {"floor/chase/3/", bm_floor_chase<3, false>},
      {"floor/chase/3/", bm_floor_chase<3, true>},
      {"floor/chase/4/", bm_floor_chase<4, false>},
      {"floor/chase/4/", bm_floor_chase<4, true>},
      {"floor/chase_checked/3/", bm_floor_chase<3, false, true>},
      {"floor/chase_checked/3/", bm_floor_chase<3, true, true>},
      {"floor/chase_checked/4/", bm_floor_chase<4, false, true>},
      {"floor/chase_checked/4/", bm_floor_chase<4, true, true>},
      {"floor/chase_sv/3/", bm_floor_chase<3, false, false, 2>},
      {"floor/chase_sv/3/", bm_floor_chase<3, true, false, 2>},
      {"floor/chase_sv_checked/3/", bm_floor_chase<3, false, true, 2>},
      {"floor/chase_sv_checked/3/", bm_floor_chase<3, true, true, 2>}};
  for (const bool random : {false, true})
    for (std::size_t i = 0; i < std::size(chases); ++i)
      benchmark::RegisterBenchmark((std::string(chases[i].first) + (random ? "random_1G_of_4K" : "hot") +
                                    (i % 2 ? "_chained" : ""))
                                       .c_str(),
                                   chases[i].second, random);

  register_format<genpt::x86_64>("x86_64", genpt::x86_64::config{}, {12, 21, 30});
  register_format<genpt::amdv1>("amdv1", genpt::amdv1::config{.starting_level = 3},
                                {12, 16, 20, 21, 30});
  register_format<genpt::armv8_4k_s1>("armv8_4k_s1", genpt::armv8_4k_s1::config{}, {12, 16, 21, 30});
  register_format<genpt::armv8<16, 1>>("armv8_64k_s1", genpt::armv8<16, 1>::config{},
                                       {16, 21, 29}, false);
  register_format<genpt::vtd_ss>("vtd_ss", genpt::vtd_ss::config{}, {12, 21, 30});
  register_format<genpt::ept>("ept", genpt::ept::config{.features = genpt::ept::ad}, {12, 21, 30});
  register_format<genpt::riscv>(
      "riscv_sv39", genpt::riscv::config{.levels = 3, .features = genpt::riscv::sign_extend | genpt::riscv::svnapot},
      {12, 16, 21, 30});
  return true;
}

const bool registered = register_all();

}  // namespace
