// tests/best_pgsize_test.cpp - genpt::best_pgsize_lg2 against a brute-force
// reference on seeded random inputs and on the edges of the 64-bit space.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "genpt/core/best_pgsize.hpp"

namespace {

/// Plain restatement: the largest s (1..63) in `sizes` with va and oa
/// multiples of 2^s and [va, va + 2^s - 1] inside [va, last]; 0 if none.
unsigned reference_best(std::uint64_t sizes, std::uint64_t va, std::uint64_t last,
                        std::uint64_t oa) {
  for (unsigned s = 63; s >= 1; --s) {
    if (!((sizes >> s) & 1)) continue;
    const std::uint64_t size = std::uint64_t{1} << s;
    if (va % size != 0 || oa % size != 0) continue;
    if (last - va < size - 1) continue;
    return s;
  }
  return 0;
}

/// A random value whose low `zeros` bits are clear.
std::uint64_t aligned(std::mt19937_64& rng, unsigned zeros) {
  return zeros >= 64 ? 0 : rng() & ~((std::uint64_t{1} << zeros) - 1);
}

TEST(BestPgsize, MatchesBruteForceOnRandomInputs) {
  constexpr std::uint64_t seed = 0x9e3779b97f4a7c15;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200000; ++i) {
    // A few sizes, sometimes dense, sometimes the x86 / ARM style sets.
    std::uint64_t sizes = 0;
    switch (rng() % 4) {
      case 0: sizes = rng() & rng(); break;
      case 1: sizes = rng() & rng() & rng(); break;
      case 2: sizes = 0x4020'1000; break;
      default: sizes = rng(); break;
    }
    const std::uint64_t va = aligned(rng, static_cast<unsigned>(rng() % 65));
    const std::uint64_t oa = aligned(rng, static_cast<unsigned>(rng() % 65));
    std::uint64_t last;
    switch (rng() % 4) {
      case 0: last = va + (rng() % (std::uint64_t{1} << (rng() % 40))); break;
      case 1: {  // exactly 2^k or 2^k - 1 bytes
        const std::uint64_t len = std::uint64_t{1} << (rng() % 63);
        last = va + len - 1 - (rng() % 2);
        break;
      }
      case 2: last = ~std::uint64_t{0}; break;  // up to the end of the space
      default: last = va + (rng() >> (rng() % 64)); break;
    }
    if (last < va) last = ~std::uint64_t{0};
    ASSERT_EQ(genpt::best_pgsize_lg2(sizes, va, last, oa), reference_best(sizes, va, last, oa))
        << std::hex << "sizes 0x" << sizes << " va 0x" << va << " last 0x" << last << " oa 0x"
        << oa;
  }
}

TEST(BestPgsize, TheWholeSpaceFitsTheLargestSize) {
  EXPECT_EQ(genpt::best_pgsize_lg2(std::uint64_t{1} << 63, 0, ~std::uint64_t{0}, 0), 63u);
  EXPECT_EQ(genpt::best_pgsize_lg2(0x4020'1000, 0, ~std::uint64_t{0}, 0), 30u);
}

TEST(BestPgsize, TheLastPageOfTheSpaceFits) {
  EXPECT_EQ(genpt::best_pgsize_lg2(0x4020'1000, 0xFFFF'FFFF'FFFF'F000, ~std::uint64_t{0}, 0),
            12u);
  EXPECT_EQ(genpt::best_pgsize_lg2(0x4020'1000, 0xFFFF'FFFF'C000'0000, ~std::uint64_t{0},
                                   0x4000'0000),
            30u);
}

TEST(BestPgsize, OaAlignmentLimitsTheSize) {
  EXPECT_EQ(genpt::best_pgsize_lg2(0x4020'1000, 0x4000'0000, 0x7FFF'FFFF, 0x20'0000), 21u);
  EXPECT_EQ(genpt::best_pgsize_lg2(0x4020'1000, 0x4000'0000, 0x7FFF'FFFF, 0x1000), 12u);
}

TEST(BestPgsize, NoSizeFitsGivesZero) {
  EXPECT_EQ(genpt::best_pgsize_lg2(0x20'0000, 0x1000, 0x3F'FFFF, 0x1000), 0u);
  EXPECT_EQ(genpt::best_pgsize_lg2(0x20'0000, 0x20'0000, 0x3F'FFFE, 0x20'0000), 0u);
  EXPECT_EQ(genpt::best_pgsize_lg2(0, 0, ~std::uint64_t{0}, 0), 0u);
}

}  // namespace
