// tests/support/format_configs.hpp - every format's configurations, and the
// one list per format that every typed suite instantiates from.
//
// A typed suite (support/conformance_suite.hpp, support/random_model_suite.hpp,
// support/dirty_cut_protect_suite.hpp, the walk differential tests, the
// IOTLB simulation, the fuzz harnesses) is parameterised by a *config type*:
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
// use the gaps between them as out-of-range addresses. windows_of<Config>()
// derives them from the format (format_traits::windows).
//
// Registration: each format has one config_list below (x86_64_configs,
// amdv1_configs, armv8_configs, riscv_configs, vtd_ss_configs), and
// all_configs is their union (the fuzz harnesses pick from it). The typed
// suites instantiate from these lists: GENPT_FORMAT_BATTERY(name, list)
// (support/battery.hpp) runs all of them over one list, so a new format
// gets the whole battery by its list plus that one line.
#pragma once

#include "genpt/alloc/heap_levels.hpp"

#include <bit>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "support/low_oa_levels.hpp"

#include "genpt/core/format_traits.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/format/vtd_ss.hpp"
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

/// The core's windows (genpt::va_windows_of) as test windows, adjacent
/// ones merged (a whole 64-bit space is one window here).
inline std::vector<va_window> windows_from(const genpt::va_windows& w) {
  std::vector<va_window> out;
  for (const genpt::va_window& x : w) {
    const std::uint64_t last = x.va + (x.len - 1);
    if (!out.empty() && out.back().last + 1 == x.va)
      out.back().last = last;
    else
      out.push_back({x.va, last});
  }
  return out;
}
/// [0, 2^va_lg2 - 1]: a table whose VA bits above va_lg2 are zero.
inline std::vector<va_window> low_windows(unsigned va_lg2) {
  return windows_from(genpt::va_windows_of(genpt::va_layout::low, va_lg2));
}
/// Both canonical halves of a sign-extended va_lg2-bit table: the lower
/// [0, 2^(n-1) - 1] and the upper [2^64 - 2^(n-1), 2^64 - 1].
inline std::vector<va_window> sign_extended_windows(unsigned va_lg2) {
  return windows_from(genpt::va_windows_of(genpt::va_layout::sign_extend, va_lg2));
}
/// [2^64 - 2^va_lg2, 2^64 - 1]: a table whose VA bits above va_lg2 are ones.
inline std::vector<va_window> high_windows(unsigned va_lg2) {
  return windows_from(genpt::va_windows_of(genpt::va_layout::high, va_lg2));
}
/// Every va a table of Config decodes, from its validated params (the most
/// a growable top may reach): format_traits::windows.
template <class Config>
std::vector<va_window> windows_of() {
  using format = typename Config::format;
  using traits = genpt::format_traits<format>;
  const auto p = format::init(Config::config());
  if (!p) return {};
  return windows_from(traits::windows(*p, traits::max_reachable_level(*p)));
}

/// A list of config types: one per format below, and their union.
template <class... C>
struct config_list {
  static constexpr unsigned size = sizeof...(C);
};
/// The lists' configs, in order, as one list.
template <class... L>
struct concat_configs;
template <class... A>
struct concat_configs<config_list<A...>> {
  using type = config_list<A...>;
};
template <class... A, class... B, class... L>
struct concat_configs<config_list<A...>, config_list<B...>, L...>
    : concat_configs<config_list<A..., B...>, L...> {};
template <class... L>
using concat_configs_t = typename concat_configs<L...>::type;
/// The configs of list L as the arguments of T: apply_configs<::testing::Types, L>.
template <template <class...> class T, class L>
struct apply_configs_of;
template <template <class...> class T, class... C>
struct apply_configs_of<T, config_list<C...>> {
  using type = T<C...>;
};
template <template <class...> class T, class L>
using apply_configs = typename apply_configs_of<T, L>::type;
/// Each config of list L wrapped as W<Config> (a suite's own config extras).
template <template <class> class W, class L>
struct map_configs_of;
template <template <class> class W, class... C>
struct map_configs_of<W, config_list<C...>> {
  using type = config_list<W<C>...>;
};
template <template <class> class W, class L>
using map_configs = typename map_configs_of<W, L>::type;
/// The configs C of list L for which Keep<C>::value holds, in order.
template <template <class> class Keep, class L>
struct filter_configs_of;
template <template <class> class Keep>
struct filter_configs_of<Keep, config_list<>> {
  using type = config_list<>;
};
template <template <class> class Keep, class C, class... R>
struct filter_configs_of<Keep, config_list<C, R...>> {
  using rest = typename filter_configs_of<Keep, config_list<R...>>::type;
  using type = std::conditional_t<Keep<C>::value, concat_configs_t<config_list<C>, rest>, rest>;
};
template <template <class> class Keep, class L>
using filter_configs = typename filter_configs_of<Keep, L>::type;

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
  static std::vector<va_window> windows() { return windows_of<x86_64_4level>(); }
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
  static std::vector<va_window> windows() { return windows_of<x86_64_5level>(); }
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
  static std::vector<va_window> windows() { return windows_of<x86_64_4level_low47>(); }
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
  static std::vector<va_window> windows() { return windows_of<x86_64_4level_encrypted>(); }
};

/// Every x86_64 config: the typed suites' x86_64 registration.
using x86_64_configs = config_list<x86_64_4level, x86_64_5level, x86_64_4level_low47,
                                   x86_64_4level_encrypted>;

// ------------------------------------------------------------------ amdv1 --

/// What every AMDv1 config shares: 1T..128T entries are runs of 512G
/// items and genpt makes no 512G leaf, so cut cannot split them (a cut of
/// a 256T..2P page to a 4K boundary would pass through such runs): the
/// cut suite expects not_supported for those sizes.
struct amdv1_base {
  static constexpr std::uint64_t uncuttable = 0x000F'FF00'0000'0000;  // bits 40..51
};

/// Mode 2: a fixed 2-level table, 30-bit VA (4K .. 512M pages).
struct amdv1_mode2 : amdv1_base {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 1;
    return c;
  }
  static constexpr const char* name = "amdv1_mode2";
  /// Not in the random-model suite: its largest sizes (2^27..2^29 of a
  /// 2^30 window) almost never find a free, aligned slot, so "every size
  /// was made" cannot pass (it matches the model).
  static constexpr bool random_model = false;
  static std::vector<va_window> windows() { return windows_of<amdv1_mode2>(); }
};

/// Mode 3: a fixed 3-level table, 39-bit VA (the Linux driver's start).
struct amdv1_mode3 : amdv1_base {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 2;
    return c;
  }
  static constexpr const char* name = "amdv1_mode3";
  /// Not in the random-model suite: as amdv1_mode2 (2^37..2^38 of 2^39).
  static constexpr bool random_model = false;
  static std::vector<va_window> windows() { return windows_of<amdv1_mode3>(); }
};

/// Mode 6: a fixed 6-level table decoding all 64 VA bits, every page size.
struct amdv1_mode6 : amdv1_base {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 5;
    return c;
  }
  static constexpr const char* name = "amdv1_mode6";
  static std::vector<va_window> windows() { return windows_of<amdv1_mode6>(); }
};

/// Mode 4 with a 44-bit VA limit below the top's 48 bits, a 40-bit OA,
/// force_coherence and encrypted tables with the C-bit at 47 (tables from
/// low_oa_levels: a heap address does not fit 40 bits).
struct amdv1_mode4_encrypted : low_oa_alloc, amdv1_base {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 3;
    c.va_lg2 = 44;
    c.oa_lg2 = 40;
    c.features = format::force_coherence | format::encrypt_tables;
    c.c_bit = 47;
    return c;
  }
  static constexpr const char* name = "amdv1_mode4_encrypted";
  static std::vector<va_window> windows() { return windows_of<amdv1_mode4_encrypted>(); }
};

/// A growable top: starts at mode 3 and grows on demand up to 64 bits.
struct amdv1_dynamic : amdv1_base {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 2;
    c.features = format::dynamic_top;
    return c;
  }
  static constexpr const char* name = "amdv1_dynamic";
  static std::vector<va_window> windows() { return windows_of<amdv1_dynamic>(); }
};

/// Every AMDv1 config: the typed suites' AMDv1 registration.
using amdv1_configs = config_list<amdv1_mode2, amdv1_mode3, amdv1_mode6, amdv1_mode4_encrypted,
                                  amdv1_dynamic>;

// ------------------------------------------------------------------ armv8 --

/// One ARMv8 configuration: granule, stage, VA/OA bits and features
/// (tables from low_oa_levels when Oa is narrower than host addresses).
template <unsigned G, unsigned S, unsigned Va, unsigned Oa, unsigned Features>
struct armv8_config : alloc_for_oa<Oa> {
  using format = genpt::armv8<G, S>;
  static typename format::config config() {
    typename format::config c;
    c.va_lg2 = Va;
    c.oa_lg2 = Oa;
    c.features = Features;
    return c;
  }
  static std::vector<va_window> windows() { return windows_of<armv8_config>(); }
  // Each config runs a short random-model sequence: 25 configs stay well
  // under the test-time budget in Debug.
  static constexpr unsigned random_ops = 3000;
  /// Dirty state is tracked with DBM only (support/battery.hpp).
  static constexpr bool dirty = (Features & format::dbm) != 0;
};

#define GENPT_ARMV8_CONFIG(name_, G, S, Va, Oa, F)  \
  struct name_ : armv8_config<G, S, Va, Oa, F> {    \
    static constexpr const char* name = #name_;     \
  }

// Stage 1.
GENPT_ARMV8_CONFIG(a4k_s1_48, 12, 1, 48, 48, 0);                     // 4 levels, top L0
GENPT_ARMV8_CONFIG(a4k_s1_39_ttbr1, 12, 1, 39, 40, armv8_4k_s1::ttbr1);  // 3 levels, upper range
GENPT_ARMV8_CONFIG(a4k_s1_32, 12, 1, 32, 36, 0);                     // top L1 of 4 items (32 B)
GENPT_ARMV8_CONFIG(a4k_s1_52_lpa2, 12, 1, 52, 52, armv8_4k_s1::lpa2);  // 5 levels, top L-1
GENPT_ARMV8_CONFIG(a4k_s1_48_dbm, 12, 1, 48, 48, armv8_4k_s1::dbm);  // hardware dirty state (DBM)
GENPT_ARMV8_CONFIG(a16k_s1_48, 14, 1, 48, 48, 0);                    // top L0 of 2 items
GENPT_ARMV8_CONFIG(a16k_s1_47_ttbr1, 14, 1, 47, 44, armv8_16k_s1::ttbr1);  // 3 levels, upper range
GENPT_ARMV8_CONFIG(a16k_s1_52_lpa2, 14, 1, 52, 52, armv8_16k_s1::lpa2);  // top L0 of 32 items
GENPT_ARMV8_CONFIG(a64k_s1_48, 16, 1, 48, 48, 0);                    // top L1 of 64 items
GENPT_ARMV8_CONFIG(a64k_s1_52_lva, 16, 1, 52, 52,
                   armv8_64k_s1::lva | armv8_64k_s1::lpa);            // 4T blocks
GENPT_ARMV8_CONFIG(a64k_s1_42_ttbr1, 16, 1, 42, 48, armv8_64k_s1::ttbr1);  // 2 levels, upper range
// Stage 2.
GENPT_ARMV8_CONFIG(a4k_s2_40, 12, 2, 40, 40, 0);          // top L1 = 2 concatenated tables
GENPT_ARMV8_CONFIG(a4k_s2_48, 12, 2, 48, 48, 0);          // top L0, no concatenation
GENPT_ARMV8_CONFIG(a4k_s2_25, 12, 2, 25, 32, 0);          // top L2 of 16 items (no L3 start)
GENPT_ARMV8_CONFIG(a4k_s2_48_dbm, 12, 2, 48, 48, armv8_4k_s2::dbm);   // DBM
GENPT_ARMV8_CONFIG(a16k_s2_40, 14, 2, 40, 42, 0);         // top L2 = 16 concatenated tables
GENPT_ARMV8_CONFIG(a16k_s2_48, 14, 2, 48, 48, 0);         // top L1 = 2 concatenated tables
GENPT_ARMV8_CONFIG(a16k_s2_48_dbm, 14, 2, 48, 48, armv8_16k_s2::dbm);  // DBM
GENPT_ARMV8_CONFIG(a64k_s2_48, 16, 2, 48, 48, 0);         // top L1 of 64 items
/// Top L3 = 2 concatenated tables: one level.
struct a64k_s2_30 : armv8_config<16, 2, 30, 40, 0> {
  static constexpr const char* name = "a64k_s2_30";
  /// Not in the IOTLB simulation: one level has no table pointer to cache.
  static constexpr bool iotlb_sim = false;
};
GENPT_ARMV8_CONFIG(a64k_s2_52_lpa, 16, 2, 52, 52, armv8_64k_s2::lpa);  // 52-bit IPA and OA
// DBM on every granule and stage, and with TTBR1.
GENPT_ARMV8_CONFIG(a4k_s1_39_ttbr1_dbm, 12, 1, 39, 40, armv8_4k_s1::dbm | armv8_4k_s1::ttbr1);
GENPT_ARMV8_CONFIG(a16k_s1_47_dbm, 14, 1, 47, 48, armv8_16k_s1::dbm);
GENPT_ARMV8_CONFIG(a64k_s1_48_dbm, 16, 1, 48, 48, armv8_64k_s1::dbm);
GENPT_ARMV8_CONFIG(a64k_s2_48_dbm, 16, 2, 48, 48, armv8_64k_s2::dbm);

#undef GENPT_ARMV8_CONFIG

/// Every ARMv8 config: 3 granules x 2 stages x several VA sizes, small
/// stage 1 tops, concatenated stage 2 tops, TTBR1 (upper VA range), the
/// 52-bit LPA/LPA2/LVA forms and DBM: the typed suites' ARMv8 registration.
/// New configs go at the end (the fuzz corpus names configs by index).
using armv8_configs =
    config_list<a4k_s1_48, a4k_s1_39_ttbr1, a4k_s1_32, a4k_s1_52_lpa2, a4k_s1_48_dbm, a16k_s1_48,
                a16k_s1_47_ttbr1, a16k_s1_52_lpa2, a64k_s1_48, a64k_s1_52_lva, a64k_s1_42_ttbr1,
                a4k_s2_40, a4k_s2_48, a4k_s2_25, a4k_s2_48_dbm, a16k_s2_40, a16k_s2_48,
                a64k_s2_48, a64k_s2_30, a64k_s2_52_lpa, a16k_s2_48_dbm, a4k_s1_39_ttbr1_dbm,
                a16k_s1_47_dbm, a64k_s1_48_dbm, a64k_s2_48_dbm>;

// ------------------------------------------------------------------ riscv --

/// One RISC-V configuration: Levels 3..5, features, and optionally a VA /
/// OA width (tables from low_oa_levels when the OA is below host addresses).
template <unsigned Levels, unsigned Features, unsigned Va = 0, unsigned Oa = 0>
struct riscv_config : alloc_for_oa<Oa == 0 ? 56 : Oa> {
  using format = genpt::riscv;
  static format::config config() {
    format::config c;
    c.levels = Levels;
    c.va_lg2 = Va;
    c.oa_lg2 = Oa;
    c.features = Features;
    return c;
  }
  static std::vector<va_window> windows() { return windows_of<riscv_config>(); }
  // Seven configs: a shorter random-model run each keeps Debug time low.
  static constexpr unsigned random_ops = 15000;
};

#define GENPT_RISCV_CONFIG(name_, L, F, Va, Oa)     \
  struct name_ : riscv_config<L, F, Va, Oa> {       \
    static constexpr const char* name = #name_;     \
  }

// Sv39 with Svnapot and Svpbmt (the Linux kernel's usual hart).
GENPT_RISCV_CONFIG(riscv_sv39, 3, genpt::riscv::sign_extend | genpt::riscv::svnapot | genpt::riscv::svpbmt, 0, 0);
// Sv48 with hardware A/D updating (Svadu).
GENPT_RISCV_CONFIG(riscv_sv48, 4, genpt::riscv::sign_extend | genpt::riscv::svadu, 0, 0);
// Sv57, 256 TiB petapages, Svnapot.
GENPT_RISCV_CONFIG(riscv_sv57, 5, genpt::riscv::sign_extend | genpt::riscv::svnapot, 0, 0);
// Sv39 lower half only, 38 VA bits, 40-bit OA.
GENPT_RISCV_CONFIG(riscv_sv39_low38, 3, 0, 38, 40);
// G-stage: Sv39x4 (16 KiB root) with Svnapot and Svpbmt, Sv48x4, Sv57x4.
GENPT_RISCV_CONFIG(riscv_sv39x4, 3, genpt::riscv::g_stage | genpt::riscv::svnapot | genpt::riscv::svpbmt, 0, 0);
GENPT_RISCV_CONFIG(riscv_sv48x4, 4, genpt::riscv::g_stage, 0, 0);
GENPT_RISCV_CONFIG(riscv_sv57x4, 5, genpt::riscv::g_stage | genpt::riscv::svnapot | genpt::riscv::svadu, 0, 0);

#undef GENPT_RISCV_CONFIG

/// Every RISC-V config: the typed suites' RISC-V registration.
using riscv_configs = config_list<riscv_sv39, riscv_sv48, riscv_sv57, riscv_sv39_low38, riscv_sv39x4,
                                  riscv_sv48x4, riscv_sv57x4>;

// ----------------------------------------------------------------- vtd_ss --

/// One VT-d second-stage or EPT configuration (tables from low_oa_levels
/// when the OA is below host addresses). `dirty`: A/D on.
template <class F, unsigned Top, unsigned Features, unsigned Va = 0, unsigned Oa = 0>
struct vtd_ss_config : alloc_for_oa<Oa == 0 ? 52 : Oa> {
  using format = F;
  static typename F::config config() {
    typename F::config c;
    c.top_level = Top;
    c.va_lg2 = Va;
    c.oa_lg2 = Oa;
    c.features = Features;
    return c;
  }
  static std::vector<va_window> windows() { return windows_of<vtd_ss_config>(); }
  static constexpr bool dirty = (Features & F::ad) != 0;
  // Eight configs: a shorter random-model run each keeps Debug time low.
  static constexpr unsigned random_ops = 15000;
};

#define GENPT_VTD_SS_CONFIG(name_, F, Top, Features, Va, Oa) \
  struct name_ : vtd_ss_config<F, Top, Features, Va, Oa> {   \
    static constexpr const char* name = #name_;              \
  }

// VT-d: 4-level (AW 2) as Linux programs it, no A/D.
GENPT_VTD_SS_CONFIG(vtd_ss_4level, genpt::vtd_ss, 3, 0, 0, 0);
// 3-level (AW 1, 39-bit), SSADE, snoop control, execute requests, HAW 40.
GENPT_VTD_SS_CONFIG(vtd_ss_3level_ad, genpt::vtd_ss, 2, genpt::vtd_ss::ad | genpt::vtd_ss::snoop | genpt::vtd_ss::exec, 0, 40);
// 5-level (AW 3, 57-bit), SSADE and extended memory types.
GENPT_VTD_SS_CONFIG(vtd_ss_5level_ad_emt, genpt::vtd_ss, 4, genpt::vtd_ss::ad | genpt::vtd_ss::memtype, 0, 0);
// 4-level with a 44-bit guest address width and no 1 GiB pages (SLLPS = 1).
GENPT_VTD_SS_CONFIG(vtd_ss_4level_mgaw44_no1g, genpt::vtd_ss, 3, genpt::vtd_ss::ad | genpt::vtd_ss::no_1g, 44, 0);
// EPT: 4-level with A/D (EPTP bit 6).
GENPT_VTD_SS_CONFIG(ept_4level_ad, genpt::ept, 3, genpt::ept::ad, 0, 0);
// EPT: 5-level, A/D, MBEC, execute-only, MAXPHYADDR 46.
GENPT_VTD_SS_CONFIG(ept_5level_mbec, genpt::ept, 4, genpt::ept::ad | genpt::ept::mbec | genpt::ept::exec_only, 0, 46);
// EPT: 4-level without A/D (no dirty tracking).
GENPT_VTD_SS_CONFIG(ept_4level, genpt::ept, 3, 0, 0, 0);

#undef GENPT_VTD_SS_CONFIG

/// Every VT-d second-stage and EPT config: the typed suites' registration.
using vtd_ss_configs = config_list<vtd_ss_4level, vtd_ss_3level_ad, vtd_ss_5level_ad_emt,
                                   vtd_ss_4level_mgaw44_no1g, ept_4level_ad, ept_5level_mbec, ept_4level>;

// ------------------------------------------------------------------ union --

/// Every config of every format, format by format: the fuzz harnesses pick
/// from it by index (tests/fuzz/make_corpus.py knows its size; the seeds
/// name configs by index, so a new format's list goes at the end).
using all_configs =
    concat_configs_t<x86_64_configs, amdv1_configs, armv8_configs, riscv_configs, vtd_ss_configs>;

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

/// Calls check.template operator()<F>(config) for each ARMv8 address-field
/// layout: 4K stage 1 and 16K stage 2 (OA[47:granule]), 4K with LPA2
/// (OA[51:50] in bits 9:8) and 64K with LPA (OA[51:48] in bits 15:12).
/// For the per-descriptor property tests.
template <class Check>
void for_each_armv8_oa_layout(Check&& check) {
  check.template operator()<genpt::armv8_4k_s1>({});
  check.template operator()<genpt::armv8_16k_s2>({});
  check.template operator()<genpt::armv8_4k_s1>({.va_lg2 = 52, .oa_lg2 = 52, .features = genpt::armv8_4k_s1::lpa2});
  check.template operator()<genpt::armv8_64k_s1>(
      {.va_lg2 = 52, .oa_lg2 = 52, .features = genpt::armv8_64k_s1::lpa | genpt::armv8_64k_s1::lva});
}

}  // namespace genpt::test
