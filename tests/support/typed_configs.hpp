// tests/support/typed_configs.hpp - the format registrations of
// support/format_configs.hpp as GoogleTest type lists.
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(armv8, conformance,
//                                  genpt::test::gtest_types<genpt::test::armv8_configs>,
//                                  genpt::test::config_names);
#pragma once

#include <gtest/gtest.h>

#include "support/format_configs.hpp"

namespace genpt::test {

/// A config_list as ::testing::Types (one template argument, so it fits a
/// gtest macro argument).
template <class L>
using gtest_types = apply_configs<::testing::Types, L>;

}  // namespace genpt::test
