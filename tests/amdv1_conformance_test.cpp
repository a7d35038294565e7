// tests/amdv1_conformance_test.cpp - the format-agnostic conformance suite
// (support/conformance_suite.hpp) over every amdv1 configuration.
#include "amdv1_configs.hpp"
#include "genpt/format/amdv1.hpp"
#include "support/conformance_suite.hpp"

using amdv1_configs =
    ::testing::Types<genpt::test::amdv1_mode2, genpt::test::amdv1_mode3, genpt::test::amdv1_mode6,
                     genpt::test::amdv1_mode4_encrypted, genpt::test::amdv1_dynamic>;
INSTANTIATE_TYPED_TEST_SUITE_P(amdv1, conformance, amdv1_configs, genpt::test::config_names);
