// genpt/format/vtd_ss.hpp - Intel VT-d second-stage tables and CPU EPT.
//
// Two flavours of one layout, basic_vtd_ss<Ept>:
//
//  * genpt::vtd_ss - Intel Virtualization Technology for Directed I/O
//    Architecture Specification, §3.7 "Second-Stage Translation" and §9.8
//    "Second-Stage Paging Entries" (SS-PML5E .. SS-PTE): R bit 0, W bit 1,
//    X bit 2 (execute requests), EMT bits 5:3 and IPAT bit 6 (extended
//    memory type, EMTE), PS bit 7 (2M / 1G leaves), A bit 8 and D bit 9
//    (SSADE), SNP bit 11 (snoop control, ECAP.SC), address bits 51:12
//    (51:HAW reserved), bit 62 reserved, bits 61:52 and 63 ignored.
//    3, 4 or 5 levels (context / PASID entry AW = 1, 2, 3; CAP.SAGAW).
//  * genpt::ept - Intel SDM Vol. 3C §29.3 "The Extended Page Table
//    Mechanism (EPT)", Tables 29-1 .. 29-7 (EPTP, EPT PML5E .. PTE): R/W/X
//    bits 0-2 (execute-only allowed with IA32_VMX_EPT_VPID_CAP bit 0),
//    memory type 5:3, ignore-PAT 6, page size 7, A 8, D 9, user-mode
//    execute 10 with mode-based execute control (MBEC), suppress-#VE 63;
//    bits 7:3 of non-leaf entries reserved. 4 or 5 levels (EPTP bits 5:3
//    = page-walk length - 1).
//
//   genpt level | VT-d entry  | EPT entry  | item translates | leaf?
//   ------------+-------------+------------+-----------------+-------------------
//        4      | SS-PML5E    | EPT PML5E  | 256 TiB         | no (bit 7 reserved)
//        3      | SS-PML4E    | EPT PML4E  | 512 GiB         | no (bit 7 reserved)
//        2      | SS-PDPTE    | EPT PDPTE  | 1 GiB           | with PS (1G page)
//        1      | SS-PDE      | EPT PDE    | 2 MiB           | with PS (2M page)
//        0      | SS-PTE      | EPT PTE    | 4 KiB           | always
//
// VA (IOVA / guest-physical address) bits above va_lg2 are zero (no sign
// extension). An item is present when any of R, W, X (EPT: or user-execute)
// is set: genpt never writes a leaf without R or W on VT-d, nor an EPT
// item the processor would find misconfigured (attrs_valid).
#pragma once

#include <cstdint>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

template <bool Ept>
struct basic_vtd_ss {
  using word_t = std::uint64_t;
  static constexpr bool is_ept = Ept;

  // -- Descriptor bits (VT-d §9.8 Tables "Format for SS-PML5E" .. "SS-PTE";
  //    SDM Vol. 3C Tables 29-2 .. 29-7) -------------------------------------
  static constexpr word_t R = word_t{1} << 0;       ///< read
  static constexpr word_t W = word_t{1} << 1;       ///< write
  static constexpr word_t X = word_t{1} << 2;       ///< execute (EPT with MBEC: supervisor-mode execute)
  static constexpr word_t EMT = word_t{7} << 3;     ///< memory type, leaves (VT-d: with EMTE)
  static constexpr unsigned EMT_SHIFT = 3;
  static constexpr word_t IPAT = word_t{1} << 6;    ///< ignore PAT, leaves
  static constexpr word_t PS = word_t{1} << 7;      ///< page size: SS-PDPTE / SS-PDE maps a page
  static constexpr word_t A = word_t{1} << 8;       ///< accessed (VT-d SSADE, EPTP bit 6)
  static constexpr word_t D = word_t{1} << 9;       ///< dirty, leaves (same switches)
  static constexpr word_t XU = word_t{1} << 10;     ///< EPT: user-mode execute (MBEC); VT-d: ignored
  static constexpr word_t SNP = word_t{1} << 11;    ///< VT-d leaves: snoop (ECAP.SC); EPT: ignored
  static constexpr word_t ADDR = 0x000F'FFFF'FFFF'F000;  ///< address bits 51:12
  static constexpr word_t SVE = word_t{1} << 63;    ///< EPT leaves: suppress #VE; VT-d: ignored

  /// Memory types (SDM Vol. 3C §29.3.7, Table 29-8 / PAT encodings; VT-d
  /// §9.8 EMT uses the same encodings): 2, 3 and 7 are reserved.
  static constexpr unsigned mt_uc = 0, mt_wc = 1, mt_wt = 4, mt_wp = 5, mt_wb = 6;
  static constexpr bool mt_valid(unsigned t) noexcept { return t <= 7 && t != 2 && t != 3 && t != 7; }

  // -- Geometry ------------------------------------------------------------
  static constexpr unsigned granule_lg2 = 12;    ///< 4 KiB pages
  static constexpr unsigned table_lg2 = 12;      ///< 512 items of 8 bytes
  static constexpr unsigned top_align_lg2 = 12;  ///< SSPTPTR / EPTP hold bits 51:12 of the root
  static constexpr unsigned max_top_level = 4;   ///< (SS-)PML5
  static constexpr unsigned max_va_lg2 = 57;
  static constexpr unsigned max_oa_lg2 = 52;     ///< HAW / MAXPHYADDR at most 52

  /// Optional features (config::features). Which apply to which flavour:
  ///   both:  ad, no_2m, no_1g;   VT-d: exec, snoop, memtype;   EPT: mbec, exec_only.
  enum feature : unsigned {
    ad = 1u << 0,         ///< A/D flags on: VT-d SSADE (PASID entry), EPT EPTP bit 6; dirty tracking
    exec = 1u << 1,       ///< VT-d: execute requests honoured (ECAP.ERS, SLEE): X written and checked
    snoop = 1u << 2,      ///< VT-d: snoop control (ECAP.SC): SNP for prot::cache; else bit 11 is reserved
    memtype = 1u << 3,    ///< VT-d: extended memory type (EMTE): EMT / IPAT written
    mbec = 1u << 4,       ///< EPT: mode-based execute control: bit 10 is user-mode execute
    exec_only = 1u << 5,  ///< EPT: execute-only pages allowed (IA32_VMX_EPT_VPID_CAP bit 0)
    no_2m = 1u << 6,      ///< no 2 MiB pages (VT-d CAP.SLLPS bit 0 / EPT cap bit 16 clear)
    no_1g = 1u << 7,      ///< no 1 GiB pages (VT-d CAP.SLLPS bit 1 / EPT cap bit 17 clear)
  };
  static constexpr unsigned flavour_features =
      Ept ? unsigned{ad | mbec | exec_only | no_2m | no_1g} : unsigned{ad | exec | snoop | memtype | no_2m | no_1g};

  /// What the user asks for.
  struct config {
    unsigned top_level = 3;  ///< VT-d: 2, 3, 4 (3-, 4-, 5-level); EPT: 3 or 4 (4- or 5-level)
    unsigned va_lg2 = 0;     ///< input bits (VT-d: the domain's guest address width); 0: all the top decodes
    unsigned oa_lg2 = 0;     ///< output bits (VT-d HAW, EPT MAXPHYADDR); 0: 52
    unsigned features = 0;
  };

  /// Validated geometry plus the features.
  struct params : table_params {
    unsigned features = 0;
    constexpr bool has(feature f) const noexcept { return (features & f) != 0; }
  };

  /// Full control of a leaf's bits.
  struct attrs {
    bool read = false;         ///< R
    bool write = false;        ///< W
    bool exec = false;         ///< X (EPT with MBEC: supervisor-mode execute)
    bool user_exec = false;    ///< EPT bit 10 (needs mbec)
    bool snoop = false;        ///< VT-d SNP (needs snoop)
    unsigned emt = 0;          ///< memory type, bits 5:3 (VT-d: needs memtype)
    bool ipat = false;         ///< ignore PAT (VT-d: needs memtype)
    bool accessed = false;     ///< A, pre-set (needs ad)
    bool dirty = false;        ///< D, pre-set (needs ad)
    bool suppress_ve = false;  ///< EPT bit 63
    constexpr bool operator==(const attrs&) const = default;
    /// The fields in dump order (format_traits::for_each_attr_field).
    template <class V>
    constexpr void for_each_field(V&& v) const {
      v.flag("read", read);
      v.flag("write", write);
      v.flag("exec", exec);
      v.flag("user_exec", user_exec);
      v.flag("snoop", snoop);
      v.number("emt", emt, attr_number::dec_nonzero);
      v.flag("ipat", ipat);
      v.flag("accessed", accessed);
      v.flag("dirty", dirty);
      v.flag("suppress_ve", suppress_ve);
    }
  };

  /// What a driver programs. VT-d: the context entry's SSPTPTR and AW
  /// (legacy mode) or the PASID entry's SSPTPTR, AW, SSADE, SLEE, EMTE
  /// (scalable mode); CAP.SAGAW must have bit `sagaw_bit`. EPT: the EPTP
  /// VM-execution field (SDM Vol. 3C §25.6.11, Table 25-9).
  struct hw_info {
    oa_t root = 0;          ///< output address of the top table
    unsigned levels = 0;    ///< 3, 4 or 5
    unsigned aw = 0;        ///< VT-d AW: 1 (39-bit, 3-level), 2 (48-bit), 3 (57-bit); EPT: 0
    unsigned sagaw_bit = 0; ///< VT-d CAP.SAGAW bit the hardware must report (= aw); EPT: 0
    bool ad = false;        ///< VT-d SSADE / EPTP bit 6
    bool exec = false;      ///< VT-d SLEE (execute requests); EPT: mode-based execute control
    bool emte = false;      ///< VT-d EMTE; EPT: false
    std::uint64_t eptp = 0; ///< EPT: root | WB (6) in 2:0 | (levels - 1) << 3 | A/D enable << 6; VT-d: 0
  };

  /// Errors: not_supported (a feature of the other flavour or unknown,
  /// a top level the hardware has no mode for, va_lg2 above what the top
  /// decodes); invalid_argument (va_lg2 too small for the top, oa_lg2 not
  /// in 13..52).
  static result<params> init(const config& c) noexcept {
    if (c.features & ~flavour_features) return unexpected(errc::not_supported);
    if (c.top_level < (Ept ? 3u : 2u) || c.top_level > 4) return unexpected(errc::not_supported);
    const unsigned span = granule_lg2 + 9 * (c.top_level + 1);
    params p;
    p.top_level = c.top_level;
    p.va_lg2 = c.va_lg2 ? c.va_lg2 : span;
    p.oa_lg2 = c.oa_lg2 ? c.oa_lg2 : max_oa_lg2;
    p.layout = va_layout::low;
    p.features = c.features;
    if (p.va_lg2 > span) return unexpected(errc::not_supported);
    if (p.va_lg2 <= granule_lg2 + 9 * c.top_level) return unexpected(errc::invalid_argument);
    if (p.oa_lg2 > max_oa_lg2 || p.oa_lg2 <= granule_lg2) return unexpected(errc::invalid_argument);
    return p;
  }

  static constexpr entry_kind classify(word_t e, unsigned level) noexcept {
    // Present: any of R/W/X (VT-d §9.8: an entry with R = W = X = 0 is not
    // present; SDM §29.3.2: any of bits 2:0, or bit 10 with MBEC).
    if (!(e & (R | W | X | (Ept ? XU : 0)))) return entry_kind::empty;
    if (level == 0) return entry_kind::leaf;
    if (level <= 2 && (e & PS)) return entry_kind::leaf;  // bit 7 is reserved at levels 3, 4
    return entry_kind::table;
  }

  /// unmap's one-mask run test (format_traits::single_leaf_bits): an SS-PTE
  /// / EPT PTE with R set is present, so a leaf of one 4 KiB item (level 0
  /// has no larger or contiguous form). Present PTEs without R (VT-d
  /// write-only, EPT execute-only) fail it and are classified one by one.
  static constexpr leaf_bits<word_t> single_leaf_bits(unsigned level) noexcept {
    if (level == 0) return {R, R};
    return {};
  }

  static constexpr oa_t table_oa(word_t e, const params&) noexcept { return e & ADDR; }

  /// Non-leaf entry: R, W, X (and EPT user-execute with MBEC): permissions
  /// are ANDed along the walk, so tables never restrict. A/D and the other
  /// bits stay zero (bits 7:3 are reserved in EPT non-leaf entries, bit 11
  /// in VT-d ones).
  static constexpr word_t make_table(oa_t oa, unsigned, const params& p) noexcept {
    return R | W | X | (Ept && p.has(mbec) ? XU : 0) | oa;
  }
  /// iova_to_phys's table step: every bit outside the address field as
  /// make_table writes it (PS clear). A/D stay zero in table items, so an
  /// item whose A bit the walker set (SDM §29.3.5, VT-d §3.6.2) fails it
  /// and is classified.
  static constexpr table_form<word_t> table_item_form(unsigned level, const params& p) noexcept {
    return {static_cast<word_t>(~ADDR), make_table(0, level, p), 0};
  }

  /// Software bit of table items: bit 9 is ignored in VT-d SS-PML5E ..
  /// SS-PDE entries that reference a table and in EPT non-leaf entries
  /// (SDM Table 29-2 .. 29-6); genpt/alloc/incoherent.hpp's "flush done".
  static constexpr word_t sw_bit_mask(const params&) noexcept { return word_t{1} << 9; }

  static constexpr oa_t entry_oa(word_t e, unsigned level, const params&) noexcept {
    return e & ADDR & ~((word_t{1} << (granule_lg2 + 9 * level)) - 1);
  }

  static constexpr std::uint64_t leaf_sizes(unsigned level, const params& p) noexcept {
    if (level == 0) return std::uint64_t{1} << 12;
    if (level == 1) return p.has(no_2m) ? 0 : std::uint64_t{1} << 21;
    if (level == 2) return p.has(no_1g) ? 0 : std::uint64_t{1} << 30;
    return 0;
  }

  static constexpr word_t make_leaf(oa_t oa, unsigned, unsigned level, const attrs& a,
                                    const params&) noexcept {
    word_t e = oa | (word_t{a.emt & 7} << EMT_SHIFT);
    if (a.read) e |= R;
    if (a.write) e |= W;
    if (a.exec) e |= X;
    if (a.user_exec) e |= XU;
    if (a.snoop) e |= SNP;
    if (a.ipat) e |= IPAT;
    if (a.accessed) e |= A;
    if (a.dirty) e |= D;
    if (a.suppress_ve) e |= SVE;
    return level == 0 ? e : e | PS;
  }

  static constexpr attrs attrs_of(word_t e, unsigned, const params&) noexcept {
    attrs a;
    a.read = e & R;
    a.write = e & W;
    a.exec = e & X;
    a.user_exec = Ept && (e & XU);
    a.snoop = !Ept && (e & SNP);
    a.emt = static_cast<unsigned>((e & EMT) >> EMT_SHIFT);
    a.ipat = e & IPAT;
    a.accessed = e & A;
    a.dirty = e & D;
    a.suppress_ve = Ept && (e & SVE);
    return a;
  }

  /// The portable mapping:
  ///   read     R
  ///   write    VT-d: W (write-only DMA is allowed); EPT: W and R (W
  ///            without R is an EPT misconfiguration, §29.3.3.1)
  ///   noexec   X = 0; otherwise X = 1 (VT-d: only with `exec`; without it
  ///            execute requests are never translated) and EPT bit 10 with mbec
  ///   cache    VT-d: SNP with `snoop` (forces snooping of no-snoop
  ///            requests); EMT WB with `memtype`. EPT: EMT WB (6), IPAT 0.
  ///            Also the type without `cache` (memory is coherent on x86).
  ///   mmio     EMT UC (0) with IPAT (EPT; VT-d with `memtype`); never SNP
  ///   priv     not_supported: second-stage tables have no privilege bit
  /// A pre-set with `ad`, and D for writable pages.
  static constexpr attrs attrs_from_prot(prot pr, const params& p) noexcept {
    attrs a;
    const bool mmio = has(pr, prot::mmio);
    a.read = has(pr, prot::read) || (Ept && has(pr, prot::write));
    a.write = has(pr, prot::write);
    const bool x = !has(pr, prot::noexec);
    if constexpr (Ept) {
      a.exec = x;
      a.user_exec = x && p.has(mbec);
      a.emt = mmio ? mt_uc : mt_wb;
      a.ipat = mmio;
    } else {
      a.exec = x && p.has(exec);
      a.snoop = p.has(snoop) && !mmio;
      if (p.has(memtype)) {
        a.emt = mmio ? mt_uc : mt_wb;
        a.ipat = mmio;
      }
    }
    a.accessed = p.has(ad);
    a.dirty = p.has(ad) && a.write;
    return a;
  }
  /// Every flag but priv (see attrs_from_prot).
  static constexpr bool prot_supported(prot pr, const params&) noexcept {
    return !has(pr, prot::priv);
  }
  /// attrs the hardware takes as a valid, present leaf: VT-d needs R or W
  /// (X alone translates nothing), X only with `exec`, SNP only with
  /// `snoop`, EMT / IPAT only with `memtype`; EPT: not W without R, not
  /// execute-only without `exec_only`, bit 10 only with `mbec`, a memory
  /// type other than 2, 3, 7 (§29.3.3.1); A / D only with `ad`.
  static constexpr bool attrs_valid(const attrs& a, const params& p) noexcept {
    if ((a.accessed || a.dirty) && !p.has(ad)) return false;
    if (a.emt > 7) return false;
    if constexpr (Ept) {
      if (a.snoop) return false;
      if (!a.read && !a.write && !a.exec && !a.user_exec) return false;
      if (a.write && !a.read) return false;
      if (a.user_exec && !p.has(mbec)) return false;
      if (!a.read && !p.has(exec_only)) return false;
      return mt_valid(a.emt);
    } else {
      if (a.user_exec || a.suppress_ve) return false;
      if (!a.read && !a.write) return false;
      if (a.exec && !p.has(exec)) return false;
      if (a.snoop && !p.has(snoop)) return false;
      if ((a.emt || a.ipat) && !p.has(memtype)) return false;
      return a.emt == 0 || mt_valid(a.emt);
    }
  }

  // -- Dirty tracking (VT-d §3.7.3 / §9.8 A and D with SSADE; SDM Vol. 3C
  //    §29.3.5 "Accessed and Dirty Flags for EPT") ---------------------------
  static constexpr bool dirty_supported(const params& p) noexcept { return p.has(ad); }
  static constexpr bool is_write_dirty(word_t e, const params&) noexcept { return e & D; }
  static constexpr word_t make_write_clean(word_t e, const params&) noexcept { return e & ~D; }
  /// A write sets A and D, as the hardware does.
  static constexpr word_t make_write_dirty(word_t e, const params&) noexcept { return e | A | D; }

  static constexpr hw_info make_hw_info(oa_t root, unsigned top_level, const params& p) noexcept {
    hw_info h;
    h.root = root;
    h.levels = top_level + 1;
    h.ad = p.has(ad);
    if constexpr (Ept) {
      h.exec = p.has(mbec);
      h.eptp = root | mt_wb | (word_t{top_level} << 3) | (p.has(ad) ? word_t{1} << 6 : 0);
    } else {
      h.aw = top_level - 1;
      h.sagaw_bit = top_level - 1;
      h.exec = p.has(exec);
      h.emte = p.has(memtype);
    }
    return h;
  }

  static constexpr const char* level_name(unsigned level, const params&) noexcept {
    constexpr const char* vtd[] = {"SS-PTE", "SS-PDE", "SS-PDPTE", "SS-PML4E", "SS-PML5E"};
    constexpr const char* ept_names[] = {"EPT PTE", "EPT PDE", "EPT PDPTE", "EPT PML4E", "EPT PML5E"};
    if (level > 4) return "?";
    return Ept ? ept_names[level] : vtd[level];
  }
};

/// Intel VT-d second-stage (second-level) tables.
using vtd_ss = basic_vtd_ss<false>;
/// Intel CPU EPT tables.
using ept = basic_vtd_ss<true>;

}  // namespace genpt
