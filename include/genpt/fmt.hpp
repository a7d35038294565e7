// genpt/fmt.hpp - opt-in {fmt} formatters and a readable table dump.
//
// The only genpt header that needs {fmt} (9.x or later); link fmt::fmt.
//
//   fmt::format("{}", genpt::errc::no_memory)              "no_memory"
//   fmt::format("{}", genpt::prot::read | genpt::prot::mmio)  "read|mmio"
//   fmt::format("{}", genpt::entry_kind::leaf)             "leaf"
//   fmt::format("{}", genpt::pgsizes{info.pgsize_bitmap})  "4K|2M|1G"
//   fmt::format("{}", attrs)                               "write|user|accessed"
//   genpt::dump(pt)                                        the whole tree
//   genpt::dump(pt, va, len)                               items over [va, va + len)
//
// Dump format (one line per item, depth first, deterministic), for example
// (lines wrapped here at "oa"; "x2" is "\u00d72", a multiplication sign):
//
//   [  0] PML4E 0x0000000000000000..0x0000007fffffffff 0x0000000000000027 table
//     [  0..1] x2 PDPTE 0x0000000000000000..0x000000007fffffff 0x00000001000000e7 1G
//         oa 0x0000000100000000..0x000000017fffffff write|user|accessed|dirty
//     [  2] PDPTE 0x0000000080000000..0x00000000bfffffff 0x00000001800000a5 1G
//         oa 0x0000000180000000 user|accessed
//
// Each line is indented two spaces per level below the top. Fields: the
// item's index in its table, the spec name of its level
// (Format::level_name), the va range it translates (first..last, both
// inclusive), its raw descriptor, then "table" or, for a leaf, the entry
// size, the oa and the attributes.
//
// Attributes: any format's attrs print as the fields its
// attrs::for_each_field hands over (format_traits::for_each_attr_field), in
// that order, joined by "|": a flag's name when it is set, a number as its
// name and value (attr_number); "none" when nothing is printed. Nothing
// here knows a format: a new format dumps with no edit to this file.
//
// Folding: consecutive leaf items at one level whose oa advances by exactly
// the item size and whose attributes are equal print as one line
// "[i..j] ×N" with the va and oa ranges of the whole run; its descriptor is
// the first item's.
//
// Table items: by default the next-table address field of a table
// descriptor is printed as zero, and the table's oa is not shown, so that a
// dump does not depend on where the allocator placed the tables (heap
// addresses differ run to run; golden tests compare dumps). Set
// dump_options::table_oa to print the raw descriptor and "-> <oa>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/log2.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

/// A page-size bitmap (bit n: 2^n bytes) to format as "4K|2M|1G".
struct pgsizes {
  std::uint64_t bitmap = 0;  ///< bit n set: pages of 2^n bytes
};

/// Short name of a size of 2^size_lg2 bytes: "512", "4K", "2M", "1G", "256T".
inline std::string size_name(unsigned size_lg2) {
  constexpr const char units[] = {'\0', 'K', 'M', 'G', 'T', 'P', 'E'};
  if (size_lg2 > 63) return "16E";
  const unsigned unit = size_lg2 / 10;
  const std::uint64_t n = log2_to_int(size_lg2 % 10);
  if (unit == 0) return fmt::format("{}", n);
  return fmt::format("{}{}", n, units[unit]);
}

namespace detail {

/// Appends "a|b|c" for every name whose flag is set, or "none".
struct flag_joiner {
  std::string out;
  void add(bool set, std::string_view name) {
    if (!set) return;
    if (!out.empty()) out += '|';
    out.append(name);
  }
  std::string take() { return out.empty() ? std::string("none") : std::move(out); }
};

/// The visitor of format_traits::for_each_attr_field: joins the fields to
/// print as "a|b|c" ("none" when none is).
struct attr_joiner : flag_joiner {
  /// A bool field: its name when set.
  void flag(const char* name, bool set) { add(set, name); }
  /// A numeric field: its name then its value, as `how` says.
  void number(const char* name, std::uint64_t value, attr_number how) {
    switch (how) {
      case attr_number::dec: add(true, fmt::format("{}{}", name, value)); break;
      case attr_number::hex: add(true, fmt::format("{}{:x}", name, value)); break;
      case attr_number::dec_nonzero: add(value != 0, fmt::format("{}{}", name, value)); break;
    }
  }
};

/// A format's leaf attributes as text: "write|user", "attr1|el0|af"; "none".
template <class Format>
std::string attrs_text(const typename Format::attrs& a) {
  attr_joiner j;
  format_traits<Format>::for_each_attr_field(a, j);
  return j.take();
}

/// True for attrs that list their fields (attrs::for_each_field).
template <class A>
concept listed_attrs = requires(const A& a, attr_joiner& j) { a.for_each_field(j); };

}  // namespace detail

}  // namespace genpt

/// "invalid_argument", "no_memory", ... (genpt::to_string); "errc(N)" otherwise.
template <>
struct fmt::formatter<genpt::errc> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(genpt::errc e, FormatContext& ctx) const -> decltype(ctx.out()) {
    const int v = static_cast<int>(e);
    if (v < static_cast<int>(genpt::errc::invalid_argument) ||
        v > static_cast<int>(genpt::errc::busy))
      return fmt::formatter<std::string_view>::format(fmt::format("errc({})", v), ctx);
    return fmt::formatter<std::string_view>::format(genpt::to_string(e), ctx);
  }
};

/// "read|write|cache|noexec|mmio|priv" for the flags set, "none" for none;
/// unknown bits as a trailing hex value.
template <>
struct fmt::formatter<genpt::prot> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(genpt::prot p, FormatContext& ctx) const -> decltype(ctx.out()) {
    using genpt::prot;
    genpt::detail::flag_joiner j;
    j.add(genpt::has(p, prot::read), "read");
    j.add(genpt::has(p, prot::write), "write");
    j.add(genpt::has(p, prot::cache), "cache");
    j.add(genpt::has(p, prot::noexec), "noexec");
    j.add(genpt::has(p, prot::mmio), "mmio");
    j.add(genpt::has(p, prot::priv), "priv");
    const unsigned rest = static_cast<unsigned>(p) & ~63u;
    const std::string known = j.take();
    const std::string s = !rest ? known
                          : known == "none" ? fmt::format("{:#x}", rest)
                                            : fmt::format("{}|{:#x}", known, rest);
    return fmt::formatter<std::string_view>::format(s, ctx);
  }
};

/// "empty", "table" or "leaf".
template <>
struct fmt::formatter<genpt::entry_kind> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(genpt::entry_kind k, FormatContext& ctx) const -> decltype(ctx.out()) {
    std::string_view s = "?";
    switch (k) {
      case genpt::entry_kind::empty: s = "empty"; break;
      case genpt::entry_kind::table: s = "table"; break;
      case genpt::entry_kind::leaf: s = "leaf"; break;
    }
    return fmt::formatter<std::string_view>::format(s, ctx);
  }
};

/// Page sizes of a bitmap, smallest first: "4K|2M|1G"; "none" when empty.
template <>
struct fmt::formatter<genpt::pgsizes> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(genpt::pgsizes s, FormatContext& ctx) const -> decltype(ctx.out()) {
    std::string out;
    for (unsigned b = 0; b < 64; ++b) {
      if (!(s.bitmap & (std::uint64_t{1} << b))) continue;
      if (!out.empty()) out += '|';
      out += genpt::size_name(b);
    }
    if (out.empty()) out = "none";
    return fmt::formatter<std::string_view>::format(out, ctx);
  }
};

/// Any format's leaf attributes, as the fields its attrs::for_each_field
/// lists: "write|user|accessed", "attr1|el0|ro|ish|af|ng|dbm",
/// "memattrf|read|write|ish|af|dbm"; "none" when nothing is set.
template <class A>
  requires genpt::detail::listed_attrs<A>
struct fmt::formatter<A> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const A& a, FormatContext& ctx) const -> decltype(ctx.out()) {
    genpt::detail::attr_joiner j;
    a.for_each_field(j);
    return fmt::formatter<std::string_view>::format(j.take(), ctx);
  }
};

namespace genpt {

/// How dump() prints a table.
struct dump_options {
  /// Print table descriptors raw, followed by "-> <oa of the next table>".
  /// Off by default: with heap tables these vary from run to run.
  bool table_oa = false;
  /// Fold runs of two or more leaf items with contiguous oa and equal attrs.
  bool fold = true;
};

namespace detail {

/// Accumulates dump lines and folds runs of leaf items.
template <class PageTable>
class dumper {
  using format = typename PageTable::format_type;
  using traits = format_traits<format>;
  using word_t = typename format::word_t;
  using attrs = typename format::attrs;

 public:
  dumper(const PageTable& pt, const dump_options& o) : pt_(pt), opt_(o) {
    top_level_ = pt.info().top_level;
    for (unsigned l = 0; l <= top_level_; ++l) {
      const std::size_t n = std::strlen(format::level_name(l, pt.params()));
      if (n > name_width_) name_width_ = n;
    }
  }

  void item(const item_view& it) {
    if (it.kind == entry_kind::leaf) {
      const leaf_item li = decode(it);
      if (run_n_ && extends_run(li)) {
        run_last_ = li;
        ++run_n_;
        return;
      }
      flush_run();
      run_first_ = run_last_ = li;
      run_n_ = 1;
      if (!opt_.fold) flush_run();
      return;
    }
    flush_run();
    if (it.kind != entry_kind::table) return;
    line_head(it.level, fmt::format("[{:3}]", it.index), it.va,
              it.va + log2_to_max_int(traits::item_lg2(it.level)));
    if (opt_.table_oa) {
      fmt::format_to(std::back_inserter(out_), " {:#018x} table -> {:#x}\n", it.word,
                     format::table_oa(it.word, pt_.params()));
    } else {
      fmt::format_to(std::back_inserter(out_), " {:#018x} table\n", it.word & ~table_addr_mask(it.level));
    }
  }

  std::string finish() {
    flush_run();
    return std::move(out_);
  }

 private:
  struct leaf_item {
    item_view it;
    oa_t oa;             ///< oa of the item's first byte
    unsigned entry_lg2;  ///< size of the entry holding it
    attrs a;
  };

  leaf_item decode(const item_view& it) const {
    const auto& p = pt_.params();
    const unsigned sz = traits::entry_size_lg2(it.word, it.level);
    // The item's own oa: a contiguous entry's items share the entry's oa.
    const oa_t oa = format::entry_oa(it.word, it.level, p) | log2_mod(it.va, sz);
    return {it, oa, sz, format::attrs_of(it.word, it.level, p)};
  }

  bool extends_run(const leaf_item& li) const {
    const unsigned ilg2 = traits::item_lg2(li.it.level);
    const item_view& prev = run_last_.it;
    return li.it.level == prev.level && li.it.index == prev.index + 1 &&
           li.it.va == prev.va + log2_to_int(ilg2) && li.oa == run_last_.oa + log2_to_int(ilg2) &&
           li.entry_lg2 == run_last_.entry_lg2 && li.a == run_last_.a;
  }

  /// Bits of a table descriptor that hold the next table's address.
  word_t table_addr_mask(unsigned level) const {
    const auto& p = pt_.params();
    const oa_t max_oa = log2_to_max_int(p.oa_lg2) & ~log2_to_max_int(format::granule_lg2);
    return format::make_table(max_oa, level, p) ^ format::make_table(0, level, p);
  }

  void line_head(unsigned level, const std::string& index, va_t va, va_t last) {
    out_.append(2 * (top_level_ - level), ' ');
    fmt::format_to(std::back_inserter(out_), "{} {:<{}} {:#018x}..{:#018x}", index,
                   format::level_name(level, pt_.params()), name_width_, va, last);
  }

  void flush_run() {
    if (!run_n_) return;
    const leaf_item& f = run_first_;
    const unsigned ilg2 = traits::item_lg2(f.it.level);
    const std::uint64_t item_max = log2_to_max_int(ilg2);
    const std::string index = run_n_ == 1
        ? fmt::format("[{:3}]", f.it.index)
        : fmt::format("[{:3}..{}] \u00d7{}", f.it.index, run_last_.it.index, run_n_);
    line_head(f.it.level, index, f.it.va, run_last_.it.va + item_max);
    fmt::format_to(std::back_inserter(out_), " {:#018x} {} oa {:#018x}", f.it.word,
                   size_name(f.entry_lg2), f.oa);
    if (run_n_ > 1) fmt::format_to(std::back_inserter(out_), "..{:#018x}", run_last_.oa + item_max);
    fmt::format_to(std::back_inserter(out_), " {}\n", attrs_text<format>(f.a));
    run_n_ = 0;
  }

  const PageTable& pt_;
  dump_options opt_;
  unsigned top_level_ = 0;
  std::size_t name_width_ = 0;
  leaf_item run_first_{};
  leaf_item run_last_{};
  unsigned run_n_ = 0;
  std::string out_;
};

}  // namespace detail

/// A readable dump of every non-empty item of `pt` overlapping
/// [va, va + len): see the top of genpt/fmt.hpp for the format.
/// Empty string when nothing is mapped there or the range is bad.
template <class PageTable>
std::string dump(const PageTable& pt, va_t va, std::uint64_t len, const dump_options& opt = {}) {
  detail::dumper<PageTable> d(pt, opt);
  pt.for_each_item(va, len, [&](const item_view& it) { d.item(it); });
  return d.finish();
}

/// A readable dump of the whole table: every window of pt.windows() (for a
/// sign-extended layout, the lower half then the upper half).
/// Reads the table through page_table, which trusts its own memory: for a
/// table someone else built use genpt/walk/tree.hpp or genpt-decode.
template <class PageTable>
std::string dump(const PageTable& pt, const dump_options& opt = {}) {
  std::string out;
  for (const va_window& w : pt.windows()) out += dump(pt, w.va, w.len, opt);
  return out;
}

}  // namespace genpt

