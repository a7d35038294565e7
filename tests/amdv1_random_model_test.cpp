// tests/amdv1_random_model_test.cpp - seeded random map/unmap/translate
// sequences (support/random_model_suite.hpp) over the amdv1 configurations
// (support/format_configs.hpp), checked against the reference model.
// amdv1_mode2 and amdv1_mode3 opt out there (random_model = false: their
// largest sizes almost never find a free, aligned slot).
#include "support/random_model_suite.hpp"

using amdv1_random_types = genpt::test::random_model_types<genpt::test::amdv1_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(amdv1, random_model, amdv1_random_types,
                               genpt::test::config_names);
