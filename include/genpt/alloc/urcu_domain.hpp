// genpt/alloc/urcu_domain.hpp - deferred_free's read-side domain on liburcu.
//
// For programs that already use userspace RCU (Debian liburcu-dev, the
// "memb" flavour: no signals, membarrier-based): readers of a genpt table
// (iova_to_phys, for_each_leaf, for_each_item) are ordinary RCU read-side
// critical sections, and retired tables are released after an RCU grace
// period. Build with the CMake option GENPT_WITH_LIBURCU=ON (the target
// genpt::urcu adds the include path and links liburcu-memb).
//
// The domain never blocks in reclaimable(): a grace period is requested with
// call_rcu on a head the domain owns (one in flight at a time, so retiring
// never allocates), and its callback marks every point taken before the
// request as reclaimable.
#pragma once

#include <urcu/urcu-memb.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace genpt {

/// Read-side domain over liburcu (memb flavour).
/// Concurrency: every member is thread-safe. Threads are registered with
/// liburcu on their first read-side section (and unregistered at exit).
/// synchronize() waits for a grace period; the others never block.
class urcu_domain {
 public:
  urcu_domain() noexcept = default;
  urcu_domain(const urcu_domain&) = delete;
  urcu_domain& operator=(const urcu_domain&) = delete;
  /// Waits for a grace-period request still in flight (its callback uses
  /// this object).
  ~urcu_domain() {
    if (in_flight_.load(std::memory_order_acquire)) urcu_memb_barrier();
  }

  /// An RCU read-side critical section; leaves on destruction. Nests.
  class guard {
   public:
    guard(guard&& o) noexcept : active_(o.active_) { o.active_ = false; }
    guard& operator=(guard&&) = delete;
    guard(const guard&) = delete;
    ~guard() {
      if (active_) urcu_memb_read_unlock();
    }

   private:
    friend class urcu_domain;
    guard() noexcept = default;
    bool active_ = true;
  };

  guard read_guard() const noexcept {
    register_this_thread();
    urcu_memb_read_lock();
    return guard{};
  }

  /// A fresh point: tables unlinked before this call are safe once a grace
  /// period that began after it has ended.
  std::uint64_t retire_point() noexcept {
    // seq_cst: the caller's unlinking stores come before the ticket, and a
    // grace period requested after reading the ticket covers them.
    return next_.fetch_add(1, std::memory_order_seq_cst) + 1;
  }

  /// True once a grace period covering `point` has ended; otherwise makes
  /// sure one is requested, and returns false. Never blocks.
  bool reclaimable(std::uint64_t point) noexcept {
    if (done_.load(std::memory_order_acquire) >= point) return true;
    request_grace_period();
    return false;
  }

  /// Waits for a grace period covering every point taken so far.
  void synchronize() noexcept {
    const std::uint64_t point = next_.load(std::memory_order_seq_cst);
    register_this_thread();
    urcu_memb_synchronize_rcu();
    raise_done(point);
  }

  /// The process-wide domain.
  static urcu_domain& global() noexcept {
    static urcu_domain d;
    return d;
  }

 private:
  /// Registers the calling thread with liburcu once, unregisters at exit.
  static void register_this_thread() noexcept {
    struct registration {
      registration() noexcept { urcu_memb_register_thread(); }
      ~registration() { urcu_memb_unregister_thread(); }
    };
    thread_local const registration r;
    (void)r;
  }

  void request_grace_period() noexcept {
    bool idle = false;
    // acq_rel: the winner owns head_ and covered_ until the callback
    // releases them with its store of false.
    if (!in_flight_.compare_exchange_strong(idle, true, std::memory_order_acq_rel,
                                            std::memory_order_relaxed))
      return;  // one is in flight; a later call asks again
    covered_ = next_.load(std::memory_order_seq_cst);
    register_this_thread();
    urcu_memb_call_rcu(&head_, &grace_period_ended);
  }

  static void grace_period_ended(rcu_head* h) {
    // head_ is a member: recover the domain from its address.
    auto* d = reinterpret_cast<urcu_domain*>(reinterpret_cast<char*>(h) - offsetof(urcu_domain, head_));
    d->raise_done(d->covered_);
    d->in_flight_.store(false, std::memory_order_release);
  }

  void raise_done(std::uint64_t point) noexcept {
    std::uint64_t cur = done_.load(std::memory_order_relaxed);
    // release: a reader of done_ (acquire) sees the grace period as over.
    while (cur < point && !done_.compare_exchange_weak(cur, point, std::memory_order_release,
                                                       std::memory_order_relaxed)) {
    }
  }

  rcu_head head_{};                   ///< the one grace-period request in flight
  std::uint64_t covered_ = 0;         ///< points the in-flight request covers
  std::atomic<bool> in_flight_{false};
  std::atomic<std::uint64_t> next_{0};  ///< last point handed out
  std::atomic<std::uint64_t> done_{0};  ///< every point <= done_ is reclaimable
};

}  // namespace genpt
