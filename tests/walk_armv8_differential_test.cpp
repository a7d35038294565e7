// tests/walk_armv8_differential_test.cpp - issue 11: the VMSAv8-64 hardware
// walker (genpt/walk/armv8.hpp) against genpt's own tables.
//
// Over the ARMv8 configurations of the conformance suite (3 granules x 2
// stages, small and concatenated tops, TTBR1, LPA/LPA2/LVA) plus two with
// hardware dirty state (DBM), page_table builds tables in an arena_levels
// block at a chosen base oa; random ranges of every page size (contiguous
// sizes included) are mapped, and for random vas the walker - reading the
// block only through span_memory, with the registers hw_info describes -
// must agree with iova_to_phys, for_each_leaf (entry size and level) and
// the reference model, and give the permissions the prot asked for (Arm
// ARM D8.4). A corruption test flips random bits of a built image and
// walks random vas: every walk must end in a translation or a fault, and
// the walker may read only through the memory object (run it under the
// asan-ubsan preset).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/page_table.hpp"
#include "genpt/walk/walk.hpp"
#include "support/format_configs.hpp"
#include "support/typed_configs.hpp"
#include "support/reference_model.hpp"

namespace {

using genpt::access;
using genpt::fault_kind;
using genpt::oa_t;
using genpt::prot;
using genpt::test::va_window;
using std::uint64_t;

using genpt::test::a16k_s2_48_dbm;
using genpt::test::a4k_s1_48_dbm;

/// Every ARMv8 config (support/format_configs.hpp).
using configs = genpt::test::gtest_types<genpt::test::armv8_configs>;

/// An aligned block for arena_levels (1 MiB: the largest table's size).
struct block {
  static constexpr std::size_t bytes = std::size_t{16} << 20;
  static constexpr std::size_t align = std::size_t{1} << 20;
  std::byte* p = static_cast<std::byte*>(std::aligned_alloc(align, bytes));
  block() = default;
  block(const block&) = delete;
  block& operator=(const block&) = delete;
  ~block() { std::free(p); }
};

constexpr oa_t base_oa = 0x4000'0000;  // 1 GiB: below every config's 2^oa_lg2

/// The prots mapped, by tag: stage 2 cannot express priv.
std::vector<prot> prots_for(unsigned stage) {
  if (stage == 1)
    return {prot::read,
            prot::read | prot::write | prot::cache,
            prot::read | prot::noexec,
            prot::read | prot::write | prot::priv,
            prot::read | prot::priv | prot::noexec | prot::mmio,
            prot::write | prot::noexec};
  return {prot::read, prot::read | prot::write | prot::cache, prot::read | prot::noexec,
          prot::write, prot::read | prot::write | prot::noexec | prot::mmio};
}

/// A table of Config in an arena, with random mappings of every page size
/// and the model of what they translate.
template <class Config>
struct built {
  using format = typename Config::format;
  using table_t = genpt::page_table<format, genpt::arena_levels>;
  block mem;
  std::optional<table_t> t;
  genpt::test::reference_model model;
  std::vector<prot> prots = prots_for(format::stage);

  explicit built(std::mt19937_64& rng) {
    auto r = table_t::create(Config::config(), genpt::arena_levels(mem.p, block::bytes, base_oa));
    EXPECT_TRUE(r.has_value());
    if (!r) return;
    t.emplace(std::move(*r));
    const uint64_t sizes = t->info().pgsize_bitmap;
    const unsigned oa_lg2 = t->info().oa_lg2;
    for (const va_window& w : Config::windows()) {
      const unsigned span = w.span_lg2();
      for (unsigned s = 64; s-- > 0;) {  // largest first, so small ones cannot crowd them out
        if (!((sizes >> s) & 1) || s + 1 > span || s + 2 > oa_lg2) continue;
        for (unsigned k = 0; k < 4; ++k) {
          const uint64_t size = uint64_t{1} << s;
          const uint64_t len = size << (rng() % 2);
          if (len > (uint64_t{1} << (span - 1))) continue;
          const uint64_t span_mask = span >= 64 ? ~uint64_t{0} : (uint64_t{1} << span) - 1;
          const uint64_t va =
              w.first + (((rng() & span_mask) & ~(size - 1)) & (span_mask - (len - 1)));
          const uint64_t oa = (rng() & ((uint64_t{1} << oa_lg2) - 1) & ~(size - 1)) &
                              (((uint64_t{1} << oa_lg2) - 1) - (len - 1));
          const unsigned tag = static_cast<unsigned>(rng() % prots.size());
          if (t->map(va, oa, len, prots[tag])) {
            EXPECT_TRUE(model.map(sizes, va, oa, len, tag)) << std::hex << va;
          }
        }
      }
    }
  }
  /// Page sizes the model holds at least one entry of.
  uint64_t sizes_mapped() const {
    uint64_t m = 0;
    for (const auto& e : model.all()) m |= uint64_t{1} << e.size_lg2;
    return m;
  }
  oa_t root() const { return t->hw_info().root; }
  genpt::span_memory memory() const { return genpt::span_memory(mem.p, block::bytes, base_oa); }
};

template <class Config>
class walk_armv8_differential : public ::testing::Test {};
TYPED_TEST_SUITE(walk_armv8_differential, configs, genpt::test::config_names);

/// Random vas: inside every model entry (first byte, last word, random),
/// random ones in the windows (mostly holes), and ones outside them.
template <class Config>
std::vector<uint64_t> probe_vas(const genpt::test::reference_model& model, std::mt19937_64& rng) {
  std::vector<uint64_t> vas;
  for (const auto& e : model.all()) {
    const uint64_t size = uint64_t{1} << e.size_lg2;
    vas.push_back(e.va);
    vas.push_back(e.va + size - 8);
    vas.push_back(e.va + (rng() & (size - 1)));
  }
  for (const va_window& w : Config::windows()) {
    const uint64_t mask = w.span_lg2() >= 64 ? ~uint64_t{0} : (uint64_t{1} << w.span_lg2()) - 1;
    for (unsigned i = 0; i < 200; ++i) vas.push_back(w.first + (rng() & mask));
  }
  return vas;
}

// Arm ARM D8.2-D8.4: a table genpt builds, walked the hardware's way with
// the registers hw_info describes, translates every va to the oa and entry
// size genpt and the model say, with the permissions of the prot mapped.
TYPED_TEST(walk_armv8_differential, WalkerAgreesWithIovaToPhysAndModel) {
  using format = typename TypeParam::format;
  std::mt19937_64 rng(0xA4B8'0001);
  built<TypeParam> b(rng);
  ASSERT_TRUE(b.t.has_value());
  ASSERT_FALSE(b.model.all().empty());
  EXPECT_EQ(b.sizes_mapped(), b.t->info().pgsize_bitmap) << "every page size, contiguous ones too";
  const auto mem = b.memory();
  const auto& p = b.t->params();
  unsigned translated = 0;
  for (const uint64_t va : probe_vas<TypeParam>(b.model, rng)) {
    const std::optional<oa_t> phys = b.t->iova_to_phys(va);
    const auto* e = b.model.find(va);
    ASSERT_EQ(phys.has_value(), e != nullptr) << std::hex << va;
    // An access every mapping allows: EL1 read (stage 2 write-only: a write).
    const prot pr = e ? b.prots[e->tag] : prot::read;
    const bool s2_write_only = format::stage == 2 && !genpt::has(pr, prot::read);
    const access any{s2_write_only, false, false};
    const genpt::walk_result w = genpt::walk<format>(p, b.root(), va, any, mem);
    if (!e) {
      ASSERT_FALSE(w.ok) << std::hex << va << " -> " << w.t.oa;
      EXPECT_EQ(int(w.f.kind), int(fault_kind::translation)) << std::hex << va;
      continue;
    }
    ++translated;
    ASSERT_TRUE(w.ok) << std::hex << va << " fault " << int(w.f.kind) << " L" << w.f.spec_level;
    EXPECT_EQ(w.t.oa, *phys) << std::hex << va;
    EXPECT_EQ(w.t.oa, e->oa + (va - e->va)) << std::hex << va;
    EXPECT_EQ(w.t.size_lg2, e->size_lg2) << std::hex << va;
    unsigned leaves = 0;
    b.t->for_each_leaf(va, 1, [&](const auto& lv) {
      ++leaves;
      EXPECT_EQ(w.t.size_lg2, lv.size_lg2);
      EXPECT_EQ(w.t.level, lv.level);
    });
    EXPECT_EQ(leaves, 1u);

    // D8.4 permissions of the prot mapped (see format attrs_from_prot).
    const bool wr = genpt::has(pr, prot::write), nx = genpt::has(pr, prot::noexec);
    if constexpr (format::stage == 1) {
      const bool priv = genpt::has(pr, prot::priv);
      EXPECT_TRUE(w.t.perms.read);
      EXPECT_EQ(w.t.perms.write, wr);
      EXPECT_EQ(w.t.perms.user, !priv);
      EXPECT_EQ(w.t.perms.user_exec, !nx && !priv);
      EXPECT_EQ(w.t.perms.exec, !nx && !(wr && !priv));  // EL0-writable: PXN implied
      const access el0_read{false, false, true}, el1_write{true, false, false};
      EXPECT_EQ(genpt::walk<format>(p, b.root(), va, el0_read, mem).ok, !priv);
      EXPECT_EQ(genpt::walk<format>(p, b.root(), va, el1_write, mem).ok, wr);
    } else {
      EXPECT_EQ(w.t.perms.read, genpt::has(pr, prot::read));
      EXPECT_EQ(w.t.perms.write, wr);
      EXPECT_EQ(w.t.perms.exec, !nx);
      EXPECT_EQ(w.t.perms.user_exec, !nx);
      const access fetch{false, true, false};
      const genpt::walk_result f = genpt::walk<format>(p, b.root(), va, fetch, mem);
      EXPECT_EQ(f.ok, !nx);
      if (!f.ok) {
        EXPECT_EQ(int(f.f.kind), int(fault_kind::permission));
      }
    }
  }
  EXPECT_GT(translated, 0u);
}

// D8.5 hardware dirty state against genpt's dirty tracking: after genpt
// cleans every entry, a write walk with set_ad (HA = HD = 1) makes the leaf
// dirty in memory exactly as the hardware would, and genpt's
// read_and_clear_dirty then reports that entry.
template <class Config>
class walk_armv8_dirty : public ::testing::Test {};
using dbm_configs = ::testing::Types<a4k_s1_48_dbm, a16k_s2_48_dbm>;  // from format_configs.hpp
TYPED_TEST_SUITE(walk_armv8_dirty, dbm_configs, genpt::test::config_names);

TYPED_TEST(walk_armv8_dirty, SetAdWriteIsSeenByReadAndClearDirty) {
  using format = typename TypeParam::format;
  std::mt19937_64 rng(0xA4B8'0002);
  built<TypeParam> b(rng);
  ASSERT_TRUE(b.t.has_value());
  ASSERT_TRUE(b.t->params().dbm);
  struct sink_t {
    std::vector<std::pair<uint64_t, uint64_t>> got;
    void record(uint64_t va, uint64_t len) { got.emplace_back(va, len); }
  };
  for (const va_window& w : TypeParam::windows()) {
    sink_t drain;
    genpt::gather g;
    ASSERT_TRUE(b.t->read_and_clear_dirty(w.first, w.last - w.first + 1, drain, g));
    b.t->sync(g);
  }
  // A live view of the block: 64-bit words the walker may compare-exchange.
  // The cast is sound: the block is 1 MiB aligned and every table word in
  // it is a std::uint64_t that page_table wrote (arena_levels tables).
  genpt::span_memory_rw mem(reinterpret_cast<uint64_t*>(b.mem.p), block::bytes / 8, base_oa);
  const auto regs = genpt::hw_walker<format>::regs_from(b.t->params(), b.t->params().top_level);
  ASSERT_TRUE(regs.ha && regs.hd);
  unsigned dirtied = 0;
  for (const auto& e : b.model.all()) {
    const bool wr = genpt::has(b.prots[e.tag], prot::write);
    const access write{true, false, false};
    const genpt::walk_result before = genpt::walk<format>(regs, b.root(), e.va, write, mem);
    EXPECT_EQ(before.ok, false) << std::hex << e.va;  // clean or read-only: no write yet
    const genpt::walk_result r = genpt::walk<format>(regs, b.root(), e.va, write, mem, true);
    ASSERT_EQ(r.ok, wr) << std::hex << e.va;
    if (!wr) continue;
    ++dirtied;
    struct one_sink {
      unsigned n = 0;
      void record(uint64_t, uint64_t) { ++n; }
    } s;
    genpt::gather g;
    ASSERT_TRUE(b.t->read_and_clear_dirty(e.va, 1, s, g));
    b.t->sync(g);
    EXPECT_EQ(s.n, 1u) << std::hex << e.va;
  }
  EXPECT_GT(dirtied, 0u);
}

/// span_memory_rw that records every word it changes.
struct logging_memory {
  struct write {
    oa_t oa;
    uint64_t before, after;
  };
  genpt::span_memory_rw mem;
  std::vector<write> writes;
  bool read64(oa_t oa, uint64_t& out) const { return mem.read64(oa, out); }
  bool cmpxchg64(oa_t oa, uint64_t& expected, uint64_t desired) {
    const uint64_t before = expected;
    const bool ok = mem.cmpxchg64(oa, expected, desired);
    if (ok) writes.push_back({oa, before, desired});
    return ok;
  }
};

// Untrusted memory: random bit flips in a built image, then random walks
// (any va, any access, with and without A/D updates). Every walk ends in a
// translation or a fault, reads only through the memory object (asan-ubsan
// preset: no raw access outside the image), and an A/D walk changes
// nothing in memory but AF and the dirty state of one leaf per walk.
TYPED_TEST(walk_armv8_differential, CorruptedImageNeverEscapesTheMemoryObject) {
  using format = typename TypeParam::format;
  using hw = genpt::hw_walker<format>;
  std::mt19937_64 rng(0xA4B8'0003);
  built<TypeParam> b(rng);
  ASSERT_TRUE(b.t.has_value());
  const genpt::arena_image im = b.t->allocator().image(b.root());
  ASSERT_GT(im.size, 0u);
  std::vector<uint64_t> words(im.size / 8);
  std::memcpy(words.data(), im.bytes, words.size() * 8);
  for (unsigned i = 0; i < 400; ++i) words[rng() % words.size()] ^= uint64_t{1} << (rng() % 64);
  for (unsigned i = 0; i < 20; ++i) words[rng() % words.size()] = rng();  // whole junk words
  for (unsigned i = 0; i < 4; ++i) words[rng() % words.size()] = ~uint64_t{0};
  auto regs = hw::regs_from(b.t->params(), b.t->params().top_level);
  regs.ha = true;
  regs.hd = true;
  const std::vector<uint64_t> vas = probe_vas<TypeParam>(b.model, rng);
  unsigned ok = 0, faults = 0;
  for (unsigned i = 0; i < vas.size() + 2000; ++i) {
    const uint64_t va = i < vas.size() ? vas[i] : rng();
    const access a{(rng() & 1) != 0, (rng() & 3) == 0, (rng() & 1) != 0};
    logging_memory mem{genpt::span_memory_rw(words.data(), words.size(), base_oa), {}};
    const genpt::walk_result r = hw::walk(regs, b.root(), va, a, mem, (i & 1) != 0);
    (r.ok ? ok : faults) += 1;
    if (!r.ok) {
      EXPECT_LE(int(r.f.kind), int(fault_kind::bus_error));
      EXPECT_GE(r.f.spec_level, -1);
      EXPECT_LE(r.f.spec_level, 3);
    } else {
      EXPECT_LE(r.t.level, format::max_top_level);
      EXPECT_GE(r.t.size_lg2, format::granule_lg2);
    }
    // Only AF and the dirty state (AP[2] / S2AP[1]) of one leaf may change.
    const uint64_t hw_bits = format::AF | (format::stage == 1 ? format::AP2 : format::S2AP_W);
    for (const auto& u : mem.writes) EXPECT_EQ(u.before & ~hw_bits, u.after & ~hw_bits);
    EXPECT_LE(mem.writes.size(), 1u);
    if ((i & 1) == 0) {
      EXPECT_TRUE(mem.writes.empty());
    }
  }
  EXPECT_GT(ok + faults, 0u);
}

}  // namespace
