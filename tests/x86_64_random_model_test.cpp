// tests/x86_64_random_model_test.cpp - seeded random map/unmap/translate
// sequences (support/random_model_suite.hpp) over every x86_64
// configuration, checked against the reference model.
#include "genpt/format/x86_64.hpp"
#include "support/format_configs.hpp"
#include "support/random_model_suite.hpp"

using x86_64_configs =
    ::testing::Types<genpt::test::x86_64_4level, genpt::test::x86_64_5level,
                     genpt::test::x86_64_4level_low47, genpt::test::x86_64_4level_encrypted>;
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, random_model, x86_64_configs, genpt::test::config_names);
