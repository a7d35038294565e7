// genpt/walk/memory.hpp - how the walker reads table memory.
//
// The walker never dereferences a pointer: every table word it reads comes
// from the caller's memory object, which may refuse (an address outside
// guest RAM, a hole in a dump). A memory object that also has cmpxchg64 lets
// the walker set Accessed / Dirty state the way hardware does.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "genpt/core/types.hpp"

namespace genpt {

/// Reads one 64-bit little-endian word at an 8-byte aligned oa.
/// `read64(oa, out)` returns false when the oa cannot be read (bus error).
template <class M>
concept walk_memory = requires(M& m, oa_t oa, std::uint64_t& out) {
  { m.read64(oa, out) } -> std::same_as<bool>;
};

/// A walk_memory the walker may also write, for hardware-managed A/D:
/// `cmpxchg64(oa, expected, desired)` stores desired when the word still
/// equals expected and returns true; otherwise stores the current value in
/// expected and returns false (like std::atomic::compare_exchange_strong).
/// An oa it cannot write: false with expected unchanged (a bus error).
template <class M>
concept walk_memory_rw = walk_memory<M> && requires(M& m, oa_t oa, std::uint64_t& e, std::uint64_t d) {
  { m.cmpxchg64(oa, e, d) } -> std::same_as<bool>;
};

/// A walk_memory over a caller's byte buffer holding the table memory of
/// oas [base_oa, base_oa + size): the word at oa is the 8 little-endian
/// bytes at bytes + (oa - base_oa). read64 refuses (false) an oa that is
/// not 8-byte aligned or whose word is not wholly inside the buffer.
/// Concurrency: plain byte reads; the buffer must not change during a walk
/// (a snapshot, a dump). For a live table use span_memory_rw.
class span_memory {
 public:
  span_memory(const void* bytes, std::size_t size, oa_t base_oa) noexcept
      : bytes_(static_cast<const unsigned char*>(bytes)), size_(size), base_(base_oa) {}

  bool read64(oa_t oa, std::uint64_t& out) const noexcept {
    if ((oa & 7) != 0 || oa < base_ || oa - base_ > size_ || size_ - (oa - base_) < 8) return false;
    // unsigned char may alias any object: reading the caller's bytes one by
    // one is defined whatever they hold, and gives a little-endian word.
    const unsigned char* b = bytes_ + (oa - base_);
    std::uint64_t w = 0;
    for (unsigned i = 0; i < 8; ++i) w |= std::uint64_t{b[i]} << (8 * i);
    out = w;
    return true;
  }

 private:
  const unsigned char* bytes_;
  std::size_t size_;
  oa_t base_;
};

/// A walk_memory_rw over caller-owned 64-bit words (host byte order, as
/// genpt writes them) holding oas [base_oa, base_oa + 8 * count): the word
/// at oa is words[(oa - base_oa) / 8]. Out-of-range or unaligned oas are
/// refused (cmpxchg64 then returns false and leaves `expected` as it was,
/// which the walker reports as a bus error). Every access is atomic (std::atomic_ref), so it may walk, and
/// set A/D in, a table that other threads change at the same time.
class span_memory_rw {
 public:
  span_memory_rw(std::uint64_t* words, std::size_t count, oa_t base_oa) noexcept
      : words_(words), count_(count), base_(base_oa) {}

  bool read64(oa_t oa, std::uint64_t& out) const noexcept {
    std::uint64_t* w = at(oa);
    if (!w) return false;
    // acquire: a table word read here may point to a child table; pairs
    // with the writer's release store that published it, as the walker's
    // dependent read of the child needs the child's contents.
    out = std::atomic_ref<std::uint64_t>(*w).load(std::memory_order_acquire);
    return true;
  }

  bool cmpxchg64(oa_t oa, std::uint64_t& expected, std::uint64_t desired) const noexcept {
    std::uint64_t* w = at(oa);
    if (!w) return false;
    // acq_rel: the A/D update is a locked read-modify-write, as the
    // hardware's; acquire on failure for the re-read value (see read64).
    return std::atomic_ref<std::uint64_t>(*w).compare_exchange_strong(
        expected, desired, std::memory_order_acq_rel, std::memory_order_acquire);
  }

 private:
  std::uint64_t* at(oa_t oa) const noexcept {
    if ((oa & 7) != 0 || oa < base_ || (oa - base_) / 8 >= count_) return nullptr;
    return words_ + (oa - base_) / 8;
  }
  std::uint64_t* words_;
  std::size_t count_;
  oa_t base_;
};

}  // namespace genpt
