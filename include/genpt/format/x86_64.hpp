// genpt/format/x86_64.hpp - x86-64 4-level and 5-level paging.
//
// Implements Intel SDM Vol. 3A §4.5 "4-Level Paging and 5-Level Paging"
// (Figure 4-11 and Tables 4-14 to 4-20), as used by x86-64 CPUs, AMD IOMMU
// v2 (GCR3) tables and the VT-d first-stage table. AMD APM Vol. 2 §5.3
// "Long-Mode Page Translation" describes the same layout; its memory
// encryption C-bit (§7.10 "Secure Memory Encryption") is the optional
// amd_encrypt_tables feature.
//
//   genpt level | SDM structure            | item translates | leaf?
//   ------------+--------------------------+-----------------+----------------
//        4      | PML5 table  (PML5E)      | 256 TiB         | no
//        3      | PML4 table  (PML4E)      | 512 GiB         | no
//        2      | PDPT        (PDPTE)      | 1 GiB           | with PS (1G page)
//        1      | page dir.   (PDE)        | 2 MiB           | with PS (2M page)
//        0      | page table  (PTE)        | 4 KiB           | always
//
// 4-level tables decode 48 VA bits (top level 3), 5-level tables 57 (top
// level 4). VA bits above are copies of the top bit (canonical form), so
// with feature sign_extend the table has a lower and an upper half.
#pragma once

#include <cstdint>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

struct x86_64 {
  using word_t = std::uint64_t;

  // -- Descriptor bits (SDM Vol. 3A Tables 4-14 .. 4-20) -------------------
  static constexpr word_t P = word_t{1} << 0;      ///< Present
  static constexpr word_t RW = word_t{1} << 1;     ///< Read/write: 0 = read-only
  static constexpr word_t US = word_t{1} << 2;     ///< User/supervisor: 1 = user
  static constexpr word_t PWT = word_t{1} << 3;    ///< Page-level write-through
  static constexpr word_t PCD = word_t{1} << 4;    ///< Page-level cache disable
  static constexpr word_t A = word_t{1} << 5;      ///< Accessed
  static constexpr word_t D = word_t{1} << 6;      ///< Dirty (leaves only)
  static constexpr word_t PS = word_t{1} << 7;     ///< Page size (PDE/PDPTE: maps a page)
  static constexpr word_t PAT_4K = word_t{1} << 7; ///< PAT index bit of a 4K PTE (Table 4-20)
  static constexpr word_t G = word_t{1} << 8;      ///< Global (leaves only)
  static constexpr word_t PAT_LARGE = word_t{1} << 12;  ///< PAT bit of a 2M/1G leaf (Tables 4-16, 4-18)
  static constexpr word_t ADDR = 0x000F'FFFF'FFFF'F000;  ///< address bits 51:12 (M = 52)
  static constexpr word_t XD = word_t{1} << 63;    ///< Execute-disable (IA32_EFER.NXE = 1)

  // -- Geometry ------------------------------------------------------------
  static constexpr unsigned granule_lg2 = 12;    ///< 4 KiB pages
  static constexpr unsigned table_lg2 = 12;      ///< 512 items of 8 bytes
  static constexpr unsigned top_align_lg2 = 12;  ///< CR3 holds bits 51:12 of the root
  static constexpr unsigned max_top_level = 4;   ///< PML5
  static constexpr unsigned max_va_lg2 = 57;
  static constexpr unsigned max_oa_lg2 = 52;     ///< MAXPHYADDR is at most 52

  /// Optional features (config::features).
  enum feature : unsigned {
    sign_extend = 1u << 0,         ///< canonical VA: lower and upper halves
    amd_encrypt_tables = 1u << 1,  ///< AMD SME C-bit on tables and non-MMIO leaves
  };

  /// What the user asks for.
  struct config {
    unsigned top_level = 3;   ///< 3: 4-level (48-bit), 4: 5-level (57-bit)
    unsigned va_lg2 = 0;      ///< VA bits, sign bit included; 0: all the top decodes (with sign_extend: 0, 48 or 57 only)
    unsigned oa_lg2 = 0;      ///< OA bits; 0: 52
    unsigned features = sign_extend;
    unsigned c_bit = 0;       ///< with amd_encrypt_tables: the C-bit position (>= oa_lg2, <= 51)
  };

  /// Validated geometry plus the encryption mask.
  struct params : table_params {
    word_t c_bit = 0;  ///< C-bit mask, 0 without amd_encrypt_tables
  };

  /// Full control of a leaf's attribute bits. Protection keys stay zero.
  struct attrs {
    bool write = false;      ///< R/W
    bool user = false;       ///< U/S
    bool pwt = false;        ///< PWT
    bool pcd = false;        ///< PCD
    bool pat = false;        ///< PAT (bit 7 in a PTE, bit 12 in a large leaf)
    bool global = false;     ///< G
    bool noexec = false;     ///< XD
    bool accessed = false;   ///< A, pre-set so hardware need not write it
    bool dirty = false;      ///< D, pre-set so hardware need not write it
    bool encrypted = false;  ///< C-bit (needs amd_encrypt_tables)
    constexpr bool operator==(const attrs&) const = default;
    /// The fields in dump order (format_traits::for_each_attr_field).
    template <class V>
    constexpr void for_each_field(V&& v) const {
      v.flag("write", write);
      v.flag("user", user);
      v.flag("pwt", pwt);
      v.flag("pcd", pcd);
      v.flag("pat", pat);
      v.flag("global", global);
      v.flag("noexec", noexec);
      v.flag("accessed", accessed);
      v.flag("dirty", dirty);
      v.flag("encrypted", encrypted);
    }
  };

  /// What a driver programs: CR3 / GCR3 root and the paging mode.
  struct hw_info {
    oa_t root = 0;        ///< output address of the top table (CR3 bits 51:12)
    unsigned levels = 0;  ///< 4 or 5 (CR4.LA57 set for 5)
  };

  /// Errors: not_supported (unknown feature, top_level not 3 or 4, va_lg2
  /// above what the top decodes, or a sign-extended va_lg2 narrower than
  /// the top: the CPU's canonical check is always at bit 47 / 56);
  /// invalid_argument (va_lg2 too small for the top, bad oa_lg2 or c_bit).
  static result<params> init(const config& c) noexcept {
    if (c.features & ~unsigned{sign_extend | amd_encrypt_tables}) return unexpected(errc::not_supported);
    if (c.top_level != 3 && c.top_level != 4) return unexpected(errc::not_supported);
    const unsigned span = granule_lg2 + 9 * (c.top_level + 1);
    params p;
    p.top_level = c.top_level;
    p.va_lg2 = c.va_lg2 ? c.va_lg2 : span;
    p.oa_lg2 = c.oa_lg2 ? c.oa_lg2 : max_oa_lg2;
    p.layout = (c.features & sign_extend) ? va_layout::sign_extend : va_layout::low;
    if (p.va_lg2 > span) return unexpected(errc::not_supported);  // the top cannot decode it
    if (p.va_lg2 <= granule_lg2 + 9 * c.top_level) return unexpected(errc::invalid_argument);
    // The CPU indexes the top with VA bits 47:39 (56:48 with LA57) and
    // requires bits 63:47 (63:56) to be copies of bit 47 (56), SDM Vol. 3A
    // §4.5.4 and §3.3.7.1. A narrower sign-extended space would put its
    // upper half at top indexes the hardware never reads: refused.
    if ((c.features & sign_extend) && p.va_lg2 != span) return unexpected(errc::not_supported);
    if (p.oa_lg2 > max_oa_lg2 || p.oa_lg2 <= granule_lg2) return unexpected(errc::invalid_argument);
    if (c.features & amd_encrypt_tables) {
      if (c.c_bit < p.oa_lg2 || c.c_bit > 51) return unexpected(errc::invalid_argument);
      p.c_bit = word_t{1} << c.c_bit;
    }
    return p;
  }

  static constexpr word_t addr_mask(const params& p) noexcept { return ADDR & ~p.c_bit; }

  static constexpr entry_kind classify(word_t e, unsigned level) noexcept {
    if (!(e & P)) return entry_kind::empty;
    if (level == 0) return entry_kind::leaf;
    // PS is only defined in PDEs and PDPTEs; PML4E/PML5E bit 7 is reserved.
    if (level <= 2 && (e & PS)) return entry_kind::leaf;
    return entry_kind::table;
  }
  /// unmap's run scan: any present PTE maps one 4 KiB page (SDM 4.5,
  /// Table 4-20).
  static constexpr leaf_bits<word_t> single_leaf_bits(unsigned level) noexcept {
    if (level == 0) return {P, P};
    return {};
  }

  static constexpr oa_t table_oa(word_t e, const params& p) noexcept { return e & addr_mask(p); }

  /// Non-leaf entry: present, writable, user, accessed; permissions are
  /// ANDed along the walk, so tables never restrict (as upstream).
  static constexpr word_t make_table(oa_t oa, unsigned, const params& p) noexcept {
    return P | RW | US | A | oa | p.c_bit;
  }
  /// iova_to_phys's table step: every bit outside the address field as
  /// make_table writes it (PS clear, so a table at any level); A set
  /// already, so a walker leaves the item as it is.
  static constexpr table_form<word_t> table_item_form(unsigned level, const params& p) noexcept {
    return {~addr_mask(p), make_table(0, level, p), 0};
  }

  /// Software bit of table items: bits 11:9 of an entry that references a
  /// paging structure are ignored by the processor (SDM Vol. 3A Tables 4-14,
  /// 4-15, 4-17, 4-19). genpt sets bit 9 as "cache flush done" for walkers
  /// that do not snoop CPU caches (genpt/alloc/incoherent.hpp).
  static constexpr word_t sw_bit_mask(const params&) noexcept { return word_t{1} << 9; }

  static constexpr oa_t entry_oa(word_t e, unsigned level, const params& p) noexcept {
    // A large leaf's low address bits hold PAT (bit 12) and reserved zeros.
    return e & addr_mask(p) & ~((word_t{1} << (granule_lg2 + 9 * level)) - 1);
  }

  static constexpr std::uint64_t leaf_sizes(unsigned level, const params&) noexcept {
    return level <= 2 ? std::uint64_t{1} << (granule_lg2 + 9 * level) : 0;
  }

  static constexpr word_t make_leaf(oa_t oa, unsigned, unsigned level, const attrs& a,
                                    const params& p) noexcept {
    word_t e = P | oa;
    if (a.write) e |= RW;
    if (a.user) e |= US;
    if (a.pwt) e |= PWT;
    if (a.pcd) e |= PCD;
    if (a.accessed) e |= A;
    if (a.dirty) e |= D;
    if (a.global) e |= G;
    if (a.noexec) e |= XD;
    if (a.encrypted) e |= p.c_bit;
    if (level == 0) return a.pat ? e | PAT_4K : e;
    return e | PS | (a.pat ? PAT_LARGE : 0);
  }

  static constexpr attrs attrs_of(word_t e, unsigned level, const params& p) noexcept {
    attrs a;
    a.write = e & RW;
    a.user = e & US;
    a.pwt = e & PWT;
    a.pcd = e & PCD;
    a.pat = e & (level == 0 ? PAT_4K : PAT_LARGE);
    a.global = e & G;
    a.noexec = e & XD;
    a.accessed = e & A;
    a.dirty = e & D;
    a.encrypted = (e & p.c_bit) != 0;
    return a;
  }

  /// The portable mapping; every flag reaches the leaf (SDM Vol. 3A Tables
  /// 4-18 and 4-20, §11.12 PAT):
  ///   read    P (a present x86 page is always readable: `write` alone
  ///           maps read/write too, as the IOMMU API's DMA_FROM_DEVICE)
  ///   write   R/W, and D pre-set so the walker need not write it
  ///   priv    U/S = 0 (supervisor only); without it U/S = 1
  ///   noexec  XD (bit 63; the walker must run with IA32_EFER.NXE = 1,
  ///           else bit 63 is reserved and the walk faults)
  ///   cache   PCD = PWT = 0, PAT entry 0: write-back at power-on (and in
  ///           Linux's PAT); also the memory type without `cache` (x86
  ///           memory is coherent; ask attrs for PCD/PWT/PAT otherwise)
  ///   mmio    PCD = PWT = 1, PAT entry 3: UC at power-on (and in Linux's
  ///           PAT); no C-bit
  /// A is always pre-set; the C-bit on every non-mmio leaf with
  /// amd_encrypt_tables. G is never set (use attrs). Every flag is
  /// expressible (prot_supported).
  static constexpr attrs attrs_from_prot(prot pr, const params& p) noexcept {
    attrs a;
    a.user = !has(pr, prot::priv);
    a.noexec = has(pr, prot::noexec);
    a.pcd = a.pwt = has(pr, prot::mmio);
    a.accessed = true;
    a.write = has(pr, prot::write);
    a.dirty = a.write;
    a.encrypted = p.c_bit && !has(pr, prot::mmio);
    return a;
  }
  /// Every prot flag has an x86-64 encoding (see attrs_from_prot).
  static constexpr bool prot_supported(prot, const params&) noexcept { return true; }
  /// attrs the table can express: no C-bit without amd_encrypt_tables.
  static constexpr bool attrs_valid(const attrs& a, const params& p) noexcept {
    return !a.encrypted || p.c_bit;
  }

  // -- Dirty tracking (SDM Vol. 3A §4.8 "Accessed and Dirty Flags") -------
  /// The processor sets D on the first write through a leaf.
  static constexpr bool is_write_dirty(word_t e, const params&) noexcept { return e & D; }
  static constexpr word_t make_write_clean(word_t e, const params&) noexcept { return e & ~D; }
  /// A write sets A and D, as the processor does.
  static constexpr word_t make_write_dirty(word_t e, const params&) noexcept { return e | A | D; }

  static constexpr hw_info make_hw_info(oa_t root, unsigned top_level, const params&) noexcept {
    return {root, top_level + 1};
  }

  static constexpr const char* level_name(unsigned level, const params&) noexcept {
    constexpr const char* names[] = {"PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
    return level <= 4 ? names[level] : "?";
  }
};

}  // namespace genpt
