// genpt/alloc/fault_injecting.hpp - a level allocator wrapper that fails on demand.
//
// fault_injecting<A> forwards every call to the wrapped allocator A, and can
// be armed to make exactly one future allocate() fail, so that tests (and
// users hardening their own error paths) can drive every no_memory path of
// map, create and top growth in turn:
//
//   fault_injecting<heap_levels> fa{heap_levels{&stats}};
//   fa.fail_after(3);          // the 3rd allocate() from now returns {}
//
// Counting is by allocate() calls, failed ones included.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "genpt/core/concepts.hpp"
#include "genpt/core/table_list.hpp"

namespace genpt {

/// Wraps the level allocator `Alloc`; allocate() fails once when armed.
/// Errors: allocate() returns {nullptr, 0} for the armed call, and whatever
/// `Alloc` returns otherwise.
/// Concurrency: every member may be called from several threads at once
/// (as `Alloc`'s are). Exactly one allocate() call fails per arming, even
/// under concurrency; arming while other threads allocate picks "the Nth
/// from now" against whichever calls have already taken their ticket.
template <class Alloc>
class fault_injecting {
  static_assert(check_level_allocator<Alloc>(),
                "genpt fault_injecting: Alloc does not satisfy genpt::level_allocator");

 public:
  fault_injecting() noexcept(noexcept(Alloc{})) = default;
  /// Wraps `inner`; starts disarmed with a zero count.
  explicit fault_injecting(Alloc inner) noexcept(std::is_nothrow_move_constructible_v<Alloc>)
      : inner_(std::move(inner)) {}

  // Moves carry the counters along (page_table::create moves its allocator
  // in); std::atomic itself is not movable.
  fault_injecting(fault_injecting&& o) noexcept(std::is_nothrow_move_constructible_v<Alloc>)
      : inner_(std::move(o.inner_)),
        calls_(o.calls_.load(std::memory_order_relaxed)),
        fail_at_(o.fail_at_.load(std::memory_order_relaxed)),
        failures_(o.failures_.load(std::memory_order_relaxed)) {}
  fault_injecting& operator=(fault_injecting&& o) noexcept(
      std::is_nothrow_move_assignable_v<Alloc>) {
    inner_ = std::move(o.inner_);
    calls_.store(o.calls_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    fail_at_.store(o.fail_at_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    failures_.store(o.failures_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }
  fault_injecting(const fault_injecting&) = delete;
  fault_injecting& operator=(const fault_injecting&) = delete;

  /// Arms: the n-th allocate() call from now (n >= 1; 1 = the next one)
  /// fails; n == 0 disarms. Replaces any earlier arming.
  void fail_after(std::uint64_t n) noexcept {
    // Relaxed: the counters order no memory; they only number the calls.
    fail_at_.store(n ? calls_.load(std::memory_order_relaxed) + n : 0,
                   std::memory_order_relaxed);
  }
  /// No further allocate() fails.
  void disarm() noexcept { fail_at_.store(0, std::memory_order_relaxed); }
  /// True while an armed failure has not fired yet.
  bool armed() const noexcept {
    const std::uint64_t at = fail_at_.load(std::memory_order_relaxed);
    return at != 0 && at > calls_.load(std::memory_order_relaxed);
  }
  /// allocate() calls so far, failed ones included.
  std::uint64_t allocations() const noexcept { return calls_.load(std::memory_order_relaxed); }
  /// allocate() calls this wrapper made fail.
  std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

  /// The wrapped allocator's allocate(), unless this is the armed call.
  table_alloc allocate(unsigned size_lg2) noexcept {
    // fetch_add hands every call a unique ticket whatever the memory order,
    // so at most one call can match fail_at_: relaxed is enough.
    const std::uint64_t ticket = calls_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (ticket == fail_at_.load(std::memory_order_relaxed)) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    return inner_.allocate(size_lg2);
  }
  void* phys_to_virt(oa_t oa) const noexcept { return inner_.phys_to_virt(oa); }
  std::uintptr_t linear_offset() const noexcept
    requires requires(const Alloc& a) { a.linear_offset(); }
  {
    return inner_.linear_offset();
  }
  table_link& link_of(void* table, unsigned size_lg2) noexcept {
    return inner_.link_of(table, size_lg2);
  }
  void free(table_list& list) noexcept { inner_.free(list); }

  // Optional hooks, present exactly when the wrapped allocator has them.
  auto read_guard() const noexcept
    requires requires(const Alloc& a) { a.read_guard(); }
  {
    return inner_.read_guard();
  }
  void clean(const void* p, std::size_t bytes) noexcept
    requires requires(Alloc& a, const void* q, std::size_t n) { a.clean(q, n); }
  {
    inner_.clean(p, bytes);
  }
  auto stats() const noexcept
    requires requires(const Alloc& a) { a.stats(); }
  {
    return inner_.stats();
  }

  /// The wrapped allocator.
  Alloc& inner() noexcept { return inner_; }
  const Alloc& inner() const noexcept { return inner_; }

 private:
  Alloc inner_{};
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> fail_at_{0};  ///< ticket that fails; 0 = disarmed
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace genpt
