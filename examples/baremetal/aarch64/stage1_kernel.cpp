// stage1_kernel.cpp - bare-metal AArch64 kernel (EL1, QEMU virt) that turns
// its own MMU on through genpt::armv8<G, 1> tables and checks what the
// hardware walker does with them: aliases through TTBR0 and TTBR1 (page,
// block, contiguous run), translation / permission / access-flag faults
// decoded from ESR_EL1 and FAR_EL1, DBM dirty tracking, and unmap + TLBI.
// Built once per granule: -DGENPT_BM_GRANULE=12, 14 or 16. With
// -DGENPT_BM_CORRUPT it flips one address bit of the TTBR0 page alias's
// descriptor before the checks (the negative control: some check must FAIL).
#include <cstddef>
#include <cstdint>

#include "bm_support.hpp"
#include "bm_walk.hpp"
#include "genpt/alloc/arena_levels.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/page_table.hpp"

#ifndef GENPT_BM_GRANULE
#error "build with -DGENPT_BM_GRANULE=12, 14 or 16"
#endif

namespace {

using namespace bm;

constexpr unsigned G = GENPT_BM_GRANULE;
using fmt = genpt::armv8<G, 1>;
constexpr const char* prefix = G == 12 ? "4k/" : G == 14 ? "16k/" : "64k/";

constexpr u64 page = u64{1} << G;
constexpr u64 block = u64{1} << fmt::item_lg2(1);            // Arm level 2 block: 2M / 32M / 512M
constexpr u64 contig = u64{1} << (G + fmt::contig_lg2(0));   // level 3 run: 64K / 2M / 2M
constexpr u64 l1_item = u64{1} << fmt::item_lg2(2);          // Arm level 1 item: 1G / 64G / 4T
constexpr unsigned va_lg2 = 48;

// -- Physical layout (QEMU virt, -m 512M: RAM 0x40000000..0x5FFFFFFF) -------
constexpr u64 ram_base = 0x4000'0000;
constexpr u64 ram_size = 0x2000'0000;
// Data the aliases read; away from the image (0x40080000..) and aligned to
// what maps them. 64K blocks are 512M: the only aligned one is all of RAM.
constexpr u64 blk_oa = G == 16 ? 0x4000'0000 : 0x4800'0000;
constexpr u64 contig_oa = 0x4A00'0000;
constexpr u64 page_oa = 0x4C00'0000 + 3 * page;
constexpr u64 ro_oa = page_oa + page;
constexpr u64 af_oa = page_oa + 2 * page;
constexpr u64 dirty_oa = page_oa + 3 * page;

// -- Virtual layout ----------------------------------------------------------
// TTBR0 aliases at 64 GiB, away from the identity map of RAM.
constexpr u64 alias0 = 0x10'0000'0000;
constexpr u64 blk_va = alias0;
constexpr u64 contig_va = alias0 + 0x4000'0000;
constexpr u64 page_va = alias0 + 0x8000'0000;
constexpr u64 hole_l3_va = page_va + page;        // empty item of page_va's level 3 table
constexpr u64 ro_va = page_va + 2 * page;
constexpr u64 af_va = page_va + 3 * page;
constexpr u64 dirty_va = page_va + 4 * page;
constexpr u64 hole_l2_va = page_va + block;       // empty item of page_va's level 2 table
// Empty item of a level 1 table that exists (64K: the level 1 top).
constexpr u64 hole_l1_va = ((alias0 + 0xC000'0000 + l1_item - 1) & ~(l1_item - 1)) + l1_item;
// Empty item of the level 0 top (4K, 16K: 48-bit VA starts at level 0).
constexpr u64 hole_l0_va = u64{1} << fmt::item_lg2(3);
constexpr bool has_l0 = fmt::max_top_level >= 3;
// TTBR1 aliases: the upper half starts at 2^64 - 2^48.
constexpr u64 alias1 = 0xFFFF'8000'0000'0000;
constexpr u64 t1_blk_va = alias1;
constexpr u64 t1_contig_va = alias1 + 0x4000'0000;
constexpr u64 t1_page_va = alias1 + 0x8000'0000;
constexpr u64 t1_hole_l3_va = t1_page_va + page;

static_assert(hole_l2_va < hole_l1_va && contig <= 0x200'0000);

// -- TLB maintenance ---------------------------------------------------------
/// genpt's flush sink: TLBI VAE1IS per page of the range (Arm ARM C5.5
/// "TLBI VAE1IS": Xt[43:0] = VA[55:12], Xt[63:48] = ASID 0), or VMALLE1IS
/// for a large range, then DSB ISH and ISB (D8.13 "TLB maintenance").
struct tlbi_sink {
  void flush(const genpt::iotlb_flush& f) noexcept {
    dsb_ishst();  // the table writes reach the walker before the TLBI
    const u64 n = ((f.last - f.va) >> G) + 1;
    if (f.all || n > 64) {
      __asm__ volatile("tlbi vmalle1is" ::: "memory");
    } else {
      for (u64 i = 0; i < n; ++i) {
        const u64 va = f.va + (i << G);
        __asm__ volatile("tlbi vae1is, %0" : : "r"((va >> 12) & ((u64{1} << 44) - 1)) : "memory");
      }
    }
    dsb_ish();
    isb();
  }
};

using table_t = genpt::page_table<fmt, genpt::arena_levels, genpt::flush_range<tlbi_sink>>;

constexpr std::size_t arena_bytes = std::size_t{2} << 20;
alignas(1 << 20) unsigned char g_arena0[arena_bytes];
alignas(1 << 20) unsigned char g_arena1[arena_bytes];

// -- Reading tables as the walker does -----------------------------------------

/// Walks hw's table for va as the MMU would.
found walk(const fmt::hw_info& hw, u64 va) { return bm::walk<fmt>(hw, va_lg2, va); }

// -- Probes ---------------------------------------------------------------------

void clear_exc() {
  bm_exc.esr = 0;
  bm_exc.far = 0;
  bm_exc.elr = 0;
}

/// The access at va must have faulted with DFSC want_dfsc, FAR = va.
void expect_fault(check& c, int faulted, u64 va, u64 want_dfsc, bool write) {
  if (!c.that("the access did not fault", faulted == 1)) return;
  const u64 esr = bm_exc.esr;
  c.eq("ESR_EL1.EC", esr_ec(esr), ec_dabt_cur);
  c.eq("ESR_EL1.DFSC", esr & dfsc_mask, want_dfsc);
  c.eq("ESR_EL1.WnR", (esr & iss_wnr) ? 1 : 0, write ? 1 : 0);
  c.that("ESR_EL1.FnV set", (esr & iss_fnv) == 0);
  c.eq("FAR_EL1", bm_exc.far, va);
}

u64 read_fault(check& c, u64 va, unsigned arm_level) {
  clear_exc();
  u64 v = 0;
  const int f = bm_probe_read(va, &v);
  expect_fault(c, f, va, dfsc_translation(arm_level), false);
  return v;
}

/// [va, va + size) reads what [oa, oa + size) holds at its first, middle and
/// last word, and a write through va lands at oa. `d` is the walk result
/// (checked to be the entry kind `want_level` / contiguous the test means).
void alias_check(const char* name, const fmt::hw_info& hw, u64 va, u64 oa, u64 size,
                 unsigned want_level, bool want_cont) {
  check c(prefix, name);
  const found d = walk(hw, va);
  const u64 e = *d.item;
  c.eq("walk stops at genpt level", d.level, want_level);
  c.eq("descriptor bits 1:0 (0b11 page, 0b01 block)", e & 3, want_level == 0 ? 3 : 1);
  c.eq("descriptor Contiguous bit", (e & fmt::CONT) ? 1 : 0, want_cont ? 1 : 0);
  const u64 offs[3] = {0, size / 2 + 8, size - 8};
  for (const u64 off : offs) {
    volatile u64* const phys = reinterpret_cast<volatile u64*>(oa + off);  // identity map
    *phys = pattern(oa + off);
    u64 v = 0;
    clear_exc();
    if (!c.eq("alias read faulted, FAR", bm_probe_read(va + off, &v) ? bm_exc.far : 0, 0)) return;
    if (!c.eq("alias read of oa + offset", v, pattern(oa + off))) return;
    if (!c.eq("alias write faulted, FAR", bm_probe_write(va + off, ~pattern(oa + off)) ? bm_exc.far : 0, 0))
      return;
    if (!c.eq("identity read after alias write", *phys, ~pattern(oa + off))) return;
  }
}

void tlbi_all() {
  dsb_ishst();
  __asm__ volatile("tlbi vmalle1" ::: "memory");
  dsb_sy();
  isb();
}

/// Records what read_and_clear_dirty reports.
struct dirty_log {
  unsigned n = 0;
  u64 va = 0, len = 0;
  void record(u64 v, u64 l) {
    if (n++ == 0) {
      va = v;
      len = l;
    }
  }
};

// -- TCR_EL1 fields (Arm ARM D19.2 "TCR_EL1, Translation Control Register (EL1)") --
constexpr unsigned tcr_t0sz = 0, tcr_irgn0 = 8, tcr_orgn0 = 10, tcr_sh0 = 12, tcr_tg0 = 14;
constexpr unsigned tcr_t1sz = 16, tcr_irgn1 = 24, tcr_orgn1 = 26, tcr_sh1 = 28, tcr_tg1 = 30;
constexpr unsigned tcr_ips = 32;
constexpr u64 tcr_epd0 = u64{1} << 7, tcr_a1 = u64{1} << 22, tcr_epd1 = u64{1} << 23;
constexpr u64 tcr_ha = u64{1} << 39, tcr_hd = u64{1} << 40, tcr_ds = u64{1} << 59;
constexpr u64 field(u64 r, unsigned shift, unsigned width) { return (r >> shift) & ((u64{1} << width) - 1); }
// TG0: 0b00 4K, 0b01 64K, 0b10 16K; TG1: 0b01 16K, 0b10 4K, 0b11 64K.
constexpr u64 want_tg0 = G == 12 ? 0 : G == 16 ? 1 : 2;
constexpr u64 want_tg1 = G == 12 ? 2 : G == 16 ? 3 : 1;

// SCTLR_EL1 (D19.2 "SCTLR_EL1"): M bit 0, A bit 1, C bit 2, I bit 12, WXN bit 19.
constexpr u64 sctlr_m = u64{1} << 0, sctlr_a = u64{1} << 1, sctlr_c = u64{1} << 2;
constexpr u64 sctlr_i = u64{1} << 12, sctlr_wxn = u64{1} << 19;

template <class R>
bool ok(check& c, const char* what, const R& r) {
  return c.eq(what, r ? 0 : static_cast<u64>(r.error()) + 1, 0);
}

}  // namespace

extern "C" void bm_main() {
  print("genpt-bm: start\n");  // the negative control's proof that the kernel ran
  extern char bm_vectors_el1[];
  BM_WRITE_SYSREG(vbar_el1, reinterpret_cast<u64>(bm_vectors_el1));
  isb();
  print("genpt-bm: aarch64 stage 1 kernel, granule ");
  print_dec(page >> 10);
  print("K\n");

  {
    check c(prefix, "current_el_is_el1");
    c.eq("CurrentEL.EL", (BM_READ_SYSREG(CurrentEL) >> 2) & 3, 1);
  }
  {
    // ID_AA64MMFR0_EL1 (D19.2): TGran4 31:28 (0b1111 = absent), TGran64
    // 27:24 (0b1111 = absent), TGran16 23:20 (0b0000 = absent).
    check c(prefix, "granule_supported");
    const u64 mmfr0 = BM_READ_SYSREG(id_aa64mmfr0_el1);
    if constexpr (G == 12) c.that("ID_AA64MMFR0_EL1.TGran4 = 0b1111", field(mmfr0, 28, 4) != 0xF);
    if constexpr (G == 16) c.that("ID_AA64MMFR0_EL1.TGran64 = 0b1111", field(mmfr0, 24, 4) != 0xF);
    if constexpr (G == 14) c.that("ID_AA64MMFR0_EL1.TGran16 = 0b0000", field(mmfr0, 20, 4) != 0);
    if (c.failed()) {
      c.finish();
      done();
    }
  }

  // -- Build both tables (MMU off) ------------------------------------------------
  fmt::config cfg0;
  cfg0.va_lg2 = va_lg2;
  cfg0.features = fmt::dbm;  // DBM on writable leaves: used only once TCR.HD is set
  fmt::config cfg1;
  cfg1.va_lg2 = va_lg2;
  cfg1.features = fmt::ttbr1;
  auto pt0 = table_t::create(cfg0, genpt::arena_levels(g_arena0, arena_bytes, reinterpret_cast<u64>(g_arena0)));
  auto pt1 = table_t::create(cfg1, genpt::arena_levels(g_arena1, arena_bytes, reinterpret_cast<u64>(g_arena1)));
  using genpt::prot;
  const prot rw = prot::read | prot::write | prot::cache | prot::priv;
  const prot data = rw | prot::noexec;
  {
    check c(prefix, "tables_built");
    if (ok(c, "create TTBR0 table", pt0) && ok(c, "create TTBR1 table", pt1)) {
      // Identity: all RAM (image, stack, tables, data) and the UART as Device.
      ok(c, "map RAM identity", pt0->map(ram_base, ram_base, ram_size, rw));
      ok(c, "map UART identity",
         pt0->map(uart_base, uart_base, page, prot::read | prot::write | prot::mmio | prot::priv | prot::noexec));
      ok(c, "map block alias", pt0->map(blk_va, blk_oa, block, data));
      ok(c, "map contiguous alias", pt0->map(contig_va, contig_oa, contig, data));
      ok(c, "map page alias", pt0->map(page_va, page_oa, page, data));
      ok(c, "map read-only alias", pt0->map(ro_va, ro_oa, page, prot::read | prot::cache | prot::priv | prot::noexec));
      fmt::attrs no_af = fmt::attrs_from_prot(data, pt0->params());
      no_af.af = false;  // exact attributes: the walker must raise an access flag fault
      ok(c, "map AF-clear alias", pt0->map(af_va, af_oa, page, no_af));
      ok(c, "map dirty-tracked alias", pt0->map(dirty_va, dirty_oa, page, data));
      ok(c, "map TTBR1 block alias", pt1->map(t1_blk_va, blk_oa, block, data));
      ok(c, "map TTBR1 contiguous alias", pt1->map(t1_contig_va, contig_oa, contig, data));
      ok(c, "map TTBR1 page alias", pt1->map(t1_page_va, page_oa, page, data));
    }
    if (c.failed()) {
      c.finish();
      done();
    }
  }
  const fmt::hw_info hw0 = pt0->hw_info();
  const fmt::hw_info hw1 = pt1->hw_info();
  {
    // hw_info against the register layout, field by field.
    check c(prefix, "tcr_mair_ttbr_fields");
    const u64 t0 = hw0.tcr(), t1 = hw1.tcr();
    c.eq("T0SZ", field(t0, tcr_t0sz, 6), 64 - va_lg2);
    c.eq("IRGN0 (0b01 WB RA WA)", field(t0, tcr_irgn0, 2), 1);
    c.eq("ORGN0 (0b01 WB RA WA)", field(t0, tcr_orgn0, 2), 1);
    c.eq("SH0 (0b11 inner)", field(t0, tcr_sh0, 2), 3);
    c.eq("TG0", field(t0, tcr_tg0, 2), want_tg0);
    c.eq("TTBR0 half leaves bits 31:16 clear", field(t0, 16, 16), 0);
    c.eq("T1SZ", field(t1, tcr_t1sz, 6), 64 - va_lg2);
    c.eq("IRGN1", field(t1, tcr_irgn1, 2), 1);
    c.eq("ORGN1", field(t1, tcr_orgn1, 2), 1);
    c.eq("SH1", field(t1, tcr_sh1, 2), 3);
    c.eq("TG1", field(t1, tcr_tg1, 2), want_tg1);
    c.eq("TTBR1 half leaves bits 15:0 clear", field(t1, 0, 16), 0);
    c.eq("IPS (0b101: 48 bits)", field(t0, tcr_ips, 3), 5);
    c.eq("IPS of TTBR1 table", field(t1, tcr_ips, 3), 5);
    c.eq("DS", (t0 | t1) & tcr_ds, 0);
    c.eq("EPD0/EPD1/A1/HA/HD left to the driver", (t0 | t1) & (tcr_epd0 | tcr_epd1 | tcr_a1 | tcr_ha | tcr_hd), 0);
    // MAIR_EL1 (D19.2 "MAIR_EL1"): Attr<n> = bits 8n+7:8n; 0x04 Device-nGnRE, 0xFF Normal WB RW-alloc.
    c.eq("MAIR Attr2 (Device-nGnRE)", field(hw0.mair, 8 * fmt::mair_index_device, 8), 0x04);
    c.eq("MAIR Attr1 (Normal WB)", field(hw0.mair, 8 * fmt::mair_index_wb, 8), 0xFF);
    c.eq("MAIR Attr0 (Normal NC)", field(hw0.mair, 8 * fmt::mair_index_nc, 8), 0x44);
    // TTBR0/1_EL1.BADDR (D19.2): the root, aligned, in bits 47:1 (ASID 0).
    c.eq("TTBR0 = root", hw0.ttbr, hw0.root);
    c.eq("TTBR1 = root", hw1.ttbr, hw1.root);
    c.that("TTBR0 root in its arena", hw0.root >= reinterpret_cast<u64>(g_arena0) &&
                                          hw0.root < reinterpret_cast<u64>(g_arena0) + arena_bytes);
    c.eq("levels", hw0.levels, has_l0 ? 4 : 3);
  }

#ifdef GENPT_BM_CORRUPT
  // Negative control: one OA bit of the page alias's descriptor flipped.
  *walk(hw0, page_va).item ^= page;
  print("genpt-bm: note: GENPT_BM_CORRUPT flipped the page alias's OA bit\n");
#endif

  // -- MMU on ---------------------------------------------------------------------
  dcache_clean_inval(g_arena0, arena_bytes);
  dcache_clean_inval(g_arena1, arena_bytes);
  u64 tcr = hw0.tcr() | hw1.tcr();
  BM_WRITE_SYSREG(mair_el1, hw0.mair);
  BM_WRITE_SYSREG(tcr_el1, tcr);
  BM_WRITE_SYSREG(ttbr0_el1, hw0.ttbr);
  BM_WRITE_SYSREG(ttbr1_el1, hw1.ttbr);
  isb();
  tlbi_all();
  u64 sctlr = BM_READ_SYSREG(sctlr_el1);
  sctlr = (sctlr | sctlr_m | sctlr_c | sctlr_i) & ~(sctlr_a | sctlr_wxn);
  BM_WRITE_SYSREG(sctlr_el1, sctlr);
  isb();
  {
    check c(prefix, "mmu_on");
    c.eq("SCTLR_EL1.M", BM_READ_SYSREG(sctlr_el1) & sctlr_m, sctlr_m);
    // AT S1E1R (C5.3): the hardware's own translation of an identity va.
    const u64 probe = reinterpret_cast<u64>(&g_arena0[0]);
    __asm__ volatile("at s1e1r, %0" : : "r"(probe) : "memory");
    isb();
    const u64 par = BM_READ_SYSREG(par_el1);
    c.eq("PAR_EL1.F", par & 1, 0);
    c.eq("PAR_EL1.PA", par & 0x0000'FFFF'FFFF'F000, probe & ~u64{0xFFF});
  }

  // -- 1. Aliases -------------------------------------------------------------------
  alias_check("ttbr0_page_alias", hw0, page_va, page_oa, page, 0, false);
  alias_check("ttbr0_block_alias", hw0, blk_va, blk_oa, block, 1, false);
  alias_check("ttbr0_contiguous_alias", hw0, contig_va, contig_oa, contig, 0, true);
  alias_check("ttbr1_page_alias", hw1, t1_page_va, page_oa, page, 0, false);
  alias_check("ttbr1_block_alias", hw1, t1_blk_va, blk_oa, block, 1, false);
  alias_check("ttbr1_contiguous_alias", hw1, t1_contig_va, contig_oa, contig, 0, true);

  // -- 2. Faults ----------------------------------------------------------------------
  {
    check c(prefix, "fault_translation_level3");
    c.eq("walk stops at genpt level", walk(hw0, hole_l3_va).level, 0);
    read_fault(c, hole_l3_va + 0x18, 3);
  }
  {
    check c(prefix, "fault_translation_level2");
    c.eq("walk stops at genpt level", walk(hw0, hole_l2_va).level, 1);
    read_fault(c, hole_l2_va + 0x18, 2);
  }
  {
    check c(prefix, "fault_translation_level1");
    c.eq("walk stops at genpt level", walk(hw0, hole_l1_va).level, 2);
    read_fault(c, hole_l1_va + 0x18, 1);
  }
  if constexpr (has_l0) {
    check c(prefix, "fault_translation_level0");
    c.eq("walk stops at genpt level", walk(hw0, hole_l0_va).level, 3);
    read_fault(c, hole_l0_va + 0x18, 0);
  }
  {
    check c(prefix, "fault_translation_ttbr1_level3");
    c.eq("walk stops at genpt level", walk(hw1, t1_hole_l3_va).level, 0);
    read_fault(c, t1_hole_l3_va + 0x18, 3);
  }
  {
    check c(prefix, "fault_permission_write_read_only");
    *reinterpret_cast<volatile u64*>(ro_oa) = pattern(ro_oa);
    *reinterpret_cast<volatile u64*>(ro_oa + 0x18) = pattern(ro_oa + 0x18);
    u64 v = 0;
    clear_exc();
    c.eq("read of the read-only alias faulted", bm_probe_read(ro_va, &v), 0);
    c.eq("read-only alias data", v, pattern(ro_oa));
    clear_exc();
    expect_fault(c, bm_probe_write(ro_va + 0x18, 1), ro_va + 0x18, dfsc_permission(3), true);
    c.eq("memory after the faulting write", *reinterpret_cast<volatile u64*>(ro_oa + 0x18),
         pattern(ro_oa + 0x18));
  }
  {
    // AF = 0 (mapped with exact attrs) and TCR_EL1.HA = 0: D8.5.3 "The
    // Access flag": the first access faults with an Access flag fault.
    check c(prefix, "fault_access_flag");
    c.eq("descriptor AF", *walk(hw0, af_va).item & fmt::AF, 0);
    clear_exc();
    u64 v = 0;
    expect_fault(c, bm_probe_read(af_va + 0x18, &v), af_va + 0x18, dfsc_access_flag(3), false);
  }

  // -- 3. Hardware access flag and dirty state (FEAT_HAFDBS) ---------------------
  // ID_AA64MMFR1_EL1.HAFDBS (bits 3:0, D19.2): 1 = AF, 2 = AF and dirty state.
  const u64 hafdbs = field(BM_READ_SYSREG(id_aa64mmfr1_el1), 0, 4);
  if (hafdbs >= 1) {
    tcr |= tcr_ha | (hafdbs >= 2 ? tcr_hd : 0);
    BM_WRITE_SYSREG(tcr_el1, tcr);
    isb();
    tlbi_all();
    check c(prefix, "hw_access_flag");
    u64 v = 0;
    clear_exc();
    c.eq("read with TCR_EL1.HA = 1 faulted, ESR", bm_probe_read(af_va, &v) ? bm_exc.esr : 0, 0);
    c.eq("AF set by the walker", *walk(hw0, af_va).item & fmt::AF, fmt::AF);
  } else {
    note(prefix, "hw_access_flag", "not run: ID_AA64MMFR1_EL1.HAFDBS = 0 (QEMU does not model FEAT_HAFDBS)");
  }
  if (hafdbs >= 2) {
    check c(prefix, "dirty_dbm");
    genpt::gather g;
    dirty_log first;
    // Writable leaves start dirty (AP[2] = 0): the first harvest reports
    // dirty_va and cleans it to writable-clean (AP[2] = 1, DBM = 1).
    ok(c, "first harvest", pt0->read_and_clear_dirty(dirty_va, page, first, g));
    pt0->sync(g);  // TLBI: the CPU must see the clean entry
    c.eq("first harvest entries", first.n, 1);
    c.eq("cleaned descriptor AP[2]", *walk(hw0, dirty_va).item & fmt::AP2, fmt::AP2);
    // Control: a read does not dirty it.
    u64 v = 0;
    c.eq("read faulted", bm_probe_read(dirty_va, &v), 0);
    dirty_log after_read;
    ok(c, "harvest after read", pt0->read_and_clear_dirty(dirty_va, page, after_read, g));
    pt0->sync(g);
    c.eq("entries dirty after a read only", after_read.n, 0);
    // A write: the walker clears AP[2] (D8.5.4), genpt must report it.
    clear_exc();
    c.eq("write to writable-clean page faulted, ESR", bm_probe_write(dirty_va + 8, 0x5EED) ? bm_exc.esr : 0, 0);
    c.eq("descriptor AP[2] after the write", *walk(hw0, dirty_va).item & fmt::AP2, 0);
    dirty_log after_write;
    ok(c, "harvest after write", pt0->read_and_clear_dirty(dirty_va, page, after_write, g));
    pt0->sync(g);
    c.eq("entries dirty after a write", after_write.n, 1);
    c.eq("dirty va", after_write.va, dirty_va);
    c.eq("dirty len", after_write.len, page);
    c.eq("written data", *reinterpret_cast<volatile u64*>(dirty_oa + 8), 0x5EED);
  } else {
    note(prefix, "dirty_dbm", "not run: ID_AA64MMFR1_EL1.HAFDBS < 2 (QEMU does not model hardware dirty state)");
  }

  // -- 4. Unmap + TLBI ------------------------------------------------------------------
  // Each va is read first (so the TLB holds it); unmap syncs through
  // tlbi_sink; the same access must then fault.
  {
    check c(prefix, "unmap_page_faults");
    u64 v = 0;
    c.eq("read before unmap faulted", bm_probe_read(page_va, &v), 0);
    c.eq("bytes unmapped", pt0->unmap(page_va, page), page);
    read_fault(c, page_va + 0x18, 3);
  }
  {
    check c(prefix, "unmap_block_faults");
    u64 v = 0;
    c.eq("read before unmap faulted", bm_probe_read(blk_va + page, &v), 0);
    c.eq("bytes unmapped", pt0->unmap(blk_va, block), block);
    read_fault(c, blk_va + page + 0x18, 2);
  }
  {
    check c(prefix, "unmap_contiguous_faults");
    u64 v = 0;
    c.eq("read before unmap faulted", bm_probe_read(contig_va + contig - page, &v), 0);
    c.eq("bytes unmapped", pt0->unmap(contig_va, contig), contig);
    read_fault(c, contig_va + contig - page + 0x18, 3);
  }
  {
    check c(prefix, "unmap_ttbr1_page_faults");
    u64 v = 0;
    c.eq("read before unmap faulted", bm_probe_read(t1_page_va, &v), 0);
    c.eq("bytes unmapped", pt1->unmap(t1_page_va, page), page);
    read_fault(c, t1_page_va + 0x18, 3);
  }
  done();
}
