// bm.cpp - the shared runtime of the genpt bare-metal x86-64 kernels:
// mem* functions the compiler may call, COM1, isa-debug-exit, the IDT and
// its trap handler, the probes' C++ side and the pass/FAIL counters.
#include "bm.hpp"

extern "C" {
// The C library functions a freestanding g++ may emit calls to (nothing else
// is linked). String instructions, so the bodies cannot turn into calls to
// themselves (as tests/freestanding/freestanding_run.cpp).
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

// Probe state, defined in traps.S.
extern std::uint64_t bm_probe_rip, bm_probe_rsp;
extern std::uint32_t bm_probe_active, bm_probe_faulted;
extern const std::uint64_t bm_trap_stubs[32];
int bm_probe_read(std::uint64_t va, std::uint64_t* out);
int bm_probe_write(std::uint64_t va, std::uint64_t value);
int bm_probe_exec(std::uint64_t va);

/// What trap_common pushed (lowest address first).
struct bm_frame {
  std::uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
  std::uint64_t vector, err;
  std::uint64_t rip, cs, rflags, rsp, ss;  // SDM Vol. 3A §6.14.1
};
void bm_trap(bm_frame* f);
}

namespace bm {
namespace {

constexpr u16 com1 = 0x3F8;            // PC COM1 base; 16550 registers below (PC16550D datasheet)
constexpr u16 uart_ier = com1 + 1;     // interrupt enable
constexpr u16 uart_fcr = com1 + 2;     // FIFO control
constexpr u16 uart_lcr = com1 + 3;     // line control (bit 7: divisor latch access)
constexpr u16 uart_mcr = com1 + 4;     // modem control
constexpr u16 uart_lsr = com1 + 5;     // line status (bit 5: transmit holding register empty)
constexpr u16 debug_exit_port = 0xF4;  // QEMU isa-debug-exit default iobase

unsigned g_passed = 0;
unsigned g_failed = 0;

// Last fault seen by a probe.
u64 g_probe_err = 0;
u64 g_probe_cr2 = 0;

/// 64-bit interrupt gate, SDM Vol. 3A §6.14.1 Figure 6-8.
struct idt_gate {
  u16 offset_lo;
  u16 selector;
  u8 ist;
  u8 type_attr;  // P=1, DPL=0, type 0xE (64-bit interrupt gate)
  u16 offset_mid;
  u32 offset_hi;
  u32 reserved;
};
static_assert(sizeof(idt_gate) == 16);
alignas(16) idt_gate g_idt[32];

}  // namespace

void serial_init() {
  outb(uart_ier, 0x00);
  outb(uart_lcr, 0x80);  // DLAB=1: the next two writes set the divisor
  outb(com1 + 0, 0x01);  // divisor 1: 115200 baud
  outb(com1 + 1, 0x00);
  outb(uart_lcr, 0x03);  // 8 data bits, no parity, 1 stop bit, DLAB=0
  outb(uart_fcr, 0xC7);  // FIFO on and cleared
  outb(uart_mcr, 0x03);  // DTR, RTS
}

void put_char(char c) {
  while (!(inb(uart_lsr) & 0x20)) {
  }
  outb(com1, static_cast<u8>(c));
}

void print(const char* s) {
  for (; *s; ++s) put_char(*s);
}

text& text::s(const char* p) {
  while (*p && n_ + 1 < sizeof buf_) buf_[n_++] = *p++;
  buf_[n_] = 0;
  return *this;
}
text& text::x(u64 v) {
  char t[19] = "0x";
  int i = 0;
  char digits[16];
  do {
    digits[i++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  int k = 2;
  while (i) t[k++] = digits[--i];
  t[k] = 0;
  return s(t);
}
text& text::d(u64 v) {
  char digits[21];
  int i = 0;
  do {
    digits[i++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  char t[21];
  int k = 0;
  while (i) t[k++] = digits[--i];
  t[k] = 0;
  return s(t);
}

bool check(const char* name, bool ok, const text& details) {
  print("genpt-bm: ");
  print(name);
  if (ok) {
    print(": pass\n");
    ++g_passed;
  } else {
    print(": FAIL ");
    print(details.c_str());
    print("\n");
    ++g_failed;
  }
  return ok;
}

void note(const char* msg) {
  print("genpt-bm: note: ");
  print(msg);
  print("\n");
}
void note(const text& msg) { note(msg.c_str()); }

void finish() {
  print(text().s("genpt-bm: done ").d(g_passed).s(" passed, ").d(g_failed).s(" failed\n").c_str());
  outl(debug_exit_port, g_failed ? 1 : 0);  // QEMU exits with (value << 1) | 1
  for (;;) __asm__ volatile("cli; hlt");
}

void assert_fail(const char* file, int line, const char* msg) noexcept {
  check("genpt assertion", false, text().s(file).s(":").d(static_cast<u64>(line)).s(": ").s(msg));
  finish();
}

void idt_init() {
  for (unsigned v = 0; v < 32; ++v) {
    const u64 a = bm_trap_stubs[v];
    g_idt[v] = idt_gate{static_cast<u16>(a),       0x08, 0, 0x8E, static_cast<u16>(a >> 16),
                        static_cast<u32>(a >> 32), 0};
  }
  struct __attribute__((packed)) {
    u16 limit;
    u64 base;
  } idtr{sizeof g_idt - 1, reinterpret_cast<u64>(g_idt)};
  __asm__ volatile("lidt %0" : : "m"(idtr));
}

probe_result probe_read(u64 va, u64* out) {
  const bool f = bm_probe_read(va, out) != 0;
  return {f, f ? g_probe_err : 0, f ? g_probe_cr2 : 0};
}
probe_result probe_write(u64 va, u64 value) {
  const bool f = bm_probe_write(va, value) != 0;
  return {f, f ? g_probe_err : 0, f ? g_probe_cr2 : 0};
}
probe_result probe_exec(u64 va) {
  const bool f = bm_probe_exec(va) != 0;
  return {f, f ? g_probe_err : 0, f ? g_probe_cr2 : 0};
}

}  // namespace bm

void bm_trap(bm_frame* f) {
  constexpr std::uint64_t vec_pf = 14;  // SDM Vol. 3A §6.15: #PF
  if (f->vector == vec_pf && bm_probe_active) {
    bm::g_probe_err = f->err;
    bm::g_probe_cr2 = bm::read_cr2();
    bm_probe_active = 0;
    bm_probe_faulted = 1;
    f->rip = bm_probe_rip;
    f->rsp = bm_probe_rsp;
    return;
  }
  bm::check(
      "no unexpected exception", false,
      bm::text().s("vector ").d(f->vector).s(" err ").x(f->err).s(" rip ").x(f->rip).s(" cr2 ").x(
          bm::read_cr2()));
  bm::finish();
}
