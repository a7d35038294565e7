// genpt/alloc/epoch_domain.hpp - the built-in read-side domain of
// deferred_free: epoch-based reclamation with no dependency.
//
// Readers (iova_to_phys, for_each_leaf, for_each_item) enter a read-side
// section: they mark one of 64 reader slots active with the epoch they saw.
// A writer that unlinked tables takes a retire point (the current epoch,
// after a full fence) and may release them once the global epoch is two
// past it: the epoch only advances when every active slot shows the
// current one, so by then every reader that could have loaded a pointer to
// the unlinked tables has left. Threads share slots when there are more
// than 64 of them (a slot counts its readers; a shared slot keeps the
// oldest epoch, which only delays reclamation).
//
// Any Domain for deferred_free provides the same four members:
//   guard read_guard() const noexcept            RAII read-side section (nests)
//   std::uint64_t retire_point() noexcept        after unlinking, before retiring
//   bool reclaimable(std::uint64_t point) noexcept   may try to advance; never blocks
//   void synchronize() noexcept                  waits until the current point is reclaimable
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace genpt {

/// Epoch-based read-side domain. One per process (global()) is the usual
/// choice; a domain may also be private to some tables.
/// Concurrency: every member is thread-safe and lock-free, except
/// synchronize(), which waits (yielding) for readers to leave.
class epoch_domain {
 public:
  static constexpr unsigned num_slots = 64;

  epoch_domain() noexcept = default;
  epoch_domain(const epoch_domain&) = delete;
  epoch_domain& operator=(const epoch_domain&) = delete;

  /// A read-side section; leaves on destruction. Move-only.
  class guard {
   public:
    guard(guard&& o) noexcept : d_(o.d_), slot_(o.slot_) { o.d_ = nullptr; }
    guard& operator=(guard&&) = delete;
    guard(const guard&) = delete;
    ~guard() {
      if (d_) d_->leave(slot_);
    }

   private:
    friend class epoch_domain;
    guard(const epoch_domain* d, unsigned slot) noexcept : d_(d), slot_(slot) {}
    const epoch_domain* d_;
    unsigned slot_;
  };

  /// Enters a read-side section for this thread. Never blocks.
  guard read_guard() const noexcept {
    const unsigned i = this_thread_slot();
    enter(i);
    return guard(this, i);
  }

  /// The point tables unlinked before this call belong to.
  std::uint64_t retire_point() noexcept {
    // seq_cst fence: orders the caller's unlinking stores before the epoch
    // load in the single total order, so any reader whose section starts
    // after the next advance (seq_cst too) sees the unlinked items.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_seq_cst);
  }

  /// True when no reader that could have seen tables retired at `point` is
  /// still inside a section; tries to advance the epoch to get there.
  bool reclaimable(std::uint64_t point) noexcept {
    for (int tries = 0; tries < 2; ++tries) {
      if (epoch_.load(std::memory_order_seq_cst) >= point + 2) return true;
      if (!try_advance()) return false;
    }
    return epoch_.load(std::memory_order_seq_cst) >= point + 2;
  }

  /// Waits until every reader that entered before the call has left.
  void synchronize() noexcept {
    const std::uint64_t point = retire_point();
    while (!reclaimable(point)) std::this_thread::yield();
  }

  /// The current epoch (for tests and statistics).
  std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_relaxed); }

  /// The process-wide domain.
  static epoch_domain& global() noexcept {
    static epoch_domain d;
    return d;
  }

 private:
  static constexpr unsigned count_bits = 16;
  static constexpr std::uint64_t count_mask = (std::uint64_t{1} << count_bits) - 1;

  /// A reader slot: epoch << 16 | active readers. Own cache line each.
  struct alignas(64) slot {
    std::atomic<std::uint64_t> v{0};
  };

  static unsigned this_thread_slot() noexcept {
    static std::atomic<unsigned> next{0};
    // Relaxed: the counter only spreads threads over the slots.
    thread_local const unsigned mine = next.fetch_add(1, std::memory_order_relaxed) % num_slots;
    return mine;
  }

  void enter(unsigned i) const noexcept {
    std::atomic<std::uint64_t>& s = slots_[i].v;
    std::uint64_t v = s.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t readers = v & count_mask;
      // An idle slot takes the current epoch; a busy one keeps its (older
      // or equal) epoch, which is conservative.
      const std::uint64_t e = readers ? v >> count_bits : epoch_.load(std::memory_order_seq_cst);
      // seq_cst: the activation must be ordered against try_advance's
      // seq_cst scan; either the scan sees this reader, or the reader's
      // section comes after the scan in the total order.
      if (s.compare_exchange_weak(v, (e << count_bits) | (readers + 1), std::memory_order_seq_cst,
                                  std::memory_order_relaxed))
        break;
    }
    // seq_cst fence: the section's (acquire/relaxed) item loads come after
    // the activation in the total order, so they observe every unlink that
    // a retire_point() fence ordered before the epoch this reader saw.
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

  void leave(unsigned i) const noexcept {
    // Release: the section's loads of table memory happen before whatever
    // a writer frees after its scan reads this value.
    slots_[i].v.fetch_sub(1, std::memory_order_release);
  }

  /// Advances the epoch by one if every active slot shows the current one.
  bool try_advance() noexcept {
    std::uint64_t g = epoch_.load(std::memory_order_seq_cst);
    for (const slot& sl : slots_) {
      // seq_cst (and so acquire): pairs with enter's CAS in the total order
      // and with leave's release, so the frees that follow happen after the
      // readers' last loads.
      const std::uint64_t v = sl.v.load(std::memory_order_seq_cst);
      if ((v & count_mask) != 0 && (v >> count_bits) != g) return false;
    }
    // Another thread may have advanced already: progress either way.
    epoch_.compare_exchange_strong(g, g + 1, std::memory_order_seq_cst, std::memory_order_seq_cst);
    return true;
  }

  alignas(64) std::atomic<std::uint64_t> epoch_{2};
  mutable slot slots_[num_slots];
};

}  // namespace genpt
