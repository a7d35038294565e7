// tests/fuzz/fuzz_support.hpp - what the fuzz harnesses (fuzz_walk.cpp,
// fuzz_ops.cpp) share: a byte reader that never fails, every format's
// configurations (all_configs of support/format_configs.hpp) by index, and
// a finding report that aborts.
//
// The harnesses build both as libFuzzer targets (clang, GENPT_BUILD_FUZZ)
// and, in every build, as corpus replays (replay_main.cpp): nothing here
// needs libFuzzer or GoogleTest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "genpt/format/armv8.hpp"
#include "support/format_configs.hpp"

namespace genpt::fuzz {

/// Reads the fuzzer's bytes front to back; past the end every read is 0,
/// so any input decodes to something.
class reader {
 public:
  reader(const std::uint8_t* data, std::size_t size) noexcept : p_(data), n_(size) {}
  std::uint8_t u8() noexcept {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() noexcept { return u16() | (std::uint32_t{u16()} << 16); }
  std::uint64_t u64() noexcept { return u32() | (std::uint64_t{u32()} << 32); }
  bool empty() const noexcept { return n_ == 0; }
  std::size_t left() const noexcept { return n_; }
  const std::uint8_t* rest() const noexcept { return p_; }
  /// Consumes everything left.
  void drain() noexcept { p_ += n_, n_ = 0; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

/// A finding: prints what broke and the values given (integers, shown in
/// hex), then aborts (libFuzzer saves the input; the replay driver and
/// ctest see the abort).
/// The configuration being run, for finding reports.
inline const char* current_config = "";

template <class... T>
[[noreturn]] void finding(const char* what, T... v) {
  std::fprintf(stderr, "genpt fuzz finding [%s]: %s", current_config, what);
  ((std::fprintf(stderr, " 0x%llx", static_cast<unsigned long long>(v))), ...);
  std::fprintf(stderr, "\n");
  std::abort();
}

/// Checks `cond`; a finding when false.
#define GENPT_FUZZ_CHECK(cond, ...) \
  do {                              \
    if (!(cond)) ::genpt::fuzz::finding("check failed: " #cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

using test::config_list;

/// Every configuration of every format (support/format_configs.hpp):
/// x86_64 4/5-level, low, encrypted; AMDv1 modes 2, 3, 6, 4 encrypted,
/// dynamic top; ARMv8 4K/16K/64K stage 1 and 2, TTBR1, LPA/LPA2/LVA, DBM;
/// RISC-V Sv39/48/57 and x4; VT-d second stage and EPT.
using all_configs = test::all_configs;
static_assert(all_configs::size == 48, "update CONFIGS in tests/fuzz/make_corpus.py and this count");

/// Calls f.template operator()<Config>() for the configuration numbered
/// `n % all_configs::size`.
template <class F, class... C>
void with_config_in(unsigned n, F&& f, config_list<C...>) {
  unsigned i = 0;
  n %= sizeof...(C);
  (void)((i++ == n ? (current_config = C::name, f.template operator()<C>(), true) : false) || ...);
}
template <class F>
void with_config(unsigned n, F&& f) {
  with_config_in(n, f, all_configs{});
}

}  // namespace genpt::fuzz
