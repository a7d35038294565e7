// tests/vtd_ss_battery_test.cpp - every typed suite (support/battery.hpp)
// over every VT-d second-stage and EPT configuration
// (support/format_configs.hpp). Configs with A/D track dirty state; the
// others answer not_supported. Allocator combinations:
// allocator_suites_test.cpp.
#include "support/battery.hpp"

GENPT_FORMAT_BATTERY(vtd_ss, genpt::test::vtd_ss_configs);
GENPT_DIRTY_UNSUPPORTED(vtd_ss, genpt::test::vtd_ss_configs);
