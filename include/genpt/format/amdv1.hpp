// genpt/format/amdv1.hpp - AMD IOMMU v1 host page tables.
//
// Implements the AMD I/O Virtualization Technology (IOMMU) Specification
// (pub. 48882), §2.2.3 "I/O Page Tables for Host Translations": the page
// directory and page table entry layouts (figures "I/O Page Directory Entry"
// and "I/O Page Table Entry" with their field tables), the NextLevel = 7
// "Next Level Page Size" encoding and its table "Example Page Size
// Encodings", and the DTE fields Mode (bits 11:9) and Host Page Table Root
// Pointer (bits 51:12) of §2.2.2.1 "Device Table Entry Format". The memory
// encryption C-bit (encrypt_tables) is AMD APM Vol. 2 §7.10 "Secure Memory
// Encryption".
//
//   genpt level | AMD level (= DTE Mode)  | item translates | leaf sizes
//   ------------+-------------------------+-----------------+---------------------
//        5      | level 6, VA bits 63:57  | 2^57 (128 items)| none
//        4      | level 5, VA bits 56:48  | 256 TiB         | 256T 512T 1P 2P
//        3      | level 4, VA bits 47:39  | 512 GiB         | 1T .. 128T (no 512G)
//        2      | level 3, VA bits 38:30  | 1 GiB           | 1G .. 256G
//        1      | level 2, VA bits 29:21  | 2 MiB           | 2M .. 512M
//        0      | level 1, VA bits 20:12  | 4 KiB           | 4K .. 1M
//
// A leaf of the item's own size has NextLevel 0. Any larger power of two,
// up to 256 items, is one "contiguous" entry: NextLevel 7, the same
// descriptor replicated into every item it covers, and the size encoded in
// the address field as a run of ones from bit 12 up to bit size-2 (bit
// size-1 is zero because the address is size-aligned). genpt never uses
// 512 GiB leaves (upstream reports hardware mishandling them), never puts
// leaves in the level-6 table, and never skips levels: a table entry at
// level L always points to a table of level L-1 (NextLevel = L, the AMD
// level of the child). The VA is never sign-extended: a 6-level table
// decodes all 64 bits.
#pragma once

#include <cstdint>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/log2.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

struct amdv1 {
  using word_t = std::uint64_t;

  // -- Descriptor bits (spec §2.2.3, "I/O Page Table Entry Fields" and
  //    "I/O Page Directory Entry Fields") --------------------------------
  static constexpr word_t PR = word_t{1} << 0;   ///< Present
  static constexpr word_t A = word_t{1} << 5;    ///< Accessed (host access, set by the IOMMU)
  static constexpr word_t D = word_t{1} << 6;    ///< Dirty (PTE only, set by the IOMMU on write)
  static constexpr unsigned next_level_shift = 9;
  static constexpr word_t NEXT_LEVEL = word_t{7} << 9;  ///< NextLevel, bits 11:9
  static constexpr word_t NL_SIZED = word_t{7} << 9;    ///< NextLevel 7: leaf with a page size in the address
  static constexpr word_t ADDR = 0x000F'FFFF'FFFF'F000;  ///< Page / Next Table Address, bits 51:12
  static constexpr word_t U = word_t{1} << 59;   ///< Untranslated access only (PTE)
  static constexpr word_t FC = word_t{1} << 60;  ///< Force Coherent (PTE)
  static constexpr word_t IR = word_t{1} << 61;  ///< Read permission
  static constexpr word_t IW = word_t{1} << 62;  ///< Write permission

  // -- Geometry ------------------------------------------------------------
  static constexpr unsigned granule_lg2 = 12;    ///< 4 KiB pages
  static constexpr unsigned table_lg2 = 12;      ///< 512 items of 8 bytes (the level-6 top: 128)
  static constexpr unsigned top_align_lg2 = 12;  ///< DTE root pointer holds bits 51:12
  static constexpr unsigned max_top_level = 5;   ///< AMD level 6 (Mode 6)
  static constexpr unsigned max_va_lg2 = 64;
  static constexpr unsigned max_oa_lg2 = 52;
  static constexpr unsigned max_contig_lg2 = 8;  ///< a sized leaf covers at most 256 items

  /// Optional features (config::features).
  enum feature : unsigned {
    dynamic_top = 1u << 0,      ///< map may raise the top level up to va_lg2 (upstream's default)
    force_coherence = 1u << 1,  ///< FC on every leaf made from prot
    encrypt_tables = 1u << 2,   ///< SME C-bit on table pointers and non-MMIO leaves
  };
  static constexpr unsigned all_features = dynamic_top | force_coherence | encrypt_tables;
  /// With feature dynamic_top, map raises the top (format_traits::may_grow_top).
  static constexpr bool may_grow_top = true;

  /// What the user asks for.
  struct config {
    unsigned starting_level = 2;  ///< 1..5: top level at creation (DTE Mode 2..6)
    unsigned va_lg2 = 0;          ///< VA bits; 0: 64 with dynamic_top, else all the top decodes
    unsigned oa_lg2 = 0;          ///< OA bits; 0: 52
    unsigned features = 0;
    unsigned c_bit = 0;           ///< with encrypt_tables: the C-bit position (>= oa_lg2, <= 51)
  };

  /// Validated geometry plus the bits features add.
  struct params : table_params {
    word_t c_bit = 0;     ///< C-bit mask, 0 without encrypt_tables
    bool fc = false;      ///< force_coherence requested
  };

  /// Full control of a leaf's attribute bits.
  struct attrs {
    bool read = false;               ///< IR
    bool write = false;              ///< IW
    bool force_coherent = false;     ///< FC
    bool untranslated_only = false;  ///< U
    bool accessed = false;           ///< A, pre-set
    bool dirty = false;              ///< D, pre-set
    bool encrypted = false;          ///< C-bit (needs encrypt_tables)
    constexpr bool operator==(const attrs&) const = default;
    /// The fields in dump order (format_traits::for_each_attr_field).
    template <class V>
    constexpr void for_each_field(V&& v) const {
      v.flag("read", read);
      v.flag("write", write);
      v.flag("force_coherent", force_coherent);
      v.flag("untranslated_only", untranslated_only);
      v.flag("accessed", accessed);
      v.flag("dirty", dirty);
      v.flag("encrypted", encrypted);
    }
  };

  /// What a driver programs into the device table entry.
  struct hw_info {
    oa_t root = 0;      ///< Host Page Table Root Pointer (DTE bits 51:12)
    unsigned mode = 0;  ///< DTE Mode: the number of levels, top_level + 1
  };

  /// VA bytes one item at `level` translates, log2: 12 + 9 * level.
  static constexpr unsigned item_lg2(unsigned level) noexcept { return granule_lg2 + 9 * level; }

  /// VA bits a full top at `level` decodes (level 5: all 64).
  static constexpr unsigned full_span_lg2(unsigned level) noexcept {
    const unsigned span = item_lg2(level) + 9;
    return span < max_va_lg2 ? span : max_va_lg2;
  }

  /// Validates `c`. Errors: invalid_argument (starting_level outside 1..5,
  /// va_lg2 above 64 or too small for two top items, oa_lg2 outside 13..52,
  /// C-bit outside [oa_lg2, 51]); not_supported (unknown feature, or a fixed
  /// top that cannot decode va_lg2 bits).
  static result<params> init(const config& c) noexcept {
    if (c.features & ~all_features) return unexpected(errc::not_supported);
    if (c.starting_level < 1 || c.starting_level > max_top_level) return unexpected(errc::invalid_argument);
    const unsigned span = full_span_lg2(c.starting_level);
    const bool grow = (c.features & dynamic_top) != 0;
    params p;
    p.top_level = c.starting_level;
    p.va_lg2 = c.va_lg2 ? c.va_lg2 : (grow ? max_va_lg2 : span);
    p.oa_lg2 = c.oa_lg2 ? c.oa_lg2 : max_oa_lg2;
    p.layout = va_layout::low;
    p.dynamic_top = grow && p.va_lg2 > span;
    if (p.va_lg2 > max_va_lg2 || p.va_lg2 <= item_lg2(c.starting_level)) return unexpected(errc::invalid_argument);
    if (!p.dynamic_top && p.va_lg2 > span) return unexpected(errc::not_supported);
    if (p.oa_lg2 > max_oa_lg2 || p.oa_lg2 <= granule_lg2) return unexpected(errc::invalid_argument);
    if (c.features & encrypt_tables) {
      if (c.c_bit < p.oa_lg2 || c.c_bit > 51) return unexpected(errc::invalid_argument);
      p.c_bit = word_t{1} << c.c_bit;
    }
    p.fc = (c.features & force_coherence) != 0;
    return p;
  }

  static constexpr word_t addr_mask(const params& p) noexcept { return ADDR & ~p.c_bit; }
  static constexpr unsigned next_level(word_t e) noexcept {
    return static_cast<unsigned>((e & NEXT_LEVEL) >> next_level_shift);
  }

  /// Not present: empty. A level-1 entry is always a page; elsewhere
  /// NextLevel 0 (default size) and 7 (sized) are pages, 1..6 tables.
  /// always_inline: GCC otherwise calls an outlined part of it on the
  /// one-page map/unmap walk.
  [[gnu::always_inline]] static constexpr entry_kind classify(word_t e, unsigned level) noexcept {
    if (!(e & PR)) return entry_kind::empty;
    const unsigned nl = next_level(e);
    if (level == 0 || nl == 0 || nl == 7) return entry_kind::leaf;
    return entry_kind::table;
  }
  /// unmap's run scan: a level 1 PTE with PR and NextLevel 0 is one 4 KiB
  /// page (§2.2.3; NextLevel 7 would be a larger page).
  static constexpr leaf_bits<word_t> single_leaf_bits(unsigned level) noexcept {
    if (level == 0) return {PR | NEXT_LEVEL, PR};
    return {};
  }

  static constexpr oa_t table_oa(word_t e, const params& p) noexcept { return e & addr_mask(p); }

  /// PDE: present, NextLevel = `level` (the AMD level of the child, which
  /// is genpt level - 1), IR and IW (permissions are ANDed along the walk,
  /// so tables never restrict), C-bit with encrypt_tables.
  static constexpr word_t make_table(oa_t oa, unsigned level, const params& p) noexcept {
    return PR | (word_t{level} << next_level_shift) | oa | IR | IW | p.c_bit;
  }
  /// iova_to_phys's table step: every bit outside the address field as
  /// make_table writes it (NextLevel = level, 1..6: a table). A PDE whose
  /// A bit the IOMMU set (§2.2.3) fails it and is classified.
  static constexpr table_form<word_t> table_item_form(unsigned level, const params& p) noexcept {
    return {~addr_mask(p), make_table(0, level, p), 0};
  }

  /// Bytes the entry holding this item translates, log2. NextLevel 7: one
  /// more than the position of the first zero address bit from bit 12 up
  /// (clamped to [item, item + 256 items] so a foreign, malformed entry
  /// cannot make a walk step outside its table); otherwise one item.
  static constexpr unsigned entry_size_lg2(word_t e, unsigned level) noexcept {
    const unsigned item = item_lg2(level);
    if (level >= max_top_level || next_level(e) != 7) return item;
    const unsigned size = ffz64(e >> granule_lg2) + granule_lg2 + 1;
    if (size < item) return item;
    return size > item + max_contig_lg2 ? item + max_contig_lg2 : size;
  }

  /// OA of the entry's first byte: the address field without the size
  /// ones (NextLevel 7) or unused low bits, and without the C-bit.
  static constexpr oa_t entry_oa(word_t e, unsigned level, const params& p) noexcept {
    return log2_align_down(e & addr_mask(p), entry_size_lg2(e, level));
  }
  /// A PTE with NextLevel 0 maps the 4 KiB page its address field names.
  static constexpr oa_t single_leaf_oa(word_t e, unsigned, const params& p) noexcept { return e & addr_mask(p); }

  /// Every power of two from the item size up to 256 items, below bit 52
  /// (the address field ends at bit 51), without 512 GiB, none in the
  /// level-6 table; and only sizes below 2^va_lg2 and 2^oa_lg2.
  static constexpr std::uint64_t leaf_sizes(unsigned level, const params& p) noexcept {
    if (level >= max_top_level) return 0;
    const unsigned item = item_lg2(level);
    std::uint64_t m = log2_to_max_int(item + max_contig_lg2 + 1) & ~log2_to_max_int(item);
    m &= ~(std::uint64_t{1} << 39) & log2_to_max_int(52);
    return m & log2_to_max_int(p.va_lg2) & log2_to_max_int(p.oa_lg2);
  }

  /// One leaf of 2^size_lg2 bytes at `level`; the caller writes the same
  /// word into every item it covers (leaf_item_step is 0: replicated).
  static constexpr word_t make_leaf(oa_t oa, unsigned size_lg2, unsigned level, const attrs& a,
                                    const params& p) noexcept {
    word_t e = PR | oa;
    if (a.read) e |= IR;
    if (a.write) e |= IW;
    if (a.force_coherent) e |= FC;
    if (a.untranslated_only) e |= U;
    if (a.accessed) e |= A;
    if (a.dirty) e |= D;
    if (a.encrypted) e |= p.c_bit;
    if (size_lg2 == item_lg2(level)) return e;  // NextLevel 0: the level's own size
    // NextLevel 7: ones in address bits size-2 .. 12; bit size-1 stays 0.
    return e | NL_SIZED | (log2_to_max_int(size_lg2 - 1) & ~log2_to_max_int(granule_lg2));
  }

  static constexpr attrs attrs_of(word_t e, unsigned, const params& p) noexcept {
    attrs a;
    a.read = e & IR;
    a.write = e & IW;
    a.force_coherent = e & FC;
    a.untranslated_only = e & U;
    a.accessed = e & A;
    a.dirty = e & D;
    a.encrypted = (e & p.c_bit) != 0;
    return a;
  }

  /// The portable mapping (spec §2.2.3, "I/O Page Table Entry Fields"):
  ///   read    IR;  write  IW (write-only is expressible)
  ///   cache   no bit: DMA through the IOMMU snoops CPU caches unless the
  ///           request says no-snoop; FC (on every leaf with feature
  ///           force_coherence) overrides that
  ///   mmio    no memory-type bit; only withholds the C-bit
  ///   noexec  no bit needed: a host (v1) table translates requests that
  ///           carry no execute request (Execute-Requested travels in the
  ///           PASID TLP prefix, and PASID requests use the GCR3 tables)
  ///   priv    not expressible (no user/supervisor bit): prot_supported
  ///           is false, so map/protect return not_supported
  /// The C-bit with encrypt_tables except on mmio.
  static constexpr attrs attrs_from_prot(prot pr, const params& p) noexcept {
    attrs a;
    a.read = has(pr, prot::read);
    a.write = has(pr, prot::write);
    a.force_coherent = p.fc;
    a.encrypted = p.c_bit && !has(pr, prot::mmio);
    return a;
  }
  /// Every flag but priv (see attrs_from_prot).
  static constexpr bool prot_supported(prot pr, const params&) noexcept { return !has(pr, prot::priv); }
  /// attrs the table can express: no C-bit without encrypt_tables.
  static constexpr bool attrs_valid(const attrs& a, const params& p) noexcept {
    return !a.encrypted || p.c_bit;
  }

  // -- Dirty tracking (spec §2.2.3, PTE field D; DTE HAD enables updates) --
  /// The IOMMU sets D on a write through the page. A sized page is
  /// replicated, and the IOMMU may set D in any one of its items; genpt
  /// ORs them when harvesting and cleans every item.
  static constexpr bool is_write_dirty(word_t e, const params&) noexcept { return e & D; }
  static constexpr word_t make_write_clean(word_t e, const params&) noexcept { return e & ~D; }
  /// The item as the IOMMU leaves it after a write: D set (as upstream).
  static constexpr word_t make_write_dirty(word_t e, const params&) noexcept { return e | D; }

  static constexpr hw_info make_hw_info(oa_t root, unsigned top_level, const params&) noexcept {
    return {root, top_level + 1};
  }

  /// The spec's name of the table a level-`level` item sits in.
  static constexpr const char* level_name(unsigned level, const params&) noexcept {
    constexpr const char* names[] = {"L1", "L2", "L3", "L4", "L5", "L6"};
    return level <= max_top_level ? names[level] : "?";
  }
};

}  // namespace genpt
