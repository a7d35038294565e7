// genpt/walk/riscv.hpp - the RISC-V hart's (and IOMMU's) page walk over
// untrusted memory: Sv39 / Sv48 / Sv57 and the G-stage x4 modes.
//
// Written from the RISC-V Privileged Architecture, not from genpt's format
// hooks (the PTE bit constants of format/riscv.hpp are shared):
//   "Virtual Address Translation Process" (Sv32 section, applied to Sv39 /
//   Sv48 / Sv57 with LEVELS = 3 / 4 / 5, PTESIZE = 8), step by step:
//     1. a = satp.PPN x 4096 (hgatp x4: the 16 KiB-aligned root, PPN bits
//        1:0 read as zero), i = LEVELS - 1; a VA whose bits 63:VABITS-1
//        are not all equal (Sv), or a GPA with bits 63:VABITS set (x4:
//        41 / 50 / 59 bits), faults before any read;
//     2. pte = the PTE at a + vpn[i] x 8 (the x4 top: 11 index bits); a
//        PMA / PMP violation is an access fault (here: the memory object
//        refuses the read, bus_error);
//     3. V = 0, or R = 0 and W = 1, or any reserved bit or encoding set:
//        page fault. Reserved: bits 60:54; PBMT without Svpbmt, PBMT = 3;
//        N without Svnapot, N outside level 0, a NAPOT ppn[0][3:0] other
//        than 0b1000 (Svnapot "Page-based NAPOT ranges", the only
//        ratified size is 64 KiB); in a non-leaf PTE also D, A, U, N and
//        PBMT ("reserved for future standard use");
//     4. R = W = X = 0 points to the next level: i = i - 1, a page fault
//        when i < 0;
//     5. the leaf's R / W / X / U against the access, the privilege mode
//        and sstatus.SUM / MXR (§"Memory Privilege in sstatus"): U-mode
//        needs U = 1; S-mode never fetches from U = 1 and loads / stores to
//        U = 1 pages only with SUM; MXR makes X pages readable;
//     6. a superpage (i > 0) whose ppn[i-1:0] is not zero: page fault
//        (misaligned superpage);
//     7. A = 0, or a store with D = 0: Svade (no ADUE) raises a page
//        fault; Svadu sets them atomically, re-walking when the PTE changed
//        (here: compare-exchange through the memory object, set_ad);
//     8. pa = pte.ppn above level i, va below it (a NAPOT PTE: ppn[0][3:0]
//        from vpn[0][3:0]).
//   Hypervisor §"Guest Physical Address Translation": every G-stage access
//   is a U-mode access (G-stage leaves need U = 1; SUM does not apply),
//   G is ignored, and faults are guest-page faults.
//
// Fault kinds: translation (V = 0, a pointer at level 0), reserved_bit
// (step 3's reserved bits and encodings, misaligned superpage),
// permission (step 5), access_flag (step 7 without Svadu: A = 0, or a
// store with D = 0), non_canonical (the VA / GPA check of step 1),
// bus_error (an access fault on a PTE read or A/D write). The hardware
// reports all but the access fault as one exception per access type:
// exception_code() gives scause.
//
// fault::spec_level is the spec's level i of the faulting PTE (the genpt
// level); 0 for non_canonical.
#pragma once

#include <cstdint>

#include "genpt/format/riscv.hpp"
#include "genpt/walk/walk.hpp"

namespace genpt {

/// The RISC-V walk. Errors: faults as walk_result (see above).
/// Concurrency: reads and writes table memory only through the memory
/// object, each PTE once per walk (A/D by compare-exchange).
template <>
struct hw_walker<riscv> {
  /// The hart's state the walk depends on. Defaults: Sv39, both
  /// extensions present, Svade (no hardware A/D updating), SUM = MXR = 0.
  struct regs {
    unsigned levels = 3;   ///< 3 / 4 / 5 (satp / hgatp MODE 8 / 9 / 10); 0: Bare (no translation)
    bool g_stage = false;  ///< hgatp x4 mode: GPA zero-extended, 16 KiB root, U-mode accesses
    bool svnapot = true;   ///< Svnapot implemented (else N is reserved)
    bool svpbmt = true;    ///< Svpbmt implemented (else PBMT is reserved)
    bool adue = false;     ///< Svadu enabled (menvcfg / henvcfg.ADUE): the walk may set A / D
    bool sum = false;      ///< sstatus.SUM (vsstatus for VS-stage): S-mode data access to U pages
    bool mxr = false;      ///< sstatus.MXR: loads from executable pages
  };

  /// The registers genpt's hw_info describes for a table of `p`: levels =
  /// top_level + 1, g_stage, Svnapot / Svpbmt as the table uses them
  /// (present when the feature is on, else reserved), ADUE from svadu;
  /// and SUM = 1, the state a kernel (or an IOMMU process context with
  /// SUM) runs in to reach user (U = 1) buffers, so that a supervisor
  /// load or store reaches every page genpt maps without prot::priv.
  /// No errors; a pure function (any thread).
  static constexpr regs regs_from(const riscv::params& p, unsigned top_level) noexcept {
    regs r;
    r.sum = true;
    r.levels = top_level + 1;
    r.g_stage = p.gstage;
    r.svnapot = p.napot;
    r.svpbmt = p.pbmt;
    r.adue = p.adu;
    return r;
  }

  /// The walk registers of a satp (g_stage false) or hgatp value: MODE 0
  /// Bare, 8 / 9 / 10 three to five levels; any other MODE gives levels 1,
  /// which every walk reports as reserved_bit (a hart never holds one:
  /// satp is WARL). The root is root_of(atp, g_stage).
  static constexpr regs regs_from_atp(std::uint64_t atp, bool g_stage) noexcept {
    regs r;
    const unsigned mode = static_cast<unsigned>(atp >> 60);
    r.levels = mode == 0 ? 0 : (mode >= 8 && mode <= 10) ? mode - 5 : 1;
    r.g_stage = g_stage;
    return r;
  }
  /// The root table's address in a satp / hgatp value: PPN (bits 43:0) x
  /// 4096, hgatp's two low PPN bits cleared.
  static constexpr oa_t root_of(std::uint64_t atp, bool g_stage) noexcept {
    return ((atp & 0xFFF'FFFF'FFFF) << 12) & ~oa_t{g_stage ? 0x3FFFu : 0xFFFu};
  }

  /// Translates `va` (a GPA with g_stage) for access `a` from the table at
  /// `root` (low bits below the root's alignment ignored). With set_ad, a
  /// walk_memory_rw and regs::adue, sets A (and D on a store) in the leaf
  /// by compare-exchange when the translation succeeds, re-walking when
  /// the PTE changed meanwhile; a read-only M, or no set_ad, writes nothing
  /// (the translation is still given, as Svadu would after its update).
  /// translation::leaf is the leaf PTE as now in memory; perms: read = R
  /// or (MXR and X), write = W, exec = X and not U (S-mode fetch), user =
  /// U, user_exec = U and X; with g_stage every field also needs U.
  /// Errors: see the file comment.
  template <walk_memory M>
  static walk_result walk(const regs& r, oa_t root, va_t va, access a, M& mem, bool set_ad = false) {
    return detail::run_walk<walk_memory_rw<M>>(set_ad, [&](auto ad, walk_result& res) {
      return walk_once<decltype(ad)::value>(r, root, va, a, mem, res);
    });
  }

  /// Where every walk starts (genpt/walk/tree.hpp): Bare has no table; a
  /// bad level count faults every walk (reserved_bit); else the root
  /// table, 512 PTEs (x4: 2048), Sv VAs sign-extended from bit VABITS-1.
  /// No errors; a pure function (any thread).
  static constexpr tree_top top_table(const regs& r, oa_t root) noexcept {
    tree_top t;
    if (r.levels == 0) {
      t.no_table = true;
      return t;
    }
    if (r.levels < 3 || r.levels > 5) {
      t.fault = fault_kind::reserved_bit;
      return t;
    }
    t.ok = true;
    t.level = r.levels - 1;
    t.table = root_table(r, root);
    t.items_lg2 = r.g_stage ? 11 : 9;
    t.sign_bit = r.g_stage ? 64 : va_bits(r) - 1;
    return t;
  }

  /// The PTE `e` at level `level` as the walk reads it on its own: V = 0
  /// invalid; step 3's reserved bits and encodings, and a misaligned
  /// superpage, bad reserved_bit; R = W = X = 0 a table (bad translation
  /// at level 0); else a leaf. No errors; a pure function (any thread).
  static constexpr item_decode decode_item(const regs& r, std::uint64_t e, unsigned level) noexcept {
    item_decode out;
    if (!(e & riscv::V)) return out;  // invalid, translation
    const bool leaf = (e & (riscv::R | riscv::W | riscv::X)) != 0;
    if (reserved(r, e, level, leaf) || (leaf && misaligned(e, level))) {
      out.kind = item_kind::bad;
      out.fault = fault_kind::reserved_bit;
      return out;
    }
    if (!leaf) {
      if (level == 0) {
        out.kind = item_kind::bad;
        out.fault = fault_kind::translation;
        return out;
      }
      out.kind = item_kind::table;
      out.next_level = level - 1;
      out.next_items_lg2 = 9;
      out.oa = pte_pa(e);
      return out;
    }
    out.kind = item_kind::leaf;
    out.size_lg2 = leaf_lg2(e, level);
    out.oa = pte_pa(e) & ~((word_t{1} << out.size_lg2) - 1);
    return out;
  }

  /// scause of a fault for access `a` (§"Supervisor Cause Register"; the
  /// hypervisor's guest-page faults with g_stage): bus_error is an access
  /// fault (instruction 1, load 5, store/AMO 7); every other kind a page
  /// fault (12, 13, 15) or, with g_stage, a guest-page fault (20, 21, 23).
  static constexpr unsigned exception_code(const fault& f, access a, const regs& r) noexcept {
    const unsigned type = a.exec ? 0 : a.write ? 2 : 1;  // instruction, load, store/AMO
    if (f.kind == fault_kind::bus_error) return type == 0 ? 1 : type == 1 ? 5 : 7;
    return (r.g_stage ? 20 : 12) + (type == 2 ? 3 : type);  // 12 13 15 / 20 21 23
  }

 private:
  using word_t = std::uint64_t;
  static constexpr word_t pa_page = 0x00FF'FFFF'FFFF'F000;  // PA bits 55:12

  /// VA (GPA) bits the mode decodes: 39 / 48 / 57, +2 with g_stage.
  static constexpr unsigned va_bits(const regs& r) noexcept {
    return 12 + 9 * r.levels + (r.g_stage ? 2 : 0);
  }
  static constexpr oa_t root_table(const regs& r, oa_t root) noexcept {
    return root & pa_page & ~oa_t{r.g_stage ? 0x3FFFu : 0xFFFu};
  }
  /// PTE.PPN x 4096.
  static constexpr oa_t pte_pa(word_t e) noexcept { return (e & riscv::PPN) << 2; }

  /// Step 3's reserved bits and encodings of a valid PTE.
  static constexpr bool reserved(const regs& r, word_t e, unsigned level, bool leaf) noexcept {
    if ((e & (riscv::R | riscv::W)) == riscv::W) return true;  // R = 0, W = 1
    if (e & riscv::RESERVED) return true;                       // bits 60:54
    const word_t pbmt = e & riscv::PBMT;
    if (pbmt && (!r.svpbmt || !leaf || pbmt == riscv::PBMT)) return true;  // no Svpbmt, non-leaf, PBMT = 3
    if (e & riscv::N) {
      if (!r.svnapot || !leaf || level != 0) return true;
      if ((e & riscv::NAPOT_PPN_LOW) != riscv::NAPOT_64K) return true;  // only ppn[0][3:0] = 0b1000
    }
    if (!leaf && (e & (riscv::D | riscv::A | riscv::U))) return true;  // non-leaf D, A, U
    return false;
  }
  /// Step 6: a superpage's ppn[level-1:0] must be zero.
  static constexpr bool misaligned(word_t e, unsigned level) noexcept {
    return level > 0 && (pte_pa(e) & ((word_t{1} << (12 + 9 * level)) - 1)) != 0;
  }
  /// Bytes a valid leaf maps, log2: 64 KiB for a NAPOT PTE.
  static constexpr unsigned leaf_lg2(word_t e, unsigned level) noexcept {
    return (e & riscv::N) ? 16 : 12 + 9 * level;
  }

  /// Step 5 for one access.
  static constexpr bool allowed(const regs& r, access a, word_t e) noexcept {
    const bool user_mode = r.g_stage || a.user;
    if (e & riscv::U) {
      if (!user_mode && (a.exec || !r.sum)) return false;  // S-mode: never fetch, data only with SUM
    } else if (user_mode) {
      return false;  // U-mode (and every G-stage access) needs U = 1
    }
    if (a.exec) return (e & riscv::X) != 0;
    if (a.write) return (e & riscv::W) != 0;
    return (e & riscv::R) || (r.mxr && (e & riscv::X));
  }

  /// One walk. Returns false when an A/D update found a changed PTE and
  /// the walk must restart (res then holds a bus_error).
  template <bool SetAd, walk_memory M>
  static bool walk_once(const regs& r, oa_t root, va_t va, access a, M& mem, walk_result& res) {
    if (r.levels == 0) {  // Bare: no translation, no protection
      res.ok = true;
      res.t = translation{va, 64, 0, 0, walk_perms{true, true, true, true, true}};
      return true;
    }
    if (r.levels < 3 || r.levels > 5) {
      res = detail::make_fault(fault_kind::reserved_bit, 0, 0, 0, 0);
      return true;
    }
    const unsigned bits = va_bits(r);
    const word_t hi = va >> (r.g_stage ? bits : bits - 1);
    if (r.g_stage ? hi != 0 : (hi != 0 && hi != (~word_t{0} >> (bits - 1)))) {
      res = detail::make_fault(fault_kind::non_canonical, 0, 0, 0, 0);
      return true;
    }
    oa_t table = root_table(r, root);
    for (unsigned i = r.levels - 1;; --i) {  // counts down; every step ends or descends
      const unsigned shift = 12 + 9 * i;
      const word_t index_mask = (r.g_stage && i == r.levels - 1) ? 0x7FF : 0x1FF;
      const oa_t item_oa = table + (((va >> shift) & index_mask) << 3);
      const int sl = static_cast<int>(i);
      word_t e = 0;
      if (!mem.read64(item_oa, e)) {
        res = detail::make_fault(fault_kind::bus_error, i, sl, item_oa, 0);
        return true;
      }
      if (!(e & riscv::V)) {
        res = detail::make_fault(fault_kind::translation, i, sl, item_oa, e);
        return true;
      }
      const bool leaf = (e & (riscv::R | riscv::W | riscv::X)) != 0;
      if (reserved(r, e, i, leaf)) {
        res = detail::make_fault(fault_kind::reserved_bit, i, sl, item_oa, e);
        return true;
      }
      if (!leaf) {
        if (i == 0) {  // step 4: no level below 0
          res = detail::make_fault(fault_kind::translation, i, sl, item_oa, e);
          return true;
        }
        table = pte_pa(e);
        continue;
      }
      if (!allowed(r, a, e)) {
        res = detail::make_fault(fault_kind::permission, i, sl, item_oa, e);
        return true;
      }
      if (misaligned(e, i)) {
        res = detail::make_fault(fault_kind::reserved_bit, i, sl, item_oa, e);
        return true;
      }
      const word_t need = (e & riscv::A ? 0 : riscv::A) | (a.write && !(e & riscv::D) ? riscv::D : 0);
      if (need) {
        if (!r.adue) {  // Svade: the hart raises a page fault, software sets A / D
          res = detail::make_fault(fault_kind::access_flag, i, sl, item_oa, e);
          return true;
        }
        if constexpr (SetAd) {
          switch (detail::set_hw_bits(mem, item_oa, e, need, riscv::A | riscv::D)) {
            case detail::hw_bits_update::done:
              break;
            case detail::hw_bits_update::changed:  // step 7: the PTE changed, walk again
              res = detail::make_fault(fault_kind::bus_error, i, sl, item_oa, e);
              return false;
            case detail::hw_bits_update::bus_error:
              res = detail::make_fault(fault_kind::bus_error, i, sl, item_oa, 0);
              return true;
          }
        }
      }
      const unsigned size_lg2 = leaf_lg2(e, i);
      const word_t size_m1 = (word_t{1} << size_lg2) - 1;
      const bool u = (e & riscv::U) != 0, x = (e & riscv::X) != 0;
      const bool g_ok = !r.g_stage || u;  // G-stage: nothing without U
      res.ok = true;
      res.t.oa = (pte_pa(e) & ~size_m1) | (va & size_m1);
      res.t.size_lg2 = size_lg2;
      res.t.level = i;
      res.t.leaf = e;
      res.t.perms = walk_perms{g_ok && ((e & riscv::R) || (r.mxr && x)), g_ok && (e & riscv::W) != 0,
                               r.g_stage ? u && x : x && !u, u, u && x};
      return true;
    }
  }
};

}  // namespace genpt
