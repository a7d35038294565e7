// tests/x86_64_battery_test.cpp - every typed suite (support/battery.hpp)
// over every x86_64 configuration (support/format_configs.hpp). x86_64
// always tracks dirty state (the D bit); the bit-level checks are in
// x86_64_format_test.cpp and x86_64_dirty_cut_protect_test.cpp.
#include "support/battery.hpp"

GENPT_FORMAT_BATTERY(x86_64, genpt::test::x86_64_configs);
