// genpt/alloc/level_meta.hpp - what genpt's level allocators share: live-table
// accounting, the per-table metadata record, its flags, and a small lock.
//
// Table memory holds hardware bits only. Everything an allocator knows
// about a table (its list link, size, owner, coherence state) lives in a
// table_meta outside that memory, found from the table's address in O(1)
// by the allocator that made it.
//
// Freestanding-friendly: only <atomic> and <cstdint> (heap_levels, the
// default allocator, includes this header).
#pragma once

#include <atomic>
#include <cstdint>

#include "genpt/core/table_list.hpp"

namespace genpt {

/// Live-table accounting shared between an allocator and its observer.
/// Counters are relaxed atomics: they order nothing, they only count.
struct level_stats {
  std::atomic<std::int64_t> live_tables{0};  ///< tables allocated and not yet freed
  std::atomic<std::int64_t> live_bytes{0};   ///< their table bytes
  std::atomic<std::int64_t> allocations{0};  ///< successful allocations, ever
  std::atomic<std::int64_t> frees{0};        ///< tables freed, ever
  std::atomic<std::int64_t> meta_bytes{0};   ///< metadata bytes the live tables cost (outside table memory)
  std::atomic<std::int64_t> pending_tables{0};  ///< retired by deferred_free, not yet released
};

/// Bits of table_link::flags used by genpt's allocator wrappers.
namespace table_flags {
/// incoherent<>: the table was cleaned for a non-snooping walker
/// ("start_incoherent" done); it is "stopped" before it is freed.
inline constexpr std::uint8_t incoherent = 1u << 0;
/// incoherent<>: the table is still being cleaned by the thread that made it.
inline constexpr std::uint8_t still_flushing = 1u << 1;
}  // namespace table_flags

/// Per-table metadata of the chunked allocators (arena_levels): the list
/// link genpt threads (table, size_lg2, flags inside) plus the allocator
/// that owns the table. `link` is the first member of a standard-layout
/// struct, so a table_link& handed out by link_of() converts back to its
/// table_meta (meta_of).
struct table_meta {
  table_link link;
  const void* owner = nullptr;  ///< the allocator state that made the table
};
static_assert(sizeof(table_meta) <= 32, "genpt: table_meta grew past 32 bytes");

/// The table_meta a link belongs to (the link must come from a table_meta).
inline table_meta& meta_of(table_link& l) noexcept {
  // table_meta is standard-layout with `link` first: the two are
  // pointer-interconvertible, so this cast yields the enclosing object.
  return *reinterpret_cast<table_meta*>(&l);
}

namespace detail {

/// Adds to a stats counter when there is a stats block (relaxed: counting only).
inline void count(level_stats* s, std::atomic<std::int64_t> level_stats::*field,
                  std::int64_t delta) noexcept {
  if (s) (s->*field).fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace genpt
