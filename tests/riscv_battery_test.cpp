// tests/riscv_battery_test.cpp - every typed suite (support/battery.hpp)
// over every RISC-V configuration (support/format_configs.hpp): Sv39/48/57
// and their x4 G-stage, Svnapot, Svpbmt, Svadu. RISC-V always tracks dirty
// state (the D bit). Allocator combinations: allocator_suites_test.cpp.
#include "support/battery.hpp"

GENPT_FORMAT_BATTERY(riscv, genpt::test::riscv_configs);
