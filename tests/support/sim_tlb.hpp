// tests/support/sim_tlb.hpp - a simulated ARMv8 TLB that caches
// translations of every size and flags TLB conflicts (Arm ARM D8.16.1).
//
// A device access looks va up; on a miss (or when the caller forces a
// walk, as a second TLB level or a speculative walk would) it walks the
// live table with the spec-written hardware walker (genpt/walk/), reading
// memory through atomic loads, and caches the leaf: va span, size,
// contiguous or not, output address and descriptor bits (a Contiguous
// descriptor as its whole run: the TLB reads one descriptor). A new entry that
// overlaps a cached one with another size, another Contiguous state,
// another output address or other memory-type bits (anything but AP /
// S2AP, XN, AF, DBM) is a conflict: the TLB would hold two translations
// for one va, which break-before-make exists to prevent. A block walked
// with nT (bit 16, FEAT_BBM level 1) is used but never cached.
//
// Walk and fill happen under one lock that invalidate() also takes, so an
// invalidation returns only once no walk that could have read the old
// descriptors is still in flight (what TLBI + DSB / CMD_SYNC promise).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "genpt/flush/gather.hpp"
#include "genpt/walk/walk.hpp"

namespace genpt::test {

/// walk_memory over a live table whose oas are host addresses
/// (heap_levels): every read one atomic load.
template <class Alloc>
struct live_table_memory {
  const Alloc* alloc;
  bool read64(oa_t oa, std::uint64_t& out) const noexcept {
    if (oa & 7) return false;
    auto* w = static_cast<std::uint64_t*>(alloc->phys_to_virt(oa));
    // acquire: the word may point to a child table, whose contents were
    // published before it with a release store (as the hardware's
    // dependent read of the child).
    out = std::atomic_ref<std::uint64_t>(*w).load(std::memory_order_acquire);
    return true;
  }
};

template <class Format>
class sim_tlb {
 public:
  struct entry {
    va_t va = 0;
    unsigned size_lg2 = 0;
    bool contig = false;
    oa_t oa = 0;             ///< oa of va
    std::uint64_t bits = 0;  ///< descriptor bits outside the OA field and the permission bits
  };

  /// One access to va: a hit, or a walk and a fill. Returns false on a
  /// fault (counted).
  template <class Mem>
  bool access(const typename hw_walker<Format>::regs& r, oa_t root, va_t va, Mem& mem,
              bool force_walk) {
    std::lock_guard<std::mutex> l(m_);
    accesses.fetch_add(1, std::memory_order_relaxed);
    if (!force_walk) {
      for (const entry& e : entries_)
        if (va >= e.va && va - e.va < (va_t{1} << e.size_lg2)) return true;
    }
    const walk_result w = hw_walker<Format>::walk(r, root, va, genpt::access{}, mem);
    if (!w) {
      faults.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    const unsigned item_lg2 = Format::granule_lg2 + (Format::granule_lg2 - 3) * w.t.level;
    // nT (D8.3.2, block descriptors only): used, not cached.
    if (w.t.level != 0 && (w.t.leaf & (std::uint64_t{1} << 16))) {
      nt_uses.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    entry n;
    n.size_lg2 = w.t.size_lg2;
    // A descriptor with the Contiguous bit (52) is cached for its whole run
    // (D8.7.1: 16 items with 4K; 128 at L3 / 32 at L2 with 16K; 32 with
    // 64K), as a TLB that reads one descriptor does, also when the spec
    // walker found the run inconsistent (items being broken one by one).
    if (w.t.leaf & (std::uint64_t{1} << 52)) {
      constexpr unsigned g = Format::granule_lg2;
      const unsigned run_lg2 = g == 12 ? 4 : g == 16 ? 5 : w.t.level == 0 ? 7 : 5;
      n.size_lg2 = item_lg2 + run_lg2;
    }
    n.va = va & ~((va_t{1} << n.size_lg2) - 1);
    n.contig = n.size_lg2 != item_lg2;
    n.oa = w.t.oa - (va - n.va);
    n.bits = w.t.leaf & ~oa_field & ~perm_bits;
    bool dup = false;
    for (auto it = entries_.begin(); it != entries_.end();) {
      const bool overlap = n.va <= it->va + ((va_t{1} << it->size_lg2) - 1) &&
                           it->va <= n.va + ((va_t{1} << n.size_lg2) - 1);
      if (!overlap) {
        ++it;
        continue;
      }
      const bool same_oa = (n.va >= it->va ? it->oa + (n.va - it->va) == n.oa
                                           : n.oa + (it->va - n.va) == it->oa);
      if (it->size_lg2 != n.size_lg2 || it->contig != n.contig || !same_oa || it->bits != n.bits) {
        if (conflicts.fetch_add(1, std::memory_order_relaxed) == 0) first_conflict = {*it, n};
        ++it;
        continue;
      }
      // Same translation (a permission change at most: either may be used).
      *it = n;
      dup = true;
      ++it;
    }
    if (!dup) {
      if (entries_.size() >= capacity) entries_.erase(entries_.begin());  // oldest out
      entries_.push_back(n);
    }
    return true;
  }

  /// Drops every entry overlapping the flush (everything for f.all).
  void invalidate(const iotlb_flush& f) {
    std::lock_guard<std::mutex> l(m_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      const va_t last = it->va + ((va_t{1} << it->size_lg2) - 1);
      if (f.all || (it->va <= f.last && f.va <= last))
        it = entries_.erase(it);
      else
        ++it;
    }
  }

  void clear() {
    std::lock_guard<std::mutex> l(m_);
    entries_.clear();
  }

  std::atomic<std::uint64_t> conflicts{0}, faults{0}, accesses{0}, nt_uses{0};
  std::size_t capacity = 64;
  struct conflict_pair {
    entry cached, walked;
  } first_conflict{};  ///< written under the lock, read after the device stopped

 private:
  /// OA bits 49:12 (the widest non-LPA field, D8.3.1; includes nT's bit 16).
  static constexpr std::uint64_t oa_field = 0x0003'FFFF'FFFF'F000ull;
  /// AP[2:1] / S2AP (7:6), AF (10), DBM (51), PXN/UXN / XN (54:53): may
  /// change without break-before-make (D8.16.1).
  static constexpr std::uint64_t perm_bits =
      (std::uint64_t{3} << 6) | (std::uint64_t{1} << 10) | (std::uint64_t{1} << 51) | (std::uint64_t{3} << 53);

  std::mutex m_;
  std::vector<entry> entries_;
};

}  // namespace genpt::test
