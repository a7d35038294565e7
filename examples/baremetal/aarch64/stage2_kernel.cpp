// stage2_kernel.cpp - bare-metal AArch64 kernel for QEMU virt with
// virtualization=on: boots at EL2, builds stage 2 tables with
// genpt::armv8<G, 2> (4K, 16K and 64K granules in turn, each with a
// concatenated top), programs VTCR_EL2 / VTTBR_EL2 / HCR_EL2.VM and runs
// tiny guest routines at EL1 with stage 1 off. Checks: an IPA mapped to
// another PA reads and writes that PA (page, block, the last concatenated
// table); an unmapped IPA traps to EL2 with a stage 2 translation fault of
// the right level in ESR_EL2, the IPA in HPFAR_EL2.FIPA and FAR_EL2; a write
// to a stage 2 read-only page gives a permission fault; unmap + TLBI makes
// an IPA fault again. With -DGENPT_BM_CORRUPT one OA bit of the page remap's
// descriptor is flipped (the negative control).
#include <cstddef>
#include <cstdint>

#include "bm_support.hpp"
#include "bm_walk.hpp"
#include "genpt/alloc/arena_levels.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/page_table.hpp"

extern "C" {
bm::u64 bm_run_guest(bm::u64 entry, bm::u64 a0, bm::u64 a1);
extern char bm_vectors_el2[];
extern char bm_vectors_guest[];
extern char bm_guest_read[];
extern char bm_guest_write[];
}

namespace {

using namespace bm;

constexpr u64 ram_base = 0x4000'0000;  // QEMU virt RAM, -m 512M
constexpr u64 ram_size = 0x2000'0000;

// HCR_EL2 (Arm ARM D19.2 "HCR_EL2"): VM bit 0 enables stage 2 for EL1&0;
// RW bit 31: EL1 is AArch64.
constexpr u64 hcr_vm = u64{1} << 0;
constexpr u64 hcr_rw = u64{1} << 31;
// VTCR_EL2 (D19.2 "VTCR_EL2") fields; bit 31 is RES1.
constexpr u64 vtcr_res1 = u64{1} << 31;
constexpr u64 field(u64 r, unsigned shift, unsigned width) { return (r >> shift) & ((u64{1} << width) - 1); }
// VTTBR_EL2.VMID, bits 55:48 (8-bit VMID, VTCR_EL2.VS = 0).
constexpr u64 vmid = 1;
constexpr unsigned vttbr_vmid_shift = 48;
// SCTLR_EL1 for the guest: MMU, caches and alignment checks off; the RES1
// bits of Armv8.0 (29, 28, 23, 22, 20, 11; D19.2 "SCTLR_EL1").
constexpr u64 guest_sctlr = 0x30D0'0800;
// HPFAR_EL2.FIPA (D19.2 "HPFAR_EL2"): bits 43:4 hold IPA[51:12].
constexpr u64 hpfar_ipa(u64 hpfar) { return field(hpfar, 4, 40) << 12; }

alignas(1 << 20) unsigned char g_arena[std::size_t{2} << 20];
alignas(16) unsigned char g_guest_stack[4096];

void clear_exc() {
  bm_exc.esr = bm_exc.far = bm_exc.elr = bm_exc.hpfar = bm_exc.x0 = 0;
}

/// Runs `ldr x0, [ipa]` at EL1; true when it came back by HVC with *value.
bool guest_read(u64 ipa, u64* value) {
  clear_exc();
  bm_run_guest(reinterpret_cast<u64>(bm_guest_read), ipa, 0);
  *value = bm_exc.x0;
  return esr_ec(bm_exc.esr) == ec_hvc64 && (bm_exc.esr & 0xFFFF) == 0;
}
/// Runs `str v, [ipa]` at EL1; true when it came back by HVC.
bool guest_write(u64 ipa, u64 v) {
  clear_exc();
  bm_run_guest(reinterpret_cast<u64>(bm_guest_write), ipa, v);
  return esr_ec(bm_exc.esr) == ec_hvc64 && (bm_exc.esr & 0xFFFF) == 0;
}

/// The last guest run must have ended in a stage 2 data abort with DFSC
/// want_dfsc for ipa, at the guest's access instruction.
void expect_s2_abort(check& c, u64 ipa, u64 want_dfsc, bool write) {
  const u64 esr = bm_exc.esr;
  if (!c.eq("ESR_EL2.EC (0x24 data abort from a lower EL; 0x16 = no fault)", esr_ec(esr), ec_dabt_lower))
    return;
  c.eq("ESR_EL2.DFSC", esr & dfsc_mask, want_dfsc);
  c.eq("ESR_EL2.WnR", (esr & iss_wnr) ? 1 : 0, write ? 1 : 0);
  c.eq("ESR_EL2.S1PTW", esr & iss_s1ptw, 0);
  c.eq("FAR_EL2 (guest VA = IPA, stage 1 off)", bm_exc.far, ipa);
  c.eq("ELR_EL2 = the guest's access",
       bm_exc.elr, reinterpret_cast<u64>(write ? bm_guest_write : bm_guest_read));
  // HPFAR_EL2 is written for stage 2 translation faults, not permission ones.
  if ((want_dfsc & 0x3C) == 0x04) c.eq("HPFAR_EL2.FIPA", hpfar_ipa(bm_exc.hpfar), ipa & ~u64{0xFFF});
}

template <unsigned G>
struct stage2_run {
  using fmt = genpt::armv8<G, 2>;
  static constexpr const char* prefix = G == 12 ? "s2-4k/" : G == 14 ? "s2-16k/" : "s2-64k/";
  // IPA / PA sizes: the top is concatenated in each (4K 40-bit: 2 level 1
  // tables; 16K 40-bit: 16 level 2 tables; 64K 44-bit: 4 level 2 tables).
  static constexpr unsigned ipa_lg2 = G == 16 ? 44 : 40;
  static constexpr unsigned oa_lg2 = ipa_lg2;
  static constexpr u64 want_ps = G == 16 ? 4 : 2;      // VTCR_EL2.PS: 0b010 40 bits, 0b100 44 bits
  static constexpr u64 want_sl0 = 1;                   // start level 1 (4K) / level 2 (16K, 64K)
  static constexpr unsigned start_arm_level = G == 12 ? 1 : 2;
  static constexpr u64 want_tg0 = G == 12 ? 0 : G == 16 ? 1 : 2;  // VTCR_EL2.TG0
  static constexpr unsigned concatenated = G == 12 ? 2 : G == 14 ? 16 : 4;

  static constexpr u64 page = u64{1} << G;
  static constexpr u64 block = u64{1} << fmt::item_lg2(1);
  static constexpr u64 top_item = u64{1} << fmt::item_lg2(3 - start_arm_level);

  // PAs the guest's IPAs lead to (away from the image, aligned for blocks).
  static constexpr u64 blk_oa = G == 16 ? 0x4000'0000 : 0x4800'0000;
  static constexpr u64 page_oa = 0x4C00'0000 + 5 * page;
  static constexpr u64 ro_oa = page_oa + page;
  static constexpr u64 high_oa = page_oa + 2 * page;
  // IPAs.
  static constexpr u64 alias = 0x10'0000'0000;
  static constexpr u64 blk_ipa = alias;
  static constexpr u64 page_ipa = alias + 0x8000'0000;
  static constexpr u64 hole_l3_ipa = page_ipa + page;
  static constexpr u64 ro_ipa = page_ipa + 2 * page;
  static constexpr u64 hole_l2_ipa = page_ipa + block;
  // The last page of the IPA space: in the last concatenated table.
  static constexpr u64 high_ipa = (u64{1} << ipa_lg2) - page;
  // An empty item of the concatenated top (first item of its second half).
  static constexpr u64 hole_top_ipa = (u64{1} << (ipa_lg2 - 1)) + top_item;

  /// Stage 2 invalidation at EL2: TLBI IPAS2E1IS per page (Arm ARM C5.5:
  /// Xt[39:0] = IPA[51:12]) then TLBI VMALLE1IS for the combined stage 1+2
  /// entries (D8.13.6 "Invalidating TLB entries after a stage 2 change"),
  /// or VMALLS12E1IS for a large range; DSB ISH, ISB.
  struct tlbi_sink {
    void flush(const genpt::iotlb_flush& f) noexcept {
      dsb_ishst();
      const u64 n = ((f.last - f.va) >> G) + 1;
      if (f.all || n > 64) {
        __asm__ volatile("tlbi vmalls12e1is" ::: "memory");
      } else {
        for (u64 i = 0; i < n; ++i)
          __asm__ volatile("tlbi ipas2e1is, %0" : : "r"(((f.va + (i << G)) >> 12) & ((u64{1} << 40) - 1)) : "memory");
        dsb_ish();
        __asm__ volatile("tlbi vmalle1is" ::: "memory");
      }
      dsb_ish();
      isb();
    }
  };
  using table_t = genpt::page_table<fmt, genpt::arena_levels, genpt::flush_range<tlbi_sink>>;

  static bool remap_check(const char* name, const typename fmt::hw_info& hw, u64 ipa, u64 oa, u64 size,
                          unsigned want_level) {
    check c(prefix, name);
    const found d = walk<fmt>(hw, ipa_lg2, ipa);
    c.eq("walk stops at genpt level", d.level, want_level);
    c.eq("descriptor bits 1:0 (0b11 page, 0b01 block)", *d.item & 3, want_level == 0 ? 3 : 1);
    const u64 offs[3] = {0, size / 2 + 8, size - 8};
    for (const u64 off : offs) {
      volatile u64* const pa = reinterpret_cast<volatile u64*>(oa + off);  // EL2: MMU off, PA
      *pa = pattern(oa + off);
      u64 v = 0;
      if (!c.eq("guest read trapped, ESR_EL2", guest_read(ipa + off, &v) ? 0 : bm_exc.esr, 0)) break;
      if (!c.eq("guest read of IPA + offset", v, pattern(oa + off))) break;
      if (!c.eq("guest write trapped, ESR_EL2", guest_write(ipa + off, ~pattern(oa + off)) ? 0 : bm_exc.esr, 0))
        break;
      if (!c.eq("PA after the guest's write", *pa, ~pattern(oa + off))) break;
    }
    return !c.failed();
  }

  static void run() {
    typename fmt::config cfg;
    cfg.va_lg2 = ipa_lg2;
    cfg.oa_lg2 = oa_lg2;
    // The arena zeroes the block: the previous granule's table is gone.
    auto pt = table_t::create(cfg, genpt::arena_levels(g_arena, sizeof g_arena, reinterpret_cast<u64>(g_arena)));
    using genpt::prot;
    const prot rw = prot::read | prot::write | prot::cache;
    {
      check c(prefix, "tables_built");
      auto ok = [&](const char* what, const auto& r) {
        return c.eq(what, r ? 0 : static_cast<u64>(r.error()) + 1, 0);
      };
      if (ok("create", pt)) {
        // Guest code and stack: RAM identity (IPA = PA).
        ok("map RAM identity", pt->map(ram_base, ram_base, ram_size, rw));
        ok("map page remap", pt->map(page_ipa, page_oa, page, rw | prot::noexec));
        ok("map block remap", pt->map(blk_ipa, blk_oa, block, rw | prot::noexec));
        ok("map read-only page", pt->map(ro_ipa, ro_oa, page, prot::read | prot::cache | prot::noexec));
        ok("map last IPA page", pt->map(high_ipa, high_oa, page, rw | prot::noexec));
      }
      if (c.failed()) return;
    }
    const typename fmt::hw_info hw = pt->hw_info();
    {
      check c(prefix, "vtcr_vttbr_fields");
      const u64 v = hw.tcr();
      c.eq("T0SZ", field(v, 0, 6), 64 - ipa_lg2);
      c.eq("SL0", field(v, 6, 2), want_sl0);
      c.eq("IRGN0 (0b01 WB)", field(v, 8, 2), 1);
      c.eq("ORGN0 (0b01 WB)", field(v, 10, 2), 1);
      c.eq("SH0 (0b11 inner)", field(v, 12, 2), 3);
      c.eq("TG0", field(v, 14, 2), want_tg0);
      c.eq("PS", field(v, 16, 3), want_ps);
      c.eq("VS/HA/HD/DS/SL2 and RES1 bit 31 left to the driver",
           v & ((u64{1} << 19) | (u64{3} << 21) | (u64{3} << 32) | vtcr_res1), 0);
      c.eq("VTTBR BADDR = root", hw.ttbr, hw.root);
      c.eq("levels", hw.levels, 4 - start_arm_level);
      // A concatenated top is `concatenated` granule tables, aligned to its size.
      c.eq("root alignment (concatenated top)", hw.root & (concatenated * page - 1), 0);
    }

#ifdef GENPT_BM_CORRUPT
    *walk<fmt>(hw, ipa_lg2, page_ipa).item ^= page;
    note(prefix, "corrupt", "GENPT_BM_CORRUPT flipped the page remap's OA bit");
#endif

    // Stage 2 on for EL1&0 (D8.1: HCR_EL2.VM), fresh TLBs for the VMID.
    BM_WRITE_SYSREG(hcr_el2, hcr_rw);
    isb();
    BM_WRITE_SYSREG(vtcr_el2, hw.tcr() | vtcr_res1);
    BM_WRITE_SYSREG(vttbr_el2, hw.ttbr | vmid << vttbr_vmid_shift);
    BM_WRITE_SYSREG(hcr_el2, hcr_rw | hcr_vm);
    isb();
    dsb_ishst();
    __asm__ volatile("tlbi vmalls12e1is" ::: "memory");
    dsb_ish();
    isb();

    remap_check("page_remap", hw, page_ipa, page_oa, page, 0);
    remap_check("block_remap", hw, blk_ipa, blk_oa, block, 1);
    remap_check("last_concatenated_table_remap", hw, high_ipa, high_oa, page, 0);
    {
      check c(prefix, "fault_translation_level3");
      c.eq("walk stops at genpt level", walk<fmt>(hw, ipa_lg2, hole_l3_ipa).level, 0);
      u64 v = 0;
      guest_read(hole_l3_ipa + 0x18, &v);
      expect_s2_abort(c, hole_l3_ipa + 0x18, dfsc_translation(3), false);
    }
    {
      check c(prefix, "fault_translation_level2");
      c.eq("walk stops at genpt level", walk<fmt>(hw, ipa_lg2, hole_l2_ipa).level, 1);
      u64 v = 0;
      guest_read(hole_l2_ipa + 0x18, &v);
      expect_s2_abort(c, hole_l2_ipa + 0x18, dfsc_translation(2), false);
    }
    {
      check c(prefix, "fault_translation_start_level");
      c.eq("walk stops at genpt level", walk<fmt>(hw, ipa_lg2, hole_top_ipa).level, 3 - start_arm_level);
      u64 v = 0;
      guest_read(hole_top_ipa + 0x18, &v);
      expect_s2_abort(c, hole_top_ipa + 0x18, dfsc_translation(start_arm_level), false);
    }
    {
      check c(prefix, "fault_permission_write_read_only");
      *reinterpret_cast<volatile u64*>(ro_oa) = pattern(ro_oa);
      *reinterpret_cast<volatile u64*>(ro_oa + 0x18) = pattern(ro_oa + 0x18);
      u64 v = 0;
      c.eq("guest read trapped, ESR_EL2", guest_read(ro_ipa, &v) ? 0 : bm_exc.esr, 0);
      c.eq("guest read of the read-only page", v, pattern(ro_oa));
      guest_write(ro_ipa + 0x18, 1);
      expect_s2_abort(c, ro_ipa + 0x18, dfsc_permission(3), true);
      c.eq("PA after the faulting write", *reinterpret_cast<volatile u64*>(ro_oa + 0x18), pattern(ro_oa + 0x18));
    }
    {
      check c(prefix, "unmap_page_faults");
      u64 v = 0;
      c.eq("guest read before unmap trapped, ESR_EL2", guest_read(page_ipa, &v) ? 0 : bm_exc.esr, 0);
      c.eq("bytes unmapped", pt->unmap(page_ipa, page), page);
      guest_read(page_ipa + 0x18, &v);
      expect_s2_abort(c, page_ipa + 0x18, dfsc_translation(3), false);
    }

    // Stage 2 off before the table goes away.
    BM_WRITE_SYSREG(hcr_el2, hcr_rw);
    isb();
    __asm__ volatile("tlbi vmalls12e1is" ::: "memory");
    dsb_ish();
    isb();
  }
};

}  // namespace

extern "C" void bm_main() {
  print("genpt-bm: start\n");  // the negative control's proof that the kernel ran
  BM_WRITE_SYSREG(vbar_el2, reinterpret_cast<u64>(bm_vectors_el2));
  isb();
  print("genpt-bm: aarch64 stage 2 kernel (EL2 host, EL1 guest)\n");
  {
    check c("s2/", "current_el_is_el2");
    c.eq("CurrentEL.EL (QEMU -M virt,virtualization=on boots at EL2)",
         (BM_READ_SYSREG(CurrentEL) >> 2) & 3, 2);
    if (c.failed()) {
      c.finish();
      done();
    }
  }
  // The guest's EL1 state: vectors that report to EL2, MMU off.
  BM_WRITE_SYSREG(vbar_el1, reinterpret_cast<u64>(bm_vectors_guest));
  BM_WRITE_SYSREG(sctlr_el1, guest_sctlr);
  BM_WRITE_SYSREG(sp_el1, reinterpret_cast<u64>(g_guest_stack + sizeof g_guest_stack));
  isb();
  stage2_run<12>::run();
  stage2_run<14>::run();
  stage2_run<16>::run();
  done();
}
