// genpt/core/cut.hpp - cut: make a va an entry boundary, translation unchanged.
//
// A large leaf becomes a table of smaller leaves with the same output and
// attributes, built aside and installed with one release store; a
// contiguous run is re-encoded into smaller entries item by item (every
// intermediate state translates every va exactly as before). Repeats one
// level down until va starts an entry. Attributes are what attrs_of()
// extracts: hardware-set state the format keeps outside attrs (e.g. an
// AMDv1 dirty bit) does not survive a cut.
//
// Where the format forbids a one-step size change (ARMv8 without FEAT_BBM
// level 2, core/bbm.hpp) the replaced items are first made invalid (level
// 1 blocks: marked nT), their range is invalidated now through the flush
// policy's flush_now, and only then are the new items written.
#pragma once

#include <cstdint>

#include "genpt/core/assert.hpp"
#include "genpt/core/bbm.hpp"
#include "genpt/core/best_pgsize.hpp"
#include "genpt/core/dirty.hpp"
#include "genpt/core/map.hpp"
#include "genpt/core/walk.hpp"

namespace genpt::detail {

template <class Format, class Alloc>
struct cut_walk {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;
  using attrs = typename Format::attrs;

  walk_ctx<Format, Alloc> c;
  const va_t va;
  change_set& changed;  ///< entries whose size changed (TLBs may hold the old size)
  live_flush live{};    ///< how a live entry changes size, and the invalidate-now call

  /// Finds the leaf holding va; when va is inside it, allocates every table
  /// the cut needs before changing anything (so no_memory changes nothing),
  /// then splits.
  template <unsigned L>
  errc level(word_t* table, unsigned span_lg2) noexcept {
    constexpr unsigned ilg2 = traits::item_lg2(L);
    const unsigned idx = traits::index_of(va, L, span_lg2);
    const word_t e = load_item_acquire(table + idx);
    switch (Format::classify(e, L)) {
      case entry_kind::empty:
        return errc::not_found;
      case entry_kind::table:
        if constexpr (L > 0) return level<L - 1>(c.child(e), ilg2);
        return errc::not_found;
      case entry_kind::leaf:
        break;
    }
    const unsigned sz = traits::entry_size_lg2(e, L);
    if (log2_mod(va, sz) == 0) return ok;  // already a boundary
    if constexpr (L == 0) {
      if (sz == ilg2) return errc::misaligned;  // inside the smallest page: the facade rejects this
    }
    // Pieces of single items must be expressible here (AMDv1 level 3 has
    // no single-item leaf): checked before anything is written.
    if (sz > ilg2 && !(Format::leaf_sizes(L, c.p) & log2_to_int(ilg2))) return errc::not_supported;
    // Nor may a level below hold runs but no single items where the cut
    // must pass through it (the pieces made there would be such runs).
    for (unsigned l = L; l-- > 0 && log2_mod(va, traits::item_lg2(l + 1)) != 0;) {
      const std::uint64_t sizes = Format::leaf_sizes(l, c.p);
      if ((sizes & ~log2_to_max_int(traits::item_lg2(l) + 1)) && !(sizes & log2_to_int(traits::item_lg2(l))))
        return errc::not_supported;
    }
    // One new table per level below L whose items va falls inside.
    for (unsigned l = L; l > 0 && log2_mod(va, traits::item_lg2(l)) != 0; --l) {
      const unsigned lg2 = traits::table_lg2(l - 1);
      // Pointed to from a level-l item; one the hardware cannot reach is no_memory.
      const table_alloc t = allocate_table<Format>(c.alloc, lg2, l, c.p);
      if (!t.table) {
        release_unused();
        return errc::no_memory;
      }
      pre_[n_pre_++] = {t, lg2};
    }
    const errc r = split<L>(table, span_lg2);
    release_unused();
    return r;
  }

  /// Tables allocated up front, used in order from the top down.
  struct fresh_table {
    table_alloc t;
    unsigned lg2;
  };
  fresh_table pre_[8] = {};
  unsigned n_pre_ = 0, used_ = 0;
  bool private_ = false;  ///< splitting inside a table not yet installed

 private:
  void release_unused() noexcept {
    if (used_ == n_pre_) return;
    table_list l;
    for (unsigned i = used_; i < n_pre_; ++i) l.push_back(c.alloc.link_of(pre_[i].t.table, pre_[i].lg2));
    c.alloc.free(l);
    used_ = n_pre_;
  }

  /// The rule for a size change of a level-L entry: nT exists in block
  /// descriptors only, so a page run under FEAT_BBM level 1 breaks.
  template <unsigned L>
  live_rule rule_at() const noexcept {
    if (private_) return live_rule::one_step;  // a table no walker can reach yet
    if (live.rule == live_rule::nt && (L == 0 || traits::nt_bit(c.p) == 0)) return live_rule::bbm;
    return live.rule;
  }

  /// What the hardware left in the items prepare_size_change replaced.
  struct prepared {
    bool dirty;   ///< some item was dirty
    word_t first; ///< the first item's last value, nT clear
  };

  /// Readies the n items of the level-L entry [e_va, e_last] for a size
  /// change under `rule` (not one_step): bbm makes them invalid, nt marks
  /// them nT (same size and translation: allowed in one step at FEAT_BBM
  /// level 1); then their lines are cleaned and the range invalidated now.
  template <unsigned L>
  prepared prepare_size_change(live_rule rule, word_t* items, unsigned n, va_t e_va,
                               va_t e_last) noexcept {
    const word_t nt = traits::nt_bit(c.p);
    prepared r{false, 0};
    for (unsigned k = 0; k < n; ++k) {
      // One read-modify-write each: a dirty bit the hardware sets up to
      // the break is in the value returned, never lost.
      const word_t old = rule == live_rule::bbm ? exchange_item(items + k, word_t{0})
                                                : or_item_relaxed(items + k, nt);
      if (k == 0) r.first = old & ~nt;
      if constexpr (traits::has_dirty_hooks) {
        if (traits::dirty_supported(c.p) && traits::is_write_dirty(old, c.p)) r.dirty = true;
      }
    }
    clean_items(c.alloc, items, n);
    live.now(e_va, e_last, static_cast<std::uint8_t>(1u << L), 0);
    return r;
  }

  /// True when some item of the n-item run at `first` is dirty.
  bool run_dirty(const word_t* first, unsigned n) const noexcept {
    if constexpr (traits::has_dirty_hooks) {
      if (!traits::dirty_supported(c.p)) return false;
      for (unsigned k = 0; k < n; ++k)
        if (traits::is_write_dirty(load_item(first + k), c.p)) return true;
    }
    return false;
  }

  /// Splits the leaf holding va at level L (tables already allocated) and
  /// continues below until va starts an entry.
  template <unsigned L>
  errc split(word_t* table, unsigned span_lg2) noexcept {
    constexpr unsigned ilg2 = traits::item_lg2(L);
    const unsigned idx = traits::index_of(va, L, span_lg2);
    word_t e = load_item_acquire(table + idx);
    if (Format::classify(e, L) != entry_kind::leaf) return errc::not_found;
    const unsigned sz = traits::entry_size_lg2(e, L);
    if (log2_mod(va, sz) == 0) return ok;
    const va_t e_va = log2_align_down(va, sz);
    const va_t e_last = e_va + log2_to_max_int(sz);
    changed.leaf_levels |= static_cast<std::uint8_t>(1u << L);
    changed.add(e_va, e_last);
    const live_rule rule = rule_at<L>();
    if (sz > ilg2) {  // a contiguous run: smaller entries at this level
      if (!(Format::leaf_sizes(L, c.p) & log2_to_int(ilg2))) return errc::not_supported;
      const unsigned n = 1u << (sz - ilg2);
      word_t* run = table + (idx & ~(n - 1));
      // The dirty state of any item is the run's: every piece keeps it.
      // A Contiguous bit change needs break-before-make unless one step
      // is allowed (Arm ARM D8.16.1).
      const bool dirty = rule == live_rule::one_step
                             ? run_dirty(run, n)
                             : prepare_size_change<L>(rule, run, n, e_va, e_last).dirty;
      reencode<L>(run, e_va, Format::entry_oa(e, L, c.p), sz, Format::attrs_of(e, L, c.p), dirty);
      clean_items(c.alloc, run, n);
      return split<L>(table, span_lg2);
    }
    if constexpr (L == 0) {
      return errc::misaligned;
    } else {
      GENPT_ASSERT(used_ < n_pre_, "cut: a table was not allocated up front");
      const fresh_table& f = pre_[used_++];
      auto* child = static_cast<word_t*>(f.t.table);
      const word_t table_item = Format::make_table(f.t.oa, L, c.p);
      if (rule == live_rule::one_step) {
        // The leaf may change under us only by the hardware setting its
        // accessed/dirty state: refill from the new value and retry, so the
        // swap (one compare-exchange) never loses that state.
        do {
          fill<L - 1>(child, e_va, e_last, Format::entry_oa(e, L, c.p), sz, Format::attrs_of(e, L, c.p),
                      run_dirty(&e, 1));
          clean_items(c.alloc, child, std::size_t{1} << (f.lg2 - 3));
        } while (!cas_item_release(table + idx, e, table_item));
        install_done<L>(table + idx);
        return split<L - 1>(child, ilg2);
      }
      // Break-before-make or nT: the new subtree is finished (va already an
      // entry boundary in it) while no walker can reach it, so the live
      // table changes once and one invalidation covers the whole cut.
      const unsigned used0 = used_;
      const auto build = [&](word_t b, bool dirty) noexcept {
        used_ = used0;  // a retry refills the same tables: fill writes every item
        fill<L - 1>(child, e_va, e_last, Format::entry_oa(b, L, c.p), sz, Format::attrs_of(b, L, c.p), dirty);
        private_ = true;
        const errc r = split<L - 1>(child, ilg2);
        private_ = false;
        clean_items(c.alloc, child, std::size_t{1} << (f.lg2 - 3));
        return r;
      };
      if (rule == live_rule::bbm) {
        // Arm ARM D8.16.1: the block is invalid and its range invalidated
        // before the table replaces it.
        const prepared old = prepare_size_change<L>(rule, table + idx, 1, e_va, e_last);
        if (const errc r = build(old.first, old.dirty); r != ok) {
          used_ = used0 - 1;  // the child too goes back to the allocator
          store_item(table + idx, old.first);  // the block back: no translation changed
          clean_items(c.alloc, table + idx, 1);
          return r;
        }
        // Release: the subtree's items are ordered before the pointer, as
        // for a fresh install.
        store_item_release(table + idx, table_item);
      } else {
        // FEAT_BBM level 1 (D8.16.2): the block, marked nT, is invalidated
        // while it still translates; then the table replaces it in one step.
        const word_t nt = traits::nt_bit(c.p);
        prepare_size_change<L>(rule, table + idx, 1, e_va, e_last);
        e = load_item(table + idx);
        errc r = ok;
        do {
          const word_t b = e & ~nt;
          r = build(b, run_dirty(&b, 1));
        } while (r == ok && !cas_item_release(table + idx, e, table_item));
        if (r != ok) {
          used_ = used0 - 1;  // the child too goes back to the allocator
          and_not_item(table + idx, nt);  // the block as it was: no translation changed
          clean_items(c.alloc, table + idx, 1);
          return r;
        }
      }
      install_done<L>(table + idx);
      return ok;
    }
  }

  /// After a table replaced a leaf at `item`: cleaned, then the SW "flush
  /// done" bit for cache-cleaning allocators (see core/map.hpp).
  template <unsigned L>
  void install_done(word_t* item) noexcept {
    if constexpr (cleaning_allocator<Alloc>) {
      clean_items(c.alloc, item, 1);
      if (const word_t sw = traits::sw_bit_mask(c.p)) or_item_release(item, sw);
    }
  }

  /// Writes leaves of the largest sizes below `below_lg2` covering
  /// [va0, last] from oa0, into items starting at `items` (a level-L run),
  /// dirty when `dirty`.
  template <unsigned L>
  void fill(word_t* items, va_t va0, va_t last, oa_t oa0, unsigned below_lg2, const attrs& a,
            bool dirty) noexcept {
    constexpr unsigned ilg2 = traits::item_lg2(L);
    const std::uint64_t sizes = Format::leaf_sizes(L, c.p) & log2_to_max_int(below_lg2);
    unsigned bits_sz = 0;  // size whose attribute bits `bits` holds
    word_t bits = 0;
    for (va_t cur = va0;;) {
      const oa_t oa = oa0 + (cur - va0);
      const unsigned sz = best_pgsize_lg2(sizes, cur, last, oa);
      if (sz != bits_sz) {
        // make_leaf(oa) is attribute bits | encode_oa(oa): compute the bits
        // once per size, not once per piece (a 1G cut writes 512 pieces).
        bits = Format::make_leaf(oa, sz, L, a, c.p) ^ traits::encode_oa(oa, c.p);
        if constexpr (traits::has_dirty_hooks) {
          if (dirty) bits = traits::make_write_dirty(bits, c.p);
        }
        bits_sz = sz;
      }
      word_t* first_item = items + ((cur - va0) >> ilg2);
      if (sz == ilg2 && !(sizes & ~log2_to_max_int(ilg2 + 1))) {
        // Only single items can follow (no larger size at this level):
        // write the rest in one run.
        const std::uint64_t count = ((last - cur) >> ilg2) + 1;
        for (std::uint64_t k = 0; k < count; ++k)
          store_item(first_item + k, bits | traits::encode_oa(oa + (k << ilg2), c.p));
        return;
      }
      const word_t d = bits | traits::encode_oa(oa, c.p);
      const word_t step = traits::leaf_item_step(sz, L, c.p);
      fill_items(first_item, d, step, std::size_t{1} << (sz - ilg2));
      const va_t piece_last = cur + log2_to_max_int(sz);
      if (piece_last >= last) return;
      cur = piece_last + 1;
    }
  }

  /// Re-encodes a contiguous run so that the item holding va starts an
  /// entry: pieces [start, A), [A, A + item), [A + item, end).
  template <unsigned L>
  void reencode(word_t* run, va_t e_va, oa_t e_oa, unsigned sz, const attrs& a, bool dirty) noexcept {
    constexpr unsigned ilg2 = traits::item_lg2(L);
    const va_t e_last = e_va + log2_to_max_int(sz);
    const va_t item = log2_align_down(va, ilg2);
    if (item > e_va) fill<L>(run, e_va, item - 1, e_oa, sz, a, dirty);
    fill<L>(run + ((item - e_va) >> ilg2), item, item + log2_to_max_int(ilg2),
            e_oa + (item - e_va), sz, a, dirty);
    const va_t rest = item + log2_to_int(ilg2);
    if (rest - 1 < e_last)
      fill<L>(run + ((rest - e_va) >> ilg2), rest, e_last, e_oa + (rest - e_va), sz, a, dirty);
  }
};

/// Rewrites the attributes of every leaf in [va, last] (entries wholly
/// inside; the facade cuts or rejects the edges first), keeping the oa.
/// Each rewritten entry goes to `out` as the walk goes (gather_out in
/// page_table.hpp), so a no-gaps policy never sees a hole:
///   out.must_flush_before(va, last)  the pending changes must be flushed
///                                    before [va, last] joins them
///   out.sync()                       flush them (the walk has cleaned
///                                    every line it wrote first)
///   out.add_leaf(level, va, last)    one changed leaf entry
template <class Format, class Alloc, class Out>
struct protect_walk {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;

  walk_ctx<Format, Alloc> c;
  const typename Format::attrs& a;
  Out& out;
  live_flush live{};  ///< the invalidate-now call for changes that must break first

  template <unsigned L>
  void level(word_t* table, unsigned span_lg2, va_t va, va_t last) noexcept {
    leaf_windows<Alloc, word_t> written{c.alloc};  // cleaned per table, and before any flush
    auto on_leaf = [&](auto lv, const leaf_entry<Format>& e) {
      const va_t e_last = e.va + log2_to_max_int(e.size_lg2);
      const word_t d = Format::make_leaf(Format::entry_oa(e.word, lv, c.p), e.size_lg2, lv, a, c.p);
      const word_t step = traits::leaf_item_step(e.size_lg2, lv, c.p);
      if (traits::change_needs_bbm(e.word, d, c.p)) {
        // A memory-type / shareability change: break-before-make (Arm ARM
        // D8.16.1), whatever the FEAT_BBM level. Invalidated here, so it
        // does not join the gather.
        for (unsigned k = 0; k < e.n; ++k) store_item(e.items + k, word_t{0});
        clean_items(c.alloc, e.items, e.n);
        live.now(e.va, e_last, static_cast<std::uint8_t>(1u << lv), 0);
        fill_items(e.items, d, step, e.n);
        written.note(lv, e.table, e.items, e.n);
        return;
      }
      if (out.must_flush_before(e.va, e_last)) {
        written.clean_all();
        out.sync();
      }
      fill_items(e.items, d, step, e.n);
      written.note(lv, e.table, e.items, e.n);
      out.add_leaf(lv, e.va, e_last);
    };
    for_each_leaf_entry<Format, L>(c, table, span_lg2, va, last, on_leaf);
  }
};

}  // namespace genpt::detail
