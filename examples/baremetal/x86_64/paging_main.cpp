// paging_main.cpp - bare-metal x86-64 kernel whose own page tables are
// genpt::page_table<x86_64, arena_levels> (issue 14, part 1).
//
// Built twice: GENPT_BM_LEVELS=4 (4-level paging, config top_level = 3)
// and GENPT_BM_LEVELS=5 (5-level, top_level = 4, CR4.LA57 set by the boot
// path). The kernel maps itself identity through genpt, loads CR3 from
// hw_info() and checks what the CPU (QEMU TCG) makes of genpt's tables:
// aliases of 4K/2M/1G pages in both halves, #PF error codes, the A/D bits
// the CPU sets and read_and_clear_dirty, and unmap + invlpg. Every check
// prints one pass/FAIL line on COM1 (see README.md).
#include "common/bm.hpp"  // first: routes GENPT_ASSERT
#include "common/cpu_paging.hpp"

#ifndef GENPT_BM_LEVELS
#error "build with -DGENPT_BM_LEVELS=4 or 5"
#endif

namespace {

using namespace bm;
using genpt::prot;
using X = genpt::x86_64;

constexpr unsigned levels = GENPT_BM_LEVELS;
static_assert(levels == 4 || levels == 5);

constexpr u64 kib4 = u64{1} << 12;
constexpr u64 mib2 = u64{1} << 21;
constexpr u64 gib1 = u64{1} << 30;

using table = cpu_table;

// -- Memory ------------------------------------------------------------------

// Table memory: identity-mapped, so its physical address is its address.
alignas(4096) unsigned char g_arena[1 << 20];
// Test pages: each a 4K alias target.
alignas(4096) unsigned char g_pages[8][4096];
// A 2 MiB-aligned block: the 2M alias target.
alignas(1 << 21) unsigned char g_big[1 << 21];
// Written before the CR3 switch, read after it.
volatile u64 g_sentinel = 0;

volatile u64* at(u64 va) { return reinterpret_cast<volatile u64*>(va); }

/// A value no other step of the run writes (splitmix64 of k).
u64 pattern(u64 k) {
  u64 z = k + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The leaf translating va in the tables CR3 points to, by this test's own
/// walk (SDM Vol. 3A §4.5.4, not genpt's): nullptr when a level is not
/// present; *level = 0 (4K PTE), 1 (2M PDE) or 2 (1G PDPTE).
volatile u64* raw_leaf(u64 va, unsigned* level) {
  u64 table_pa = read_cr3() & X::ADDR;
  for (int l = static_cast<int>(levels) - 1; l >= 0; --l) {
    auto* e = reinterpret_cast<volatile u64*>(table_pa) + ((va >> (12 + 9 * l)) & 511);
    const u64 v = *e;
    if (!(v & X::P)) return nullptr;
    if (l == 0 || (l <= 2 && (v & X::PS))) {
      *level = static_cast<unsigned>(l);
      return e;
    }
    table_pa = v & X::ADDR;
  }
  return nullptr;
}

/// The raw leaf word of va (0 when unmapped) and its level.
u64 raw_word(u64 va, unsigned* level = nullptr) {
  unsigned l = 9;
  volatile u64* e = raw_leaf(va, &l);
  if (level) *level = l;
  return e ? *e : 0;
}

/// Where the aliases of one half live (a 1 GiB-aligned base).
struct half {
  const char* name;
  u64 base;
  u64 va_1g() const { return base; }
  u64 va_2m() const { return base + gib1; }
  u64 va_4k(unsigned k = 0) const { return base + 2 * gib1 + k * kib4; }
};

// Low half: 1 TiB (4-level) or 2^55 (5-level: PML5 index 128, above what
// 4-level paging decodes). High half: sign-extended, bit 47 / bit 56 set.
constexpr half low{"low half",
                   levels == 5 ? u64{0x0080'0000'0000'0000} : u64{0x0000'0100'0000'0000}};
constexpr half high{"high half",
                    levels == 5 ? u64{0xFF40'0000'0000'0000} : u64{0xFFFF'8800'0000'0000}};

text name(const char* a, const char* b = "") { return text().s(a).s(b); }

// -- Checks --------------------------------------------------------------------

/// Returns false when the CPU lacks what the checks need (NX, 1G pages,
/// LA57 for the 5-level kernel): the table checks cannot run.
bool check_boot_state() {
  check("multiboot entry (EAX = 0x2BADB002)", boot_mb_magic == 0x2BADB002,
        text().s("eax ").x(boot_mb_magic));
  const u64 efer = rdmsr(msr_efer);
  const u64 cr0 = read_cr0();
  // XD bits are reserved without EFER.NXE, 1G leaves without the feature:
  // the table checks would fault, so the kernel stops here.
  if (!check("long mode with EFER.NXE and CR0.WP",
             (efer & efer_lma) && (efer & efer_nxe) && (cr0 & cr0_wp),
             text().s("efer ").x(efer).s(" cr0 ").x(cr0)))
    return false;
  // CPUID 80000001h EDX bit 26: 1-GByte pages (SDM Vol. 2A CPUID).
  if (!check("cpuid: 1G pages (80000001h EDX bit 26)", cpuid(0x80000001).d & (1u << 26)))
    return false;
  const u64 cr4 = read_cr4();
  if constexpr (levels == 5) {
    // CPUID.(EAX=7,ECX=0):ECX bit 16: LA57 (SDM Vol. 2A CPUID).
    const u32 ecx = cpuid(7, 0).c;
    check("cpuid: LA57 (leaf 7 ECX bit 16)", ecx & (1u << 16), text().s("ecx ").x(ecx));
    return check("CR4.LA57 set by the boot path", (cr4 & cr4_la57) && boot_la57,
                 text().s("cr4 ").x(cr4));
  } else {
    return check("CR4.LA57 clear (4-level paging)", !(cr4 & cr4_la57), text().s("cr4 ").x(cr4));
  }
}

/// Maps the kernel identity, switches CR3 to genpt's root. Returns false
/// when the kernel cannot go on.
bool switch_to_genpt(table& pt) {
  const auto hw = pt.hw_info();
  check("hw_info: levels and a root inside the arena",
        hw.levels == levels && hw.root >= pa(g_arena) && hw.root < pa(g_arena) + sizeof g_arena &&
            (hw.root & 0xFFF) == 0,
        text().s("levels ").d(hw.levels).s(" root ").x(hw.root));
  // [4K, end of the image rounded up to 2M): text, data, stack, the arena
  // and the test pages; page 0 stays unmapped. COM1 and the exit device
  // are I/O ports: nothing to map.
  const u64 end = (pa(__kernel_end) + mib2 - 1) & ~(mib2 - 1);
  auto r = pt.map(kib4, kib4, end - kib4, prot::read | prot::write | prot::priv);
  if (!check("identity map of the kernel image", r.has_value(),
             text().s("errc ").d(r ? 0 : static_cast<u64>(r.error()))))
    return false;
  g_sentinel = pattern(1);
  write_cr3(hw.root);
  const u64 cr3 = read_cr3();
  check("CR3 = genpt's root; the kernel runs on",
        (cr3 & X::ADDR) == hw.root && g_sentinel == pattern(1),
        text().s("cr3 ").x(cr3).s(" root ").x(hw.root));
  unsigned l = 9;
  const u64 w = raw_word(pa(&g_sentinel), &l);
  check("identity leaf of .bss: present, writable, supervisor",
        (w & X::P) && (w & X::RW) && !(w & X::US) &&
            (w & X::ADDR & ~((u64{1} << (12 + 9 * l)) - 1)) ==
                (pa(&g_sentinel) & ~((u64{1} << (12 + 9 * l)) - 1)),
        text().s("leaf ").x(w).s(" level ").d(l));
  return true;
}

void map_aliases(table& pt, const half& h) {
  const prot rw = prot::read | prot::write | prot::priv;
  auto r1 = pt.map(h.va_4k(), pa(g_pages[0]), kib4, rw);
  auto r2 = pt.map(h.va_2m(), pa(g_big), mib2, rw);
  auto r3 = pt.map(h.va_1g(), 0, gib1, rw);
  unsigned l1 = 9, l2 = 9, l3 = 9;
  raw_word(h.va_4k(), &l1);
  raw_word(h.va_2m(), &l2);
  raw_word(h.va_1g(), &l3);
  check(name("map 4K, 2M and 1G aliases: one leaf each at PTE, PDE, PDPTE, ", h.name).c_str(),
        r1 && r2 && r3 && l1 == 0 && l2 == 1 && l3 == 2,
        text()
            .s("ok ")
            .d(r1.has_value())
            .d(r2.has_value())
            .d(r3.has_value())
            .s(" levels ")
            .d(l1)
            .s(",")
            .d(l2)
            .s(",")
            .d(l3));
}

/// Write through the alias, read identity; write identity, read the alias.
bool alias_round_trip(u64 alias, u64 ident, u64 seed, text& t) {
  const u64 a = pattern(seed), b = pattern(seed + 1);
  *at(alias) = a;
  const u64 got_ident = *at(ident);
  *at(ident + 8) = b;
  const u64 got_alias = *at(alias + 8);
  t.s("alias ")
      .x(alias)
      .s(" ident ")
      .x(ident)
      .s(" read ")
      .x(got_ident)
      .s("/")
      .x(got_alias)
      .s(" want ")
      .x(a)
      .s("/")
      .x(b);
  return got_ident == a && got_alias == b;
}

void check_aliases(table& pt, const half& h, u64 seed) {
  {
    text t;
    const u64 off = 0x7F0;
    bool ok = alias_round_trip(h.va_4k() + off, pa(g_pages[0]) + off, seed, t);
    ok = ok && pt.iova_to_phys(h.va_4k() + off).value_or(0) == pa(g_pages[0]) + off;
    check(name("alias 4K page, ", h.name).c_str(), ok, t);
  }
  {
    text t;
    const u64 off = 0x1F'FFF0;  // the last bytes of the 2 MiB page
    bool ok = alias_round_trip(h.va_2m() + off - 8, pa(g_big) + off - 8, seed + 10, t);
    text t2;
    ok = alias_round_trip(h.va_2m() + 0x12'3450, pa(g_big) + 0x12'3450, seed + 20, t2) && ok;
    check(name("alias 2M page, ", h.name).c_str(), ok, t.s(" ").s(t2.c_str()));
  }
  {
    text t;
    const u64 target = pa(g_pages[1]) + 0x220;  // physical address = offset in the 1 GiB page
    bool ok = alias_round_trip(h.va_1g() + target, target, seed + 30, t);
    ok = ok && pt.iova_to_phys(h.va_1g() + target).value_or(0) == target;
    check(name("alias 1G page, ", h.name).c_str(), ok, t);
  }
}

/// An access that must fault: faulted, CR2 = va, error code bits as asked.
bool fault_as(const probe_result& p, u64 va, u64 must_set, u64 must_clear, text& t) {
  t.s("faulted ").d(p.faulted).s(" err ").x(p.err).s(" cr2 ").x(p.cr2).s(" want cr2 ").x(va);
  return p.faulted && p.cr2 == va && (p.err & must_set) == must_set && (p.err & must_clear) == 0;
}

void check_faults(table& pt) {
  const prot ro = prot::read | prot::priv;
  // Not present, in a page table that exists (empty PTE).
  {
    const u64 va = low.va_4k(256) + 0x18;
    u64 v = 0;
    text t;
    check("#PF on an unmapped page (empty PTE): P=0, W/R=0, CR2",
          fault_as(probe_read(va, &v), va, 0, pf_p | pf_wr | pf_id, t), t);
  }
  // Not present at the PML4 level: no table below.
  {
    const u64 va = low.base + (u64{1} << 39) + 0x1238;
    u64 v = 0;
    text t;
    check("#PF on an unmapped page (empty PML4E): P=0, CR2",
          fault_as(probe_read(va, &v), va, 0, pf_p | pf_wr | pf_id, t), t);
  }
  // A write to a read-only page (CR0.WP=1 makes it fault in ring 0).
  {
    const u64 va = low.va_4k(1);
    const u64 before = pattern(100);
    *at(pa(g_pages[2]) + 0x40) = before;
    auto r = pt.map(va, pa(g_pages[2]), kib4, ro);
    u64 v = 0;
    const probe_result rd = probe_read(va + 0x40, &v);
    text t;
    const bool wr =
        fault_as(probe_write(va + 0x40, pattern(101)), va + 0x40, pf_p | pf_wr, pf_id, t);
    const u64 after = *at(pa(g_pages[2]) + 0x40);
    check("read-only page: reads, a write faults with P=1 W/R=1 and changes nothing",
          r && !rd.faulted && v == before && wr && after == before,
          t.s(" read ").x(v).s(" faulted ").d(rd.faulted).s(" memory ").x(after));
  }
  // Instruction fetch: the same RET page, mapped with and without exec.
  {
    g_pages[3][0] = 0xC3;  // RET
    const u64 va_x = low.va_4k(2), va_nx = low.va_4k(3);
    auto r1 = pt.map(va_x, pa(g_pages[3]), kib4, ro);
    auto r2 = pt.map(va_nx, pa(g_pages[3]), kib4, ro | prot::noexec);
    const probe_result px = probe_exec(va_x);
    text t;
    const bool nx = fault_as(probe_exec(va_nx), va_nx, pf_p | pf_id, pf_wr, t);
    const u64 leaf = raw_word(va_nx);
    check("no-exec page: fetch faults with P=1 I/D=1 (the exec alias runs)",
          r1 && r2 && !px.faulted && nx && (leaf & X::XD),
          t.s(" exec-alias faulted ").d(px.faulted).s(" leaf ").x(leaf));
  }
}

/// Collects what read_and_clear_dirty reports.
struct dirty_log {
  u64 va[4] = {};
  u64 len[4] = {};
  unsigned n = 0;
  void record(u64 v, u64 l) {
    if (n < 4) {
      va[n] = v;
      len[n] = l;
    }
    ++n;
  }
};

void check_dirty(table& pt) {
  // Two adjacent pages: W is written, R only read. attrs rather than prot:
  // prot::write pre-sets D (and A) so the CPU need not write them.
  const u64 va_w = low.va_4k(4), va_r = low.va_4k(5);
  X::attrs a;
  a.write = true;
  auto r = pt.map(va_w, pa(g_pages[4]), 2 * kib4, a);
  const u64 w0 = raw_word(va_w), r0 = raw_word(va_r);
  (void)*at(va_r + 0x80);
  *at(va_w + 0x80) = pattern(200);
  const u64 w1 = raw_word(va_w), r1 = raw_word(va_r);
  check("CPU sets A and D on a write, A only on a read",
        r && !(w0 & (X::A | X::D)) && !(r0 & (X::A | X::D)) && (w1 & X::A) && (w1 & X::D) &&
            (r1 & X::A) && !(r1 & X::D),
        text().s("W ").x(w0).s("->").x(w1).s(" R ").x(r0).s("->").x(r1));

  dirty_log log;
  genpt::gather g;
  auto h = pt.read_and_clear_dirty(va_w, 2 * kib4, log, g);
  check("read_and_clear_dirty reports the written page only",
        h && log.n == 1 && log.va[0] == va_w && log.len[0] == kib4,
        text().s("records ").d(log.n).s(" first ").x(log.va[0]).s("+").x(log.len[0]));
  const u64 w2 = raw_word(va_w);
  check("D is 0 in memory after the harvest", (w2 & X::P) && !(w2 & X::D), text().s("W ").x(w2));
  const unsigned flushes = g_flushes;
  pt.sync(g);
  // The harvest's sync invalidated the TLB entry that still said "dirty":
  // the next write walks again and sets D.
  *at(va_w + 0x88) = pattern(201);
  const u64 w3 = raw_word(va_w);
  check("after the harvest's sync (INVLPG) a new write sets D again",
        g_flushes == flushes + 1 && g_last_flush.va <= va_w && g_last_flush.last >= va_w &&
            (w3 & X::D),
        text()
            .s("flushes ")
            .d(g_flushes - flushes)
            .s(" range ")
            .x(g_last_flush.va)
            .s("..")
            .x(g_last_flush.last)
            .s(" W ")
            .x(w3));
}

/// Reads through va (TLB now holds it), unmaps [va, va + size) with a
/// gather, syncs (INVLPG) and reads again: it must fault not-present.
void check_unmap(table& pt, const char* what, u64 va, u64 size, u64 probe_off) {
  u64 v = 0;
  const probe_result before = probe_read(va + probe_off, &v);
  genpt::gather g;
  const u64 n = pt.unmap(va, size, g);
  const unsigned flushes = g_flushes;
  pt.sync(g);
  const bool flushed =
      g_flushes == flushes + 1 && g_last_flush.va <= va && g_last_flush.last >= va + size - 1;
  text t;
  const bool faults = fault_as(probe_read(va + probe_off, &v), va + probe_off, 0, pf_p | pf_wr, t);
  check(name("unmap + sync (INVLPG) makes the address fault: ", what).c_str(),
        !before.faulted && n == size && flushed && faults && !pt.iova_to_phys(va + probe_off),
        t.s(" read before faulted ")
            .d(before.faulted)
            .s(" unmapped ")
            .x(n)
            .s(" flush ")
            .x(g_last_flush.va)
            .s("..")
            .x(g_last_flush.last));
}

}  // namespace

extern "C" void bm_main() {
  serial_init();
  idt_init();
  print(text().s("genpt-bm: start x86_64 paging, ").d(levels).s("-level\n").c_str());
  if (!check_boot_state()) finish();

  X::config cfg;
  cfg.top_level = levels - 1;  // 3: PML4 top, 4: PML5 top
  cfg.features = X::sign_extend;
  auto pt = table::create(cfg, genpt::arena_levels(g_arena, sizeof g_arena, pa(g_arena)));
  if (!check("create page_table<x86_64, arena_levels>", pt.has_value())) finish();
  if (!switch_to_genpt(*pt)) finish();

  map_aliases(*pt, low);
  map_aliases(*pt, high);
#ifdef GENPT_BM_CORRUPT
  {
    // Negative control: one address bit of the low 4K alias's PTE flipped
    // (it then points 8 KiB away); the alias checks must see it.
    unsigned l = 9;
    volatile u64* e = raw_leaf(low.va_4k(), &l);
    if (e) *e = *e ^ (u64{1} << 13);
    invlpg(low.va_4k());
    note("GENPT_BM_CORRUPT: flipped PTE address bit 13 of the low-half 4K alias");
  }
#endif
  check_aliases(*pt, low, 1000);
  check_aliases(*pt, high, 2000);
  check_faults(*pt);
  check_dirty(*pt);
  check_unmap(*pt, "4K, low half", low.va_4k(), kib4, 0x7F0);
  check_unmap(*pt, "2M, low half", low.va_2m(), mib2, 0x12'3450);
  check_unmap(*pt, "1G, high half", high.va_1g(), gib1, pa(g_pages[1]) + 0x220);
  finish();
}
