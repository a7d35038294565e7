// genpt/flush/flush_range.hpp - IOTLB flush policies and sinks.
//
// A flush policy decides how gathered changes become invalidation calls on
// the user's sink, `void flush(const iotlb_flush&) noexcept` (optionally
// `void flush_all() noexcept` and `change_top(oa_t, unsigned) noexcept`):
//
//  * flush_range          one growing range per gather: the fewest flush
//                         calls; va between two changed ranges that did not
//                         change may be invalidated too (upstream
//                         PT_FEAT_FLUSH_RANGE). For IOMMUs whose invalidation
//                         cost is per command: AMD, VT-d, SMMUv3 on bare metal.
//  * flush_range_no_gaps  before a range that neither overlaps nor touches the
//                         pending one joins the gather, the pending one is
//                         synced (flushed, its tables freed): every flushed
//                         range holds only changed va (upstream
//                         PT_FEAT_FLUSH_RANGE_NO_GAPS). For shadowing
//                         hypervisors, which rebuild their shadow of every
//                         invalidated va: an IOMMU emulated for a guest
//                         (AMD with the NpCache capability, VT-d with
//                         caching mode).
//  * flush_none           no hardware walks the table (yet): nothing to
//                         invalidate; sync still frees the gathered tables.
//
// Every policy also has flush_now(const iotlb_flush&): invalidate exactly
// that range and return only once the hardware holds nothing of it (the
// break of a break-before-make, core/bbm.hpp). The range policies call the
// sink's flush_now when it has one (the command-builder sinks of
// commands.hpp: the commands, then a completion wait), else its flush,
// which must then be synchronous.
//
// page_table::sync(g) calls the policy's flush(g) when the gather is not
// empty, then frees the gathered tables through the allocator. A queued
// gather (gather.hpp) becomes one flush of everything: the sink's
// flush_all() when it has one, else flush() with iotlb_flush::all set.
#pragma once

#include <type_traits>
#include <utility>

#include "genpt/core/concepts.hpp"
#include "genpt/flush/gather.hpp"

namespace genpt {

/// Sink for tables no hardware walks (tests, images, tables not yet live).
struct no_iotlb {
  void flush(const iotlb_flush&) noexcept {}
};

namespace detail {

/// What range policies share: the sink, its optional hooks, and turning a
/// gather into one sink call.
template <class Sink>
class range_policy_base {
 public:
  range_policy_base() = default;
  explicit range_policy_base(Sink s) noexcept(std::is_nothrow_move_constructible_v<Sink>)
      : sink_(std::move(s)) {}

  /// One sink call covering everything gathered (nothing when empty); a
  /// queued gather becomes the sink's flush_all() when it has one.
  void flush(const gather& g) noexcept {
    if (g.empty()) return;
    if constexpr (requires(Sink& s) { s.flush_all(); }) {
      if (g.queued()) {
        sink_.flush_all();
        return;
      }
    }
    sink_.flush(g.request());
  }

  /// Invalidates exactly f's range now and waits for it: the sink's
  /// flush_now(f) when it has one, else its flush(f) (which must then
  /// return only once the invalidation completed).
  void flush_now(const iotlb_flush& f) noexcept {
    if constexpr (requires(Sink& s) { s.flush_now(f); })
      sink_.flush_now(f);
    else
      sink_.flush(f);
  }

  /// Forwards a growable top's new root to the sink, when it takes one.
  void change_top(oa_t root, unsigned top_level) noexcept
    requires requires(Sink& s) { s.change_top(root, top_level); }
  {
    sink_.change_top(root, top_level);
  }

  Sink& sink() noexcept { return sink_; }
  const Sink& sink() const noexcept { return sink_; }

 private:
  [[no_unique_address]] Sink sink_{};
};

}  // namespace detail

/// One covering range per gather: one sink call per sync of a non-empty
/// gather, never a call between syncs. Over-invalidates the gaps between
/// disjoint changes. Concurrency: the sink is called from whichever thread
/// syncs; it must be thread-safe if several threads sync at once.
template <iotlb_sink Sink = no_iotlb>
class flush_range : public detail::range_policy_base<Sink> {
 public:
  using detail::range_policy_base<Sink>::range_policy_base;

  /// Never: any range may join the pending one.
  bool must_flush_before(const gather&, va_t, va_t) const noexcept { return false; }
};

/// Only changed va is ever invalidated: a range that neither overlaps nor
/// touches the pending one makes the facade sync the pending one first
/// (flush, then free its tables), so the sink may be called during an
/// operation that takes a gather, once per disjoint range. Overlapping and
/// adjacent ranges merge. Concurrency: as flush_range.
template <iotlb_sink Sink = no_iotlb>
class flush_range_no_gaps : public detail::range_policy_base<Sink> {
 public:
  using detail::range_policy_base<Sink>::range_policy_base;

  /// True when [va, last] is disjoint from, and not adjacent to, the
  /// pending range (never for a queued or empty gather).
  bool must_flush_before(const gather& g, va_t va, va_t last) const noexcept {
    return g.is_disjoint(va, last);
  }
};

/// No invalidation at all, for tables no hardware walks yet (built before
/// the device is attached, golden images, emulators that read memory
/// directly). sync() still frees the gathered tables.
/// Concurrency: stateless.
struct flush_none {
  bool must_flush_before(const gather&, va_t, va_t) const noexcept { return false; }
  void flush(const gather&) noexcept {}
  /// Nothing caches the table: nothing to wait for.
  void flush_now(const iotlb_flush&) noexcept {}
};

}  // namespace genpt
