// genpt/walk/vtd_ss.hpp - the VT-d second-stage and CPU EPT walks over
// untrusted memory.
//
// Written from the specifications, not from genpt's format hooks (only the
// bit constants of genpt/format/vtd_ss.hpp are shared):
//
// VT-d (Intel VT for Directed I/O spec):
//   §3.7     the second-stage walk: SS-PML5E (5-level), SS-PML4E, SS-PDPTE,
//            SS-PDE, SS-PTE indexed by input bits 56:48, 47:39, 38:30, 29:21,
//            20:12; PS = 1 in an SS-PDPTE / SS-PDE maps a 1 GiB / 2 MiB page
//            (only where CAP.SLLPS reports the size; else PS is reserved).
//            An input address at or above 2^min(MGAW, AGAW) faults before any
//            read (fault reason 4h): address_size.
//   §3.7.2   access rights: R, W (and X with execute requests) ANDed over
//            every level; an execute request needs R and X. Without
//            execute-request support (ECAP.ERS / SLEE = 0) X is ignored and
//            genpt blocks execute requests (permission).
//   §9.8     an entry with R = W = X = 0 (X counted only with execute
//            requests) is not present: translation. A present entry with a
//            reserved bit set (fault reason Ch, "non-zero reserved field"):
//            reserved_bit. Reserved: bit 62; address bits 51:HAW; bit 11 of
//            non-leaf entries, and of leaves without snoop control
//            (ECAP.SC = 0); bit 7 of SS-PML5E / SS-PML4E; bits 29:12 of a
//            1 GiB page, 20:12 of a 2 MiB page. EMT / IPAT are not checked
//            (ignored without EMTE).
//   §3.7.3   A in every entry used, D in the leaf on writes, when SSADE = 1.
//
// EPT (Intel SDM Vol. 3C):
//   §29.3.2  the walk from the EPTP (4 or 5 levels), present = any of bits
//            2:0 (or bit 10 with MBEC); not present: EPT violation
//            (translation).
//   §29.3.3.1 EPT misconfiguration (reserved_bit): W = 1 with R = 0;
//            execute-only (R = 0 with X, or bit 10 with MBEC) without the
//            execute-only capability; reserved bits (7:3 of non-leaf entries,
//            address bits 51:MAXPHYADDR, 29:12 of a 1 GiB and 20:12 of a 2
//            MiB page, PS where the page size is not supported); a leaf memory
//            type of 2, 3 or 7.
//   §29.3.3.2 EPT violation (permission): a read with R = 0, a write with
//            W = 0, a fetch with X = 0 (with MBEC: a supervisor fetch with
//            X = 0, a user-mode fetch with bit 10 = 0) in any entry used.
//            The exit qualification (§28.2.1, Table 28-7) gives the access
//            (bits 2:0) and the AND of R, W, X, user-execute over the
//            entries walked (bits 6:3): ept_exit below.
//   §29.3.5  A in every entry used, D in the leaf on writes, with EPTP bit 6.
//   A guest-physical address above the configured width (gpa_width) is
//   address_size: genpt's choice (a processor never presents one).
//
// fault::spec_level is the entry's depth: (SS-/EPT) PML5E 5, PML4E 4,
// PDPTE 3, PDE 2, PTE 1 (genpt level + 1); 0 for the input-address check.
#pragma once

#include <cstdint>

#include "genpt/format/vtd_ss.hpp"
#include "genpt/walk/walk.hpp"

namespace genpt {

/// EPT exit-qualification bits of one EPT walk (SDM Vol. 3C Table 28-7).
struct ept_exit {
  bool violation = false;      ///< an EPT violation (else a misconfiguration or none)
  bool misconfig = false;      ///< an EPT misconfiguration
  bool read = false;           ///< bit 0: the access was a data read
  bool write = false;          ///< bit 1: a data write
  bool fetch = false;          ///< bit 2: an instruction fetch
  bool readable = false;       ///< bit 3: AND of bit 0 over the entries walked
  bool writable = false;       ///< bit 4: AND of bit 1
  bool executable = false;     ///< bit 5: AND of bit 2
  bool user_executable = false;///< bit 6: AND of bit 10 (MBEC; else 0)
  constexpr bool operator==(const ept_exit&) const = default;
  /// Bits 6:0 of the exit qualification.
  constexpr std::uint64_t bits() const noexcept {
    return std::uint64_t{read} | std::uint64_t{write} << 1 | std::uint64_t{fetch} << 2 |
           std::uint64_t{readable} << 3 | std::uint64_t{writable} << 4 |
           std::uint64_t{executable} << 5 | std::uint64_t{user_executable} << 6;
  }
};

namespace detail {

/// The walk both flavours share; Ept picks the rules (see the file comment).
template <bool Ept>
struct sl_walk {
  using F = basic_vtd_ss<Ept>;
  using word_t = std::uint64_t;
  static constexpr word_t addr_bits = 0x000F'FFFF'FFFF'F000;

  struct regs {
    unsigned levels = 4;       ///< VT-d AGAW: 3, 4, 5; EPT page-walk length + 1: 4, 5
    unsigned va_bits = 48;     ///< VT-d min(MGAW, AGAW); EPT guest-physical width (<= 12 + 9 * levels)
    unsigned oa_bits = 52;     ///< VT-d HAW; EPT MAXPHYADDR: address bits oa_bits..51 are reserved
    bool ad = false;           ///< VT-d SSADE / EPTP bit 6: hardware A/D
    bool exec = false;         ///< VT-d: execute requests (ERS, SLEE); EPT: mode-based execute control
    bool snoop = false;        ///< VT-d: ECAP.SC (SNP valid in leaves); EPT: unused
    bool exec_only = false;    ///< EPT: execute-only supported; VT-d: unused
    bool page_2m = true;       ///< 2 MiB pages supported
    bool page_1g = true;       ///< 1 GiB pages supported
  };

  static constexpr regs regs_from(const typename F::params& p, unsigned top_level) noexcept {
    regs r;
    r.levels = top_level + 1;
    r.va_bits = p.va_lg2;
    r.oa_bits = p.oa_lg2;
    r.ad = p.has(F::ad);
    r.exec = Ept ? p.has(F::mbec) : p.has(F::exec);
    r.snoop = !Ept && p.has(F::snoop);
    r.exec_only = Ept && p.has(F::exec_only);
    r.page_2m = !p.has(F::no_2m);
    r.page_1g = !p.has(F::no_1g);
    return r;
  }

  static constexpr word_t present_bits(const regs& r) noexcept {
    if constexpr (Ept)
      return F::R | F::W | F::X | (r.exec ? F::XU : 0);
    else
      return F::R | F::W | (r.exec ? F::X : 0);
  }
  static constexpr bool is_page(word_t e, unsigned d) noexcept {
    return d == 1 || ((d == 2 || d == 3) && (e & F::PS));
  }

  /// Reserved bits / misconfiguration of a present entry at depth d.
  static constexpr bool bad(word_t e, unsigned d, const regs& r) noexcept {
    const unsigned m = r.oa_bits < 12 ? 12 : r.oa_bits;
    if (m < 52 && (e & addr_bits & ~((word_t{1} << m) - 1))) return true;
    const bool page = is_page(e, d);
    if (d == 3 && page && (!r.page_1g || (e & 0x3FFF'F000))) return true;  // 1G: bits 29:12
    if (d == 2 && page && (!r.page_2m || (e & 0x001F'F000))) return true;  // 2M: bits 20:12
    if constexpr (Ept) {
      if ((e & F::W) && !(e & F::R)) return true;
      if (!r.exec_only && !(e & F::R) && ((e & F::X) || (r.exec && (e & F::XU)))) return true;
      if (!page) return (e & 0xF8) != 0;  // bits 7:3 of a non-leaf entry
      return !F::mt_valid(static_cast<unsigned>((e & F::EMT) >> F::EMT_SHIFT));
    } else {
      if (e & (word_t{1} << 62)) return true;
      if (d >= 4 && (e & F::PS)) return true;  // bit 7 of SS-PML5E / SS-PML4E
      if ((e & F::SNP) && (!page || !r.snoop)) return true;
      return false;
    }
  }

  static constexpr tree_top top_table(const regs& r, oa_t root) noexcept {
    tree_top t;
    if (r.levels < (Ept ? 4u : 3u) || r.levels > 5) {
      t.fault = fault_kind::address_size;
      return t;
    }
    t.ok = true;
    t.level = r.levels - 1;
    t.table = root & addr_bits;
    t.items_lg2 = 9;
    return t;
  }

  static constexpr item_decode decode_item(const regs& r, word_t e, unsigned level) noexcept {
    item_decode out;
    const unsigned d = level + 1;
    if (!(e & present_bits(r))) return out;
    if (bad(e, d, r)) {
      out.kind = item_kind::bad;
      out.fault = fault_kind::reserved_bit;
      return out;
    }
    if (is_page(e, d)) {
      out.kind = item_kind::leaf;
      out.size_lg2 = 12 + 9 * level;
      out.oa = e & addr_bits & ~((word_t{1} << out.size_lg2) - 1);
      return out;
    }
    if (level == 0) return out;  // unreachable: depth 1 is always a page
    out.kind = item_kind::table;
    out.next_level = level - 1;
    out.next_items_lg2 = 9;
    out.oa = e & addr_bits;
    return out;
  }

  template <bool SetAd, walk_memory M>
  static bool walk_once(const regs& r, oa_t root, va_t va, access a, M& mem, walk_result& res,
                        ept_exit* q) {
    if (q) {
      *q = ept_exit{};
      q->fetch = a.exec;
      q->write = a.write && !a.exec;
      q->read = !a.write && !a.exec;
    }
    const tree_top top = top_table(r, root);
    if (!top.ok) {
      res = make_fault(top.fault, 0, 0, 0, 0);
      return true;
    }
    const unsigned depth = r.levels;
    const unsigned span = 12 + 9 * depth;
    const unsigned width = r.va_bits < span ? r.va_bits : span;
    if (width < 64 && (va >> width) != 0) {
      res = make_fault(fault_kind::address_size, 0, 0, 0, 0);
      return true;
    }
    oa_t used_oa[5] = {};
    word_t used[5] = {};
    bool rd = true, wr = true, ex = true, ux = true;
    oa_t table = top.table;
    for (unsigned d = depth;; --d) {
      const unsigned level = d - 1;
      const unsigned shift = 12 + 9 * level;
      const oa_t item_oa = table + (((va >> shift) & 0x1FF) << 3);
      word_t e = 0;
      if (!mem.read64(item_oa, e)) {
        res = make_fault(fault_kind::bus_error, level, static_cast<int>(d), item_oa, 0);
        return true;
      }
      rd = rd && (e & F::R);
      wr = wr && (e & F::W);
      ex = ex && (e & F::X);
      ux = ux && (e & F::XU);
      if (q) {
        q->readable = rd;
        q->writable = wr;
        q->executable = ex;
        q->user_executable = Ept && r.exec && ux;
      }
      if (!(e & present_bits(r))) {
        if (q) q->violation = true;
        res = make_fault(fault_kind::translation, level, static_cast<int>(d), item_oa, e);
        return true;
      }
      if (bad(e, d, r)) {
        if (q) {
          q->misconfig = Ept;
          q->read = q->write = q->fetch = false;
          q->readable = q->writable = q->executable = q->user_executable = false;
        }
        res = make_fault(fault_kind::reserved_bit, level, static_cast<int>(d), item_oa, e);
        return true;
      }
      used_oa[level] = item_oa;
      used[level] = e;
      if (!is_page(e, d)) {
        table = e & addr_bits;
        continue;
      }
      bool allowed;
      bool x_eff;
      if constexpr (Ept) {
        x_eff = ex;  // X: supervisor-mode execute with MBEC, any execute without
        const bool user_x = r.exec ? ux : ex;
        if (a.exec)
          allowed = a.user ? user_x : x_eff;
        else
          allowed = a.write ? wr : rd;
      } else {
        x_eff = r.exec && ex;
        if (a.exec)
          allowed = rd && x_eff;  // no execute request without ERS / SLEE
        else
          allowed = a.write ? wr : rd;
      }
      if (!allowed) {
        if (q) q->violation = true;
        res = make_fault(fault_kind::permission, level, static_cast<int>(d), item_oa, e);
        return true;
      }
      if constexpr (SetAd) {
        if (r.ad) {
          for (unsigned l = depth; l-- > level;) {
            const word_t bits = F::A | (l == level && a.write && !a.exec ? F::D : 0);
            switch (set_hw_bits(mem, used_oa[l], used[l], bits, F::A | F::D)) {
              case hw_bits_update::done:
                break;
              case hw_bits_update::changed:
                res = make_fault(fault_kind::bus_error, l, static_cast<int>(l + 1), used_oa[l], used[l]);
                return false;
              case hw_bits_update::bus_error:
                res = make_fault(fault_kind::bus_error, l, static_cast<int>(l + 1), used_oa[l], 0);
                return true;
            }
          }
          e = used[level];
        }
      }
      const word_t size_m1 = (word_t{1} << shift) - 1;
      res.ok = true;
      res.t.oa = ((e & addr_bits) & ~size_m1) | (va & size_m1);
      res.t.size_lg2 = shift;
      res.t.level = level;
      res.t.leaf = e;
      if constexpr (Ept)
        res.t.perms = walk_perms{rd, wr, x_eff, true, r.exec ? ux : ex};
      else
        res.t.perms = walk_perms{rd, wr, x_eff && rd, true, x_eff && rd};
      return true;
    }
  }
};

}  // namespace detail

/// The VT-d remapping hardware's second-stage walk (see the file comment).
/// Errors: faults as walk_result: address_size (input above
/// min(MGAW, AGAW)), translation (not present), reserved_bit (fault reason
/// Ch), permission (read / write / execute), bus_error. Concurrency:
/// reads and writes table memory only through the memory object, each
/// descriptor once per walk (A/D by compare-exchange).
template <>
struct hw_walker<vtd_ss> {
  using impl = detail::sl_walk<false>;
  /// Remapping-hardware state: AGAW levels, MGAW, HAW, SSADE, execute
  /// requests, snoop control, SLLPS. Defaults: 4-level, 48-bit, HAW 52,
  /// A/D off, no execute requests, no snoop control, 2M and 1G pages.
  using regs = impl::regs;
  /// The registers genpt's hw_info describes for a table of `p`.
  static constexpr regs regs_from(const vtd_ss::params& p, unsigned top_level) noexcept {
    return impl::regs_from(p, top_level);
  }
  /// Translates `va` for `a` (write, exec; user is ignored) from the
  /// table at `root` (bits 11:0 ignored). With set_ad, SSADE and a
  /// walk_memory_rw: A in every entry used, D in the leaf on writes, only
  /// when the translation succeeds. perms: R, W ANDed; exec = R and X
  /// ANDed with execute requests on; user = true (no privilege bit).
  template <walk_memory M>
  static walk_result walk(const regs& r, oa_t root, va_t va, access a, M& mem, bool set_ad = false) {
    return detail::run_walk<walk_memory_rw<M>>(set_ad, [&](auto ad, walk_result& res) {
      return impl::walk_once<decltype(ad)::value>(r, root, va, a, mem, res, nullptr);
    });
  }
  static constexpr tree_top top_table(const regs& r, oa_t root) noexcept { return impl::top_table(r, root); }
  static constexpr item_decode decode_item(const regs& r, std::uint64_t e, unsigned level) noexcept {
    return impl::decode_item(r, e, level);
  }
};

/// The processor's EPT walk (see the file comment). Errors: translation
/// and permission are EPT violations, reserved_bit every EPT
/// misconfiguration, address_size a guest-physical address above
/// gpa width, bus_error. Concurrency: as hw_walker<vtd_ss>.
template <>
struct hw_walker<ept> {
  using impl = detail::sl_walk<true>;
  /// Processor state: walk length, guest-physical width, MAXPHYADDR, EPTP
  /// A/D enable, MBEC, the execute-only / 2M / 1G capabilities. `exec` is
  /// the MBEC control; `snoop` is unused.
  using regs = impl::regs;
  static constexpr regs regs_from(const ept::params& p, unsigned top_level) noexcept {
    return impl::regs_from(p, top_level);
  }
  /// Translates `va` (a guest-physical address) for `a`: a data read,
  /// a data write, or an instruction fetch (exec; with MBEC `user` picks
  /// the user-mode execute bit). perms: read / write / exec (X) /
  /// user_exec (bit 10 with MBEC, else X) ANDed over every level; user = true.
  template <walk_memory M>
  static walk_result walk(const regs& r, oa_t root, va_t va, access a, M& mem, bool set_ad = false) {
    return detail::run_walk<walk_memory_rw<M>>(set_ad, [&](auto ad, walk_result& res) {
      return impl::walk_once<decltype(ad)::value>(r, root, va, a, mem, res, nullptr);
    });
  }
  /// walk, and the exit-qualification bits of the walk in `q` (the
  /// access, and on a violation the ANDed permissions of the entries
  /// walked; misconfig set with every other field clear on an EPT
  /// misconfiguration).
  template <walk_memory M>
  static walk_result walk(const regs& r, oa_t root, va_t va, access a, M& mem, ept_exit& q,
                          bool set_ad = false) {
    return detail::run_walk<walk_memory_rw<M>>(set_ad, [&](auto ad, walk_result& res) {
      return impl::walk_once<decltype(ad)::value>(r, root, va, a, mem, res, &q);
    });
  }
  static constexpr tree_top top_table(const regs& r, oa_t root) noexcept { return impl::top_table(r, root); }
  static constexpr item_decode decode_item(const regs& r, std::uint64_t e, unsigned level) noexcept {
    return impl::decode_item(r, e, level);
  }
};

}  // namespace genpt
