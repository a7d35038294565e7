// tests/amdv1_battery_test.cpp - every typed suite (support/battery.hpp)
// over every AMDv1 configuration (support/format_configs.hpp): several
// starting levels, fixed and growable, encrypted tables. AMDv1 always
// tracks dirty state (the D bit); the bit-level checks are in
// amdv1_format_test.cpp and amdv1_dirty_cut_protect_test.cpp.
#include "support/battery.hpp"

GENPT_FORMAT_BATTERY(amdv1, genpt::test::amdv1_configs);
