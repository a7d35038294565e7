// genpt/core/bbm.hpp - how a live descriptor may be replaced: one step, or
// break-before-make.
//
// Some formats forbid replacing a valid descriptor by one of another size
// (block <-> table, a Contiguous bit change) or of another memory type in a
// single write: the TLB could then hold both translations at once. ARMv8
// requires break-before-make (Arm ARM D8.16.1 "Using break-before-make
// when updating translation table entries"): write the items invalid,
// invalidate the TLB for their range and wait, then write the new items.
// FEAT_BBM relaxes this for size changes only (D8.16.2 "Support levels for
// changing block size"). x86-64 and AMDv1 allow the one-step change (see
// docs/operations.md, "Live updates").
//
// A format opts in with two optional hooks:
//   unsigned bbm_level(const params&)  FEAT_BBM level in use: 0 (none: every
//       size change breaks first), 1 (the old block is marked nT instead of
//       invalid, its range is invalidated, then the new items replace it:
//       the block keeps its translation, though the Arm ARM lets an
//       implementation fault on an nT descriptor), 2 (one step)
//   bool change_needs_bbm(word_t old, word_t neu, const params&)
//       a same-size rewrite of a valid leaf that needs break-before-make
//       whatever the FEAT_BBM level (memory type, shareability, ...)
//   word_t nt_bit(const params&)       the nT bit (level 1)
// A format without them changes every live descriptor in one step (the
// defaults, in core/format_traits.hpp).
#pragma once

#include <cstdint>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/types.hpp"
#include "genpt/flush/gather.hpp"

namespace genpt::detail {

/// How a valid entry is replaced by one of another size.
enum class live_rule : std::uint8_t {
  one_step,  ///< one store / compare-exchange (x86-64, AMDv1, ARMv8 FEAT_BBM level 2)
  bbm,       ///< invalid, invalidate that range and wait, then the new items
  nt,        ///< old block marked nT, invalidate its range and wait, then the new items (FEAT_BBM level 1)
};

/// The rule for a live size change under the table's FEAT_BBM level
/// (format_traits::bbm_level).
template <class Format>
constexpr live_rule size_change_rule(const typename Format::params& p) noexcept {
  const unsigned l = format_traits<Format>::bbm_level(p);
  return l == 0 ? live_rule::bbm : l == 1 ? live_rule::nt : live_rule::one_step;
}

/// The facade's invalidate-now call, type-erased for the walks: the flush
/// policy's flush_now(iotlb_flush), which returns once the hardware no
/// longer holds anything for the range. Concurrency: as the policy's
/// flush_now.
struct live_flush {
  live_rule rule = live_rule::one_step;
  void* ctx = nullptr;
  void (*fn)(void*, const iotlb_flush&) noexcept = nullptr;

  /// Invalidates [va, last] now (leaf entries at the levels of
  /// leaf_levels, walk caches too when table_levels is set). The caller
  /// has cleaned every line it wrote.
  void now(va_t va, va_t last, std::uint8_t leaf_levels, std::uint8_t table_levels) const noexcept {
    if (!fn) return;
    // No fence here: the invalid items must reach the walker before the
    // invalidation starts, which a CPU fence cannot promise a device; the
    // sink's submit does it (DSB ISHST before TLBI, the write barrier
    // before an IOMMU queue's tail write), as it does for every flush.
    fn(ctx, iotlb_flush{va, last, leaf_levels, table_levels, table_levels != 0, false});
  }
};

/// Replaces one item and returns what it held (the last value hardware
/// A/D updates left). Relaxed: the caller's range lock makes it the only
/// software writer; the value alone is the message, as cas_item_relaxed.
template <class Word>
inline Word exchange_item(Word* p, Word v) noexcept {
  return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}

/// Sets `bits` in one item and returns what it held. Relaxed: as
/// exchange_item.
template <class Word>
inline Word or_item_relaxed(Word* p, Word bits) noexcept {
  return __atomic_fetch_or(p, bits, __ATOMIC_RELAXED);
}

/// Clears `bits` in one item, keeping what hardware set meanwhile.
/// Relaxed: as exchange_item.
template <class Word>
inline void and_not_item(Word* p, Word bits) noexcept {
  __atomic_fetch_and(p, ~bits, __ATOMIC_RELAXED);
}

}  // namespace genpt::detail
