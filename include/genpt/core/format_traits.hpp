// genpt/core/format_traits.hpp - the generic view of a format, with defaults.
//
// A format (see core/concepts.hpp for the full contract) declares only what
// its hardware needs. format_traits<F> is what the walker and algorithms
// call: each optional hook forwards to F when F declares it (detected with
// `requires`), and otherwise supplies the default written here. A format
// overrides a default just by declaring the hook.
#pragma once

#include <cstdint>

#include "genpt/core/log2.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

/// Which VA bits above va_lg2 a valid address has.
enum class va_layout : std::uint8_t {
  low,          ///< all zero: [0, 2^va_lg2 - 1]
  sign_extend,  ///< copies of bit va_lg2-1: a lower and an upper half (x86-64)
  high,         ///< all ones: [2^64 - 2^va_lg2, 2^64 - 1] (ARMv8 TTBR1)
};

/// Validated runtime geometry every format's `params` derives from.
/// Produced by Format::init(config); constant for the table's life, except
/// that a dynamic top (AMDv1) raises the current top level, which genpt
/// keeps next to the top pointer, not here.
struct table_params {
  unsigned top_level = 0;  ///< top level at creation (inclusive)
  unsigned va_lg2 = 0;     ///< VA bits decoded (sign bit included); with a dynamic top, the most it may grow to
  unsigned oa_lg2 = 0;     ///< OA bits an entry may use
  va_layout layout = va_layout::low;
  bool dynamic_top = false;  ///< the top may be raised by map (AMDv1)
};

template <class F>
struct format_traits {
  using word_t = typename F::word_t;
  using params = typename F::params;
  using attrs = typename F::attrs;

  static constexpr unsigned word_lg2 = sizeof(word_t) == 8 ? 3 : 2;

  /// Bytes of a non-top table at `level`, log2 (default: F::table_lg2).
  static constexpr unsigned table_lg2(unsigned level) noexcept {
    if constexpr (requires { F::table_lg2_at(0u); })
      return F::table_lg2_at(level);
    else
      return F::table_lg2;
  }
  /// Items in a non-top table at `level`, log2.
  static constexpr unsigned num_items_lg2(unsigned level) noexcept {
    return table_lg2(level) - word_lg2;
  }
  /// VA bytes one item at `level` translates, log2.
  /// Default: granule + bits-per-level * level.
  static constexpr unsigned item_lg2(unsigned level) noexcept {
    if constexpr (requires { F::item_lg2(0u); })
      return F::item_lg2(level);
    else
      return F::granule_lg2 + (F::table_lg2 - word_lg2) * level;
  }
  /// VA bits a table at `level` spans, given the table's top level and the
  /// VA bits the top decodes (the top may be smaller than a full table).
  static constexpr unsigned table_span_lg2(unsigned level, unsigned top_level,
                                           unsigned top_span_lg2) noexcept {
    return level == top_level ? top_span_lg2 : item_lg2(level) + num_items_lg2(level);
  }
  /// VA bits the top decodes at `top_level` (a dynamic top grows into its maximum).
  static constexpr unsigned top_span_lg2(const params& p, unsigned top_level) noexcept {
    if (!p.dynamic_top) return p.va_lg2;
    const unsigned full = item_lg2(top_level) + num_items_lg2(top_level);
    return full < p.va_lg2 ? full : p.va_lg2;
  }
  /// Bytes of the top table, log2: enough items for the span, at least the
  /// hardware's root alignment (F::top_align_lg2).
  static constexpr unsigned top_table_lg2(const params& p, unsigned top_level) noexcept {
    if constexpr (requires { F::top_table_lg2(p, 0u); }) {
      return F::top_table_lg2(p, top_level);
    } else {
      const unsigned need = top_span_lg2(p, top_level) - item_lg2(top_level) + word_lg2;
      return need < F::top_align_lg2 ? F::top_align_lg2 : need;
    }
  }
  /// Index of `va` in a table at `level` that spans `span_lg2` VA bits.
  /// Branch-free: span_lg2 - item_lg2(level) is at most 16 (a table has at
  /// most 2^16 items), so no shift here reaches 64.
  static constexpr unsigned index_of(va_t va, unsigned level, unsigned span_lg2) noexcept {
    const unsigned ilg2 = item_lg2(level);
    return static_cast<unsigned>((va >> ilg2) & ((std::uint64_t{1} << (span_lg2 - ilg2)) - 1));
  }

  /// Bytes of the entry holding this item, log2 (default: one item).
  static constexpr unsigned entry_size_lg2(word_t e, unsigned level) noexcept {
    if constexpr (requires { F::entry_size_lg2(e, 0u); })
      return F::entry_size_lg2(e, level);
    else
      return item_lg2(level);
  }
  /// Added to the first item's descriptor for each further item of a
  /// contiguous leaf (ARMv8: one item of OA; AMDv1: 0, replicated).
  static constexpr word_t leaf_item_step(unsigned size_lg2, unsigned level,
                                         const params& p) noexcept {
    if constexpr (requires { F::leaf_item_step(0u, 0u, p); })
      return F::leaf_item_step(size_lg2, level, p);
    else
      return 0;
  }
  /// True when some config of the format lets map raise the top
  /// (F::may_grow_top; default false). page_table compiles its growth path,
  /// and so the flush policy's change_top, only for such formats.
  static constexpr bool may_grow_top = [] {
    if constexpr (requires { F::may_grow_top; })
      return static_cast<bool>(F::may_grow_top);
    else
      return false;
  }();
  /// The highest level the top can reach: the creation top, or for a
  /// dynamic top the highest level whose items are smaller than va_lg2.
  static constexpr unsigned max_reachable_level(const params& p) noexcept {
    if (!p.dynamic_top) return p.top_level;
    unsigned l = p.top_level;
    while (l < F::max_top_level && item_lg2(l + 1) < p.va_lg2) ++l;
    return l;
  }
  /// The descriptor bits that hold `oa` in a leaf (default: oa in place).
  /// make_leaf(oa, ...) must equal attribute bits | encode_oa(oa).
  static constexpr word_t encode_oa(oa_t oa, const params& p) noexcept {
    if constexpr (requires { F::encode_oa(oa, p); })
      return F::encode_oa(oa, p);
    else
      return oa;
  }
  /// True when F's attrs_from_prot(p) honours every flag of `p` in the
  /// descriptor (or the hardware honours it with no bit, as documented by
  /// F); page_table::map(prot) / protect(prot) refuse the rest with
  /// errc::not_supported. Default, for a format that does not declare
  /// `prot_supported(prot, const params&)`: read, write and nothing else.
  static constexpr bool prot_supported(prot p, const params& prm) noexcept {
    if constexpr (requires { F::prot_supported(p, prm); })
      return F::prot_supported(p, prm);
    else
      return (p & ~(prot::read | prot::write)) == prot::none;
  }
  /// Every leaf size the table can make (or grow to make), as a bitmap
  /// (bit n: 2^n bytes), limited to sizes below 2^oa_lg2.
  static constexpr std::uint64_t pgsize_bitmap(const params& p) noexcept {
    std::uint64_t m = 0;
    for (unsigned l = 0, top = max_reachable_level(p); l <= top; ++l) m |= F::leaf_sizes(l, p);
    return m & log2_to_max_int(p.oa_lg2);
  }
};

}  // namespace genpt
