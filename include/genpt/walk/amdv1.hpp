// genpt/walk/amdv1.hpp - the AMD IOMMU's host (v1) table walk over untrusted memory.
//
// Written from the AMD I/O Virtualization Technology (IOMMU) Specification
// (pub. 48882), not from genpt's format hooks:
//   §2.2.2.1 DTE: Mode (bits 11:9) 000b = translation disabled (addresses
//            pass through, access controlled by the DTE's IR / IW), 001b ..
//            110b = a 1..6-level table whose root is the Host Page Table
//            Root Pointer (bits 51:12), 111b reserved; IR / IW (bits 61, 62)
//            ANDed with the tables'; HAD (bits 8:7) enables A / D updates.
//   §2.2.3   I/O page tables: level n (1..6) is indexed by VA bits
//            12+9n-1 .. 12+9(n-1) (level 6: bits 63:57, 128 items). VA bits
//            above those the root level decodes must be zero.
//            "I/O Page Directory Entry Fields": PR (0), A (5), NextLevel
//            (11:9) = the level of the next table, Next Table Address
//            (51:12), bits 60:52 reserved, IR (61), IW (62).
//            "I/O Page Table Entry Fields": PR, A, D (6), NextLevel 0 = a
//            page of the level's default size, 7 = a page whose size is
//            encoded in the address (below), Page Address (51:12), bits
//            58:52 reserved, U (59), FC (60), IR, IW.
//            Level skipping: a NextLevel below the current level - 1
//            skips levels, whose VA index bits must then be zero. A
//            NextLevel 1..6 not below the current level is illegal.
//            "Next Level Page Size" (NextLevel 7): the page is 2^(n+1)
//            bytes where n is the lowest address bit at or above 12 that
//            is zero (bits 12 .. n-1 are ones), and the entry is
//            replicated in every item the page covers.
//            IO_PAGE_FAULT event: PR (present), PE (permission), RZ
//            (reserved bit / illegal level encoding).
//
// Mapping to fault_kind: PR = 0 -> translation; IR / IW -> permission
// (checked at the page, over the permissions ANDed along the walk);
// reserved bits, an address bit at or above regs::oa_lg2, an illegal
// NextLevel, a sized page whose size is not above the level's default size
// and below the next level's, DTE Mode 7 -> reserved_bit; a VA bit above
// the Mode's reach or a nonzero VA bit of a skipped level -> address_size.
// Choices where the spec says nothing (documented, not hardware-observed):
// a page entry (NextLevel 0 or 7) in a level-6 table -> reserved_bit; the
// low address bits of a default-size page above bit 11 are ignored; with
// regs::strict_replicas (default) every item of a NextLevel 7 run must
// equal the one read (A and D aside), else reserved_bit at the first
// differing item (hardware would read one of them: a mismatched run is
// CONSTRAINED UNPREDICTABLE in effect).
//
// fault::spec_level is the AMD level (genpt level + 1; 0 for a bad DTE).
#pragma once

#include <bit>
#include <cstdint>

#include "genpt/format/amdv1.hpp"
#include "genpt/walk/walk.hpp"

namespace genpt {

/// The AMD IOMMU's host table walk. Errors: faults as walk_result (see
/// above). Concurrency: reads and writes table memory only through the
/// memory object (A/D by compare-exchange).
template <>
struct hw_walker<amdv1> {
  /// Device table entry and system state the walk depends on. Defaults:
  /// what genpt's builder expects (Mode 3, IR = IW = 1, 52-bit OA).
  struct regs {
    unsigned mode = 3;          ///< DTE Mode: 0 pass-through, 1..6 levels, 7 reserved
    bool ir = true;             ///< DTE IR: reads allowed
    bool iw = true;             ///< DTE IW: writes allowed
    unsigned oa_lg2 = 52;       ///< system physical address bits; address bits above are reserved
    std::uint64_t c_bit = 0;    ///< SME C-bit mask (not an address bit, not reserved)
    bool update_a = true;       ///< DTE HAD: the IOMMU sets A (with set_ad)
    bool update_d = true;       ///< DTE HAD: the IOMMU sets D on writes (with set_ad)
    bool strict_replicas = true;  ///< check every item of a NextLevel 7 run (see above)
  };

  /// The registers genpt's hw_info describes for a table of `p`: Mode =
  /// top_level + 1, oa_lg2 and the C-bit from `p`. No errors; a pure
  /// function (any thread).
  static constexpr regs regs_from(const amdv1::params& p, unsigned top_level) noexcept {
    regs r;
    r.mode = top_level + 1;
    r.oa_lg2 = p.oa_lg2;
    r.c_bit = p.c_bit;
    return r;
  }

  /// Translates `va` for access `a` (a write needs IW, anything else IR;
  /// exec and user are not distinguished by host tables) from the table at
  /// `root` (the DTE root pointer; bits 11:0 ignored). Mode 0 translates
  /// every va to itself: size_lg2 64, level 0, leaf 0, perms from the DTE.
  /// With set_ad and a walk_memory_rw, sets A (update_a) in every entry
  /// used and D (update_d) in the page's entry on writes, by
  /// compare-exchange, only when the translation succeeds; a read-only M
  /// ignores set_ad. translation::leaf is the entry read for va (as now in
  /// memory); perms.read / write are IR / IW ANDed over the DTE and every
  /// entry (exec, user, user_exec: false). Errors: see the file comment;
  /// bus_error when the memory refuses a read or write, or when
  /// descriptors keep changing under an A/D update.
  template <walk_memory M>
  static walk_result walk(const regs& r, oa_t root, va_t va, access a, M& mem, bool set_ad = false) {
    return detail::run_walk<walk_memory_rw<M>>(set_ad, [&](auto ad, walk_result& res) {
      return walk_once<decltype(ad)::value>(r, root, va, a, mem, res);
    });
  }

  /// Where every walk starts (genpt/walk/tree.hpp): Mode 0 no table, Mode
  /// 7 reserved_bit before any read; else the table at the root pointer
  /// (bits 51:12 less the C-bit) of AMD level Mode, 512 items (128 at
  /// level 6). No errors; a pure function (any thread).
  static constexpr tree_top top_table(const regs& r, oa_t root) noexcept {
    tree_top t;
    if (r.mode == 0) {
      t.no_table = true;
      return t;
    }
    if (r.mode > 6) {
      t.fault = fault_kind::reserved_bit;
      return t;
    }
    t.ok = true;
    t.level = r.mode - 1;
    t.table = root & addr_bits & ~r.c_bit;
    t.items_lg2 = r.mode == 6 ? 7 : 9;
    return t;
  }

  /// The entry `e` at genpt `level` (AMD level - 1) as the walk reads it:
  /// PR = 0 invalid; reserved bits, an illegal NextLevel, a page at level
  /// 6, a bad NextLevel 7 size or an address bit at or above oa_lg2 bad
  /// reserved_bit; NextLevel 1..6 a table of that level (skipping levels
  /// between); else a leaf. No errors; a pure function (any thread).
  static constexpr item_decode decode_item(const regs& r, std::uint64_t e, unsigned level) noexcept {
    item_decode out;
    const unsigned n = level + 1;
    if (!(e & amdv1::PR)) return out;  // invalid, translation
    out.kind = item_kind::bad;
    out.fault = fault_kind::reserved_bit;
    const unsigned nl = static_cast<unsigned>((e >> 9) & 7);
    const bool pde = nl >= 1 && nl <= 6;
    const word_t addr = e & addr_bits & ~r.c_bit;
    if ((e & (pde ? pde_rsvd : pte_rsvd)) != 0 || (pde && nl >= n) || (!pde && n == 6)) return out;
    if (pde) {
      if (addr & rsvd_addr(r)) return out;
      out.kind = item_kind::table;
      out.next_level = nl - 1;
      out.next_items_lg2 = 9;
      out.oa = addr;
      return out;
    }
    const unsigned shift = 12 + 9 * level;
    unsigned size_lg2 = shift;
    if (nl == 7) {
      const word_t ones = (e >> 12) & lg2_mask(40);  // address bits 51:12
      size_lg2 = 12 + static_cast<unsigned>(std::countr_one(ones)) + 1;
      if (ones == lg2_mask(40) || size_lg2 <= shift || size_lg2 >= shift + 9) return out;
    }
    const word_t page_oa = addr & ~lg2_mask(size_lg2);
    if (page_oa & rsvd_addr(r)) return out;
    out.kind = item_kind::leaf;
    out.oa = page_oa;
    out.size_lg2 = size_lg2;
    return out;
  }

 private:
  using word_t = std::uint64_t;
  static constexpr word_t addr_bits = 0x000F'FFFF'FFFF'F000;  // bits 51:12
  static constexpr word_t pde_rsvd = 0x1FF0'0000'0000'0000;   // bits 60:52
  static constexpr word_t pte_rsvd = 0x07F0'0000'0000'0000;   // bits 58:52

  /// Address bits at or above oa_lg2 (none at 52 or more), less the C-bit.
  static constexpr word_t rsvd_addr(const regs& r) noexcept {
    const unsigned w = r.oa_lg2 < 12 ? 12 : r.oa_lg2;
    if (w >= 52) return 0;
    return addr_bits & ~((word_t{1} << w) - 1) & ~r.c_bit;
  }
  static constexpr word_t lg2_mask(unsigned lg2) noexcept {
    return lg2 >= 64 ? ~word_t{0} : (word_t{1} << lg2) - 1;
  }
  static constexpr bool allowed(access a, bool ir, bool iw) noexcept { return a.write ? iw : ir; }

  /// One walk. Returns false when an A/D update found a changed
  /// descriptor and the walk must restart (res then holds a bus_error).
  template <bool SetAd, walk_memory M>
  static bool walk_once(const regs& r, oa_t root, va_t va, access a, M& mem, walk_result& res) {
    if (r.mode == 0) {  // translation disabled: the DTE's IR / IW only
      if (!allowed(a, r.ir, r.iw)) {
        res = detail::make_fault(fault_kind::permission, 0, 0, 0, 0);
        return true;
      }
      res.ok = true;
      res.t = translation{va, 64, 0, 0, walk_perms{r.ir, r.iw, false, false, false}};
      return true;
    }
    if (r.mode > 6) {  // Mode 7 reserved: an illegal DTE
      res = detail::make_fault(fault_kind::reserved_bit, 0, 0, 0, 0);
      return true;
    }
    // VA bits above the root level's reach must be zero (Mode 6: none).
    if (r.mode < 6 && (va >> (12 + 9 * r.mode)) != 0) {
      res = detail::make_fault(fault_kind::address_size, r.mode - 1, static_cast<int>(r.mode), 0, 0);
      return true;
    }
    oa_t used_oa[6] = {};
    word_t used[6] = {};
    bool used_level[6] = {};
    bool ir = r.ir, iw = r.iw;
    oa_t table = root & addr_bits & ~r.c_bit;
    // n is the AMD level; it strictly decreases every step (NextLevel < n),
    // so the loop runs at most Mode times.
    for (unsigned n = r.mode;;) {
      const unsigned level = n - 1;
      const unsigned shift = 12 + 9 * level;
      const int spec = static_cast<int>(n);
      const oa_t item_oa = table + (((va >> shift) & 0x1FF) << 3);
      word_t e = 0;
      if (!mem.read64(item_oa, e)) {
        res = detail::make_fault(fault_kind::bus_error, level, spec, item_oa, 0);
        return true;
      }
      if (!(e & amdv1::PR)) {
        res = detail::make_fault(fault_kind::translation, level, spec, item_oa, e);
        return true;
      }
      const unsigned nl = static_cast<unsigned>((e >> 9) & 7);
      const bool pde = nl >= 1 && nl <= 6;
      const word_t addr = e & addr_bits & ~r.c_bit;
      if ((e & (pde ? pde_rsvd : pte_rsvd)) != 0 || (pde && nl >= n) || (!pde && n == 6)) {
        res = detail::make_fault(fault_kind::reserved_bit, level, spec, item_oa, e);
        return true;
      }
      used_oa[level] = item_oa;
      used[level] = e;
      used_level[level] = true;
      ir = ir && (e & amdv1::IR);
      iw = iw && (e & amdv1::IW);
      if (pde) {
        if (addr & rsvd_addr(r)) {
          res = detail::make_fault(fault_kind::reserved_bit, level, spec, item_oa, e);
          return true;
        }
        // Skipped levels nl+1 .. n-1: their VA index bits must be zero.
        if ((va & lg2_mask(shift) & ~lg2_mask(12 + 9 * nl)) != 0) {
          res = detail::make_fault(fault_kind::address_size, level, spec, item_oa, e);
          return true;
        }
        table = addr;
        n = nl;
        continue;
      }
      // A page: NextLevel 0 (the level's size) or 7 (the size in the address).
      unsigned size_lg2 = shift;
      if (nl == 7) {
        const word_t ones = (e >> 12) & lg2_mask(40);  // address bits 51:12
        size_lg2 = 12 + static_cast<unsigned>(std::countr_one(ones)) + 1;
        if (ones == lg2_mask(40) || size_lg2 <= shift || size_lg2 >= shift + 9) {
          res = detail::make_fault(fault_kind::reserved_bit, level, spec, item_oa, e);
          return true;
        }
      }
      const word_t page_oa = addr & ~lg2_mask(size_lg2);
      if (page_oa & rsvd_addr(r)) {
        res = detail::make_fault(fault_kind::reserved_bit, level, spec, item_oa, e);
        return true;
      }
      if (nl == 7 && r.strict_replicas) {
        // The run is the 2^(size - shift) items around item_oa, aligned.
        const oa_t run_bytes = oa_t{8} << (size_lg2 - shift);
        const oa_t first = item_oa & ~(run_bytes - 1);
        for (oa_t o = first; o != first + run_bytes; o += 8) {
          word_t other = 0;
          if (!mem.read64(o, other)) {
            res = detail::make_fault(fault_kind::bus_error, level, spec, o, 0);
            return true;
          }
          if ((other ^ e) & ~(amdv1::A | amdv1::D)) {
            res = detail::make_fault(fault_kind::reserved_bit, level, spec, o, other);
            return true;
          }
        }
      }
      if (!allowed(a, ir, iw)) {
        res = detail::make_fault(fault_kind::permission, level, spec, item_oa, e);
        return true;
      }
      if constexpr (SetAd) {
        for (unsigned l = r.mode; l-- > level;) {
          if (!used_level[l]) continue;  // a skipped level
          word_t bits = r.update_a ? amdv1::A : 0;
          if (l == level && a.write && r.update_d) bits |= amdv1::D;
          if (!bits) continue;
          switch (detail::set_hw_bits(mem, used_oa[l], used[l], bits, amdv1::A | amdv1::D)) {
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
      res.ok = true;
      res.t.oa = page_oa | (va & lg2_mask(size_lg2));
      res.t.size_lg2 = size_lg2;
      res.t.level = level;
      res.t.leaf = e;
      res.t.perms = walk_perms{ir, iw, false, false, false};
      return true;
    }
  }
};

}  // namespace genpt
