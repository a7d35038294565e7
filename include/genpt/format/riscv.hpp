// genpt/format/riscv.hpp - RISC-V Sv39 / Sv48 / Sv57 page tables and the
// hypervisor's G-stage Sv39x4 / Sv48x4 / Sv57x4 tables.
//
// Implements the RISC-V Privileged Architecture (version 1.12 and later),
// "Supervisor-Level ISA": §"Supervisor Address Translation and Protection
// (satp) Register" (MODE 8/9/10, ASID, PPN), §"Sv39: Page-Based 39-bit
// Virtual-Memory System" (the PTE figure and its field descriptions, the
// "Virtual Address Translation Process"), §"Sv48" and §"Sv57" (one and two
// more levels of the same PTE); the "Svnapot" chapter (NAPOT PTEs: N, bit
// 63, with ppn[0][3:0] = 0b1000 for a 64 KiB range, table "Page-based
// NAPOT ranges"); the "Svpbmt" chapter (PBMT, bits 62:61: 0 PMA, 1 NC,
// 2 IO, 3 reserved); the "Svadu" chapter (hardware A/D updating,
// menvcfg.ADUE); and the Hypervisor Extension §"Two-Stage Address
// Translation" / §"Guest Physical Address Translation" (hgatp MODE 8/9/10,
// VMID, PPN; the 16 KiB, 16 KiB-aligned root of the x4 modes that decodes
// two more GPA bits; every G-stage access is a U-mode access, so G-stage
// leaves need U = 1; G is unused and cleared).
// (Section numbers move between releases: §10.3-10.6 and §11/12 in the
// 2024 ratified document; the section titles above are stable.)
//
//   genpt level | spec level i | Sv39 / Sv48 / Sv57 VA bits | item translates | leaf name
//   ------------+--------------+----------------------------+-----------------+-----------
//        4      |  4 (Sv57)    |            - / - / 56:48   | 256 TiB         | petapage
//        3      |  3 (Sv48+)   |      - / 47:39 / 47:39     | 512 GiB         | terapage
//        2      |  2           |   38:30 / 38:30 / 38:30    | 1 GiB           | gigapage
//        1      |  1           |   29:21                    | 2 MiB           | megapage
//        0      |  0           |   20:12                    | 4 KiB (64 KiB NAPOT) | page
//
// The spec numbers levels the way genpt does (i = 0 is the 4 KiB level),
// so fault::spec_level equals the genpt level. Any level may hold a leaf
// (R, W or X set); R = W = X = 0 points to the next level. The x4 modes
// add two VA bits at the top: their top table has 2048 items (16 KiB):
// Sv39x4 decodes 41 GPA bits, Sv48x4 50, Sv57x4 59, and the GPA bits above
// are zero (not sign-extended). The Sv modes' VA bits above the top are
// copies of its top bit (canonical form): with feature sign_extend the
// table has a lower and an upper half, as x86-64.
#pragma once

#include <cstdint>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/log2.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

struct riscv {
  using word_t = std::uint64_t;

  // -- PTE bits (Sv39 "page table entry" figure; Svnapot; Svpbmt) ----------
  static constexpr word_t V = word_t{1} << 0;   ///< Valid
  static constexpr word_t R = word_t{1} << 1;   ///< Readable
  static constexpr word_t W = word_t{1} << 2;   ///< Writable (R = 0, W = 1 is reserved)
  static constexpr word_t X = word_t{1} << 3;   ///< Executable
  static constexpr word_t U = word_t{1} << 4;   ///< User-mode accessible (non-leaf: reserved)
  static constexpr word_t G = word_t{1} << 5;   ///< Global mapping (G-stage: unused, cleared)
  static constexpr word_t A = word_t{1} << 6;   ///< Accessed (non-leaf: reserved)
  static constexpr word_t D = word_t{1} << 7;   ///< Dirty (non-leaf: reserved)
  static constexpr unsigned RSW_SHIFT = 8;      ///< RSW, bits 9:8: for supervisor software, ignored by hardware
  static constexpr word_t RSW = word_t{3} << RSW_SHIFT;
  static constexpr unsigned PPN_SHIFT = 10;     ///< PPN, bits 53:10 (44 bits: PA bits 55:12)
  static constexpr word_t PPN = 0x003F'FFFF'FFFF'FC00;
  static constexpr word_t RESERVED = 0x1FC0'0000'0000'0000;  ///< bits 60:54, reserved (must be 0)
  static constexpr unsigned PBMT_SHIFT = 61;    ///< Svpbmt PBMT, bits 62:61
  static constexpr word_t PBMT = word_t{3} << PBMT_SHIFT;
  static constexpr word_t N = word_t{1} << 63;  ///< Svnapot: NAPOT range
  /// Svnapot 64 KiB: ppn[0][3:0] = 0b1000, i.e. PTE bit 13 set, bits 12:10 clear.
  static constexpr word_t NAPOT_64K = word_t{1} << (PPN_SHIFT + 3);
  static constexpr word_t NAPOT_PPN_LOW = word_t{0xF} << PPN_SHIFT;  ///< ppn[0][3:0]

  /// Svpbmt memory types (table "Encodings for PBMT field").
  static constexpr unsigned pbmt_pma = 0;  ///< the physical memory attributes decide
  static constexpr unsigned pbmt_nc = 1;   ///< non-cacheable, idempotent, weakly-ordered main memory
  static constexpr unsigned pbmt_io = 2;   ///< non-cacheable, non-idempotent, strongly-ordered I/O

  /// satp.MODE / hgatp.MODE (Sv39 / Sv39x4 = 8, Sv48 / Sv48x4 = 9, Sv57 / Sv57x4 = 10).
  static constexpr unsigned mode_sv39 = 8;
  static constexpr unsigned mode_sv48 = 9;
  static constexpr unsigned mode_sv57 = 10;

  // -- Geometry ------------------------------------------------------------
  static constexpr unsigned granule_lg2 = 12;    ///< 4 KiB pages
  static constexpr unsigned table_lg2 = 12;      ///< 512 PTEs of 8 bytes (the x4 top: 2048)
  static constexpr unsigned top_align_lg2 = 12;  ///< satp.PPN: a 4 KiB-aligned root (x4: 16 KiB, see top_table_lg2)
  static constexpr unsigned max_top_level = 4;   ///< Sv57 / Sv57x4
  static constexpr unsigned max_va_lg2 = 59;     ///< Sv57x4
  static constexpr unsigned max_oa_lg2 = 56;     ///< 44-bit PPN
  static constexpr unsigned napot_lg2 = 16;      ///< Svnapot 64 KiB at level 0 (16 PTEs)

  /// Optional features (config::features). An unknown bit is not_supported.
  enum feature : unsigned {
    sign_extend = 1u << 0,  ///< Sv modes: canonical VA, lower and upper halves
    g_stage = 1u << 1,      ///< Sv39x4 / Sv48x4 / Sv57x4 (hgatp): 16 KiB top, GPA zero-extended
    svnapot = 1u << 2,      ///< 64 KiB NAPOT leaves (N) at level 0
    svpbmt = 1u << 3,       ///< PBMT memory types on leaves
    svadu = 1u << 4,        ///< the hart / IOMMU updates A and D itself (menvcfg/henvcfg.ADUE = 1)
  };
  static constexpr unsigned all_features = sign_extend | g_stage | svnapot | svpbmt | svadu;

  /// What the user asks for.
  struct config {
    unsigned levels = 3;      ///< 3: Sv39(x4), 4: Sv48(x4), 5: Sv57(x4)
    unsigned va_lg2 = 0;      ///< VA bits (sign bit included); 0: all the mode decodes (with sign_extend: only that)
    unsigned oa_lg2 = 0;      ///< OA bits; 0: 56
    unsigned features = sign_extend;
    unsigned asid = 0;        ///< satp.ASID (16 bits), or with g_stage hgatp.VMID (14 bits)
  };

  /// Validated geometry plus the extensions in use.
  struct params : table_params {
    bool gstage = false;  ///< x4 mode (hgatp)
    bool napot = false;   ///< Svnapot
    bool pbmt = false;    ///< Svpbmt
    bool adu = false;     ///< Svadu: hardware A/D updates
    unsigned asid = 0;    ///< ASID / VMID for hw_info
  };

  /// Full control of a leaf's bits (N and ppn[0][3:0] come from the size).
  struct attrs {
    bool read = false;      ///< R
    bool write = false;     ///< W (needs R: W without R is reserved)
    bool exec = false;      ///< X
    bool user = false;      ///< U (G-stage: must be set for any access)
    bool global = false;    ///< G (not in G-stage tables)
    bool accessed = false;  ///< A, pre-set so hardware need not write it
    bool dirty = false;     ///< D, pre-set so hardware need not write it
    unsigned pbmt = 0;      ///< PBMT: pbmt_pma / pbmt_nc / pbmt_io (nonzero needs svpbmt)
    unsigned rsw = 0;       ///< RSW, 0..3: software bits, ignored by hardware
    constexpr bool operator==(const attrs&) const = default;
    /// The fields in dump order (format_traits::for_each_attr_field):
    /// "read|write|exec|user|global|accessed|dirty|pbmt2|rsw1".
    template <class V_>
    constexpr void for_each_field(V_&& v) const {
      v.flag("read", read);
      v.flag("write", write);
      v.flag("exec", exec);
      v.flag("user", user);
      v.flag("global", global);
      v.flag("accessed", accessed);
      v.flag("dirty", dirty);
      v.number("pbmt", pbmt, attr_number::dec_nonzero);
      v.number("rsw", rsw, attr_number::dec_nonzero);
    }
  };

  /// What a driver programs: satp (Sv) or hgatp (x4), and the A/D mode.
  struct hw_info {
    oa_t root = 0;          ///< physical address of the top table (satp/hgatp.PPN << 12)
    unsigned levels = 0;    ///< 3, 4 or 5
    unsigned mode = 0;      ///< satp.MODE / hgatp.MODE: 8 (Sv39), 9 (Sv48), 10 (Sv57)
    bool g_stage = false;   ///< true: `atp` is an hgatp value, else a satp value
    std::uint64_t atp = 0;  ///< MODE 63:60 | ASID 59:44 (hgatp: VMID 57:44) | PPN 43:0
    bool adue = false;      ///< menvcfg.ADUE (henvcfg.ADUE for VS-stage) to set: Svadu
  };

  /// Errors: not_supported (unknown feature, levels not 3..5, va_lg2 above
  /// what the mode decodes, a sign-extended va_lg2 narrower than the mode,
  /// sign_extend with g_stage); invalid_argument (va_lg2 too small for the
  /// top, oa_lg2 outside 13..56, an ASID above 16 bits or a VMID above 14).
  static result<params> init(const config& c) noexcept {
    if (c.features & ~all_features) return unexpected(errc::not_supported);
    if (c.levels < 3 || c.levels > 5) return unexpected(errc::not_supported);
    const bool gstage = (c.features & g_stage) != 0;
    if (gstage && (c.features & sign_extend)) return unexpected(errc::not_supported);
    const unsigned span = granule_lg2 + 9 * c.levels + (gstage ? 2 : 0);
    params p;
    p.top_level = c.levels - 1;
    p.va_lg2 = c.va_lg2 ? c.va_lg2 : span;
    p.oa_lg2 = c.oa_lg2 ? c.oa_lg2 : max_oa_lg2;
    p.layout = (c.features & sign_extend) ? va_layout::sign_extend : va_layout::low;
    if (p.va_lg2 > span) return unexpected(errc::not_supported);
    if (p.va_lg2 <= granule_lg2 + 9 * p.top_level) return unexpected(errc::invalid_argument);
    // The hart checks VA bits 63:span-1 against bit span-1 and indexes the
    // top with the bits below: a narrower sign-extended space would put its
    // upper half where the hardware never looks.
    if ((c.features & sign_extend) && p.va_lg2 != span) return unexpected(errc::not_supported);
    if (p.oa_lg2 > max_oa_lg2 || p.oa_lg2 <= granule_lg2) return unexpected(errc::invalid_argument);
    if (c.asid > (gstage ? 0x3FFFu : 0xFFFFu)) return unexpected(errc::invalid_argument);
    p.gstage = gstage;
    p.napot = (c.features & svnapot) != 0;
    p.pbmt = (c.features & svpbmt) != 0;
    p.adu = (c.features & svadu) != 0;
    p.asid = c.asid;
    return p;
  }

  /// The x4 top is 16 KiB (2048 PTEs) whatever va_lg2 asks, since the
  /// hardware indexes it with 11 GPA bits; an Sv top is one 4 KiB page.
  static constexpr unsigned top_table_lg2(const params& p, unsigned) noexcept {
    return p.gstage ? 14 : 12;
  }
  /// satp.PPN holds a 4 KiB-aligned root, hgatp.PPN a 16 KiB-aligned one
  /// (its two low bits read as zero), below 2^56.
  static constexpr bool root_fits(oa_t oa, const params& p) noexcept {
    return log2_mod(oa, p.gstage ? 14 : 12) == 0 && log2_div(oa, max_oa_lg2) == 0;
  }

  /// V = 0: empty; R, W or X set: a leaf; else a pointer to the next level.
  /// A level-0 PTE with V = 1 is a leaf here (genpt never writes a pointer
  /// there; the hardware walker faults on one).
  static constexpr entry_kind classify(word_t e, unsigned level) noexcept {
    if (!(e & V)) return entry_kind::empty;
    if ((e & (R | W | X)) || level == 0) return entry_kind::leaf;
    return entry_kind::table;
  }
  /// unmap's run scan: a valid level 0 PTE without N (Svnapot) is one
  /// 4 KiB page.
  static constexpr leaf_bits<word_t> single_leaf_bits(unsigned level) noexcept {
    if (level == 0) return {V | N, V};
    return {};
  }

  /// PA of a PTE's PPN field: ppn << 12.
  static constexpr oa_t ppn_oa(word_t e) noexcept { return (e & PPN) << 2; }

  static constexpr oa_t table_oa(word_t e, const params&) noexcept { return ppn_oa(e); }

  /// Non-leaf PTE: V and the PPN only (A, D, U, N and PBMT are reserved in
  /// non-leaf PTEs and must be zero).
  static constexpr word_t make_table(oa_t oa, unsigned, const params&) noexcept {
    return V | ((oa >> 2) & PPN);
  }
  /// iova_to_phys's table step: V alone outside the PPN, so the item less
  /// V is ppn << 10 and the table's PA that shifted left by 2.
  static constexpr table_form<word_t> table_item_form(unsigned level, const params& p) noexcept {
    return {~PPN, make_table(0, level, p), 2};
  }

  /// Software bit of table PTEs: RSW bit 8, ignored by the hardware in
  /// every PTE; genpt sets it as "cache flush done" (alloc/incoherent.hpp).
  static constexpr word_t sw_bit_mask(const params&) noexcept { return word_t{1} << RSW_SHIFT; }

  /// A NAPOT leaf (N set, level 0) spans 64 KiB: 16 PTEs holding the same word.
  static constexpr unsigned entry_size_lg2(word_t e, unsigned level) noexcept {
    if (level == 0 && (e & N) && (e & V)) return napot_lg2;
    return granule_lg2 + 9 * level;
  }

  /// The oa of the entry's first byte: the PPN without the NAPOT encoding.
  static constexpr oa_t entry_oa(word_t e, unsigned level, const params&) noexcept {
    return log2_align_down(ppn_oa(e), entry_size_lg2(e, level));
  }
  /// A leaf without N maps the page its PPN names.
  static constexpr oa_t single_leaf_oa(word_t e, unsigned, const params&) noexcept { return ppn_oa(e); }

  /// The PPN field of an oa: make_leaf(oa) is attribute bits | encode_oa(oa).
  static constexpr word_t encode_oa(oa_t oa, const params&) noexcept { return (oa >> 2) & PPN; }

  /// Every level may hold a leaf of its item's size; level 0 also 64 KiB
  /// with Svnapot.
  static constexpr std::uint64_t leaf_sizes(unsigned level, const params& p) noexcept {
    const std::uint64_t own = std::uint64_t{1} << (granule_lg2 + 9 * level);
    return level == 0 && p.napot ? own | (std::uint64_t{1} << napot_lg2) : own;
  }

  /// One leaf; a 64 KiB NAPOT leaf is written into all 16 of its PTEs
  /// unchanged (leaf_item_step 0), as Svnapot requires of software.
  static constexpr word_t make_leaf(oa_t oa, unsigned size_lg2, unsigned level, const attrs& a,
                                    const params& p) noexcept {
    word_t e = V | encode_oa(oa, p);
    if (a.read) e |= R;
    if (a.write) e |= W;
    if (a.exec) e |= X;
    if (a.user) e |= U;
    if (a.global) e |= G;
    if (a.accessed) e |= A;
    if (a.dirty) e |= D;
    e |= (word_t{a.rsw} << RSW_SHIFT) & RSW;
    e |= (word_t{a.pbmt} << PBMT_SHIFT) & PBMT;
    if (level == 0 && size_lg2 == napot_lg2) e |= N | NAPOT_64K;
    return e;
  }

  static constexpr attrs attrs_of(word_t e, unsigned, const params&) noexcept {
    attrs a;
    a.read = e & R;
    a.write = e & W;
    a.exec = e & X;
    a.user = e & U;
    a.global = e & G;
    a.accessed = e & A;
    a.dirty = e & D;
    a.pbmt = static_cast<unsigned>((e & PBMT) >> PBMT_SHIFT);
    a.rsw = static_cast<unsigned>((e & RSW) >> RSW_SHIFT);
    return a;
  }

  /// The portable mapping (Sv39 PTE field descriptions, Svpbmt):
  ///   read    R
  ///   write   W, and R (W without R is reserved: `write` alone maps
  ///           read/write too), and D pre-set so no store traps for it
  ///   noexec  X = 0; without it X = 1
  ///   priv    U = 0 (S-mode only; U-mode faults, S-mode needs no SUM);
  ///           without it U = 1. G-stage: every access is a U-mode
  ///           access, so U is always set and priv is not expressible
  ///           (prot_supported false: map/protect answer not_supported)
  ///   cache   PBMT = PMA (0) with svpbmt
  ///   mmio    PBMT = IO (2) with svpbmt
  ///   neither PBMT = NC (1) with svpbmt
  ///   Without svpbmt the physical memory attributes of the region decide
  ///   cacheability and I/O ordering (no PTE bit): cache / mmio are honoured
  ///   by the platform's PMAs, as documented for the PMA mode.
  /// A is always pre-set (so Svade harts never fault for it); G never.
  static constexpr attrs attrs_from_prot(prot pr, const params& p) noexcept {
    attrs a;
    a.write = has(pr, prot::write);
    a.read = has(pr, prot::read) || a.write;
    a.exec = !has(pr, prot::noexec);
    a.user = p.gstage || !has(pr, prot::priv);
    a.accessed = true;
    a.dirty = a.write;
    if (p.pbmt) a.pbmt = has(pr, prot::mmio) ? pbmt_io : has(pr, prot::cache) ? pbmt_pma : pbmt_nc;
    return a;
  }
  /// Every flag, except priv in G-stage tables (see attrs_from_prot).
  static constexpr bool prot_supported(prot pr, const params& p) noexcept {
    return !(p.gstage && has(pr, prot::priv));
  }
  /// attrs the hardware can use as a leaf: R or X set (R = W = X = 0 is a
  /// pointer), no W without R (reserved), PBMT 0..2 and only with svpbmt
  /// (3 is reserved), RSW 0..3, no G in G-stage tables.
  static constexpr bool attrs_valid(const attrs& a, const params& p) noexcept {
    if (!a.read && !a.exec) return false;
    if (a.write && !a.read) return false;
    if (a.pbmt > pbmt_io || (a.pbmt != 0 && !p.pbmt)) return false;
    if (a.rsw > 3) return false;
    return !(a.global && p.gstage);
  }

  // -- Dirty tracking (Sv39 "A and D bits"; Svadu) -------------------------
  /// A store sets D in the leaf (Svadu hardware, or the trap handler when
  /// D = 0 faults on a Svade hart). A NAPOT range's D may be set in any one
  /// of its 16 PTEs: genpt ORs them when harvesting and cleans every PTE.
  static constexpr bool is_write_dirty(word_t e, const params&) noexcept { return e & D; }
  static constexpr word_t make_write_clean(word_t e, const params&) noexcept { return e & ~D; }
  /// A store sets A and D, as Svadu hardware does.
  static constexpr word_t make_write_dirty(word_t e, const params&) noexcept { return e | A | D; }

  /// satp / hgatp: MODE in 63:60, ASID (satp, 59:44) or VMID (hgatp,
  /// 57:44), PPN = root >> 12 in 43:0.
  static constexpr hw_info make_hw_info(oa_t root, unsigned top_level, const params& p) noexcept {
    hw_info h;
    h.root = root;
    h.levels = top_level + 1;
    h.mode = mode_sv39 + (top_level - 2);
    h.g_stage = p.gstage;
    h.atp = (std::uint64_t{h.mode} << 60) | (std::uint64_t{p.asid} << 44) | ((root >> 12) & 0xFFF'FFFF'FFFF);
    h.adue = p.adu;
    return h;
  }

  /// The spec's level index i of the PTE (0 = 4 KiB).
  static constexpr const char* level_name(unsigned level, const params&) noexcept {
    constexpr const char* names[] = {"L0", "L1", "L2", "L3", "L4"};
    return level <= max_top_level ? names[level] : "?";
  }
  /// The spec's level of a genpt level (the same numbering).
  static constexpr int spec_level(unsigned level) noexcept { return static_cast<int>(level); }
};

}  // namespace genpt
