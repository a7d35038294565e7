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

#ifdef GENPT_FS_HAVE_X86_64
// A firmware-style allocator: a static pool, no heap, no exceptions.
namespace {
struct pool_levels {
  alignas(4096) static inline unsigned char pool[64 * 4096];
  static inline genpt::table_link links[64];
  static inline unsigned used = 0;

  genpt::table_alloc allocate(unsigned size_lg2) noexcept {
    if (size_lg2 > 12 || used == 64) return {};
    unsigned char* p = pool + 4096 * used;
    for (unsigned i = 0; i < 4096; ++i) p[i] = 0;
    links[used].table = p;
    ++used;
    return {p, reinterpret_cast<genpt::oa_t>(p)};
  }
  void* phys_to_virt(genpt::oa_t oa) const noexcept { return reinterpret_cast<void*>(oa); }
  genpt::table_link& link_of(void* table, unsigned) noexcept {
    return links[static_cast<unsigned>(static_cast<unsigned char*>(table) - pool) / 4096];
  }
  void free(genpt::table_list& l) noexcept {
    while (l.pop_front()) {
    }
  }
};
}  // namespace

// Instantiates the whole facade freestanding: create, map, translate, unmap.
bool genpt_freestanding_page_table();
bool genpt_freestanding_page_table() {
  auto pt = genpt::page_table<genpt::x86_64, pool_levels>::create({});
  if (!pt) return false;
  if (!pt->map(0x200000, 0x400000, 0x201000, genpt::prot::read | genpt::prot::write)) return false;
  const bool ok = pt->iova_to_phys(0x200123).value_or(0) == 0x400123;
  return pt->unmap(0x200000, 0x201000) == 0x201000 && ok;
}
#endif
