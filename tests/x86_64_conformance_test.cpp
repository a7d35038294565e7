// tests/x86_64_conformance_test.cpp - the format-agnostic conformance suite
// (support/conformance_suite.hpp) over every x86_64 configuration
// (support/format_configs.hpp).
#include "support/conformance_suite.hpp"
#include "support/typed_configs.hpp"

using x86_64_types = genpt::test::gtest_types<genpt::test::x86_64_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, conformance, x86_64_types, genpt::test::config_names);
