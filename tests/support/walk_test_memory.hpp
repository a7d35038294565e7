// tests/support/walk_test_memory.hpp - a hand-written table image for the
// hardware walker's tests (genpt/walk/).
//
// map_memory holds the words a test writes by hand at oas it chooses; every
// other 8-byte aligned oa below `limit` reads as zero (RAM never written),
// and an oa at or above `limit` (or unaligned) is a bus error. It logs every
// oa the walker reads and every compare-exchange it performs, so a test can
// check the walker touched exactly what the hardware would.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "genpt/core/types.hpp"
#include "genpt/walk/types.hpp"

namespace genpt::test {

struct map_memory {
  std::map<oa_t, std::uint64_t> words;
  oa_t limit = oa_t{1} << 40;   ///< oas at or above: bus error
  std::vector<oa_t> reads;      ///< every oa read64 was asked for
  std::vector<oa_t> writes;     ///< every oa a successful cmpxchg64 changed

  void set(oa_t oa, std::uint64_t w) { words[oa] = w; }
  std::uint64_t get(oa_t oa) const {
    auto it = words.find(oa);
    return it == words.end() ? 0 : it->second;
  }

  bool read64(oa_t oa, std::uint64_t& out) {
    reads.push_back(oa);
    if ((oa & 7) != 0 || oa >= limit) return false;
    out = get(oa);
    return true;
  }
  bool cmpxchg64(oa_t oa, std::uint64_t& expected, std::uint64_t desired) {
    if ((oa & 7) != 0 || oa >= limit) return false;
    const std::uint64_t cur = get(oa);
    if (cur != expected) {
      expected = cur;
      return false;
    }
    words[oa] = desired;
    writes.push_back(oa);
    return true;
  }
};

/// The same, without cmpxchg64: a read-only walk_memory.
struct map_memory_ro {
  map_memory m;
  bool read64(oa_t oa, std::uint64_t& out) { return m.read64(oa, out); }
};

/// Expects a fault of kind k at the spec's level (AMD level / x86 table
/// depth: genpt level = spec_level - 1) on the given item and word.
inline void expect_fault(const walk_result& w, fault_kind k, int spec_level, oa_t item,
                         std::uint64_t word) {
  ASSERT_FALSE(w.ok);
  EXPECT_EQ(w.f.kind, k);
  EXPECT_EQ(w.f.spec_level, spec_level);
  EXPECT_EQ(w.f.level, spec_level > 0 ? static_cast<unsigned>(spec_level - 1) : 0u);
  EXPECT_EQ(w.f.item_oa, item);
  EXPECT_EQ(w.f.word, word);
}

}  // namespace genpt::test
