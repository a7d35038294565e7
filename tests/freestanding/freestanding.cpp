// freestanding.cpp - compiled (-c only, never linked) by the freestanding_core
// test with -ffreestanding -fno-exceptions -fno-rtti: the core headers must
// serve kernels and firmware that have no hosted C++ library.
#include "genpt/core/concepts.hpp"
#include "genpt/core/log2.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"

#if __has_include("genpt/format/x86_64.hpp")
#include "genpt/format/x86_64.hpp"
#define GENPT_FS_HAVE_X86_64 1
#endif
#if __has_include("genpt/page_table.hpp")
#include "genpt/page_table.hpp"
#endif

// Only names from the public contract (DESIGN.md) are used here.
genpt::oa_t genpt_freestanding_align(genpt::va_t va, unsigned lg2);
int genpt_freestanding_error(bool fail);
bool genpt_freestanding_has_format();

genpt::oa_t genpt_freestanding_align(genpt::va_t va, unsigned lg2) {
  genpt::result<genpt::oa_t> r = genpt::oa_t{genpt::log2_align_down(va, lg2)};
  return r.has_value() ? *r : genpt::oa_t{0};
}

int genpt_freestanding_error(bool fail) {
  const genpt::errc e = fail ? genpt::errc::invalid_argument : genpt::errc::not_found;
  return static_cast<int>(e);
}

bool genpt_freestanding_has_format() {
#ifdef GENPT_FS_HAVE_X86_64
  return genpt::format<genpt::x86_64>;
#else
  return false;
#endif
}
