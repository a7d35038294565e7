// genpt/core/best_pgsize.hpp - choosing the largest page size that fits.
#pragma once

#include <cstdint>

#include "genpt/core/log2.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

/// The largest size 2^s in `sizes` (bit s set) with va and oa both aligned
/// to 2^s and va + 2^s - 1 <= last. Returns s, or 0 when no size fits
/// (a 1-byte page never exists, so 0 is free to mean "none").
/// Precondition: va <= last. [va, last] may be the whole 64-bit space.
constexpr unsigned best_pgsize_lg2(std::uint64_t sizes, va_t va, va_t last, oa_t oa) noexcept {
  const std::uint64_t len = last - va + 1;  // 0 means 2^64
  const unsigned len_lg2 = len ? fls64(len) - 1 : 64;
  const unsigned align_lg2 = ffs64(va | oa);  // 64 when both are 0
  const unsigned limit = len_lg2 < align_lg2 ? len_lg2 : align_lg2;
  const std::uint64_t fit = sizes & log2_to_max_int(limit + 1);
  return fit ? fls64(fit) - 1 : 0;
}

static_assert(best_pgsize_lg2((1u << 12) | (1u << 21), 0x200000, 0x3fffff, 0x400000) == 21);
static_assert(best_pgsize_lg2((1u << 12) | (1u << 21), 0x200000, 0x3ffffe, 0x400000) == 12);
static_assert(best_pgsize_lg2((1u << 12) | (1u << 21), 0x201000, 0x3fffff, 0x401000) == 12);
static_assert(best_pgsize_lg2(1u << 21, 0x1000, 0x3fffff, 0x1000) == 0);
static_assert(best_pgsize_lg2(std::uint64_t{1} << 63, 0, ~std::uint64_t{0}, 0) == 63);

}  // namespace genpt
