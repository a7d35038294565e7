// tests/x86_64_random_model_test.cpp - seeded random map/unmap/translate
// sequences (support/random_model_suite.hpp) over every x86_64
// configuration (support/format_configs.hpp), checked against the
// reference model.
#include "support/random_model_suite.hpp"

using x86_64_types = genpt::test::random_model_types<genpt::test::x86_64_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(x86_64, random_model, x86_64_types, genpt::test::config_names);
