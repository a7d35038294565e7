// genpt/alloc/incoherent.hpp - tables for walkers that do not snoop CPU caches.
//
// incoherent<A, CacheOps> wraps the level allocator A and gives it the
// `clean(p, bytes)` hook; the walks of core/ then keep memory as the
// hardware walker sees it (main memory) in step with the CPU's view:
//
//  1. a new table is cleaned whole (it is zero) by allocate(), before its
//     pointer is installed;
//  2. the item pointing to it is cleaned after the install, and only then
//     does the installer set the format's software "flush done" bit in that
//     item (release; x86_64 bit 9);
//  3. a map that finds a table item without the bit (its installer may
//     still be cleaning) cleans the item itself, so that every item on its
//     path is visible to the hardware when it returns;
//  4. the leaves a walk writes (or clears) in one table are cleaned once,
//     as one span, when the walk leaves the table: once per cache line per
//     operation, not once per item (map, unmap, map's rollback, cut,
//     protect, dirty harvesting; set_dirty cleans its one item). A walk
//     that must flush midway (a no-gaps policy) cleans what it wrote first;
//     every write is cleaned before the flush that publishes it;
//  5. top growth cleans the new tops' links before change_top.
// The single-page fast paths are off with such an allocator. A format with
// no software bit (AMDv1) cannot do (2)-(3): page_table::create answers
// not_supported.
//
// CacheOps is an object with `void clean(const void*, std::size_t) noexcept`
// that writes back every cache line of the range to memory and orders the
// write-backs before later stores (fence included). Provided:
// cache_ops_x86 (clwb / clflushopt / clflush + sfence), cache_ops_arm64
// (dc cvac + dsb ish; aarch64 only). Tests simulate one
// (tests/support/sim_noncoherent.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "genpt/alloc/level_meta.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/core/table_list.hpp"

namespace genpt {

#if defined(__x86_64__) || defined(__i386__)
/// x86 cache maintenance: writes lines back with CLWB, CLFLUSHOPT or
/// CLFLUSH (the best the CPU has, or the one asked for), then SFENCE.
/// Concurrency: stateless after construction; thread-safe.
class cache_ops_x86 {
 public:
  enum class insn : std::uint8_t { clflush, clflushopt, clwb };
  static constexpr std::size_t line_size = 64;

  /// The best instruction the CPU supports.
  cache_ops_x86() noexcept : insn_(has(insn::clwb) ? insn::clwb
                                   : has(insn::clflushopt) ? insn::clflushopt
                                                           : insn::clflush) {}
  /// A given instruction (check has() first; CLFLUSH always exists on x86-64).
  explicit cache_ops_x86(insn i) noexcept : insn_(i) {}

  /// True when the CPU implements `i` (CPUID.(EAX=7,ECX=0):EBX bit 23
  /// CLFLUSHOPT, bit 24 CLWB).
  static bool has(insn i) noexcept {
    if (i == insn::clflush) return true;
    unsigned a = 7, b = 0, c = 0, d = 0;
    unsigned max_leaf = 0;
    __asm__("cpuid" : "=a"(max_leaf), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (max_leaf < 7) return false;
    c = 0;  // sub-leaf 0
    __asm__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (b >> (i == insn::clwb ? 24 : 23)) & 1;
  }
  insn instruction() const noexcept { return insn_; }

  void clean(const void* p, std::size_t bytes) const noexcept {
    if (bytes == 0) return;
    // Integer view of the addresses, only to round them to cache lines.
    auto a = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{line_size - 1};
    const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
    for (; a < end; a += line_size) {
      // The instructions take a memory operand; the line address is cast
      // back to a byte pointer only to name it.
      const auto* line = reinterpret_cast<const char*>(a);
      switch (insn_) {
        case insn::clwb:
          __asm__ volatile(".byte 0x66; xsaveopt %0" : "+m"(*const_cast<char*>(line)));  // clwb
          break;
        case insn::clflushopt:
          __asm__ volatile(".byte 0x66; clflush %0" : "+m"(*const_cast<char*>(line)));  // clflushopt
          break;
        case insn::clflush:
          __asm__ volatile("clflush %0" : "+m"(*const_cast<char*>(line)));
          break;
      }
    }
    // SFENCE orders the write-backs before the stores that follow (the
    // install of a pointer, the SW bit); CLFLUSH is already ordered.
    __asm__ volatile("sfence" ::: "memory");
  }

 private:
  insn insn_;
};
#endif

#if defined(__aarch64__)
/// arm64 cache maintenance: DC CVAC per line to the point of coherency,
/// then DSB ISH. Concurrency: stateless; thread-safe.
class cache_ops_arm64 {
 public:
  void clean(const void* p, std::size_t bytes) const noexcept {
    if (bytes == 0) return;
    std::uint64_t ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    const std::uintptr_t line = std::uintptr_t{4} << ((ctr >> 16) & 0xF);  // DminLine, words
    // Integer view of the addresses, only to round them to cache lines.
    auto a = reinterpret_cast<std::uintptr_t>(p) & ~(line - 1);
    const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
    for (; a < end; a += line) __asm__ volatile("dc cvac, %0" ::"r"(a) : "memory");
    __asm__ volatile("dsb ish" ::: "memory");
  }
};
#endif

/// Level allocator wrapper for non-snooping table walkers.
/// Errors: as Alloc. Concurrency: as Alloc; CacheOps::clean must be
/// thread-safe.
template <class Alloc, class CacheOps>
class incoherent {
  static_assert(check_level_allocator<Alloc>(),
                "genpt incoherent: Alloc does not satisfy genpt::level_allocator");
  static_assert(requires(CacheOps& o, const void* p, std::size_t n) { o.clean(p, n); },
                "genpt incoherent: CacheOps needs `void clean(const void*, std::size_t) noexcept`");

 public:
  explicit incoherent(Alloc inner = Alloc{}, CacheOps ops = CacheOps{}) noexcept(
      std::is_nothrow_move_constructible_v<Alloc>)
      : inner_(std::move(inner)), ops_(std::move(ops)) {}

  /// A zeroed table, already cleaned to memory ("start_incoherent").
  table_alloc allocate(unsigned size_lg2) noexcept {
    const table_alloc t = inner_.allocate(size_lg2);
    if (!t.table) return t;
    table_link& l = inner_.link_of(t.table, size_lg2);
    l.flags = static_cast<std::uint8_t>(l.flags | table_flags::still_flushing);
    ops_.clean(t.table, std::size_t{1} << size_lg2);
    l.flags = static_cast<std::uint8_t>((l.flags & ~table_flags::still_flushing) | table_flags::incoherent);
    return t;
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
  /// "Stops" every table (nothing to undo for cache cleaning) and frees them.
  void free(table_list& list) noexcept {
    for (table_link* l = list.front(); l; l = l->next)
      l->flags = static_cast<std::uint8_t>(l->flags & ~table_flags::incoherent);
    inner_.free(list);
  }
  /// Writes [p, p + bytes) back to memory for the walker.
  void clean(const void* p, std::size_t bytes) noexcept { ops_.clean(p, bytes); }

  // Optional hooks, present exactly when the wrapped allocator has them.
  auto read_guard() const noexcept
    requires requires(const Alloc& a) { a.read_guard(); }
  {
    return inner_.read_guard();
  }
  auto stats() const noexcept
    requires requires(const Alloc& a) { a.stats(); }
  {
    return inner_.stats();
  }

  CacheOps& cache_ops() noexcept { return ops_; }
  Alloc& inner() noexcept { return inner_; }
  const Alloc& inner() const noexcept { return inner_; }

 private:
  Alloc inner_;
  [[no_unique_address]] CacheOps ops_;
};

}  // namespace genpt
