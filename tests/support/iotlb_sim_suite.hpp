// tests/support/iotlb_sim_suite.hpp - the typed suite `iotlb_sim`: the
// flush policies against a simulated IOTLB.
//
// A seeded random sequence of map / unmap / sync runs on each format and
// configuration, with the simulated IOTLB (support/sim_iotlb.hpp) filled by
// walks of random addresses between operations. Each test states one
// promise of a policy:
//  * after every sync the cache holds no entry that disagrees with the table
//    (flush_range, flush_range_no_gaps, queued gathers);
//  * flush_range makes exactly one flush call per sync of a non-empty gather
//    and none in between;
//  * flush_range_no_gaps never invalidates a va that did not change.
// Instantiate over a config list with sim_types<List> (configs with
// `static constexpr bool iotlb_sim = false` are left out), or through
// support/battery.hpp.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "genpt/format/armv8.hpp"
#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"
#include "support/typed_configs.hpp"
#include "support/sim_iotlb.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::iotlb_flush;
using genpt::va_t;

/// What the harness learns from the flush sink.
struct flush_observer {
  virtual void on_flush(const iotlb_flush& f) = 0;
  /// A break-before-make invalidate-now (ARMv8 map over an empty table):
  /// not one of the per-sync calls.
  virtual void on_flush_now(const iotlb_flush& f) = 0;

 protected:
  ~flush_observer() = default;
};

/// IOTLB sink forwarding to the harness (no flush_all: a queued sync
/// arrives as one flush with `all` set).
struct observer_sink {
  flush_observer* o = nullptr;
  void flush(const iotlb_flush& f) noexcept { o->on_flush(f); }
  void flush_now(const iotlb_flush& f) noexcept { o->on_flush_now(f); }
};

/// Which policy a run uses.
enum class policy { range, no_gaps, queued };

/// Outcome of one random run.
struct run_result {
  unsigned syncs = 0;
  unsigned flushes = 0;
  unsigned stale_after_sync = 0;      ///< syncs after which the cache disagreed
  std::string first_stale;
  unsigned extra_calls = 0;           ///< flush_range: calls other than one per sync
  unsigned unchanged_flushed = 0;     ///< flushes covering va that did not change
  std::string first_unchanged;
  unsigned bad_requests = 0;          ///< requests breaking the gather invariants
  std::string first_bad;
  std::size_t cached_leaves = 0;      ///< the sim cached something at all
  std::size_t cached_tables = 0;
  std::int64_t live_after = -1;
};

template <class Config, class Policy>
class harness final : public flush_observer {
  using format = typename Config::format;
  using table_t = genpt::page_table<format, typename genpt::test::alloc_of<Config>::type, Policy>;
  using traits = genpt::format_traits<format>;

 public:
  explicit harness(std::uint32_t seed) : rng_(seed) {}

  run_result run(unsigned ops, bool queued) {
    {
      auto r = table_t::create(Config::config(), genpt::test::alloc_of<Config>::make(&stats_),
                               Policy{observer_sink{this}});
      if (!r) {
        res_.first_bad = "create failed";
        ++res_.bad_requests;
        return res_;
      }
      pt_.emplace(std::move(*r));
      setup_regions();
      tracker_.emplace(regions_);
      snap_ = tracker_->take(*pt_);
      std::optional<genpt::gather> g;
      if (queued)
        g.emplace(genpt::queued);
      else
        g.emplace();
      for (unsigned i = 0; i < ops; ++i) {
        step(*g);
        for (unsigned k = 0; k < 6; ++k) sim_.fill(*pt_, pick_va(rand_level()));
      }
      sync(*g);
      res_.cached_leaves = max_leaves_;
      res_.cached_tables = max_tables_;
      pt_.reset();
    }
    res_.live_after = genpt::test::live(stats_);
    return res_;
  }

  void on_flush(const iotlb_flush& f) override {
    ++res_.flushes;
    ++calls_;
    check_request(f);
    if (!f.all) {
      // No-gaps bookkeeping: what changed since the last snapshot joins the
      // pending changes; the flushed range must lie inside them.
      const auto now = tracker_->take(*pt_);
      genpt::test::change_tracker<table_t>::diff(snap_, now, dirty_);
      snap_ = now;
      genpt::test::va_set allowed = dirty_;
      if (in_map_) allowed.add(map_va_, map_last_);  // rolled-back leaves changed transiently
      if (!allowed.contains(f.va, f.last)) note(res_.unchanged_flushed, res_.first_unchanged, f);
      // A map's own gather is synced inside it; what it flushed stays
      // pending for the caller's gather, which may hold the same va.
      if (!in_map_) dirty_.remove(f.va, f.last);
    }
    sim_.invalidate(f);
  }
  void on_flush_now(const iotlb_flush& f) override {
    check_request(f);
    sim_.invalidate(f);
  }

 private:
  void setup_regions() {
    const genpt::table_info info = pt_->info();
    for (const genpt::test::va_window& w : Config::windows()) {
      unsigned lg2 = traits::item_lg2(2) + 2;
      if (lg2 > w.span_lg2()) lg2 = w.span_lg2();
      if (lg2 > 44) lg2 = 44;
      const std::uint64_t size_m1 = (std::uint64_t{1} << lg2) - 1;
      // A lower window: its start; an upper (sign-extended/TTBR1) one: its end.
      const std::uint64_t base = w.first == 0 ? 0 : w.last - size_m1;
      regions_.push_back({base, base + size_m1});
      region_lg2_.push_back(lg2);
    }
    for (unsigned k = 0; k < 3; ++k) {
      const unsigned s = traits::item_lg2(k);
      if (s + 1 < region_lg2_.front() && s + 2 < info.oa_lg2) levels_ = k + 1;
    }
    oa_mask_ = (std::uint64_t{1} << (info.oa_lg2 - 1)) - 1;
    min_lg2_ = static_cast<unsigned>(std::countr_zero(info.pgsize_bitmap));
  }

  unsigned rand_level() {
    const unsigned r = static_cast<unsigned>(rng_() % 10);
    const unsigned k = r < 6 ? 0u : r < 9 ? 1u : 2u;
    return k < levels_ ? k : levels_ - 1;
  }
  std::uint64_t pick_va(unsigned k) {
    const std::size_t w = rng_() % regions_.size();
    const std::uint64_t base = regions_[w].first;
    const unsigned rlg2 = region_lg2_[w];
    std::uint64_t off = 0;
    for (unsigned l = k; l < 3; ++l) {
      const unsigned s = traits::item_lg2(l);
      if (s >= rlg2) break;
      off += (rng_() % (l == 0 ? 8 : 4)) << s;
    }
    off &= (std::uint64_t{1} << rlg2) - 1;
    return base + off;
  }

  void step(genpt::gather& g) {
    const unsigned r = static_cast<unsigned>(rng_() % 20);
    const unsigned k = rand_level();
    const va_t va = pick_va(k);
    const std::uint64_t n = 1 + rng_() % (k == 0 ? 8 : 3);
    std::uint64_t len = n << traits::item_lg2(k);
    const std::uint64_t room = regions_end(va) - va + 1;
    if (len > room) len = room;
    len &= ~((std::uint64_t{1} << min_lg2_) - 1);
    if (len == 0) return;
    const auto before = tracker_->take(*pt_);
    snap_changes_from(before);
    if (r < 10) {
      const std::uint64_t oa = (va + ((rng_() % 4) << traits::item_lg2(levels_ - 1))) & oa_mask_;
      const genpt::prot p = (rng_() & 1) ? genpt::prot::read : genpt::prot::read | genpt::prot::write;
      const unsigned calls = calls_;
      in_map_ = true;
      map_va_ = va;
      map_last_ = va + (len - 1);
      (void)pt_->map(va, oa, len, p);
      in_map_ = false;
      if (is_range_policy() && calls_ - calls > 1) ++res_.extra_calls;
    } else if (r < 18) {
      const unsigned calls = calls_;
      pt_->unmap(va, len, g);
      if (is_range_policy() && calls_ != calls) ++res_.extra_calls;
    } else {
      sync(g);
    }
    end_op();
  }

  void sync(genpt::gather& g) {
    snap_changes_from(tracker_->take(*pt_));
    const bool had = !g.empty();
    const unsigned calls = calls_;
    pt_->sync(g);
    ++res_.syncs;
    if (is_range_policy() && calls_ - calls != (had ? 1u : 0u)) ++res_.extra_calls;
    const std::vector<std::string> st = sim_.stale(*pt_);
    if (!st.empty()) {
      if (res_.stale_after_sync++ == 0) res_.first_stale = st.front();
    }
    end_op();
  }

  /// Folds what changed since the last snapshot into the pending set.
  void snap_changes_from(const typename genpt::test::change_tracker<table_t>::snapshot& now) {
    genpt::test::change_tracker<table_t>::diff(snap_, now, dirty_);
    snap_ = now;
  }
  void end_op() {
    snap_changes_from(tracker_->take(*pt_));
    if (sim_.leaves() > max_leaves_) max_leaves_ = sim_.leaves();
    if (sim_.tables() > max_tables_) max_tables_ = sim_.tables();
  }

  void check_request(const iotlb_flush& f) {
    const std::uint64_t min_m1 = (std::uint64_t{1} << min_lg2_) - 1;
    const bool ok = f.all ||
                    ((f.va & min_m1) == 0 && ((f.last + 1) & min_m1) == 0 && f.va <= f.last &&
                     (f.leaf_levels | f.table_levels) != 0 &&
                     (f.table_levels != 0) == f.tables_freed);
    if (!ok) note(res_.bad_requests, res_.first_bad, f);
  }
  static void note(unsigned& count, std::string& first, const iotlb_flush& f) {
    if (count++ == 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "va 0x%llx last 0x%llx leaf 0x%x table 0x%x freed %d",
                    static_cast<unsigned long long>(f.va), static_cast<unsigned long long>(f.last),
                    unsigned{f.leaf_levels}, unsigned{f.table_levels}, int{f.tables_freed});
      first = buf;
    }
  }

  std::uint64_t regions_end(va_t va) const {
    for (const auto& [a, b] : regions_)
      if (va >= a && va <= b) return b;
    return va;
  }
  static constexpr bool is_range_policy() {
    return std::is_same_v<Policy, genpt::flush_range<observer_sink>>;
  }

  std::mt19937_64 rng_;
  genpt::level_stats stats_;
  std::optional<table_t> pt_;
  genpt::test::sim_iotlb<table_t> sim_;
  std::optional<genpt::test::change_tracker<table_t>> tracker_;
  typename genpt::test::change_tracker<table_t>::snapshot snap_;
  genpt::test::va_set dirty_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> regions_;
  std::vector<unsigned> region_lg2_;
  unsigned levels_ = 1;
  unsigned min_lg2_ = 12;
  std::uint64_t oa_mask_ = 0;
  unsigned calls_ = 0;
  bool in_map_ = false;
  va_t map_va_ = 0, map_last_ = 0;
  std::size_t max_leaves_ = 0, max_tables_ = 0;
  run_result res_;
};

constexpr unsigned kOps = 300;
constexpr std::uint32_t kSeeds[] = {1, 2};

template <class Config>
class iotlb_sim : public ::testing::Test {
 protected:
  template <class Policy>
  static std::vector<run_result> runs(bool queued = false) {
    std::vector<run_result> out;
    for (const std::uint32_t seed : kSeeds) out.push_back(harness<Config, Policy>(seed).run(kOps, queued));
    return out;
  }
  static void expect_sane(const run_result& r) {
    EXPECT_GT(r.syncs, 10u);
    EXPECT_GT(r.flushes, 0u);
    EXPECT_GT(r.cached_leaves, 0u) << "the simulated IOTLB never cached a leaf";
    EXPECT_GT(r.cached_tables, 0u) << "the simulated walk cache never cached a table pointer";
    EXPECT_EQ(r.bad_requests, 0u) << r.first_bad;
    EXPECT_EQ(r.live_after, 0) << "tables leaked";
  }
};
TYPED_TEST_SUITE_P(iotlb_sim);

TYPED_TEST_P(iotlb_sim, flush_range_leaves_no_stale_entry_after_sync) {
  for (const run_result& r : TestFixture::template runs<genpt::flush_range<observer_sink>>()) {
    TestFixture::expect_sane(r);
    EXPECT_EQ(r.stale_after_sync, 0u) << r.first_stale;
  }
}

TYPED_TEST_P(iotlb_sim, flush_range_calls_the_sink_once_per_sync) {
  for (const run_result& r : TestFixture::template runs<genpt::flush_range<observer_sink>>()) {
    TestFixture::expect_sane(r);
    EXPECT_EQ(r.extra_calls, 0u);
  }
}

TYPED_TEST_P(iotlb_sim, no_gaps_leaves_no_stale_entry_after_sync) {
  for (const run_result& r : TestFixture::template runs<genpt::flush_range_no_gaps<observer_sink>>()) {
    TestFixture::expect_sane(r);
    EXPECT_EQ(r.stale_after_sync, 0u) << r.first_stale;
  }
}

TYPED_TEST_P(iotlb_sim, no_gaps_never_invalidates_unchanged_va) {
  for (const run_result& r : TestFixture::template runs<genpt::flush_range_no_gaps<observer_sink>>()) {
    TestFixture::expect_sane(r);
    EXPECT_EQ(r.unchanged_flushed, 0u) << r.first_unchanged;
  }
}

TYPED_TEST_P(iotlb_sim, queued_gather_leaves_no_stale_entry_after_its_flush_all) {
  for (const run_result& r : TestFixture::template runs<genpt::flush_range_no_gaps<observer_sink>>(true)) {
    TestFixture::expect_sane(r);
    EXPECT_EQ(r.stale_after_sync, 0u) << r.first_stale;
  }
}

REGISTER_TYPED_TEST_SUITE_P(iotlb_sim, flush_range_leaves_no_stale_entry_after_sync,
                            flush_range_calls_the_sink_once_per_sync,
                            no_gaps_leaves_no_stale_entry_after_sync,
                            no_gaps_never_invalidates_unchanged_va,
                            queued_gather_leaves_no_stale_entry_after_its_flush_all);

/// True unless the config opts out (`static constexpr bool iotlb_sim = false`).
template <class Config>
constexpr bool sim_runs() {
  if constexpr (requires { Config::iotlb_sim; })
    return static_cast<bool>(Config::iotlb_sim);
  else
    return true;
}
template <class Config>
struct in_iotlb_sim : std::bool_constant<sim_runs<Config>()> {};
/// The configs of list L the simulation runs, as ::testing::Types.
template <class L>
using sim_types = genpt::test::gtest_types<genpt::test::filter_configs<in_iotlb_sim, L>>;

}  // namespace
