// genpt/walk/x86_64.hpp - the x86-64 processor's page walk over untrusted memory.
//
// Written from the Intel SDM Vol. 3A, not from genpt's format hooks:
//   §4.5.4   the 4-level / 5-level walk: CR3, then PML5E (LA57), PML4E,
//            PDPTE, PDE, PTE, indexed by VA bits 56:48, 47:39, 38:30,
//            29:21, 20:12; PS = 1 in a PDPTE maps a 1 GiB page, in a PDE a
//            2 MiB page; canonical check of VA bits 63:47 (63:56 with LA57)
//            (§3.3.7.1: a non-canonical address raises #GP, no walk).
//   Tables 4-14 .. 4-20  reserved bits: PS (bit 7) of a PML5E / PML4E;
//            address bits M..51 of every entry (M = MAXPHYADDR); bits 29:13
//            of a 1 GiB PDPTE, 20:13 of a 2 MiB PDE (bit 12 is PAT); XD
//            (bit 63) when IA32_EFER.NXE = 0; PS in a PDPTE without 1-GByte
//            page support (§4.1.4).
//   §4.6     access rights: R/W and U/S ANDed, XD ORed over every level;
//            supervisor writes checked against R/W only with CR0.WP = 1;
//            SMEP (no supervisor fetch from user pages), SMAP with
//            EFLAGS.AC (no explicit supervisor data access to user pages
//            unless AC = 1). Protection keys (CR4.PKE) are not modelled.
//   §4.7     #PF error code: P = 0 (translation), P = 1 protection
//            (permission), RSVD = 1 (reserved_bit). W/R, U/S and I/D echo
//            the caller's access.
//   §4.8     Accessed / Dirty: A in every entry used, D in the entry that
//            maps the page, on writes.
// AMD SME (APM Vol. 2 §7.10): the C-bit is an address bit at or above
// MAXPHYADDR that is not reserved; regs::c_bit names it and it is never
// part of an address.
//
// fault::spec_level is the paging-structure depth of the faulting entry:
// PML5E 5, PML4E 4, PDPTE 3, PDE 2, PTE 1 (genpt level + 1); 0 for #GP.
#pragma once

#include <cstdint>

#include "genpt/format/x86_64.hpp"
#include "genpt/walk/walk.hpp"

namespace genpt {

/// The x86-64 processor's walk. Errors: faults as walk_result (see above).
/// Concurrency: reads and writes table memory only through the memory
/// object, each descriptor once per walk (A/D by compare-exchange).
template <>
struct hw_walker<x86_64> {
  /// Processor state the walk depends on. Defaults: what genpt's builder
  /// expects (4-level, WP = 1, NXE = 1 since genpt sets XD for noexec,
  /// 1 GiB pages, MAXPHYADDR 52).
  struct regs {
    bool la57 = false;         ///< CR4.LA57: 5-level paging (57-bit VA)
    bool cr0_wp = true;        ///< CR0.WP: supervisor writes honour R/W
    bool cr4_smep = false;     ///< CR4.SMEP: no supervisor fetch from user pages
    bool cr4_smap = false;     ///< CR4.SMAP: no supervisor data access to user pages ...
    bool eflags_ac = false;    ///< ... unless EFLAGS.AC = 1
    bool efer_nxe = true;      ///< IA32_EFER.NXE: XD honoured (else bit 63 is reserved)
    bool page_1g = true;       ///< CPUID.80000001H:EDX.Page1GB[bit 26]
    unsigned maxphyaddr = 52;  ///< M: address bits M..51 are reserved (at most 52)
    std::uint64_t c_bit = 0;   ///< AMD SME C-bit mask (an address bit >= M, not reserved)
  };

  /// The registers genpt's hw_info describes for a table of `p`:
  /// LA57 for top level 4, MAXPHYADDR = oa_lg2, the C-bit of amd_encrypt_tables.
  /// No errors; a pure function (any thread).
  static constexpr regs regs_from(const x86_64::params& p, unsigned top_level) noexcept {
    regs r;
    r.la57 = top_level >= 4;
    r.maxphyaddr = p.oa_lg2;
    r.c_bit = p.c_bit;
    return r;
  }

  /// Translates `va` for access `a` from the table at `root` (CR3; bits
  /// 11:0 ignored). With set_ad and a walk_memory_rw, sets A in every entry
  /// used and D in the page's entry on writes, by compare-exchange, only
  /// when the translation succeeds (a faulting walk writes nothing); a
  /// read-only M ignores set_ad. translation::leaf is the page's entry as
  /// now in memory; perms are the combined bits (read: always; write: R/W
  /// ANDed; user: U/S ANDed; exec: no XD on any level, or NXE = 0;
  /// user_exec: user && exec); CR0.WP, SMEP and SMAP apply to the access
  /// check only. Errors: non_canonical (#GP), translation (P = 0),
  /// reserved_bit (RSVD), permission; bus_error when the memory refuses a
  /// read or write, or when descriptors keep changing under an A/D update.
  template <walk_memory M>
  static walk_result walk(const regs& r, oa_t root, va_t va, access a, M& mem, bool set_ad = false) {
    return detail::run_walk<walk_memory_rw<M>>(set_ad, [&](auto ad, walk_result& res) {
      return walk_once<decltype(ad)::value>(r, root, va, a, mem, res);
    });
  }

  /// Where every walk starts (genpt/walk/tree.hpp): the PML4 (PML5 with
  /// LA57) at CR3 bits 51:12 less the C-bit, 512 items, canonical vas
  /// (bit 47 / 56 sign-extended). No errors; a pure function (any thread).
  static constexpr tree_top top_table(const regs& r, oa_t root) noexcept {
    tree_top t;
    const unsigned depth = r.la57 ? 5 : 4;
    t.ok = true;
    t.level = depth - 1;
    t.table = root & addr_bits & ~r.c_bit;
    t.items_lg2 = 9;
    t.sign_bit = 12 + 9 * depth - 1;
    return t;
  }

  /// The entry `e` at genpt `level` (0 = PTE .. 4 = PML5E) as the walk
  /// reads it: P = 0 invalid; reserved bits (see the file comment) bad
  /// reserved_bit; PS = 1 in a PDPTE / PDE, or any PTE, a leaf; else a
  /// table. No errors; a pure function (any thread).
  static constexpr item_decode decode_item(const regs& r, std::uint64_t e, unsigned level) noexcept {
    item_decode out;
    const unsigned d = level + 1;
    if (!(e & x86_64::P)) return out;  // invalid, translation
    if (reserved(e, d, r)) {
      out.kind = item_kind::bad;
      out.fault = fault_kind::reserved_bit;
      return out;
    }
    const word_t addr = e & addr_bits & ~r.c_bit;
    if (d == 1 || ((d == 2 || d == 3) && (e & x86_64::PS))) {
      out.kind = item_kind::leaf;
      out.size_lg2 = 12 + 9 * level;
      out.oa = addr & ~((word_t{1} << out.size_lg2) - 1);
      return out;
    }
    out.kind = item_kind::table;
    out.next_level = level - 1;
    out.next_items_lg2 = 9;
    out.oa = addr;
    return out;
  }

 private:
  using word_t = std::uint64_t;
  static constexpr word_t addr_bits = 0x000F'FFFF'FFFF'F000;  // bits 51:12

  /// Reserved address bits M..51 (none when M >= 52), less the C-bit.
  static constexpr word_t rsvd_addr(const regs& r) noexcept {
    const unsigned m = r.maxphyaddr < 12 ? 12 : r.maxphyaddr;
    if (m >= 52) return 0;
    return addr_bits & ~((word_t{1} << m) - 1) & ~r.c_bit;
  }

  /// Reserved bits of a present entry at depth `d` (1 = PTE .. 5 = PML5E).
  static constexpr bool reserved(word_t e, unsigned d, const regs& r) noexcept {
    if (e & rsvd_addr(r)) return true;
    if (!r.efer_nxe && (e & x86_64::XD)) return true;
    if (d >= 4) return (e & x86_64::PS) != 0;  // Tables 4-14, 4-15: bit 7 reserved
    if (d == 3 && (e & x86_64::PS)) {
      if (!r.page_1g) return true;                   // §4.1.4: no 1-GByte pages
      return (e & 0x3FFF'E000) != 0;                 // Table 4-16: bits 29:13
    }
    if (d == 2 && (e & x86_64::PS)) return (e & 0x001F'E000) != 0;  // Table 4-18: bits 20:13
    return false;
  }

  /// One walk. Returns false when an A/D update found a changed
  /// descriptor and the walk must restart (res then holds a bus_error).
  template <bool SetAd, walk_memory M>
  static bool walk_once(const regs& r, oa_t root, va_t va, access a, M& mem, walk_result& res) {
    const unsigned depth = r.la57 ? 5 : 4;
    const unsigned va_bits = 12 + 9 * depth;  // 48 or 57
    // §3.3.7.1: bits 63:va_bits-1 all equal, else #GP before any walk.
    const word_t hi = va >> (va_bits - 1);
    if (hi != 0 && hi != (~word_t{0} >> (va_bits - 1))) {
      res = detail::make_fault(fault_kind::non_canonical, 0, 0, 0, 0);
      return true;
    }
    oa_t used_oa[5] = {};
    word_t used[5] = {};
    bool rw = true, us = true, xd = false;
    oa_t table = root & addr_bits & ~r.c_bit;
    for (unsigned d = depth;; --d) {  // d counts down; every step ends or descends
      const unsigned level = d - 1;
      const unsigned shift = 12 + 9 * level;
      const oa_t item_oa = table + (((va >> shift) & 0x1FF) << 3);
      word_t e = 0;
      if (!mem.read64(item_oa, e)) {
        res = detail::make_fault(fault_kind::bus_error, level, static_cast<int>(d), item_oa, 0);
        return true;
      }
      if (!(e & x86_64::P)) {
        res = detail::make_fault(fault_kind::translation, level, static_cast<int>(d), item_oa, e);
        return true;
      }
      if (reserved(e, d, r)) {
        res = detail::make_fault(fault_kind::reserved_bit, level, static_cast<int>(d), item_oa, e);
        return true;
      }
      used_oa[level] = item_oa;
      used[level] = e;
      rw = rw && (e & x86_64::RW);
      us = us && (e & x86_64::US);
      xd = xd || (r.efer_nxe && (e & x86_64::XD));
      const bool page = d == 1 || ((d == 2 || d == 3) && (e & x86_64::PS));
      if (!page) {
        table = e & addr_bits & ~r.c_bit;
        continue;
      }
      if (!allowed(r, a, rw, us, xd)) {
        res = detail::make_fault(fault_kind::permission, level, static_cast<int>(d), item_oa, e);
        return true;
      }
      if constexpr (SetAd) {
        for (unsigned l = depth; l-- > level;) {
          const word_t bits = x86_64::A | (l == level && a.write && !a.exec ? x86_64::D : 0);
          switch (detail::set_hw_bits(mem, used_oa[l], used[l], bits, x86_64::A | x86_64::D)) {
            case detail::hw_bits_update::done:
              break;
            case detail::hw_bits_update::changed:
              res = detail::make_fault(fault_kind::bus_error, l, static_cast<int>(l + 1), used_oa[l], used[l]);
              return false;
            case detail::hw_bits_update::bus_error:
              res = detail::make_fault(fault_kind::bus_error, l, static_cast<int>(l + 1), used_oa[l], 0);
              return true;
          }
        }
        e = used[level];
      }
      const word_t size_m1 = (word_t{1} << shift) - 1;
      res.ok = true;
      res.t.oa = ((e & addr_bits & ~r.c_bit) & ~size_m1) | (va & size_m1);
      res.t.size_lg2 = shift;
      res.t.level = level;
      res.t.leaf = e;
      res.t.perms = walk_perms{true, rw, !xd, us, us && !xd};
      return true;
    }
  }

  /// SDM Vol. 3A §4.6.1 for one access, given the combined R/W, U/S, XD.
  static constexpr bool allowed(const regs& r, access a, bool rw, bool us, bool xd) noexcept {
    if (a.exec) {
      if (xd) return false;                  // XD on any level (NXE = 1)
      if (a.user) return us;                 // user fetch: user pages only
      return !(us && r.cr4_smep);            // SMEP: no supervisor fetch from user pages
    }
    if (a.user) return us && (!a.write || rw);  // user data: U/S and, for writes, R/W
    if (us && r.cr4_smap && !r.eflags_ac) return false;  // SMAP, explicit access, AC = 0
    return !a.write || rw || !r.cr0_wp;      // supervisor write: R/W only with CR0.WP = 1
  }
};

}  // namespace genpt
