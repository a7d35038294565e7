// tests/support/dirty_cut_protect_suite.hpp - the format-agnostic promises
// of read_and_clear_dirty, set_dirty, cut and protect (issue 7), typed over
// format configurations (support/format_configs.hpp).
//
// Three suites, instantiated from each format's own test file:
//
//   dirty_tracking     configs that track dirty state (Config::dirty, default
//                      true): every entry size, every item of a contiguous
//                      entry, no_clear, clipping, gathering, holes, a seeded
//                      random harvest against a reference model, and a
//                      writer thread racing the harvester;
//   dirty_unsupported  configs that do not (e.g. ARMv8 without DBM):
//                      not_supported, nothing changed;
//   cut_and_protect    every config: cut + unmap of half of every entry size
//                      up to 1 GiB with every page checked, the no-op,
//                      not_found, misaligned and no_memory cases, protect
//                      round trips, edge cutting, no_cut, holes, and a
//                      simulated IOTLB that must hold nothing stale.
//
// A suite knows a format only through page_table's public API, info(), the
// format's attrs_from_prot and, for dirty state, its is_write_dirty hook.
// Every test ends with the allocator's live-table count back at zero, and
// with the hardware walker (support/walk_check.hpp) agreeing with
// iova_to_phys and for_each_leaf on every entry left; cuts and protects,
// failed ones included, are walked too.
//
//   #include "support/dirty_cut_protect_suite.hpp"
//   INSTANTIATE_TYPED_TEST_SUITE_P(my_format, cut_and_protect, my_configs,
//                                  genpt::test::config_names);
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"
#include "support/reference_model.hpp"
#include "support/sim_iotlb.hpp"
#include "support/table_helpers.hpp"
#include "support/walk_check.hpp"

namespace genpt::test {

/// Config::dirty, or true: whether the config tracks dirty state.
template <class Config>
constexpr bool config_tracks_dirty() {
  if constexpr (requires { Config::dirty; })
    return Config::dirty;
  else
    return true;
}

/// Config::uncuttable, or 0: a bitmap of the entry sizes cut answers
/// not_supported for (AMDv1 1T..128T runs: no 512G single-item leaf).
template <class Config>
constexpr std::uint64_t uncuttable_sizes() {
  if constexpr (requires { Config::uncuttable; })
    return Config::uncuttable;
  else
    return 0;
}

/// A fixed seed per config name (FNV-1a), or GENPT_RANDOM_SEED when set.
inline std::uint64_t dcp_seed(const char* name) {
  if (const char* env = std::getenv("GENPT_RANDOM_SEED")) return std::strtoull(env, nullptr, 0);
  std::uint64_t h = 0xcbf29ce484222325;
  for (const char* c = name; *c; ++c) h = (h ^ static_cast<unsigned char>(*c)) * 0x100000001b3;
  return h;
}

/// Fixture shared by the three suites: one fresh table of `Config` per
/// test, behind an allocator that fails on demand, with a recording flush.
template <class Config>
class dcp_fixture : public ::testing::Test {
 protected:
  using format = typename Config::format;
  using alloc_t = genpt::fault_injecting<typename alloc_of<Config>::type>;
  using table_t = genpt::page_table<format, alloc_t, recording_flush>;
  using attrs_t = typename format::attrs;
  using leaves_t = std::vector<leaf_record<attrs_t>>;
  using span = std::pair<std::uint64_t, std::uint64_t>;

  static constexpr std::uint64_t k1G = std::uint64_t{1} << 30;

  void SetUp() override {
    auto r = table_t::create(Config::config(), alloc_t{alloc_of<Config>::make(&stats_)},
                             recording_flush{recording_sink{&flushes_}});
    ASSERT_TRUE(r.has_value()) << "create: " << genpt::to_string(r.error());
    pt_.emplace(std::move(*r));
    sizes_ = page_sizes(pt_->info().pgsize_bitmap);
    ASSERT_FALSE(sizes_.empty());
    windows_ = Config::windows();
    ASSERT_FALSE(windows_.empty());
  }
  void TearDown() override {
    if (pt_) walk_check();
    pt_.reset();
    EXPECT_EQ(live(stats_), 0) << "tables leaked";
  }

  table_t& pt() { return *pt_; }
  /// The hardware walker agrees with iova_to_phys and for_each_leaf on
  /// every leaf of the table and on random vas (support/walk_check.hpp).
  void walk_check() {
    EXPECT_EQ(check_walk_table(*pt_, nullptr, windows_, ++walk_checks_), 0u)
        << "hardware walk check " << walk_checks_;
  }
  std::uint64_t min_size() const { return std::uint64_t{1} << sizes_.front(); }
  /// First va of the first window: aligned to every page size.
  std::uint64_t base() const { return windows_.front().first; }
  attrs_t attrs(genpt::prot p) const { return format::attrs_from_prot(p, pt_->params()); }
  /// An oa for an entry of 2^s bytes: 2^s itself when that fits, else 0.
  std::uint64_t oa_for(unsigned s) const {
    return s + 1 < pt_->info().oa_lg2 ? std::uint64_t{1} << s : 0;
  }
  /// Page sizes from the second smallest up to 1 GiB (cut has work to do).
  std::vector<unsigned> cuttable_sizes() const {
    std::vector<unsigned> out;
    for (const unsigned s : sizes_)
      if (s > sizes_.front() && s <= 30) out.push_back(s);
    return out;
  }
  /// A va deep inside an entry of `size` at va0: one smallest page past its
  /// middle (for a two-page entry, its second page).
  std::uint64_t deep_point(std::uint64_t va0, std::uint64_t size) const {
    return size > 2 * min_size() ? va0 + size / 2 + min_size() : va0 + min_size();
  }
  leaves_t leaves(std::uint64_t va, std::uint64_t len) const {
    return leaves_in(*pt_, va, va + (len - 1));
  }
  /// The leaf items over [va, va + len), in va order.
  std::vector<genpt::item_view> leaf_items(std::uint64_t va, std::uint64_t len) const {
    std::vector<genpt::item_view> out;
    pt_->for_each_item(va, len, [&](const genpt::item_view& it) {
      if (it.kind == genpt::entry_kind::leaf) out.push_back(it);
    });
    return out;
  }
  /// Leaf items over [va, va + len) whose dirty state is set.
  unsigned dirty_items(std::uint64_t va, std::uint64_t len) const {
    unsigned n = 0;
    for (const auto& it : leaf_items(va, len))
      if (format::is_write_dirty(it.word, pt_->params())) ++n;
    return n;
  }
  /// read_and_clear_dirty of [va, va + len) with its own gather, synced.
  std::vector<span> harvest(std::uint64_t va, std::uint64_t len, genpt::dirty_flags f = {}) {
    span_log log;
    genpt::gather g;
    const genpt::result<void> r = pt_->read_and_clear_dirty(va, len, log, g, f);
    EXPECT_TRUE(r.has_value()) << genpt::to_string(r.error());
    pt_->sync(g);
    return log.spans;
  }
  /// Every page of the smallest size in [va, va + len): its oa, or nullopt.
  std::vector<std::optional<std::uint64_t>> pages(std::uint64_t va, std::uint64_t len) const {
    std::vector<std::optional<std::uint64_t>> out;
    for (std::uint64_t off = 0; off < len; off += min_size()) out.push_back(pt_->iova_to_phys(va + off));
    return out;
  }
  /// Translation and attributes of smallest pages of [va, va + len): the
  /// first and last three, and 4096 spread evenly over the rest.
  std::vector<std::pair<std::optional<std::uint64_t>, std::optional<attrs_t>>> page_states(
      std::uint64_t va, std::uint64_t len) const {
    std::vector<std::pair<std::optional<std::uint64_t>, std::optional<attrs_t>>> out;
    const std::uint64_t min = min_size();
    const std::uint64_t step = len / 4096 > min ? len / 4096 / min * min : min;
    std::vector<std::uint64_t> offs = {0, min, 2 * min, len - 3 * min, len - 2 * min, len - min};
    for (std::uint64_t off = 0; off < len; off += step) offs.push_back(off);
    for (const std::uint64_t off : offs) {
      std::optional<attrs_t> a;
      pt_->for_each_leaf(va + off, 1, [&](const auto& l) { a = l.attrs; });
      out.emplace_back(pt_->iova_to_phys(va + off), a);
    }
    return out;
  }

  genpt::level_stats stats_;
  std::vector<genpt::iotlb_flush> flushes_;
  std::optional<table_t> pt_;
  std::vector<unsigned> sizes_;
  std::vector<va_window> windows_;
  std::uint64_t walk_checks_ = 0;  ///< walk_check() calls so far (the seed of its random vas)
};

}  // namespace genpt::test

template <class Config>
class dirty_tracking : public genpt::test::dcp_fixture<Config> {};
template <class Config>
class dirty_unsupported : public genpt::test::dcp_fixture<Config> {};
template <class Config>
class cut_and_protect : public genpt::test::dcp_fixture<Config> {};

// ============================================================ dirty_tracking

TYPED_TEST_SUITE_P(dirty_tracking);

// Hardware may set the dirty state in any one item of a contiguous entry:
// for every entry size, dirtying each item in turn (and only that item)
// must report the whole entry once and leave every item clean.
TYPED_TEST_P(dirty_tracking, EachItemOfEveryEntrySizeReportsTheWholeEntryOnce) {
  static_assert(genpt::test::config_tracks_dirty<TypeParam>());
  const std::uint64_t va = this->base();
  for (const unsigned s : this->sizes_) {
    const std::uint64_t size = std::uint64_t{1} << s;
    ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write))
        << "2^" << s;
    this->harvest(va, size);  // writable entries may start dirty
    ASSERT_EQ(this->dirty_items(va, size), 0u) << "2^" << s;
    const auto items = this->leaf_items(va, size);
    ASSERT_FALSE(items.empty());
    for (const genpt::item_view& it : items) {
      ASSERT_TRUE(this->pt().set_dirty(it.va).has_value()) << "2^" << s << " item " << it.index;
      EXPECT_EQ(this->dirty_items(va, size), 1u) << "set_dirty writes one item";
      const auto spans = this->harvest(va, size);
      ASSERT_EQ(spans.size(), 1u) << "2^" << s << " item " << it.index;
      EXPECT_EQ(spans[0].first, va);
      EXPECT_EQ(spans[0].second, size) << "2^" << s << " item " << it.index;
      EXPECT_EQ(this->dirty_items(va, size), 0u) << "2^" << s << " item " << it.index;
    }
    EXPECT_TRUE(this->harvest(va, size).empty());
    ASSERT_EQ(this->pt().unmap(va, size), size);
  }
}

// Upstream's length for a contiguous entry looks one item short (reference
// §1.7): a range ending inside a contiguous entry reports up to its end.
TYPED_TEST_P(dirty_tracking, ASpanEndsExactlyAtTheEndOfTheRange) {
  const std::uint64_t va = this->base();
  for (const unsigned s : this->sizes_) {
    if (s == this->sizes_.front()) continue;
    const std::uint64_t size = std::uint64_t{1} << s, min = this->min_size();
    ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write));
    this->harvest(va, size);
    ASSERT_TRUE(this->pt().set_dirty(va + size - min).has_value());
    const auto spans = this->harvest(va + min, size - min, {.no_clear = true});
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(spans[0], std::make_pair(va + min, size - min)) << "2^" << s;
    const auto head = this->harvest(va, 2 * min);
    ASSERT_EQ(head.size(), 1u);
    EXPECT_EQ(head[0], std::make_pair(va, 2 * min)) << "2^" << s;
    ASSERT_EQ(this->pt().unmap(va, size), size);
  }
}

TYPED_TEST_P(dirty_tracking, NoClearReportsAndKeepsTheDirtyState) {
  const std::uint64_t va = this->base(), min = this->min_size();
  ASSERT_TRUE(this->pt().map(va, 0, min, genpt::prot::read | genpt::prot::write));
  this->harvest(va, min);
  ASSERT_TRUE(this->pt().set_dirty(va).has_value());
  this->flushes_.clear();
  EXPECT_EQ(this->harvest(va, min, {.no_clear = true}).size(), 1u);
  EXPECT_TRUE(this->flushes_.empty()) << "nothing cleaned, nothing to invalidate";
  EXPECT_EQ(this->dirty_items(va, min), 1u);
  EXPECT_EQ(this->harvest(va, min).size(), 1u);
  EXPECT_TRUE(this->harvest(va, min).empty());
}

// The span reported is the entry clipped to the range; the whole entry is
// cleaned, so the whole entry is gathered, leaf-only, at the leaf's level.
TYPED_TEST_P(dirty_tracking, SpanIsClippedAndTheWholeEntryGatheredLeafOnly) {
  const unsigned s = this->sizes_.back() > 30 ? this->cuttable_sizes().back() : this->sizes_.back();
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s, min = this->min_size();
  ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write));
  this->harvest(va, size);
  const unsigned level = this->leaves(va, size).at(0).level;
  ASSERT_TRUE(this->pt().set_dirty(va + size / 2).has_value());
  this->flushes_.clear();
  const auto spans = this->harvest(va + min, 2 * min);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0], std::make_pair(va + min, 2 * min));
  ASSERT_EQ(this->flushes_.size(), 1u);
  EXPECT_EQ(this->flushes_[0].va, va);
  EXPECT_EQ(this->flushes_[0].last, va + (size - 1));
  EXPECT_EQ(this->flushes_[0].leaf_levels, 1u << level);
  EXPECT_EQ(this->flushes_[0].table_levels, 0u);
  EXPECT_FALSE(this->flushes_[0].tables_freed);
  EXPECT_EQ(this->dirty_items(va, size), 0u);
}

TYPED_TEST_P(dirty_tracking, HolesAreSkippedAndCleanEntriesNotReported) {
  const std::uint64_t va = this->base(), min = this->min_size();
  for (const std::uint64_t k : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{5}})
    ASSERT_TRUE(this->pt().map(va + k * min, k * min, min, genpt::prot::read | genpt::prot::write));
  this->harvest(va, 8 * min);
  ASSERT_TRUE(this->pt().set_dirty(va + 1 * min).has_value());
  ASSERT_TRUE(this->pt().set_dirty(va + 5 * min + min / 2).has_value());
  const auto spans = this->harvest(va, 8 * min);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0], std::make_pair(va + min, min));
  EXPECT_EQ(spans[1], std::make_pair(va + 5 * min, min));
}

TYPED_TEST_P(dirty_tracking, SetDirtyOnAHoleIsNotFound) {
  const std::uint64_t va = this->base(), min = this->min_size();
  EXPECT_EQ(this->pt().set_dirty(va).error(), genpt::errc::not_found);
  ASSERT_TRUE(this->pt().map(va, 0, min, genpt::prot::read | genpt::prot::write));
  EXPECT_EQ(this->pt().set_dirty(va + min).error(), genpt::errc::not_found);
}

TYPED_TEST_P(dirty_tracking, BadRangesAreRejected) {
  const std::uint64_t va = this->base();
  genpt::test::span_log log;
  genpt::gather g;
  EXPECT_EQ(this->pt().read_and_clear_dirty(va, 0, log, g).error(), genpt::errc::invalid_argument);
  EXPECT_EQ(this->pt().read_and_clear_dirty(~std::uint64_t{0}, 2, log, g).error(),
            genpt::errc::overflow);
  EXPECT_TRUE(log.spans.empty());
}

// A cut keeps the dirty state: every piece of a dirty entry stays dirty,
// whichever item the hardware marked.
TYPED_TEST_P(dirty_tracking, CutKeepsTheDirtyStateOfTheEntry) {
  const std::uint64_t va = this->base(), min = this->min_size();
  for (const unsigned s : this->cuttable_sizes()) {
    const std::uint64_t size = std::uint64_t{1} << s;
    ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write));
    this->harvest(va, size);
    const auto items = this->leaf_items(va, size);
    ASSERT_TRUE(this->pt().set_dirty(items.back().va).has_value());  // the last item only
    ASSERT_TRUE(this->pt().cut(va + min).has_value()) << "2^" << s;
    const auto spans = this->harvest(va, size);
    std::uint64_t covered = 0;
    for (const auto& sp : spans) covered += sp.second;
    EXPECT_EQ(covered, size) << "2^" << s << ": every piece of the entry is still dirty";
    ASSERT_EQ(this->pt().unmap(va, size), size);
  }
}

// Random maps, unmaps, set_dirty and harvests (clearing or not) checked op
// by op against a reference model: entries from reference_model's greedy
// split, one dirty flag per entry.
TYPED_TEST_P(dirty_tracking, RandomHarvestsMatchAReferenceModel) {
  using genpt::test::model_entry;
  const std::uint64_t seed = genpt::test::dcp_seed(TypeParam::name);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto below = [&](std::uint64_t n) { return rng() % n; };
  const std::uint64_t bitmap = this->pt().info().pgsize_bitmap;
  const std::uint64_t min = this->min_size();
  // A region of 2^region_lg2 bytes at the base: large enough for a few of
  // the larger sizes, small enough that requests collide.
  unsigned region_lg2 = this->sizes_.front() + 10;
  for (const unsigned s : this->sizes_)
    if (s <= 30 && s + 3 > region_lg2) region_lg2 = s + 3;
  if (region_lg2 >= this->windows_.front().span_lg2()) region_lg2 = this->windows_.front().span_lg2() - 1;
  const std::uint64_t region = std::uint64_t{1} << region_lg2, base = this->base();
  genpt::test::reference_model model;
  std::map<std::uint64_t, bool> dirty;  // entry va -> dirty
  const unsigned ops = 4000;
  for (unsigned op = 0; op < ops; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    const unsigned kind = static_cast<unsigned>(below(10));
    const std::uint64_t va = base + below(region / min) * min;
    const std::uint64_t len = (1 + below(std::uint64_t{1} << below(region_lg2 - this->sizes_.front()))) * min;
    const std::uint64_t room = base + region - va;
    const std::uint64_t n = len < room ? len : room;
    if (kind < 3) {  // map, aligned oa so larger sizes happen
      const std::uint64_t oa = va - base;
      const bool ok = this->pt().map(va, oa, n, genpt::prot::read | genpt::prot::write).has_value();
      ASSERT_EQ(ok, model.map(bitmap, va, oa, n));
      if (ok) {
        this->harvest(va, n);  // new entries start clean in the model
        for (const model_entry* e = model.first_from(va); e && e->va <= va + (n - 1);
             e = model.first_from(genpt::test::reference_model::entry_last(*e) + 1)) {
          dirty[e->va] = false;
          if (genpt::test::reference_model::entry_last(*e) == ~std::uint64_t{0}) break;
        }
      }
    } else if (kind < 4) {
      std::vector<model_entry> removed;
      ASSERT_EQ(this->pt().unmap(va, n), model.unmap(va, n, &removed));
      for (const model_entry& e : removed) dirty.erase(e.va);
    } else if (kind < 7) {
      const model_entry* e = model.find(va);
      const genpt::result<void> r = this->pt().set_dirty(va);
      if (!e) {
        ASSERT_EQ(r.error(), genpt::errc::not_found);
      } else {
        ASSERT_TRUE(r.has_value());
        dirty[e->va] = true;
      }
    } else {
      const bool no_clear = below(4) == 0;
      std::vector<std::pair<std::uint64_t, std::uint64_t>> want;
      const std::uint64_t last = va + (n - 1);
      const model_entry* e = model.find(va);
      if (!e) e = model.first_from(va);
      for (; e && e->va <= last;) {
        const std::uint64_t e_last = genpt::test::reference_model::entry_last(*e);
        if (dirty[e->va]) {
          const std::uint64_t lo = e->va > va ? e->va : va, hi = e_last < last ? e_last : last;
          want.emplace_back(lo, hi - lo + 1);
          if (!no_clear) dirty[e->va] = false;
        }
        if (e_last == ~std::uint64_t{0}) break;
        e = model.first_from(e_last + 1);
      }
      ASSERT_EQ(this->harvest(va, n, {.no_clear = no_clear}), want);
    }
    if (op % 2000 == 1999) {  // the hardware walk agrees with the model (dirty or clean), sampled
      ASSERT_EQ(genpt::test::check_walk_table(this->pt(), &model, this->windows_, seed + op, 32, 512), 0u);
    }
  }
}

// A thread dirtying pages as hardware would while another harvests: every
// write is reported by the harvest running when it lands or by the next
// one (which starts after it), never lost to a concurrent clean.
TYPED_TEST_P(dirty_tracking, ConcurrentSetDirtyLosesNoWrite) {
  const std::uint64_t va = this->base(), min = this->min_size();
  constexpr unsigned kPages = 256, kRounds = 200;
  const std::uint64_t len = kPages * min;
  // The first half aligned (large and contiguous entries where the format
  // has them), the second half one page off (smallest pages).
  ASSERT_TRUE(this->pt().map(va, 0, len / 2, genpt::prot::read | genpt::prot::write));
  ASSERT_TRUE(this->pt().map(va + len / 2, len + min, len / 2, genpt::prot::read | genpt::prot::write));
  this->harvest(va, len);
  std::atomic<unsigned> completed{0};  // harvests finished
  std::atomic<bool> writer_done{false};
  struct write_rec {
    unsigned page, completed_before, completed_after;
  };
  std::vector<write_rec> writes;
  std::thread writer([&] {
    for (unsigned round = 0; round < kRounds; ++round)
      for (unsigned i = 0; i < kPages; ++i) {
        const unsigned before = completed.load(std::memory_order_acquire);
        genpt::result<void> r = this->pt().set_dirty(va + i * min);
        while (!r && r.error() == genpt::errc::busy) r = this->pt().set_dirty(va + i * min);
        if (!r) return;  // checked below: every write is recorded
        writes.push_back({i, before, completed.load(std::memory_order_acquire)});
      }
    writer_done.store(true, std::memory_order_release);
  });
  std::vector<std::vector<bool>> reported;  // [harvest number - 1][page]
  auto harvest = [&] {
    genpt::test::span_log log;
    genpt::gather g;
    const bool ok = this->pt().read_and_clear_dirty(va, len, log, g).has_value();
    this->pt().sync(g);
    std::vector<bool> pages(kPages);
    for (const auto& sp : log.spans)
      for (std::uint64_t p = sp.first; p < sp.first + sp.second; p += min) pages[(p - va) / min] = true;
    reported.push_back(std::move(pages));
    completed.fetch_add(1, std::memory_order_release);
    return ok;
  };
  bool all_ok = true;
  while (!writer_done.load(std::memory_order_acquire) && reported.size() < 1000000) all_ok &= harvest();
  writer.join();
  all_ok &= harvest();
  all_ok &= harvest();
  ASSERT_TRUE(all_ok);
  ASSERT_EQ(writes.size(), std::size_t{kPages} * kRounds);
  for (const write_rec& w : writes) {
    // Harvest k (0-based) completes as the (k+1)-th. A harvest that had
    // completed before set_dirty began cannot clean the state it leaves
    // (set, or found still set and left), so the reporting harvest is one
    // of numbers completed_before .. completed_after + 1: one in progress
    // at either end, or the first to begin after the write.
    bool seen = false;
    for (unsigned k = w.completed_before; k <= w.completed_after + 1 && !seen; ++k)
      seen = reported.at(k)[w.page];
    ASSERT_TRUE(seen) << "write to page " << w.page << " between harvests " << w.completed_before
                      << " and " << w.completed_after + 1 << " lost";
  }
}

REGISTER_TYPED_TEST_SUITE_P(dirty_tracking, EachItemOfEveryEntrySizeReportsTheWholeEntryOnce,
                            ASpanEndsExactlyAtTheEndOfTheRange, NoClearReportsAndKeepsTheDirtyState,
                            SpanIsClippedAndTheWholeEntryGatheredLeafOnly,
                            HolesAreSkippedAndCleanEntriesNotReported, SetDirtyOnAHoleIsNotFound,
                            BadRangesAreRejected, CutKeepsTheDirtyStateOfTheEntry,
                            RandomHarvestsMatchAReferenceModel, ConcurrentSetDirtyLosesNoWrite);

// ========================================================= dirty_unsupported

TYPED_TEST_SUITE_P(dirty_unsupported);

TYPED_TEST_P(dirty_unsupported, HarvestAndSetDirtyAreNotSupportedAndChangeNothing) {
  static_assert(!genpt::test::config_tracks_dirty<TypeParam>());
  const std::uint64_t va = this->base(), min = this->min_size();
  ASSERT_TRUE(this->pt().map(va, 0, 4 * min, genpt::prot::read | genpt::prot::write));
  const auto before = this->leaf_items(va, 4 * min);
  genpt::test::span_log log;
  genpt::gather g;
  EXPECT_EQ(this->pt().read_and_clear_dirty(va, 4 * min, log, g).error(), genpt::errc::not_supported);
  EXPECT_EQ(this->pt().set_dirty(va).error(), genpt::errc::not_supported);
  EXPECT_TRUE(g.empty());
  this->pt().sync(g);
  EXPECT_TRUE(log.spans.empty());
  const auto after = this->leaf_items(va, 4 * min);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].word, before[i].word);
}

REGISTER_TYPED_TEST_SUITE_P(dirty_unsupported, HarvestAndSetDirtyAreNotSupportedAndChangeNothing);
// Only formats with configs lacking dirty tracking (ARMv8 without DBM)
// instantiate it.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(dirty_unsupported);

// =========================================================== cut_and_protect

TYPED_TEST_SUITE_P(cut_and_protect);

// For every entry size up to 1 GiB: a cut at the middle changes no
// translation; unmapping exactly the upper half then removes exactly it,
// and the lower half still translates, checked page by page.
TYPED_TEST_P(cut_and_protect, CutThenUnmapHalfOfEveryEntrySizeKeepsTheOtherHalf) {
  const std::uint64_t va = this->base();
  for (const unsigned s : this->cuttable_sizes()) {
    const std::uint64_t size = std::uint64_t{1} << s, half = size / 2, oa = this->oa_for(s);
    ASSERT_TRUE(this->pt().map(va, oa, size, genpt::prot::read | genpt::prot::write));
    ASSERT_EQ(this->leaves(va, size).size(), 1u);
    const auto before = this->pages(va, size);
    ASSERT_TRUE(this->pt().cut(va + half).has_value()) << "2^" << s;
    ASSERT_EQ(this->pages(va, size), before) << "2^" << s << ": cut changed a translation";
    this->walk_check();
    ASSERT_EQ(this->pt().unmap(va + half, half), half) << "2^" << s;
    this->walk_check();
    const auto after = this->pages(va, size);
    for (std::size_t i = 0; i < after.size(); ++i) {
      const std::uint64_t off = i * this->min_size();
      if (off < half)
        ASSERT_EQ(after[i], std::optional<std::uint64_t>{oa + off}) << "2^" << s << " +" << off;
      else
        ASSERT_EQ(after[i], std::nullopt) << "2^" << s << " +" << off;
    }
    ASSERT_EQ(this->pt().unmap(va, half), half);
  }
}

// The deepest cut of every size (one smallest page in): va starts a
// smallest-page entry, the neighbours and the ends still translate, and
// every leaf keeps the attributes.
TYPED_TEST_P(cut_and_protect, DeepestCutOfEveryEntrySizeMakesASmallestPage) {
  const std::uint64_t va = this->base(), min = this->min_size();
  const auto a = this->attrs(genpt::prot::read | genpt::prot::noexec);
  for (const unsigned s : this->sizes_) {
    if (s == this->sizes_.front()) continue;
    const std::uint64_t size = std::uint64_t{1} << s, oa = this->oa_for(s);
    const std::uint64_t at = this->deep_point(va, size);
    ASSERT_TRUE(this->pt().map(va, oa, size, a));
    if ((genpt::test::uncuttable_sizes<TypeParam>() >> s) & 1) {
      const auto before = this->leaves(va, size);
      EXPECT_EQ(this->pt().cut(at).error(), genpt::errc::not_supported) << "2^" << s;
      EXPECT_EQ(this->leaves(va, size), before);
      ASSERT_EQ(this->pt().unmap(va, size), size);
      continue;
    }
    ASSERT_TRUE(this->pt().cut(at).has_value()) << "2^" << s;
    this->walk_check();
    bool found = false;
    this->pt().for_each_leaf(at, 1, [&](const auto& l) {
      found = true;
      EXPECT_EQ(l.va, at) << "2^" << s;
      EXPECT_EQ(l.size_lg2, this->sizes_.front()) << "2^" << s;
    });
    EXPECT_TRUE(found);
    for (const std::uint64_t off : {std::uint64_t{0}, size / 2 - min, size / 2, at - va, size - min})
      EXPECT_EQ(this->pt().iova_to_phys(va + off + 1), std::optional<std::uint64_t>{oa + off + 1})
          << "2^" << s << " +" << off;
    // Pieces only get smaller near the cut: a few hundred at most, even
    // when every level splits.
    const auto pieces = this->leaves(va, size);
    EXPECT_LE(pieces.size(), 64u * 1024u);
    for (const auto& l : pieces) {
      EXPECT_TRUE(l.attrs == a);
      EXPECT_EQ(l.oa - oa, l.va - va);
    }
    ASSERT_EQ(this->pt().unmap(va, size), size);
  }
}

TYPED_TEST_P(cut_and_protect, CutAtAnEntryBoundaryChangesNothing) {
  const unsigned s = this->cuttable_sizes().back();
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s;
  ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read));
  const auto before = this->leaves(va, size);
  const auto tables = genpt::test::live(this->stats_);
  this->flushes_.clear();
  ASSERT_TRUE(this->pt().cut(va).has_value());
  EXPECT_EQ(this->leaves(va, size), before);
  EXPECT_EQ(genpt::test::live(this->stats_), tables);
  EXPECT_TRUE(this->flushes_.empty());
}

TYPED_TEST_P(cut_and_protect, CutOfAHoleIsNotFoundAndInsideTheSmallestPageMisaligned) {
  const std::uint64_t va = this->base(), min = this->min_size();
  EXPECT_EQ(this->pt().cut(va + min).error(), genpt::errc::not_found);
  ASSERT_TRUE(this->pt().map(va, 0, min, genpt::prot::read));
  EXPECT_EQ(this->pt().cut(va + min).error(), genpt::errc::not_found);
  EXPECT_EQ(this->pt().cut(va + min / 2).error(), genpt::errc::misaligned);
  ASSERT_EQ(this->leaves(va, min).size(), 1u);
}

// Failing each allocation a cut makes, in turn, leaves every entry (and so
// every translation) exactly as it was.
TYPED_TEST_P(cut_and_protect, CutWithoutMemoryLeavesEveryEntryAsItWas) {
  const std::uint64_t va = this->base();
  for (const unsigned s : this->cuttable_sizes()) {
    const std::uint64_t size = std::uint64_t{1} << s;
    ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write));
    const auto before = this->leaves(va, size);
    const auto tables = genpt::test::live(this->stats_);
    for (std::uint64_t k = 1;; ++k) {
      this->pt().allocator().fail_after(k);
      const genpt::result<void> r = this->pt().cut(this->deep_point(va, size));
      this->pt().allocator().disarm();
      if (r) break;
      ASSERT_EQ(r.error(), genpt::errc::no_memory) << "2^" << s;
      ASSERT_EQ(this->leaves(va, size), before) << "2^" << s << " failing allocation " << k;
      this->walk_check();
      ASSERT_EQ(genpt::test::live(this->stats_), tables) << "2^" << s << " failing allocation " << k;
      ASSERT_LT(k, 8u);
    }
    EXPECT_NE(this->leaves(va, size), before);
    this->walk_check();
    ASSERT_EQ(this->pt().unmap(va, size), size);
  }
}

// TLBs may hold the old, larger entry: the cut gathers its whole range at
// its level; nothing was freed.
TYPED_TEST_P(cut_and_protect, CutGathersTheOldEntry) {
  const unsigned s = this->cuttable_sizes().back();
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s;
  ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read));
  const unsigned level = this->leaves(va, size).at(0).level;
  this->flushes_.clear();
  genpt::gather g;
  ASSERT_TRUE(this->pt().cut(va + size / 2, g).has_value());
  this->pt().sync(g);
  ASSERT_EQ(this->flushes_.size(), 1u);
  EXPECT_EQ(this->flushes_[0].va, va);
  EXPECT_EQ(this->flushes_[0].last, va + (size - 1));
  EXPECT_TRUE((this->flushes_[0].leaf_levels >> level) & 1);
  EXPECT_FALSE(this->flushes_[0].tables_freed);
}

// protect to read-only and back: every entry keeps its va, oa and size and
// ends with the attributes a fresh map with that prot gives.
TYPED_TEST_P(cut_and_protect, ProtectRoundTripsAndKeepsOutputAddresses) {
  unsigned s = 0;  // the largest size of which two and a bit fit the window
  for (const unsigned c : this->cuttable_sizes())
    if (c + 2 <= this->windows_.front().span_lg2()) s = c;
  ASSERT_NE(s, 0u);
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s, min = this->min_size();
  const std::uint64_t len = 2 * size + 3 * min;
  const genpt::prot rw = genpt::prot::read | genpt::prot::write;
  ASSERT_TRUE(this->pt().map(va, this->oa_for(s + 1), len, rw));
  const auto mapped = this->leaves(va, len);
  ASSERT_GE(mapped.size(), 3u);
  this->flushes_.clear();
  genpt::gather g;
  ASSERT_TRUE(this->pt().protect(va, len, genpt::prot::read, g).has_value());
  this->pt().sync(g);
  const auto ro = this->leaves(va, len);
  this->walk_check();
  ASSERT_EQ(ro.size(), mapped.size());
  for (std::size_t i = 0; i < ro.size(); ++i) {
    EXPECT_EQ(ro[i].va, mapped[i].va);
    EXPECT_EQ(ro[i].oa, mapped[i].oa);
    EXPECT_EQ(ro[i].size_lg2, mapped[i].size_lg2);
    EXPECT_TRUE(ro[i].attrs == this->attrs(genpt::prot::read));
  }
  ASSERT_EQ(this->flushes_.size(), 1u);
  EXPECT_EQ(this->flushes_[0].va, va);
  EXPECT_EQ(this->flushes_[0].last, va + (len - 1));
  ASSERT_TRUE(this->pt().protect(va, len, rw, g).has_value());
  this->pt().sync(g);
  EXPECT_EQ(this->leaves(va, len), mapped);
}

// Entries straddling either edge are cut first: only the range changes.
TYPED_TEST_P(cut_and_protect, ProtectCutsEntriesStraddlingEitherEdge) {
  const unsigned s = this->cuttable_sizes().back();
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s, min = this->min_size();
  const std::uint64_t oa = this->oa_for(s);
  ASSERT_TRUE(this->pt().map(va, oa, size, genpt::prot::read | genpt::prot::write));
  const std::uint64_t lo = va + size / 2 - min, hi = va + size / 2 + 2 * min;  // [lo, hi)
  genpt::gather g;
  ASSERT_TRUE(this->pt().protect(lo, hi - lo, genpt::prot::read, g).has_value());
  this->pt().sync(g);
  const auto rw = this->attrs(genpt::prot::read | genpt::prot::write);
  const auto ro = this->attrs(genpt::prot::read);
  for (const auto& l : this->leaves(va, size)) {
    const std::uint64_t l_last = l.va + ((std::uint64_t{1} << l.size_lg2) - 1);
    EXPECT_TRUE(l_last < lo || l.va >= lo) << "an entry straddles the start";
    EXPECT_TRUE(l_last < hi || l.va >= hi) << "an entry straddles the end";
    const bool inside = l.va >= lo && l.va < hi;
    EXPECT_TRUE(l.attrs == (inside ? ro : rw)) << std::hex << l.va;
    EXPECT_EQ(l.oa - oa, l.va - va);
  }
}

TYPED_TEST_P(cut_and_protect, ProtectWithNoCutRejectsStraddlingEdgesAndChangesNothing) {
  const unsigned s = this->cuttable_sizes().back();
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s, min = this->min_size();
  ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write));
  const auto before = this->leaves(va, size);
  genpt::gather g;
  const genpt::protect_flags no_cut{.no_cut = true};
  EXPECT_EQ(this->pt().protect(va + min, min, genpt::prot::read, g, no_cut).error(),
            genpt::errc::misaligned);
  EXPECT_EQ(this->pt().protect(va, size - min, genpt::prot::read, g, no_cut).error(),
            genpt::errc::misaligned);
  EXPECT_TRUE(g.empty());
  this->pt().sync(g);
  EXPECT_EQ(this->leaves(va, size), before);
  ASSERT_TRUE(this->pt().protect(va, size, genpt::prot::read, g, no_cut).has_value());
  this->pt().sync(g);
  EXPECT_TRUE(this->leaves(va, size).at(0).attrs == this->attrs(genpt::prot::read));
}

TYPED_TEST_P(cut_and_protect, ProtectSkipsHoles) {
  const std::uint64_t va = this->base(), min = this->min_size();
  ASSERT_TRUE(this->pt().map(va + min, 0, min, genpt::prot::read | genpt::prot::write));
  ASSERT_TRUE(this->pt().map(va + 6 * min, 6 * min, min, genpt::prot::read | genpt::prot::write));
  genpt::gather g;
  ASSERT_TRUE(this->pt().protect(va, 8 * min, genpt::prot::read, g).has_value());
  this->pt().sync(g);
  const auto l = this->leaves(va, 8 * min);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].va, va + min);
  EXPECT_EQ(l[1].va, va + 6 * min);
  EXPECT_TRUE(l[0].attrs == this->attrs(genpt::prot::read));
  EXPECT_TRUE(l[1].attrs == this->attrs(genpt::prot::read));
  EXPECT_EQ(this->pt().iova_to_phys(va), std::nullopt);
}

// A protect whose edge cut runs out of memory fails with no_memory and no
// page's translation or attributes changed.
TYPED_TEST_P(cut_and_protect, ProtectWithoutMemoryChangesNoPage) {
  const unsigned s = this->cuttable_sizes().back();
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s, min = this->min_size();
  ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write));
  const auto before = this->page_states(va, size);
  for (std::uint64_t k = 1;; ++k) {
    genpt::gather g;
    this->pt().allocator().fail_after(k);
    const genpt::result<void> r = this->pt().protect(va + min, size - 2 * min, genpt::prot::read, g);
    this->pt().allocator().disarm();
    this->pt().sync(g);
    if (r) break;
    ASSERT_EQ(r.error(), genpt::errc::no_memory);
    ASSERT_EQ(this->page_states(va, size), before) << "failing allocation " << k;
    this->walk_check();
    ASSERT_LT(k, 16u);
  }
  EXPECT_NE(this->page_states(va, size), before);
}

// A simulated IOTLB filled before the cut, between cut and unmap and after
// each sync never holds an entry the table disagrees with after a sync.
TYPED_TEST_P(cut_and_protect, CutSyncPartialUnmapSyncLeavesNothingStale) {
  const unsigned s = this->cuttable_sizes().back();
  const std::uint64_t va = this->base(), size = std::uint64_t{1} << s, min = this->min_size();
  ASSERT_TRUE(this->pt().map(va, this->oa_for(s), size, genpt::prot::read | genpt::prot::write));
  genpt::test::sim_iotlb<typename TestFixture::table_t> tlb;
  const std::uint64_t probes[] = {0, min, size / 4, size / 2 - min, size / 2, size / 2 + min, size - min};
  auto fill = [&] {
    for (const std::uint64_t off : probes) tlb.fill(this->pt(), va + off);
  };
  // Every flush since the last sync: also the invalidate-now calls a
  // break-before-make cut makes (ARMv8) before the sync.
  auto sync = [&](genpt::gather& g) {
    this->pt().sync(g);
    for (const auto& f : this->flushes_) tlb.invalidate(f);
    this->flushes_.clear();
  };
  this->flushes_.clear();
  fill();
  genpt::gather g;
  ASSERT_TRUE(this->pt().cut(va + size / 2, g).has_value());
  fill();  // may cache the old entry or the new pieces
  sync(g);
  EXPECT_TRUE(tlb.stale(this->pt()).empty());
  fill();
  ASSERT_EQ(this->pt().unmap(va + size / 2, size / 2, g), size / 2);
  sync(g);
  const auto stale = tlb.stale(this->pt());
  EXPECT_TRUE(stale.empty()) << stale.front();
  genpt::gather g2;
  ASSERT_TRUE(this->pt().protect(va, size / 2, genpt::prot::read, g2).has_value());
  sync(g2);
  EXPECT_TRUE(tlb.stale(this->pt()).empty());
}

REGISTER_TYPED_TEST_SUITE_P(cut_and_protect, CutThenUnmapHalfOfEveryEntrySizeKeepsTheOtherHalf,
                            DeepestCutOfEveryEntrySizeMakesASmallestPage,
                            CutAtAnEntryBoundaryChangesNothing,
                            CutOfAHoleIsNotFoundAndInsideTheSmallestPageMisaligned,
                            CutWithoutMemoryLeavesEveryEntryAsItWas, CutGathersTheOldEntry,
                            ProtectRoundTripsAndKeepsOutputAddresses,
                            ProtectCutsEntriesStraddlingEitherEdge,
                            ProtectWithNoCutRejectsStraddlingEdgesAndChangesNothing,
                            ProtectSkipsHoles, ProtectWithoutMemoryChangesNoPage,
                            CutSyncPartialUnmapSyncLeavesNothingStale);
