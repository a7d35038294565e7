// genpt/alloc/heap_levels.hpp - the default level allocator: the C++ heap.
//
// Tables are host memory, so a table's output address is its host address
// (oa == va). Page-sized tables (4 KiB, the common case) are carved from
// 256 KiB slabs: slab page 0 holds the per-table metadata (links and a free
// mask), pages 1..63 are tables, so the table bytes hold hardware bits only
// and a table finds its metadata by masking its address. One slab
// allocation serves 63 tables: building a large table costs little more
// than touching its memory. Other sizes (32 B .. 1 MiB, the largest ARMv8
// stage 2 concatenated top) come one by one from aligned operator new,
// with the link right after the table.
// Counts live tables and bytes in a level_stats the caller may share (to
// check for leaks after the page_table is gone).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "genpt/alloc/level_meta.hpp"
#include "genpt/alloc/spin_lock.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/core/table_list.hpp"

// Under AddressSanitizer a free slab page is poisoned, so a walk that reads
// a table after it was freed is reported even though the page stays in its
// slab (as with the per-table heap blocks, which ASan tracks itself).
#if defined(__SANITIZE_ADDRESS__)
#define GENPT_HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GENPT_HEAP_ASAN 1
#endif
#endif
#ifdef GENPT_HEAP_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace genpt {

/// Heap-backed level allocator (oa = host address).
/// Errors: allocate() returns {nullptr, 0} when the heap is exhausted.
/// Concurrency: every member is thread-safe (slab bookkeeping takes one
/// short lock; phys_to_virt and link_of take none).
class heap_levels {
  static constexpr unsigned slab_lg2 = 18;  ///< 256 KiB: 64 pages
  static constexpr unsigned page_lg2 = 12;
  static constexpr unsigned slab_pages = 1u << (slab_lg2 - page_lg2);

  /// Slab page 0: metadata of the 63 table pages that follow.
  struct slab {
    table_link links[slab_pages];  ///< links[i] describes page i (i >= 1)
    std::uint64_t free_mask = 0;   ///< bit i set: page i is free
    slab* next = nullptr;          ///< slabs with free pages, doubly linked
    slab* prev = nullptr;
  };
  static_assert(sizeof(slab) <= (std::size_t{1} << page_lg2), "genpt: slab header exceeds a page");
  static constexpr std::uint64_t all_free = ~std::uint64_t{1};  // pages 1..63
  static constexpr std::size_t max_empty_slabs = 8;

 public:
  heap_levels() noexcept = default;
  /// Counts into `stats` (which must outlive every table this allocator made).
  explicit heap_levels(level_stats* stats) noexcept : stats_(stats) {}
  /// Moves take the slabs along (the lock is not moved: a move happens
  /// before the allocator is shared between threads).
  heap_levels(heap_levels&& o) noexcept
      : stats_(o.stats_),
        partial_(std::exchange(o.partial_, nullptr)),
        empty_slabs_(std::exchange(o.empty_slabs_, 0)) {}
  heap_levels& operator=(heap_levels&& o) noexcept {
    if (this != &o) {
      release();
      stats_ = o.stats_;
      partial_ = std::exchange(o.partial_, nullptr);
      empty_slabs_ = std::exchange(o.empty_slabs_, 0);
    }
    return *this;
  }
  heap_levels(const heap_levels&) = delete;
  heap_levels& operator=(const heap_levels&) = delete;
  /// Returns the slabs; every table must have been freed before.
  ~heap_levels() { release(); }

  table_alloc allocate(unsigned size_lg2) noexcept {
    void* p = size_lg2 == page_lg2 ? allocate_page() : allocate_block(size_lg2);
    if (!p) return {};
    __builtin_memset(p, 0, std::size_t{1} << size_lg2);  // no <cstring>: builds freestanding
    count(1, std::int64_t{1} << size_lg2);
    // The host address is the output address for heap tables.
    return {p, reinterpret_cast<oa_t>(p)};
  }

  void* phys_to_virt(oa_t oa) const noexcept {
    // oa was produced from a host pointer in allocate().
    return reinterpret_cast<void*>(oa);
  }
  /// phys_to_virt(oa) is the address oa itself (core/walk.hpp linear_allocator).
  std::uintptr_t linear_offset() const noexcept { return 0; }

  table_link& link_of(void* table, unsigned size_lg2) noexcept {
    if (size_lg2 == page_lg2) return slab_of(table)->links[page_index(table)];
    // allocate_block() placed the link at table + size; the object lives there.
    return *std::launder(reinterpret_cast<table_link*>(static_cast<char*>(table) +
                                                       (std::size_t{1} << size_lg2)));
  }

  void free(table_list& list) noexcept {
    while (table_link* l = list.pop_front()) {
      const unsigned lg2 = l->size_lg2;
      if (lg2 == page_lg2)
        free_page(l->table);
      else
        free_block(l);
      count(-1, -(std::int64_t{1} << lg2));
    }
  }

  level_stats* stats() const noexcept { return stats_; }

 private:
  static slab* slab_of(const void* table) noexcept {
    // Slabs are aligned to their size: masking a table address finds page 0.
    return reinterpret_cast<slab*>(reinterpret_cast<std::uintptr_t>(table) &
                                   ~((std::uintptr_t{1} << slab_lg2) - 1));
  }
  static void poison(void* p, std::size_t n) noexcept {
#ifdef GENPT_HEAP_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#else
    (void)p, (void)n;
#endif
  }
  static void unpoison(void* p, std::size_t n) noexcept {
#ifdef GENPT_HEAP_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
    (void)p, (void)n;
#endif
  }

  static unsigned page_index(const void* table) noexcept {
    return static_cast<unsigned>((reinterpret_cast<std::uintptr_t>(table) >> page_lg2) &
                                 (slab_pages - 1));
  }

  void* allocate_page() noexcept {
    detail::lock_guard g(lock_);
    slab* sl = partial_;
    if (!sl) {
      void* mem = ::operator new(std::size_t{1} << slab_lg2, std::align_val_t{std::size_t{1} << slab_lg2},
                                 std::nothrow);
      if (!mem) return nullptr;
      sl = ::new (mem) slab{};
      sl->free_mask = all_free;
      poison(static_cast<char*>(mem) + (std::size_t{1} << page_lg2),
             (std::size_t{slab_pages} - 1) << page_lg2);
      push(sl);
      ++empty_slabs_;
    }
    if (sl->free_mask == all_free) --empty_slabs_;
    const unsigned i = ffs64(sl->free_mask);
    sl->free_mask &= ~(std::uint64_t{1} << i);
    if (!sl->free_mask) unlink(sl);
    void* table = reinterpret_cast<char*>(sl) + (std::size_t{i} << page_lg2);
    unpoison(table, std::size_t{1} << page_lg2);
    table_link& l = sl->links[i];
    l = table_link{};
    l.table = table;
    l.size_lg2 = static_cast<std::uint8_t>(page_lg2);
    return table;
  }

  void free_page(void* table) noexcept {
    slab* sl = slab_of(table);
    const unsigned i = page_index(table);
    poison(table, std::size_t{1} << page_lg2);
    detail::lock_guard g(lock_);
    if (!sl->free_mask) push(sl);
    sl->free_mask |= std::uint64_t{1} << i;
    if (sl->free_mask != all_free) return;
    // Keep a few empty slabs (2 MiB) for the next tables; return the rest.
    if (empty_slabs_ >= max_empty_slabs) {
      unlink(sl);
      sl->~slab();
      unpoison(sl, std::size_t{1} << slab_lg2);
      ::operator delete(sl, std::align_val_t{std::size_t{1} << slab_lg2});
    } else {
      ++empty_slabs_;
    }
  }

  void push(slab* sl) noexcept {
    sl->prev = nullptr;
    sl->next = partial_;
    if (partial_) partial_->prev = sl;
    partial_ = sl;
  }
  void unlink(slab* sl) noexcept {
    if (sl->prev)
      sl->prev->next = sl->next;
    else
      partial_ = sl->next;
    if (sl->next) sl->next->prev = sl->prev;
    sl->next = sl->prev = nullptr;
  }

  static std::size_t block_align(std::size_t size) noexcept {
    return size < alignof(table_link) ? alignof(table_link) : size;
  }
  static void* allocate_block(unsigned size_lg2) noexcept {
    const std::size_t size = std::size_t{1} << size_lg2;
    void* p = ::operator new(size + sizeof(table_link), std::align_val_t{block_align(size)},
                             std::nothrow);
    if (!p) return nullptr;
    // The link sits right after the table: size is a multiple of
    // alignof(table_link) (>= 32 bytes), so it is suitably aligned.
    auto* link = ::new (static_cast<char*>(p) + size) table_link{};
    link->table = p;
    link->size_lg2 = static_cast<std::uint8_t>(size_lg2);
    return p;
  }
  static void free_block(table_link* l) noexcept {
    const std::size_t size = std::size_t{1} << l->size_lg2;
    void* p = l->table;
    l->~table_link();
    ::operator delete(p, std::align_val_t{block_align(size)});
  }

  /// Returns every slab (all empty by contract) and the state.
  void release() noexcept {
    while (slab* sl = partial_) {
      GENPT_ASSERT(sl->free_mask == all_free, "heap_levels destroyed with live tables");
      unlink(sl);
      sl->~slab();
      unpoison(sl, std::size_t{1} << slab_lg2);
      ::operator delete(sl, std::align_val_t{std::size_t{1} << slab_lg2});
    }
    empty_slabs_ = 0;
  }

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
  detail::spin_lock lock_;      ///< guards the slab list and free masks
  slab* partial_ = nullptr;     ///< slabs with at least one free page
  std::size_t empty_slabs_ = 0;  ///< slabs on partial_ with every page free
};

static_assert(check_level_allocator<heap_levels>());

}  // namespace genpt
