// genpt/flush/gather.hpp - what operations changed, pending invalidation.
//
// unmap, map's replacement of an empty subtree by a leaf, map's rollback,
// dirty harvesting, cut and protect report into a gather: the
// va range changed, which levels lost leaves and which lost table
// pointers, and the tables that became unreachable. page_table::sync(gather&)
// hands it to the flush policy, then releases the tables through the
// allocator - never before the hardware can no longer walk them.
//
// The range is always the range actually changed: an unmap that ends inside
// a large entry removes it whole and gathers all of it, so every removed
// leaf and every unlinked table's span lies wholly inside [va(), last()].
//
// Queued mode (DMA flush queues): the caller will invalidate everything
// later. A queued gather accumulates no range (cheap, and a no-gaps policy
// never syncs it early) but still collects levels and freed tables. Its
// sync() asks the policy for one flush of everything (the sink's
// flush_all() when it has one, else a flush of the whole va space with
// iotlb_flush::all set) and only then frees the tables. Keep one queued
// gather per flush queue and sync it when the queue drains: one flush-all
// for the whole batch, and no table is freed before it.
#pragma once

#include <cstdint>

#include "genpt/core/assert.hpp"
#include "genpt/core/table_list.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

/// One invalidation request, as a flush policy hands it to the user's sink.
/// Whatever hardware caches for a va in [va, last] at a level flagged here
/// must be dropped; everything else may stay.
struct iotlb_flush {
  va_t va = 0;                    ///< first va to invalidate
  va_t last = 0;                  ///< last va to invalidate (inclusive)
  std::uint8_t leaf_levels = 0;   ///< bit L: a leaf at level L was removed or changed
  std::uint8_t table_levels = 0;  ///< bit L: a table pointer item at level L was removed
  bool tables_freed = false;      ///< walk caches must be invalidated too
  bool all = false;               ///< flush everything (queued gather); va/last span all of va
};

/// Tag selecting a queued gather: gather g{queued};
struct queued_t {
  explicit constexpr queued_t() = default;
};
inline constexpr queued_t queued{};

/// Pending invalidation state of one or more operations.
/// Concurrency: one gather belongs to one thread at a time; the page_table
/// operations that take one never share it.
class gather {
 public:
  gather() noexcept = default;
  /// A queued gather: no range is kept; sync() flushes everything.
  explicit gather(queued_t) noexcept : queued_(true) {}
  gather(const gather&) = delete;
  gather& operator=(const gather&) = delete;
  /// A gather must be synced before it dies (its freed tables would leak).
  ~gather() { GENPT_ASSERT(freed_.empty(), "gather destroyed with tables not synced"); }

  /// True when nothing is pending (no change since the last sync).
  bool empty() const noexcept { return !pending_; }
  /// True for a gather built with `queued`.
  bool queued() const noexcept { return queued_; }
  /// The pending range (meaningless when empty() or queued()).
  va_t va() const noexcept { return va_; }
  va_t last() const noexcept { return last_; }
  std::uint8_t leaf_levels() const noexcept { return leaf_levels_; }
  std::uint8_t table_levels() const noexcept { return table_levels_; }
  bool tables_freed() const noexcept { return !freed_.empty(); }
  /// Tables to release after the flush.
  table_list& freed() noexcept { return freed_; }
  const table_list& freed() const noexcept { return freed_; }

  /// True when a range is pending and [va, last] neither overlaps nor
  /// touches it (never for a queued gather: it keeps no range).
  bool is_disjoint(va_t va, va_t last) const noexcept {
    if (!pending_ || queued_) return false;
    return (last < va_ && last + 1 != va_) || (va > last_ && va != last_ + 1);
  }
  /// Widens the pending range to cover [va, last]; a queued gather only
  /// notes that something changed.
  void add_range(va_t va, va_t last) noexcept {
    if (queued_) {
      pending_ = true;
      return;
    }
    if (!pending_) {
      va_ = va;
      last_ = last;
      pending_ = true;
      return;
    }
    if (va < va_) va_ = va;
    if (last > last_) last_ = last;
  }
  void add_leaf_level(unsigned level) noexcept { leaf_levels_ |= static_cast<std::uint8_t>(1u << level); }
  void add_table_level(unsigned level) noexcept { table_levels_ |= static_cast<std::uint8_t>(1u << level); }
  /// ORs whole level bitmaps in (one operation's removals).
  void add_levels(std::uint8_t leaf, std::uint8_t table) noexcept {
    leaf_levels_ |= leaf;
    table_levels_ |= table;
  }

  /// The invalidation this gather asks for: the pending range, or for a
  /// queued gather everything (`all`, [0, 2^64 - 1]).
  iotlb_flush request() const noexcept {
    if (queued_) return {0, ~va_t{0}, leaf_levels_, table_levels_, !freed_.empty(), true};
    return {va_, last_, leaf_levels_, table_levels_, !freed_.empty(), false};
  }
  /// Forgets the range and levels (the freed list is left to the caller).
  /// A queued gather stays queued.
  void clear_range() noexcept {
    pending_ = false;
    va_ = last_ = 0;
    leaf_levels_ = table_levels_ = 0;
  }

 private:
  va_t va_ = 0;
  va_t last_ = 0;
  std::uint8_t leaf_levels_ = 0;
  std::uint8_t table_levels_ = 0;
  bool pending_ = false;
  bool queued_ = false;
  table_list freed_;
};

}  // namespace genpt
