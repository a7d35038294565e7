// genpt/alloc/heap_levels.hpp - the default level allocator: the C++ heap.
//
// Tables come from aligned operator new, so a table's output address is its
// host address (oa == va). Each block is the table followed by its
// table_link; the table bytes hold hardware bits only. Counts live tables
// and bytes in a level_stats the caller may share (to check for leaks after
// the page_table is gone).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "genpt/alloc/level_meta.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/core/table_list.hpp"

namespace genpt {

/// Heap-backed level allocator (oa = host address).
/// Errors: allocate() returns {nullptr, 0} when the heap is exhausted.
/// Concurrency: every member is thread-safe.
class heap_levels {
 public:
  heap_levels() noexcept = default;
  /// Counts into `stats` (which must outlive every table this allocator made).
  explicit heap_levels(level_stats* stats) noexcept : stats_(stats) {}

  table_alloc allocate(unsigned size_lg2) noexcept {
    const std::size_t size = std::size_t{1} << size_lg2;
    const std::size_t align = size < alignof(table_link) ? alignof(table_link) : size;
    void* p = ::operator new(size + sizeof(table_link), std::align_val_t{align}, std::nothrow);
    if (!p) return {};
    std::memset(p, 0, size);
    // The link sits right after the table: size is a multiple of
    // alignof(table_link) (>= 32 bytes), so it is suitably aligned.
    auto* link = ::new (static_cast<char*>(p) + size) table_link{};
    link->table = p;
    link->size_lg2 = static_cast<std::uint8_t>(size_lg2);
    count(1, static_cast<std::int64_t>(size));
    // The host address is the output address for heap tables.
    return {p, reinterpret_cast<oa_t>(p)};
  }

  void* phys_to_virt(oa_t oa) const noexcept {
    // oa was produced from a host pointer in allocate().
    return reinterpret_cast<void*>(oa);
  }

  table_link& link_of(void* table, unsigned size_lg2) noexcept {
    // allocate() placed the link at table + size; the object lives there.
    return *std::launder(reinterpret_cast<table_link*>(static_cast<char*>(table) +
                                                       (std::size_t{1} << size_lg2)));
  }

  void free(table_list& list) noexcept {
    while (table_link* l = list.pop_front()) {
      const std::size_t size = std::size_t{1} << l->size_lg2;
      const std::size_t align = size < alignof(table_link) ? alignof(table_link) : size;
      void* p = l->table;
      l->~table_link();
      ::operator delete(p, std::align_val_t{align});
      count(-1, -static_cast<std::int64_t>(size));
    }
  }

  level_stats* stats() const noexcept { return stats_; }

 private:
  void count(std::int64_t tables, std::int64_t bytes) noexcept {
    if (!stats_) return;
    stats_->live_tables.fetch_add(tables, std::memory_order_relaxed);
    stats_->live_bytes.fetch_add(bytes, std::memory_order_relaxed);
    stats_->meta_bytes.fetch_add(tables * std::int64_t{sizeof(table_link)}, std::memory_order_relaxed);
    if (tables > 0)
      stats_->allocations.fetch_add(1, std::memory_order_relaxed);
    else
      stats_->frees.fetch_add(1, std::memory_order_relaxed);
  }
  level_stats* stats_ = nullptr;
};

static_assert(check_level_allocator<heap_levels>());

}  // namespace genpt
