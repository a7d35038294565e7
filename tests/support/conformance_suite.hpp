// tests/support/conformance_suite.hpp - the format-agnostic conformance
// suite: what every format and configuration must do through the public
// page_table API.
//
// It knows a format only through its config type (support/format_configs.hpp),
// page_table's public API, info() and the format's attrs_from_prot. Expected
// page splits come from support/reference_model.hpp, never from genpt.
//
// Instantiate it from a format's own test file:
//
//   #include "support/conformance_suite.hpp"
//   using my_configs = ::testing::Types<my_config_a, my_config_b>;
//   INSTANTIATE_TYPED_TEST_SUITE_P(my_format, conformance, my_configs,
//                                  genpt::test::config_names);
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"
#include "support/reference_model.hpp"
#include "support/table_helpers.hpp"
#include "support/walk_check.hpp"

/// Fixture: one fresh table of `Config` per test, counted by level_stats,
/// with a recording flush sink; TearDown walks what is left with the
/// hardware walker (support/walk_check.hpp), destroys it and checks that no
/// table is left alive.
template <class Config>
class conformance : public ::testing::Test {
 protected:
  using format = typename Config::format;
  using table_t = genpt::page_table<format, typename genpt::test::alloc_of<Config>::type,
                                     genpt::test::recording_flush>;
  using attrs_t = typename format::attrs;
  using window = genpt::test::va_window;
  using entries = std::vector<genpt::test::model_entry>;

  void SetUp() override {
    auto r = table_t::create(Config::config(), genpt::test::alloc_of<Config>::make(&stats_),
                             genpt::test::recording_flush{genpt::test::recording_sink{&flushes_}});
    ASSERT_TRUE(r.has_value()) << "create: " << genpt::to_string(r.error());
    pt_.emplace(std::move(*r));
    sizes_ = genpt::test::page_sizes(pt_->info().pgsize_bitmap);
    ASSERT_FALSE(sizes_.empty()) << "info().pgsize_bitmap is 0";
    windows_ = Config::windows();
    ASSERT_FALSE(windows_.empty());
  }
  void TearDown() override {
    if (pt_) walk_check();
    pt_.reset();
    EXPECT_EQ(genpt::test::live(stats_), 0) << "tables leaked";
  }

  table_t& pt() { return *pt_; }
  std::uint64_t bitmap() const { return pt_->info().pgsize_bitmap; }
  std::uint64_t min_size() const { return std::uint64_t{1} << sizes_.front(); }
  attrs_t attrs(genpt::prot p) const { return format::attrs_from_prot(p, pt_->params()); }

  /// True when va lies in some window.
  bool in_any_window(std::uint64_t va) const {
    for (const window& w : windows_)
      if (w.contains(va)) return true;
    return false;
  }
  /// The window holding va (which must be in one).
  const window& window_of(std::uint64_t va) const {
    for (const window& w : windows_)
      if (w.contains(va)) return w;
    return windows_.front();
  }
  /// An oa aligned to exactly 2^s-multiples: k * 2^s reduced into the OA space.
  std::optional<std::uint64_t> oa_for(unsigned s, std::uint64_t k) const {
    const unsigned oa_lg2 = pt_->info().oa_lg2;
    if (s >= oa_lg2) return std::nullopt;
    const unsigned room = oa_lg2 - s;  // multiples of 2^s that fit
    const std::uint64_t slots = room >= 64 ? 0 : std::uint64_t{1} << room;
    return (slots ? k % slots : k) << s;
  }

  /// Every leaf of every window, without levels (the format decides those),
  /// as model entries; attrs checked separately.
  entries leaves_as_entries() const {
    entries out;
    for (const auto& l : genpt::test::snapshot(*pt_, windows_))
      out.push_back({l.va, l.oa, l.size_lg2, 0});
    return out;
  }
  std::vector<genpt::test::leaf_record<attrs_t>> all_leaves() const {
    return genpt::test::snapshot(*pt_, windows_);
  }

  /// Expects one mapped entry to translate correctly at its first byte,
  /// last byte and an odd byte in between, by iova_to_phys and by the
  /// hardware walker (which must also fault just outside it, or agree with
  /// iova_to_phys there).
  void expect_translates(const genpt::test::model_entry& e) {
    const std::uint64_t size = std::uint64_t{1} << e.size_lg2;
    EXPECT_EQ(pt_->iova_to_phys(e.va), std::optional<std::uint64_t>{e.oa});
    EXPECT_EQ(pt_->iova_to_phys(e.va + size - 1), std::optional<std::uint64_t>{e.oa + size - 1});
    EXPECT_EQ(pt_->iova_to_phys(e.va + size / 2 + 1),
              std::optional<std::uint64_t>{e.oa + size / 2 + 1});
    std::vector<std::uint64_t> vas{e.va, e.va + size - 1, e.va + size / 2 + 1};
    if (e.va != 0) vas.push_back(e.va - 1);
    if (e.va + size != 0) vas.push_back(e.va + size);
    EXPECT_EQ(genpt::test::check_walk_agrees(*pt_, nullptr, windows_, vas), 0u);
  }
  /// The hardware walker agrees with iova_to_phys and for_each_leaf on
  /// every leaf of the table and on random vas (support/walk_check.hpp).
  void walk_check() {
    EXPECT_EQ(genpt::test::check_walk_table(*pt_, nullptr, windows_, ++walk_checks_), 0u)
        << "hardware walk check " << walk_checks_;
  }

  static std::vector<genpt::prot> prot_combinations() {
    using genpt::prot;
    return {prot::read,
            prot::write,
            prot::read | prot::write,
            prot::read | prot::write | prot::cache,
            prot::read | prot::noexec,
            prot::read | prot::write | prot::mmio,
            prot::read | prot::priv,
            prot::write | prot::cache | prot::noexec | prot::priv};
  }

  genpt::level_stats stats_;
  std::vector<genpt::iotlb_flush> flushes_;
  std::optional<table_t> pt_;
  std::vector<unsigned> sizes_;
  std::vector<window> windows_;
  std::uint64_t walk_checks_ = 0;  ///< walk_check() calls so far (the seed of its random vas)
};

TYPED_TEST_SUITE_P(conformance);

// Every size of info().pgsize_bitmap, with every prot combination, maps to
// exactly one leaf of that size with attrs_from_prot's attributes, translates
// at any byte, and unmaps whole.
TYPED_TEST_P(conformance, EveryPageSizeRoundTripsWithEveryProt) {
  unsigned tested = 0;
  for (const unsigned s : this->sizes_) {
    const std::uint64_t size = std::uint64_t{1} << s;
    for (const auto& w : this->windows_) {
      if (w.span_lg2() <= s) continue;  // a page of this size needs two slots here
      const std::uint64_t va = w.first + size;
      const auto oa = this->oa_for(s, 3);
      if (!oa) continue;
      for (const genpt::prot p : this->prot_combinations()) {
        if (!genpt::format_traits<typename TestFixture::format>::prot_supported(p, this->pt().params())) {
          // A flag the format cannot express is refused, never dropped
          // (issue 10, defect 8).
          const auto r = this->pt().map(va, *oa, size, p);
          ASSERT_FALSE(r.has_value()) << "size 2^" << s;
          EXPECT_EQ(r.error(), genpt::errc::not_supported);
          EXPECT_TRUE(this->all_leaves().empty());
          continue;
        }
        ASSERT_TRUE(this->pt().map(va, *oa, size, p).has_value()) << "size 2^" << s;
        const auto leaves = this->all_leaves();
        ASSERT_EQ(leaves.size(), 1u) << "size 2^" << s;
        EXPECT_EQ(leaves[0].va, va);
        EXPECT_EQ(leaves[0].oa, *oa);
        EXPECT_EQ(leaves[0].size_lg2, s);
        EXPECT_TRUE(leaves[0].attrs == this->attrs(p)) << "size 2^" << s;
        this->expect_translates({va, *oa, s, 0});
        EXPECT_EQ(this->pt().iova_to_phys(va - 1), std::nullopt);
        EXPECT_EQ(this->pt().iova_to_phys(va + size), std::nullopt);
        EXPECT_EQ(this->pt().unmap(va, size), size);
        EXPECT_EQ(this->pt().iova_to_phys(va), std::nullopt);
        EXPECT_TRUE(this->all_leaves().empty());
      }
      ++tested;
    }
  }
  EXPECT_GE(tested, 1u);
}

// The first and the last page of every size that fits, in every window:
// the edges of the VA space translate and unmap like any other page.
TYPED_TEST_P(conformance, FirstAndLastPagesOfEveryWindowRoundTrip) {
  for (const auto& w : this->windows_) {
    for (const unsigned s : this->sizes_) {
      if (w.span_lg2() < s + 1) continue;
      const std::uint64_t size = std::uint64_t{1} << s;
      const std::uint64_t first = w.first;
      const std::uint64_t last_page = w.last - (size - 1);
      const auto oa1 = this->oa_for(s, 1);
      const auto oa2 = this->oa_for(s, 2);
      if (!oa1 || !oa2) continue;
      ASSERT_TRUE(this->pt().map(first, *oa1, size, genpt::prot::read).has_value());
      ASSERT_TRUE(this->pt().map(last_page, *oa2, size, genpt::prot::write).has_value());
      const typename TestFixture::entries want{{first, *oa1, s, 0}, {last_page, *oa2, s, 0}};
      EXPECT_EQ(this->leaves_as_entries(), want) << "size 2^" << s;
      this->expect_translates(want[0]);
      this->expect_translates(want[1]);
      EXPECT_EQ(this->pt().iova_to_phys(w.last), std::optional<std::uint64_t>{*oa2 + size - 1});
      EXPECT_EQ(this->pt().unmap(first, size), size);
      EXPECT_EQ(this->pt().unmap(last_page, size), size);
      EXPECT_TRUE(this->all_leaves().empty());
    }
  }
}

// A range straddling a 2^t boundary, for every t the window has, is split
// greedily (largest size va, oa and length allow), translates everywhere
// and unmaps whole: table boundaries at every level are crossed.
TYPED_TEST_P(conformance, RangesCrossingEveryPowerOfTwoBoundarySplitGreedily) {
  const unsigned oa_lg2 = this->pt().info().oa_lg2;
  const std::uint64_t min = this->min_size();
  for (const auto& w : this->windows_) {
    for (unsigned t = this->sizes_.front() + 1; t + 1 < w.span_lg2(); ++t) {
      // The largest page size p < t with room for [b - 2^p, b + 2^p + min) in OA space.
      unsigned p = this->sizes_.front();
      for (const unsigned s : this->sizes_)
        if (s < t && s + 2 <= oa_lg2) p = s;
      const std::uint64_t b = w.first + (std::uint64_t{1} << t);
      const std::uint64_t va = b - (std::uint64_t{1} << p);
      const std::uint64_t len = (std::uint64_t{2} << p) + min;
      const std::uint64_t oa = std::uint64_t{1} << p;
      const auto want = genpt::test::reference_model::split(this->bitmap(), va, oa, len);
      ASSERT_FALSE(want.empty());
      ASSERT_TRUE(this->pt().map(va, oa, len, genpt::prot::read | genpt::prot::write).has_value())
          << "boundary 2^" << t;
      EXPECT_EQ(this->leaves_as_entries(), want) << "boundary 2^" << t;
      for (const auto& e : want) this->expect_translates(e);
      EXPECT_EQ(this->pt().iova_to_phys(va + len), std::nullopt);
      EXPECT_EQ(this->pt().unmap(va, len), len) << "boundary 2^" << t;
      EXPECT_TRUE(this->all_leaves().empty());
    }
  }
}

// Every bad argument is refused with its errc and changes nothing: no leaf,
// no flush.
TYPED_TEST_P(conformance, BadArgumentsFailWithTheirErrcAndChangeNothing) {
  using genpt::errc;
  using genpt::prot;
  const std::uint64_t min = this->min_size();
  const prot rw = prot::read | prot::write;
  for (const auto& w : this->windows_) {
    ASSERT_TRUE(this->pt().map(w.first, 0, min, rw).has_value());
    ASSERT_TRUE(this->pt().map(w.last - (min - 1), min, min, rw).has_value());
  }
  const auto before = this->all_leaves();
  this->walk_check();
  const std::size_t flushes = this->flushes_.size();
  auto expect_refused = [&](std::uint64_t va, std::uint64_t oa, std::uint64_t len, prot p,
                            errc want, const char* what) {
    const auto r = this->pt().map(va, oa, len, p);
    ASSERT_FALSE(r.has_value()) << what;
    EXPECT_EQ(r.error(), want) << what << ": got " << genpt::to_string(r.error());
    EXPECT_EQ(this->all_leaves(), before) << what;
    EXPECT_EQ(this->flushes_.size(), flushes) << what;
  };
  const std::uint64_t top = ~std::uint64_t{0} - (min - 1);  // last page of the 64-bit space
  const std::uint64_t va0 = this->windows_.front().first + 4 * min;
  expect_refused(va0, 0, 0, rw, errc::invalid_argument, "len 0");
  expect_refused(va0, 0, min, prot::none, errc::invalid_argument, "prot none");
  expect_refused(va0, 0, min, prot::cache | prot::noexec | prot::mmio | prot::priv,
                 errc::invalid_argument, "prot without read or write");
  expect_refused(top, 0, 2 * min, rw, errc::overflow, "va + len wraps");
  expect_refused(va0, top, 2 * min, rw, errc::overflow, "oa + len wraps");
  expect_refused(va0 + min / 2, 0, min, rw, errc::misaligned, "va misaligned");
  expect_refused(va0, min / 2, min, rw, errc::misaligned, "oa misaligned");
  expect_refused(va0, 0, min + min / 2, rw, errc::misaligned, "len misaligned");
  const unsigned oa_lg2 = this->pt().info().oa_lg2;
  if (oa_lg2 < 64) {
    const std::uint64_t oa_end = std::uint64_t{1} << oa_lg2;
    expect_refused(va0, oa_end, min, rw, errc::out_of_range, "oa above the OA space");
    expect_refused(va0, oa_end - min, 2 * min, rw, errc::out_of_range, "oa range leaves the OA space");
  }
  for (const auto& w : this->windows_) {
    if (w.last != ~std::uint64_t{0} && !this->in_any_window(w.last + 1)) {
      expect_refused(w.last + 1, 0, min, rw, errc::out_of_range, "va past a window");
      expect_refused(w.last + 1 - min, 0, 2 * min, rw, errc::out_of_range,
                     "range leaving a window upwards");
    }
    if (w.first != 0 && !this->in_any_window(w.first - 1)) {
      expect_refused(w.first - min, 0, min, rw, errc::out_of_range, "va below a window");
      expect_refused(w.first - min, 0, 2 * min, rw, errc::out_of_range,
                     "range entering a window from below");
    }
  }
  // unmap of a bad range removes nothing and reports 0.
  EXPECT_EQ(this->pt().unmap(this->windows_.front().first, 0), 0u);
  EXPECT_EQ(this->pt().unmap(top, 2 * min), 0u);
  for (const auto& w : this->windows_) {
    if (w.last != ~std::uint64_t{0} && !this->in_any_window(w.last + 1)) {
      EXPECT_EQ(this->pt().unmap(w.last + 1 - min, 2 * min), 0u);
    }
  }
  EXPECT_EQ(this->all_leaves(), before);
  EXPECT_EQ(this->flushes_.size(), flushes);
}

// Addresses between and outside the windows never translate.
TYPED_TEST_P(conformance, LookupOutsideEveryWindowFindsNothing) {
  const std::uint64_t min = this->min_size();
  for (const auto& w : this->windows_) {
    ASSERT_TRUE(this->pt().map(w.first, 0, min, genpt::prot::read).has_value());
    ASSERT_TRUE(this->pt().map(w.last - (min - 1), 0, min, genpt::prot::read).has_value());
  }
  this->walk_check();
  for (const auto& w : this->windows_) {
    if (w.last != ~std::uint64_t{0} && !this->in_any_window(w.last + 1)) {
      EXPECT_EQ(this->pt().iova_to_phys(w.last + 1), std::nullopt);
    }
    if (w.first != 0 && !this->in_any_window(w.first - 1)) {
      EXPECT_EQ(this->pt().iova_to_phys(w.first - 1), std::nullopt);
    }
  }
}

// A map that meets an existing leaf fails with address_in_use and leaves
// every translation as it was, even after mapping a free prefix.
TYPED_TEST_P(conformance, MapOverAnExistingLeafFailsAndChangesNothing) {
  const std::uint64_t min = this->min_size();
  const genpt::prot rw = genpt::prot::read | genpt::prot::write;
  const auto& w = this->windows_.front();
  const std::uint64_t x = w.first + 8 * min;
  ASSERT_TRUE(this->pt().map(x, 0x40 * min, min, rw).has_value());
  const auto before = this->all_leaves();
  auto expect_in_use = [&](std::uint64_t va, std::uint64_t oa, std::uint64_t len,
                           const char* what) {
    const auto r = this->pt().map(va, oa, len, rw);
    ASSERT_FALSE(r.has_value()) << what;
    EXPECT_EQ(r.error(), genpt::errc::address_in_use) << what;
    EXPECT_EQ(this->all_leaves(), before) << what;
  };
  expect_in_use(x, 0, min, "the same page");
  expect_in_use(x - 4 * min, 0, 8 * min, "free prefix, then the leaf");
  expect_in_use(w.first, 0, 16 * min, "from the window start across the leaf");
  EXPECT_EQ(this->pt().iova_to_phys(x - 4 * min), std::nullopt);
  EXPECT_EQ(this->pt().unmap(x, min), min);

  // A small page inside, or reaching into, a large leaf.
  ASSERT_GE(this->sizes_.size(), 2u);
  const unsigned s2 = this->sizes_[1];
  const std::uint64_t big = std::uint64_t{1} << s2;
  ASSERT_GT(w.span_lg2(), s2 + 1);
  const std::uint64_t y = w.first + big;
  ASSERT_TRUE(this->pt().map(y, big, big, rw).has_value());
  const auto before_big = this->all_leaves();
  this->walk_check();
  for (const auto& [va, len] : {std::pair{y + min, min}, std::pair{y - min, 2 * min},
                                std::pair{y, big}, std::pair{y + big - min, 2 * min}}) {
    const auto r = this->pt().map(va, 0, len, rw);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), genpt::errc::address_in_use);
    EXPECT_EQ(this->all_leaves(), before_big);
  }
  EXPECT_EQ(this->pt().iova_to_phys(y - min), std::nullopt);
  EXPECT_EQ(this->pt().iova_to_phys(y + big), std::nullopt);
  EXPECT_EQ(this->pt().unmap(y, big), big);
}

// A mapping over tables that hold no leaf any more succeeds with the larger
// page (the empty tables are replaced, not an address_in_use).
TYPED_TEST_P(conformance, MapOverEmptyTablesUsesTheLargerPage) {
  const std::uint64_t min = this->min_size();
  const auto& w = this->windows_.front();
  for (std::size_t i = 1; i < this->sizes_.size(); ++i) {
    const unsigned s = this->sizes_[i];
    if (w.span_lg2() <= s + 1) continue;
    const std::uint64_t size = std::uint64_t{1} << s;
    const auto oa = this->oa_for(s, 1);
    if (!oa) continue;
    const std::uint64_t va = w.first + size;
    ASSERT_TRUE(this->pt().map(va + size - min, *oa, min, genpt::prot::read).has_value());
    ASSERT_EQ(this->pt().unmap(va + size - min, min), min);
    ASSERT_TRUE(this->pt().map(va, *oa, size, genpt::prot::read).has_value()) << "size 2^" << s;
    EXPECT_EQ(this->leaves_as_entries(), (typename TestFixture::entries{{va, *oa, s, 0}}));
    this->expect_translates({va, *oa, s, 0});
    EXPECT_EQ(this->pt().unmap(va, size), size);
  }
}

// unmap never splits: a range starting inside an entry removes nothing.
TYPED_TEST_P(conformance, UnmapStartingInsideAnEntryRemovesNothing) {
  ASSERT_GE(this->sizes_.size(), 2u);
  const unsigned s = this->sizes_[1];
  const std::uint64_t size = std::uint64_t{1} << s, min = this->min_size();
  const std::uint64_t va = this->windows_.front().first + size;
  ASSERT_TRUE(this->pt().map(va, size, size, genpt::prot::read).has_value());
  EXPECT_EQ(this->pt().unmap(va + min, min), 0u);
  EXPECT_EQ(this->pt().unmap(va + size - min, 2 * min), 0u);
  EXPECT_EQ(this->leaves_as_entries(), (typename TestFixture::entries{{va, size, s, 0}}));
  this->walk_check();
  EXPECT_EQ(this->pt().unmap(va, size), size);
}

// unmap never splits: a range ending inside an entry removes it whole and
// reports more bytes than asked.
TYPED_TEST_P(conformance, UnmapEndingInsideAnEntryRemovesItWhole) {
  ASSERT_GE(this->sizes_.size(), 2u);
  const unsigned s = this->sizes_[1];
  const std::uint64_t size = std::uint64_t{1} << s, min = this->min_size();
  const std::uint64_t va = this->windows_.front().first + size;
  ASSERT_TRUE(this->pt().map(va - min, 0, min, genpt::prot::read).has_value());
  ASSERT_TRUE(this->pt().map(va, size, size, genpt::prot::read).has_value());
  this->walk_check();
  EXPECT_EQ(this->pt().unmap(va - min, 2 * min), min + size);
  EXPECT_TRUE(this->all_leaves().empty());
  EXPECT_EQ(this->pt().iova_to_phys(va + size - 1), std::nullopt);
}

// unmap stops at the first hole and reports the bytes before it.
TYPED_TEST_P(conformance, UnmapStopsAtTheFirstHole) {
  const std::uint64_t min = this->min_size();
  const std::uint64_t a = this->windows_.front().first + 16 * min;
  ASSERT_TRUE(this->pt().map(a, 0, 2 * min, genpt::prot::read).has_value());
  ASSERT_TRUE(this->pt().map(a + 3 * min, 0x10 * min, min, genpt::prot::read).has_value());
  EXPECT_EQ(this->pt().unmap(a, 4 * min), 2 * min);
  this->walk_check();
  EXPECT_EQ(this->leaves_as_entries(),
            (typename TestFixture::entries{{a + 3 * min, 0x10 * min, this->sizes_.front(), 0}}));
  EXPECT_EQ(this->pt().unmap(a + 2 * min, 2 * min), 0u) << "starts in the hole";
  EXPECT_EQ(this->pt().unmap(a + 3 * min, min), min);
}

// An unmap that removed something reports it to the flush sink, covering at
// least the removed range; one that removed nothing flushes nothing.
TYPED_TEST_P(conformance, UnmapFlushesWhatItRemoved) {
  const std::uint64_t min = this->min_size();
  const std::uint64_t a = this->windows_.front().first + 16 * min;
  // oa = min: three single pages even where a format has contiguous sizes.
  ASSERT_TRUE(this->pt().map(a, min, 3 * min, genpt::prot::read).has_value());
  this->walk_check();
  const std::size_t n = this->flushes_.size();
  EXPECT_EQ(this->pt().unmap(a + 8 * min, min), 0u);
  EXPECT_EQ(this->flushes_.size(), n);
  genpt::gather g;
  EXPECT_EQ(this->pt().unmap(a, min, g), min);
  EXPECT_EQ(this->pt().unmap(a + 2 * min, min, g), min);
  EXPECT_EQ(this->flushes_.size(), n) << "nothing flushed before sync";
  this->pt().sync(g);
  ASSERT_EQ(this->flushes_.size(), n + 1);
  EXPECT_LE(this->flushes_.back().va, a);
  EXPECT_GE(this->flushes_.back().last, a + 3 * min - 1);
  EXPECT_NE(this->flushes_.back().leaf_levels, 0u);
  EXPECT_TRUE(g.empty());
  EXPECT_EQ(this->pt().unmap(a + min, min), min);
}

REGISTER_TYPED_TEST_SUITE_P(conformance, EveryPageSizeRoundTripsWithEveryProt,
                            FirstAndLastPagesOfEveryWindowRoundTrip,
                            RangesCrossingEveryPowerOfTwoBoundarySplitGreedily,
                            BadArgumentsFailWithTheirErrcAndChangeNothing,
                            LookupOutsideEveryWindowFindsNothing,
                            MapOverAnExistingLeafFailsAndChangesNothing,
                            MapOverEmptyTablesUsesTheLargerPage,
                            UnmapStartingInsideAnEntryRemovesNothing,
                            UnmapEndingInsideAnEntryRemovesItWhole, UnmapStopsAtTheFirstHole,
                            UnmapFlushesWhatItRemoved);
