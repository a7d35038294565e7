// genpt/flush/gather.hpp - what an operation changed, pending invalidation.
//
// unmap, map's replacement of an empty subtree by a leaf (and later dirty
// harvesting, cut and protect) report into a gather: the va range changed,
// which levels lost leaves and which lost table pointers, and the tables
// that became unreachable. page_table::sync(gather&) hands it to the flush
// policy, then releases the tables through the allocator - never before the
// hardware can no longer walk them.
#pragma once

#include <cstdint>

#include "genpt/core/assert.hpp"
#include "genpt/core/table_list.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

/// One invalidation request, as a flush policy hands it to the user's sink.
struct iotlb_flush {
  va_t va = 0;                    ///< first va to invalidate
  va_t last = 0;                  ///< last va to invalidate (inclusive)
  std::uint8_t leaf_levels = 0;   ///< bit L: a leaf at level L was removed or changed
  std::uint8_t table_levels = 0;  ///< bit L: a table pointer at level L was removed
  bool tables_freed = false;      ///< walk caches must be invalidated too
};

/// Pending invalidation state of one or more operations.
/// Concurrency: one gather belongs to one thread at a time.
class gather {
 public:
  gather() noexcept = default;
  gather(const gather&) = delete;
  gather& operator=(const gather&) = delete;
  /// A gather must be synced before it dies (its freed tables would leak).
  ~gather() { GENPT_ASSERT(freed_.empty(), "gather destroyed with tables not synced"); }

  /// True when no range is pending.
  bool empty() const noexcept { return !has_range_; }
  va_t va() const noexcept { return va_; }
  va_t last() const noexcept { return last_; }
  std::uint8_t leaf_levels() const noexcept { return leaf_levels_; }
  std::uint8_t table_levels() const noexcept { return table_levels_; }
  bool tables_freed() const noexcept { return !freed_.empty(); }
  /// Tables to release after the flush.
  table_list& freed() noexcept { return freed_; }
  const table_list& freed() const noexcept { return freed_; }

  /// True when [va, last] neither overlaps nor touches the pending range.
  bool is_disjoint(va_t va, va_t last) const noexcept {
    if (!has_range_) return false;
    return (last < va_ && last + 1 != va_) || (va > last_ && va != last_ + 1);
  }
  /// Widens the pending range to cover [va, last].
  void add_range(va_t va, va_t last) noexcept {
    if (!has_range_) {
      va_ = va;
      last_ = last;
      has_range_ = true;
      return;
    }
    if (va < va_) va_ = va;
    if (last > last_) last_ = last;
  }
  void add_leaf_level(unsigned level) noexcept { leaf_levels_ |= static_cast<std::uint8_t>(1u << level); }
  void add_table_level(unsigned level) noexcept { table_levels_ |= static_cast<std::uint8_t>(1u << level); }

  /// The invalidation this gather asks for.
  iotlb_flush request() const noexcept {
    return {va_, last_, leaf_levels_, table_levels_, !freed_.empty()};
  }
  /// Forgets the range and levels (the freed list is left to the caller).
  void clear_range() noexcept {
    has_range_ = false;
    va_ = last_ = 0;
    leaf_levels_ = table_levels_ = 0;
  }

 private:
  va_t va_ = 0;
  va_t last_ = 0;
  std::uint8_t leaf_levels_ = 0;
  std::uint8_t table_levels_ = 0;
  bool has_range_ = false;
  table_list freed_;
};

}  // namespace genpt
