// tests/compile_fail/missing_hook.cpp - a complete toy format, less the one
// required member named by -DGENPT_OMIT_<member>: check_format<F>() must
// then fail with the static_assert message core/concepts.hpp promises for
// that member (tests/compile_fail/CMakeLists.txt). Compiled as is, it must
// pass, so each failure is the omission's.
#include <cstdint>

#include "genpt/core/concepts.hpp"

namespace toy {

using genpt::entry_kind;
using genpt::oa_t;
using W = std::uint64_t;

struct C {};
struct P : genpt::table_params {};
struct A {
  bool write = false;
#ifndef GENPT_OMIT_attrs_eq
  constexpr bool operator==(const A&) const = default;
#endif
};
struct H {
  oa_t root = 0;
};

/// One level of 4K pages; every hook the contract requires.
struct format {
#ifndef GENPT_OMIT_word_t
  using word_t = W;
#endif
#ifndef GENPT_OMIT_config
  using config = C;
#endif
#ifndef GENPT_OMIT_params
  using params = P;
#endif
#ifndef GENPT_OMIT_attrs
  using attrs = A;
#endif
#ifndef GENPT_OMIT_hw_info
  using hw_info = H;
#endif
#ifndef GENPT_OMIT_granule_lg2
  static constexpr unsigned granule_lg2 = 12;
#endif
#ifndef GENPT_OMIT_table_lg2
  static constexpr unsigned table_lg2 = 12;
#endif
#ifndef GENPT_OMIT_top_align_lg2
  static constexpr unsigned top_align_lg2 = 12;
#endif
#ifndef GENPT_OMIT_max_top_level
  static constexpr unsigned max_top_level = 0;
#endif
#ifndef GENPT_OMIT_max_va_lg2
  static constexpr unsigned max_va_lg2 = 21;
#endif
#ifndef GENPT_OMIT_max_oa_lg2
  static constexpr unsigned max_oa_lg2 = 52;
#endif
#ifndef GENPT_OMIT_init
  static genpt::result<P> init(const C&) { return P{}; }
#endif
#ifndef GENPT_OMIT_classify
  static constexpr entry_kind classify(W e, unsigned) noexcept {
    return e ? entry_kind::leaf : entry_kind::empty;
  }
#endif
#ifndef GENPT_OMIT_table_oa
  static constexpr oa_t table_oa(W e, const P&) noexcept { return e & ~W{0xfff}; }
#endif
#ifndef GENPT_OMIT_make_table
  static constexpr W make_table(oa_t oa, unsigned, const P&) noexcept { return oa | 1; }
#endif
#ifndef GENPT_OMIT_entry_oa
  static constexpr oa_t entry_oa(W e, unsigned, const P&) noexcept { return e & ~W{0xfff}; }
#endif
#ifndef GENPT_OMIT_leaf_sizes
  static constexpr std::uint64_t leaf_sizes(unsigned, const P&) noexcept { return W{1} << 12; }
#endif
#ifndef GENPT_OMIT_make_leaf
  static constexpr W make_leaf(oa_t oa, unsigned, unsigned, const A& a, const P&) noexcept {
    return oa | 1 | (a.write ? 2 : 0);
  }
#endif
#ifndef GENPT_OMIT_attrs_of
  static constexpr A attrs_of(W e, unsigned, const P&) noexcept { return {(e & 2) != 0}; }
#endif
#ifndef GENPT_OMIT_attrs_from_prot
  static constexpr A attrs_from_prot(genpt::prot p, const P&) noexcept {
    return {genpt::has(p, genpt::prot::write)};
  }
#endif
#ifndef GENPT_OMIT_make_hw_info
  static constexpr H make_hw_info(oa_t root, unsigned, const P&) noexcept { return {root}; }
#endif
#ifndef GENPT_OMIT_level_name
  static constexpr const char* level_name(unsigned, const P&) noexcept { return "PTE"; }
#endif
};

}  // namespace toy

static_assert(genpt::check_format<toy::format>());
