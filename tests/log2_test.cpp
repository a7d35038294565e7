// tests/log2_test.cpp - log2 helpers, including the shifts by 0, 63 and 64
// that a table spanning the whole 64-bit space produces.
#include <gtest/gtest.h>

#include <cstdint>

#include "genpt/core/log2.hpp"

namespace {

constexpr std::uint64_t all = ~std::uint64_t{0};

TEST(Log2, ToIntAtShifts0And63And64) {
  EXPECT_EQ(genpt::log2_to_int(0), 1u);
  EXPECT_EQ(genpt::log2_to_int(63), 0x8000'0000'0000'0000u);
  EXPECT_EQ(genpt::log2_to_int(64), 0u);
}

TEST(Log2, ToMaxIntAtShifts0And63And64) {
  EXPECT_EQ(genpt::log2_to_max_int(0), 0u);
  EXPECT_EQ(genpt::log2_to_max_int(63), 0x7FFF'FFFF'FFFF'FFFFu);
  EXPECT_EQ(genpt::log2_to_max_int(64), all);
}

TEST(Log2, DivAndMulAtShifts0And63And64) {
  EXPECT_EQ(genpt::log2_div(all, 0), all);
  EXPECT_EQ(genpt::log2_div(all, 63), 1u);
  EXPECT_EQ(genpt::log2_div(all, 64), 0u);
  EXPECT_EQ(genpt::log2_mul(3, 0), 3u);
  EXPECT_EQ(genpt::log2_mul(3, 63), 0x8000'0000'0000'0000u);
  EXPECT_EQ(genpt::log2_mul(3, 64), 0u);
}

TEST(Log2, ModAtShifts0And63And64) {
  EXPECT_EQ(genpt::log2_mod(all, 0), 0u);
  EXPECT_EQ(genpt::log2_mod(all, 63), 0x7FFF'FFFF'FFFF'FFFFu);
  EXPECT_EQ(genpt::log2_mod(all, 64), all);
}

TEST(Log2, DivEqComparesTheHighBits) {
  EXPECT_TRUE(genpt::log2_div_eq(0x1FFF, 0x1000, 12));
  EXPECT_FALSE(genpt::log2_div_eq(0x1FFF, 0x2000, 12));
  EXPECT_FALSE(genpt::log2_div_eq(0, 1, 0));
  EXPECT_FALSE(genpt::log2_div_eq(0, 0x8000'0000'0000'0000, 63));
  EXPECT_TRUE(genpt::log2_div_eq(0, 0x7FFF'FFFF'FFFF'FFFF, 63));
  EXPECT_TRUE(genpt::log2_div_eq(0, all, 64));
}

TEST(Log2, ModEqMaxIsTheLastByteOfABlock) {
  EXPECT_TRUE(genpt::log2_mod_eq_max(0x2FFF, 12));
  EXPECT_FALSE(genpt::log2_mod_eq_max(0x2FFE, 12));
  EXPECT_TRUE(genpt::log2_mod_eq_max(0x1234, 0));
  EXPECT_TRUE(genpt::log2_mod_eq_max(all, 64));
  EXPECT_FALSE(genpt::log2_mod_eq_max(0x7FFF'FFFF'FFFF'FFFF, 64));
}

TEST(Log2, SetModReplacesTheLowBits) {
  EXPECT_EQ(genpt::log2_set_mod(0xABCD, 0x12, 8), 0xAB12u);
  EXPECT_EQ(genpt::log2_set_mod(0xABCD, 0x12, 0), 0xABCDu);
  EXPECT_EQ(genpt::log2_set_mod(0xABCD, 0x12, 64), 0x12u);
  EXPECT_EQ(genpt::log2_set_mod_max(0x1000, 12), 0x1FFFu);
  EXPECT_EQ(genpt::log2_set_mod_max(0x1000, 64), all);
  EXPECT_EQ(genpt::log2_set_mod_max(0x1000, 0), 0x1000u);
}

TEST(Log2, AlignDownAtShifts0And63And64) {
  EXPECT_EQ(genpt::log2_align_down(0x12345, 12), 0x12000u);
  EXPECT_EQ(genpt::log2_align_down(all, 0), all);
  EXPECT_EQ(genpt::log2_align_down(all, 63), 0x8000'0000'0000'0000u);
  EXPECT_EQ(genpt::log2_align_down(all, 64), 0u);
}

TEST(Log2, BitScans) {
  EXPECT_EQ(genpt::fls64(0), 0u);
  EXPECT_EQ(genpt::fls64(1), 1u);
  EXPECT_EQ(genpt::fls64(0x8000'0000'0000'0000), 64u);
  EXPECT_EQ(genpt::ffs64(0), 64u);
  EXPECT_EQ(genpt::ffs64(1), 0u);
  EXPECT_EQ(genpt::ffs64(0x8000'0000'0000'0000), 63u);
  EXPECT_EQ(genpt::ffz64(0), 0u);
  EXPECT_EQ(genpt::ffz64(0xFF), 8u);
  EXPECT_EQ(genpt::ffz64(0x7FFF'FFFF'FFFF'FFFF), 63u);
  EXPECT_EQ(genpt::ffz64(all), 64u);
}

}  // namespace
