// genpt/alloc/deferred_free.hpp - release freed tables only when no reader
// can still be walking them.
//
// deferred_free<A, Domain> wraps the level allocator A. free(list) does not
// release the tables: it retires the list at the Domain's current retire
// point and releases it (through A::free) once the domain reports that every
// read-side section that could have seen those tables has ended. The
// facade's lock-free readers (iova_to_phys, for_each_leaf, for_each_item)
// enter the domain through read_guard(), so they may race an unmap of the
// very range they read and never touch freed memory.
//
// Retired lists wait in a ring of four batches (retire point + list); a
// fifth point is merged into the newest batch, keeping the later point,
// which is conservative. Nothing here allocates: lists are spliced.
//
// Domain: epoch_domain (built in, the default; epoch_domain::global()
// unless another is given) or urcu_domain (genpt/alloc/urcu_domain.hpp,
// liburcu). See epoch_domain.hpp for the four members a Domain provides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "genpt/alloc/epoch_domain.hpp"
#include "genpt/alloc/level_meta.hpp"
#include "genpt/alloc/spin_lock.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/core/table_list.hpp"

namespace genpt {

/// Level allocator wrapper that defers every free past concurrent readers.
/// Errors: as Alloc. Concurrency: every member is thread-safe; free() never
/// blocks (it releases what has become safe, and retires the rest).
/// The Domain must outlive the allocator.
template <class Alloc, class Domain = epoch_domain>
class deferred_free {
  static_assert(check_level_allocator<Alloc>(),
                "genpt deferred_free: Alloc does not satisfy genpt::level_allocator");

 public:
  /// Wraps `inner`, with readers in `domain`.
  explicit deferred_free(Alloc inner = Alloc{}, Domain& domain = default_domain()) noexcept(
      std::is_nothrow_move_constructible_v<Alloc>)
      : inner_(std::move(inner)), domain_(&domain) {}

  // Moves happen while the allocator is not shared (page_table::create).
  deferred_free(deferred_free&& o) noexcept(std::is_nothrow_move_constructible_v<Alloc>)
      : inner_(std::move(o.inner_)), domain_(o.domain_), pending_(o.pending_) {
    for (unsigned i = 0; i < ring; ++i) {
      batches_[i].point = o.batches_[i].point;
      batches_[i].list = std::move(o.batches_[i].list);
    }
    o.pending_ = 0;
  }
  deferred_free& operator=(deferred_free&&) = delete;
  deferred_free(const deferred_free&) = delete;
  deferred_free& operator=(const deferred_free&) = delete;

  /// Releases every retired table at once: the owner guarantees that no
  /// reader is left (the page_table that used this allocator is gone).
  ~deferred_free() {
    for (batch& b : batches_) inner_.free(b.list);
  }

  table_alloc allocate(unsigned size_lg2) noexcept { return inner_.allocate(size_lg2); }
  void* phys_to_virt(oa_t oa) const noexcept { return inner_.phys_to_virt(oa); }
  std::uintptr_t linear_offset() const noexcept
    requires requires(const Alloc& a) { a.linear_offset(); }
  {
    return inner_.linear_offset();
  }
  table_link& link_of(void* table, unsigned size_lg2) noexcept {
    return inner_.link_of(table, size_lg2);
  }

  /// Retires `list` (emptying it) and releases earlier lists that are safe now.
  void free(table_list& list) noexcept {
    if (list.empty()) return;
    const std::uint64_t point = domain_->retire_point();
    table_list ready;
    {
      detail::lock_guard g(lock_);
      collect(ready, ~std::uint64_t{0});
      pending_ += list.size();
      batch* dst = nullptr;
      for (batch& b : batches_)
        if (!b.list.empty() && b.point == point) dst = &b;
      for (batch& b : batches_)
        if (!dst && b.list.empty()) dst = &b;
      if (!dst) {  // ring full: merge into the newest point (later is safe)
        dst = &batches_[0];
        for (batch& b : batches_)
          if (b.point > dst->point) dst = &b;
      }
      if (dst->list.empty() || point > dst->point) dst->point = point;
      dst->list.splice(list);
    }
    inner_.free(ready);
  }

  /// Waits for the readers that entered before the call, then releases
  /// every table retired before it.
  void barrier() noexcept {
    const std::uint64_t point = domain_->retire_point();
    while (!domain_->reclaimable(point)) domain_->synchronize();
    table_list ready;
    {
      detail::lock_guard g(lock_);
      collect(ready, point);
    }
    inner_.free(ready);
  }

  /// Tables retired and not yet released.
  std::size_t pending() const noexcept {
    detail::lock_guard g(lock_);
    return pending_;
  }

  /// The read-side section of the domain (page_table enters it).
  auto read_guard() const noexcept { return domain_->read_guard(); }

  // Optional hooks, present exactly when the wrapped allocator has them.
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

  Domain& domain() const noexcept { return *domain_; }
  Alloc& inner() noexcept { return inner_; }
  const Alloc& inner() const noexcept { return inner_; }

 private:
  static constexpr unsigned ring = 4;
  struct batch {
    std::uint64_t point = 0;
    table_list list;
  };

  static Domain& default_domain() noexcept
    requires requires { Domain::global(); }
  {
    return Domain::global();
  }

  /// Moves every batch that is reclaimable (and at or before `upto`) to `out`.
  void collect(table_list& out, std::uint64_t upto) noexcept {
    for (batch& b : batches_) {
      if (b.list.empty() || b.point > upto || !domain_->reclaimable(b.point)) continue;
      pending_ -= b.list.size();
      out.splice(b.list);
    }
  }

  Alloc inner_;
  Domain* domain_;
  mutable detail::spin_lock lock_;
  batch batches_[ring];
  std::size_t pending_ = 0;
};

}  // namespace genpt
