// genpt/alloc/arena_levels.hpp - table levels carved from caller-given memory.
//
// arena_levels places every table inside one block of memory the caller
// owns, at a caller-chosen output address: the table at byte `offset` of
// the block has oa = base_oa + offset. This is what an emulator, a device
// model or a test bench needs: the guest-physical (or simulated) layout is
// under the caller's control, and placement is deterministic - the same
// sequence of operations gives byte-identical memory, which image() exports
// (bytes, base oa, root) for golden files.
//
// Layout. The block is cut into 4 KiB pages. Tables come from the low end:
// a table of 4 KiB or more takes an aligned run of whole pages (lowest
// address first), up to 1 MiB (an ARMv8 64K-granule stage 2 top of 16
// concatenated tables). Tables of 32 bytes to 2 KiB are sub-page tables: a
// page is given to one size class and holds 4096 / size of them, so an
// ARMv8 top of a few items costs its own size, not a page. Every table is
// aligned to its size in both address spaces (given that the block and
// base_oa are aligned to the largest size used).
//
// Metadata. Nothing is stored in table memory, and nothing comes from a
// heap: the arena keeps its bookkeeping at the high end of the caller's
// block, so it needs no operator new and links into freestanding kernels.
// The last whole pages of the block hold, fixed at construction, the
// arena's state, one page_meta per table page (48 bytes: the page's class,
// its free slots and, for a whole-page table, that table's table_meta) and
// the free-page bitmap: 48 bytes and one bit per 4 KiB page, about 1.2% of
// the block. A sub-page page also needs an array of one 32-byte table_meta
// per slot; those arrays are carved from "slot-array pages" taken from the
// highest free page when a class first needs one, and are kept for reuse
// by their class (never handed out as tables). Tables still start at offset
// 0 and fill upwards, so image() never shows metadata unless the tables
// have reached a slot-array page (an arena filled to its last pages).
// link_of(table) is an index computation: O(1), no search. Freeing a list
// walks the links only; it never allocates. A table costs at most 48 bytes
// of metadata (whole pages) or 32 bytes plus its share of one page_meta
// (sub-page). A block too small for its own bookkeeping gives an arena
// whose allocate() always fails.
//
// Freed tables are zeroed at once (so allocate() hands out memory that is
// already zero, and an exported image never shows stale items).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>  // placement new only (freestanding)
#include <utility>

#include "genpt/alloc/level_meta.hpp"
#include "genpt/alloc/spin_lock.hpp"
#include "genpt/core/assert.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/core/table_list.hpp"

namespace genpt {

/// A snapshot of an arena for golden files: the used prefix of the block,
/// the output address of its first byte, and the root table's oa.
struct arena_image {
  const std::byte* bytes = nullptr;
  std::size_t size = 0;  ///< bytes from the start of the block to the highest table page ever used
  oa_t base_oa = 0;      ///< output address of bytes[0]
  oa_t root = 0;         ///< output address of the top table (as given to image())
};

/// Level allocator over caller-given memory at a chosen base output address.
/// Errors: allocate() returns {nullptr, 0} when no suitably aligned free
/// space is left (slot-array pages included), when size_lg2 is above 20 or
/// above the alignment of the block or base_oa, or when the block was too
/// small to hold the arena's own bookkeeping.
/// Concurrency: every member is thread-safe (allocate/free take one short
/// lock; phys_to_virt and link_of take none).
/// The block must outlive the allocator; it is zeroed at construction (its
/// last pages then hold the bookkeeping).
class arena_levels {
 public:
  static constexpr unsigned page_lg2 = 12;
  static constexpr unsigned min_table_lg2 = 5;  ///< 32 bytes: an ARMv8 top of 4 items
  /// 1 MiB: the largest top any format asks for (ARMv8 64K granule, stage 2,
  /// 16 concatenated tables).
  static constexpr unsigned max_table_lg2 = 20;

  /// An arena with no memory: every allocate() fails.
  arena_levels() noexcept = default;

  /// Uses `bytes` bytes at `memory` (rounded down to whole pages) at output
  /// address `base_oa`: tables from the low end, the arena's bookkeeping in
  /// the last pages (see fixed_meta_bytes()). Both `memory` and `base_oa`
  /// must be 4 KiB aligned; tables above 4 KiB also need them aligned to
  /// their size. Counts into `stats` when given (it must outlive every
  /// table). A block too small for its bookkeeping gives an arena whose
  /// allocate() fails.
  arena_levels(void* memory, std::size_t bytes, oa_t base_oa, level_stats* stats = nullptr) noexcept
      : base_(static_cast<std::byte*>(memory)), base_oa_(base_oa) {
    const auto addr = reinterpret_cast<std::uintptr_t>(memory);  // alignment check only
    GENPT_ASSERT(((addr | base_oa) & ((std::uintptr_t{1} << page_lg2) - 1)) == 0,
                 "arena_levels: memory and base_oa must be 4 KiB aligned");
    std::size_t total = bytes >> page_lg2;
    if (total > max_pages) total = max_pages;
    // Pages for the bookkeeping of `total` table pages are enough for
    // fewer: n + fixed_pages(n) <= total.
    const std::size_t fixed = fixed_pages(total);
    if (total <= fixed) return;
    const auto n = static_cast<std::uint32_t>(total - fixed);
    std::byte* meta = base_ + (std::size_t{n} << page_lg2);
    // The bookkeeping lives in the caller's block: the region is page
    // aligned and every part starts at a multiple of its alignment
    // (pages_offset, bits_offset), so placement new starts each object there.
    s_ = ::new (meta) state{};
    s_->stats = stats;
    s_->n_pages = n;
    s_->fixed_pages = static_cast<std::uint32_t>(fixed);
    const std::uint64_t both = addr | base_oa;
    s_->align_lg2 = both ? static_cast<unsigned>(__builtin_ctzll(both)) : 64;
    s_->pages = ::new (meta + pages_offset) page_meta{};
    for (std::uint32_t i = 1; i < n; ++i) ::new (s_->pages + i) page_meta{};
    const std::size_t words = words_of(n);
    s_->free_bits = ::new (meta + bits_offset(n)) std::uint64_t{0};
    for (std::size_t w = 0; w < words; ++w) {
      const std::uint32_t left = n - static_cast<std::uint32_t>(w * 64);
      const std::uint64_t bits = left >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << left) - 1;
      ::new (s_->free_bits + w) std::uint64_t{bits};
    }
    __builtin_memset(memory, 0, std::size_t{n} << page_lg2);
  }

  arena_levels(arena_levels&& o) noexcept
      : base_(o.base_), base_oa_(o.base_oa_), s_(std::exchange(o.s_, nullptr)) {}
  arena_levels& operator=(arena_levels&& o) noexcept {
    if (this != &o) {
      release_state();
      base_ = o.base_;
      base_oa_ = o.base_oa_;
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  arena_levels(const arena_levels&) = delete;
  arena_levels& operator=(const arena_levels&) = delete;
  /// Forgets the bookkeeping (it lives in the block). Tables still
  /// allocated are simply forgotten (their memory belongs to the caller).
  ~arena_levels() { release_state(); }

  /// A zeroed table of 2^size_lg2 bytes (sizes below 32 are rounded up).
  table_alloc allocate(unsigned size_lg2) noexcept {
    if (size_lg2 < min_table_lg2) size_lg2 = min_table_lg2;
    if (!s_ || size_lg2 > max_table_lg2 || size_lg2 > s_->align_lg2) return {};
    detail::lock_guard g(s_->lock);
    const std::size_t off = size_lg2 >= page_lg2 ? alloc_pages(size_lg2) : alloc_slot(size_lg2);
    if (off == no_space) return {};
    detail::count(s_->stats, &level_stats::live_tables, 1);
    detail::count(s_->stats, &level_stats::live_bytes, std::int64_t{1} << size_lg2);
    detail::count(s_->stats, &level_stats::allocations, 1);
    return {base_ + off, base_oa_ + off};
  }

  void* phys_to_virt(oa_t oa) const noexcept {
    // Every oa this arena hands out is base_oa + offset of a byte of the block.
    return base_ + (oa - base_oa_);
  }
  /// phys_to_virt(oa) is the address oa + (base - base_oa), modulo 2^64
  /// (core/walk.hpp linear_allocator).
  std::uintptr_t linear_offset() const noexcept {
    // The block's address as an integer, to subtract its oa from.
    return reinterpret_cast<std::uintptr_t>(base_) - static_cast<std::uintptr_t>(base_oa_);
  }

  table_link& link_of(void* table, unsigned size_lg2) noexcept {
    if (size_lg2 < min_table_lg2) size_lg2 = min_table_lg2;
    const std::size_t off = static_cast<std::size_t>(static_cast<std::byte*>(table) - base_);
    page_meta& pm = s_->pages[off >> page_lg2];
    if (size_lg2 >= page_lg2) return pm.u.whole.link;
    return pm.u.sub.metas[(off & page_mask) >> size_lg2].link;
  }

  /// Zeroes and releases every table on the list. Never allocates.
  void free(table_list& list) noexcept {
    if (list.empty()) return;
    detail::lock_guard g(s_->lock);
    while (table_link* l = list.pop_front()) {
      GENPT_ASSERT(meta_of(*l).owner == s_, "arena_levels: table freed through another allocator");
      const unsigned lg2 = l->size_lg2;
      const std::size_t off = static_cast<std::size_t>(static_cast<std::byte*>(l->table) - base_);
      __builtin_memset(l->table, 0, std::size_t{1} << lg2);
      meta_of(*l).owner = nullptr;
      if (lg2 >= page_lg2)
        free_pages(off, lg2);
      else
        free_slot(off, lg2);
      detail::count(s_->stats, &level_stats::live_tables, -1);
      detail::count(s_->stats, &level_stats::live_bytes, -(std::int64_t{1} << lg2));
      detail::count(s_->stats, &level_stats::frees, 1);
    }
  }

  /// The used prefix of the block (up to the highest table page ever
  /// allocated) with its base oa and `root` (pass page_table::hw_info().root).
  /// It holds no bookkeeping unless tables were placed above a slot-array
  /// page (an arena filled to its last free pages).
  /// Concurrency: a snapshot; take it while no map/unmap runs.
  arena_image image(oa_t root) const noexcept {
    return {base_, s_ ? std::size_t{s_->high_water} << page_lg2 : 0, base_oa_, root};
  }

  level_stats* stats() const noexcept { return s_ ? s_->stats : nullptr; }
  /// Output address of the first byte of the block.
  oa_t base_oa() const noexcept { return base_oa_; }
  /// Host address of the first byte of the block.
  std::byte* base() const noexcept { return base_; }
  /// Bytes of the block below the fixed bookkeeping: pages for tables
  /// (whole or shared) and for slot arrays.
  std::size_t capacity() const noexcept { return s_ ? std::size_t{s_->n_pages} << page_lg2 : 0; }
  /// Bytes at the end of the block kept at construction for the arena's
  /// state, one page_meta per page of capacity() and the free bitmap, in
  /// whole pages (0 for an arena without memory).
  std::size_t fixed_meta_bytes() const noexcept {
    return s_ ? std::size_t{s_->fixed_pages} << page_lg2 : 0;
  }
  /// Bytes of the slot-array pages taken so far (table_meta arrays of
  /// sub-page pages; kept for reuse, never tables).
  std::size_t slot_meta_bytes() const noexcept {
    if (!s_) return 0;
    detail::lock_guard g(s_->lock);
    return std::size_t{s_->slot_array_pages} << page_lg2;
  }

 private:
  static constexpr std::size_t page_mask = (std::size_t{1} << page_lg2) - 1;
  static constexpr std::size_t no_space = ~std::size_t{0};
  /// Page indexes fit 32 bits with `none` spare.
  static constexpr std::size_t max_pages = 0xFFFF'FFF0;
  static constexpr std::uint8_t cls_free = 0;
  static constexpr std::uint8_t cls_slot_array = 0xFE;  ///< a page of table_meta arrays
  static constexpr std::uint8_t cls_tail = 0xFF;        ///< a page inside a multi-page table
  static constexpr std::uint32_t none = ~std::uint32_t{0};

  struct sub_page {
    std::uint64_t free_slots[2];  ///< bit set: slot free (at most 128 slots)
    table_meta* metas;            ///< one per slot
  };
  struct page_meta {
    /// free, tail, slot array, a sub-page class (5..11) or a table size (12..20)
    std::uint8_t cls = cls_free;
    std::uint16_t used = 0;     ///< sub-page: live slots
    std::uint32_t next = none;  ///< sub-page: partial list of its class
    std::uint32_t prev = none;
    union slot_u {
      table_meta whole;  ///< the table starting here (cls >= page_lg2)
      sub_page sub;      ///< the slots (cls < page_lg2)
      slot_u() noexcept : sub{} {}
    } u;
  };
  static_assert(sizeof(page_meta) <= 48, "genpt: arena page_meta grew");

  struct state {
    detail::spin_lock lock;
    level_stats* stats = nullptr;
    page_meta* pages = nullptr;
    std::uint64_t* free_bits = nullptr;  ///< bit set: page free
    std::uint32_t n_pages = 0;           ///< pages below the fixed bookkeeping
    std::uint32_t fixed_pages = 0;       ///< pages of the fixed bookkeeping
    std::uint32_t slot_array_pages = 0;  ///< pages taken for table_meta arrays
    std::uint32_t hint = 0;              ///< no free page below this index
    std::uint32_t high_water = 0;        ///< one past the highest table page ever used
    unsigned align_lg2 = 0;              ///< alignment of the block and base_oa, log2
    std::uint32_t partial[page_lg2] = {none, none, none, none, none, none,
                                       none, none, none, none, none, none};
    table_meta* cached_metas[page_lg2] = {};  ///< free table_meta arrays, per class
  };

  // The fixed bookkeeping at the end of the block: state, page_meta[n],
  // free bitmap, each at a multiple of its alignment.
  static constexpr std::size_t pages_offset =
      (sizeof(state) + alignof(page_meta) - 1) / alignof(page_meta) * alignof(page_meta);
  static_assert(alignof(state) <= (std::size_t{1} << page_lg2) && alignof(page_meta) <= 8 &&
                sizeof(page_meta) % alignof(std::uint64_t) == 0);
  static constexpr std::size_t words_of(std::size_t n) noexcept { return (n + 63) / 64; }
  static constexpr std::size_t bits_offset(std::size_t n) noexcept {
    return pages_offset + n * sizeof(page_meta);
  }
  static constexpr std::size_t fixed_pages(std::size_t n) noexcept {
    return (bits_offset(n) + words_of(n) * 8 + page_mask) >> page_lg2;
  }

  static constexpr unsigned slots_of(unsigned lg2) noexcept { return 1u << (page_lg2 - lg2); }

  /// Gives back the meta_bytes of pages still open for sub-page tables, then
  /// forgets the bookkeeping (it lives in the caller's block).
  void release_state() noexcept {
    if (!s_) return;
    for (std::uint32_t i = 0; i < s_->n_pages; ++i) {
      const page_meta& pm = s_->pages[i];
      if (pm.cls != cls_free && pm.cls < page_lg2)
        detail::count(s_->stats, &level_stats::meta_bytes,
                      -static_cast<std::int64_t>(slots_of(pm.cls) * sizeof(table_meta)));
    }
    s_ = nullptr;
  }

  // -- whole pages (lock held) -----------------------------------------------

  void mark_pages(std::uint32_t first, std::uint32_t n, bool free) noexcept {
    for (std::uint32_t i = first; i < first + n; ++i) {
      const std::uint64_t bit = std::uint64_t{1} << (i % 64);
      if (free)
        s_->free_bits[i / 64] |= bit;
      else
        s_->free_bits[i / 64] &= ~bit;
    }
  }

  /// Lowest aligned run of 2^(lg2 - page_lg2) free pages; `none` if there is none.
  std::uint32_t find_pages(unsigned lg2) const noexcept {
    const std::uint32_t n = 1u << (lg2 - page_lg2);
    const auto words = static_cast<std::uint32_t>(words_of(s_->n_pages));
    if (n >= 64) {
      // A run of 64 pages or more covers whole, aligned bitmap words (the
      // last word's bits past n_pages are clear, so it never looks full).
      const std::uint32_t run_words = n / 64;
      for (std::uint32_t w = s_->hint / 64 / run_words * run_words; w + run_words <= words;
           w += run_words) {
        std::uint32_t k = 0;
        while (k < run_words && s_->free_bits[w + k] == ~std::uint64_t{0}) ++k;
        if (k == run_words) return w * 64;
      }
      return none;
    }
    const std::uint64_t run = (std::uint64_t{1} << n) - 1;
    for (std::uint32_t w = s_->hint / 64; w < words; ++w) {
      std::uint64_t bits = s_->free_bits[w];
      while (bits) {
        // Candidate: the lowest free page, rounded up to the run alignment.
        std::uint32_t i = static_cast<std::uint32_t>(__builtin_ctzll(bits));
        i = (i + n - 1) & ~(n - 1);
        if (i >= 64) break;
        const std::uint32_t page = w * 64 + i;
        if (page + n > s_->n_pages) return none;
        // Runs below 64 pages are aligned to their size, so one never
        // straddles a word.
        if (((s_->free_bits[w] >> i) & run) == run) return page;
        bits &= ~((i + n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << (i + n)) - 1));
      }
    }
    return none;
  }

  std::uint32_t take_pages(unsigned lg2) noexcept {
    const std::uint32_t page = find_pages(lg2);
    if (page == none) return none;
    const std::uint32_t n = 1u << (lg2 - page_lg2);
    mark_pages(page, n, false);
    if (n == 1) s_->hint = page + 1;  // it was the lowest free page at or above the hint
    if (page + n > s_->high_water) s_->high_water = page + n;
    return page;
  }

  /// The highest free page, for slot arrays (tables fill from the bottom);
  /// `none` if every page is used.
  std::uint32_t take_top_page() noexcept {
    for (auto w = static_cast<std::uint32_t>(words_of(s_->n_pages)); w-- > 0;) {
      const std::uint64_t bits = s_->free_bits[w];
      if (!bits) continue;
      const std::uint32_t page = w * 64 + 63 - static_cast<std::uint32_t>(__builtin_clzll(bits));
      mark_pages(page, 1, false);
      s_->pages[page].cls = cls_slot_array;
      ++s_->slot_array_pages;
      return page;
    }
    return none;
  }

  void give_pages(std::uint32_t page, unsigned lg2) noexcept {
    const std::uint32_t n = 1u << (lg2 - page_lg2);
    for (std::uint32_t i = page; i < page + n; ++i) s_->pages[i].cls = cls_free;
    mark_pages(page, n, true);
    if (page < s_->hint) s_->hint = page;
  }

  std::size_t alloc_pages(unsigned lg2) noexcept {
    const std::uint32_t page = take_pages(lg2);
    if (page == none) return no_space;
    const std::uint32_t n = 1u << (lg2 - page_lg2);
    page_meta& pm = s_->pages[page];
    pm.cls = static_cast<std::uint8_t>(lg2);
    for (std::uint32_t i = page + 1; i < page + n; ++i) s_->pages[i].cls = cls_tail;
    const std::size_t off = std::size_t{page} << page_lg2;
    // Starts the lifetime of the `whole` member (the page was free or sub-page).
    ::new (&pm.u.whole) table_meta{{nullptr, base_ + off, static_cast<std::uint8_t>(lg2), 0}, s_};
    detail::count(s_->stats, &level_stats::meta_bytes, sizeof(page_meta));
    return off;
  }

  void free_pages(std::size_t off, unsigned lg2) noexcept {
    const auto page = static_cast<std::uint32_t>(off >> page_lg2);
    s_->pages[page].u.sub = sub_page{};  // back to the default member
    give_pages(page, lg2);
    detail::count(s_->stats, &level_stats::meta_bytes, -std::int64_t{sizeof(page_meta)});
  }

  // -- sub-page slots (lock held) --------------------------------------------

  void partial_push(std::uint32_t page, unsigned lg2) noexcept {
    page_meta& pm = s_->pages[page];
    pm.prev = none;
    pm.next = s_->partial[lg2];
    if (pm.next != none) s_->pages[pm.next].prev = page;
    s_->partial[lg2] = page;
  }
  void partial_remove(std::uint32_t page, unsigned lg2) noexcept {
    page_meta& pm = s_->pages[page];
    if (pm.prev != none)
      s_->pages[pm.prev].next = pm.next;
    else
      s_->partial[lg2] = pm.next;
    if (pm.next != none) s_->pages[pm.next].prev = pm.prev;
    pm.next = pm.prev = none;
  }

  /// Pushes a free table_meta array of class `lg2` (chained through its
  /// first link's `table`).
  void cache_metas(table_meta* metas, unsigned lg2) noexcept {
    metas->link.table = s_->cached_metas[lg2];
    s_->cached_metas[lg2] = metas;
  }

  /// A free table_meta array for a page of class `lg2`: a cached one, or a
  /// new slot-array page cut into as many arrays as fit. nullptr when no
  /// page is free.
  table_meta* take_metas(unsigned lg2) noexcept {
    if (!s_->cached_metas[lg2]) {
      const std::uint32_t page = take_top_page();
      if (page == none) return nullptr;
      const std::size_t array_bytes = slots_of(lg2) * sizeof(table_meta);
      std::byte* p = base_ + (std::size_t{page} << page_lg2);
      for (std::size_t at = 0; at + array_bytes <= (std::size_t{1} << page_lg2);
           at += array_bytes) {
        // The page is the caller's block, 4 KiB aligned; each array starts
        // at a multiple of sizeof(table_meta), so placement new starts its
        // objects there.
        table_meta* metas = ::new (p + at) table_meta{};
        for (unsigned k = 1; k < slots_of(lg2); ++k) ::new (metas + k) table_meta{};
        cache_metas(metas, lg2);
      }
    }
    table_meta* metas = s_->cached_metas[lg2];
    s_->cached_metas[lg2] = static_cast<table_meta*>(metas->link.table);
    return metas;
  }

  std::size_t alloc_slot(unsigned lg2) noexcept {
    const unsigned slots = slots_of(lg2);
    std::uint32_t page = s_->partial[lg2];
    if (page == none) {
      table_meta* metas = take_metas(lg2);
      if (!metas) return no_space;
      page = take_pages(page_lg2);
      if (page == none) {
        cache_metas(metas, lg2);
        return no_space;
      }
      page_meta& pm = s_->pages[page];
      pm.cls = static_cast<std::uint8_t>(lg2);
      pm.used = 0;
      pm.u.sub.metas = metas;
      pm.u.sub.free_slots[0] = slots >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << slots) - 1;
      pm.u.sub.free_slots[1] = slots > 64 ? ~std::uint64_t{0} : 0;
      partial_push(page, lg2);
      detail::count(s_->stats, &level_stats::meta_bytes,
                    static_cast<std::int64_t>(sizeof(page_meta) + slots * sizeof(table_meta)));
    }
    page_meta& pm = s_->pages[page];
    const unsigned w = pm.u.sub.free_slots[0] ? 0 : 1;
    const unsigned slot = w * 64 + static_cast<unsigned>(__builtin_ctzll(pm.u.sub.free_slots[w]));
    pm.u.sub.free_slots[w] &= pm.u.sub.free_slots[w] - 1;  // clear the lowest set bit
    if (unsigned{++pm.used} == slots) partial_remove(page, lg2);
    const std::size_t off = (std::size_t{page} << page_lg2) + (std::size_t{slot} << lg2);
    pm.u.sub.metas[slot] =
        table_meta{{nullptr, base_ + off, static_cast<std::uint8_t>(lg2), 0}, s_};
    return off;
  }

  void free_slot(std::size_t off, unsigned lg2) noexcept {
    const auto page = static_cast<std::uint32_t>(off >> page_lg2);
    const unsigned slot = static_cast<unsigned>((off & page_mask) >> lg2);
    const unsigned slots = slots_of(lg2);
    page_meta& pm = s_->pages[page];
    pm.u.sub.free_slots[slot / 64] |= std::uint64_t{1} << (slot % 64);
    if (unsigned{pm.used--} == slots) partial_push(page, lg2);
    if (pm.used != 0) return;
    // The page is empty: keep its metadata array for the next page of this
    // class, give the page back.
    partial_remove(page, lg2);
    cache_metas(pm.u.sub.metas, lg2);
    pm.u.sub = sub_page{};
    give_pages(page, page_lg2);
    detail::count(s_->stats, &level_stats::meta_bytes,
                  -static_cast<std::int64_t>(sizeof(page_meta) + slots * sizeof(table_meta)));
  }

  std::byte* base_ = nullptr;
  oa_t base_oa_ = 0;
  state* s_ = nullptr;  ///< in the block's last pages; null without memory
};

static_assert(check_level_allocator<arena_levels>());

}  // namespace genpt
