// tests/support/format_configs.hpp - format configurations for typed suites.
//
// A typed suite (support/conformance_suite.hpp, support/random_model_suite.hpp)
// is parameterised by a *config type*:
//
//   struct my_config {
//     using format = genpt::some_format;
//     static typename format::config config();        // what create() gets
//     static constexpr const char* name = "my_config"; // test-name suffix
//     static std::vector<genpt::test::va_window> windows();  // usable VA
//   };
//
// windows() lists every VA window the table decodes (both halves of a
// sign-extended table); the suites place their requests inside these and
// use the gaps between them as out-of-range addresses.
//
// Other formats add their config types in their own test file and
// instantiate the suites with them, e.g.
//   INSTANTIATE_TYPED_TEST_SUITE_P(amdv1, conformance, amdv1_configs,
//                                  genpt::test::config_names);
#pragma once

#include "genpt/alloc/heap_levels.hpp"

#include <bit>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "support/low_oa_levels.hpp"

#include "genpt/format/x86_64.hpp"

namespace genpt::test {

/// One usable VA window, [first, last] inclusive.
struct va_window {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  /// Bytes in the window, log2 (windows are power-of-two sized; 64 = all).
  unsigned span_lg2() const {
    return static_cast<unsigned>(std::countr_zero(last - first + 1));  // 0 -> 64
  }
  bool contains(std::uint64_t va) const { return va >= first && va <= last; }
};

/// [0, 2^va_lg2 - 1]: a table whose VA bits above va_lg2 are zero.
inline std::vector<va_window> low_windows(unsigned va_lg2) {
  return {{0, va_lg2 >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << va_lg2) - 1}};
}
/// Both canonical halves of a sign-extended va_lg2-bit table: the lower
/// [0, 2^(n-1) - 1] and the upper [2^64 - 2^(n-1), 2^64 - 1].
inline std::vector<va_window> sign_extended_windows(unsigned va_lg2) {
  const std::uint64_t half = std::uint64_t{1} << (va_lg2 - 1);
  return {{0, half - 1}, {~std::uint64_t{0} - (half - 1), ~std::uint64_t{0}}};
}
/// [2^64 - 2^va_lg2, 2^64 - 1]: a table whose VA bits above va_lg2 are ones.
inline std::vector<va_window> high_windows(unsigned va_lg2) {
  const std::uint64_t size_m1 =
      va_lg2 >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << va_lg2) - 1;
  return {{~std::uint64_t{0} - size_m1, ~std::uint64_t{0}}};
}

/// Name generator for INSTANTIATE_TYPED_TEST_SUITE_P: the config's `name`.
struct config_names {
  template <class Config>
  static std::string GetName(int) {
    return Config::name;
  }
};

// ----------------------------------------------------------------- x86_64 --

/// 4-level, 48-bit, canonical (sign-extended) VA, 52-bit OA: the CPU's own.
struct x86_64_4level {
  using format = genpt::x86_64;
  static format::config config() {
    format::config c;
    c.top_level = 3;
    c.features = format::sign_extend;
    return c;
  }
  static constexpr const char* name = "x86_64_4level";
  static std::vector<va_window> windows() { return sign_extended_windows(48); }
};

/// 5-level, 57-bit, canonical VA (CR4.LA57).
struct x86_64_5level {
  using format = genpt::x86_64;
  static format::config config() {
    format::config c;
    c.top_level = 4;
    c.features = format::sign_extend;
    return c;
  }
  static constexpr const char* name = "x86_64_5level";
  static std::vector<va_window> windows() { return sign_extended_windows(57); }
};

/// Base of a config whose oa_lg2 is below the host's address width: its
/// tables come from low_oa_levels (oa below 2^32), since genpt refuses a
/// heap_levels table at a host address above 2^oa_lg2 (issue 10, defect 4).
struct low_oa_alloc {
  using alloc = low_oa_levels;
  static alloc make_alloc(level_stats* s) { return low_oa_levels{s}; }
};
/// Base that leaves the default (heap_levels) in place.
struct default_alloc {};
/// low_oa_alloc for an oa_lg2 below 48 (user-space host addresses reach
/// 2^47 on x86-64 and 2^48 on arm64), else the default.
template <unsigned OaLg2>
using alloc_for_oa = std::conditional_t<(OaLg2 < 48), low_oa_alloc, default_alloc>;

/// 4-level without sign extension, 47 VA bits and a 40-bit OA (AMD PASID-0
/// style use: only the lower half exists).
struct x86_64_4level_low47 : low_oa_alloc {
  using format = genpt::x86_64;
  static format::config config() {
    format::config c;
    c.top_level = 3;
    c.va_lg2 = 47;
    c.oa_lg2 = 40;
    c.features = 0;
    return c;
  }
  static constexpr const char* name = "x86_64_4level_low47";
  static std::vector<va_window> windows() { return low_windows(47); }
};

/// 4-level, canonical, with the AMD SME C-bit at bit 47 (OA below it).
struct x86_64_4level_encrypted {
  using format = genpt::x86_64;
  static format::config config() {
    format::config c;
    c.top_level = 3;
    c.oa_lg2 = 47;
    c.features = format::sign_extend | format::amd_encrypt_tables;
    c.c_bit = 47;
    return c;
  }
  static constexpr const char* name = "x86_64_4level_encrypted";
  static std::vector<va_window> windows() { return sign_extended_windows(48); }
};

/// The level allocator a config's tables use in the typed suites:
/// `Config::alloc`, built by `Config::make_alloc(level_stats*)`, when the
/// config names one; otherwise heap_levels counting into the stats.
template <class Config>
struct alloc_of {
  using type = heap_levels;
  static type make(level_stats* s) { return heap_levels{s}; }
};
template <class Config>
  requires requires { typename Config::alloc; }
struct alloc_of<Config> {
  using type = typename Config::alloc;
  static type make(level_stats* s) { return Config::make_alloc(s); }
};

}  // namespace genpt::test
