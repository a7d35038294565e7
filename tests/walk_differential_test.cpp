// walk_differential_test.cpp - the hardware walker (genpt/walk/) against
// genpt's own tables, and over corrupted images.
//
// Differential: for every format configuration of the typed suites
// (support/format_configs.hpp), a table is built with
// page_table over arena_levels (public interface only) from random maps of
// every page size and random unmaps; then, for random vas inside and
// around the entries, walk<Format> over the arena's memory must agree with
// iova_to_phys and the reference model (oa), with for_each_leaf (entry
// size and level) and with the entry's attributes (effective permissions),
// and must fault (translation, or the format's out-of-range kind) exactly
// where nothing is mapped. The walker decodes by the spec
// (genpt/walk/<format>.hpp), the builder by its format hooks: two
// independent readings of the same memory.
//
// Corruption: random bits of a built image are flipped, and random vas are
// walked over it through a bounds-checked span_memory: the walker must
// always return a translation or a fault, read only through the memory
// object (run this under the asan-ubsan preset), read at most a bounded
// number of words, and return translations that are self-consistent.
//
// Another format joins by adding a walk_adapter specialisation and its
// configs to `configs` below.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <random>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
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
using genpt::va_t;
using genpt::walk_result;

// ------------------------------------------------------------- adapters --

/// Per format: the registers of a built table, the access to walk with for
/// an entry's attributes, the permissions the attributes promise, and the
/// fault kind of an unmapped va.
template <class Format>
struct walk_adapter;

template <>
struct walk_adapter<genpt::x86_64> {
  using walker = genpt::hw_walker<genpt::x86_64>;
  template <class Table>
  static walker::regs regs_of(const Table& pt) {
    return walker::regs_from(pt.params(), pt.hw_info().levels - 1);
  }
  static access access_for(const genpt::x86_64::attrs&) { return {}; }  // supervisor read
  static void check_perms(const genpt::walk_perms& p, const genpt::x86_64::attrs& a) {
    EXPECT_TRUE(p.read);
    EXPECT_EQ(p.write, a.write);
    EXPECT_EQ(p.user, a.user);
    EXPECT_EQ(p.exec, !a.noexec);
  }
  static fault_kind unmapped_kind(const walker::regs& r, va_t va) {
    const unsigned bits = r.la57 ? 57 : 48;  // SDM Vol. 3A §3.3.7.1: canonical form
    const std::uint64_t hi = va >> (bits - 1);
    return hi == 0 || hi == (~std::uint64_t{0} >> (bits - 1)) ? fault_kind::translation
                                                              : fault_kind::non_canonical;
  }
  static std::vector<prot> prots() {
    return {prot::read, prot::read | prot::write, prot::read | prot::noexec,
            prot::read | prot::write | prot::priv, prot::read | prot::mmio};
  }
  static constexpr unsigned max_reads = 5;
};

template <>
struct walk_adapter<genpt::amdv1> {
  using walker = genpt::hw_walker<genpt::amdv1>;
  template <class Table>
  static walker::regs regs_of(const Table& pt) {
    return walker::regs_from(pt.params(), pt.hw_info().mode - 1);
  }
  static access access_for(const genpt::amdv1::attrs& a) { return {.write = !a.read}; }
  static void check_perms(const genpt::walk_perms& p, const genpt::amdv1::attrs& a) {
    EXPECT_EQ(p.read, a.read);
    EXPECT_EQ(p.write, a.write);
  }
  static fault_kind unmapped_kind(const walker::regs& r, va_t va) {
    return r.mode < 6 && (va >> (12 + 9 * r.mode)) != 0 ? fault_kind::address_size : fault_kind::translation;
  }
  static std::vector<prot> prots() {
    return {prot::read, prot::read | prot::write, prot::write, prot::read | prot::mmio};
  }
  static constexpr unsigned max_reads = 6 + 256;  // levels, plus one NextLevel 7 run
};

// --------------------------------------------------------------- memory --

/// A 4 KiB-aligned zeroed block the arena places tables in.
struct block {
  explicit block(std::size_t n) : size(n), p(static_cast<std::byte*>(::operator new(n, std::align_val_t{4096}))) {}
  ~block() { ::operator delete(p, std::align_val_t{4096}); }
  block(const block&) = delete;
  block& operator=(const block&) = delete;
  std::size_t size;
  std::byte* p;
};

constexpr oa_t base_oa = 0x1'0000'0000;  // tables at 4 GiB and up (below every config's OA width)
constexpr std::size_t arena_bytes = std::size_t{16} << 20;

/// Counts reads, so a test can bound them (no loops over foreign tables).
template <class M>
struct counting {
  M& m;
  unsigned reads = 0;
  bool read64(oa_t oa, std::uint64_t& out) {
    ++reads;
    return m.read64(oa, out);
  }
};

// ---------------------------------------------------------------- suite --

template <class Config>
class walk_differential : public ::testing::Test {
 protected:
  using format = typename Config::format;
  using adapter = walk_adapter<format>;
  using table_t = genpt::page_table<format, genpt::arena_levels>;

  block mem_{arena_bytes};
  std::optional<table_t> pt_;
  genpt::test::reference_model model_;
  std::vector<typename format::attrs> tag_attrs_;
  std::mt19937_64 rng_{0x5eed'0000 + sizeof(Config)};

  void SetUp() override {
    auto r = table_t::create(Config::config(), genpt::arena_levels(mem_.p, mem_.size, base_oa));
    ASSERT_TRUE(r.has_value());
    pt_.emplace(std::move(*r));
  }

  std::uint64_t rnd(std::uint64_t n) { return n ? rng_() % n : rng_(); }

  /// One entry of every page size the table offers (largest first, so
  /// they all fit), then `maps` random maps of random sizes and lengths,
  /// then unmaps of a quarter of the random ones (tables partly emptied).
  void build(unsigned maps) {
    const genpt::table_info info = pt_->info();
    std::vector<unsigned> sizes;
    for (unsigned s = 64; s-- > 0;)
      if ((info.pgsize_bitmap >> s) & 1) sizes.push_back(s);
    // Packed from the start of a window, largest first: each start is
    // aligned to its size, and they always fit (sum < the largest * 2).
    const auto windows = Config::windows();
    va_t cursor = windows[rnd(windows.size())].first;
    for (unsigned s : sizes) {
      EXPECT_TRUE(try_map(s, std::uint64_t{1} << s, info, cursor)) << "size " << s;
      cursor += std::uint64_t{1} << s;
    }
    const auto first_random = static_cast<unsigned>(tag_attrs_.size());
    for (unsigned i = 0; i < maps; ++i) {
      const unsigned s = sizes[rnd(sizes.size())];
      try_map(s, (rnd(3) + 1) << s, info);
    }
    auto all = model_.all();
    for (std::size_t i = 0; i < all.size(); i += 4) {
      if (all[i].tag < first_random) continue;
      const std::uint64_t len = std::uint64_t{1} << all[i].size_lg2;
      ASSERT_EQ(pt_->unmap(all[i].va, len), len);
      model_.unmap(all[i].va, len);
    }
  }

  /// Maps `len` bytes at a random (or the given) 2^s-aligned va and a
  /// random 2^s-aligned oa, unless the va range is taken; true when mapped.
  bool try_map(unsigned s, std::uint64_t len, const genpt::table_info& info,
               std::optional<va_t> at = std::nullopt) {
    const auto windows = Config::windows();
    const auto prots = adapter::prots();
    const auto& w = windows[rnd(windows.size())];
    const std::uint64_t span_m1 = w.last - w.first;
    if (len >= (std::uint64_t{1} << info.oa_lg2)) return false;
    va_t va = 0;
    if (at) {
      va = *at;
    } else {
      if (span_m1 < len - 1) return false;
      const std::uint64_t room = span_m1 - (len - 1);  // last possible start, from w.first
      va = w.first + ((room + 1 == 0 ? rng_() : rnd(room + 1)) >> s << s);
      if (va + (len - 1) > w.last || va + (len - 1) < va) return false;
    }
    const oa_t oa = rnd((std::uint64_t{1} << info.oa_lg2) - len) >> s << s;
    const prot p = prots[rnd(prots.size())];
    if (!format::prot_supported(p, pt_->params())) return false;
    if (model_.overlaps(va, va + (len - 1))) return false;
    auto r = pt_->map(va, oa, len, p);
    EXPECT_TRUE(r.has_value()) << "map va " << std::hex << va << " len " << len;
    if (!r) return false;
    tag_attrs_.push_back(format::attrs_from_prot(p, pt_->params()));
    EXPECT_TRUE(model_.map(info.pgsize_bitmap, va, oa, len, static_cast<unsigned>(tag_attrs_.size() - 1)));
    return true;
  }

  /// Walks `va` over the arena and compares with every other reading.
  void check(va_t va) {
    genpt::span_memory mem(mem_.p, mem_.size, base_oa);
    const auto r = adapter::regs_of(*pt_);
    const oa_t root = pt_->hw_info().root;
    const std::optional<oa_t> ip = pt_->iova_to_phys(va);
    const std::optional<std::uint64_t> mo = model_.translate(va);
    ASSERT_EQ(ip, mo) << "va " << std::hex << va;
    const genpt::test::model_entry* e = model_.find(va);
    const access a = e ? adapter::access_for(tag_attrs_[e->tag]) : access{};
    const walk_result w = genpt::walk<format>(r, root, va, a, mem);
    if (!ip) {
      ASSERT_FALSE(w.ok) << "va " << std::hex << va << " walked to " << w.t.oa;
      EXPECT_EQ(w.f.kind, adapter::unmapped_kind(r, va)) << "va " << std::hex << va;
      return;
    }
    ASSERT_TRUE(w.ok) << "va " << std::hex << va << " fault " << int(w.f.kind) << " level " << w.f.spec_level;
    EXPECT_EQ(w.t.oa, *ip) << "va " << std::hex << va;
    unsigned leaves = 0;
    pt_->for_each_leaf(va, 1, [&](const auto& l) {
      ++leaves;
      EXPECT_EQ(w.t.size_lg2, l.size_lg2) << "va " << std::hex << va;
      EXPECT_EQ(w.t.level, l.level) << "va " << std::hex << va;
      adapter::check_perms(w.t.perms, l.attrs);
    });
    EXPECT_EQ(leaves, 1u);
    EXPECT_EQ(w.t.size_lg2, e->size_lg2);
    sizes_walked_ |= std::uint64_t{1} << w.t.size_lg2;
  }
  std::uint64_t sizes_walked_ = 0;  ///< bit n: a 2^n translation was compared

  void run_differential() {
    build(300);
    const auto windows = Config::windows();
    for (const auto& e : model_.all()) {
      const std::uint64_t size = std::uint64_t{1} << e.size_lg2;
      check(e.va);
      check(e.va + (size - 1));
      check(e.va + rnd(size));
      if (e.va != 0) check(e.va - 1);  // just below: another entry, or a fault
      if (e.va + size != 0) check(e.va + size);
    }
    for (unsigned i = 0; i < 2000; ++i) {
      const auto& w = windows[rnd(windows.size())];
      const std::uint64_t span = w.last - w.first;
      check(w.first + (span == ~std::uint64_t{0} ? rng_() : rnd(span + 1)));
    }
    // Every page size the table offers was compared at least once.
    EXPECT_EQ(sizes_walked_, pt_->info().pgsize_bitmap) << std::hex << sizes_walked_;
  }

  /// Flips random bits of the built image, walks random vas over it.
  void run_corruption() {
    build(100);
    const auto r0 = adapter::regs_of(*pt_);
    const oa_t root = pt_->hw_info().root;
    const genpt::arena_image img = pt_->allocator().image(root);
    ASSERT_GT(img.size, 0u);
    const auto windows = Config::windows();
    std::vector<std::size_t> used;  // byte offsets of the nonzero words
    for (std::size_t o = 0; o + 8 <= img.size; o += 8)
      for (std::size_t b = 0; b < 8; ++b)
        if (img.bytes[o + b] != std::byte{0}) {
          used.push_back(o);
          break;
        }
    ASSERT_FALSE(used.empty());
    const auto entries = model_.all();
    ASSERT_FALSE(entries.empty());
    unsigned outcomes[8] = {};  // [0]: translations, [1 + kind]: faults
    for (unsigned round = 0; round < 200; ++round) {
      // A fresh copy of the image with 1 to 16 flipped bits.
      std::vector<std::byte> copy(img.bytes, img.bytes + img.size);
      for (std::uint64_t f = rnd(16) + 1; f-- > 0;) {
        // Half of the flips hit a descriptor (a nonzero word of the image).
        const std::size_t at = f % 2 ? rnd(copy.size()) : used[rnd(used.size())] + rnd(8);
        copy[at] ^= static_cast<std::byte>(1u << rnd(8));
      }
      genpt::span_memory sm(copy.data(), copy.size(), base_oa);
      for (unsigned i = 0; i < 100; ++i) {
        va_t va = 0;
        if (i % 4 == 0) {
          va = rng_();  // anywhere, in range or not
        } else if (i % 4 == 1) {
          const auto& w = windows[rnd(windows.size())];
          const std::uint64_t span = w.last - w.first;
          va = w.first + (span == ~std::uint64_t{0} ? rng_() : rnd(span + 1));
        } else {  // inside a mapped entry: the walk goes deep
          const auto& e = entries[rnd(entries.size())];
          va = e.va + rnd(std::uint64_t{1} << e.size_lg2);
        }
        const access a{.write = rnd(2) == 1, .exec = rnd(4) == 0, .user = rnd(2) == 1};
        counting<genpt::span_memory> cm{sm};
        const walk_result res = genpt::walk<format>(r0, root, va, a, cm);
        ASSERT_LE(cm.reads, adapter::max_reads);
        ++outcomes[res.ok ? 0 : 1 + static_cast<unsigned>(res.f.kind)];
        if (res.ok) {
          ASSERT_LE(res.t.size_lg2, 64u);
          const std::uint64_t low =
              res.t.size_lg2 >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << res.t.size_lg2) - 1;
          ASSERT_EQ(res.t.oa & low, va & low);
          ASSERT_LE(res.t.level, format::max_top_level);
        } else {
          ASSERT_LE(static_cast<unsigned>(res.f.kind), static_cast<unsigned>(fault_kind::bus_error));
          ASSERT_LE(res.f.level, format::max_top_level);
        }
      }
    }
    // The corruption reached the walks: translations still, and faults
    // from bad bits or pointers out of the image.
    EXPECT_GT(outcomes[0], 0u);
    EXPECT_GT(outcomes[1 + static_cast<unsigned>(fault_kind::reserved_bit)] +
                  outcomes[1 + static_cast<unsigned>(fault_kind::bus_error)],
              0u);
  }
};

// Every x86_64 and AMDv1 config (support/format_configs.hpp); ARMv8 has
// its own walker test (walk_armv8_differential_test.cpp).
using configs = genpt::test::gtest_types<
    genpt::test::concat_configs_t<genpt::test::x86_64_configs, genpt::test::amdv1_configs>>;
TYPED_TEST_SUITE(walk_differential, configs, genpt::test::config_names);

// Every genpt-built translation reads the same through the spec walker.
TYPED_TEST(walk_differential, WalkerAgreesWithIovaToPhysAndModel) { this->run_differential(); }

// Corrupted images: a translation or a fault, never a stray read.
TYPED_TEST(walk_differential, CorruptedImageNeverEscapesMemoryObject) { this->run_corruption(); }

// span_memory: words of a caller's buffer at a base oa, little-endian,
// bounds-checked (a walk over an image can never read past it).
TEST(SpanMemory, ReadsLittleEndianWordsInsideTheBufferOnly) {
  unsigned char bytes[24] = {};
  for (unsigned i = 0; i < 24; ++i) bytes[i] = static_cast<unsigned char>(i + 1);
  genpt::span_memory m(bytes, sizeof bytes, 0x1000);
  std::uint64_t w = 0;
  ASSERT_TRUE(m.read64(0x1008, w));
  EXPECT_EQ(w, 0x100F'0E0D'0C0B'0A09u);
  EXPECT_TRUE(m.read64(0x1010, w));    // the last whole word
  EXPECT_FALSE(m.read64(0x1018, w));   // one past the end
  EXPECT_FALSE(m.read64(0x0FF8, w));   // below the base
  EXPECT_FALSE(m.read64(0x1004, w));   // unaligned
  EXPECT_FALSE(m.read64(~std::uint64_t{7}, w));
  genpt::span_memory odd(bytes, 20, 0x1000);  // a partial last word
  EXPECT_FALSE(odd.read64(0x1010, w));
}

// span_memory_rw: atomic words; a refused write leaves `expected` alone.
TEST(SpanMemory, RwCompareExchangesInsideTheBufferOnly) {
  std::uint64_t words[2] = {5, 7};
  genpt::span_memory_rw m(words, 2, 0x2000);
  std::uint64_t e = 5;
  EXPECT_TRUE(m.cmpxchg64(0x2000, e, 6));
  EXPECT_EQ(words[0], 6u);
  e = 5;
  EXPECT_FALSE(m.cmpxchg64(0x2008, e, 9));
  EXPECT_EQ(e, 7u);
  e = 1;
  EXPECT_FALSE(m.cmpxchg64(0x2010, e, 9));
  EXPECT_EQ(e, 1u);
  std::uint64_t w = 0;
  EXPECT_TRUE(m.read64(0x2008, w));
  EXPECT_EQ(w, 7u);
  EXPECT_FALSE(m.read64(0x2010, w));
  static_assert(genpt::walk_memory_rw<genpt::span_memory_rw>);
  static_assert(genpt::walk_memory<genpt::span_memory> && !genpt::walk_memory_rw<genpt::span_memory>);
}

}  // namespace
