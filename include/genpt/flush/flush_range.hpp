// genpt/flush/flush_range.hpp - IOTLB flush policies and sinks.
//
// A flush policy decides how a gather becomes invalidation calls on the
// user's sink: `flush(const iotlb_flush&) noexcept`. flush_range keeps one
// growing range per gather: the fewest flush calls, gaps may be
// over-invalidated (upstream PT_FEAT_FLUSH_RANGE).
#pragma once

#include <utility>

#include "genpt/core/concepts.hpp"
#include "genpt/flush/gather.hpp"

namespace genpt {

/// Sink for tables no hardware walks (tests, images, tables not yet live).
struct no_iotlb {
  void flush(const iotlb_flush&) noexcept {}
};

/// One covering range per gather. The sink is called once per sync with a
/// non-empty range. Concurrency: the sink is called from whichever thread
/// syncs; it must be thread-safe if syncs run concurrently.
template <iotlb_sink Sink = no_iotlb>
class flush_range {
 public:
  flush_range() = default;
  explicit flush_range(Sink s) noexcept(std::is_nothrow_move_constructible_v<Sink>)
      : sink_(std::move(s)) {}

  /// Never: any range may join the pending one.
  bool must_flush_before(const gather&, va_t, va_t) const noexcept { return false; }
  /// One sink call covering everything gathered.
  void flush(const gather& g) noexcept {
    if (!g.empty()) sink_.flush(g.request());
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

}  // namespace genpt
