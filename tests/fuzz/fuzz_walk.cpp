// tests/fuzz/fuzz_walk.cpp - libFuzzer harness: the hardware walker
// (genpt/walk/) on arbitrary table images, for every format and
// configuration.
//
// Input: a configuration selector (tests/fuzz/fuzz_support.hpp: x86_64
// 4/5-level, AMDv1 modes, ARMv8 granules 4K/16K/64K at stage 1 and 2,
// TTBR1, LPA/LPA2/LVA, DBM, RISC-V Sv39/48/57 and their x4 G-stage, VT-d
// second stage and EPT), register variations (x86 CR0.WP, SMEP, SMAP,
// AC, NXE, 1G pages, MAXPHYADDR, C-bit; AMD DTE Mode 0..7, IR, IW, HAD,
// OA width; ARM HA, HD, HPD, WXN, PAN, XNX, TnSZ, SL0/SL2, PS, DS, LPA,
// LVA, TTBR1; RISC-V MODE incl. Bare and reserved, G-stage, Svnapot,
// Svpbmt, ADUE, SUM, MXR; VT-d / EPT walk length, widths, A/D, execute,
// snoop, execute-only, 2M / 1G support), a base oa, a root oa, up to 8 (va, access, set_ad), and a
// table image: the rest of the input as raw bytes, or a sparse list of
// (word index, value) over a zeroed block of a chosen size.
//
// Each walk reads the image only through span_memory (read-only) or
// span_memory_rw (set_ad) over a heap buffer of exactly the image's size,
// so AddressSanitizer reports any read outside it. Checked for every walk:
//  * the result is a translation or a fault, and the same twice over;
//  * a translation: size_lg2 in [12, 64], the oa's low size_lg2 bits equal
//    the va's, the oa below 2^52 (RISC-V 2^56; not for AMD mode 0 or
//    RISC-V Bare), the level within the format's levels;
//  * a fault: a known kind, level within the format's levels, and the
//    descriptor it names is the word the image holds at item_oa;
//  * with set_ad (over a word copy of the image that keeps what earlier
//    set_ad walks wrote): the walk ends as a read-only walk of the same
//    words does when that one translates (same oa, size, level; except an
//    ARMv8 stage 1 fetch with HD, where DBM makes the page writable for
//    WXN and implicit PXN: walk_facts::set_ad_may_differ), and every
//    word it writes changes only the format's Accessed / Dirty bits (x86 /
//    AMD bits 5, 6; Arm AF bit 10 and AP[2] / S2AP[1] bit 7; RISC-V bits
//    6, 7; VT-d / EPT bits 8, 9), and only when
//    the walk translates.
// Each va is walked with the access the input asks and as a write and a
// user access too, and its 45 neighbours (one of bits 12..56 flipped) with
// the access asked.
// A "build" variant (flag bits 4:2 = 0b100) maps arbitrary requests with page_table
// over arena_levels and requires walk == iova_to_phys (and the leaf size
// for_each_leaf reports) for the mapped vas and arbitrary ones.
//
// GENPT_FUZZ_STATS=1 in the environment prints the walks done at exit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "genpt/alloc/arena_levels.hpp"
#include "genpt/page_table.hpp"
#include "genpt/walk/walk.hpp"

namespace {

using genpt::access;
using genpt::fault_kind;
using genpt::oa_t;
using genpt::va_t;
using genpt::walk_result;
using genpt::fuzz::finding;
using genpt::fuzz::reader;

std::uint64_t g_walks = 0;   ///< walks done (all inputs)
std::uint64_t g_inputs = 0;  ///< inputs run

void print_stats() {
  std::fprintf(stderr, "genpt fuzz_walk: %llu inputs, %llu walks\n",
               static_cast<unsigned long long>(g_inputs), static_cast<unsigned long long>(g_walks));
}

// ------------------------------------------------------ per-format facts --

/// What the harness checks a format's walks against: max_level, oa_lg2 (no
/// translation reaches 2^oa_lg2), ad_bits (the only bits a set_ad walk may
/// write), vary (register variations drawn from the input). One
/// specialisation per format below; a format without one fails here.
template <class Format>
struct walk_facts {
  static_assert(sizeof(Format) == 0,
                "add walk_facts<Format> (max_level, oa_lg2, ad_bits, vary) in tests/fuzz/fuzz_walk.cpp");
};

template <>
struct walk_facts<genpt::x86_64> {
  static constexpr unsigned max_level = 4;                           // PML5E
  static constexpr unsigned oa_lg2 = 52;
  static constexpr std::uint64_t ad_bits = (1u << 5) | (1u << 6);    // SDM 4.8: A, D
  using regs = genpt::hw_walker<genpt::x86_64>::regs;
  static void vary(regs& r, std::uint8_t v1, std::uint8_t v2, reader&) {
    if (!(v2 & 0x80)) return;  // half the inputs keep hw_info's registers
    r.cr0_wp = v1 & 1;
    r.cr4_smep = v1 & 2;
    r.cr4_smap = v1 & 4;
    r.eflags_ac = v1 & 8;
    r.efer_nxe = v1 & 16;
    r.page_1g = v1 & 32;
    constexpr unsigned widths[] = {52, 46, 39, 36};
    r.maxphyaddr = widths[(v1 >> 6) & 3];
    if (v2 & 1) r.la57 = !r.la57;
    r.c_bit = (v2 & 2) && r.maxphyaddr < 52 ? std::uint64_t{1} << r.maxphyaddr : 0;
  }
};

template <>
struct walk_facts<genpt::amdv1> {
  static constexpr unsigned max_level = 5;                           // AMD level 6
  static constexpr unsigned oa_lg2 = 52;
  static constexpr std::uint64_t ad_bits = (1u << 5) | (1u << 6);    // PTE A, D
  using regs = genpt::hw_walker<genpt::amdv1>::regs;
  static void vary(regs& r, std::uint8_t v1, std::uint8_t v2, reader&) {
    if (!(v2 & 0x80)) return;
    r.mode = v1 & 7;  // 0 pass-through .. 7 reserved
    r.ir = v1 & 8;
    r.iw = v1 & 16;
    r.update_a = v1 & 32;
    r.update_d = v1 & 64;
    r.strict_replicas = !(v1 & 128);
    constexpr unsigned widths[] = {52, 48, 40, 44};
    r.oa_lg2 = widths[v2 & 3];
    r.c_bit = (v2 & 4) && r.oa_lg2 < 52 ? std::uint64_t{1} << r.oa_lg2 : 0;
  }
  static bool pass_through(const regs& r) { return r.mode == 0; }  // DTE Mode 0: no translation
};

template <unsigned G, unsigned S>
struct walk_facts<genpt::armv8<G, S>> {
  static constexpr unsigned max_level = 4;  // Arm level -1
  static constexpr unsigned oa_lg2 = 52;
  // D8.5: AF (bit 10); DBM leaves made dirty clear AP[2] / set S2AP[1] (bit 7).
  static constexpr std::uint64_t ad_bits = (1u << 10) | (1u << 7);
  using regs = typename genpt::hw_walker<genpt::armv8<G, S>>::regs;
  static void vary(regs& r, std::uint8_t v1, std::uint8_t v2, reader& in) {
    if (!(v2 & 0x80)) return;
    r.ha = v1 & 1;
    r.hd = v1 & 2;
    r.hpd = v1 & 4;
    r.wxn = v1 & 8;
    r.pan = v1 & 16;
    r.xnx = v1 & 32;
    if (v2 & 1) r.tsz = in.u8() % 64;
    if (v2 & 2) {
      r.sl0 = in.u8() % 4;
      r.sl2 = in.u8() % 2;
    }
    if (v2 & 4) r.ps = in.u8() % 8;
    if (v2 & 8) r.ds = !r.ds;
    if (v2 & 16) r.lpa = !r.lpa;
    if (v2 & 32) r.lva = !r.lva;
    if (v2 & 64) r.ttbr1 = !r.ttbr1;
  }
  /// Whether a set_ad walk may legitimately end otherwise than the
  /// read-only walk of the same words. At stage 1 with HD, a DBM
  /// descriptor's effective AP[2] is 0 (Arm ARM pseudocode
  /// AArch64.S1DirectBasePermissions: "Descriptors marked with DBM set have
  /// the effective value of AP[2] cleared"), so WXN and the implicit PXN of
  /// an EL0-writable page see a writable page and a fetch may fault; the
  /// read-only walk acts as HD = 0 and sees it read-only.
  static bool set_ad_may_differ(const regs& r, access a) { return S == 1 && r.hd && a.exec; }
};

template <>
struct walk_facts<genpt::riscv> {
  static constexpr unsigned max_level = 4;                           // Sv57 level 4
  static constexpr unsigned oa_lg2 = 56;                             // 44-bit PPN (priv. spec 10.3.2)
  static constexpr std::uint64_t ad_bits = (1u << 6) | (1u << 7);    // priv. spec 10.3.1: A, D
  using regs = genpt::hw_walker<genpt::riscv>::regs;
  static void vary(regs& r, std::uint8_t v1, std::uint8_t v2, reader&) {
    if (!(v2 & 0x80)) return;
    constexpr unsigned levels[] = {3, 4, 5, 0, 3, 4, 5, 1};  // 0: Bare; 1: a reserved MODE
    r.levels = levels[v1 & 7];
    r.g_stage = v1 & 8;
    r.svnapot = v1 & 16;
    r.svpbmt = v1 & 32;
    r.adue = v1 & 64;
    r.sum = v1 & 128;
    r.mxr = v2 & 1;
  }
  static bool pass_through(const regs& r) { return r.levels == 0; }
};

template <bool Ept>
struct vtd_ss_facts {
  static constexpr unsigned max_level = 4;                           // 5-level PML5E
  static constexpr unsigned oa_lg2 = 52;
  static constexpr std::uint64_t ad_bits = (1u << 8) | (1u << 9);    // VT-d 9.8 / SDM 29.3.5: A, D
  using regs = typename genpt::hw_walker<std::conditional_t<Ept, genpt::ept, genpt::vtd_ss>>::regs;
  static void vary(regs& r, std::uint8_t v1, std::uint8_t v2, reader& in) {
    if (!(v2 & 0x80)) return;
    r.levels = 2 + v1 % 5;  // 2 and 6: no such AGAW / walk length
    r.ad = v1 & 8;
    r.exec = v1 & 16;
    r.snoop = v1 & 32;
    r.exec_only = v1 & 64;
    r.page_2m = !(v1 & 128);
    r.page_1g = !(v2 & 1);
    if (v2 & 2) r.va_bits = in.u8() % 64;
    if (v2 & 4) r.oa_bits = 32 + in.u8() % 21;
  }
};
template <>
struct walk_facts<genpt::vtd_ss> : vtd_ss_facts<false> {};
template <>
struct walk_facts<genpt::ept> : vtd_ss_facts<true> {};

/// Output addresses the image may start at (aligned and not).
constexpr oa_t bases[] = {0,           0x1000,         0x10000,          0x200000,
                          0x40000000,  0x1'0000'0000,  oa_t{1} << 40,    (oa_t{1} << 48) - (oa_t{1} << 20),
                          (oa_t{1} << 52) - (oa_t{1} << 21), 0xffff'ffff'fff0'0000, 0x123'4567'8000,
                          0x8};

// ------------------------------------------------------ image walking --

/// span_memory_rw that logs every word it changed (oa, before, after).
struct logging_rw {
  genpt::span_memory_rw m;
  std::vector<std::tuple<oa_t, std::uint64_t, std::uint64_t>> log;
  bool read64(oa_t oa, std::uint64_t& out) const noexcept { return m.read64(oa, out); }
  bool cmpxchg64(oa_t oa, std::uint64_t& expected, std::uint64_t desired) {
    const std::uint64_t was = expected;
    const bool ok = m.cmpxchg64(oa, expected, desired);
    if (ok && was != desired) log.emplace_back(oa, was, desired);
    return ok;
  }
};

/// Checks one walk's result against the invariants of the file comment.
template <class Format>
void check_result(const walk_result& w, va_t va, const genpt::span_memory& mem, bool pass_through) {
  using facts = walk_facts<Format>;
  if (w.ok) {
    const genpt::translation& t = w.t;
    GENPT_FUZZ_CHECK(t.size_lg2 >= 12 && t.size_lg2 <= 64, va, t.size_lg2);
    if (t.size_lg2 < 64) {
      const std::uint64_t low = (std::uint64_t{1} << t.size_lg2) - 1;
      GENPT_FUZZ_CHECK((t.oa & low) == (va & low), va, t.oa, t.size_lg2);
    }
    if (!pass_through) GENPT_FUZZ_CHECK((t.oa >> facts::oa_lg2) == 0, va, t.oa);
    GENPT_FUZZ_CHECK(t.level <= facts::max_level, va, t.level);
    return;
  }
  const genpt::fault& f = w.f;
  GENPT_FUZZ_CHECK(static_cast<unsigned>(f.kind) <= static_cast<unsigned>(fault_kind::bus_error),
                   va, static_cast<unsigned>(f.kind));
  GENPT_FUZZ_CHECK(f.level <= facts::max_level, va, f.level);
  if (f.kind != fault_kind::bus_error && (f.item_oa != 0 || f.word != 0)) {
    std::uint64_t word = 0;
    GENPT_FUZZ_CHECK(mem.read64(f.item_oa, word), va, f.item_oa, static_cast<unsigned>(f.kind));
    GENPT_FUZZ_CHECK(word == f.word, va, f.item_oa, f.word);
  }
}

template <class Config>
void walk_image(reader& in, std::uint8_t v1, std::uint8_t v2, std::uint8_t v3) {
  using format = typename Config::format;
  using facts = walk_facts<format>;
  using walker = genpt::hw_walker<format>;
  const auto p = format::init(Config::config());
  if (!p) finding("config refused", 0);
  typename walker::regs r = walker::regs_from(*p, p->top_level);
  facts::vary(r, v1, v2, in);

  const oa_t base = bases[in.u8() % (sizeof bases / sizeof bases[0])];
  const oa_t root = (v3 & 0x20) ? in.u64() : base + oa_t{in.u16()} * 32;
  struct one_va {
    va_t va;
    std::uint8_t flags;
  };
  one_va vas[8];
  const unsigned nva = 1 + in.u8() % 8;  // each walked 3 ways, and again
  for (unsigned i = 0; i < nva; ++i) vas[i] = {in.u64(), in.u8()};

  // The image: raw bytes, or sparse words over a zeroed block.
  std::vector<std::uint8_t> bytes;
  if (!(v3 & 0x40)) {
    const std::size_t n = in.left() < (std::size_t{1} << 20) ? in.left() : std::size_t{1} << 20;
    bytes.assign(in.rest(), in.rest() + n);
    in.drain();
  } else {
    std::size_t words = (std::size_t{in.u16()} + 1) << (in.u8() % 3);
    if (words > (std::size_t{1} << 15)) words = std::size_t{1} << 15;  // 256 KiB
    bytes.assign(words * 8, 0);
    while (in.left() >= 12) {
      const std::size_t i = in.u32() % words;
      const std::uint64_t v = in.u64();
      std::memcpy(bytes.data() + i * 8, &v, 8);  // host order = little endian (span_memory's)
    }
    in.drain();
  }
  // An exactly sized heap buffer: a read past it is an ASan report.
  const std::size_t size = bytes.size();
  std::unique_ptr<std::uint8_t[]> image(new std::uint8_t[size ? size : 1]);
  if (size) std::memcpy(image.get(), bytes.data(), size);
  const genpt::span_memory mem(image.get(), size, base);
  bool pass_through = false;
  if constexpr (requires { facts::pass_through(r); }) pass_through = facts::pass_through(r);

  // The set_ad walks share one word copy of the image (the rw memory's
  // host order); every write they make is logged and checked.
  std::vector<std::uint64_t> words(size / 8);
  if (!words.empty()) std::memcpy(words.data(), image.get(), words.size() * 8);
  logging_rw rw{genpt::span_memory_rw(words.data(), words.size(), base), {}};
  for (unsigned i = 0; i < nva; ++i) {
    const va_t va = vas[i].va;
    for (const unsigned flip : {0u, 1u, 4u}) {  // the access asked, then as a write / user access
      const std::uint8_t fl = static_cast<std::uint8_t>(vas[i].flags ^ flip);
      const access a{.write = (fl & 1) != 0, .exec = (fl & 2) != 0, .user = (fl & 4) != 0};
      const walk_result w = genpt::walk<format>(r, root, va, a, mem);
      g_walks += 1;
      check_result<format>(w, va, mem, pass_through);
      if (flip == 0) {
        const walk_result w2 = genpt::walk<format>(r, root, va, a, mem);
        ++g_walks;
        GENPT_FUZZ_CHECK(w.ok == w2.ok, va);
        if (w.ok) {
          GENPT_FUZZ_CHECK(w.t == w2.t, va, w.t.oa, w2.t.oa);
        } else {
          GENPT_FUZZ_CHECK(w.f == w2.f, va, w.f.item_oa, w2.f.item_oa);
        }
      }
      if (!(fl & 8) || words.empty()) continue;
      // set_ad: the walk ends as the read-only one over the same words
      // did, and writes only A/D bits, only when it translates.
      genpt::span_memory rw_view(words.data(), words.size() * 8, base);
      const walk_result before = genpt::walk<format>(r, root, va, a, rw_view);
      rw.log.clear();
      const walk_result wa = genpt::walk<format>(r, root, va, a, rw, /*set_ad=*/true);
      g_walks += 2;
      check_result<format>(wa, va, rw_view, pass_through);
      bool may_differ = false;
      if constexpr (requires { facts::set_ad_may_differ(r, a); }) may_differ = facts::set_ad_may_differ(r, a);
      if (before.ok && !may_differ) {
        GENPT_FUZZ_CHECK(wa.ok, va, static_cast<unsigned>(wa.f.kind), wa.f.item_oa);
        GENPT_FUZZ_CHECK(wa.t.oa == before.t.oa && wa.t.size_lg2 == before.t.size_lg2 &&
                             wa.t.level == before.t.level,
                         va, wa.t.oa, before.t.oa);
      }
      for (const auto& [oa, old_word, new_word] : rw.log) {
        GENPT_FUZZ_CHECK(wa.ok, va, oa, old_word, new_word);
        GENPT_FUZZ_CHECK(((old_word ^ new_word) & ~facts::ad_bits) == 0, va, oa, old_word, new_word);
      }
    }
    // Its neighbours: one bit of the translated part flipped (bits 12..56:
    // each index field of every level and granule, and the sign / range
    // bits above), so the walk takes another item of the same image.
    for (unsigned b = 12; b <= 56; ++b) {
      const va_t near = va ^ (va_t{1} << b);
      const access a{.write = (vas[i].flags & 1) != 0, .exec = (vas[i].flags & 2) != 0,
                     .user = (vas[i].flags & 4) != 0};
      check_result<format>(genpt::walk<format>(r, root, near, a, mem), near, mem, pass_through);
      ++g_walks;
    }
  }
}

// ------------------------------------------------- built tables: walk == iova_to_phys --

/// A zeroed, 1 MiB aligned block per size, reused across inputs.
std::byte* block(std::size_t size) {
  static std::byte* blocks[3] = {};
  const unsigned i = size <= (std::size_t{1} << 19) ? 0 : size <= (std::size_t{1} << 20) ? 1 : 2;
  if (!blocks[i]) blocks[i] = static_cast<std::byte*>(::operator new(size, std::align_val_t{std::size_t{1} << 20}));
  return blocks[i];
}

template <class Config>
void walk_built(reader& in) {
  using format = typename Config::format;
  using table_t = genpt::page_table<format, genpt::arena_levels>;
  using walker = genpt::hw_walker<format>;
  std::size_t size = std::size_t{1} << 19;  // 512 KiB: 4K-granule tables
  if constexpr (requires { format::granule_lg2; }) {
    if constexpr (format::granule_lg2 == 14) size = std::size_t{1} << 20;
    if constexpr (format::granule_lg2 == 16) size = std::size_t{4} << 20;
  }
  constexpr oa_t base = 0x10'0000;  // 1 MiB: below every config's OA width
  auto made = table_t::create(Config::config(), genpt::arena_levels(block(size), size, base));
  if (!made) finding("create refused");
  table_t& pt = *made;
  const genpt::table_info info = pt.info();
  std::vector<unsigned> sizes;
  for (unsigned s = 0; s < 64; ++s)
    if ((info.pgsize_bitmap >> s) & 1) sizes.push_back(s);
  const auto windows = Config::windows();
  constexpr genpt::prot prots[] = {genpt::prot::read, genpt::prot::read | genpt::prot::write,
                                   genpt::prot::write, genpt::prot::read | genpt::prot::noexec,
                                   genpt::prot::read | genpt::prot::mmio,
                                   genpt::prot::read | genpt::prot::write | genpt::prot::cache};
  std::vector<va_t> probes;
  const unsigned maps = 1 + in.u8() % 8;
  for (unsigned m = 0; m < maps; ++m) {
    const auto& w = windows[in.u8() % windows.size()];
    const unsigned s = sizes[in.u8() % sizes.size()];
    const std::uint64_t span_m1 = w.last - w.first;
    const std::uint64_t len = (std::uint64_t{in.u8()} % 4 + 1) << s;
    const va_t off = (in.u64() << s) & span_m1;
    const va_t va = w.first + off;
    const oa_t oa = (std::uint64_t{in.u32()} << s) & ((std::uint64_t{1} << info.oa_lg2) - 1);
    const genpt::prot pr = prots[in.u8() % (sizeof prots / sizeof prots[0])];
    (void)pt.map(va, oa, len, pr);  // any outcome; the walk must agree with the table
    probes.push_back(va);
    probes.push_back(va + (len - 1));
    probes.push_back(va + (in.u64() % len));
  }
  while (!in.empty() && probes.size() < 64) probes.push_back(in.u64());

  const auto regs = walker::regs_from(pt.params(), pt.info().top_level);  // after any growth
  const oa_t root = pt.hw_info().root;
  const genpt::span_memory mem(block(size), size, base);
  for (const va_t va : probes) {
    const std::optional<oa_t> ip = pt.iova_to_phys(va);
    const walk_result w = genpt::walk<format>(regs, root, va, access{}, mem);
    ++g_walks;
    if (!ip) {
      GENPT_FUZZ_CHECK(!w.ok, va, w.t.oa);
      continue;
    }
    if (!w.ok) {  // mapped but not readable (AMD / stage 2 write-only)
      GENPT_FUZZ_CHECK(w.f.kind == fault_kind::permission, va, static_cast<unsigned>(w.f.kind),
                       w.f.spec_level);
      continue;
    }
    GENPT_FUZZ_CHECK(w.t.oa == *ip, va, w.t.oa, *ip);
    unsigned leaves = 0;
    pt.for_each_leaf(va, 1, [&](const auto& l) {
      ++leaves;
      GENPT_FUZZ_CHECK(l.size_lg2 == w.t.size_lg2 && l.level == w.t.level, va, l.size_lg2,
                       w.t.size_lg2);
    });
    GENPT_FUZZ_CHECK(leaves == 1, va, leaves);
  }
}

struct run_one {
  reader* in;
  std::uint8_t v1, v2, v3;
  template <class Config>
  void operator()() const {
    if ((v3 & 0x1c) == 0x10)  // one input in 8: a table built by page_table
      walk_built<Config>(*in);
    else
      walk_image<Config>(*in, v1, v2, v3);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool stats = [] {
    if (std::getenv("GENPT_FUZZ_STATS")) std::atexit(print_stats);
    return true;
  }();
  (void)stats;
  ++g_inputs;
  reader in(data, size);
  const std::uint8_t sel = in.u8();
  const std::uint8_t v1 = in.u8(), v2 = in.u8(), v3 = in.u8();
  genpt::fuzz::with_config(sel, run_one{&in, v1, v2, v3});
  return 0;
}
