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
// Layout. The block is cut into 4 KiB pages. A table of 4 KiB or more takes
// an aligned run of whole pages (lowest address first). Tables of 32 bytes
// to 2 KiB are sub-page tables: a page is given to one size class and holds
// 4096 / size of them, so an ARMv8 top of a few items costs its own size,
// not a page. Every table is aligned to its size in both address spaces
// (given that the block and base_oa are aligned to the largest size used).
//
// Metadata. Nothing is stored in the table memory. One page_meta per page
// (48 bytes, allocated at construction) holds the page's class, its free
// slots and, for a whole-page table, that table's table_meta; a sub-page
// page points at an array of one table_meta per slot. link_of(table) is an
// index computation: O(1), no search. Freeing a list walks the links only;
// it never allocates. A table costs at most 48 bytes of metadata (whole
// pages) or 32 bytes plus its share of one page_meta (sub-page).
//
// Freed tables are zeroed at once (so allocate() hands out memory that is
// already zero, and an exported image never shows stale items).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
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
  std::size_t size = 0;  ///< bytes from the start of the block to the highest page ever used
  oa_t base_oa = 0;      ///< output address of bytes[0]
  oa_t root = 0;         ///< output address of the top table (as given to image())
};

/// Level allocator over caller-given memory at a chosen base output address.
/// Errors: allocate() returns {nullptr, 0} when no suitably aligned free
/// space is left, when size_lg2 is above 16 or above the alignment of the
/// block or base_oa, or when construction could not get its page metadata.
/// Concurrency: every member is thread-safe (allocate/free take one short
/// lock; phys_to_virt and link_of take none).
/// The block must outlive the allocator; it is zeroed at construction.
class arena_levels {
 public:
  static constexpr unsigned page_lg2 = 12;
  static constexpr unsigned min_table_lg2 = 5;   ///< 32 bytes: an ARMv8 top of 4 items
  static constexpr unsigned max_table_lg2 = 16;  ///< 64 KiB: a 64K-granule table

  /// An arena with no memory: every allocate() fails.
  arena_levels() noexcept = default;

  /// Uses `bytes` bytes at `memory` (rounded down to whole pages) as table
  /// memory at output address `base_oa`. Both `memory` and `base_oa` must
  /// be 4 KiB aligned; tables above 4 KiB also need them aligned to their
  /// size. Counts into `stats` when given (it must outlive every table).
  arena_levels(void* memory, std::size_t bytes, oa_t base_oa, level_stats* stats = nullptr) noexcept
      : base_(static_cast<std::byte*>(memory)), base_oa_(base_oa) {
    const auto addr = reinterpret_cast<std::uintptr_t>(memory);  // alignment check only
    GENPT_ASSERT(((addr | base_oa) & ((std::uintptr_t{1} << page_lg2) - 1)) == 0,
                 "arena_levels: memory and base_oa must be 4 KiB aligned");
    s_ = new (std::nothrow) state{};
    if (!s_) return;
    s_->stats = stats;
    s_->n_pages = static_cast<std::uint32_t>(bytes >> page_lg2);
    const std::uint64_t both = addr | base_oa;
    s_->align_lg2 = both ? static_cast<unsigned>(__builtin_ctzll(both)) : 64;
    const std::size_t words = (s_->n_pages + 63) / 64;
    s_->pages = new (std::nothrow) page_meta[s_->n_pages];
    s_->free_bits = new (std::nothrow) std::uint64_t[words];
    if (!s_->pages || !s_->free_bits) {
      release_state();
      return;
    }
    for (std::size_t w = 0; w < words; ++w) {
      const std::uint32_t left = s_->n_pages - static_cast<std::uint32_t>(w * 64);
      s_->free_bits[w] = left >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << left) - 1;
    }
    std::memset(memory, 0, std::size_t{s_->n_pages} << page_lg2);
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
  /// Releases the metadata. Tables still allocated are simply forgotten
  /// (their memory belongs to the caller).
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
      std::memset(l->table, 0, std::size_t{1} << lg2);
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

  /// The used prefix of the block (up to the highest page ever allocated)
  /// with its base oa and `root` (pass page_table::hw_info().root).
  /// Concurrency: a snapshot; take it while no map/unmap runs.
  arena_image image(oa_t root) const noexcept {
    return {base_, s_ ? std::size_t{s_->high_water} << page_lg2 : 0, base_oa_, root};
  }

  level_stats* stats() const noexcept { return s_ ? s_->stats : nullptr; }
  /// Output address of the first byte of the block.
  oa_t base_oa() const noexcept { return base_oa_; }
  /// Host address of the first byte of the block.
  std::byte* base() const noexcept { return base_; }
  /// Bytes of the block in use as pages (whole or shared).
  std::size_t capacity() const noexcept { return s_ ? std::size_t{s_->n_pages} << page_lg2 : 0; }
  /// Metadata bytes allocated at construction (page_meta array + free bitmap).
  std::size_t fixed_meta_bytes() const noexcept {
    return s_ ? s_->n_pages * sizeof(page_meta) + (s_->n_pages + 63) / 64 * 8 : 0;
  }

 private:
  static constexpr std::size_t page_mask = (std::size_t{1} << page_lg2) - 1;
  static constexpr std::size_t no_space = ~std::size_t{0};
  static constexpr std::uint8_t cls_free = 0;
  static constexpr std::uint8_t cls_tail = 0xFF;  ///< a page inside a multi-page table
  static constexpr std::uint32_t none = ~std::uint32_t{0};

  struct sub_page {
    std::uint64_t free_slots[2];  ///< bit set: slot free (at most 128 slots)
    table_meta* metas;            ///< one per slot
  };
  struct page_meta {
    std::uint8_t cls = cls_free;  ///< free, tail, a sub-page class (5..11) or a table size (12..16)
    std::uint16_t used = 0;       ///< sub-page: live slots
    std::uint32_t next = none;    ///< sub-page: partial list of its class
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
    std::uint32_t n_pages = 0;
    std::uint32_t hint = 0;        ///< no free page below this index
    std::uint32_t high_water = 0;  ///< one past the highest page ever used
    unsigned align_lg2 = 0;        ///< alignment of the block and base_oa, log2
    std::uint32_t partial[page_lg2] = {none, none, none, none, none, none,
                                       none, none, none, none, none, none};
    table_meta* cached_metas[page_lg2] = {};  ///< arrays of empty pages, per class, for reuse
  };

  static constexpr unsigned slots_of(unsigned lg2) noexcept { return 1u << (page_lg2 - lg2); }

  void release_state() noexcept {
    if (!s_) return;
    if (s_->pages) {
      for (std::uint32_t i = 0; i < s_->n_pages; ++i) {
        page_meta& pm = s_->pages[i];
        if (pm.cls != cls_free && pm.cls < page_lg2) {
          detail::count(s_->stats, &level_stats::meta_bytes,
                        -static_cast<std::int64_t>(slots_of(pm.cls) * sizeof(table_meta)));
          delete[] pm.u.sub.metas;
        }
      }
    }
    for (table_meta*& c : s_->cached_metas) {
      while (c) {
        // Cached arrays are chained through their first link's `table`.
        table_meta* nx = static_cast<table_meta*>(c->link.table);
        delete[] c;
        c = nx;
      }
    }
    delete[] s_->pages;
    delete[] s_->free_bits;
    delete s_;
    s_ = nullptr;
  }

  // -- whole pages (lock held) -----------------------------------------------

  bool page_free(std::uint32_t i) const noexcept { return (s_->free_bits[i / 64] >> (i % 64)) & 1; }
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
    const std::uint64_t run = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    const std::uint32_t words = (s_->n_pages + 63) / 64;
    for (std::uint32_t w = s_->hint / 64; w < words; ++w) {
      std::uint64_t bits = s_->free_bits[w];
      while (bits) {
        // Candidate: the lowest free page, rounded up to the run alignment.
        std::uint32_t i = static_cast<std::uint32_t>(__builtin_ctzll(bits));
        i = (i + n - 1) & ~(n - 1);
        if (i >= 64) break;
        const std::uint32_t page = w * 64 + i;
        if (page + n > s_->n_pages) return none;
        // Runs are at most 16 pages and aligned, so one never straddles a word.
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

  std::size_t alloc_slot(unsigned lg2) noexcept {
    const unsigned slots = slots_of(lg2);
    std::uint32_t page = s_->partial[lg2];
    if (page == none) {
      table_meta* metas = s_->cached_metas[lg2];
      if (metas) {
        s_->cached_metas[lg2] = static_cast<table_meta*>(metas->link.table);
      } else {
        metas = new (std::nothrow) table_meta[slots];
        if (!metas) return no_space;
      }
      page = take_pages(page_lg2);
      if (page == none) {
        metas->link.table = s_->cached_metas[lg2];
        s_->cached_metas[lg2] = metas;
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
    pm.u.sub.metas[slot] = table_meta{{nullptr, base_ + off, static_cast<std::uint8_t>(lg2), 0}, s_};
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
    table_meta* metas = pm.u.sub.metas;
    metas->link.table = s_->cached_metas[lg2];  // chain through the first link
    s_->cached_metas[lg2] = metas;
    pm.u.sub = sub_page{};
    give_pages(page, page_lg2);
    detail::count(s_->stats, &level_stats::meta_bytes,
                  -static_cast<std::int64_t>(sizeof(page_meta) + slots * sizeof(table_meta)));
  }

  std::byte* base_ = nullptr;
  oa_t base_oa_ = 0;
  state* s_ = nullptr;
};

static_assert(check_level_allocator<arena_levels>());

}  // namespace genpt
