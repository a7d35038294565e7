// freestanding_run.cpp - a kernel-style static program (issue 10, defect 6).
//
// The freestanding_run ctest compiles this file with -ffreestanding
// -fno-exceptions -fno-rtti -nostdlib -static, links it with nothing but
// itself (its own _start, memset, memcpy, memmove, memcmp), runs it and
// expects exit status 0. For every format it creates a page_table over
// arena_levels in a static block, maps, translates and unmaps; a failed
// check exits with its own non-zero number. x86-64 Linux only (the entry
// point and the exit system call are written here in assembly).
#include <cstddef>
#include <cstdint>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

// -- The C library the compiler may call (nothing else is linked) ------------
// noexcept: as the C library declares them where a hosted <cstring> is seen.

extern "C" {
void* memset(void* d, int c, std::size_t n) noexcept;
void* memcpy(void* __restrict d, const void* __restrict s, std::size_t n) noexcept;
void* memmove(void* d, const void* s, std::size_t n) noexcept;
int memcmp(const void* a, const void* b, std::size_t n) noexcept;

// String instructions, so the compiler cannot turn these bodies back into
// calls to themselves.
void* memset(void* d, int c, std::size_t n) noexcept {
  void* p = d;
  __asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
  return d;
}
void* memcpy(void* __restrict d, const void* __restrict s, std::size_t n) noexcept {
  void* p = d;
  __asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
  return d;
}
void* memmove(void* d, const void* s, std::size_t n) noexcept {
  const auto du = reinterpret_cast<std::uintptr_t>(d);  // address comparison only
  const auto su = reinterpret_cast<std::uintptr_t>(s);
  if (du <= su || du >= su + n) return memcpy(d, s, n);
  // Overlap with the destination above: copy backwards (DF=1, then clear it).
  void* p = static_cast<char*>(d) + n - 1;
  const void* q = static_cast<const char*>(s) + n - 1;
  __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(p), "+S"(q), "+c"(n) : : "memory");
  return d;
}
int memcmp(const void* a, const void* b, std::size_t n) noexcept {
  const volatile unsigned char* x = static_cast<const unsigned char*>(a);
  const volatile unsigned char* y = static_cast<const unsigned char*>(b);
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

int genpt_fs_main();
}

// Entry: the kernel leaves rsp 16-byte aligned with no return address; call
// the C++ main with the ABI's alignment and pass its result to exit_group.
__asm__(R"(
  .text
  .globl _start
  .type _start, @function
_start:
  xor %ebp, %ebp
  and $-16, %rsp
  call genpt_fs_main
  mov %eax, %edi
  mov $231, %eax
  syscall
  hlt
)");

namespace {

// 4 MiB of table memory, 1 MiB aligned (a 16K stage 2 top of 16
// concatenated tables is 256 KiB and must be aligned to its size).
constexpr std::size_t kBlockBytes = std::size_t{4} << 20;
alignas(1 << 20) unsigned char g_block[kBlockBytes];
constexpr genpt::oa_t kBaseOa = 0x8000'0000;

/// Creates a table of `Format` over the arena, maps `len` bytes at va -> oa,
/// translates a byte inside, unmaps and translates again. Returns 0, or
/// `code` plus the step that failed (1..6).
template <class Format>
int exercise(const typename Format::config& c, genpt::va_t va, genpt::oa_t oa, std::uint64_t len,
             int code) {
  auto pt = genpt::page_table<Format, genpt::arena_levels>::create(
      c, genpt::arena_levels(g_block, kBlockBytes, kBaseOa));
  if (!pt) return code + 1;
  // The top lies in the arena: oa = base_oa + offset.
  const genpt::oa_t root = pt->hw_info().root;
  if (root < kBaseOa || root >= kBaseOa + kBlockBytes) return code + 2;
  if (!pt->map(va, oa, len, genpt::prot::read | genpt::prot::write)) return code + 3;
  if (pt->iova_to_phys(va + len - 8).value_or(0) != oa + len - 8) return code + 4;
  if (pt->unmap(va, len) != len) return code + 5;
  if (pt->iova_to_phys(va).has_value()) return code + 6;
  return 0;
}

template <unsigned G, unsigned S>
typename genpt::armv8<G, S>::config arm(unsigned va_lg2) {
  typename genpt::armv8<G, S>::config c;
  c.va_lg2 = va_lg2;
  return c;
}

}  // namespace

int genpt_fs_main() {
  using namespace genpt;
  int r = 0;
  x86_64::config x4;
  x4.top_level = 3;
  if ((r = exercise<x86_64>(x4, 0x7f00'0020'0000, 0x1'2340'0000, 0x20'1000, 10))) return r;
  x86_64::config x5;
  x5.top_level = 4;
  if ((r = exercise<x86_64>(x5, 0xFFFF'FFFF'FFE0'0000, 0x4000'0000, 0x20'0000, 20))) return r;
  if ((r = exercise<amdv1>(amdv1::config{}, 0x4000'0000, 0x8000'1000, 0x3000, 30))) return r;
  if ((r = exercise<armv8<12, 1>>(arm<12, 1>(48), 0x1'0000'0000, 0x2000'0000, 0x20'0000, 40)))
    return r;
  if ((r = exercise<armv8<14, 1>>(arm<14, 1>(47), 0x4000, 0x8000, 0x4000, 50))) return r;
  if ((r = exercise<armv8<16, 1>>(arm<16, 1>(48), 0x10'0000, 0x20'0000, 0x1'0000, 60))) return r;
  if ((r = exercise<armv8<12, 2>>(arm<12, 2>(40), 0x20'0000, 0x40'0000, 0x1000, 70))) return r;
  // 16K stage 2, 40-bit IPA: 16 concatenated tables, a 256 KiB top.
  if ((r = exercise<armv8<14, 2>>(arm<14, 2>(40), 0xFF'FFFF'C000, 0xC000, 0x4000, 80))) return r;
  if ((r = exercise<armv8<16, 2>>(arm<16, 2>(42), 0x2000'0000, 0x1000'0000, 0x2000'0000, 90)))
    return r;
  return 0;
}
