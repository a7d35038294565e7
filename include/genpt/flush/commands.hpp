// genpt/flush/commands.hpp - IOTLB invalidation commands of real IOMMUs,
// built from an iotlb_flush: ready sinks for driver authors.
//
// Each builder is a pure constexpr function from one iotlb_flush to the
// command words the hardware queue takes; each sink adapter calls the
// user's `submit(const command&) noexcept` once per command (the driver
// then queues a completion wait). Every builder covers at least
// [f.va, f.last] for every cached leaf and, when tables were removed, every
// walk-cache entry; it never asks for less than the gather says.
//
//  * amd_iommu: INVALIDATE_IOMMU_PAGES (AMD I/O Virtualization Technology
//    spec, "INVALIDATE_IOMMU_PAGES", command 03h): one command, the
//    smallest naturally aligned power-of-two block covering the range
//    (S=1 encodes its size in the address), PDE=1 when tables were removed,
//    everything when the block exceeds 2^52 bytes. A grown AMDv1 top
//    becomes a dte_update (new root and DTE Mode) for the driver, which
//    rewrites its DTEs and queues INVALIDATE_DEVTAB_ENTRY (command 02h).
//  * vtd: IOTLB Invalidate (type 2h) and PASID-based-IOTLB Invalidate
//    (type 6h) descriptors (Intel VT-d spec, "IOTLB Invalidate" /
//    "PASID-based IOTLB Invalidate"): one page-selective descriptor with
//    ADDR aligned to 2^AM pages, IH=1 when no paging-structure entry was
//    removed, a domain-/PASID-selective one when AM would exceed MAMV.
//  * smmuv3: CMD_TLBI_NH_VA (12h) / CMD_TLBI_S2_IPA (2Ah) range
//    invalidations (Arm SMMUv3 spec 4.4): exactly the range, split into
//    commands of (NUM+1) * 2^SCALE granules; TTL when one leaf level
//    changed; Leaf=1 when no table was removed; CMD_TLBI_NH_ASID (11h) /
//    CMD_TLBI_S12_VMALL (28h) for a flush of everything. The table's
//    geometry (granule, entry sizes, the spec's lookup level of each genpt
//    level for TTL) comes from its format: make_tlbi<Format> and
//    sink<Format, Submit> take the format of the tables the SMMU walks.
//
// Each sink also has flush_now(f) for break-before-make (core/bbm.hpp): the
// same commands, then the queue's completion wait (AMD COMPLETION_WAIT 01h,
// VT-d Invalidation Wait Descriptor 5h, SMMUv3 CMD_SYNC 46h); the driver's
// submit of that wait returns once the IOMMU has reached it.
//
// Concurrency: builders are pure; a sink adapter is as thread-safe as the
// user's submit.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "genpt/core/format_traits.hpp"
#include "genpt/flush/gather.hpp"

namespace genpt {

namespace detail {
/// log2 of the smallest naturally aligned power-of-two block holding both
/// va and last (va <= last); 64 when only the whole space does.
constexpr unsigned covering_block_lg2(va_t va, va_t last) noexcept {
  const va_t diff = va ^ last;
  return diff == 0 ? 0u : static_cast<unsigned>(64 - std::countl_zero(diff));
}
constexpr bool walk_cache_too(const iotlb_flush& f) noexcept {
  return f.tables_freed || f.table_levels != 0;
}
}  // namespace detail

// ================================================================ AMD ====
namespace amd_iommu {

inline constexpr std::uint32_t opcode_invalidate_iommu_pages = 0x3;
/// Address[63:12] with S=1 that means "all pages" (bit 63 the first zero).
inline constexpr std::uint64_t all_pages_address = 0x7fff'ffff'ffff'f000ull;

/// INVALIDATE_IOMMU_PAGES, four 32-bit words in queue order.
/// dw0: PASID[19:0]; dw1: DomainID[15:0], Op[31:28] = 3;
/// dw2: S[0], PDE[1], GN[2], Address[31:12]; dw3: Address[63:32].
struct inv_pages_cmd {
  std::uint32_t dw[4] = {};
  friend constexpr bool operator==(const inv_pages_cmd&, const inv_pages_cmd&) = default;
};

struct inv_pages_params {
  std::uint16_t domain_id = 0;
  std::uint32_t pasid = 0;  ///< with guest: the PASID whose (guest) table this is
  bool guest = false;       ///< GN: the address is a guest va of `pasid`
};

/// The command invalidating what `f` asks for: S=0 for one 4 KiB page,
/// else S=1 with the size encoded by the lowest zero bit of Address[..:12]
/// (block of 2^(k+1) bytes when bit k is the first zero), all pages when
/// the block would exceed 2^52 bytes or f.all. PDE=1 when tables were
/// removed (drops the page-directory cache entries too).
constexpr inv_pages_cmd make_inv_pages(const iotlb_flush& f, const inv_pages_params& p) noexcept {
  constexpr std::uint64_t page_mask = ~std::uint64_t{0xfff};
  std::uint64_t addr = 0;
  bool s = true;
  const unsigned k = detail::covering_block_lg2(f.va, f.last);
  if (f.all || k > 52) {
    addr = all_pages_address;
  } else if (k <= 12) {
    addr = f.va & page_mask;
    s = false;
  } else {
    const std::uint64_t base = f.va & ~((std::uint64_t{1} << k) - 1);
    addr = (base | ((std::uint64_t{1} << (k - 1)) - 1)) & page_mask;  // bit k-1 stays 0
  }
  inv_pages_cmd c;
  c.dw[0] = p.guest ? (p.pasid & 0xfffffu) : 0u;
  c.dw[1] = std::uint32_t{p.domain_id} | (opcode_invalidate_iommu_pages << 28);
  c.dw[2] = static_cast<std::uint32_t>(addr) | (s ? 1u : 0u) |
            (detail::walk_cache_too(f) ? 2u : 0u) | (p.guest ? 4u : 0u);
  c.dw[3] = static_cast<std::uint32_t>(addr >> 32);
  return c;
}

inline constexpr std::uint32_t opcode_completion_wait = 0x1;

/// COMPLETION_WAIT (command 01h), four 32-bit words in queue order.
/// dw0: S[0], I[1], F[2], StoreAddress[31:3]; dw1: StoreAddress[51:32]
/// in bits 19:0, Op[31:28] = 1; dw2, dw3: StoreData[63:0].
struct completion_wait_cmd {
  std::uint32_t dw[4] = {};
  friend constexpr bool operator==(const completion_wait_cmd&, const completion_wait_cmd&) = default;
};

/// A completion wait that stores `data` at `store_oa` (8-byte aligned)
/// once every earlier command completed (S=1): the driver polls that word.
constexpr completion_wait_cmd make_completion_wait(oa_t store_oa, std::uint64_t data) noexcept {
  completion_wait_cmd c;
  c.dw[0] = static_cast<std::uint32_t>(store_oa & 0xFFFF'FFF8u) | 1u;
  c.dw[1] = static_cast<std::uint32_t>((store_oa >> 32) & 0xF'FFFF) | (opcode_completion_wait << 28);
  c.dw[2] = static_cast<std::uint32_t>(data);
  c.dw[3] = static_cast<std::uint32_t>(data >> 32);
  return c;
}

inline constexpr std::uint32_t opcode_invalidate_devtab_entry = 0x2;

/// INVALIDATE_DEVTAB_ENTRY (command 02h), four 32-bit words in queue order.
/// dw0: DeviceID[15:0]; dw1: Op[31:28] = 2; dw2, dw3: reserved (0).
struct inv_devtab_cmd {
  std::uint32_t dw[4] = {};
  friend constexpr bool operator==(const inv_devtab_cmd&, const inv_devtab_cmd&) = default;
};

/// The command that makes the IOMMU drop its cached copy of the device
/// table entry of `device_id` (queue it after rewriting the entry).
constexpr inv_devtab_cmd make_inv_devtab_entry(std::uint16_t device_id) noexcept {
  inv_devtab_cmd c;
  c.dw[0] = device_id;
  c.dw[1] = opcode_invalidate_devtab_entry << 28;
  return c;
}

/// DTE bits 63:0 (spec "Device Table Entry Format"): Mode, bits 11:9, and
/// Host Page Table Root Pointer, bits 51:12.
inline constexpr std::uint64_t dte_mode_mask = std::uint64_t{7} << 9;
inline constexpr std::uint64_t dte_root_mask = 0x000F'FFFF'FFFF'F000ull;

/// What a raised AMDv1 top asks of the driver: every device table entry
/// that points at the table gets the new root and Mode (apply() to its
/// bits 63:0), then an INVALIDATE_DEVTAB_ENTRY each
/// (make_inv_devtab_entry), then a completion wait before the device may
/// use va beyond the old top. The old top stays linked below the new one,
/// so translations are the same through either root: no IOTLB flush.
struct dte_update {
  oa_t root = 0;      ///< new Host Page Table Root Pointer (bits 51:12 significant)
  unsigned mode = 0;  ///< new DTE Mode: levels, top_level + 1
  /// `dte_lo` (DTE bits 63:0) with Mode and the root pointer replaced,
  /// every other bit (V, TV, IR, IW, ...) kept.
  constexpr std::uint64_t apply(std::uint64_t dte_lo) const noexcept {
    return (dte_lo & ~(dte_mode_mask | dte_root_mask)) | ((std::uint64_t{mode} << 9) & dte_mode_mask) |
           (root & dte_root_mask);
  }
  friend constexpr bool operator==(const dte_update&, const dte_update&) = default;
};

/// IOTLB sink submitting one INVALIDATE_IOMMU_PAGES per flush, and one
/// dte_update when a growable (AMDv1 dynamic_top) table raises its top.
/// `submit` must take both `const inv_pages_cmd&` and `const dte_update&`
/// (noexcept): a sink that could not tell the driver about a new root is a
/// compile error, not a table the IOMMU walks from a stale DTE. The
/// overload is needed with any format (page_table instantiates growth for
/// all); a table whose top cannot grow (x86-64 GCR3 tables, AMDv1 without
/// dynamic_top) never calls it.
/// Concurrency: as thread-safe as `submit`; page_table calls change_top
/// under its growth lock, before the new top is published.
template <class Submit>
struct sink {
  inv_pages_params params;
  Submit submit;  ///< void(const inv_pages_cmd&) noexcept and void(const dte_update&) noexcept
  oa_t wait_oa = 0;             ///< flush_now's COMPLETION_WAIT store address
  std::uint64_t wait_data = 1;  ///< and the value it stores
  void flush(const iotlb_flush& f) noexcept { submit(make_inv_pages(f, params)); }
  /// The policy's invalidate-now hook: the command, then a COMPLETION_WAIT
  /// when Submit takes `const completion_wait_cmd&` (returning once the
  /// IOMMU stored wait_data). Only break-before-make formats call it
  /// (ARMv8); x86-64 / AMDv1 tables never do, so a Submit without the
  /// wait overload stays valid for them.
  void flush_now(const iotlb_flush& f) noexcept {
    submit(make_inv_pages(f, params));
    if constexpr (std::is_invocable_v<Submit&, const completion_wait_cmd&>)
      submit(make_completion_wait(wait_oa, wait_data));
  }
  /// The flush policy's top-change hook: submits the new root and Mode.
  void change_top(oa_t root, unsigned top_level) noexcept {
    static_assert(std::is_invocable_v<Submit&, const dte_update&>,
                  "genpt::amd_iommu::sink: Submit must also take `const dte_update&` (a growable "
                  "AMDv1 top needs the device table entries rewritten and invalidated)");
    if constexpr (std::is_invocable_v<Submit&, const dte_update&>) submit(dte_update{root, top_level + 1});
  }
};

}  // namespace amd_iommu

// ================================================================ VT-d ===
namespace vtd {

inline constexpr std::uint64_t type_iotlb = 0x2;        ///< legacy IOTLB Invalidate
inline constexpr std::uint64_t type_pasid_iotlb = 0x6;  ///< PASID-based IOTLB Invalidate
inline constexpr std::uint64_t gran_domain = 0x2;       ///< G: domain- (or PASID-) selective
inline constexpr std::uint64_t gran_page = 0x3;         ///< G: page-selective within domain/PASID

/// One invalidation descriptor: qw0, qw1 (a 256-bit scalable-mode queue
/// entry has qw2 = qw3 = 0).
/// Type 2h: qw0 Type[3:0], G[5:4], DW[6], DR[7], DID[31:16];
/// type 6h: qw0 Type[3:0], G[5:4], DID[31:16], PASID[51:32];
/// both: qw1 AM[5:0], IH[6], ADDR[63:12].
struct descriptor {
  std::uint64_t qw0 = 0;
  std::uint64_t qw1 = 0;
  friend constexpr bool operator==(const descriptor&, const descriptor&) = default;
};

struct params {
  std::uint16_t domain_id = 0;
  unsigned mamv = 63;          ///< CAP_REG.MAMV: largest AM the unit accepts
  bool pasid_based = false;    ///< type 6h for a first-stage (PASID) table
  std::uint32_t pasid = 0;     ///< with pasid_based
  bool drain_reads = false;    ///< type 2h DR (CAP_REG.DRD)
  bool drain_writes = false;   ///< type 2h DW (CAP_REG.DWD)
};

/// The descriptor invalidating what `f` asks for: page-selective over the
/// smallest 2^AM-page aligned block covering the range, IH=1 when no
/// paging-structure entry was removed; domain-/PASID-selective when AM
/// would exceed p.mamv or f.all.
constexpr descriptor make_iotlb_inv(const iotlb_flush& f, const params& p) noexcept {
  const unsigned k = detail::covering_block_lg2(f.va, f.last);
  const unsigned am = k <= 12 ? 0u : k - 12;
  const bool psi = !f.all && am <= p.mamv && k < 64;
  descriptor d;
  if (p.pasid_based) {
    d.qw0 = type_pasid_iotlb | ((psi ? gran_page : gran_domain) << 4) |
            (std::uint64_t{p.domain_id} << 16) | (std::uint64_t{p.pasid & 0xfffffu} << 32);
  } else {
    d.qw0 = type_iotlb | ((psi ? gran_page : gran_domain) << 4) |
            (p.drain_writes ? std::uint64_t{1} << 6 : 0) |
            (p.drain_reads ? std::uint64_t{1} << 7 : 0) | (std::uint64_t{p.domain_id} << 16);
  }
  if (psi) {
    const std::uint64_t base = f.va & ~((std::uint64_t{1} << (am + 12)) - 1);
    d.qw1 = base | (detail::walk_cache_too(f) ? 0 : std::uint64_t{1} << 6) | am;
  }
  return d;
}

inline constexpr std::uint64_t type_inv_wait = 0x5;  ///< Invalidation Wait Descriptor

/// Invalidation Wait Descriptor (type 5h) with SW=1: qw0 Type[3:0], IF[4],
/// SW[5], FN[6], StatusData[63:32]; qw1 StatusAddress[63:2]. The unit
/// writes `data` to `status_oa` once every earlier descriptor completed.
constexpr descriptor make_inv_wait(oa_t status_oa, std::uint32_t data) noexcept {
  descriptor d;
  d.qw0 = type_inv_wait | (std::uint64_t{1} << 5) | (std::uint64_t{data} << 32);
  d.qw1 = status_oa & ~std::uint64_t{3};
  return d;
}

/// IOTLB sink submitting one descriptor per flush.
template <class Submit>
struct sink {
  vtd::params params;
  Submit submit;  ///< void(const descriptor&) noexcept
  oa_t wait_oa = 0;             ///< flush_now's wait status address
  std::uint32_t wait_data = 1;  ///< and the status it writes
  void flush(const iotlb_flush& f) noexcept { submit(make_iotlb_inv(f, params)); }
  /// The policy's invalidate-now hook: the descriptor, then an
  /// Invalidation Wait (the driver's submit returns once it completed).
  void flush_now(const iotlb_flush& f) noexcept {
    submit(make_iotlb_inv(f, params));
    submit(make_inv_wait(wait_oa, wait_data));
  }
};

}  // namespace vtd

// ============================================================== SMMUv3 ===
namespace smmuv3 {

inline constexpr std::uint64_t op_tlbi_nh_asid = 0x11;
inline constexpr std::uint64_t op_tlbi_nh_va = 0x12;
inline constexpr std::uint64_t op_tlbi_s12_vmall = 0x28;
inline constexpr std::uint64_t op_tlbi_s2_ipa = 0x2a;
inline constexpr std::uint64_t op_cmd_sync = 0x46;

/// One 128-bit command. dw0: Op[7:0], NUM[16:12], SCALE[24:20],
/// VMID[47:32], ASID[63:48] (NH_* only); dw1: Leaf[0], TTL[9:8], TG[11:10],
/// Address[63:12] (S2_IPA: IPA[51:12]).
struct command {
  std::uint64_t dw[2] = {};
  friend constexpr bool operator==(const command&, const command&) = default;
};

/// What the driver knows beyond the table's format: which command, the
/// tags, and the SMMU's features.
struct params {
  unsigned stage = 1;          ///< 1: CMD_TLBI_NH_VA by ASID+VMID; 2: CMD_TLBI_S2_IPA by VMID
  std::uint16_t asid = 0;
  std::uint16_t vmid = 0;
  bool range = true;           ///< SMMU_IDR3.RIL: range invalidation and TTL supported
  bool ds = false;             ///< SMMU_IDR5.DS (16K granule level-1 TTL)
  unsigned max_commands = 16;  ///< more would be needed: flush the ASID/VMID instead
};

/// The commands one flush becomes (at most 16; count 1 with a *_ALL/ASID
/// command when the range needs more than max_commands).
struct command_list {
  command cmd[16];
  unsigned count = 0;
};

namespace detail_smmu {
/// The TG field of a range command: the translation granule, 4K/16K/64K.
constexpr unsigned tg_of(unsigned g) noexcept { return g == 12 ? 1u : g == 14 ? 2u : 3u; }

/// The geometry the commands need, from the table's format: its granule,
/// the VA bytes of one item per level (format_traits::item_lg2), and the
/// spec's lookup level of each genpt level (Format::spec_level(L)).
template <class Format>
consteval bool check_format() {
  static_assert(Format::granule_lg2 == 12 || Format::granule_lg2 == 14 || Format::granule_lg2 == 16,
                "genpt::smmuv3: the format's granule must be 4K, 16K or 64K");
  static_assert(requires(unsigned l) { { Format::spec_level(l) } -> std::convertible_to<int>; },
                "genpt::smmuv3: the format needs `static constexpr int spec_level(unsigned level)` "
                "(the lookup level TTL names)");
  return true;
}

constexpr command invalidate_all(const params& p) noexcept {
  command c;
  if (p.stage == 2) {
    c.dw[0] = op_tlbi_s12_vmall | (std::uint64_t{p.vmid} << 32);
  } else {
    c.dw[0] = op_tlbi_nh_asid | (std::uint64_t{p.vmid} << 32) | (std::uint64_t{p.asid} << 48);
  }
  return c;
}

constexpr command by_address(const params& p, std::uint64_t addr, bool leaf) noexcept {
  command c;
  if (p.stage == 2) {
    c.dw[0] = op_tlbi_s2_ipa | (std::uint64_t{p.vmid} << 32);
    c.dw[1] = addr & 0x000f'ffff'ffff'f000ull;
  } else {
    c.dw[0] = op_tlbi_nh_va | (std::uint64_t{p.vmid} << 32) | (std::uint64_t{p.asid} << 48);
    c.dw[1] = addr & ~std::uint64_t{0xfff};
  }
  if (leaf) c.dw[1] |= 1;
  return c;
}

/// The genpt level whose leaves TTL `ttl` names: the inverse of
/// Format::spec_level, or 0 when none does (never asked for ttl 0).
template <class Format>
constexpr unsigned level_of_ttl(unsigned ttl) noexcept {
  for (unsigned L = 0; L <= Format::max_top_level; ++L)
    if (Format::spec_level(L) == static_cast<int>(ttl)) return L;
  return 0;
}

/// The TTL hint for f (0: none): exactly one leaf level changed, it has an
/// encoding (its lookup level is 1 to 3), and every removed table pointer
/// lies above it (with Leaf=0 the SMMU drops table entries of the levels
/// above TTL only).
template <class Format>
constexpr unsigned ttl_of(const iotlb_flush& f, const params& p) noexcept {
  if (std::popcount(unsigned{f.leaf_levels}) != 1) return 0;
  const unsigned L = static_cast<unsigned>(std::countr_zero(unsigned{f.leaf_levels}));
  if ((unsigned{f.table_levels} & ((2u << L) - 1)) != 0) return 0;
  const int a = Format::spec_level(L);
  if (a < 1 || a > 3) return 0;                                // level 0: no encoding
  if (a == 1 && Format::granule_lg2 == 14 && !p.ds) return 0;  // reserved without DS
  return static_cast<unsigned>(a);
}
}  // namespace detail_smmu

/// The commands invalidating what `f` asks for. With range support: exactly
/// [va, last] rounded out to granules, as few commands as (NUM+1) * 2^SCALE
/// granules allow (each takes the lowest set bits of the remaining granule
/// count; past bit 31, chunks of up to 32 * 2^31 granules), TTL when one
/// leaf level changed (and only on commands whose address is aligned to
/// that level's entries), Leaf=1 when no table was
/// removed. Without range support: one command per smallest changed entry.
/// A flush of everything, or one needing more than max_commands (at most
/// 16), is one CMD_TLBI_NH_ASID / CMD_TLBI_S12_VMALL. `Format` is the
/// format of the tables the SMMU walks (its granule and levels).
template <class Format>
constexpr command_list make_tlbi(const iotlb_flush& f, const params& p) noexcept {
  using namespace detail_smmu;
  static_assert(detail_smmu::check_format<Format>());
  using traits = format_traits<Format>;
  command_list out;
  constexpr unsigned g = Format::granule_lg2;
  const unsigned max_cmds = p.max_commands < 16 ? p.max_commands : 16;
  const auto all = [&] {
    out.count = 1;
    out.cmd[0] = invalidate_all(p);
    return out;
  };
  if (f.all) return all();
  const bool leaf = !genpt::detail::walk_cache_too(f);
  const std::uint64_t first = f.va >> g;
  const std::uint64_t granules = (f.last >> g) - first + 1;  // never wraps: g >= 12
  if (p.range) {
    const unsigned ttl = ttl_of<Format>(f, p);
    const unsigned ttl_align = ttl ? traits::item_lg2(level_of_ttl<Format>(ttl)) : 0;
    std::uint64_t left = granules;
    std::uint64_t addr = first << g;
    while (left != 0) {
      if (out.count == max_cmds) return all();
      // (NUM+1) * 2^SCALE granules: the lowest set bits of what is left;
      // a count whose lowest set bit is above 31 (SCALE's 5-bit maximum)
      // takes up to 32 * 2^31 granules at a time.
      unsigned scale = static_cast<unsigned>(std::countr_zero(left));
      std::uint64_t num = (left >> scale) & 31;  // >= 1: bit `scale` is set
      if (scale > 31) {
        scale = 31;
        num = (left >> 31) < 32 ? (left >> 31) : 32;  // even, >= 2: bit 32 or above is set
      }
      command c = by_address(p, addr, leaf);
      const bool aligned = ttl && (addr & ((std::uint64_t{1} << ttl_align) - 1)) == 0;
      const unsigned cmd_ttl = aligned ? ttl : 0;
      if (num == 1 && scale == 0 && cmd_ttl == 0) {
        // One granule without a level hint: TG=0 (NUM=SCALE=TTL=0 with a
        // TG is a reserved encoding).
      } else {
        c.dw[0] |= ((num - 1) << 12) | (std::uint64_t{scale} << 20);
        c.dw[1] |= (std::uint64_t{cmd_ttl} << 8) | (std::uint64_t{tg_of(g)} << 10);
      }
      out.cmd[out.count++] = c;
      left -= num << scale;
      addr += (num << scale) << g;
    }
    return out;
  }
  // No range invalidation: one address per smallest changed entry.
  const unsigned levels = unsigned{f.leaf_levels} | unsigned{f.table_levels};
  const unsigned step_lg2 =
      levels ? traits::item_lg2(static_cast<unsigned>(std::countr_zero(levels))) : g;
  if (step_lg2 >= 64) return all();
  const std::uint64_t lo = f.va >> step_lg2;
  const std::uint64_t n = (f.last >> step_lg2) - lo + 1;
  if (n > max_cmds) return all();
  for (std::uint64_t i = 0; i < n; ++i) out.cmd[out.count++] = by_address(p, (lo + i) << step_lg2, leaf);
  return out;
}

/// CMD_SYNC (46h) with CS = SIG_NONE: completes once every earlier command
/// did; the driver polls the queue's consumer index past it.
constexpr command make_cmd_sync() noexcept {
  command c;
  c.dw[0] = op_cmd_sync;
  return c;
}

/// IOTLB sink submitting the commands of each flush (the driver follows
/// them with a CMD_SYNC), for tables of `Format`.
template <class Format, class Submit>
struct sink {
  smmuv3::params params;
  Submit submit;  ///< void(const command&) noexcept
  void flush(const iotlb_flush& f) noexcept {
    const command_list l = make_tlbi<Format>(f, params);
    for (unsigned i = 0; i < l.count; ++i) submit(l.cmd[i]);
  }
  /// The policy's invalidate-now hook (break-before-make): the commands,
  /// then a CMD_SYNC (the driver's submit returns once it completed).
  void flush_now(const iotlb_flush& f) noexcept {
    flush(f);
    submit(make_cmd_sync());
  }
};

}  // namespace smmuv3

}  // namespace genpt
