// tests/iotlb_sim_test.cpp - the IOTLB simulation (support/iotlb_sim_suite.hpp)
// over the ARMv8 configs; every other format runs it in its battery
// (support/battery.hpp).
#include "support/format_configs.hpp"
#include "support/iotlb_sim_suite.hpp"

namespace {
using armv8_types = sim_types<genpt::test::armv8_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(armv8, iotlb_sim, armv8_types, genpt::test::config_names);
}  // namespace
