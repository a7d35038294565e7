// tests/x86_64_dirty_cut_protect_suite_test.cpp - the typed dirty / cut /
// protect suites (support/dirty_cut_protect_suite.hpp) over every x86_64
// configuration (support/format_configs.hpp). x86_64 always tracks dirty
// state (the D bit); its bit-level checks are in
// x86_64_dirty_cut_protect_test.cpp.
#include "support/dirty_cut_protect_suite.hpp"
#include "support/typed_configs.hpp"

using x86_64_dcp_types = genpt::test::gtest_types<genpt::test::x86_64_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, dirty_tracking, x86_64_dcp_types,
                               genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, cut_and_protect, x86_64_dcp_types,
                               genpt::test::config_names);
