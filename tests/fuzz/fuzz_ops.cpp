// tests/fuzz/fuzz_ops.cpp - libFuzzer harness: operation sequences with
// arbitrary arguments and injected allocation failures, on page_table and
// on the reference model (tests/support/reference_model.hpp), for every
// format and configuration (tests/fuzz/fuzz_support.hpp).
//
// Input: a configuration selector, then operations until the input ends
// (at most 256): map (prot from a list, or any prot bits), unmap (synced at
// once or gathered), protect (with or without no_cut), cut,
// read_and_clear_dirty (clearing or not), set_dirty, iova_to_phys and
// fault_injecting::fail_after (the next 1st..4th table allocation fails).
// Arguments are mostly near the table's windows and entries, sometimes any
// 64-bit value.
//
// After each operation (any mismatch aborts: a finding):
//  * its result: map ok exactly when the model has room and the request is
//    well formed, address_in_use when not; unmap's byte count; cut's and
//    set_dirty's not_found / misaligned; no_memory only when an injected
//    failure fired during the call; any other error only for bad input;
//  * a failed call left the table as it was: every raw item (for_each_item)
//    over the request's range (cut, set_dirty: the 2^39 or largest-page
//    block around va) for bad input, every leaf (the model did not change)
//    for address_in_use / no_memory / not_supported (a protect that failed after cutting an edge may leave
//    that edge cut: its pieces must still translate as before);
//  * cut and protect: the entries they split tile the old entry with the
//    same oa, and keep or take the attributes as asked;
//  * dirty harvests: every entry the model knows dirty is reported, none it
//    knows clean, each span the entry clipped to the range, in va order
//    (a new or re-protected entry's dirty state is unknown until harvested);
//  * every 4 operations and at the end, the whole leaf list (va, oa, size,
//    attributes up to the dirty state) equals the model's;
//  * translations of the vas the operation touched, by iova_to_phys and by
//    the hardware walker (genpt/walk/) over the table memory: the model's.
// At the end every table must be freed (level_stats).
//
// GENPT_FUZZ_STATS=1 in the environment prints the operations run at exit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/page_table.hpp"
#include "genpt/walk/walk.hpp"
#include "support/reference_model.hpp"
#include "support/table_helpers.hpp"

namespace {

using genpt::errc;
using genpt::oa_t;
using genpt::prot;
using genpt::va_t;
using genpt::fuzz::finding;
using genpt::fuzz::reader;
using genpt::test::model_entry;
using genpt::test::reference_model;

std::uint64_t g_ops = 0;     ///< operations run (all inputs)
std::uint64_t g_inputs = 0;  ///< inputs run
/// Outcomes per operation kind (map, unmap, protect, cut, harvest,
/// set_dirty): [kind][0] succeeded / removed something, [kind][1] not.
std::uint64_t g_outcomes[6][2] = {};

void print_stats() {
  std::fprintf(stderr, "genpt fuzz_ops: %llu inputs, %llu operations\n",
               static_cast<unsigned long long>(g_inputs), static_cast<unsigned long long>(g_ops));
  const char* names[] = {"map", "unmap", "protect", "cut", "harvest", "set_dirty"};
  for (unsigned k = 0; k < 6; ++k)
    std::fprintf(stderr, "  %-9s %llu ok, %llu failed / empty\n", names[k],
                 static_cast<unsigned long long>(g_outcomes[k][0]),
                 static_cast<unsigned long long>(g_outcomes[k][1]));
}

/// attrs with the dirty state taken out (clean form): what map and protect
/// promise, whatever the hardware or set_dirty wrote since.
template <class Attrs>
Attrs clean(Attrs a) {
  if constexpr (requires { a.dirty; }) {
    a.dirty = false;  // x86_64 D, AMDv1 D
  } else if constexpr (requires { a.read_only; }) {
    if (a.dbm) a.read_only = true;  // ARMv8 stage 1: writable-clean is AP[2] = 1
  } else {
    if (a.dbm) a.write = false;  // ARMv8 stage 2: writable-clean is S2AP[1] = 0
  }
  return a;
}

enum class dstate : std::uint8_t { clean, dirty, unknown };

/// Reads table memory for the hardware walker through the allocator's
/// phys_to_virt, as a device would read it at the oa.
template <class Alloc>
struct host_memory {
  const Alloc* a;
  bool read64(oa_t oa, std::uint64_t& out) const noexcept {
    if (oa & 7) return false;
    const void* p = a->phys_to_virt(oa);
    if (!p) return false;
    // The tables hold 64-bit words genpt wrote from this thread; memcpy
    // reads one without assuming the pointer's type.
    std::memcpy(&out, p, sizeof out);
    return true;
  }
};

template <class Config>
class ops_run {
  using format = typename Config::format;
  using base_alloc = typename genpt::test::alloc_of<Config>::type;
  using alloc_t = genpt::fault_injecting<base_alloc>;
  using table_t = genpt::page_table<format, alloc_t>;
  using attrs_t = typename format::attrs;
  using walker = genpt::hw_walker<format>;
  struct raw_item {
    va_t va;
    std::uint64_t word;
    unsigned level;
    bool operator==(const raw_item&) const = default;
  };
  struct leaf {
    va_t va;
    oa_t oa;
    unsigned size_lg2;
    attrs_t attrs;
    bool operator==(const leaf&) const = default;
  };

 public:
  explicit ops_run(reader& in) : in_(in) {}

  void run() {
    alloc_t fa{genpt::test::alloc_of<Config>::make(&stats_)};
    const bool fail_create = (in_.u8() & 0x0f) == 0;
    if (fail_create) fa.fail_after(1);
    {
      auto made = table_t::create(Config::config(), std::move(fa));
      if (!made) {
        GENPT_FUZZ_CHECK(fail_create && made.error() == errc::no_memory,
                         static_cast<unsigned>(made.error()));
        GENPT_FUZZ_CHECK(genpt::test::live(stats_) == 0, genpt::test::live(stats_));
        return;
      }
      GENPT_FUZZ_CHECK(!fail_create, 0);
      pt_.emplace(std::move(*made));
      setup();
      for (unsigned n = 0; n < 256 && !in_.empty(); ++n) {
        step();
        if (n % 4 == 3) check_all();  // the whole table every 4 operations, and at the end
        ++g_ops;
      }
      check_all();
      pt_->sync(g_);
      pt_.reset();
    }
    GENPT_FUZZ_CHECK(genpt::test::live(stats_) == 0, genpt::test::live(stats_));
  }

 private:
  reader& in_;
  genpt::level_stats stats_;
  std::optional<table_t> pt_;
  genpt::gather g_;
  reference_model model_;
  std::map<va_t, dstate> dirty_;  ///< entry va -> dirty state
  std::vector<prot> tags_;        ///< tag -> the prot an entry was given
  std::vector<genpt::test::va_window> windows_;
  std::vector<unsigned> sizes_;
  std::uint64_t bitmap_ = 0;
  unsigned min_lg2_ = 0;
  unsigned oa_lg2_ = 0;
  bool dirty_ok_ = true;

  void setup() {
    const genpt::table_info info = pt_->info();
    bitmap_ = info.pgsize_bitmap;
    oa_lg2_ = info.oa_lg2;
    sizes_ = genpt::test::page_sizes(bitmap_);
    min_lg2_ = sizes_.front();
    windows_ = Config::windows();
    tags_ = {prot::read,
             prot::write,
             prot::read | prot::write,
             prot::read | prot::write | prot::noexec | prot::cache,
             prot::read | prot::priv,
             prot::read | prot::mmio};
    if constexpr (requires { format::dirty_supported(pt_->params()); })
      dirty_ok_ = format::dirty_supported(pt_->params());
  }

  // ------------------------------------------------------------ inputs --

  std::uint64_t min() const { return std::uint64_t{1} << min_lg2_; }
  bool aligned(std::uint64_t x) const { return (x & (min() - 1)) == 0; }
  /// [va, va + len) lies in one window (len > 0, no wrap).
  bool in_window(va_t va, std::uint64_t len) const {
    if (len == 0) return false;
    const va_t last = va + (len - 1);
    if (last < va) return false;
    for (const auto& w : windows_)
      if (w.contains(va) && w.contains(last)) return true;
    return false;
  }

  va_t pick_va() {
    const std::uint8_t b = in_.u8();
    const auto& w = windows_[b % windows_.size()];
    const std::uint64_t span_m1 = w.last - w.first;  // windows are 2^n sized
    switch ((b >> 4) & 3) {
      case 0:
        return in_.u64();
      case 1: {  // at or inside an existing entry
        const model_entry* e = model_.first_from(w.first + ((std::uint64_t{in_.u16()} << (min_lg2_ + 4)) & span_m1));
        if (!e) e = model_.first_from(0);
        if (e) {
          const std::uint64_t size_m1 = (std::uint64_t{1} << e->size_lg2) - 1;
          return e->va + ((std::uint64_t{in_.u8()} << min_lg2_) & size_m1);
        }
        [[fallthrough]];
      }
      default: {
        const unsigned s = sizes_[in_.u8() % sizes_.size()];
        const std::uint64_t off = ((std::uint64_t{in_.u8()} % 16) << s) + ((std::uint64_t{in_.u8()} % 4) << min_lg2_);
        return w.first + (off & span_m1);
      }
    }
  }
  std::uint64_t pick_len() {
    const std::uint8_t b = in_.u8();
    if (b == 0xff) return in_.u64();
    const unsigned s = sizes_[b % sizes_.size()];
    std::uint64_t len = (std::uint64_t{(b >> 4) & 3u} + 1) << s;
    if (b & 0x40) len += (std::uint64_t{in_.u8()} % 4) << min_lg2_;
    return len;
  }
  oa_t pick_oa() {
    const std::uint8_t b = in_.u8();
    if (b == 0xff) return in_.u64();
    const unsigned a = sizes_[b % sizes_.size()];
    const std::uint64_t mask = oa_lg2_ >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << oa_lg2_) - 1;
    return (std::uint64_t{in_.u32()} << a) & mask;
  }
  /// A tag: one of the list, or (rarely) any prot bits.
  unsigned pick_tag() {
    const std::uint8_t b = in_.u8();
    if (b < 0xf0) return b % 6;
    const prot p = static_cast<prot>(in_.u8());
    tags_.push_back(p);
    return static_cast<unsigned>(tags_.size() - 1);
  }
  bool prot_ok(unsigned tag) const {
    return genpt::prot_valid(tags_[tag]) && format::prot_supported(tags_[tag], pt_->params());
  }
  attrs_t want_attrs(unsigned tag) const {
    return clean(format::attrs_from_prot(tags_[tag], pt_->params()));
  }

  // --------------------------------------------------------- snapshots --

  /// The raw items over [va, va + len) (nothing for a bad range).
  std::vector<raw_item> items(va_t va, std::uint64_t len) const {
    std::vector<raw_item> out;
    pt_->for_each_item(va, len, [&](const genpt::item_view& it) { out.push_back({it.va, it.word, it.level}); });
    return out;
  }
  /// The raw items over the largest entry size (at most 2^39) around va.
  std::vector<raw_item> items_around(va_t va) const {
    const unsigned s = sizes_.back() < 39 ? sizes_.back() : 39;
    const std::uint64_t size = std::uint64_t{1} << s;
    return items(va & ~(size - 1), size);
  }
  std::vector<leaf> leaves_in(va_t va, va_t last) const {
    std::vector<leaf> out;
    for (const auto& l : genpt::test::leaves_in(*pt_, va, last)) out.push_back({l.va, l.oa, l.size_lg2, l.attrs});
    return out;
  }
  std::vector<leaf> leaves() const {
    std::vector<leaf> out;
    for (const auto& w : windows_) {
      auto part = leaves_in(w.first, w.last);
      out.insert(out.end(), part.begin(), part.end());
    }
    return out;
  }

  /// Every leaf against the model: va, oa, size and attributes (clean form).
  void check_all() const {
    const std::vector<leaf> got = leaves();
    const std::vector<model_entry> want = model_.all();
    GENPT_FUZZ_CHECK(got.size() == want.size(), got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      GENPT_FUZZ_CHECK(got[i].va == want[i].va && got[i].oa == want[i].oa &&
                           got[i].size_lg2 == want[i].size_lg2,
                       got[i].va, want[i].va, got[i].oa, want[i].oa, got[i].size_lg2, want[i].size_lg2);
      GENPT_FUZZ_CHECK(clean(got[i].attrs) == want_attrs(want[i].tag), got[i].va, want[i].tag);
    }
    GENPT_FUZZ_CHECK(dirty_.size() == want.size(), dirty_.size(), want.size());
  }

  /// iova_to_phys and the hardware walker agree with the model at va.
  void check_va(va_t va) const {
    const std::optional<std::uint64_t> want = model_.translate(va);
    const std::optional<oa_t> got = pt_->iova_to_phys(va);
    GENPT_FUZZ_CHECK(got == want, va, got.value_or(0), want.value_or(0));
    const model_entry* e = model_.find(va);
    const bool no_read = e && !genpt::has(tags_[e->tag], prot::read);
    const genpt::access a{.write = no_read};
    const auto regs = walker::regs_from(pt_->params(), pt_->info().top_level);
    const host_memory<alloc_t> mem{&pt_->allocator()};
    const genpt::walk_result w = genpt::walk<format>(regs, pt_->hw_info().root, va, a, mem);
    if (!e) {
      GENPT_FUZZ_CHECK(!w.ok, va, w.t.oa);
      return;
    }
    if (!w.ok) {  // a write-only entry the walker may not write without set_ad: Arm DBM
                  // clean (permission), RISC-V without Svadu, whose W-only entries are
                  // R+W with D = 0 (a page fault, reported as access_flag)
      GENPT_FUZZ_CHECK(no_read && (w.f.kind == genpt::fault_kind::permission ||
                                   w.f.kind == genpt::fault_kind::access_flag),
                       va,
                       static_cast<unsigned>(w.f.kind), w.f.item_oa, w.f.word);
      return;
    }
    GENPT_FUZZ_CHECK(w.t.oa == *want && w.t.size_lg2 == e->size_lg2, va, w.t.oa, *want, w.t.size_lg2);
  }
  void check_around(va_t va, std::uint64_t len) const {
    check_va(va);
    check_va(va - 1);
    if (len != 0) {
      check_va(va + (len - 1));
      check_va(va + len);
    }
  }

  /// Replaces the model entries overlapping [lo, hi] with the table's
  /// pieces of them, after checking that each entry's pieces tile it with
  /// its oa, and carry attributes: pieces inside [plo, phi] those of
  /// `new_tag` (when given; dirty state then unknown), others the entry's
  /// own (dirty state inherited). An entry wholly inside [plo, phi] must
  /// stay one piece when `keep_inner`.
  void reconcile(va_t lo, va_t hi, va_t plo, va_t phi, std::optional<unsigned> new_tag, bool keep_inner) {
    std::vector<model_entry> olds;
    const model_entry* e = model_.find(lo);
    if (!e) e = model_.first_from(lo);
    while (e && e->va <= hi) {
      olds.push_back(*e);
      const va_t e_last = reference_model::entry_last(*e);
      if (e_last == ~va_t{0}) break;
      e = model_.first_from(e_last + 1);
    }
    for (const model_entry& old : olds) {
      const va_t o_last = reference_model::entry_last(old);
      const std::vector<leaf> pieces = leaves_in(old.va, o_last);
      GENPT_FUZZ_CHECK(!pieces.empty(), old.va);
      const dstate ds = dirty_.at(old.va);
      const bool inner = old.va >= plo && o_last <= phi;
      if (inner && keep_inner) GENPT_FUZZ_CHECK(pieces.size() == 1, old.va, pieces.size());
      va_t next = old.va;
      model_.unmap(old.va, std::uint64_t{1} << old.size_lg2);
      dirty_.erase(old.va);
      for (const leaf& p : pieces) {
        const va_t p_last = p.va + ((std::uint64_t{1} << p.size_lg2) - 1);
        GENPT_FUZZ_CHECK(p.va == next && p_last <= o_last && p.oa == old.oa + (p.va - old.va), p.va, next,
                         p.oa);
        const bool in_range = p.va >= plo && p_last <= phi;
        const bool outside = p_last < plo || p.va > phi;
        GENPT_FUZZ_CHECK(!new_tag || in_range || outside, p.va, plo, phi);  // no piece straddles an edge
        const unsigned tag = new_tag && in_range ? *new_tag : old.tag;
        GENPT_FUZZ_CHECK(clean(p.attrs) == want_attrs(tag), p.va, tag);
        GENPT_FUZZ_CHECK(model_.map(std::uint64_t{1} << p.size_lg2, p.va, p.oa, std::uint64_t{1} << p.size_lg2, tag),
                         p.va);
        dirty_[p.va] = new_tag && in_range ? dstate::unknown : ds;
        next = p_last + 1;
      }
      GENPT_FUZZ_CHECK(next - 1 == o_last, old.va, next);
    }
  }

  /// The number of entries the greedy split of a map makes, counted up to
  /// 257 (reference_model::split would build them all, maybe 2^40).
  unsigned pieces(va_t va, oa_t oa, std::uint64_t len) const {
    unsigned n = 0;
    while (len != 0 && n <= 256) {
      unsigned chosen = 64;
      for (auto it = sizes_.rbegin(); it != sizes_.rend(); ++it) {
        const std::uint64_t size = std::uint64_t{1} << *it;
        if (((va | oa) & (size - 1)) == 0 && size <= len) {
          chosen = *it;
          break;
        }
      }
      if (chosen == 64) return 257;
      const std::uint64_t size = std::uint64_t{1} << chosen;
      va += size, oa += size, len -= size, ++n;
    }
    return n;
  }

  // ------------------------------------------------------------- steps --

  void step() {
    const std::uint8_t op = in_.u8();
    const std::uint64_t failures = pt_->allocator().failures();
    const auto injected = [&] { return pt_->allocator().failures() != failures; };
    switch (op % 10) {
      case 0:
      case 1:
      case 2:
        do_map(injected, op);
        break;
      case 3:
      case 4:
        do_unmap(op);
        break;
      case 5:
        do_protect(injected, op);
        break;
      case 6:
        do_cut(injected, op);
        break;
      case 7:
        do_harvest(op);
        break;
      case 8:
        do_set_dirty();
        break;
      default: {
        const std::uint8_t n = in_.u8();
        pt_->allocator().fail_after(n % 5);  // 0 disarms
        for (int i = 0; i < 2; ++i) check_va(pick_va());
        return;
      }
    }
  }

  template <class F>
  void do_map(F injected, std::uint8_t op) {
    const va_t va = pick_va();
    std::uint64_t len = pick_len();
    oa_t oa = (op & 0x80) ? va : pick_oa();  // va == oa: the largest pages
    const unsigned tag = pick_tag();
    if (op & 0x40) oa = oa - (oa & (len - 1) & ~(min() - 1));  // aligned as len where it can
    const bool wf = prot_ok(tag) && in_window(va, len) && aligned(va | oa | len) &&
                    oa + (len - 1) >= oa && (oa_lg2_ >= 64 || ((oa + (len - 1)) >> oa_lg2_) == 0);
    if (wf && pieces(va, oa, len) > 256) return;  // too many leaves to check quickly
    const bool free = wf && !model_.overlaps(va, va + (len - 1));
    const auto before = items(va, len);
    const genpt::result<void> r = pt_->map(va, oa, len, tags_[tag]);
    ++g_outcomes[0][r ? 0 : 1];
    if (r) {
      GENPT_FUZZ_CHECK(wf && free, va, oa, len, tag);
      GENPT_FUZZ_CHECK(model_.map(bitmap_, va, oa, len, tag), va);
      for (const model_entry* e = model_.find(va); e && e->va <= va + (len - 1);) {
        dirty_[e->va] = dstate::unknown;
        const va_t e_last = reference_model::entry_last(*e);
        if (e_last == ~va_t{0}) break;
        e = model_.first_from(e_last + 1);
      }
    } else if (r.error() == errc::address_in_use || r.error() == errc::no_memory) {
      if (r.error() == errc::address_in_use) GENPT_FUZZ_CHECK(wf && !free, va, len);
      if (r.error() == errc::no_memory) GENPT_FUZZ_CHECK(injected() && wf, va, len);
      // The leaves: check_all against the unchanged model.
    } else {
      GENPT_FUZZ_CHECK(!wf, va, oa, len, static_cast<unsigned>(r.error()));
      GENPT_FUZZ_CHECK(items(va, len) == before, va, len, static_cast<unsigned>(r.error()));
    }
    check_around(va, len);
  }

  void do_unmap(std::uint8_t op) {
    const va_t va = pick_va();
    const std::uint64_t len = (op & 0x80) ? (model_.find(va) ? std::uint64_t{1} << model_.find(va)->size_lg2 : min())
                                          : pick_len();
    const bool gathered = op & 0x40;
    const std::uint64_t got = gathered ? pt_->unmap(va, len, g_) : pt_->unmap(va, len);
    if (gathered && (op & 0x20)) pt_->sync(g_);
    ++g_outcomes[1][got ? 0 : 1];
    if (in_window(va, len) || got != 0) {
      std::vector<model_entry> removed;
      const std::uint64_t want = model_.unmap(va, len, &removed);
      GENPT_FUZZ_CHECK(got == want, va, len, got, want);
      for (const model_entry& e : removed) dirty_.erase(e.va);
    }  // else nothing removed: check_all against the unchanged model
    check_around(va, len);
  }

  template <class F>
  void do_protect(F injected, std::uint8_t op) {
    const va_t va = pick_va();
    const std::uint64_t len = pick_len();
    const unsigned tag = pick_tag();
    const genpt::protect_flags flags{.no_cut = (op & 0x80) != 0};
    const va_t last = va + (len - 1);
    const bool wf = prot_ok(tag) && in_window(va, len) && aligned(va | len);
    const auto before = items(va, len);
    const genpt::result<void> r = pt_->protect(va, len, tags_[tag], g_, flags);
    ++g_outcomes[2][r ? 0 : 1];
    if (!wf) {
      // Success: a range beyond a growable top (check_all: nothing changed).
      if (!r) GENPT_FUZZ_CHECK(items(va, len) == before, va, len, static_cast<unsigned>(r.error()));
      check_around(va, len);
      return;
    }
    const model_entry* lo = model_.find(va);
    const model_entry* hi = last + 1 != 0 ? model_.find(last + 1) : nullptr;
    const bool straddle = (lo && lo->va != va) || (hi && hi->va != last + 1);
    if (flags.no_cut && straddle) {
      GENPT_FUZZ_CHECK(!r && r.error() == errc::misaligned, va, len);
      GENPT_FUZZ_CHECK(items(va, len) == before, va, len);
    } else if (r) {
      reconcile(va, last, va, last, tag, true);
    } else {
      GENPT_FUZZ_CHECK(r.error() == errc::not_supported || (r.error() == errc::no_memory && injected()), va, len,
                       static_cast<unsigned>(r.error()));
      // An edge may have been cut before the other failed: same translations.
      reconcile(va, last, va, last, std::nullopt, false);
    }
    check_around(va, len);
  }

  template <class F>
  void do_cut(F injected, std::uint8_t) {
    const va_t va = pick_va();
    const model_entry* e = model_.find(va);
    const auto before = items_around(va);
    const genpt::result<void> r = pt_->cut(va, g_);
    ++g_outcomes[3][r ? 0 : 1];
    if (!in_window(va, 1)) {
      GENPT_FUZZ_CHECK(!r, va);
      GENPT_FUZZ_CHECK(items_around(va) == before, va);
    } else if (!aligned(va)) {
      GENPT_FUZZ_CHECK(!r && r.error() == errc::misaligned, va);
      GENPT_FUZZ_CHECK(items_around(va) == before, va);
    } else if (!e) {
      GENPT_FUZZ_CHECK(!r && r.error() == errc::not_found, va);
      GENPT_FUZZ_CHECK(items_around(va) == before, va);
    } else if (r) {
      const va_t e_va = e->va, e_last = reference_model::entry_last(*e);
      reconcile(e_va, e_last, 1, 0, std::nullopt, false);
      const model_entry* now = model_.find(va);
      GENPT_FUZZ_CHECK(now && now->va == va, va);
    } else {
      GENPT_FUZZ_CHECK(r.error() == errc::not_supported || (r.error() == errc::no_memory && injected()), va,
                       static_cast<unsigned>(r.error()));
      GENPT_FUZZ_CHECK(items_around(va) == before, va);
    }
    check_around(va, 1);
  }

  struct span_log {
    std::vector<std::pair<va_t, std::uint64_t>> spans;
    void record(va_t va, std::uint64_t len) { spans.emplace_back(va, len); }
  };

  void do_harvest(std::uint8_t op) {
    const va_t va = pick_va();
    const std::uint64_t len = pick_len();
    const bool no_clear = op & 0x80;
    span_log log;
    const auto before = items(va, len);
    const genpt::result<void> r = pt_->read_and_clear_dirty(va, len, log, g_, {.no_clear = no_clear});
    if (op & 0x40) pt_->sync(g_);
    ++g_outcomes[4][r && !log.spans.empty() ? 0 : 1];
    if (!dirty_ok_) {
      GENPT_FUZZ_CHECK(!r && r.error() == errc::not_supported, va);
      GENPT_FUZZ_CHECK(items(va, len) == before && log.spans.empty(), va);
      return;
    }
    if (!in_window(va, len)) {
      if (!r) GENPT_FUZZ_CHECK(items(va, len) == before, va, len);
      GENPT_FUZZ_CHECK(log.spans.empty(), va, len);
      return;
    }
    GENPT_FUZZ_CHECK(r.has_value(), va, len, static_cast<unsigned>(r.error()));
    const va_t last = va + (len - 1);
    std::size_t i = 0;
    const model_entry* e = model_.find(va);
    if (!e) e = model_.first_from(va);
    while (e && e->va <= last) {
      const va_t e_last = reference_model::entry_last(*e);
      const va_t s_lo = e->va > va ? e->va : va, s_hi = e_last < last ? e_last : last;
      dstate& d = dirty_.at(e->va);
      if (i < log.spans.size() && log.spans[i] == std::make_pair(s_lo, s_hi - s_lo + 1)) {
        GENPT_FUZZ_CHECK(d != dstate::clean, e->va);
        d = no_clear ? dstate::dirty : dstate::clean;
        ++i;
      } else {
        GENPT_FUZZ_CHECK(d != dstate::dirty, e->va, i < log.spans.size() ? log.spans[i].first : 0);
        d = dstate::clean;
      }
      if (e_last == ~va_t{0}) break;
      e = model_.first_from(e_last + 1);
    }
    GENPT_FUZZ_CHECK(i == log.spans.size(), va, len, i, log.spans.size());
  }

  void do_set_dirty() {
    const va_t va = pick_va();
    const model_entry* e = model_.find(va);
    const auto before = items_around(va);
    const genpt::result<void> r = pt_->set_dirty(va);
    ++g_outcomes[5][r ? 0 : 1];
    if (!dirty_ok_) {
      GENPT_FUZZ_CHECK(!r && r.error() == errc::not_supported, va);
    } else if (!e) {
      GENPT_FUZZ_CHECK(!r && r.error() == errc::not_found, va);
    } else if (r) {
      dirty_.at(e->va) = dstate::dirty;
      return;
    } else {  // a leaf the hardware never dirties (Arm DBM: read-only)
      GENPT_FUZZ_CHECK(r.error() == errc::not_supported && !genpt::has(tags_[e->tag], prot::write), va,
                       static_cast<unsigned>(r.error()));
    }
    GENPT_FUZZ_CHECK(items_around(va) == before, va);
  }
};

struct run_one {
  reader* in;
  template <class Config>
  void operator()() const {
    ops_run<Config>(*in).run();
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
  genpt::fuzz::with_config(in.u8(), run_one{&in});
  return 0;
}
