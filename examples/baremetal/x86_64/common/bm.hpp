// bm.hpp - what the genpt bare-metal x86-64 kernels share: port I/O, the
// serial console, the exit device, control registers, the IDT with fault
// probes, and the pass/FAIL report. Include it before any genpt header: it
// routes GENPT_ASSERT to the serial port.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bm {
[[noreturn]] void assert_fail(const char* file, int line, const char* msg) noexcept;
}
#define GENPT_ASSERT(cond, msg) \
  ((cond) ? static_cast<void>(0) : ::bm::assert_fail(__FILE__, __LINE__, msg))

namespace bm {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

// -- Port I/O and control registers ---------------------------------------
inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
inline u8 inb(u16 port) {
  u8 v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
inline u32 inl(u16 port) {
  u32 v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline u64 read_cr0() {
  u64 v;
  __asm__ volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}
inline u64 read_cr2() {
  u64 v;
  __asm__ volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
inline u64 read_cr3() {
  u64 v;
  __asm__ volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}
inline u64 read_cr4() {
  u64 v;
  __asm__ volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}
inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
inline void invlpg(u64 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
inline u64 rdmsr(u32 msr) {
  u32 lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (u64{hi} << 32) | lo;
}
struct cpuid_regs {
  u32 a, b, c, d;
};
inline cpuid_regs cpuid(u32 leaf, u32 sub = 0) {
  cpuid_regs r;
  __asm__ volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(sub));
  return r;
}

// Control-register and MSR bits the checks read (SDM Vol. 3A §2.5, Vol. 4 §2.2.1).
inline constexpr u64 cr0_wp = u64{1} << 16;
inline constexpr u64 cr0_pg = u64{1} << 31;
inline constexpr u64 cr4_pae = u64{1} << 5;
inline constexpr u64 cr4_la57 = u64{1} << 12;
inline constexpr u32 msr_efer = 0xC0000080;
inline constexpr u64 efer_lma = u64{1} << 10;
inline constexpr u64 efer_nxe = u64{1} << 11;

// #PF error code bits, SDM Vol. 3A §4.7 Figure 4-12.
inline constexpr u64 pf_p = u64{1} << 0;     ///< 0: not present; 1: protection violation
inline constexpr u64 pf_wr = u64{1} << 1;    ///< 1: the access was a write
inline constexpr u64 pf_us = u64{1} << 2;    ///< 1: user-mode access
inline constexpr u64 pf_rsvd = u64{1} << 3;  ///< 1: a reserved bit was set
inline constexpr u64 pf_id = u64{1} << 4;    ///< 1: instruction fetch

// -- Serial console and the report ----------------------------------------
void serial_init();
void put_char(char c);
void print(const char* s);

/// A short text buffer for one check's details: s(text), x(hex), d(decimal).
class text {
 public:
  text& s(const char* p);
  text& x(u64 v);
  text& d(u64 v);
  const char* c_str() const { return buf_; }

 private:
  char buf_[240] = {};
  std::size_t n_ = 0;
};

/// Prints "genpt-bm: <name>: pass" or "genpt-bm: <name>: FAIL <details>"
/// and counts it; returns ok.
bool check(const char* name, bool ok, const text& details = text{});
/// Prints a line that is not a check: "genpt-bm: note: <msg>".
void note(const char* msg);
void note(const text& msg);
/// Prints "genpt-bm: done <passed> passed, <failed> failed" and makes QEMU
/// exit through isa-debug-exit (status 1 when nothing failed, else 3).
[[noreturn]] void finish();

// -- Interrupts and probes -------------------------------------------------
/// Loads an IDT whose vectors 0-31 enter bm_trap.
void idt_init();

/// What the last probe saw: faulted, and when it did, the #PF error code and CR2.
struct probe_result {
  bool faulted;
  u64 err;
  u64 cr2;
};
probe_result probe_read(u64 va, u64* out);
probe_result probe_write(u64 va, u64 value);
probe_result probe_exec(u64 va);

template <class T>
inline volatile T& vol(T* p) {
  return *static_cast<volatile T*>(p);
}

}  // namespace bm

extern "C" {
// Linker-script symbols (common/kernel.ld).
extern char __kernel_start[], __kernel_end[];
// Set by boot.S.
extern std::uint32_t boot_la57, boot_mb_magic;
}
