// tests/armv8_battery_test.cpp - every typed suite (support/battery.hpp)
// over every ARMv8 configuration (support/format_configs.hpp): 3 granules x
// 2 stages x several VA sizes, including small stage 1 tops, concatenated
// stage 2 tops, TTBR1 (upper VA range), the 52-bit LPA/LPA2/LVA forms and
// DBM. Configs with DBM track dirty state; the others answer not_supported.
#include "support/battery.hpp"

GENPT_FORMAT_BATTERY(armv8, genpt::test::armv8_configs);
GENPT_DIRTY_UNSUPPORTED(armv8, genpt::test::armv8_configs);
