// tests/support/battery.hpp - every format-agnostic typed suite over one
// format's config list (support/format_configs.hpp), by one line:
//
//   GENPT_FORMAT_BATTERY(riscv, genpt::test::riscv_configs);
//
// instantiates, with `riscv` as the test-name prefix:
//   conformance      support/conformance_suite.hpp, every config
//   random_model     support/random_model_suite.hpp, every config
//   dirty_tracking   support/dirty_cut_protect_suite.hpp, the configs that
//                    track dirty state (Config::dirty when declared, else all)
//   cut_and_protect  the same header, every config
//   iotlb_sim        support/iotlb_sim_suite.hpp, every config that does not
//                    opt out (Config::iotlb_sim = false)
// A list whose configs track no dirty state at all cannot use it (gtest
// cannot instantiate an empty type list). Configs that do not track dirty
// state get dirty_unsupported with one more line:
//
//   GENPT_DIRTY_UNSUPPORTED(vtd_ss, genpt::test::vtd_ss_configs);
//
// Use at namespace scope, once per prefix per test binary. A format's own
// extras (allocator combinations, bit-level checks) sit beside it.
#pragma once

#include <type_traits>

#include "support/conformance_suite.hpp"
#include "support/dirty_cut_protect_suite.hpp"
#include "support/format_configs.hpp"
#include "support/iotlb_sim_suite.hpp"
#include "support/random_model_suite.hpp"
#include "support/typed_configs.hpp"

namespace genpt::test {

// config_tracks_dirty<Config>() (support/dirty_cut_protect_suite.hpp) as
// type filters.
template <class Config>
struct tracks_dirty : std::bool_constant<config_tracks_dirty<Config>()> {};
template <class Config>
struct lacks_dirty : std::bool_constant<!config_tracks_dirty<Config>()> {};

}  // namespace genpt::test

#define GENPT_FORMAT_BATTERY(prefix, list)                                                              \
  using prefix##_battery_types = ::genpt::test::gtest_types<list>;                                      \
  INSTANTIATE_TYPED_TEST_SUITE_P(prefix, conformance, prefix##_battery_types,                           \
                                 ::genpt::test::config_names);                                          \
  using prefix##_battery_random = ::genpt::test::random_model_types<list>;                              \
  INSTANTIATE_TYPED_TEST_SUITE_P(prefix, random_model, prefix##_battery_random,                         \
                                 ::genpt::test::config_names);                                          \
  using prefix##_battery_dirty =                                                                        \
      ::genpt::test::gtest_types<::genpt::test::filter_configs<::genpt::test::tracks_dirty, list>>;     \
  INSTANTIATE_TYPED_TEST_SUITE_P(prefix, dirty_tracking, prefix##_battery_dirty,                        \
                                 ::genpt::test::config_names);                                          \
  INSTANTIATE_TYPED_TEST_SUITE_P(prefix, cut_and_protect, prefix##_battery_types,                       \
                                 ::genpt::test::config_names);                                          \
  using prefix##_battery_sim = sim_types<list>;                                                         \
  INSTANTIATE_TYPED_TEST_SUITE_P(prefix, iotlb_sim, prefix##_battery_sim, ::genpt::test::config_names)

#define GENPT_DIRTY_UNSUPPORTED(prefix, list)                                                           \
  using prefix##_battery_no_dirty =                                                                     \
      ::genpt::test::gtest_types<::genpt::test::filter_configs<::genpt::test::lacks_dirty, list>>;      \
  INSTANTIATE_TYPED_TEST_SUITE_P(prefix, dirty_unsupported, prefix##_battery_no_dirty,                  \
                                 ::genpt::test::config_names)
