// tests/fuzz/fuzz_support.hpp - what the fuzz harnesses (fuzz_walk.cpp,
// fuzz_ops.cpp) share: a byte reader that never fails, the ARMv8
// configurations (as tests/armv8_conformance_test.cpp, plus DBM), and a
// finding report that aborts.
//
// The harnesses build both as libFuzzer targets (clang, GENPT_BUILD_FUZZ)
// and, in every build, as corpus replays (replay_main.cpp): nothing here
// needs libFuzzer or GoogleTest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "amdv1_configs.hpp"
#include "genpt/format/armv8.hpp"
#include "support/format_configs.hpp"

namespace genpt::fuzz {

/// Reads the fuzzer's bytes front to back; past the end every read is 0,
/// so any input decodes to something.
class reader {
 public:
  reader(const std::uint8_t* data, std::size_t size) noexcept : p_(data), n_(size) {}
  std::uint8_t u8() noexcept {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() noexcept { return u16() | (std::uint32_t{u16()} << 16); }
  std::uint64_t u64() noexcept { return u32() | (std::uint64_t{u32()} << 32); }
  bool empty() const noexcept { return n_ == 0; }
  std::size_t left() const noexcept { return n_; }
  const std::uint8_t* rest() const noexcept { return p_; }
  /// Consumes everything left.
  void drain() noexcept { p_ += n_, n_ = 0; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

/// A finding: prints what broke and the values given (integers, shown in
/// hex), then aborts (libFuzzer saves the input; the replay driver and
/// ctest see the abort).
/// The configuration being run, for finding reports.
inline const char* current_config = "";

template <class... T>
[[noreturn]] void finding(const char* what, T... v) {
  std::fprintf(stderr, "genpt fuzz finding [%s]: %s", current_config, what);
  ((std::fprintf(stderr, " 0x%llx", static_cast<unsigned long long>(v))), ...);
  std::fprintf(stderr, "\n");
  std::abort();
}

/// Checks `cond`; a finding when false.
#define GENPT_FUZZ_CHECK(cond, ...) \
  do {                              \
    if (!(cond)) ::genpt::fuzz::finding("check failed: " #cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

/// One ARMv8 configuration (as tests/armv8_conformance_test.cpp).
template <unsigned G, unsigned S, unsigned Va, unsigned Oa, unsigned Features>
struct armv8_config : test::alloc_for_oa<Oa> {
  using format = genpt::armv8<G, S>;
  static typename format::config config() {
    typename format::config c;
    c.va_lg2 = Va;
    c.oa_lg2 = Oa;
    c.features = Features;
    return c;
  }
  static std::vector<test::va_window> windows() {
    return (Features & format::ttbr1) ? test::high_windows(Va) : test::low_windows(Va);
  }
};

#define GENPT_FUZZ_ARMV8_CONFIG(name_, G, S, Va, Oa, F) \
  struct name_ : armv8_config<G, S, Va, Oa, F> {        \
    static constexpr const char* name = #name_;         \
  }

using s1_4k = genpt::armv8<12, 1>;
using s1_16k = genpt::armv8<14, 1>;
using s1_64k = genpt::armv8<16, 1>;
using s2_4k = genpt::armv8<12, 2>;
using s2_64k = genpt::armv8<16, 2>;

// Stage 1.
GENPT_FUZZ_ARMV8_CONFIG(a4k_s1_48, 12, 1, 48, 48, 0);
GENPT_FUZZ_ARMV8_CONFIG(a4k_s1_39_ttbr1, 12, 1, 39, 40, s1_4k::ttbr1);
GENPT_FUZZ_ARMV8_CONFIG(a4k_s1_32, 12, 1, 32, 36, 0);
GENPT_FUZZ_ARMV8_CONFIG(a4k_s1_52_lpa2, 12, 1, 52, 52, s1_4k::lpa2);
GENPT_FUZZ_ARMV8_CONFIG(a4k_s1_48_dbm, 12, 1, 48, 48, s1_4k::dbm);
GENPT_FUZZ_ARMV8_CONFIG(a16k_s1_48, 14, 1, 48, 48, 0);
GENPT_FUZZ_ARMV8_CONFIG(a16k_s1_47_ttbr1, 14, 1, 47, 44, s1_16k::ttbr1);
GENPT_FUZZ_ARMV8_CONFIG(a16k_s1_52_lpa2, 14, 1, 52, 52, s1_16k::lpa2);
GENPT_FUZZ_ARMV8_CONFIG(a64k_s1_48, 16, 1, 48, 48, 0);
GENPT_FUZZ_ARMV8_CONFIG(a64k_s1_52_lva, 16, 1, 52, 52, s1_64k::lva | s1_64k::lpa);
GENPT_FUZZ_ARMV8_CONFIG(a64k_s1_42_ttbr1, 16, 1, 42, 48, s1_64k::ttbr1);
// Stage 2.
GENPT_FUZZ_ARMV8_CONFIG(a4k_s2_40, 12, 2, 40, 40, 0);
GENPT_FUZZ_ARMV8_CONFIG(a4k_s2_48, 12, 2, 48, 48, 0);
GENPT_FUZZ_ARMV8_CONFIG(a4k_s2_25, 12, 2, 25, 32, 0);
GENPT_FUZZ_ARMV8_CONFIG(a4k_s2_48_dbm, 12, 2, 48, 48, s2_4k::dbm);
GENPT_FUZZ_ARMV8_CONFIG(a16k_s2_40, 14, 2, 40, 42, 0);
GENPT_FUZZ_ARMV8_CONFIG(a16k_s2_48, 14, 2, 48, 48, 0);
GENPT_FUZZ_ARMV8_CONFIG(a64k_s2_48, 16, 2, 48, 48, 0);
GENPT_FUZZ_ARMV8_CONFIG(a64k_s2_30, 16, 2, 30, 40, 0);
GENPT_FUZZ_ARMV8_CONFIG(a64k_s2_52_lpa, 16, 2, 52, 52, s2_64k::lpa);

#undef GENPT_FUZZ_ARMV8_CONFIG

/// A list of configuration types.
template <class... C>
struct config_list {
  static constexpr unsigned size = sizeof...(C);
};

/// Every configuration of every format: x86_64 4/5-level, low, encrypted;
/// AMDv1 modes 2, 3, 6, 4 encrypted, dynamic top; ARMv8 4K/16K/64K stage 1
/// and 2, TTBR1, LPA/LPA2/LVA, DBM.
using all_configs =
    config_list<test::x86_64_4level, test::x86_64_5level, test::x86_64_4level_low47,
                test::x86_64_4level_encrypted, test::amdv1_mode2, test::amdv1_mode3,
                test::amdv1_mode6, test::amdv1_mode4_encrypted, test::amdv1_dynamic, a4k_s1_48,
                a4k_s1_39_ttbr1, a4k_s1_32, a4k_s1_52_lpa2, a4k_s1_48_dbm, a16k_s1_48,
                a16k_s1_47_ttbr1, a16k_s1_52_lpa2, a64k_s1_48, a64k_s1_52_lva, a64k_s1_42_ttbr1,
                a4k_s2_40, a4k_s2_48, a4k_s2_25, a4k_s2_48_dbm, a16k_s2_40, a16k_s2_48,
                a64k_s2_48, a64k_s2_30, a64k_s2_52_lpa>;

/// Calls f.template operator()<Config>() for the configuration numbered
/// `n % all_configs::size`.
template <class F, class... C>
void with_config_in(unsigned n, F&& f, config_list<C...>) {
  unsigned i = 0;
  n %= sizeof...(C);
  (void)((i++ == n ? (current_config = C::name, f.template operator()<C>(), true) : false) || ...);
}
template <class F>
void with_config(unsigned n, F&& f) {
  with_config_in(n, f, all_configs{});
}

}  // namespace genpt::fuzz
