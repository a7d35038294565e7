// tests/armv8_conformance_test.cpp - the typed conformance suite and the
// seeded random-model suite over every ARMv8 configuration
// (support/format_configs.hpp): 3 granules x 2 stages x several VA sizes,
// including small stage 1 tops, concatenated stage 2 tops, TTBR1 (upper VA
// range), the 52-bit LPA/LPA2/LVA forms and DBM.
#include "support/conformance_suite.hpp"
#include "support/random_model_suite.hpp"
#include "support/typed_configs.hpp"

using armv8_types = genpt::test::gtest_types<genpt::test::armv8_configs>;
using armv8_random_types = genpt::test::random_model_types<genpt::test::armv8_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(armv8, conformance, armv8_types, genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(armv8, random_model, armv8_random_types, genpt::test::config_names);
