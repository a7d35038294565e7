// genpt/core/item.hpp - single-copy-atomic access to table items.
//
// Hardware walkers and lock-free readers (iova_to_phys, for_each_leaf) read
// items while map/unmap write others, so every item access is one aligned
// machine word, never torn. GCC/Clang __atomic builtins work on plain
// integers in the table memory, freestanding, with no std::atomic wrapper
// (the table must stay an array of raw hardware words).
#pragma once

#include <cstddef>
#include <cstdint>

// Sanitizer builds keep every item store visible to the sanitizer.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GENPT_ITEM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GENPT_ITEM_SANITIZED 1
#endif
#endif
// ThreadSanitizer builds read items one atomic word at a time everywhere,
// so the race detector sees every item access as the atomic it stands for.
#if defined(__SANITIZE_THREAD__)
#define GENPT_ITEM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GENPT_ITEM_TSAN 1
#endif
#endif

namespace genpt::detail {

/// Reads one item. Relaxed: the caller only inspects the bits, or (for a
/// table pointer it will follow) uses load_item_acquire instead.
template <class Word>
inline Word load_item(const Word* p) noexcept {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/// Reads an item whose table pointer the caller will follow. Acquire pairs
/// with the release compare-exchange that published the child, so the
/// child's zero fill is visible before its items are read.
template <class Word>
inline Word load_item_acquire(const Word* p) noexcept {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/// Writes one item. Relaxed: the caller's range lock makes it the only
/// writer of this item, and a leaf has no payload that must be ordered
/// before it; hardware sees the store whole (single-copy atomic).
template <class Word>
inline void store_item(Word* p, Word v) noexcept {
  __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/// Writes the n items of one entry: v, v + step, v + 2 * step, ... each with
/// one single-copy-atomic store (store_item's argument). A long replicated
/// run (step 0, more than 32 items: AMDv1 sizes from 256K on) is one
/// `rep stosq` on x86-64, which writes quadword by quadword, as the Linux
/// kernel's memset64 does for the same entries; sanitizer builds keep the
/// loop, whose stores they can see.
template <class Word>
inline void fill_items(Word* p, Word v, Word step, std::size_t n) noexcept {
#if defined(__x86_64__) && !defined(GENPT_ITEM_SANITIZED)
  if (step == 0 && n > 32 && sizeof(Word) == 8) {
    __asm__ __volatile__("rep stosq" : "+D"(p), "+c"(n) : "a"(v) : "memory");
    return;
  }
#endif
#pragma GCC unroll 8
  for (Word* end = p + n; p != end; ++p, v += step) store_item(p, v);
}

/// fill_items(p, v, step, n) for the zero items only, in one pass: each
/// group of 8 items (one 64-byte line of 8-byte words, when aligned) is
/// loaded and checked, then stored while it is hot. Stops before the first
/// group that holds a nonzero item and returns how many items it wrote
/// (n when all were zero; a multiple of 8 otherwise). One pass lets the
/// loads of one group issue beside the stores of the one before, where a
/// check of the whole run and then a fill ran them one after the other.
template <class Word>
inline std::size_t fill_zero_items(Word* p, Word v, Word step, std::size_t n) noexcept {
  constexpr std::size_t group = 8;
  std::size_t k = 0;
  for (; k + group <= n; k += group) {
    Word any = 0;
#pragma GCC unroll 8
    for (std::size_t j = 0; j < group; ++j) any |= load_item(p + k + j);
    if (any != 0) return k;
#pragma GCC unroll 8
    for (std::size_t j = 0; j < group; ++j) store_item(p + k + j, v + static_cast<Word>(j) * step);
    v += static_cast<Word>(group) * step;
  }
  Word any = 0;
  for (std::size_t j = k; j < n; ++j) any |= load_item(p + j);
  if (any != 0) return k;
  for (std::size_t j = k; j < n; ++j, v += step) store_item(p + j, v);
  return n;
}

/// True when all n items at p have every `ones` bit set and no `zeros` bit
/// set: a read-only check of a whole run, two items per 16-byte load where
/// the target has vector registers (half the loads and ALU operations of a
/// word-by-word scan; the generic vector type lowers to word operations
/// elsewhere, e.g. under -mgeneral-regs-only).
///
/// The loads need not be single-copy atomic per item, because no store
/// can change the answer while they run: the caller holds the range, so
/// no other writer touches these items, and the only concurrent writer,
/// the hardware walker, sets accessed/dirty bits, which must not be in
/// `ones | zeros`. A torn read would differ from an atomic one only in
/// those bits.
template <class Word>
inline bool items_match_all(const Word* p, std::size_t n, Word ones, Word zeros) noexcept {
  Word and_acc = ~Word{0};
  Word or_acc = 0;
  std::size_t i = 0;
#if !defined(GENPT_ITEM_TSAN)
  if constexpr (sizeof(Word) == 8) {
    // may_alias: the vector load reads the table's words through another
    // type; aligned(16) holds because of the odd-item peel below.
    typedef Word pair_t __attribute__((vector_size(16), may_alias, aligned(16)));
    if ((reinterpret_cast<std::uintptr_t>(p) & 15) != 0 && n != 0) {
      const Word e = load_item(p);
      and_acc &= e;
      or_acc |= e;
      i = 1;
    }
    pair_t and_v = {~Word{0}, ~Word{0}};
    pair_t or_v = {0, 0};
    for (; i + 8 <= n; i += 8) {
#pragma GCC unroll 4
      for (std::size_t j = 0; j < 8; j += 2) {
        // Cast: p + i + j is 16-byte aligned (p is 8-byte aligned, i + j
        // is even after the peel), and pair_t may alias Word.
        const pair_t e = *reinterpret_cast<const pair_t*>(p + i + j);
        and_v &= e;
        or_v |= e;
      }
    }
    and_acc &= and_v[0] & and_v[1];
    or_acc |= or_v[0] | or_v[1];
  }
#endif
  for (; i < n; ++i) {
    const Word e = load_item(p + i);
    and_acc &= e;
    or_acc |= e;
  }
  return (and_acc & ones) == ones && (or_acc & zeros) == 0;
}

/// A hint that the n items at p will be written soon: one prefetch-for-
/// write per 64-byte line, so the misses of a run whose lines are out of
/// the cache (a cleaning allocator's CLFLUSHOPT evicts every line it
/// writes back) are all in flight at once, not one line after another as
/// the run's loads reach them. Only a hint: it changes no memory.
template <class Word>
inline void prefetch_items_for_write(const Word* p, std::size_t n) noexcept {
  constexpr std::size_t per_line = 64 / sizeof(Word);
  for (std::size_t i = 0; i < n; i += per_line) __builtin_prefetch(p + i, 1, 3);
}

/// Publishes a table that replaces a leaf (cut): release orders the new
/// table's contents before the pointer, as for a fresh install.
template <class Word>
inline void store_item_release(Word* p, Word v) noexcept {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/// Publishes a new child table: replaces `expected` with `desired` only if
/// the item still holds `expected`. Release orders the child's zero fill
/// (and anything written into it) before the pointer becomes visible;
/// failure is relaxed because the loser only re-reads the item.
template <class Word>
inline bool cas_item_release(Word* p, Word& expected, Word desired) noexcept {
  return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED);
}

/// Sets software bits in a published table item. Release: the cache
/// cleaning of the item (and of the child table) done before it is ordered
/// before the bit, which another thread reads with acquire.
template <class Word>
inline void or_item_release(Word* p, Word bits) noexcept {
  __atomic_fetch_or(p, bits, __ATOMIC_RELEASE);
}

/// Compare-exchange for bits hardware may set concurrently (dirty/accessed).
/// Relaxed: the update carries no payload; the item alone is the message.
template <class Word>
inline bool cas_item_relaxed(Word* p, Word& expected, Word desired) noexcept {
  return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED);
}

}  // namespace genpt::detail
