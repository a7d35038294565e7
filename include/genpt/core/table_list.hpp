// genpt/core/table_list.hpp - intrusive lists of table levels.
//
// Every table an allocator hands out has a table_link that lives in the
// allocator's metadata, outside the table memory (which holds hardware bits
// only). Threading tables on a table_list, splicing lists and walking them
// never allocates: freeing a whole subtree cannot fail.
#pragma once

#include <cstddef>
#include <cstdint>

#include "genpt/core/types.hpp"

namespace genpt {

/// Per-table metadata node. Owned by the allocator; genpt links it.
struct table_link {
  table_link* next = nullptr;  ///< next table on the list it is on
  void* table = nullptr;       ///< the table memory this link describes
  std::uint8_t size_lg2 = 0;   ///< bytes of the table, log2
  std::uint8_t flags = 0;      ///< allocator-private state
};

/// Singly linked intrusive list of table_links, FIFO order, O(1) splice.
/// Concurrency: not thread-safe; one list belongs to one operation.
class table_list {
 public:
  constexpr table_list() noexcept = default;
  table_list(const table_list&) = delete;
  table_list& operator=(const table_list&) = delete;
  constexpr table_list(table_list&& o) noexcept : head_(o.head_), tail_(o.tail_), count_(o.count_) {
    o.head_ = o.tail_ = nullptr;
    o.count_ = 0;
  }
  constexpr table_list& operator=(table_list&& o) noexcept {
    head_ = o.head_;
    tail_ = o.tail_;
    count_ = o.count_;
    o.head_ = o.tail_ = nullptr;
    o.count_ = 0;
    return *this;
  }

  constexpr bool empty() const noexcept { return head_ == nullptr; }
  constexpr std::size_t size() const noexcept { return count_; }
  constexpr table_link* front() const noexcept { return head_; }

  /// Appends one link (which must not be on another list).
  constexpr void push_back(table_link& l) noexcept {
    l.next = nullptr;
    if (tail_)
      tail_->next = &l;
    else
      head_ = &l;
    tail_ = &l;
    ++count_;
  }
  /// Moves every link of `o` to the end of this list.
  constexpr void splice(table_list& o) noexcept {
    if (o.empty()) return;
    if (tail_)
      tail_->next = o.head_;
    else
      head_ = o.head_;
    tail_ = o.tail_;
    count_ += o.count_;
    o.head_ = o.tail_ = nullptr;
    o.count_ = 0;
  }
  /// Removes and returns the first link (nullptr when empty).
  constexpr table_link* pop_front() noexcept {
    table_link* l = head_;
    if (!l) return nullptr;
    head_ = l->next;
    if (!head_) tail_ = nullptr;
    l->next = nullptr;
    --count_;
    return l;
  }

 private:
  table_link* head_ = nullptr;
  table_link* tail_ = nullptr;
  std::size_t count_ = 0;
};

/// What an allocator returns: the zeroed table and its output address.
/// `table == nullptr` means the allocation failed.
struct table_alloc {
  void* table = nullptr;
  oa_t oa = 0;
};

}  // namespace genpt
