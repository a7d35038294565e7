// tests/amdv1_conformance_test.cpp - the format-agnostic conformance suite
// (support/conformance_suite.hpp) over every amdv1 configuration
// (support/format_configs.hpp).
#include "support/conformance_suite.hpp"
#include "support/typed_configs.hpp"

using amdv1_types = genpt::test::gtest_types<genpt::test::amdv1_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(amdv1, conformance, amdv1_types, genpt::test::config_names);
