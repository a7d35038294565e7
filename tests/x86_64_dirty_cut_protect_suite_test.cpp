// tests/x86_64_dirty_cut_protect_suite_test.cpp - the typed dirty / cut /
// protect suites (support/dirty_cut_protect_suite.hpp) over every x86_64
// configuration. x86_64 always tracks dirty state (the D bit); its
// bit-level checks are in x86_64_dirty_cut_protect_test.cpp.
#include "genpt/format/x86_64.hpp"
#include "support/dirty_cut_protect_suite.hpp"
#include "support/format_configs.hpp"

using x86_64_dcp_configs =
    ::testing::Types<genpt::test::x86_64_4level, genpt::test::x86_64_5level,
                     genpt::test::x86_64_4level_low47, genpt::test::x86_64_4level_encrypted>;
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, dirty_tracking, x86_64_dcp_configs,
                               genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, cut_and_protect, x86_64_dcp_configs,
                               genpt::test::config_names);
