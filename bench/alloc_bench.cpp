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
//   floor/store_clean_<insn>/<pages>   the incoherent rows' floor as a row of
//                 its own, on a buffer of its own: store the PTEs of one range
//                 and write each line back once (ns_per_range, the median
//                 batch). Not to be divided into the map rows: the page a
//                 buffer lands on sets its speed (store_clean_floor below)
//   floor/check_store_clean_<insn>/<pages>   the same, testing each item
//                 (a load and a branch) before its store, as map tests that
//                 the items it fills are empty
// The incoherent_<insn> rows time one batch of each floor, on the very
// items their maps fill, after each batch of maps and report the medians
// of the per-iteration ratios:
// ratio_to_floor, ratio_to_checked and ratio_to_called (the checked floor
// with each range's work in a call of its own, as a map is one call), and
// the floors' own medians per range as timed there: floor_ns,
// checked_floor_ns, called_floor_ns and store_after_floor_ns (the checked
// floor with one store to memory after each range's fence).
// Targets: incoherent map 256x4K <= 1.5x heap; incoherent_<insn> <= 1.2x its floor.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_stats.hpp"

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/deferred_free.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "genpt/walk/x86_64.hpp"

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
/// the PTE-like values into `pages` empty items, then write each line they
/// touch back once with `insn` (cache_ops_x86::clean: one instruction per
/// line and one SFENCE). batch_seconds() times one batch of `batch` ranges,
/// as bm_map times its maps, between two untimed passes that zero the
/// items and write their lines back (empty_and_write_back). With `check`,
/// each item is first tested to be empty (a load and a branch), as map
/// tests the items it fills.
///
/// Where the floor's items lie matters: on this VM a store and write-back
/// of one line costs about 90 ns in some 4 KiB pages and 180 ns in others
/// of the same process, page by page and stable over time (the host's
/// placement of the guest's memory). So the map rows run their floors on
/// the very items their maps fill (`firsts`: the first item of each
/// range, in the table), and the floor rows on a buffer of their own.
/// The map rows time one batch of this floor after each batch of their
/// own, so a ratio compares two phases a few microseconds apart: the store
/// speed of this VM moves by up to 3x from one second to the next.
class store_clean_floor {
 public:
  /// How each range's work runs: inline in the batch loop; as a call of its
  /// own (as each map is one call); or inline, then one store to memory
  /// after the range's fence (as a call's return-address push is one).
  enum class shape : std::uint8_t { loop, call, store_after };

  store_clean_floor(std::uint64_t pages, genpt::cache_ops_x86::insn insn, bool check,
                    std::vector<std::uint64_t*> firsts = {}, shape sh = shape::loop)
      : pages_(pages), ops_(insn), check_(check), shape_(sh), firsts_(std::move(firsts)) {
    if (firsts_.empty()) {
      own_ = static_cast<std::uint64_t*>(::operator new(batch * 4096, std::align_val_t{4096}));
      std::memset(own_, 0, batch * 4096);
      for (std::uint64_t k = 0; k < batch; ++k) firsts_.push_back(own_ + k * 512);
    }
  }
  store_clean_floor(const store_clean_floor&) = delete;
  store_clean_floor& operator=(const store_clean_floor&) = delete;
  ~store_clean_floor() {
    if (own_) ::operator delete(own_, std::align_val_t{4096});
    if (bad_) std::abort();  // the check's loads are used, and right
  }

  double batch_seconds() {
    empty_and_write_back();  // every timed pass starts from the same state (below)
    const auto t0 = clock_type::now();
    switch (shape_) {
      case shape::loop:
        for (std::uint64_t k = 0; k < batch; ++k) fill(firsts_[k], k << 21);
        break;
      case shape::call:
        for (std::uint64_t k = 0; k < batch; ++k) fill_called(firsts_[k], k << 21);
        break;
      case shape::store_after:
        for (std::uint64_t k = 0; k < batch; ++k) {
          fill(firsts_[k], k << 21);
          after_ = k;  // volatile: one store, after the fence
        }
        break;
    }
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    empty_and_write_back();  // as the next map expects them, and in the same state
    return s;
  }

 private:
  /// One range: its items (tested first with check_), then their lines.
  [[gnu::always_inline]] void fill(std::uint64_t* t, std::uint64_t oa) {
    if (check_) {
      for (std::uint64_t i = 0; i < pages_; ++i) {
        if (t[i] != 0) [[unlikely]]
          ++bad_;
        t[i] = (oa + (i << 12)) | 0x67;
      }
    } else {
      for (std::uint64_t i = 0; i < pages_; ++i) t[i] = (oa + (i << 12)) | 0x67;
    }
    benchmark::ClobberMemory();
    ops_.clean(t, pages_ * 8);
  }
  /// fill() as a call of its own, as a map is one call.
  [[gnu::noinline]] void fill_called(std::uint64_t* t, std::uint64_t oa) { fill(t, oa); }

  /// Untimed: zeroes every range's items and writes their lines back, one
  /// range at a time, as the floor itself does. Each timed pass, and the
  /// map batch after the floors, starts right after one of these, so all
  /// meet their lines in the same state. What ran before matters: right
  /// after the unmap batch the plain floor read 105 ns per range, and
  /// after a pass like this one 200 ns, on the same lines.
  void empty_and_write_back() {
    for (std::uint64_t k = 0; k < batch; ++k) {
      std::memset(firsts_[k], 0, pages_ * 8);
      benchmark::ClobberMemory();
      ops_.clean(firsts_[k], pages_ * 8);
    }
  }

  std::uint64_t pages_;
  genpt::cache_ops_x86 ops_;
  bool check_;
  shape shape_;
  volatile std::uint64_t after_ = 0;
  std::vector<std::uint64_t*> firsts_;
  std::uint64_t* own_ = nullptr;
  std::uint64_t bad_ = 0;
};

/// A walk_memory over this process's heap_levels tables, which lie at
/// their oa (heap_levels::linear_offset() is 0: an oa is the table's
/// address), remembering the last oa read: after a walk to a 4K page, the
/// oa of its leaf item.
struct leaf_finder {
  genpt::oa_t last = 0;
  bool read64(genpt::oa_t oa, std::uint64_t& out) noexcept {
    last = oa;
    // The oa is the address of a word of a live table of this thread's
    // (above), 8-byte aligned as the walker only asks for aligned oas.
    out = *reinterpret_cast<const std::uint64_t*>(static_cast<std::uintptr_t>(oa));
    return true;
  }
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
  constexpr bool has_floor = std::is_same_v<Alloc, incoherent_x86_t>;
  // Build every path once: later maps allocate nothing. The floors of the
  // incoherent_<insn> rows fill the same items (the first of each range,
  // found by the spec walker over the table's memory).
  std::vector<std::uint64_t*> firsts;
  for (std::uint64_t k = 0; k < batch; ++k) {
    if (!pt.map(va_base + k * stride, 0x1000, len, genpt::prot::read | genpt::prot::write)) {
      state.SkipWithError("map failed");
      return;
    }
    if constexpr (has_floor) {
      leaf_finder finder;
      const auto w = genpt::hw_walker<x86_64>::walk({}, pt.hw_info().root, va_base + k * stride, {}, finder);
      if (!w || w.t.oa != 0x1000) {
        state.SkipWithError("the spec walk of a mapped page failed");
        return;
      }
      // The leaf item's oa is its address (leaf_finder).
      firsts.push_back(reinterpret_cast<std::uint64_t*>(static_cast<std::uintptr_t>(finder.last)));
    }
    pt.unmap(va_base + k * stride, len);
  }
  // Issue 15's target: <= 1.2x storing the PTEs and writing each line back
  // once; ratio_to_checked: the same floor when each item is tested before
  // its store, as map must; ratio_to_called: that checked floor with each
  // range in a call of its own, as each map is; store_after_floor_ns: the
  // checked floor with one store to memory after each range's fence. Each iteration times one batch of each floor
  // right after its own maps; the ratios are the medians of those of the
  // iterations.
  std::optional<store_clean_floor> plain, checked, called, store_after;
  if constexpr (has_floor) {
    plain.emplace(pages, insn, false, firsts);
    checked.emplace(pages, insn, true, firsts);
    called.emplace(pages, insn, true, firsts, store_clean_floor::shape::call);
    store_after.emplace(pages, insn, true, firsts, store_clean_floor::shape::store_after);
  }
  std::vector<double> to_plain, to_checked, to_called, plain_s, checked_s, called_s, store_after_s;
  double map_seconds = 0;
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    for (std::uint64_t k = 0; k < batch; ++k)
      benchmark::DoNotOptimize(pt.map(va_base + k * stride, 0x1000 + (k << 21), len, genpt::prot::read | genpt::prot::write));
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    map_seconds += s;
    for (std::uint64_t k = 0; k < batch; ++k) pt.unmap(va_base + k * stride, len);
    if constexpr (has_floor) {
      plain_s.push_back(plain->batch_seconds());
      checked_s.push_back(checked->batch_seconds());
      called_s.push_back(called->batch_seconds());
      store_after_s.push_back(store_after->batch_seconds());
      to_plain.push_back(s / plain_s.back());
      to_checked.push_back(s / checked_s.back());
      to_called.push_back(s / called_s.back());
    }
  }
  // The row's time is one batch of 64 maps and 64 unmaps (and, for the
  // incoherent_<insn> rows, one batch of each floor); ns_per_map is the map alone.
  const double calls = static_cast<double>(state.iterations()) * static_cast<double>(batch);
  if (calls > 0) state.counters["ns_per_map"] = map_seconds * 1e9 / calls;
  if (!to_plain.empty()) {
    state.counters["ratio_to_floor"] = median_of(to_plain);
    state.counters["ratio_to_checked"] = median_of(to_checked);
    // The floors' own medians, per range, as timed inside this row.
    state.counters["floor_ns"] = median_of(plain_s) * 1e9 / static_cast<double>(batch);
    state.counters["checked_floor_ns"] = median_of(checked_s) * 1e9 / static_cast<double>(batch);
    state.counters["ratio_to_called"] = median_of(to_called);
    state.counters["called_floor_ns"] = median_of(called_s) * 1e9 / static_cast<double>(batch);
    state.counters["store_after_floor_ns"] = median_of(store_after_s) * 1e9 / static_cast<double>(batch);
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
