// genpt/page_table.hpp - the facade: page_table<Format, Alloc, Flush>.
//
// Owns the top table, the format's validated params and the two policy
// objects; checks every argument, runs the walks of core/ and turns what
// they removed into gathers for the flush policy.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/core/best_pgsize.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/core/cut.hpp"
#include "genpt/core/dirty.hpp"
#include "genpt/core/map.hpp"
#include "genpt/core/unmap.hpp"
#include "genpt/core/walk.hpp"
#include "genpt/flush/flush_range.hpp"
#include "genpt/flush/gather.hpp"

namespace genpt {

namespace detail {
/// Enters the allocator's read-side section when it has one (deferred
/// freeing); otherwise a no-op token.
template <class Alloc>
auto read_section(const Alloc& a) noexcept {
  if constexpr (requires { a.read_guard(); })
    return a.read_guard();
  else
    return 0;
}
}  // namespace detail

/// Options of protect().
struct protect_flags {
  bool no_cut = false;  ///< fail with misaligned instead of cutting edge entries
};

/// A radix page table in the bit format of `Format`.
///
/// Concurrency: operations on disjoint va ranges may run at once from
/// several threads with no lock inside genpt (new table levels are
/// published with a release compare-exchange); the caller guarantees that
/// no two threads change overlapping va at once. iova_to_phys and
/// for_each_leaf may run concurrently with map/unmap of other ranges.
/// Each gather belongs to one thread.
template <class Format, class Alloc = heap_levels, class Flush = flush_range<no_iotlb>>
class page_table {
  static_assert(check_format<Format>(), "genpt: Format does not satisfy genpt::format");
  static_assert(check_level_allocator<Alloc>(), "genpt: Alloc does not satisfy genpt::level_allocator");
  static_assert(check_flush_policy<Flush>(), "genpt: Flush does not satisfy genpt::flush_policy");

  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;

 public:
  using format_type = Format;
  using config_type = typename Format::config;
  using params_type = typename Format::params;
  using attrs_type = typename Format::attrs;
  using hw_info_type = typename Format::hw_info;

  /// Validates `cfg` and allocates the top table.
  /// Errors: invalid_argument / not_supported (bad config, see the format),
  /// no_memory (no top table, or the allocator's one lies where the
  /// hardware cannot reach it: any byte at or above 2^oa_lg2, or an address
  /// the root field cannot hold; that table is freed again).
  static result<page_table> create(const config_type& cfg, Alloc alloc = Alloc{},
                                   Flush flush = Flush{}) {
    result<params_type> p = Format::init(cfg);
    if (!p) return unexpected(p.error());
    if constexpr (detail::cleaning_allocator<Alloc>) {
      // A non-snooping walker needs the SW "flush done" bit in table items
      // (see core/map.hpp); a format without software bits cannot offer it.
      if (traits::sw_bit_mask(*p) == 0) return unexpected(errc::not_supported);
    }
    const unsigned lg2 = traits::top_table_lg2(*p, p->top_level);
    // Below 2^oa_lg2 and held by the root field (detail::root_reachable).
    const table_alloc t =
        detail::allocate_table<Format>(alloc, lg2, p->top_level + 1, *p, /*root=*/true);
    if (!t.table) return unexpected(errc::no_memory);
    return page_table(*p, t, std::move(alloc), std::move(flush));
  }

  page_table(page_table&& o) noexcept
      : params_(o.params_),
        top_(o.top_.exchange(0, std::memory_order_relaxed)),
        root_oa_(o.root_oa_),
        pgsizes_(o.pgsizes_),
        windows_(o.windows_),
        alloc_(std::move(o.alloc_)),
        flush_(std::move(o.flush_)) {}
  page_table& operator=(page_table&& o) noexcept {
    if (this != &o) {
      destroy();
      params_ = o.params_;
      top_.store(o.top_.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
      root_oa_ = o.root_oa_;
      pgsizes_ = o.pgsizes_;
      windows_ = o.windows_;
      alloc_ = std::move(o.alloc_);
      flush_ = std::move(o.flush_);
    }
    return *this;
  }
  page_table(const page_table&) = delete;
  page_table& operator=(const page_table&) = delete;

  /// Frees every table level. The hardware must no longer use the table.
  ~page_table() { destroy(); }

  /// Maps [va, va + len) to [oa, oa + len) with `p`, using the largest page
  /// sizes va, oa and len allow.
  /// Errors: invalid_argument (len 0, p without read or write), overflow
  /// (va or oa range wraps), out_of_range (va outside the table, oa above
  /// max), misaligned (va/oa/len not aligned to the smallest page),
  /// address_in_use (a leaf is already there), no_memory (also when the
  /// allocator's table lies beyond 2^oa_lg2 or where no table item can
  /// point to it: such a table is never linked). After an error
  /// every translation is as before the call, and what the rollback
  /// removed is flushed before map returns (under a no-gaps policy one
  /// sink call per disjoint run of changed va, never the va between).
  /// Every flag of `p` is honoured (see the format's attrs_from_prot) or
  /// refused: invalid_argument when !prot_valid(p) (unknown bit, mmio with
  /// cache), not_supported for a flag the format cannot express
  /// (format_traits::prot_supported).
  [[gnu::always_inline]] result<void> map(va_t va, oa_t oa, std::uint64_t len, prot p) noexcept {
    if (!prot_valid(p)) return unexpected(errc::invalid_argument);
    if (!traits::prot_supported(p, params_)) return unexpected(errc::not_supported);
    return map(va, oa, len, Format::attrs_from_prot(p, params_));
  }

  /// map() with the format's attributes written exactly as given.
  /// Errors: as map(prot); invalid_argument when the format cannot express `a`.
  [[gnu::always_inline]] result<void> map(va_t va, oa_t oa, std::uint64_t len, const attrs_type& a) noexcept {
    if (!traits::attrs_valid(a, params_)) return unexpected(errc::invalid_argument);
    // The leaf a one-page map would write, made here in the caller: for
    // attributes the caller knows at compile time it folds to `oa | bits`.
    return map_page(va, oa, len, a, Format::make_leaf(oa, traits::item_lg2(0), 0, a, params_));
  }

  /// Unmaps whole entries from va on, gathering what must be invalidated.
  /// Never splits an entry: nothing is removed from an entry that starts
  /// before va, and an entry that ends after va + len - 1 is removed whole.
  /// Stops at the first hole. Returns the bytes unmapped from va (larger
  /// than len when the last entry reached past it; 0 on a bad range).
  /// The removed tables are freed by sync(g), after the flush.
  std::uint64_t unmap(va_t va, std::uint64_t len, gather& g) noexcept {
    if (word_t* const item = one_page_item(va, 0, len)) {
      // One level-0 page: remove it in place without the general walk.
      // The format's one-mask test first (a single-item leaf; AMDv1 would
      // otherwise decode NextLevel and the page size), then the full test.
      const word_t e = detail::load_item(item);
      constexpr auto one = traits::single_leaf_bits(0);
      if ((e & one.mask) == one.value ||
          (Format::classify(e, 0) == entry_kind::leaf && traits::entry_size_lg2(e, 0) == traits::item_lg2(0))) {
        detail::store_item(item, word_t{0});
        detail::clean_items(alloc_, item, 1);  // before any flush that publishes it
        const va_t last = va + (len - 1);
        if (flush_.must_flush_before(g, va, last)) sync(g);
        g.add_range(va, last);
        g.add_leaf_level(0);
        return len;
      }
    }
    return unmap_general(va, len, g);
  }

  /// unmap(), then sync() of its own gather.
  std::uint64_t unmap(va_t va, std::uint64_t len) noexcept {
    gather g;
    const std::uint64_t n = unmap(va, len, g);
    sync(g);
    return n;
  }

 private:
  /// map(attrs) given `leaf`, the level-0 leaf of (oa, a): one level-0
  /// page onto an empty item of an existing level-0 table is one store,
  /// with no allocation and nothing to roll back or flush; anything else
  /// goes to map_general.
  result<void> map_page(va_t va, oa_t oa, std::uint64_t len, const attrs_type& a, word_t leaf) noexcept {
    if (word_t* const item = one_page_item(va, oa, len)) {
      if (detail::load_item(item) == 0) {
        detail::store_item(item, leaf);
        detail::clean_items(alloc_, item, 1);  // a cleaning allocator's walker reads memory
        return {};
      }
    }
    return map_general(va, oa, len, a);
  }

  /// map(attrs) past the one-page path: validation, growth, the walk.
  [[gnu::noinline]] result<void> map_general(va_t va, oa_t oa, std::uint64_t len,
                                             const attrs_type& a) noexcept {
    if (len == 0) return unexpected(errc::invalid_argument);
    const va_t last = va + (len - 1);
    const oa_t oa_last = oa + (len - 1);
    if (last < va || oa_last < oa) return unexpected(errc::overflow);
    if (log2_div(oa_last, params_.oa_lg2) != 0) return unexpected(errc::out_of_range);
    const std::uint64_t sizes = pgsizes_;
    const unsigned min_lg2 = ffs64(sizes);
    if (log2_mod(va | oa | len, min_lg2) != 0) return unexpected(errc::misaligned);
    top_ref t = top();
    if (!fits(t.level, va, last, oa)) {
      if constexpr (traits::may_grow_top) {
        if (!params_.dynamic_top) return unexpected(errc::out_of_range);
        if (const errc r = grow(va, last, oa); r != detail::ok) return unexpected(r);
        t = top();
      } else {
        return unexpected(errc::out_of_range);
      }
    }
    word_t* const table = t.table;
    const unsigned top_level = t.level;
    const unsigned span = traits::top_span_lg2(params_, top_level);
    // A request inside one existing level-0 table starts the walk there.
    word_t* const t0 = small_range_table(table, top_level, span, va, last);
    detail::change_set removed;
    detail::map_walk<Format, Alloc> w{{params_, alloc_}, a, va, oa, last, sizes, removed};
    w.live = live_hook();
    const errc r = t0 ? w.template level<0>(t0, traits::item_lg2(1))
                      : detail::dispatch_level<Format::max_top_level>(top_level, [&](auto lv) {
                          return w.template level<decltype(lv)::value>(table, span);
                        });
    if (r != detail::ok) {
      rollback(table, top_level, span, va, w.va, last, removed);
      return unexpected(r);
    }
    // Success: every va of [va, last] changed (unmapped before, since a
    // leaf there is address_in_use), so the covering range of the
    // subtrees the new leaves replaced holds only changed va.
    if (removed.any) {
      gather g;
      commit(g, removed.va, removed.last, removed);
      sync(g);
    }
    return {};
  }

  /// unmap(g) past the one-page path: range checks and the walk.
  [[gnu::noinline]] std::uint64_t unmap_general(va_t va, std::uint64_t len, gather& g) noexcept {
    if (len == 0) return 0;
    va_t last = va + (len - 1);
    if (last < va) return 0;
    const top_ref t = top();
    word_t* const table = t.table;
    const unsigned top_level = t.level;
    const unsigned span = traits::top_span_lg2(params_, top_level);
    if (clip_to_top(top_level, va, last) != clip::inside) return 0;
    // A request inside one existing level-0 table (never covering all of
    // it, so no table is freed) starts the walk there.
    word_t* const t0 = small_range_table(table, top_level, span, va, last);
    detail::change_set removed;
    detail::unmap_walk<Format, Alloc> w{{params_, alloc_}, va, last, removed};
    if (t0)
      w.template level<0>(t0, traits::item_lg2(1));
    else
      detail::dispatch_level<Format::max_top_level>(top_level, [&](auto lv) {
        w.template level<decltype(lv)::value>(table, span);
      });
    if (w.unmapped) commit(g, va, va + (w.unmapped - 1), removed);
    return w.unmapped;
  }

 public:
  /// Hands the gather to the flush policy, then frees its tables through
  /// the allocator (which may defer further), and empties the gather.
  void sync(gather& g) noexcept {
    if (!g.empty()) flush_.flush(g);
    alloc_.free(g.freed());
    g.clear_range();
  }

  /// Reports every dirty entry overlapping [va, va + len) to sink.record(va,
  /// len) (the entry's span clipped to the range; a contiguous entry is
  /// dirty when any item is), then cleans it (unless flags.no_clear) and
  /// gathers the cleaned entries, leaf-only, one by one in va order: a
  /// no-gaps policy syncs g during the call before a disjoint entry joins
  /// it, so no flushed range covers a hole or a clean entry. Under a
  /// cache-cleaning allocator every line written is cleaned before any
  /// flush and before the call returns. Holes are skipped. Cleaning
  /// never loses a dirty bit the hardware sets concurrently (compare-exchange
  /// per item); a write that lands before the next IOTLB flush may be
  /// reported in the next harvest.
  /// Errors: not_supported (format/config without dirty tracking),
  /// invalid_argument (len 0), overflow, out_of_range.
  template <dirty_sink Sink>
  result<void> read_and_clear_dirty(va_t va, std::uint64_t len, Sink& sink, gather& g,
                                    dirty_flags flags = {}) {
    if (!traits::dirty_supported(params_)) return unexpected(errc::not_supported);
    if constexpr (traits::has_dirty_hooks) {
      va_t last = 0;
      bool none = false;
      const top_ref t = top();
      if (const errc r = check_range(t, va, len, last, none); r != detail::ok) return unexpected(r);
      if (none) return {};
      [[maybe_unused]] auto guard = detail::read_section(alloc_);
      const unsigned span = traits::top_span_lg2(params_, t.level);
      gather_out out{*this, g};
      detail::dirty_walk<Format, Alloc, Sink, gather_out> w{{params_, alloc_}, sink, va, last,
                                                            flags.no_clear, out};
      detail::dispatch_level<Format::max_top_level>(t.level, [&](auto lv) {
        w.template level<decltype(lv)::value>(t.table, span, va, last);
      });
    }
    return {};
  }

  /// Marks the leaf translating va dirty, as the hardware would on a write:
  /// one compare-exchange on one item, lock-free (then, under a
  /// cache-cleaning allocator, that item's line is cleaned).
  /// Errors: not_supported (no dirty tracking, or a leaf the hardware
  /// cannot dirty: ARMv8 without DBM), not_found (no translation), busy (the
  /// item changed under the compare-exchange; nothing was written, retry).
  result<void> set_dirty(va_t va) noexcept {
    if (!traits::dirty_supported(params_)) return unexpected(errc::not_supported);
    if constexpr (traits::has_dirty_hooks) {
      const top_ref t = top();
      const unsigned span = traits::top_span_lg2(params_, t.level);
      if (!detail::va_range_valid(params_.layout, span, va, va)) return unexpected(errc::not_found);
      [[maybe_unused]] auto guard = detail::read_section(alloc_);
      unsigned level = 0;
      const detail::walk_ctx<Format, const Alloc> c{params_, alloc_};
      word_t* item = detail::dispatch_level<Format::max_top_level>(t.level, [&](auto lv) {
        return detail::find_leaf<Format, decltype(lv)::value>(c, t.table, span, va, level);
      });
      if (!item) return unexpected(errc::not_found);
      word_t e = detail::load_item(item);
      if (traits::is_write_dirty(e, params_)) return {};
      const word_t d = traits::make_write_dirty(e, params_);
      // A leaf the hardware never dirties (ARMv8 without DBM: the write faults).
      if (!traits::is_write_dirty(d, params_)) return unexpected(errc::not_supported);
      if (!detail::cas_item_relaxed(item, e, d)) return unexpected(errc::busy);
      detail::clean_items(alloc_, item, 1);  // a non-snooping walker sees it as the CPU does
    }
    return {};
  }

  /// Makes va the start of an entry without changing any translation: a
  /// large leaf becomes a table of smaller leaves (same oa and attributes),
  /// a contiguous run smaller entries; a no-op when va already starts one.
  /// The old entry's range goes into g: TLBs may still hold the larger entry,
  /// which stays correct until a later unmap of part of it is flushed.
  /// Where the format forbids a one-step size change (ARMv8 without
  /// feature bbm_level2: break-before-make, Arm ARM D8.16.1) the entry is
  /// made invalid, its range invalidated through the policy's flush_now
  /// (so nothing joins g), then replaced: a device access to that range in between faults
  /// (translation fault) and must be retried, or the device quiesced
  /// (docs/operations.md, "Live updates"). With bbm_level1 a block is
  /// marked nT instead: it keeps translating on hardware that walks nT
  /// entries (others may fault, as the Arm ARM allows).
  /// Errors: not_found (va unmapped), misaligned (va not a multiple of the
  /// smallest page), out_of_range, no_memory (also a new table beyond the
  /// hardware's reach, see map(); every table is allocated before anything
  /// is written, so nothing changed), not_supported (a size the format
  /// cannot split into, e.g. AMDv1 1T..128T runs).
  result<void> cut(va_t va, gather& g) noexcept {
    const top_ref t = top();
    const unsigned span = traits::top_span_lg2(params_, t.level);
    va_t last = va;
    const clip where = clip_to_top(t.level, va, last);
    if (where == clip::invalid) return unexpected(errc::out_of_range);
    if (log2_mod(va, ffs64(pgsizes_)) != 0) return unexpected(errc::misaligned);
    if (where == clip::beyond) return unexpected(errc::not_found);
    detail::change_set changed;
    detail::cut_walk<Format, Alloc> w{{params_, alloc_}, va, changed};
    w.live = live_hook();
    const errc r = detail::dispatch_level<Format::max_top_level>(t.level, [&](auto lv) {
      return w.template level<decltype(lv)::value>(t.table, span);
    });
    // A cut that broke before making (or used nT) invalidated its range
    // already; only a one-step cut leaves the old entry to the gather.
    if (changed.any && detail::size_change_rule<Format>(params_) == detail::live_rule::one_step)
      commit(g, changed.va, changed.last, changed);
    if (r != detail::ok) return unexpected(r);
    return {};
  }
  /// cut(), then sync() of its own gather.
  result<void> cut(va_t va) noexcept {
    gather g;
    result<void> r = cut(va, g);
    sync(g);
    return r;
  }

  /// Gives every leaf in [va, va + len) the attributes `a`, keeping its oa.
  /// Entries straddling either edge are cut first, or with
  /// `protect_flags::no_cut` the call fails with misaligned before changing
  /// anything. Holes are skipped. The changed entries are gathered one by
  /// one in va order: a no-gaps policy syncs g during the call before a
  /// disjoint entry joins it, so no flushed range covers a hole. Under a
  /// cache-cleaning allocator every line written is cleaned before any
  /// flush and before the call returns. An entry whose change the format
  /// forbids in one step (ARMv8 memory type, shareability, NS, nG: Arm ARM
  /// D8.16.1) is made invalid, invalidated through the policy's flush_now,
  /// then rewritten: accesses to it fault in between, as for cut(). Where
  /// an edge cut was one step (x86-64, AMDv1, ARMv8 bbm_level2), g is
  /// synced before any attribute changes, so no TLB holds the old large
  /// entry beside differently-attributed small ones (SDM vol. 3A 4.10.2.3).
  /// Errors: invalid_argument (len 0, attrs the format cannot express),
  /// overflow, out_of_range, misaligned, no_memory (from a cut; no
  /// attribute changed), not_supported (an edge the format cannot cut).
  result<void> protect(va_t va, std::uint64_t len, const attrs_type& a, gather& g,
                       protect_flags flags = {}) noexcept {
    if (!traits::attrs_valid(a, params_)) return unexpected(errc::invalid_argument);
    va_t last = 0;
    bool none = false;
    const top_ref t = top();
    if (const errc r = check_range(t, va, len, last, none); r != detail::ok) return unexpected(r);
    if (log2_mod(va | len, ffs64(pgsizes_)) != 0) return unexpected(errc::misaligned);
    if (none) return {};
    const unsigned span = traits::top_span_lg2(params_, t.level);
    const bool cut_end = last + 1 != 0 && detail::va_range_valid(params_.layout, span, last + 1, last + 1);
    if (flags.no_cut) {
      if (straddles(va) || (cut_end && straddles(last + 1))) return unexpected(errc::misaligned);
    } else {
      bool cut_any = false;
      for (const va_t edge : {va, last + 1}) {
        if (edge == last + 1 && !cut_end) continue;
        if (!straddles(edge)) continue;
        if (result<void> r = cut(edge, g); !r) return r;
        cut_any = true;
      }
      // A one-step cut leaves the old large entry in the TLBs beside the
      // new smaller ones; they may not differ in attributes (Intel SDM
      // vol. 3A 4.10.2.3: undefined behaviour otherwise), so the cut is
      // flushed before any attribute changes. Break-before-make (and nT)
      // cuts were invalidated already.
      if (cut_any && detail::size_change_rule<Format>(params_) == detail::live_rule::one_step) sync(g);
    }
    gather_out out{*this, g};
    detail::protect_walk<Format, Alloc, gather_out> w{{params_, alloc_}, a, out};
    w.live = live_hook();
    detail::dispatch_level<Format::max_top_level>(t.level, [&](auto lv) {
      w.template level<decltype(lv)::value>(t.table, span, va, last);
    });
    return {};
  }
  /// protect() with attributes from `p` (as map(prot) makes them).
  /// Errors: as protect(attrs); invalid_argument when !prot_valid(p);
  /// not_supported for a flag the format cannot express (as map(prot)).
  result<void> protect(va_t va, std::uint64_t len, prot p, gather& g,
                       protect_flags flags = {}) noexcept {
    if (!prot_valid(p)) return unexpected(errc::invalid_argument);
    if (!traits::prot_supported(p, params_)) return unexpected(errc::not_supported);
    return protect(va, len, Format::attrs_from_prot(p, params_), g, flags);
  }

  /// The output address of `va` (any alignment); nullopt when unmapped or
  /// outside the table. Lock-free; safe against map/unmap of other ranges.
  [[gnu::always_inline]] std::optional<oa_t> iova_to_phys(va_t va) const noexcept {
    // The optional is made here, inline in the caller, where it dissolves
    // into registers: GCC returns a std::optional<std::uint64_t> through the
    // stack, two store-to-load forwards on the latency of a chained lookup.
    const oa_t oa = translate(va);
    if (oa == detail::no_oa) return std::nullopt;
    return oa;
  }

  /// Calls visit(leaf_view<attrs_type>) for every entry overlapping
  /// [va, va + len), in va order, each whole. Visits nothing on a bad range.
  template <class Visit>
  void for_each_leaf(va_t va, std::uint64_t len, Visit&& visit) const {
    read_walk(va, len, [&](auto lv, const auto& c, word_t* table, unsigned span, va_t v, va_t l) {
      detail::visit_leaves<Format, decltype(lv)::value>(c, table, span, v, l, visit);
    });
  }

  /// Calls visit(item_view) for every non-empty item overlapping
  /// [va, va + len), depth first (a table item, then its child's items).
  /// For dumps and debuggers; visits nothing on a bad range.
  template <class Visit>
  void for_each_item(va_t va, std::uint64_t len, Visit&& visit) const {
    read_walk(va, len, [&](auto lv, const auto& c, word_t* table, unsigned span, va_t v, va_t l) {
      detail::visit_items<Format, decltype(lv)::value>(c, table, span, v, l, visit);
    });
  }

  /// Every va the table decodes under its current top, as at most two
  /// windows whose (va, len) for_each_leaf, for_each_item and dump take:
  /// `for (const va_window& w : pt.windows()) pt.for_each_leaf(w.va, w.len, visit);`
  /// visits the whole table, whatever its va layout.
  va_windows windows() const noexcept { return traits::windows(params_, top().level); }

  /// Page sizes, VA/OA widths and the current top level.
  table_info info() const noexcept {
    const unsigned top_level = top().level;
    return {pgsizes_, params_.va_lg2, params_.oa_lg2,
            top_level};
  }
  /// What the driver programs into the hardware (root, levels, ...).
  hw_info_type hw_info() const noexcept {
    return Format::make_hw_info(root_oa_, top().level, params_);
  }

  const params_type& params() const noexcept { return params_; }
  Alloc& allocator() noexcept { return alloc_; }
  const Alloc& allocator() const noexcept { return alloc_; }
  Flush& flush_policy() noexcept { return flush_; }
  const Flush& flush_policy() const noexcept { return flush_; }

 private:
  struct top_ref {
    word_t* table;
    unsigned level;
  };

  page_table(const params_type& p, table_alloc t, Alloc&& a, Flush&& f) noexcept
      : params_(p),
        top_(reinterpret_cast<std::uintptr_t>(t.table) | p.top_level),
        root_oa_(t.oa),
        pgsizes_(traits::pgsize_bitmap(p)),
        alloc_(std::move(a)),
        flush_(std::move(f)) {
    for (unsigned level = 0; level <= Format::max_top_level; ++level)
      windows_[level] = detail::top_window::of(p.layout, traits::top_span_lg2(p, level));
  }

  /// iova_to_phys's walk: the output address, or detail::no_oa. Inline to
  /// the last level (an inline dispatch and lambda): GCC 12 called it, or
  /// the level dispatch through a lambda, out of line in the bench's lookup
  /// loop, and a chained hot ARMv8 lookup took up to 30 % longer.
  [[gnu::always_inline]] oa_t translate(va_t va) const noexcept {
    [[maybe_unused]] auto guard = detail::read_section(alloc_);
    const top_ref t = top();
    const detail::top_window w = windows_[t.level];
    if (!w.contains(va)) return detail::no_oa;
    const detail::read_ctx<Format, const Alloc> c{params_, alloc_};
    return detail::dispatch_level<Format::max_top_level>(t.level, [&](auto lv) GENPT_INLINE_LAMBDA {
      constexpr unsigned level = decltype(lv)::value;
      return detail::lookup<Format, level>(c, t.table, w.index(va, traits::item_lg2(level)), va);
    });
  }

  top_ref top() const noexcept {
    // Acquire pairs with the release that published a (grown) top, so its
    // items are visible. Tables are >= 32-byte aligned: the low 3 bits of
    // the pointer are free to hold the top level.
    const std::uintptr_t v = top_.load(std::memory_order_acquire);
    return {reinterpret_cast<word_t*>(v & ~std::uintptr_t{7}), static_cast<unsigned>(v & 7)};
  }

  /// True when a top at `level` can hold [va, last] and, for a growable
  /// top, the largest page that fits its start (so growth can offer it).
  bool fits(unsigned level, va_t va, va_t last, oa_t oa) const noexcept {
    const unsigned span = traits::top_span_lg2(params_, level);
    if (!detail::va_range_valid(params_.layout, span, va, last)) return false;
    return !params_.dynamic_top || best_pgsize_lg2(pgsizes_, va, last, oa) < span ||
           span >= params_.va_lg2;
  }

  /// Raises a dynamic top until it fits [va, last]: allocates the new top
  /// levels, links the old top at index 0 of the level above it, tells the
  /// driver (flush policy's change_top, when it has one) and only then
  /// publishes the new top. No IOTLB flush: no translation changed.
  /// Errors: out_of_range (cannot grow that far), no_memory (allocator
  /// exhausted, or a new level beyond the hardware's reach; nothing changed).
  errc grow(va_t va, va_t last, oa_t oa) noexcept {
    growth_lock lock(grow_lock_);
    const top_ref cur = top();  // re-read under the lock: another map may have grown it
    unsigned level = cur.level;
    while (!fits(level, va, last, oa)) {
      ++level;
      if (level > Format::max_top_level || traits::item_lg2(level) >= params_.va_lg2)
        return errc::out_of_range;
    }
    if (level == cur.level) return detail::ok;
    table_list fresh;
    word_t* below = cur.table;
    oa_t below_oa = root_oa_;
    for (unsigned l = cur.level + 1; l <= level; ++l) {
      const unsigned lg2 = traits::top_table_lg2(params_, l);
      // The new top must fit the root field, the levels between a level
      // l + 1 item; one beyond 2^oa_lg2 is no_memory.
      const table_alloc t = detail::allocate_table<Format>(alloc_, lg2, l + 1, params_, l == level);
      if (!t.table) {
        alloc_.free(fresh);
        return errc::no_memory;
      }
      fresh.push_back(alloc_.link_of(t.table, lg2));
      // Not yet reachable by anyone: a plain store is enough; the release
      // store of top_ below publishes it.
      detail::store_item(static_cast<word_t*>(t.table), Format::make_table(below_oa, l, params_));
      detail::clean_items(alloc_, static_cast<word_t*>(t.table), 1);  // before change_top
      below = static_cast<word_t*>(t.table);
      below_oa = t.oa;
    }
    if constexpr (requires { flush_.change_top(below_oa, level); }) flush_.change_top(below_oa, level);
    root_oa_ = below_oa;
    // Release pairs with the acquire in top(): the new tables' contents are
    // visible before the pointer to them.
    top_.store(reinterpret_cast<std::uintptr_t>(below) | level, std::memory_order_release);
    while (fresh.pop_front()) {
    }  // the links stay with their tables; the list itself is dropped
    return detail::ok;
  }

  /// Serializes top growth only (map/unmap of disjoint ranges never wait).
  class growth_lock {
   public:
    explicit growth_lock(std::atomic<bool>& f) noexcept : f_(f) {
      // Acquire: whoever held the lock before has published its top.
      while (f_.exchange(true, std::memory_order_acquire)) {
      }
    }
    ~growth_lock() { f_.store(false, std::memory_order_release); }
    growth_lock(const growth_lock&) = delete;
    growth_lock& operator=(const growth_lock&) = delete;

   private:
    std::atomic<bool>& f_;
  };

  /// Runs walk(level tag, ctx, top table, span, va, last) over [va, va + len)
  /// clipped to the current top, inside the allocator's read-side section;
  /// does nothing on a bad range (the contract of the visiting functions).
  template <class Walk>
  void read_walk(va_t va, std::uint64_t len, Walk&& walk) const {
    if (len == 0) return;
    va_t last = va + (len - 1);
    if (last < va) return;
    [[maybe_unused]] auto guard = detail::read_section(alloc_);
    const top_ref t = top();
    if (clip_to_top(t.level, va, last) != clip::inside) return;
    const unsigned span = traits::top_span_lg2(params_, t.level);
    const detail::walk_ctx<Format, const Alloc> c{params_, alloc_};
    detail::dispatch_level<Format::max_top_level>(
        t.level, [&](auto lv) { walk(lv, c, t.table, span, va, last); });
  }

  /// Where a range lies relative to the current top.
  enum class clip { invalid, inside, beyond };

  /// Validates [va, last] against the VA the table may ever decode. A
  /// growable top that has not grown that far holds nothing above its
  /// current span: `last` is clipped to it (inside), or the whole range lies
  /// above it (beyond).
  clip clip_to_top(unsigned top_level, va_t va, va_t& last) const noexcept {
    const unsigned span = traits::top_span_lg2(params_, top_level);
    if (detail::va_range_valid(params_.layout, span, va, last)) return clip::inside;
    if (!params_.dynamic_top || !detail::va_range_valid(params_.layout, params_.va_lg2, va, last))
      return clip::invalid;
    if (log2_div(va, span) != 0) return clip::beyond;  // growable tops have a low layout
    last = log2_to_max_int(span);
    return clip::inside;
  }

  /// Validates [va, va + len); sets last (clipped to a growable top) and
  /// `none` when nothing of the range is below the current top.
  errc check_range(top_ref t, va_t va, std::uint64_t len, va_t& last, bool& none) const noexcept {
    if (len == 0) return errc::invalid_argument;
    last = va + (len - 1);
    if (last < va) return errc::overflow;
    const clip where = clip_to_top(t.level, va, last);
    if (where == clip::invalid) return errc::out_of_range;
    none = where == clip::beyond;
    return detail::ok;
  }

  /// True when va lies strictly inside a leaf entry (not at its start).
  bool straddles(va_t va) const noexcept {
    const top_ref t = top();
    const unsigned span = traits::top_span_lg2(params_, t.level);
    unsigned level = 0;
    const detail::walk_ctx<Format, const Alloc> c{params_, alloc_};
    const word_t* item = detail::dispatch_level<Format::max_top_level>(t.level, [&](auto lv) {
      return detail::find_leaf<Format, decltype(lv)::value>(c, t.table, span, va, level);
    });
    if (!item) return false;
    return log2_mod(va, traits::entry_size_lg2(detail::load_item(item), level)) != 0;
  }

  /// The bits every table item on a short path (one_page_item,
  /// small_range_table) must hold. For a cache-cleaning allocator, the SW
  /// "flush done" bit: the item and the table below it are already clean,
  /// so starting below them skips nothing the general walk would do (it
  /// cleans only table items without the bit). create() refuses such an
  /// allocator for a format without the bit. None otherwise.
  word_t path_bits() const noexcept {
    if constexpr (detail::cleaning_allocator<Alloc>)
      return traits::sw_bit_mask(params_);
    else
      return 0;
  }

  /// The level-0 item of a one-page request: len is the level-0 item size
  /// and a page size of the table; va and oa are aligned to it; oa lies below
  /// 2^oa_lg2; va lies inside the current top; and every level above holds
  /// a table pointer (with path_bits()). nullptr otherwise: the general path
  /// then decides, errors included. unmap passes oa 0.
  [[gnu::always_inline]] word_t* one_page_item(va_t va, oa_t oa, std::uint64_t len) const noexcept {
    if constexpr (Format::max_top_level == 0) {
      return nullptr;
    } else {
      // The level-0 item size: nothing smaller is a page, and it is a leaf
      // size only of level 0 (so in pgsizes_ only as a level-0 leaf).
      constexpr std::uint64_t item = log2_to_int(traits::item_lg2(0));
      if (len != item || !(pgsizes_ & item) || log2_mod(va | oa, traits::item_lg2(0)) != 0) return nullptr;
      if (log2_div(oa, params_.oa_lg2) != 0) return nullptr;  // oa aligned: oa + len - 1 shares its high bits
      const top_ref t = top();
      if (t.level == 0) return nullptr;
      // va aligned to the page: the page lies in va's window.
      const detail::top_window w = windows_[t.level];
      if (!w.contains(va)) return nullptr;
      const detail::read_ctx<Format, const Alloc> c{params_, alloc_};
      return detail::dispatch_level<Format::max_top_level>(t.level, [&](auto lv) GENPT_INLINE_LAMBDA {
        constexpr unsigned level = decltype(lv)::value;
        return detail::find_leaf_item<Format, level>(c, t.table, w.index(va, traits::item_lg2(level)), va,
                                                     path_bits());
      });
    }
  }

  /// The level-0 table holding all of [va, last] when the range is smaller
  /// than that table's span (so no leaf above level 0 can be made and the
  /// table cannot be wholly covered) and the path to it exists (every table
  /// item with path_bits()); nullptr otherwise.
  word_t* small_range_table(word_t* table, unsigned top_level, unsigned span, va_t va,
                            va_t last) const noexcept {
    if constexpr (Format::max_top_level == 0) {
      return nullptr;
    } else {
      constexpr unsigned span0 = traits::item_lg2(1);  // VA bits of one level-0 table
      if (top_level == 0 || !log2_div_eq(va, last, span0)) return nullptr;
      if (log2_mod(va, span0) == 0 && log2_mod_eq_max(last, span0)) return nullptr;  // all of it
      word_t* item = leaf_item(table, top_level, span, va);
      return item ? item - traits::index_of(va, 0, span0) : nullptr;
    }
  }

  /// The level-0 item translating va when every level above holds a table
  /// pointer with path_bits(); nullptr otherwise.
  [[gnu::always_inline]] word_t* leaf_item(word_t* table, unsigned top_level, unsigned span, va_t va) const noexcept {
    const detail::read_ctx<Format, const Alloc> c{params_, alloc_};
    return detail::dispatch_level<Format::max_top_level>(top_level, [&](auto lv) GENPT_INLINE_LAMBDA {
      constexpr unsigned level = decltype(lv)::value;
      return detail::find_leaf_item<Format, level>(c, table, traits::index_of(va, level, span), va, path_bits());
    });
  }

  /// The walks' break-before-make hook (core/bbm.hpp): the format's rule
  /// for live size changes and the policy's flush_now.
  detail::live_flush live_hook() noexcept {
    return {detail::size_change_rule<Format>(params_), this, [](void* t, const iotlb_flush& f) noexcept {
              static_cast<page_table*>(t)->flush_.flush_now(f);
            }};
  }

  /// Takes the changed leaf entries of a protect or dirty walk (and the
  /// cleared items of map's rollback) into g one by one, in va order (the
  /// walk's `out`, see detail::protect_walk, detail::map_rollback): a
  /// no-gaps policy gets the pending ones synced before a disjoint one
  /// joins; a merging policy's must_flush_before is a constant false, so
  /// this costs what one covering range did.
  struct gather_out {
    page_table& t;
    gather& g;
    bool must_flush_before(va_t va, va_t last) const noexcept {
      return t.flush_.must_flush_before(g, va, last);
    }
    void sync() noexcept { t.sync(g); }
    void add_leaf(unsigned level, va_t va, va_t last) noexcept {
      g.add_range(va, last);
      g.add_leaf_level(level);
    }
    /// A table pointer at `level` spanning [va, last] was cleared: the
    /// table is freed by the sync whose flush covers that span.
    void add_table(unsigned level, va_t va, va_t last, table_link& table) noexcept {
      g.add_range(va, last);
      g.add_table_level(level);
      g.freed().push_back(table);
    }
  };

  /// Undoes a failed map of [va, last] that mapped [va, leaf_end) and
  /// replaced the subtrees in `removed` (all inside [va, leaf_end): the
  /// walk unlinks nothing it does not then cover with a leaf), then syncs.
  /// The rollback clears [va, leaf_end) first, in va order, so that run is
  /// gathered up front with the replaced subtrees; each further run of
  /// unlinked empty tables joins one by one (gather_out), so a no-gaps
  /// policy flushes each disjoint run alone and never the va in between;
  /// a merging policy still gets one covering range and one flush.
  void rollback(word_t* table, unsigned top_level, unsigned span, va_t va, va_t leaf_end,
                va_t last, detail::change_set& removed) noexcept {
    gather g;
    if (leaf_end != va) {
      g.add_range(va, leaf_end - 1);
      g.add_levels(removed.leaf_levels, removed.table_levels);
      g.freed().splice(removed.freed);
    }
    GENPT_ASSERT(!removed.any || (leaf_end != va && removed.va >= va && removed.last < leaf_end),
                 "map replaced a subtree outside the va it mapped");
    gather_out out{*this, g};
    detail::map_rollback<Format, Alloc, gather_out> rb{{params_, alloc_}, va, leaf_end, last, out};
    detail::dispatch_level<Format::max_top_level>(top_level, [&](auto lv) {
      rb.template level<decltype(lv)::value>(table, span, va, last);
    });
    rb.written.clean_all();  // the last run's cleared items, before its flush
    sync(g);
  }

  /// Adds one operation's removals to g; a policy that must not merge
  /// disjoint ranges (no gaps) gets the pending ones synced first.
  void commit(gather& g, va_t va, va_t last, detail::change_set& removed) noexcept {
    if (flush_.must_flush_before(g, va, last)) sync(g);
    g.add_range(va, last);
    for (unsigned l = 0; l < 8; ++l) {
      if (removed.leaf_levels & (1u << l)) g.add_leaf_level(l);
      if (removed.table_levels & (1u << l)) g.add_table_level(l);
    }
    g.freed().splice(removed.freed);
  }

  void destroy() noexcept {
    const std::uintptr_t v = top_.exchange(0, std::memory_order_relaxed);
    if (!v) return;
    auto* table = reinterpret_cast<word_t*>(v & ~std::uintptr_t{7});
    const unsigned top_level = static_cast<unsigned>(v & 7);
    const unsigned span = traits::top_span_lg2(params_, top_level);
    const unsigned n = static_cast<unsigned>(log2_to_int(span - traits::item_lg2(top_level)));
    table_list all;
    detail::walk_ctx<Format, Alloc> c{params_, alloc_};
    detail::dispatch_level<Format::max_top_level>(top_level, [&](auto lv) {
      detail::collect_subtree<Format, decltype(lv)::value>(c, table, n, all);
    });
    all.push_back(alloc_.link_of(table, traits::top_table_lg2(params_, top_level)));
    alloc_.free(all);
  }

  params_type params_;
  std::atomic<std::uintptr_t> top_;
  oa_t root_oa_;
  std::uint64_t pgsizes_;  ///< every leaf size the table can make
  /// windows_[l]: the va a top at level l decodes (params_ only, so fixed).
  std::array<detail::top_window, Format::max_top_level + 1> windows_{};
  std::atomic<bool> grow_lock_{false};
  [[no_unique_address]] Alloc alloc_;
  [[no_unique_address]] Flush flush_;
};

}  // namespace genpt
