// genpt/core/dirty.hpp - dirty tracking: harvest, clean, and set.
//
// A format supports dirty tracking by declaring
//   bool   is_write_dirty(word_t, const params&)     the hardware wrote through this item
//   word_t make_write_clean(word_t, const params&)   the item, clean
//   word_t make_write_dirty(word_t, const params&)   the item as the hardware dirties it
// and optionally `bool dirty_supported(const params&)` (ARMv8 needs DBM);
// the walks reach them through format_traits (core/format_traits.hpp).
// A contiguous entry is dirty when any of its items is (hardware may set
// the bit in only one) and is cleaned in every item.
#pragma once

#include <cstdint>

#include "genpt/core/map.hpp"
#include "genpt/core/walk.hpp"

namespace genpt {

/// Receives each dirty span: record(va, len). len > 0, spans in va order.
template <class S>
concept dirty_sink = requires(S& s, va_t va, std::uint64_t len) { s.record(va, len); };

/// Options of read_and_clear_dirty.
struct dirty_flags {
  bool no_clear = false;  ///< report only; leave the dirty state as it is
};

namespace detail {

/// Reports the dirty entries of [va, last] to `sink` and cleans them; each
/// cleaned entry goes to `out` as the walk goes, with the protocol of
/// protect_walk (core/cut.hpp): a no-gaps policy never sees a hole, and
/// every line written is cleaned before any flush.
template <class Format, class Alloc, class Sink, class Out>
struct dirty_walk {
  using traits = format_traits<Format>;
  using word_t = typename Format::word_t;

  walk_ctx<Format, Alloc> c;
  Sink& sink;
  const va_t req_va, req_last;
  const bool no_clear;
  Out& out;

  template <unsigned L>
  void level(word_t* table, unsigned span_lg2, va_t va, va_t last) {
    leaf_windows<Alloc, word_t> written{c.alloc};  // cleaned per table, and before any flush
    auto on_leaf = [&](auto lv, const leaf_entry<Format>& e) {
      // e.word is items[0] as loaded: a single-item entry needs no reload.
      bool dirty = traits::is_write_dirty(e.n == 1 ? e.word : load_item(e.items), c.p);
      for (unsigned k = 1; k < e.n && !dirty; ++k)
        dirty = traits::is_write_dirty(load_item(e.items + k), c.p);
      if (!dirty) return;
      const va_t e_last = e.va + log2_to_max_int(e.size_lg2);
      const va_t lo = e.va > req_va ? e.va : req_va;
      const va_t hi = e_last < req_last ? e_last : req_last;
      sink.record(lo, hi - lo + 1);
      if (no_clear) return;
      if (out.must_flush_before(e.va, e_last)) {
        written.clean_all();
        out.sync();
      }
      for (unsigned k = 0; k < e.n; ++k) clean(e.items + k);
      written.note(lv, e.table, e.items, e.n);
      out.add_leaf(lv, e.va, e_last);
    };
    for_each_leaf_entry<Format, L>(c, table, span_lg2, va, last, on_leaf);
  }

 private:
  /// Clears the dirty state of one item without losing a bit the hardware
  /// sets meanwhile: a compare-exchange loop rather than a plain store.
  void clean(word_t* item) const noexcept {
    word_t old = load_item(item);
    while (traits::is_write_dirty(old, c.p) &&
           !cas_item_relaxed(item, old, traits::make_write_clean(old, c.p))) {
    }
  }
};

/// The item holding the leaf that translates va, and its level; nullptr
/// when va is not mapped.
template <class Format, unsigned L, class Ctx>
typename Format::word_t* find_leaf(const Ctx& c, typename Format::word_t* table, unsigned span_lg2,
                                   va_t va, unsigned& level) noexcept {
  using traits = format_traits<Format>;
  auto* item = table + traits::index_of(va, L, span_lg2);
  const auto e = load_item_acquire(item);
  switch (Format::classify(e, L)) {
    case entry_kind::leaf:
      level = L;
      return item;
    case entry_kind::table:
      if constexpr (L > 0) return find_leaf<Format, L - 1>(c, c.child(e), traits::item_lg2(L), va, level);
      [[fallthrough]];
    default:
      return nullptr;
  }
}

}  // namespace detail
}  // namespace genpt
