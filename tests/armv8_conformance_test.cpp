// tests/armv8_conformance_test.cpp - the typed conformance suite and the
// seeded random-model suite over ARMv8 configurations: 3 granules x 2
// stages x several VA sizes, including small stage 1 tops, concatenated
// stage 2 tops, TTBR1 (upper VA range) and the 52-bit LPA/LPA2/LVA forms.
#include <cstdint>
#include <vector>

#include "genpt/format/armv8.hpp"
#include "support/conformance_suite.hpp"
#include "support/format_configs.hpp"
#include "support/random_model_suite.hpp"

namespace {

using genpt::test::va_window;

/// One ARMv8 configuration: granule, stage, VA/OA bits and features
/// (tables from low_oa_levels when Oa is narrower than host addresses).
template <unsigned G, unsigned S, unsigned Va, unsigned Oa, unsigned Features>
struct armv8_config : genpt::test::alloc_for_oa<Oa> {
  using format = genpt::armv8<G, S>;
  static typename format::config config() {
    typename format::config c;
    c.va_lg2 = Va;
    c.oa_lg2 = Oa;
    c.features = Features;
    return c;
  }
  static std::vector<va_window> windows() {
    return (Features & format::ttbr1) ? genpt::test::high_windows(Va)
                                      : genpt::test::low_windows(Va);
  }
  // Each config runs a short sequence: 18 configs stay well under the
  // test-time budget in Debug.
  static constexpr unsigned random_ops = 3000;
};

#define GENPT_ARMV8_CONFIG(name_, G, S, Va, Oa, F)  \
  struct name_ : armv8_config<G, S, Va, Oa, F> {    \
    static constexpr const char* name = #name_;     \
  }

using s1_4k = genpt::armv8<12, 1>;
using s1_16k = genpt::armv8<14, 1>;
using s1_64k = genpt::armv8<16, 1>;
using s2_64k = genpt::armv8<16, 2>;

// Stage 1.
GENPT_ARMV8_CONFIG(a4k_s1_48, 12, 1, 48, 48, 0);                        // 4 levels, top L0
GENPT_ARMV8_CONFIG(a4k_s1_39_ttbr1, 12, 1, 39, 40, s1_4k::ttbr1);       // 3 levels, upper range
GENPT_ARMV8_CONFIG(a4k_s1_32, 12, 1, 32, 36, 0);                        // top L1 of 4 items (32 B)
GENPT_ARMV8_CONFIG(a4k_s1_52_lpa2, 12, 1, 52, 52, s1_4k::lpa2);         // 5 levels, top L-1
GENPT_ARMV8_CONFIG(a16k_s1_48, 14, 1, 48, 48, 0);                       // top L0 of 2 items
GENPT_ARMV8_CONFIG(a16k_s1_47_ttbr1, 14, 1, 47, 44, s1_16k::ttbr1);     // 3 levels, upper range
GENPT_ARMV8_CONFIG(a16k_s1_52_lpa2, 14, 1, 52, 52, s1_16k::lpa2);       // top L0 of 32 items
GENPT_ARMV8_CONFIG(a64k_s1_48, 16, 1, 48, 48, 0);                       // top L1 of 64 items
GENPT_ARMV8_CONFIG(a64k_s1_52_lva, 16, 1, 52, 52, s1_64k::lva | s1_64k::lpa);  // 4T blocks
GENPT_ARMV8_CONFIG(a64k_s1_42_ttbr1, 16, 1, 42, 48, s1_64k::ttbr1);     // 2 levels, upper range
// Stage 2.
GENPT_ARMV8_CONFIG(a4k_s2_40, 12, 2, 40, 40, 0);          // top L1 = 2 concatenated tables
GENPT_ARMV8_CONFIG(a4k_s2_48, 12, 2, 48, 48, 0);          // top L0, no concatenation
GENPT_ARMV8_CONFIG(a4k_s2_25, 12, 2, 25, 32, 0);          // top L2 of 16 items (no L3 start)
GENPT_ARMV8_CONFIG(a16k_s2_40, 14, 2, 40, 42, 0);         // top L2 = 16 concatenated tables
GENPT_ARMV8_CONFIG(a16k_s2_48, 14, 2, 48, 48, 0);         // top L1 = 2 concatenated tables
GENPT_ARMV8_CONFIG(a64k_s2_48, 16, 2, 48, 48, 0);         // top L1 of 64 items
GENPT_ARMV8_CONFIG(a64k_s2_30, 16, 2, 30, 40, 0);         // top L3 = 2 concatenated tables
GENPT_ARMV8_CONFIG(a64k_s2_52_lpa, 16, 2, 52, 52, s2_64k::lpa);  // 52-bit IPA and OA

#undef GENPT_ARMV8_CONFIG

using armv8_configs =
    ::testing::Types<a4k_s1_48, a4k_s1_39_ttbr1, a4k_s1_32, a4k_s1_52_lpa2, a16k_s1_48,
                     a16k_s1_47_ttbr1, a16k_s1_52_lpa2, a64k_s1_48, a64k_s1_52_lva,
                     a64k_s1_42_ttbr1, a4k_s2_40, a4k_s2_48, a4k_s2_25, a16k_s2_40, a16k_s2_48,
                     a64k_s2_48, a64k_s2_30, a64k_s2_52_lpa>;

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(armv8, conformance, armv8_configs, genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(armv8, random_model, armv8_configs, genpt::test::config_names);
