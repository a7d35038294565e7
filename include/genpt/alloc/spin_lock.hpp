// genpt/alloc/spin_lock.hpp - the short lock of the hosted allocators
// (arena_levels, deferred_free): test-and-test-and-set, yielding while held.
#pragma once

#include <atomic>
#if __STDC_HOSTED__
#include <thread>
#endif

namespace genpt::detail {

/// Test-and-test-and-set lock for the allocators' short critical sections.
/// Concurrency: acquire on lock pairs with release on unlock, so whatever
/// one holder wrote is visible to the next.
class spin_lock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!f_.exchange(true, std::memory_order_acquire)) return;
      // Relaxed spin on a plain load: no ordering is needed until the
      // exchange above wins.
      while (f_.load(std::memory_order_relaxed)) relax();
    }
  }
  void unlock() noexcept { f_.store(false, std::memory_order_release); }

 private:
  /// Lets the holder run: yield to the scheduler where there is one (the
  /// holder may be preempted), else a CPU spin hint (freestanding builds).
  static void relax() noexcept {
#if __STDC_HOSTED__
    std::this_thread::yield();
#elif defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }

  std::atomic<bool> f_{false};
};

/// Scoped holder of a spin_lock.
class lock_guard {
 public:
  explicit lock_guard(spin_lock& l) noexcept : l_(l) { l_.lock(); }
  ~lock_guard() { l_.unlock(); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;

 private:
  spin_lock& l_;
};

}  // namespace genpt::detail
