// genpt/walk/armv8.hpp - the VMSAv8-64 translation table walk over untrusted memory.
//
// Written from the Arm Architecture Reference Manual (DDI 0487) chapter D8
// and the AArch64.S1Translate / AArch64.S2Translate pseudocode, not from
// genpt's format hooks (only descriptor bit constants are shared):
//   D8.1/D8.2 input address size: 64 - TnSZ bits (25 .. 48, 52 with
//            FEAT_LPA2 DS = 1 (4K/16K) or FEAT_LVA (64K stage 1) /
//            FEAT_LPA (64K stage 2)); a TnSZ outside that range is a
//            translation fault at level 0 (the IMPLEMENTATION DEFINED
//            "fault" choice of AArch64.S1TxSZFaults, not the clamp). Stage 1
//            (EL1&0): VA bit 63 selects TTBR0 / TTBR1; VA bits 63:ia must be
//            all zeros (TTBR0) or all ones (TTBR1), else a translation fault
//            at level 0 (AArch64.VAIsOutOfRange). A VA whose bit 63 selects
//            the other TTBR is fault_kind::non_canonical: the hardware would
//            walk the other table, not this one. Stage 2: IPA bits 63:ia
//            zero, else a translation fault at level 0.
//            Initial lookup level: stage 1 4 - ceil((ia - granule) /
//            stride); stage 2 from VTCR_EL2.SL0 (SL2 for 4K level -1), where
//            an invalid or inconsistent SL0 is a translation fault at level
//            0 (AArch64.S2InvalidSL / S2InconsistentSL) and a start level
//            that decodes more than a granule's worth of bits uses up to 16
//            concatenated tables.
//            Output address size: IPS / PS, capped by PAMax (48 bits, 52
//            with DS = 1 (4K/16K) or FEAT_LPA (64K); PS 52 with DS = 0 at
//            4K/16K is 48, a reserved PS is PAMax). A table base (TTBR) at
//            or above it: address size fault at level 0; a next-table or
//            leaf address at or above it: address size fault at that level.
//   D8.3     descriptors: bit 0 = 0 invalid (translation fault); levels
//            -1..2 bits 1:0 = 0b11 table, 0b01 block where the granule allows
//            one (AArch64.BlockDescSupported: 4K L1, L2 and L0 with DS = 1;
//            16K L2 and L1 with DS = 1; 64K L2 and L1 with FEAT_LPA), else a
//            translation fault; level 3: 0b11 page, 0b01 reserved
//            (translation fault). Addresses: bits 47:granule, with DS = 1
//            bits 49:granule and OA[51:50] in bits 9:8, 64K with FEAT_LPA
//            OA[51:48] in bits 15:12 (without it those bits are ignored); a
//            block's address bits below its size are ignored. The TTBR
//            base's bits below the top table's size are treated as zero.
//   D8.4     access: AF = 0 in a leaf is an access flag fault unless
//            hardware AF management is on (HA), priority translation >
//            address size > access flag > permission. Stage 1 (EL1&0):
//            AP[2:1] 00 EL1 RW / EL0 none, 01 both RW, 10 EL1 RO, 11 both RO;
//            hierarchical limits of every table descriptor (unless HPD):
//            APTable[0] (bit 61) removes EL0 data access, APTable[1] (bit 62)
//            removes write, UXNTable (bit 60) / PXNTable (bit 59) forbid
//            EL0 / EL1 execution at every level below; memory writable at
//            EL0 is PXN; SCTLR.WXN makes writable memory XN at both ELs;
//            PSTATE.PAN forbids EL1 data access to EL0-accessible memory.
//            Stage 2: S2AP[0] read, S2AP[1] write, XN[1] execute-never,
//            with FEAT_XNX XN[1:0] 01 EL1-only / 11 EL0-only execute-never.
//            An instruction fetch checks execute permission only.
//   D8.5     hardware-managed state (FEAT_HAFDBS): with HA the walk sets AF,
//            with HA and HD a leaf with DBM = 1 is writable-clean while
//            AP[2] = 1 (stage 2: S2AP[1] = 0) and a write clears AP[2] (sets
//            S2AP[1]); each update is one compare-exchange of the leaf, made
//            only when the access does not fault (the Arm ARM leaves the
//            update on a permission fault CONSTRAINED UNPREDICTABLE: never).
//   D8.7.1   the Contiguous bit: a run of 16 (4K), 32 / 128 (16K L2 / L3)
//            or 32 (64K) items, aligned in the table and in OA. CONSTRAINED
//            UNPREDICTABLE choice for a misprogrammed run (an item of the
//            aligned run invalid, unreadable, of another type, without the
//            Contiguous bit, with another OA than run base + index * item
//            size or other attributes (AF, the dirty state of a DBM leaf
//            and the ignored / PBHA bits 63:55 aside), a run OA not aligned
//            to the run size, or a run larger than the table's input range):
//            the walk treats the item as not contiguous - the translation is
//            the item's own, translation::size_lg2 the item's size; it never
//            faults for it. A Contiguous bit at a level with no contiguous
//            run (16K L1) is ignored.
// Not modelled: TBI, EPDn / E0PDn, NSTable / NS (one security state),
// FEAT_TTST, FEAT_PAN3 (EPAN), PIE / POE, FEAT_HAFT, big-endian tables,
// single-privilege regimes (EL2 / EL3 stage 1: AP[1] has no EL0 meaning).
//
// fault::spec_level is the Arm lookup level as ESR_ELx reports it (-1..3;
// 0 for the faults before any descriptor is read); fault::level is always
// 3 - spec_level (genpt's level numbering, 4 for Arm level -1).
#pragma once

#include <cstdint>

#include "genpt/format/armv8.hpp"
#include "genpt/walk/walk.hpp"

namespace genpt {

/// The VMSAv8-64 walk for granule 2^G at stage S. Errors: faults as
/// walk_result (see above). Concurrency: reads and writes table memory only
/// through the memory object; AF / dirty updates by compare-exchange.
template <unsigned G, unsigned S>
struct hw_walker<armv8<G, S>> {
  using format = armv8<G, S>;

  /// Register state the walk depends on (TCR_EL1 / VTCR_EL2, SCTLR_EL1,
  /// PSTATE, implemented features). Defaults: what genpt's builder produces
  /// for a default config (48-bit VA and OA, TTBR0; stage 2 SL0 = 2, i.e.
  /// 4K L0, 16K L1 of two concatenated tables, 64K L1).
  struct regs {
    unsigned tsz = 16;   ///< T0SZ / T1SZ (stage 1), VTCR_EL2.T0SZ: input size 64 - tsz
    bool ttbr1 = false;  ///< stage 1: the table is TTBR1's (VA bit 63 = 1, bits 63:ia ones)
    unsigned ps = 5;     ///< TCR.IPS / VTCR.PS: 0..6 = 32, 36, 40, 42, 44, 48, 52 bits
    bool ds = false;     ///< TCR.DS / VTCR.DS (4K/16K FEAT_LPA2): 52-bit VA/OA forms
    bool lpa = false;    ///< 64K FEAT_LPA: PAMax 52, OA[51:48] in bits 15:12, L1 blocks, 52-bit IPA
    bool lva = false;    ///< 64K stage 1 FEAT_LVA: 52-bit VA
    unsigned sl0 = 2;    ///< stage 2 VTCR_EL2.SL0 (4K: 0 L2, 1 L1, 2 L0; 16K/64K: 0 L3 .. 3 L0)
    unsigned sl2 = 0;    ///< stage 2 VTCR_EL2.SL2 (4K DS = 1: SL2 = 1, SL0 = 0 is level -1)
    bool ha = false;     ///< TCR.HA / VTCR.HA: hardware sets AF
    bool hd = false;     ///< TCR.HD / VTCR.HD: hardware dirty state for DBM leaves (needs ha)
    bool hpd = false;    ///< stage 1 TCR.HPDn: hierarchical permissions disabled
    bool wxn = false;    ///< stage 1 SCTLR_EL1.WXN: writable implies execute-never
    bool pan = false;    ///< stage 1 PSTATE.PAN: no EL1 data access to EL0-accessible memory
    bool xnx = false;    ///< stage 2 FEAT_XNX: XN[0] distinguishes EL1 / EL0 execution
  };

  /// The registers genpt's hw_info (format::make_hw_info) describes for a
  /// table of `p` at `top_level`: T0SZ/T1SZ, TTBR1, IPS/PS, DS, SL0/SL2;
  /// FEAT_LPA / FEAT_LVA where the config uses them; HA = HD = feature dbm.
  static constexpr regs regs_from(const typename format::params& p, unsigned top_level) noexcept {
    const auto h = format::make_hw_info(0, top_level, p);
    regs r;
    r.tsz = h.tsz;
    r.ttbr1 = h.ttbr1;
    r.ps = h.ps;
    r.ds = h.ds;
    r.lpa = G == 16 && p.lpa;
    r.lva = G == 16 && S == 1 && p.va_lg2 > 48;
    r.sl0 = S == 2 ? h.sl0 : 0;
    r.sl2 = S == 2 ? h.sl2 : 0;
    r.ha = r.hd = p.dbm;
    return r;
  }

  /// Translates `va` for access `a` from the table at `root` (the TTBR /
  /// VTTBR base address). With set_ad and a walk_memory_rw, HA / HD act as
  /// the hardware's (AF set, writable-clean DBM leaves made dirty on
  /// writes, by compare-exchange, only when the access succeeds); without
  /// set_ad (or with a read-only M) the walker never writes and HA / HD act
  /// as 0: AF = 0 is an access flag fault and a write to a writable-clean
  /// leaf a permission fault. translation::leaf is the leaf as now in
  /// memory; perms are EL1 read / write / execute, EL0 data access (user:
  /// EL0 may read, user && write: EL0 may write) and EL0 execute, combined
  /// with every table's hierarchical limits (stage 2: S2AP read / write,
  /// user = read || write, exec / user_exec from XN). PAN is applied to the
  /// access check only. Errors: non_canonical (VA of the other TTBR),
  /// translation, address_size, access_flag, permission; bus_error when the
  /// memory refuses a read or the update, or when the leaf keeps changing
  /// under an update.
  template <walk_memory M>
  static walk_result walk(const regs& r, oa_t root, va_t va, access a, M& mem,
                          bool set_ad = false) {
    return detail::run_walk<walk_memory_rw<M>>(set_ad && r.ha, [&](auto ad, walk_result& res) {
      return walk_once<decltype(ad)::value>(r, root, va, a, mem, res);
    });
  }

  /// Where every walk starts (genpt/walk/tree.hpp): the input size and
  /// initial lookup level of the registers (a translation fault at level 0
  /// when they give none), the top table (TTBR base with the bits below
  /// its size as zero; an address size fault when at or above the OA
  /// size) with all its (concatenated) items; TTBR1 vas have ones above
  /// the input size. No errors; a pure function (any thread).
  static constexpr tree_top top_table(const regs& r, oa_t root) noexcept {
    tree_top t;
    t.granule_lg2 = G;
    t.stride = stride;
    const unsigned ia = 64 - (r.tsz > 64 ? 64 : r.tsz);
    const bool va52 = G == 16 ? (S == 1 ? r.lva : r.lpa) : r.ds;
    if (ia < 25 || ia > (va52 ? 52u : 48u)) return t;  // translation fault
    const int lvl = start_level(r, ia);
    if (lvl > 3) return t;
    t.items_lg2 = ia - item_lg2(lvl);
    t.table = root & ~((word_t{1} << (t.items_lg2 + 3)) - 1);
    if (t.table >> oa_bits(r)) {
      t.fault = fault_kind::address_size;
      return t;
    }
    t.ok = true;
    t.level = static_cast<unsigned>(3 - lvl);
    if (S == 1 && r.ttbr1) t.va_base = ~word_t{0} << ia;
    return t;
  }

  /// The descriptor `e` at genpt `level` (Arm level 3 - level) as the walk
  /// reads it: bit 0 = 0 invalid; bits 1:0 = 0b11 below level 3 a table
  /// (an address at or above the OA size: bad address_size); else a block
  /// where the granule allows one, or a level 3 page (bits 1:0 = 0b11) - a
  /// leaf of one item (the Contiguous run and AF are the walk's) - else
  /// bad translation; a leaf address at or above the OA size: bad
  /// address_size. No errors; a pure function (any thread).
  static constexpr item_decode decode_item(const regs& r, std::uint64_t e, unsigned level) noexcept {
    item_decode out;
    const int lvl = 3 - static_cast<int>(level);
    if (!(e & VALID)) return out;  // invalid, translation
    out.kind = item_kind::bad;
    if (lvl < 3 && (e & TABLE)) {
      const oa_t next = decode_addr(e, r);
      if (next >> oa_bits(r)) {
        out.fault = fault_kind::address_size;
        return out;
      }
      out.kind = item_kind::table;
      out.next_level = level - 1;
      out.next_items_lg2 = stride;
      out.oa = next;
      return out;
    }
    if (lvl < 3 ? !block_allowed(lvl, r) : !(e & TABLE)) return out;  // translation
    const unsigned shift = item_lg2(lvl);
    const oa_t base = decode_addr(e, r) & ~((word_t{1} << shift) - 1);
    if (base >> oa_bits(r)) {
      out.fault = fault_kind::address_size;
      return out;
    }
    out.kind = item_kind::leaf;
    out.oa = base;
    out.size_lg2 = shift;
    return out;
  }

 private:
  using word_t = std::uint64_t;
  static constexpr unsigned stride = G - 3;
  static constexpr word_t VALID = format::VALID, TABLE = format::TABLE, AF = format::AF;
  static constexpr word_t DBM = format::DBM, CONT = format::CONT;
  // Stage 1 table descriptor hierarchical limits (D8.4, Table descriptor bits 63:59).
  static constexpr word_t PXN_TABLE = word_t{1} << 59;
  static constexpr word_t UXN_TABLE = word_t{1} << 60;
  static constexpr word_t AP_TABLE0 = word_t{1} << 61;  ///< no EL0 access below
  static constexpr word_t AP_TABLE1 = word_t{1} << 62;  ///< no write access below
  /// Leaf bits the hardware ignores or uses for PBHA: not compared in a run.
  static constexpr word_t IGNORED_HI = 0xFF80'0000'0000'0000;  // bits 63:55

  /// Bytes one item at Arm level `lvl` (-1..3) translates, log2.
  static constexpr unsigned item_lg2(int lvl) noexcept {
    return G + stride * static_cast<unsigned>(3 - lvl);
  }

  /// Output address bits in use: PS capped by PAMax (D8.2, TCR.IPS).
  static constexpr unsigned oa_bits(const regs& r) noexcept {
    constexpr unsigned sizes[] = {32, 36, 40, 42, 44, 48, 52};
    const unsigned pamax = (G == 16 ? r.lpa : r.ds) ? 52 : 48;
    const unsigned ps = r.ps > 6 ? pamax : sizes[r.ps];
    return ps < pamax ? ps : pamax;
  }

  /// The descriptor bits that hold an address (D8.3 address fields).
  static constexpr word_t addr_field(const regs& r) noexcept {
    const word_t low = ~((word_t{1} << G) - 1);
    if constexpr (G == 16) {
      return (0x0000'FFFF'FFFF'FFFF & low) | (r.lpa ? word_t{0xF000} : 0);
    } else {
      return r.ds ? (0x0003'FFFF'FFFF'FFFF & low) | word_t{0x300} : 0x0000'FFFF'FFFF'FFFF & low;
    }
  }
  /// The address a table / block / page descriptor holds (granule aligned).
  static constexpr oa_t decode_addr(word_t e, const regs& r) noexcept {
    const word_t low = ~((word_t{1} << G) - 1);
    if constexpr (G == 16) {
      return (e & 0x0000'FFFF'FFFF'FFFF & low) | (r.lpa ? ((e >> 12) & 0xF) << 48 : 0);
    } else {
      if (!r.ds) return e & 0x0000'FFFF'FFFF'FFFF & low;
      return (e & 0x0003'FFFF'FFFF'FFFF & low) | ((e >> 8) & 0x3) << 50;
    }
  }

  /// AArch64.BlockDescSupported: may bits 1:0 = 0b01 at Arm level `lvl` be a block?
  static constexpr bool block_allowed(int lvl, const regs& r) noexcept {
    if constexpr (G == 12) return lvl == 1 || lvl == 2 || (lvl == 0 && r.ds);
    if constexpr (G == 14) return lvl == 2 || (lvl == 1 && r.ds);
    return lvl == 2 || (lvl == 1 && r.lpa);
  }

  /// Items in a contiguous run at Arm level `lvl`, log2 (D8.7.1); 0: none.
  static constexpr unsigned contig_lg2(int lvl) noexcept {
    if constexpr (G == 12) return 4;
    if constexpr (G == 14) return lvl == 3 ? 7 : lvl == 2 ? 5 : 0;
    return 5;
  }

  static constexpr walk_result fault_at(fault_kind k, int lvl, oa_t item_oa, word_t w) noexcept {
    return detail::make_fault(k, static_cast<unsigned>(3 - lvl), lvl, item_oa, w);
  }

  /// The initial lookup level, or 4 when the registers give none (a
  /// translation fault at level 0). `ia` is the input size.
  static constexpr int start_level(const regs& r, unsigned ia) noexcept {
    if constexpr (S == 1) {
      return 4 - static_cast<int>((ia - G + stride - 1) / stride);
    } else {
      int lvl = 0;
      if constexpr (G == 12) {
        if (r.sl2) {
          if (!r.ds || r.sl0 != 0) return 4;  // AArch64.S2InvalidSL
          lvl = -1;
        } else {
          if (r.sl0 > 2) return 4;  // SL0 = 3 (level 3) needs FEAT_TTST
          lvl = 2 - static_cast<int>(r.sl0);
        }
      } else {
        if (r.sl0 > 3 || (r.sl0 == 3 && (G == 16 || !r.ds))) return 4;  // L0: 16K with DS only
        lvl = 3 - static_cast<int>(r.sl0);
      }
      // AArch64.S2InconsistentSL: the start level must decode 1 .. stride
      // (+ 4 for up to 16 concatenated tables; level -1: at most 4) bits.
      const unsigned lo = item_lg2(lvl) + 1;
      const unsigned hi = lvl < 0 ? lo + 3 : lo + stride - 1 + 4;
      if (ia < lo || ia > hi) return 4;
      return lvl;
    }
  }

  /// One walk. Returns false when an update found the leaf changed (other
  /// than in AF / dirty state) and the walk must restart (res: bus_error).
  template <bool SetAd, walk_memory M>
  static bool walk_once(const regs& r, oa_t root, va_t va, access a, M& mem, walk_result& res) {
    const bool ha = SetAd && r.ha;
    const bool hd = ha && r.hd;
    // D8.2 input address size.
    const unsigned ia = 64 - (r.tsz > 64 ? 64 : r.tsz);
    const bool va52 = G == 16 ? (S == 1 ? r.lva : r.lpa) : r.ds;
    if (ia < 25 || ia > (va52 ? 52u : 48u)) {
      res = fault_at(fault_kind::translation, 0, 0, 0);
      return true;
    }
    const word_t hi = va >> ia;
    if constexpr (S == 1) {
      if (((va >> 63) != 0) != r.ttbr1) {  // the other TTBR's half
        res = detail::make_fault(fault_kind::non_canonical, 0, 0, 0, 0);
        return true;
      }
      if (hi != (r.ttbr1 ? ~word_t{0} >> ia : 0)) {  // AArch64.VAIsOutOfRange
        res = fault_at(fault_kind::translation, 0, 0, 0);
        return true;
      }
    } else {
      if (hi != 0) {  // AArch64.IPAIsOutOfRange
        res = fault_at(fault_kind::translation, 0, 0, 0);
        return true;
      }
    }
    int lvl = start_level(r, ia);
    if (lvl > 3) {
      res = fault_at(fault_kind::translation, 0, 0, 0);
      return true;
    }
    const unsigned oa_lg2 = oa_bits(r);
    unsigned idx_bits = ia - item_lg2(lvl);
    // The top table's size: BADDR bits below it are treated as zero.
    oa_t table = root & ~((word_t{1} << (idx_bits + 3)) - 1);
    if (table >> oa_lg2) {  // TTB address size fault, reported at level 0
      res = fault_at(fault_kind::address_size, 0, 0, 0);
      return true;
    }
    bool ro_table = false, no_el0_table = false, uxn_table = false, pxn_table = false;
    for (;;) {  // lvl grows by one each pass, from -1 at least to 3 at most: 5 passes
      const unsigned shift = item_lg2(lvl);
      const word_t idx = (va >> shift) & ((word_t{1} << idx_bits) - 1);
      const oa_t item_oa = table + idx * 8;
      word_t e = 0;
      if (!mem.read64(item_oa, e)) {
        res = fault_at(fault_kind::bus_error, lvl, item_oa, 0);
        return true;
      }
      if (!(e & VALID)) {
        res = fault_at(fault_kind::translation, lvl, item_oa, e);
        return true;
      }
      if (lvl < 3 && (e & TABLE)) {
        const oa_t next = decode_addr(e, r);
        if (next >> oa_lg2) {
          res = fault_at(fault_kind::address_size, lvl, item_oa, e);
          return true;
        }
        if (S == 1 && !r.hpd) {
          ro_table = ro_table || (e & AP_TABLE1);
          no_el0_table = no_el0_table || (e & AP_TABLE0);
          uxn_table = uxn_table || (e & UXN_TABLE);
          pxn_table = pxn_table || (e & PXN_TABLE);
        }
        table = next;
        idx_bits = stride;
        ++lvl;
        continue;
      }
      // A block (levels < 3) or a page (level 3, bits 1:0 = 0b11).
      if (lvl < 3 ? !block_allowed(lvl, r) : !(e & TABLE)) {
        res = fault_at(fault_kind::translation, lvl, item_oa, e);
        return true;
      }
      const oa_t base = decode_addr(e, r) & ~((word_t{1} << shift) - 1);
      if (base >> oa_lg2) {
        res = fault_at(fault_kind::address_size, lvl, item_oa, e);
        return true;
      }
      if (!(e & AF) && !ha) {
        res = fault_at(fault_kind::access_flag, lvl, item_oa, e);
        return true;
      }
      const word_t dirty_bit = S == 1 ? format::AP2 : format::S2AP_W;
      // D8.5: with HA and HD a DBM leaf is writable whatever its dirty state.
      const bool dbm_writable = hd && (e & DBM);
      walk_perms perms;
      if constexpr (S == 1) {
        const bool ap2 = ((e & format::AP2) && !dbm_writable) || ro_table;
        const bool ap1 = (e & format::AP1) && !no_el0_table;
        perms.read = true;
        perms.write = !ap2;
        perms.user = ap1;
        const bool uw = ap1 && !ap2;
        const bool wxn = r.wxn && perms.write;
        perms.exec = !(e & format::PXN) && !pxn_table && !uw && !wxn;
        perms.user_exec = !(e & format::UXN) && !uxn_table && !wxn;
      } else {
        perms.read = (e & format::S2AP_R) != 0;
        perms.write = (e & format::S2AP_W) || dbm_writable;
        perms.user = perms.read || perms.write;
        const bool xn1 = (e >> 54) & 1, xn0 = r.xnx && ((e >> 53) & 1);
        perms.exec = xn1 ? xn0 : !xn0;  // XN[1:0] 00 yes, 01 no, 10 no, 11 yes (EL1)
        perms.user_exec = !xn1;         // XN[1:0] 00 yes, 01 yes, 10 no, 11 no (EL0)
      }
      if (!allowed(r, a, perms)) {
        res = fault_at(fault_kind::permission, lvl, item_oa, e);
        return true;
      }
      if constexpr (SetAd) {
        word_t set = ha ? AF : 0, clear = 0;
        if (dbm_writable && a.write && !a.exec) {
          if constexpr (S == 1)
            clear = format::AP2;
          else
            set |= format::S2AP_W;
        }
        const word_t hw_bits = AF | ((e & DBM) ? dirty_bit : 0);
        switch (update(mem, item_oa, e, set, clear, hw_bits)) {
          case detail::hw_bits_update::done:
            break;
          case detail::hw_bits_update::changed:
            res = fault_at(fault_kind::bus_error, lvl, item_oa, e);
            return false;
          case detail::hw_bits_update::bus_error:
            res = fault_at(fault_kind::bus_error, lvl, item_oa, 0);
            return true;
        }
      }
      unsigned size_lg2 = shift;
      if (run_is_contiguous(r, mem, table, idx, idx_bits, lvl, e, base))
        size_lg2 += contig_lg2(lvl);
      res.ok = true;
      res.t.oa = base | (va & ((word_t{1} << shift) - 1));
      res.t.size_lg2 = size_lg2;
      res.t.level = static_cast<unsigned>(3 - lvl);
      res.t.leaf = e;
      res.t.perms = perms;
      return true;
    }
  }

  /// D8.4 for one access, given the combined permissions.
  static constexpr bool allowed(const regs& r, access a, const walk_perms& p) noexcept {
    if (a.exec) return a.user ? p.user_exec : p.exec;  // a fetch checks execute only
    if constexpr (S == 1) {
      if (a.user) return p.user && (!a.write || p.write);
      if (r.pan && p.user) return false;  // PAN: EL1 data access to EL0-accessible memory
      return !a.write || p.write;
    } else {
      return a.write ? p.write : p.read;
    }
  }

  /// D8.7.1: true when the leaf `e` (item `idx` of the table at `table`,
  /// whose index has `idx_bits` bits) has the Contiguous bit and its whole
  /// aligned run is consistent (see the header for the rules); false sends
  /// the walk the CONSTRAINED UNPREDICTABLE "not contiguous" way.
  template <walk_memory M>
  static bool run_is_contiguous(const regs& r, M& mem, oa_t table, word_t idx, unsigned idx_bits,
                                int lvl, word_t e, oa_t base) {
    const unsigned n_lg2 = contig_lg2(lvl);
    if (!(e & CONT) || n_lg2 == 0 || n_lg2 > idx_bits) return false;
    const unsigned item = item_lg2(lvl);
    const word_t first = idx & ~((word_t{1} << n_lg2) - 1);
    const word_t before = (idx - first) << item;  // OA bytes the run holds before this item
    if (base < before) return false;
    const oa_t run_oa = base - before;
    if (run_oa & ((word_t{1} << (item + n_lg2)) - 1)) return false;  // run OA misaligned
    const word_t dirty_bit = S == 1 ? format::AP2 : format::S2AP_W;
    const word_t same = ~(addr_field(r) | AF | ((e & DBM) ? dirty_bit : 0) | IGNORED_HI);
    for (word_t j = 0; j < (word_t{1} << n_lg2); ++j) {
      word_t x = 0;
      if (!mem.read64(table + (first + j) * 8, x)) return false;
      if ((x & same) != (e & same)) return false;  // also: valid, type, CONT, attributes
      if ((decode_addr(x, r) & ~((word_t{1} << item) - 1)) != run_oa + (j << item)) return false;
    }
    return true;
  }

  /// Sets `set` and clears `clear` in the leaf at `item_oa`, which the walk
  /// used as `used`, by compare-exchange (the hardware's atomic update).
  /// A concurrent change of `hw_bits` only (AF / dirty state) is retried on
  /// the new value; any other change means the walk used a stale leaf. On
  /// done, `used` is the leaf as now in memory. Bounded: 16 tries.
  template <walk_memory_rw M>
  static detail::hw_bits_update update(M& mem, oa_t item_oa, word_t& used, word_t set, word_t clear,
                                       word_t hw_bits) {
    word_t expected = used;
    for (unsigned tries = 0; tries < 16; ++tries) {
      const word_t want = (expected | set) & ~clear;
      if (want == expected) {
        used = expected;
        return detail::hw_bits_update::done;
      }
      const word_t before = expected;
      if (mem.cmpxchg64(item_oa, expected, want)) {
        used = want;
        return detail::hw_bits_update::done;
      }
      if (expected == before) return detail::hw_bits_update::bus_error;  // refused, not raced
      if ((expected & ~hw_bits) != (used & ~hw_bits)) return detail::hw_bits_update::changed;
    }
    return detail::hw_bits_update::changed;
  }
};

}  // namespace genpt
