// tests/support/random_model_suite.hpp - a seeded random sequence of
// map / unmap / translate operations, checked op by op against
// support/reference_model.hpp, typed over format configurations.
//
// Requests cluster around a few anchors per VA window (the window's two
// ends and random 2^t boundaries), so that collisions, large pages and
// table-boundary crossings at every level happen often. Every map's errc,
// every unmap's byte count, every translation, every flush's coverage and,
// every few thousand ops, the full list of leaves (va, oa, size, attrs) are
// compared with the model. The hardware walker (support/walk_check.hpp)
// reads the table too, and must agree with iova_to_phys, for_each_leaf and
// the model: at the ends of every 8th op's range, at the ends of a sample
// of the entries with each full comparison, and of every entry at the end.
//
// The seed is fixed per config (reproducible in CI) and printed with every
// failure; GENPT_RANDOM_SEED=<n> in the environment overrides it.
// A config may set `static constexpr unsigned random_ops = N;` (default
// 100000), or `static constexpr bool random_model = false;` to stay out of
// random_model_configs (with the reason next to it).
//
//   #include "support/random_model_suite.hpp"
//   INSTANTIATE_TYPED_TEST_SUITE_P(my_format, random_model,
//                                  genpt::test::random_model_types<my_configs>,
//                                  genpt::test::config_names);
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "genpt/page_table.hpp"
#include "support/format_configs.hpp"
#include "support/reference_model.hpp"
#include "support/table_helpers.hpp"
#include "support/typed_configs.hpp"
#include "support/walk_check.hpp"

namespace genpt::test {

/// True unless the config opts out (`static constexpr bool random_model = false`).
template <class Config>
constexpr bool random_model_runs() {
  if constexpr (requires { Config::random_model; })
    return static_cast<bool>(Config::random_model);
  else
    return true;
}
template <class Config>
struct in_random_model : std::bool_constant<random_model_runs<Config>()> {};
/// The configs of list L the random-model suite runs, as ::testing::Types.
template <class L>
using random_model_types = gtest_types<filter_configs<in_random_model, L>>;

/// Operations per configuration: Config::random_ops, or 100000.
template <class Config>
constexpr unsigned random_ops() {
  if constexpr (requires { Config::random_ops; })
    return Config::random_ops;
  else
    return 100000;
}

/// GENPT_RANDOM_SEED when set, else a fixed seed derived from the name.
inline std::uint64_t random_seed(const char* name) {
  if (const char* env = std::getenv("GENPT_RANDOM_SEED"))
    return std::strtoull(env, nullptr, 0);
  std::uint64_t h = 0xcbf29ce484222325;  // FNV-1a
  for (const char* c = name; *c; ++c) h = (h ^ static_cast<unsigned char>(*c)) * 0x100000001b3;
  return h;
}

}  // namespace genpt::test

template <class Config>
class random_model : public ::testing::Test {
 protected:
  using format = typename Config::format;
  using table_t = genpt::page_table<format, typename genpt::test::alloc_of<Config>::type,
                                     genpt::test::recording_flush>;

  void SetUp() override {
    auto r = table_t::create(Config::config(), genpt::test::alloc_of<Config>::make(&stats_),
                             genpt::test::recording_flush{genpt::test::recording_sink{&flushes_}});
    ASSERT_TRUE(r.has_value()) << "create: " << genpt::to_string(r.error());
    pt_.emplace(std::move(*r));
  }
  void TearDown() override {
    pt_.reset();
    EXPECT_EQ(genpt::test::live(stats_), 0) << "tables leaked";
  }

  genpt::level_stats stats_;
  std::vector<genpt::iotlb_flush> flushes_;
  std::optional<table_t> pt_;
};

TYPED_TEST_SUITE_P(random_model);

TYPED_TEST_P(random_model, MatchesTheReferenceModel) {
  using genpt::prot;
  using genpt::test::model_entry;
  using genpt::test::reference_model;
  using genpt::test::va_window;

  const std::uint64_t seed = genpt::test::random_seed(TypeParam::name);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with GENPT_RANDOM_SEED=" +
               std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  auto below = [&](std::uint64_t n) { return n ? rng() % n : rng(); };  // [0, n), n == 0: any

  auto& pt = *this->pt_;
  const genpt::table_info info = pt.info();
  const std::uint64_t bitmap = info.pgsize_bitmap;
  const std::vector<unsigned> sizes = genpt::test::page_sizes(bitmap);
  ASSERT_FALSE(sizes.empty());
  const unsigned min_lg2 = sizes.front();
  const std::uint64_t min = std::uint64_t{1} << min_lg2;
  const std::vector<va_window> windows = TypeParam::windows();
  const prot prots[] = {prot::read, prot::write, prot::read | prot::write,
                        prot::read | prot::write | prot::noexec | prot::cache};

  // Anchors: offsets from their window's first va, where requests cluster.
  struct anchor {
    std::size_t window;
    std::uint64_t off;
  };
  std::vector<anchor> anchors;
  for (std::size_t wi = 0; wi < windows.size(); ++wi) {
    const va_window& w = windows[wi];
    const unsigned span = w.span_lg2();
    const std::uint64_t max_off = w.last - w.first;
    anchors.push_back({wi, 0});
    anchors.push_back({wi, max_off});
    for (int k = 0; k < 14 && span > min_lg2 + 1; ++k) {
      const unsigned t = min_lg2 + 1 + static_cast<unsigned>(below(span - min_lg2 - 1));
      const std::uint64_t slots = span - t >= 64 ? 0 : std::uint64_t{1} << (span - t);
      anchors.push_back({wi, below(slots) << t});
    }
  }

  // A page-aligned request [va, va + len) near an anchor, inside its window.
  struct request {
    std::uint64_t va, len;
    unsigned s;
  };
  auto place = [&](const anchor& a, unsigned s, std::uint64_t len) -> std::optional<request> {
    const va_window& w = windows[a.window];
    const std::uint64_t max_off = w.last - w.first;
    const std::uint64_t size = std::uint64_t{1} << s;
    if (len - 1 > max_off) return std::nullopt;
    std::uint64_t off = a.off & ~(size - 1);
    const int j = static_cast<int>(below(8)) - 4;
    const std::uint64_t step = size * static_cast<std::uint64_t>(j < 0 ? -j : j);
    if (j < 0)
      off = off >= step ? off - step : 0;
    else if (max_off - off >= step)
      off += step;
    if (off > max_off - (len - 1)) off = (max_off - (len - 1)) & ~(size - 1);
    return request{w.first + off, len, s};
  };
  auto pick_size = [&]() {
    return below(10) < 4 ? min_lg2 : sizes[static_cast<std::size_t>(below(sizes.size()))];
  };
  auto pick_len = [&](unsigned s) {
    std::uint64_t len = (1 + below(4)) << s;
    if (below(2) == 0 && s > min_lg2) {
      unsigned t = min_lg2;
      for (const unsigned x : sizes)
        if (x < s && below(2) == 0) t = x;
      len += below(4) << t;
    }
    return len;
  };
  const std::uint64_t oa_room = info.oa_lg2 >= 64 ? 0 : std::uint64_t{1} << info.oa_lg2;
  auto pick_oa = [&](unsigned s, std::uint64_t len) -> std::uint64_t {
    unsigned a = s;
    if (below(10) < 3)
      for (const unsigned x : sizes)
        if (x < s && s - x <= 10 && below(2) == 0) a = x;
    if (oa_room && a >= info.oa_lg2) return 0;
    const std::uint64_t oa = below(oa_room >> a) << a;
    if (oa_room && (oa_room - oa < len)) return 0;
    return oa;
  };

  reference_model model;
  std::size_t flushes_seen = this->flushes_.size();
  genpt::gather g;
  bool pending = false;  // g holds removals not yet synced
  std::uint64_t pend_lo = 0, pend_hi = 0;
  std::string op;  // the current operation, for failure messages
  // What the sequence exercised, printed at the end (to keep the mix honest).
  std::uint64_t maps_ok = 0, maps_in_use = 0, unmaps_hit = 0, unmaps_empty = 0, hits = 0;
  std::uint64_t leaves_by_size[64] = {};

  auto note_removed = [&](const std::vector<model_entry>& removed) {
    for (const model_entry& e : removed) {
      const std::uint64_t e_last = reference_model::entry_last(e);
      if (!pending || e.va < pend_lo) pend_lo = e.va;
      if (!pending || e_last > pend_hi) pend_hi = e_last;
      pending = true;
    }
  };
  // After a sync: exactly one flush covering what was removed, or none.
  auto check_flush = [&]() {
    if (pending) {
      ASSERT_EQ(this->flushes_.size(), flushes_seen + 1) << op;
      EXPECT_LE(this->flushes_.back().va, pend_lo) << op;
      EXPECT_GE(this->flushes_.back().last, pend_hi) << op;
    } else {
      ASSERT_EQ(this->flushes_.size(), flushes_seen) << op;
    }
    flushes_seen = this->flushes_.size();
    pending = false;
  };
  // Every leaf of every window against the model: va, oa, size and the
  // attributes attrs_from_prot gives for the prot the entry was mapped with.
  std::uint64_t walk_rounds = 0;  // full hardware-walk checks so far
  auto check_all = [&](bool final) {
    const auto leaves = genpt::test::snapshot(pt, windows);
    const std::vector<model_entry> want = model.all();
    ASSERT_EQ(leaves.size(), want.size()) << "after " << op;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const model_entry got{leaves[i].va, leaves[i].oa, leaves[i].size_lg2, want[i].tag};
      ASSERT_EQ(got, want[i]) << "leaf " << i << " after " << op << std::hex << ": va 0x"
                              << got.va << " oa 0x" << got.oa << " 2^" << std::dec
                              << got.size_lg2 << ", want va 0x" << std::hex << want[i].va
                              << " oa 0x" << want[i].oa << " 2^" << std::dec
                              << want[i].size_lg2;
      ASSERT_TRUE(leaves[i].attrs ==
                  TestFixture::format::attrs_from_prot(prots[want[i].tag], pt.params()))
          << "attributes of leaf " << i << " after " << op;
    }
    // The entries (a sample; all of them at the end) as the hardware walks
    // them; its random vas come from a seed of their own, so the op
    // sequence stays as it was.
    ASSERT_EQ(genpt::test::check_walk_table(pt, &model, windows, seed + ++walk_rounds, 32,
                                            final ? 1u << 20 : 256u),
              0u)
        << "after " << op;
  };
  // The vas an op touched, as the hardware walks them (after every 8th op:
  // walking after each one would double the suite's run time).
  std::vector<std::uint64_t> probes;
  auto check_probes = [&]() {
    ASSERT_EQ(genpt::test::check_walk_agrees(pt, &model, windows, probes), 0u) << "after " << op;
  };

  const unsigned ops = genpt::test::random_ops<TypeParam>();
  for (unsigned n = 0; n < ops; ++n) {
    const anchor& an = anchors[static_cast<std::size_t>(below(anchors.size()))];
    const std::uint64_t dice = below(100);
    const bool crowded = model.size() > 3000;
    if (dice < (crowded ? 25u : 45u)) {  // ---------------------------------- map
      const unsigned s = pick_size();
      const auto rq = place(an, s, pick_len(s));
      if (!rq) continue;
      if (oa_room && rq->len > oa_room) continue;  // no oa can hold it: not a map test
      const std::uint64_t oa = pick_oa(s, rq->len);
      const unsigned tag = static_cast<unsigned>(below(4));
      const auto pieces = reference_model::split(bitmap, rq->va, oa, rq->len, tag);
      if (pieces.empty() || pieces.size() > 1100) continue;
      std::ostringstream os;
      os << "op " << n << ": map va 0x" << std::hex << rq->va << " oa 0x" << oa << " len 0x"
         << rq->len << std::dec << " prot " << static_cast<unsigned>(prots[tag]);
      op = os.str();
      const bool free = !model.overlaps(rq->va, rq->va + (rq->len - 1));
      const auto r = pt.map(rq->va, oa, rq->len, prots[tag]);
      if (free) {
        ASSERT_TRUE(r.has_value()) << op << ": " << genpt::to_string(r.error());
        ASSERT_TRUE(model.map(bitmap, rq->va, oa, rq->len, tag)) << op;
        ++maps_ok;
        for (const model_entry& e : pieces) ++leaves_by_size[e.size_lg2];
      } else {
        ASSERT_FALSE(r.has_value()) << op;
        ASSERT_EQ(r.error(), genpt::errc::address_in_use) << op;
        ++maps_in_use;
      }
      flushes_seen = this->flushes_.size();  // map's own flushes are not modelled
      probes = {rq->va, rq->va + (rq->len - 1)};
    } else if (dice < 80) {  // ----------------------------------------------- unmap
      std::uint64_t va = 0, len = 0;
      if (below(2) == 0) {
        const unsigned s = pick_size();
        const auto rq = place(an, s, pick_len(s));
        if (!rq) continue;
        va = rq->va;
        len = rq->len;
      } else {
        const va_window& w = windows[an.window];
        const model_entry* e = model.first_from(w.first + an.off);
        if (!e) e = model.first_from(w.first);
        if (!e || !w.contains(e->va)) continue;
        va = e->va;
        len = std::uint64_t{1} << e->size_lg2;
        if (below(4) == 0) len = (1 + below(3)) * min;  // may end inside
        if (below(8) == 0 && e->size_lg2 > min_lg2) va += min;  // starts inside
        if (below(4) == 0) len += len;
        if (va + (len - 1) > w.last || va + (len - 1) < va) len = w.last - va + 1;
      }
      const bool batched = below(3) == 0;
      std::ostringstream os;
      os << "op " << n << ": unmap va 0x" << std::hex << va << " len 0x" << len << std::dec
         << (batched ? " (gathered)" : "");
      op = os.str();
      if (!batched && pending) {  // one sync check per gather
        pt.sync(g);
        ASSERT_NO_FATAL_FAILURE(check_flush());
      }
      std::vector<model_entry> removed;
      const std::uint64_t want = model.unmap(va, len, &removed);
      note_removed(removed);
      ++(want ? unmaps_hit : unmaps_empty);
      if (batched) {
        ASSERT_EQ(pt.unmap(va, len, g), want) << op;
        ASSERT_EQ(this->flushes_.size(), flushes_seen) << op << ": flushed before sync";
        if (below(4) == 0) {
          pt.sync(g);
          ASSERT_NO_FATAL_FAILURE(check_flush());
        }
      } else {
        ASSERT_EQ(pt.unmap(va, len), want) << op;
        ASSERT_NO_FATAL_FAILURE(check_flush());
      }
      probes = {va, va + (len - 1)};
    } else {  // ----------------------------------------------------------- translate
      const va_window& w = windows[an.window];
      std::uint64_t va;
      const model_entry* e = model.first_from(w.first + an.off);
      if (e && w.contains(e->va) && below(2) == 0) {
        va = e->va + below(std::uint64_t{1} << e->size_lg2);
      } else {
        const unsigned s = pick_size();
        const auto rq = place(an, s, std::uint64_t{1} << s);
        if (!rq) continue;
        va = rq->va + below(std::uint64_t{1} << s);
      }
      hits += model.translate(va).has_value();
      ASSERT_EQ(pt.iova_to_phys(va), model.translate(va))
          << "op " << n << ": iova_to_phys 0x" << std::hex << va;
      op = "op " + std::to_string(n) + ": translate";
      probes = {va};
    }
    if (n % 8 == 0) {
      ASSERT_NO_FATAL_FAILURE(check_probes());
    }
    if (n % 4096 == 4095) {
      ASSERT_NO_FATAL_FAILURE(check_all(false));
    }
  }
  op = "the last op";
  pt.sync(g);
  ASSERT_NO_FATAL_FAILURE(check_flush());
  ASSERT_NO_FATAL_FAILURE(check_all(true));
  EXPECT_GT(model.size(), 0u) << "the sequence should leave mappings behind";
  // Unmapping every entry exactly removes it, and leaves nothing mapped.
  for (const model_entry& e : model.all())
    ASSERT_EQ(pt.unmap(e.va, std::uint64_t{1} << e.size_lg2), std::uint64_t{1} << e.size_lg2)
        << std::hex << "final unmap of va 0x" << e.va;
  EXPECT_TRUE(genpt::test::snapshot(pt, windows).empty());

  std::printf("[ stats    ] maps %llu ok, %llu in use; unmaps %llu removing, %llu empty; "
              "%llu translations hit; leaves made:",
              static_cast<unsigned long long>(maps_ok), static_cast<unsigned long long>(maps_in_use),
              static_cast<unsigned long long>(unmaps_hit),
              static_cast<unsigned long long>(unmaps_empty), static_cast<unsigned long long>(hits));
  for (const unsigned sz : sizes)
    std::printf(" 2^%u x %llu", sz, static_cast<unsigned long long>(leaves_by_size[sz]));
  std::printf("\n");
  // Each kind of outcome must occur, or the sequence tests less than it claims.
  EXPECT_GT(maps_in_use, 0u);
  EXPECT_GT(unmaps_hit, 0u);
  EXPECT_GT(unmaps_empty, 0u);
  // Every size at most 1/64 of the largest window must have been made; a
  // size close to the window rarely finds a free, aligned slot by chance
  // (the conformance suite maps each size deliberately).
  unsigned widest = 0;
  for (const va_window& w : windows) widest = w.span_lg2() > widest ? w.span_lg2() : widest;
  for (const unsigned sz : sizes) {
    if (sz + 6 <= widest) {
      EXPECT_GT(leaves_by_size[sz], 0u) << "no leaf of 2^" << sz;
    }
  }
}

REGISTER_TYPED_TEST_SUITE_P(random_model, MatchesTheReferenceModel);
