// genpt/core/log2.hpp - log2-encoded arithmetic that stays defined at shift 64.
//
// Every size in genpt is kept as a log2 ("_lg2") so no 64-bit division is
// ever needed. A table whose top spans the whole 64-bit space makes shifts
// by 64 appear; in C++ `x >> 64` is undefined, so each helper here handles
// lg2 == 64 explicitly (upstream's "fva" variants).
#pragma once

#include <bit>
#include <cstdint>

namespace genpt {

/// 2^lg2 (0 when lg2 == 64: the value does not fit, callers treat it as "all").
constexpr std::uint64_t log2_to_int(unsigned lg2) noexcept {
  return lg2 >= 64 ? 0 : std::uint64_t{1} << lg2;
}
/// 2^lg2 - 1: a mask of the low lg2 bits; all ones at 64.
constexpr std::uint64_t log2_to_max_int(unsigned lg2) noexcept {
  return lg2 >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << lg2) - 1;
}
/// a >> lg2 (0 at 64).
constexpr std::uint64_t log2_div(std::uint64_t a, unsigned lg2) noexcept {
  return lg2 >= 64 ? 0 : a >> lg2;
}
/// a << lg2 (0 at 64).
constexpr std::uint64_t log2_mul(std::uint64_t a, unsigned lg2) noexcept {
  return lg2 >= 64 ? 0 : a << lg2;
}
/// a mod 2^lg2 (a itself at 64).
constexpr std::uint64_t log2_mod(std::uint64_t a, unsigned lg2) noexcept {
  return a & log2_to_max_int(lg2);
}
/// True when a and b agree above bit lg2 ((a ^ b) >> lg2 == 0).
constexpr bool log2_div_eq(std::uint64_t a, std::uint64_t b, unsigned lg2) noexcept {
  return log2_div(a ^ b, lg2) == 0;
}
/// True when the low lg2 bits of a are all ones (a is the last byte of a 2^lg2 block).
constexpr bool log2_mod_eq_max(std::uint64_t a, unsigned lg2) noexcept {
  return log2_mod(a, lg2) == log2_to_max_int(lg2);
}
/// a with its low lg2 bits replaced by those of `val`.
constexpr std::uint64_t log2_set_mod(std::uint64_t a, std::uint64_t val, unsigned lg2) noexcept {
  const std::uint64_t m = log2_to_max_int(lg2);
  return (a & ~m) | (val & m);
}
/// a with its low lg2 bits set (the last byte of a's 2^lg2 block).
constexpr std::uint64_t log2_set_mod_max(std::uint64_t a, unsigned lg2) noexcept {
  return a | log2_to_max_int(lg2);
}
/// a rounded down to a multiple of 2^lg2.
constexpr std::uint64_t log2_align_down(std::uint64_t a, unsigned lg2) noexcept {
  return a & ~log2_to_max_int(lg2);
}
/// 1-based index of the highest set bit; 0 for 0.
constexpr unsigned fls64(std::uint64_t a) noexcept {
  return static_cast<unsigned>(64 - std::countl_zero(a));
}
/// 0-based index of the lowest set bit; 64 for 0.
constexpr unsigned ffs64(std::uint64_t a) noexcept {
  return static_cast<unsigned>(std::countr_zero(a));
}
/// 0-based index of the lowest clear bit; 64 for all ones.
constexpr unsigned ffz64(std::uint64_t a) noexcept {
  return static_cast<unsigned>(std::countr_one(a));
}

static_assert(log2_to_int(12) == 4096);
static_assert(log2_to_max_int(64) == ~std::uint64_t{0});
static_assert(log2_div(~std::uint64_t{0}, 64) == 0);
static_assert(log2_mod(0x1234, 8) == 0x34);
static_assert(log2_mod(0x1234, 64) == 0x1234);
static_assert(log2_div_eq(0x1fff, 0x1000, 12) && !log2_div_eq(0x1fff, 0x2000, 12));
static_assert(log2_div_eq(0, ~std::uint64_t{0}, 64));
static_assert(log2_mod_eq_max(0x2fff, 12) && !log2_mod_eq_max(0x2ffe, 12));
static_assert(log2_set_mod(0xabcd, 0x12, 8) == 0xab12);
static_assert(log2_set_mod_max(0x1000, 12) == 0x1fff);
static_assert(fls64(0) == 0 && fls64(1) == 1 && fls64(~std::uint64_t{0}) == 64);
static_assert(ffs64(0x100) == 8 && ffs64(0) == 64);
static_assert(ffz64(0xff) == 8 && ffz64(~std::uint64_t{0}) == 64);

}  // namespace genpt
