// genpt/core/assert.hpp - the contract-violation hook.
//
// GENPT_ASSERT(cond, msg) fires on a broken *contract* (a bug in the caller
// or in genpt), never on bad input: bad input is an errc. Define GENPT_ASSERT
// before including any genpt header to route violations elsewhere (a test
// harness that throws, a kernel panic, a firmware log).
#pragma once

#ifndef GENPT_ASSERT
#define GENPT_ASSERT(cond, msg) \
  ((cond) ? static_cast<void>(0) : ::genpt::detail::assert_fail(__FILE__, __LINE__, msg))
#endif

namespace genpt::detail {
/// Default violation handler: trap. Freestanding-safe (no I/O, no abort()).
[[noreturn]] inline void assert_fail(const char*, int, const char*) noexcept {
  __builtin_trap();
}
}  // namespace genpt::detail
