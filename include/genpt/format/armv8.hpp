// genpt/format/armv8.hpp - ARMv8-A VMSAv8-64 translation tables, stage 1
// and stage 2, with the 4 KiB, 16 KiB and 64 KiB granules.
//
// Implements Arm ARM (DDI 0487) chapter D8 "The AArch64 Virtual Memory
// System Architecture": D8.2 "Translation tables and the translation
// process" (granules, initial lookup level, stage 2 concatenated tables),
// D8.3 "Translation table descriptor formats" (table, block and page
// descriptors, the 52-bit OA forms of FEAT_LPA and FEAT_LPA2), D8.4
// "Memory access control" (AP, S2AP, PXN/UXN/XN), D8.6 "Memory region
// attributes" (AttrIndx/MAIR, MemAttr, FEAT_S2FWB) and D8.7.1 "The
// Contiguous bit"; the register fields come from the TCR_ELx, VTCR_EL2,
// TTBRn_ELx and MAIR_ELx descriptions (D24.2). Used by CPU MMUs, Arm SMMUv3
// context descriptors (stage 1) and stream table entries (stage 2).
//
//   genpt | Arm  | item translates (4K / 16K / 64K granule)  | leaf?
//   ------+------+-------------------------------------------+---------------
//     4   | L-1  | 256 TiB  /   -      /   -                 | no (4K LPA2 only)
//     3   | L0   | 512 GiB  / 128 TiB  /   -                 | 4K LPA2 block
//     2   | L1   |   1 GiB  /  64 GiB  /   4 TiB             | 4K block; 16K LPA2; 64K LPA
//     1   | L2   |   2 MiB  /  32 MiB  / 512 MiB             | block
//     0   | L3   |   4 KiB  /  16 KiB  /  64 KiB             | page
//
// Every table is one granule (2^(granule-3) items) except the top, which
// decodes only the VA bits left over and may be as small as 2 items (the
// allocation is at least 32 bytes, 64 when the TTBR holds a 52-bit
// address). A stage 2 top whose level would decode 4 bits or fewer is
// folded into up to 16 concatenated tables one level lower (D8.2.x
// "Concatenating translation tables at the initial lookup level"), as Arm
// requires for the start levels it does not allow; 4K keeps at least two
// levels (a level-3 start needs FEAT_TTST). Stage 1 tables for TTBR1 decode
// the upper VA range [2^64 - 2^va_lg2, 2^64 - 1].
#pragma once

#include <cstdint>
#include <type_traits>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/log2.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

/// VMSAv8-64 tables with granule 2^GranuleLg2 (12, 14 or 16) for
/// translation stage `Stage` (1 or 2). Both are fixed at compile time so
/// every shift and mask is a constant.
template <unsigned GranuleLg2, unsigned Stage>
struct armv8 {
  static_assert(GranuleLg2 == 12 || GranuleLg2 == 14 || GranuleLg2 == 16,
                "genpt::armv8: GranuleLg2 must be 12 (4K), 14 (16K) or 16 (64K)");
  static_assert(Stage == 1 || Stage == 2, "genpt::armv8: Stage must be 1 or 2");

  using word_t = std::uint64_t;
  static constexpr unsigned stage = Stage;

  // -- Descriptor bits (D8.3, Figures D8-12 .. D8-16) ------------------------
  static constexpr word_t VALID = word_t{1} << 0;   ///< D8.3.1: descriptor valid
  static constexpr word_t TABLE = word_t{1} << 1;   ///< D8.3.1: table (levels 0-2) / page (level 3)
  static constexpr word_t PAGE = TABLE;
  static constexpr unsigned ATTR_INDX_SHIFT = 2;    ///< D8.3.2 stage 1 AttrIndx[2:0], bits 4:2
  static constexpr word_t NS = word_t{1} << 5;      ///< D8.3.2 stage 1 NS
  static constexpr word_t AP1 = word_t{1} << 6;     ///< D8.4.3 AP[1]: EL0 access
  static constexpr word_t AP2 = word_t{1} << 7;     ///< D8.4.3 AP[2]: read-only
  static constexpr unsigned MEMATTR_SHIFT = 2;      ///< D8.3.2 stage 2 MemAttr[3:0], bits 5:2
  static constexpr word_t S2AP_R = word_t{1} << 6;  ///< D8.4.4 S2AP[0]: read
  static constexpr word_t S2AP_W = word_t{1} << 7;  ///< D8.4.4 S2AP[1]: write
  static constexpr unsigned SH_SHIFT = 8;           ///< D8.3.2 SH[1:0], bits 9:8 (DS=0)
  static constexpr word_t AF = word_t{1} << 10;     ///< D8.3.2 Access flag
  static constexpr word_t NG = word_t{1} << 11;     ///< D8.3.2 stage 1 not-Global
  static constexpr word_t NT = word_t{1} << 16;     ///< D8.3.2 FEAT_BBM nT, block descriptors only
  static constexpr word_t DBM = word_t{1} << 51;    ///< D8.3.2 Dirty Bit Modifier
  static constexpr word_t CONT = word_t{1} << 52;   ///< D8.7.1 Contiguous
  static constexpr word_t PXN = word_t{1} << 53;    ///< D8.4.5 stage 1 PXN
  static constexpr word_t UXN = word_t{1} << 54;    ///< D8.4.5 stage 1 UXN (XN at one-VA-range regimes)
  static constexpr unsigned XN_SHIFT = 53;          ///< D8.4.5 stage 2 XN[1:0], bits 54:53
  /// D8.3.1: OA bits 47:granule in place (DS=0), 49:granule with DS=1.
  static constexpr word_t ADDR48 = 0x0000'FFFF'FFFF'FFFF & ~((word_t{1} << GranuleLg2) - 1);
  static constexpr word_t ADDR50 = 0x0003'FFFF'FFFF'FFFF & ~((word_t{1} << GranuleLg2) - 1);
  static constexpr unsigned LPA_HI_SHIFT = 12;      ///< D8.3.1 64K FEAT_LPA: OA[51:48] in bits 15:12
  static constexpr unsigned LPA2_HI_SHIFT = 8;      ///< D8.3.1 DS=1: OA[51:50] in bits 9:8

  // -- Geometry ---------------------------------------------------------------
  static constexpr unsigned granule_lg2 = GranuleLg2;
  static constexpr unsigned table_lg2 = GranuleLg2;  ///< a non-top table is one granule
  static constexpr unsigned top_align_lg2 = 5;        ///< TTBR BADDR: 32-byte minimum (64 when 52-bit)
  static constexpr unsigned max_top_level = GranuleLg2 == 12 ? 4 : GranuleLg2 == 14 ? 3 : 2;
  static constexpr unsigned max_va_lg2 = 52;
  static constexpr unsigned max_oa_lg2 = 52;
  static constexpr unsigned bits_per_level = GranuleLg2 - 3;

  /// MAIR_ELx attribute indexes used by attrs_from_prot (D24.2 MAIR_ELx).
  static constexpr unsigned mair_index_nc = 0;      ///< 0x44 Normal, Inner/Outer Non-cacheable
  static constexpr unsigned mair_index_wb = 1;      ///< 0xFF Normal, Inner/Outer WB RW-allocate
  static constexpr unsigned mair_index_device = 2;  ///< 0x04 Device-nGnRE
  static constexpr std::uint64_t mair = 0x00000000F404FF44;  ///< index 3: 0xF4 inner NC, outer WB
  /// Stage 2 MemAttr values (D8.6.5; FWB forms from FEAT_S2FWB).
  static constexpr unsigned memattr_device_ngnre = 0x1;
  static constexpr unsigned memattr_normal_nc = 0x5;
  static constexpr unsigned memattr_normal_wb = 0xF;      ///< outer WB, inner WB
  static constexpr unsigned memattr_fwb_force_wb = 0x6;   ///< FWB: Normal Write-Back, forced

  /// Optional features (config::features). An unknown bit is not_supported.
  enum feature : unsigned {
    ttbr1 = 1u << 0,             ///< stage 1 upper VA range (TTBR1_ELx)
    lpa = 1u << 1,               ///< 64K FEAT_LPA: 52-bit OA (bits 15:12), 4T blocks, 52-bit IPA at stage 2
    lpa2 = 1u << 2,              ///< 4K/16K FEAT_LPA2 with DS=1: 52-bit VA and OA, more block levels
    lva = 1u << 3,               ///< 64K stage 1 FEAT_LVA: 52-bit VA
    dbm = 1u << 4,               ///< FEAT_HAFDBS: writable leaves get DBM
    fwb = 1u << 5,               ///< stage 2 FEAT_S2FWB MemAttr encoding
    noncoherent_walk = 1u << 6,  ///< the walker does not snoop caches: NC walk attributes
    /// FEAT_BBM level 1 (SMMUv3 SMMU_IDR3.BBML = 1): a block changes size
    /// via nT (old block marked nT instead of invalid, its range
    /// invalidated, then the new items). The block stays valid, but an
    /// implementation may fault on an nT descriptor (D8.16.2), so a device
    /// may still see a translation fault in the window. Contiguous pages
    /// (no nT bit) still break first.
    bbm_level1 = 1u << 7,
    /// FEAT_BBM level 2 (SMMUv3 BBML2): size changes in one step. The
    /// hardware may still raise a TLB conflict abort on such a change
    /// (Arm ARM D8.16.2); only for implementations that do not.
    bbm_level2 = 1u << 8,
  };

  /// What the user asks for.
  struct config {
    unsigned va_lg2 = 0;  ///< input bits; 0: 48, or 52 with lpa2 / lva (stage 2: lpa)
    unsigned oa_lg2 = 0;  ///< output bits (a PS encoding); 0: 48, or 52 with lpa / lpa2
    unsigned features = 0;
  };

  /// Validated geometry plus the descriptor form in use.
  struct params : table_params {
    bool ds = false;               ///< DS=1 descriptors (lpa2)
    bool lpa = false;              ///< 64K 52-bit OA descriptors
    bool dbm = false;
    bool fwb = false;
    bool noncoherent_walk = false;
    unsigned max_leaf_level = 0;   ///< highest level that may hold blocks
    unsigned bbm = 0;              ///< FEAT_BBM level the table relies on (0, 1, 2)
  };

  /// SH[1:0] as the Arm ARM names it, for attrs::for_each_field: osh (2),
  /// ish (3), sh1 (reserved), nothing for non-shareable (0).
  template <class V>
  static constexpr void sh_fields(unsigned sh, V& v) {
    v.flag("osh", sh == 2);
    v.flag("ish", sh == 3);
    v.flag("sh1", sh == 1 || sh > 3);
  }

  /// Stage 1 leaf attributes, bit for bit (D8.3.2).
  struct s1_attrs {
    unsigned attr_index = 0;  ///< AttrIndx[2:0]: MAIR index
    bool ns = false;          ///< NS
    bool el0 = false;         ///< AP[1]: EL0 may access
    bool read_only = false;   ///< AP[2]
    unsigned sh = 0;          ///< SH[1:0]: 0 non-, 2 outer, 3 inner shareable (0 with lpa2)
    bool af = false;          ///< access flag, pre-set
    bool ng = false;          ///< not global (ASID-tagged)
    bool dbm = false;         ///< DBM (needs feature dbm)
    bool pxn = false;         ///< privileged execute-never
    bool uxn = false;         ///< unprivileged execute-never
    constexpr bool operator==(const s1_attrs&) const = default;
    /// The fields in dump order (format_traits::for_each_attr_field):
    /// "attr<AttrIndx>", then ns, el0 (AP[1]), ro (AP[2]), osh/ish (SH),
    /// af, ng, dbm, pxn, uxn when set: "attr1|el0|ro|ish|af|ng|dbm".
    template <class V>
    constexpr void for_each_field(V&& v) const {
      v.number("attr", attr_index, attr_number::dec);
      v.flag("ns", ns);
      v.flag("el0", el0);
      v.flag("ro", read_only);
      sh_fields(sh, v);
      v.flag("af", af);
      v.flag("ng", ng);
      v.flag("dbm", dbm);
      v.flag("pxn", pxn);
      v.flag("uxn", uxn);
    }
  };
  /// Stage 2 leaf attributes, bit for bit (D8.3.2).
  struct s2_attrs {
    unsigned mem_attr = 0;    ///< MemAttr[3:0] (FWB encoding with feature fwb)
    bool read = false;        ///< S2AP[0]
    bool write = false;       ///< S2AP[1]
    unsigned sh = 0;          ///< SH[1:0] (0 with lpa2)
    bool af = false;          ///< access flag, pre-set
    bool dbm = false;         ///< DBM (needs feature dbm)
    unsigned xn = 0;          ///< XN[1:0] (XN[0] needs FEAT_XNX)
    constexpr bool operator==(const s2_attrs&) const = default;
    /// The fields in dump order (format_traits::for_each_attr_field):
    /// "memattr<MemAttr in hex>", then read and write (S2AP), osh/ish (SH),
    /// af, dbm when set, "xn<XN>" when not 0: "memattrf|read|write|ish|af|dbm".
    template <class V>
    constexpr void for_each_field(V&& v) const {
      v.number("memattr", mem_attr, attr_number::hex);
      v.flag("read", read);
      v.flag("write", write);
      sh_fields(sh, v);
      v.flag("af", af);
      v.flag("dbm", dbm);
      v.number("xn", xn, attr_number::dec_nonzero);
    }
  };
  using attrs = std::conditional_t<Stage == 1, s1_attrs, s2_attrs>;

  /// What a driver programs (TCR_ELx / VTCR_EL2 fields, TTBR, MAIR).
  struct hw_info {
    oa_t root = 0;           ///< output address of the top table
    std::uint64_t ttbr = 0;  ///< TTBR/VTTBR BADDR field: root, OA[51:48] in bits 5:2 when 52-bit
    unsigned tsz = 0;        ///< T0SZ (TTBR0, stage 2) or T1SZ (TTBR1): 64 - va_lg2
    unsigned tg = 0;         ///< TG0/VTCR.TG0 (4K 0, 64K 1, 16K 2) or TG1 (16K 1, 4K 2, 64K 3)
    unsigned ps = 0;         ///< TCR.IPS / VTCR.PS: 32,36,40,42,44,48,52 bits -> 0..6
    unsigned sl0 = 0;        ///< stage 2 VTCR.SL0 (initial lookup level)
    unsigned sl2 = 0;        ///< stage 2 VTCR.SL2 (4K DS=1 level -1 start)
    unsigned sh = 0;         ///< walk shareability SH0/SH1
    unsigned irgn = 0;       ///< walk inner cacheability
    unsigned orgn = 0;       ///< walk outer cacheability
    bool ds = false;         ///< TCR.DS / VTCR.DS
    bool ttbr1 = false;      ///< fields are the TTBR1 half of TCR_ELx
    unsigned levels = 0;     ///< lookup levels
    std::uint64_t mair = 0;  ///< stage 1: MAIR_ELx matching attrs_from_prot; 0 at stage 2

    /// The fields above packed as the register wants them: stage 1 the
    /// TCR_ELx bits of this half (T0SZ/IRGN0/ORGN0/SH0/TG0 at 15:0 or
    /// T1SZ/IRGN1/ORGN1/SH1/TG1 at 31:16) plus IPS 34:32 and DS 59;
    /// stage 2 VTCR_EL2 T0SZ, SL0 7:6, IRGN0, ORGN0, SH0, TG0, PS 18:16,
    /// DS 32, SL2 33. EPDn, TBI, HA/HD, VS and RES1 bits are the driver's.
    constexpr std::uint64_t tcr() const noexcept {
      const std::uint64_t half = std::uint64_t{tsz} | std::uint64_t{irgn} << 8 |
                                 std::uint64_t{orgn} << 10 | std::uint64_t{sh} << 12 |
                                 std::uint64_t{tg} << 14;
      if constexpr (Stage == 2)
        return half | std::uint64_t{sl0} << 6 | std::uint64_t{ps} << 16 |
               std::uint64_t{ds} << 32 | std::uint64_t{sl2} << 33;
      else
        return (ttbr1 ? half << 16 : half) | std::uint64_t{ps} << 32 | std::uint64_t{ds} << 59;
    }
  };

  // -- Configuration ------------------------------------------------------------

  /// TCR.IPS / VTCR.PS encoding of an OA size; 7 when it has none.
  static constexpr unsigned ps_encoding(unsigned oa_lg2) noexcept {
    constexpr unsigned sizes[] = {32, 36, 40, 42, 44, 48, 52};
    for (unsigned i = 0; i < 7; ++i)
      if (sizes[i] == oa_lg2) return i;
    return 7;
  }

  /// Items fused by the Contiguous bit at `level`, log2 (D8.7.1, Table D8-xx);
  /// 0 where the granule has none.
  static constexpr unsigned contig_lg2(unsigned level) noexcept {
    if constexpr (GranuleLg2 == 12) return level <= 3 ? 4 : 0;  // 16 items
    if constexpr (GranuleLg2 == 14) return level == 0 ? 7 : level == 1 ? 5 : 0;
    return level <= 2 ? 5 : 0;  // 64K: 32 items
  }

  /// Errors: not_supported for a feature the granule/stage lacks or a size
  /// that needs a feature not asked for; invalid_argument for a VA below 25
  /// bits or above 52, or an OA size with no PS encoding.
  static result<params> init(const config& c) noexcept {
    constexpr bool g64 = GranuleLg2 == 16;
    const unsigned f = c.features;
    if (f & ~unsigned{ttbr1 | lpa | lpa2 | lva | dbm | fwb | noncoherent_walk | bbm_level1 | bbm_level2})
      return unexpected(errc::not_supported);
    if (Stage == 2 && (f & (ttbr1 | lva))) return unexpected(errc::not_supported);
    if (Stage == 1 && (f & fwb)) return unexpected(errc::not_supported);
    if (g64 ? (f & lpa2) != 0 : (f & (lpa | lva)) != 0) return unexpected(errc::not_supported);
    if ((f & dbm) && (f & noncoherent_walk)) return unexpected(errc::not_supported);

    const bool big_va = (f & lpa2) || (Stage == 1 ? (f & lva) : (f & lpa));
    const bool big_oa = (f & (lpa | lpa2)) != 0;
    params p;
    p.va_lg2 = c.va_lg2 ? c.va_lg2 : (big_va ? 52 : 48);
    p.oa_lg2 = c.oa_lg2 ? c.oa_lg2 : (big_oa ? 52 : 48);
    if (p.va_lg2 < 25 || p.va_lg2 > 52) return unexpected(errc::invalid_argument);
    if (p.va_lg2 > 48 && !big_va) return unexpected(errc::not_supported);
    if (ps_encoding(p.oa_lg2) == 7) return unexpected(errc::invalid_argument);
    if (p.oa_lg2 > 48 && !big_oa) return unexpected(errc::not_supported);

    unsigned levels = (p.va_lg2 - GranuleLg2 + bits_per_level - 1) / bits_per_level;
    // Stage 2: a start level decoding <= 4 bits becomes <= 16 concatenated
    // tables one level down; 4K cannot start at level 3 without FEAT_TTST.
    if (Stage == 2 && levels > 1 && p.va_lg2 - item_lg2(levels - 1) <= 4 &&
        !(GranuleLg2 == 12 && levels == 2))
      --levels;
    if (levels > max_top_level + 1) return unexpected(errc::invalid_argument);
    p.top_level = levels - 1;
    p.layout = (f & ttbr1) ? va_layout::high : va_layout::low;
    p.ds = (f & lpa2) != 0;
    p.lpa = g64 && (f & lpa);
    p.dbm = (f & dbm) != 0;
    p.fwb = (f & fwb) != 0;
    p.noncoherent_walk = (f & noncoherent_walk) != 0;
    p.bbm = (f & bbm_level2) ? 2 : (f & bbm_level1) ? 1 : 0;  // level 2 includes level 1
    // D8.3.1: blocks at L1 (4K) / L2 (16K, 64K); one level more with
    // DS=1 (4K L0, 16K L1) or 64K with a 52-bit OA (L1, 4T).
    const bool extra = p.ds || (p.lpa && p.oa_lg2 == 52);
    p.max_leaf_level = (GranuleLg2 == 12 ? 2 : 1) + (extra ? 1 : 0);
    return p;
  }

  static constexpr unsigned item_lg2(unsigned level) noexcept {
    return GranuleLg2 + bits_per_level * level;
  }

  /// The top: just the items the VA needs, at least the TTBR alignment
  /// (64 bytes when BADDR holds a 52-bit address, else 32).
  static constexpr unsigned top_table_lg2(const params& p, unsigned top_level) noexcept {
    const unsigned need = p.va_lg2 - item_lg2(top_level) + 3;
    const unsigned min = (p.ds || p.oa_lg2 == 52) ? 6 : top_align_lg2;
    return need < min ? min : need;
  }

  /// True when TTBR/VTTBR can hold `root` (facade hook for create()).
  static constexpr bool root_fits(oa_t root, const params& p) noexcept {
    return log2_div(root, (p.ds || p.oa_lg2 == 52) ? 52 : 48) == 0 &&
           log2_mod(root, top_table_lg2(p, p.top_level)) == 0;
  }

  // -- Output address encoding (D8.3.1) ----------------------------------------

  /// The descriptor bits that hold `oa` (any leaf or table).
  static constexpr word_t encode_oa(oa_t oa, const params& p) noexcept {
    if constexpr (GranuleLg2 == 16) {
      return (oa & ADDR48) | (p.lpa ? ((oa >> 48) & 0xF) << LPA_HI_SHIFT : 0);
    } else {
      if (!p.ds) return oa & ADDR48;
      return (oa & ADDR50) | ((oa >> 50) & 0x3) << LPA2_HI_SHIFT;
    }
  }
  /// The OA a descriptor's address field holds (granule aligned).
  /// always_inline: GCC otherwise calls an outlined part of it on the
  /// one-page map/unmap walk. [[likely]]: without it GCC 12 laid out the
  /// LPA2 path as the fall-through of every level of an inline lookup
  /// (three taken jumps a level).
  [[gnu::always_inline]] static constexpr oa_t decode_oa(word_t e, const params& p) noexcept {
    if constexpr (GranuleLg2 == 16) {
      return (e & ADDR48) | (p.lpa ? ((e >> LPA_HI_SHIFT) & 0xF) << 48 : 0);
    } else {
      if (!p.ds) [[likely]]
        return e & ADDR48;
      return (e & ADDR50) | ((e >> LPA2_HI_SHIFT) & 0x3) << 50;
    }
  }

  // -- Items -------------------------------------------------------------------

  /// D8.3.1: invalid -> empty; bit 1 set -> table (level 3: page); bit 1
  /// clear -> block where a granule can have blocks, else reserved (a
  /// translation fault: empty). Blocks at the level only LPA/LPA2 allow
  /// read as leaves (classify cannot see params).
  static constexpr entry_kind classify(word_t e, unsigned level) noexcept {
    if (!(e & VALID)) return entry_kind::empty;
    if (e & TABLE) return level == 0 ? entry_kind::leaf : entry_kind::table;
    constexpr unsigned top_block = GranuleLg2 == 12 ? 3 : 2;
    return level != 0 && level <= top_block ? entry_kind::leaf : entry_kind::empty;
  }
  /// unmap's run scan: a level 3 page descriptor (bits 1:0 = 0b11, D8.3.2)
  /// without the Contiguous bit is one granule.
  static constexpr leaf_bits<word_t> single_leaf_bits(unsigned level) noexcept {
    if (level == 0) return {VALID | TABLE | CONT, VALID | TABLE};
    return {};
  }

  static constexpr oa_t table_oa(word_t e, const params& p) noexcept { return decode_oa(e, p); }

  /// Table descriptor: valid | table | next-level address. No hierarchical
  /// APTable/XNTable/PXNTable/NSTable limits (bits 63:59 zero).
  static constexpr word_t make_table(oa_t oa, unsigned, const params& p) noexcept {
    return VALID | TABLE | encode_oa(oa, p);
  }
  /// iova_to_phys's table step: bits 1:0 = 0b11 and every other bit
  /// outside OA[47:granule] zero, so the OA is the item less 0b11. A table
  /// above 2^48 (OA[51:48] in bits 15:12 or 9:8) or with FEAT_HAFT's AF
  /// set fails it and is decoded by table_oa.
  static constexpr table_form<word_t> table_item_form(unsigned level, const params& p) noexcept {
    return {~ADDR48, make_table(0, level, p), 0};
  }

  static constexpr unsigned entry_size_lg2(word_t e, unsigned level) noexcept {
    return item_lg2(level) + ((e & CONT) ? contig_lg2(level) : 0);
  }

  /// OA of the entry start: a contiguous run's items each hold their own OA.
  static constexpr oa_t entry_oa(word_t e, unsigned level, const params& p) noexcept {
    return log2_align_down(decode_oa(e, p), entry_size_lg2(e, level));
  }
  /// A page descriptor without Contiguous maps the page its OA names.
  static constexpr oa_t single_leaf_oa(word_t e, unsigned, const params& p) noexcept { return decode_oa(e, p); }

  /// Each further item of a contiguous run: one item more of OA. Runs are
  /// aligned to their size (at most 2^47), so the add never carries out of
  /// the low OA field into OA[51:48]/[51:50].
  static constexpr word_t leaf_item_step(unsigned, unsigned level, const params&) noexcept {
    return word_t{1} << item_lg2(level);
  }

  /// The item size where blocks/pages exist, plus the contiguous size;
  /// only sizes smaller than the whole VA space (as upstream: a small or
  /// concatenated top never becomes a single entry).
  static constexpr std::uint64_t leaf_sizes(unsigned level, const params& p) noexcept {
    if (level > p.max_leaf_level) return 0;
    std::uint64_t m = std::uint64_t{1} << item_lg2(level);
    if (const unsigned c = contig_lg2(level)) m |= std::uint64_t{1} << (item_lg2(level) + c);
    return m & log2_to_max_int(p.va_lg2);
  }

  static constexpr word_t attr_bits(const s1_attrs& a, const params& p) noexcept {
    word_t e = word_t{a.attr_index & 7} << ATTR_INDX_SHIFT;
    if (a.ns) e |= NS;
    if (a.el0) e |= AP1;
    if (a.read_only) e |= AP2;
    if (!p.ds) e |= word_t{a.sh & 3} << SH_SHIFT;
    if (a.af) e |= AF;
    if (a.ng) e |= NG;
    if (a.dbm) e |= DBM;
    if (a.pxn) e |= PXN;
    if (a.uxn) e |= UXN;
    return e;
  }
  static constexpr word_t attr_bits(const s2_attrs& a, const params& p) noexcept {
    word_t e = word_t{a.mem_attr & 15} << MEMATTR_SHIFT;
    if (a.read) e |= S2AP_R;
    if (a.write) e |= S2AP_W;
    if (!p.ds) e |= word_t{a.sh & 3} << SH_SHIFT;
    if (a.af) e |= AF;
    if (a.dbm) e |= DBM;
    return e | word_t{a.xn & 3} << XN_SHIFT;
  }

  /// Page (level 0: bits 1:0 = 0b11) or block (0b01); CONT on every item of
  /// a contiguous run. Equals attribute bits | encode_oa(oa).
  static constexpr word_t make_leaf(oa_t oa, unsigned size_lg2, unsigned level, const attrs& a,
                                    const params& p) noexcept {
    word_t e = VALID | encode_oa(oa, p) | attr_bits(a, p);
    if (level == 0) e |= PAGE;
    if (size_lg2 != item_lg2(level)) e |= CONT;
    return e;
  }

  static constexpr attrs attrs_of(word_t e, unsigned, const params& p) noexcept {
    attrs a;
    if constexpr (Stage == 1) {
      a.attr_index = static_cast<unsigned>((e >> ATTR_INDX_SHIFT) & 7);
      a.ns = e & NS;
      a.el0 = e & AP1;
      a.read_only = e & AP2;
      a.pxn = e & PXN;
      a.uxn = e & UXN;
      a.ng = e & NG;
    } else {
      a.mem_attr = static_cast<unsigned>((e >> MEMATTR_SHIFT) & 15);
      a.read = e & S2AP_R;
      a.write = e & S2AP_W;
      a.xn = static_cast<unsigned>((e >> XN_SHIFT) & 3);
    }
    a.sh = p.ds ? 0 : static_cast<unsigned>((e >> SH_SHIFT) & 3);
    a.af = e & AF;
    a.dbm = e & DBM;
    return a;
  }

  /// The portable mapping (D8.4, D8.6):
  ///   Stage 1  read: always readable (AP cannot withhold read: `write`
  ///            alone maps read/write); write: AP[2] clear, else set;
  ///            priv: AP[1] clear and UXN (EL0 may neither access nor
  ///            fetch: with AP[1] clear EL0 could still execute), without
  ///            it AP[1] set; noexec: PXN and UXN; mmio: AttrIndx 2
  ///            (Device-nGnRE), cache: AttrIndx 1 (WB), else AttrIndx 0
  ///            (Normal NC), see `mair`; nG always.
  ///   Stage 2  read: S2AP[0]; write: S2AP[1] (write-only expressible);
  ///            noexec: XN = 0b10; mmio: MemAttr Device-nGnRE, cache:
  ///            WB (FWB: forced WB), else Normal NC; priv: not
  ///            expressible (S2AP has no privilege level): prot_supported
  ///            is false, so map/protect return not_supported.
  ///   Both     SH inner for cache, else outer (none with lpa2: TCR.SH
  ///            decides); AF always; DBM on writable leaves with feature dbm.
  static constexpr attrs attrs_from_prot(prot pr, const params& p) noexcept {
    const bool cache = has(pr, prot::cache), mmio = has(pr, prot::mmio);
    attrs a;
    if constexpr (Stage == 1) {
      a.attr_index = mmio ? mair_index_device : cache ? mair_index_wb : mair_index_nc;
      a.read_only = !has(pr, prot::write);
      a.el0 = !has(pr, prot::priv);
      a.ng = true;
      a.pxn = has(pr, prot::noexec);
      a.uxn = has(pr, prot::noexec) || has(pr, prot::priv);
    } else {
      a.mem_attr = mmio    ? memattr_device_ngnre
                   : cache ? (p.fwb ? memattr_fwb_force_wb : memattr_normal_wb)
                           : memattr_normal_nc;
      a.read = has(pr, prot::read);
      a.write = has(pr, prot::write);
      a.xn = has(pr, prot::noexec) ? 2 : 0;
    }
    a.sh = p.ds ? 0 : cache ? 3 : 2;
    a.af = true;
    a.dbm = p.dbm && has(pr, prot::write);
    return a;
  }
  /// Stage 1: every flag; stage 2: every flag but priv (see attrs_from_prot).
  static constexpr bool prot_supported(prot pr, const params&) noexcept {
    return Stage == 1 || !has(pr, prot::priv);
  }

  /// attrs the table can express: fields in range, SH not 0b01 (reserved)
  /// and 0 with lpa2, DBM only with feature dbm.
  static constexpr bool attrs_valid(const attrs& a, const params& p) noexcept {
    if (a.sh > 3 || a.sh == 1 || (p.ds && a.sh != 0) || (a.dbm && !p.dbm)) return false;
    if constexpr (Stage == 1)
      return a.attr_index <= 7;
    else
      return a.mem_attr <= 15 && a.xn <= 3;
  }

  // -- Live updates (D8.16.1 "Using break-before-make when updating
  //    translation table entries", D8.16.2 "Support levels for changing
  //    block size"; genpt/core/bbm.hpp) -----------------------------------
  /// FEAT_BBM level the table relies on: 0 means every size change (block
  /// <-> table, Contiguous bit) breaks before it makes.
  static constexpr unsigned bbm_level(const params& p) noexcept { return p.bbm; }
  /// nT: bit 16 of block descriptors (in a level-3 page it is an OA bit).
  static constexpr word_t nt_bit(const params&) noexcept { return NT; }
  /// D8.16.1: a same-size rewrite of a valid leaf needs break-before-make
  /// unless only permissions (AP / S2AP, PXN / UXN / XN), AF or DBM
  /// change; memory type (AttrIndx / MemAttr), shareability, NS, nG and
  /// the output address all need it, at every FEAT_BBM level.
  static constexpr bool change_needs_bbm(word_t old, word_t neu, const params&) noexcept {
    constexpr word_t free_bits = (word_t{3} << 6) | AF | DBM | (word_t{3} << XN_SHIFT);
    return ((old ^ neu) & ~free_bits) != 0;
  }

  // -- Dirty state (D8.5.4 "Hardware management of the dirty state") ----------
  /// With FEAT_HAFDBS a DBM leaf is writable-clean while AP[2] is set
  /// (stage 2: S2AP[1] clear); the first write clears AP[2] (sets S2AP[1]).
  static constexpr bool dirty_supported(const params& p) noexcept { return p.dbm; }
  static constexpr bool is_write_dirty(word_t e, const params&) noexcept {
    if (!(e & DBM)) return false;
    return Stage == 1 ? !(e & AP2) : (e & S2AP_W) != 0;
  }
  static constexpr word_t make_write_clean(word_t e, const params&) noexcept {
    if (!(e & DBM)) return e;
    return Stage == 1 ? e | AP2 : e & ~S2AP_W;
  }
  /// The item as hardware leaves it after a write (only DBM leaves change).
  static constexpr word_t make_write_dirty(word_t e, const params&) noexcept {
    if (!(e & DBM)) return e;
    return Stage == 1 ? e & ~AP2 : e | S2AP_W;
  }

  /// Software bit of table items: table descriptor bits 58:51 are ignored
  /// by the walker (Arm ARM D8.3.1, "Table descriptor format"); genpt uses
  /// bit 56 (software bit 0 upstream) as "cache flush done" for walkers
  /// that do not snoop CPU caches (genpt/alloc/incoherent.hpp).
  static constexpr word_t sw_bit_mask(const params&) noexcept { return word_t{1} << 56; }

  static constexpr hw_info make_hw_info(oa_t root, unsigned top_level, const params& p) noexcept {
    hw_info h;
    const bool ttb52 = p.ds || p.oa_lg2 == 52;
    h.root = root;
    h.ttbr = ttb52 ? (root & 0x0000'FFFF'FFFF'FFC0) | ((root >> 48) & 0xF) << 2
                   : root & 0x0000'FFFF'FFFF'FFFE;
    h.tsz = 64 - p.va_lg2;
    h.ttbr1 = p.layout == va_layout::high;
    constexpr unsigned tg0 = GranuleLg2 == 12 ? 0 : GranuleLg2 == 16 ? 1 : 2;
    constexpr unsigned tg1 = GranuleLg2 == 12 ? 2 : GranuleLg2 == 16 ? 3 : 1;
    h.tg = h.ttbr1 ? tg1 : tg0;
    h.ps = ps_encoding(p.oa_lg2);
    h.ds = p.ds;
    h.levels = top_level + 1;
    h.sh = p.noncoherent_walk ? 2 : 3;
    h.irgn = h.orgn = p.noncoherent_walk ? 0 : 1;
    if constexpr (Stage == 2) {
      // VTCR_EL2.SL0: 4K 0/1/2 = L2/L1/L0, SL2=1 with SL0=0 = L-1;
      // 16K/64K 0..3 = L3..L0, i.e. the genpt level.
      if constexpr (GranuleLg2 == 12) {
        h.sl0 = top_level == 4 ? 0 : top_level - 1;
        h.sl2 = top_level == 4 ? 1 : 0;
      } else {
        h.sl0 = top_level;
      }
    } else {
      h.mair = mair;
    }
    return h;
  }

  /// The Arm lookup level of genpt level `level` (D8.2: level 3 holds the
  /// granule-sized pages, LPA2 starts at -1); TTL in TLBI commands names it.
  static constexpr int spec_level(unsigned level) noexcept { return 3 - static_cast<int>(level); }

  static constexpr const char* level_name(unsigned level, const params&) noexcept {
    constexpr const char* names[] = {"L3", "L2", "L1", "L0", "L-1"};
    return level <= 4 ? names[level] : "?";
  }
};

/// The common instances.
using armv8_4k_s1 = armv8<12, 1>;
using armv8_16k_s1 = armv8<14, 1>;
using armv8_64k_s1 = armv8<16, 1>;
using armv8_4k_s2 = armv8<12, 2>;
using armv8_16k_s2 = armv8<14, 2>;
using armv8_64k_s2 = armv8<16, 2>;

}  // namespace genpt
