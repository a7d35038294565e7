// tests/x86_64_conformance_test.cpp - the format-agnostic conformance suite
// (support/conformance_suite.hpp) over every x86_64 configuration.
#include "genpt/format/x86_64.hpp"
#include "support/conformance_suite.hpp"
#include "support/format_configs.hpp"

using x86_64_configs =
    ::testing::Types<genpt::test::x86_64_4level, genpt::test::x86_64_5level,
                     genpt::test::x86_64_4level_low47, genpt::test::x86_64_4level_encrypted>;
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, conformance, x86_64_configs, genpt::test::config_names);
