// bm_support.hpp - what the genpt bare-metal AArch64 kernels share: the
// PL011 console, semihosting exit, the check reporter, exception records,
// system-register access and the ESR_ELx decoding constants.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bm {

using u64 = std::uint64_t;

// -- Console: PL011 UART of QEMU virt ---------------------------------------
// Base 0x09000000 (QEMU hw/arm/virt.c memmap VIRT_UART); registers from the
// Arm PrimeCell UART (PL011) TRM DDI 0183, 3.2 "Summary of registers".
inline constexpr u64 uart_base = 0x0900'0000;
inline constexpr u64 uart_dr = 0x00;          // UARTDR data register
inline constexpr u64 uart_fr = 0x18;          // UARTFR flag register
inline constexpr std::uint32_t uart_fr_txff = 1u << 5;  // UARTFR.TXFF transmit FIFO full

inline void putch(char c) {
  volatile std::uint32_t* const fr = reinterpret_cast<volatile std::uint32_t*>(uart_base + uart_fr);
  volatile std::uint32_t* const dr = reinterpret_cast<volatile std::uint32_t*>(uart_base + uart_dr);
  while (*fr & uart_fr_txff) {
  }
  *dr = static_cast<unsigned char>(c);
}
inline void print(const char* s) {
  for (; *s; ++s) {
    if (*s == '\n') putch('\r');
    putch(*s);
  }
}
inline void print_hex(u64 v) {
  print("0x");
  bool started = false;
  for (int shift = 60; shift >= 0; shift -= 4) {
    const unsigned d = static_cast<unsigned>((v >> shift) & 0xF);
    if (d || started || shift == 0) {
      putch(static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10));
      started = true;
    }
  }
}
inline void print_dec(u64 v) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) putch(buf[--n]);
}

// -- Exit: Arm semihosting SYS_EXIT ------------------------------------------
// "Semihosting for AArch32 and AArch64" (Arm IHI 0056): operation 0x18
// SYS_EXIT, called with HLT #0xF000 in AArch64 state; x1 points to the pair
// {reason, subcode}; reason 0x20026 = ADP_Stopped_ApplicationExit. QEMU
// exits with the subcode as its status (needs -semihosting).
[[noreturn]] inline void quit(u64 code) {
  static u64 block[2];
  block[0] = 0x20026;
  block[1] = code;
  register u64 x0 __asm__("x0") = 0x18;
  register u64* x1 __asm__("x1") = block;
  __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
  for (;;) __asm__ volatile("wfi");
}

// -- Checks -------------------------------------------------------------------
// Every check prints exactly one line: "genpt-bm: <name>: pass" or
// "genpt-bm: <name>: FAIL <details>" (the first failed expectation).
struct totals {
  unsigned passed = 0;
  unsigned failed = 0;
};
inline totals g_totals;

class check {
 public:
  check(const char* prefix, const char* name) : prefix_(prefix), name_(name) {}
  check(const check&) = delete;
  check& operator=(const check&) = delete;
  ~check() { finish(); }

  /// Fails the check with `what` unless got == want.
  bool eq(const char* what, u64 got, u64 want) {
    if (got == want) return true;
    if (!failed_) {
      head();
      print(what);
      print(": got ");
      print_hex(got);
      print(" want ");
      print_hex(want);
      print("\n");
    }
    failed_ = true;
    return false;
  }
  /// Fails the check with `what` unless ok.
  bool that(const char* what, bool ok) {
    if (ok) return true;
    if (!failed_) {
      head();
      print(what);
      print("\n");
    }
    failed_ = true;
    return false;
  }
  bool failed() const { return failed_; }
  /// Prints the pass line (once), counts the verdict.
  void finish() {
    if (done_) return;
    done_ = true;
    if (failed_) {
      ++g_totals.failed;
      return;
    }
    ++g_totals.passed;
    print("genpt-bm: ");
    name();
    print(": pass\n");
  }

 private:
  void name() {
    print(prefix_);
    print(name_);
  }
  void head() {
    print("genpt-bm: ");
    name();
    print(": FAIL ");
  }
  const char* prefix_;
  const char* name_;
  bool failed_ = false;
  bool done_ = false;
};

/// A line that is neither pass nor FAIL (a feature QEMU does not model).
inline void note(const char* prefix, const char* name, const char* text) {
  print("genpt-bm: ");
  print(prefix);
  print(name);
  print(": note ");
  print(text);
  print("\n");
}

[[noreturn]] inline void done() {
  print("genpt-bm: done ");
  print_dec(g_totals.passed);
  print(" passed, ");
  print_dec(g_totals.failed);
  print(" failed\n");
  quit(g_totals.failed ? 1 : 0);
}

// -- Exceptions ----------------------------------------------------------------
// Written by start.S (offsets EXC_* there).
struct exc_record {
  u64 esr;
  u64 far;
  u64 elr;
  u64 hpfar;
  u64 x0;
  u64 count;
};

// ESR_ELx (Arm ARM D17.2.40 / D19 "ESR_EL1, Exception Syndrome Register").
inline constexpr unsigned esr_ec_shift = 26;        // EC, bits 31:26
inline constexpr u64 ec_hvc64 = 0x16;               // HVC in AArch64 state
inline constexpr u64 ec_iabt_lower = 0x20;          // Instruction Abort from a lower EL
inline constexpr u64 ec_dabt_lower = 0x24;          // Data Abort from a lower EL
inline constexpr u64 ec_dabt_cur = 0x25;            // Data Abort without a change in EL
inline constexpr u64 iss_wnr = u64{1} << 6;         // ISS (data abort) WnR: write not read
inline constexpr u64 iss_s1ptw = u64{1} << 7;       // ISS S1PTW: fault on a stage 2 walk of stage 1
inline constexpr u64 iss_fnv = u64{1} << 10;        // ISS FnV: FAR not valid
inline constexpr u64 dfsc_mask = 0x3F;              // ISS DFSC, bits 5:0
// DFSC values (ISS encoding for an exception from a Data Abort):
inline constexpr u64 dfsc_translation(unsigned arm_level) { return 0x04 | arm_level; }  // 0b0001LL
inline constexpr u64 dfsc_access_flag(unsigned arm_level) { return 0x08 | arm_level; }  // 0b0010LL
inline constexpr u64 dfsc_permission(unsigned arm_level) { return 0x0C | arm_level; }   // 0b0011LL

inline constexpr u64 esr_ec(u64 esr) { return (esr >> esr_ec_shift) & 0x3F; }

// -- System registers -------------------------------------------------------------
#define BM_READ_SYSREG(reg)                              \
  ([] {                                                  \
    ::bm::u64 v_;                                        \
    __asm__ volatile("mrs %0, " #reg : "=r"(v_));        \
    return v_;                                           \
  }())
#define BM_WRITE_SYSREG(reg, v) __asm__ volatile("msr " #reg ", %0" : : "r"(::bm::u64(v)) : "memory")

inline void isb() { __asm__ volatile("isb" ::: "memory"); }
inline void dsb_ish() { __asm__ volatile("dsb ish" ::: "memory"); }
inline void dsb_ishst() { __asm__ volatile("dsb ishst" ::: "memory"); }
inline void dsb_sy() { __asm__ volatile("dsb sy" ::: "memory"); }

/// Cleans and invalidates [p, p + n) to the point of coherency (DC CIVAC,
/// Arm ARM C5.3 "DC CIVAC"), so a walker with other cacheability sees the
/// writes. QEMU does not model caches; real hardware needs it when the
/// tables were written with the MMU off.
inline void dcache_clean_inval(const void* p, std::size_t n) {
  // CTR_EL0.DminLine (bits 19:16): log2 of words in the smallest D-cache line.
  const u64 ctr = BM_READ_SYSREG(ctr_el0);
  const u64 line = u64{4} << ((ctr >> 16) & 0xF);
  const u64 start = reinterpret_cast<u64>(p) & ~(line - 1);
  const u64 end = reinterpret_cast<u64>(p) + n;
  for (u64 a = start; a < end; a += line) __asm__ volatile("dc civac, %0" : : "r"(a) : "memory");
  dsb_sy();
}

/// A word that differs for every 8-byte aligned physical address: what the
/// aliases must read.
inline constexpr u64 pattern(u64 pa) { return 0xC0DE'0000'0000'0000ULL ^ (pa * 0x9E37'79B9ULL) ^ pa; }

}  // namespace bm

extern "C" {
extern bm::exc_record bm_exc;
int bm_probe_read(bm::u64 va, bm::u64* value);
int bm_probe_write(bm::u64 va, bm::u64 value);
[[noreturn]] void bm_unexpected(bm::u64 kind, bm::u64 esr, bm::u64 far, bm::u64 elr);
void bm_main();
}
