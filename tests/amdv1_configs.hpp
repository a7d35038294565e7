// tests/amdv1_configs.hpp - genpt::amdv1 configurations for the typed
// suites (support/conformance_suite.hpp, support/random_model_suite.hpp),
// in the shape support/format_configs.hpp describes.
#pragma once

#include <vector>

#include "genpt/format/amdv1.hpp"
#include "support/format_configs.hpp"

namespace genpt::test {

/// Mode 2: a fixed 2-level table, 30-bit VA (4K .. 512M pages).
struct amdv1_mode2 {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 1;
    return c;
  }
  static constexpr const char* name = "amdv1_mode2";
  static std::vector<va_window> windows() { return low_windows(30); }
};

/// Mode 3: a fixed 3-level table, 39-bit VA (the Linux driver's start).
struct amdv1_mode3 {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 2;
    return c;
  }
  static constexpr const char* name = "amdv1_mode3";
  static std::vector<va_window> windows() { return low_windows(39); }
};

/// Mode 6: a fixed 6-level table decoding all 64 VA bits, every page size.
struct amdv1_mode6 {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 5;
    return c;
  }
  static constexpr const char* name = "amdv1_mode6";
  static std::vector<va_window> windows() { return low_windows(64); }
};

/// Mode 4 with a 44-bit VA limit below the top's 48 bits, a 40-bit OA,
/// force_coherence and encrypted tables with the C-bit at 47 (tables from
/// low_oa_levels: a heap address does not fit 40 bits).
struct amdv1_mode4_encrypted : low_oa_alloc {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 3;
    c.va_lg2 = 44;
    c.oa_lg2 = 40;
    c.features = format::force_coherence | format::encrypt_tables;
    c.c_bit = 47;
    return c;
  }
  static constexpr const char* name = "amdv1_mode4_encrypted";
  static std::vector<va_window> windows() { return low_windows(44); }
};

/// A growable top: starts at mode 3 and grows on demand up to 64 bits.
struct amdv1_dynamic {
  using format = genpt::amdv1;
  static format::config config() {
    format::config c;
    c.starting_level = 2;
    c.features = format::dynamic_top;
    return c;
  }
  static constexpr const char* name = "amdv1_dynamic";
  static std::vector<va_window> windows() { return low_windows(64); }
};

}  // namespace genpt::test
