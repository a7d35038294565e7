// genpt/core/format_traits.hpp - the generic view of a format, with defaults.
//
// A format (see core/concepts.hpp for the full contract) declares only what
// its hardware needs. format_traits<F> is what the walker, the algorithms,
// the facade and genpt/fmt.hpp call: each optional hook forwards to F when
// F declares it (detected with `requires`), and otherwise supplies the
// default written here. A format overrides a default just by declaring the
// hook. This is the only place a default lives, and nothing outside
// format_traits asks whether a format declares a hook
// (docs/writing-a-format.md lists every hook and its default).
#pragma once

#include <concepts>
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

/// A one-mask item test, (e & mask) == value (format_traits::single_leaf_bits).
/// The default {0, 1} matches nothing.
template <class W>
struct leaf_bits {
  W mask = 0;
  W value = 1;
};

/// The form of the table items genpt writes at a level
/// (format_traits::table_item_form): an item with (e & mask) == value is a
/// table item whose table is at oa (e - value) << oa_shift. The default
/// {0, 1, 0} matches nothing.
template <class W>
struct table_form {
  W mask = 0;
  W value = 1;
  unsigned oa_shift = 0;
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

/// One range of va a table decodes: [va, va + len). len is at most 2^63, so
/// a whole 64-bit space takes two windows.
struct va_window {
  va_t va = 0;            ///< first va
  std::uint64_t len = 0;  ///< bytes, 1 to 2^63
};

/// Every va a table decodes, in increasing va order: at most two windows
/// (the two halves of a sign-extended table, or the two 2^63 halves of a
/// 64-bit one). Iterable: `for (const va_window& w : windows)`.
struct va_windows {
  va_window window[2] = {};
  unsigned count = 0;  ///< windows in use
  constexpr const va_window* begin() const noexcept { return window; }
  constexpr const va_window* end() const noexcept { return window + count; }
};

/// The va a table of `layout` decodes when its top spans `span_lg2` bits
/// (1 to 64), as calls of for_each_leaf / for_each_item / dump can take
/// them: low [0, 2^span - 1]; sign_extend [0, 2^(span-1) - 1] and
/// [2^64 - 2^(span-1), 2^64 - 1]; high [2^64 - 2^span, 2^64 - 1].
constexpr va_windows va_windows_of(va_layout layout, unsigned span_lg2) noexcept {
  va_windows w;
  const auto add = [&](va_t va, unsigned len_lg2) {
    w.window[w.count++] = {va, log2_to_int(len_lg2)};
  };
  if (span_lg2 > 63 && layout != va_layout::sign_extend) {
    add(0, 63);  // all 2^64 vas, whatever the layout
    add(log2_to_int(63), 63);
    return w;
  }
  switch (layout) {
    case va_layout::low:
      add(0, span_lg2);
      break;
    case va_layout::sign_extend:
      add(0, span_lg2 - 1);
      add(~log2_to_max_int(span_lg2 - 1), span_lg2 - 1);
      break;
    case va_layout::high:
      add(~log2_to_max_int(span_lg2), span_lg2);
      break;
  }
  return w;
}

/// How genpt/fmt.hpp shows one numeric attribute field (see
/// format_traits::for_each_attr_field).
enum class attr_number : std::uint8_t {
  dec,          ///< the name, then the value in decimal, always ("attr1")
  hex,          ///< the name, then the value in hex, always ("memattrf")
  dec_nonzero,  ///< the name, then the value in decimal, when not 0 ("xn2")
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
  /// A one-mask test for the single-item leaves of `level`
  /// (F::single_leaf_bits(level) -> {mask, value}): an item with
  /// (e & mask) == value is a leaf of exactly one item (never empty, a
  /// table, or part of a contiguous entry). It may reject some single-item
  /// leaves (the scan then classifies those items one by one), never accept
  /// anything else. unmap scans runs of 4 KiB leaves with it. The mask
  /// must hold no bit that a hardware walker writes (accessed, dirty):
  /// unmap checks a whole run with 16-byte loads, which are not single-copy
  /// atomic per item, and is exact only because the walker cannot change
  /// the masked bits meanwhile. Default {0, 1}: matches nothing.
  static constexpr leaf_bits<word_t> single_leaf_bits(unsigned level) noexcept {
    if constexpr (requires { F::single_leaf_bits(0u); })
      return F::single_leaf_bits(level);
    else
      return {};
  }
  /// OA of an item that passes single_leaf_bits(level): the start of the
  /// one item it maps (F::single_leaf_oa(e, level, p), for a format whose
  /// entry_oa decodes the entry size first; default entry_oa). iova_to_phys
  /// takes it for such items, so the size decode leaves its latency chain.
  static constexpr oa_t single_leaf_oa(word_t e, unsigned level, const params& p) noexcept {
    if constexpr (requires { F::single_leaf_oa(e, 0u, p); })
      return F::single_leaf_oa(e, level, p);
    else
      return F::entry_oa(e, level, p);
  }
  /// The exact form of the table items make_table writes at `level`
  /// (F::table_item_form(level, p) -> {mask, value, oa_shift}): an item
  /// with (e & mask) == value must classify as a table at `level`, with
  /// table_oa(e, p) == (e - value) << oa_shift. It may reject some table
  /// items (a bit a walker set, an oa the address field holds elsewhere;
  /// those take classify and table_oa), never accept anything else.
  /// iova_to_phys takes it for its table steps: the child's address is
  /// then one shift and add of the item, which the load's address mode
  /// absorbs, so no mask sits on the lookup's latency chain.
  /// Default {0, 1, 0}: matches nothing.
  static constexpr table_form<word_t> table_item_form(unsigned level, const params& p) noexcept {
    if constexpr (requires { F::table_item_form(0u, p); })
      return F::table_item_form(level, p);
    else
      return {};
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
  /// The va windows of a table whose top is at `top_level` (every va it
  /// decodes; a dynamic top decodes more as it grows).
  static constexpr va_windows windows(const params& p, unsigned top_level) noexcept {
    return va_windows_of(p.layout, top_span_lg2(p, top_level));
  }
  /// True when the hardware's root field can hold a top table at `oa`
  /// (F::root_fits(oa, p), e.g. ARMv8 TTBR BADDR alignment). Default: a
  /// table item one level above the top holds it exactly. The caller has
  /// checked that the whole top lies below 2^oa_lg2.
  static constexpr bool root_fits(oa_t oa, unsigned top_level, const params& p) noexcept {
    if constexpr (requires { F::root_fits(oa, p); })
      return F::root_fits(oa, p);
    else
      return F::table_oa(F::make_table(oa, top_level + 1, p), p) == oa;
  }
  /// True when map(attrs) / protect(attrs) may write `a`
  /// (F::attrs_valid(a, p)); invalid_argument otherwise. Default: always.
  static constexpr bool attrs_valid(const attrs& a, const params& p) noexcept {
    if constexpr (requires { F::attrs_valid(a, p); })
      return F::attrs_valid(a, p);
    else
      return true;
  }
  /// The software "cache flush done" bit of table items (F::sw_bit_mask(p)),
  /// which cache-cleaning (incoherent) allocators need. Default 0: none, and
  /// create() with such an allocator answers not_supported.
  static constexpr word_t sw_bit_mask(const params& p) noexcept {
    if constexpr (requires { F::sw_bit_mask(p); })
      return F::sw_bit_mask(p);
    else
      return 0;
  }

  /// True when F declares the three dirty hooks is_write_dirty,
  /// make_write_clean and make_write_dirty (word_t, const params&).
  static constexpr bool has_dirty_hooks = requires(word_t e, const params& p) {
    { F::is_write_dirty(e, p) } -> std::same_as<bool>;
    { F::make_write_clean(e, p) } -> std::same_as<word_t>;
    { F::make_write_dirty(e, p) } -> std::same_as<word_t>;
  };
  /// True when this table tracks dirty state: F has the dirty hooks and
  /// F::dirty_supported(p) (ARMv8: DBM) where declared. Default: false
  /// without the hooks, true with them.
  static constexpr bool dirty_supported(const params& p) noexcept {
    if constexpr (!has_dirty_hooks)
      return false;
    else if constexpr (requires { F::dirty_supported(p); })
      return F::dirty_supported(p);
    else
      return true;
  }
  /// True when the hardware wrote through this leaf item. Default: false.
  static constexpr bool is_write_dirty(word_t e, const params& p) noexcept {
    if constexpr (has_dirty_hooks)
      return F::is_write_dirty(e, p);
    else
      return false;
  }
  /// The leaf item with its dirty state cleared. Default: unchanged.
  static constexpr word_t make_write_clean(word_t e, const params& p) noexcept {
    if constexpr (has_dirty_hooks)
      return F::make_write_clean(e, p);
    else
      return e;
  }
  /// The leaf item as the hardware dirties it. Default: unchanged.
  static constexpr word_t make_write_dirty(word_t e, const params& p) noexcept {
    if constexpr (has_dirty_hooks)
      return F::make_write_dirty(e, p);
    else
      return e;
  }

  /// FEAT_BBM level the table relies on for a live size change
  /// (F::bbm_level(p), core/bbm.hpp): 0 break-before-make, 1 via nT, 2 one
  /// step. Default 2: every live descriptor changes in one step.
  static constexpr unsigned bbm_level(const params& p) noexcept {
    if constexpr (requires { F::bbm_level(p); })
      return F::bbm_level(p);
    else
      return 2;
  }
  /// True when rewriting the valid leaf `old` as `neu` (same size and oa)
  /// must break first whatever the bbm level (F::change_needs_bbm; ARMv8
  /// memory type, shareability). Default: false.
  static constexpr bool change_needs_bbm(word_t old, word_t neu, const params& p) noexcept {
    if constexpr (requires { F::change_needs_bbm(old, neu, p); })
      return F::change_needs_bbm(old, neu, p);
    else
      return false;
  }
  /// The nT bit of block descriptors, for bbm level 1 (F::nt_bit(p)).
  /// Default 0: none (a level-1 size change then breaks first).
  static constexpr word_t nt_bit(const params& p) noexcept {
    if constexpr (requires { F::nt_bit(p); })
      return F::nt_bit(p);
    else
      return 0;
  }

  /// Hands each attribute field of `a` to `v`, in print order, as
  /// attrs::for_each_field(v) does where F's attrs declares it: a bool
  /// field as v.flag(name, set) (printed as its name when set), a number
  /// as v.number(name, value, attr_number) (genpt/fmt.hpp). Default: no
  /// fields, so attrs print as "none".
  template <class V>
  static constexpr void for_each_attr_field(const attrs& a, V&& v) {
    if constexpr (requires { a.for_each_field(v); }) a.for_each_field(v);
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
