// tests/support/low_oa_levels.hpp - heap tables with output addresses
// packed below 2^32, for configurations whose oa_lg2 is narrower than the
// host's addresses.
//
// genpt refuses (no_memory) a table the hardware could not reach, i.e. any
// table byte at or above 2^oa_lg2 (issue 10, defect 4). heap_levels' oa is
// the host address (~2^46 on x86-64 Linux), so a 40-bit-OA configuration
// cannot use it. low_oa_levels takes its tables from heap_levels and gives
// every 1 MiB host region that holds tables a slot number s (1..4095): a
// table at offset o of that region has oa s * 1 MiB + o. A table is aligned
// to its size (at most 1 MiB, an ARMv8 64K stage 2 top of 16 concatenated
// tables) in its region, so it is in its oa too, and every oa lies below
// 2^32, the smallest OA size any format offers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/spin_lock.hpp"
#include "genpt/core/table_list.hpp"

namespace genpt::test {

/// Level allocator: heap_levels tables at output addresses below 2^32.
/// Errors: allocate() returns {nullptr, 0} when the heap is exhausted or
/// when tables already span 4095 host regions (4 GiB).
/// Concurrency: every member is thread-safe (allocate takes one short
/// lock; phys_to_virt, link_of and free take none beyond heap_levels').
class low_oa_levels {
  static constexpr unsigned region_lg2 = 20;  ///< at least the largest table
  static constexpr std::size_t max_slots = 4096;
  static constexpr std::uintptr_t region_mask = (std::uintptr_t{1} << region_lg2) - 1;

  struct state {
    detail::spin_lock lock;
    /// Host region base of each slot (0: unused; slot 0 is never used, so
    /// no table has oa 0).
    std::atomic<std::uintptr_t> region[max_slots] = {};
    std::size_t used = 1;  ///< slots handed out (guarded by lock)
  };

 public:
  /// Counts into `stats` (through heap_levels) when given.
  explicit low_oa_levels(level_stats* stats = nullptr)
      : inner_(stats), s_(std::make_unique<state>()) {}

  table_alloc allocate(unsigned size_lg2) noexcept {
    const table_alloc t = inner_.allocate(size_lg2);
    if (!t.table) return t;
    const std::uintptr_t host = reinterpret_cast<std::uintptr_t>(t.table);
    const std::uintptr_t base = host & ~region_mask;
    std::size_t slot = 0;
    {
      detail::lock_guard g(s_->lock);
      for (std::size_t i = 1; i < s_->used; ++i) {
        // Relaxed: slots are written only under the lock we hold.
        if (s_->region[i].load(std::memory_order_relaxed) == base) {
          slot = i;
          break;
        }
      }
      if (slot == 0 && s_->used < max_slots) {
        slot = s_->used++;
        // Relaxed: a reader learns this oa only through a table item that
        // genpt publishes with release (or the top, ditto) after this
        // allocate() returns; that ordering carries this store along.
        s_->region[slot].store(base, std::memory_order_relaxed);
      }
    }
    if (slot == 0) {  // out of slots: give the table back
      table_list l;
      l.push_back(inner_.link_of(t.table, size_lg2));
      inner_.free(l);
      return {};
    }
    return {t.table, (oa_t{slot} << region_lg2) | (host & region_mask)};
  }

  void* phys_to_virt(oa_t oa) const noexcept {
    // Relaxed: see allocate(); the slot was filled before its oa existed.
    const std::uintptr_t base = s_->region[oa >> region_lg2].load(std::memory_order_relaxed);
    // The host address allocate() turned into this oa.
    return reinterpret_cast<void*>(base | (static_cast<std::uintptr_t>(oa) & region_mask));
  }
  table_link& link_of(void* table, unsigned size_lg2) noexcept { return inner_.link_of(table, size_lg2); }
  void free(table_list& list) noexcept { inner_.free(list); }

 private:
  heap_levels inner_;
  std::unique_ptr<state> s_;
};

}  // namespace genpt::test
