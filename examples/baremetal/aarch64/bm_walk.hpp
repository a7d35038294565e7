// bm_walk.hpp - reads a genpt::armv8 table the way the MMU walks it (Arm
// ARM D8.2 "Translation tables and the translation process"), so a kernel
// can check which descriptor the hardware uses for an address (and the
// negative control can corrupt one). The tables are identity mapped.
#pragma once

#include <cstdint>

#include "genpt/core/types.hpp"

namespace bm {

/// Where a walk stopped.
struct found {
  std::uint64_t* item = nullptr;  ///< the leaf or empty item
  unsigned level = 0;             ///< its genpt level (Arm level = 3 - level)
};

/// Walks the table described by hw for va (va_lg2 input bits; TTBR1 and
/// concatenated stage 2 tops included: the top decodes all bits above its
/// level) to the first leaf or empty item.
template <class Fmt>
found walk(const typename Fmt::hw_info& hw, unsigned va_lg2, std::uint64_t va) {
  unsigned level = hw.levels - 1;
  std::uint64_t* table = reinterpret_cast<std::uint64_t*>(hw.root);
  const std::uint64_t in = va & ((std::uint64_t{1} << va_lg2) - 1);
  for (;;) {
    const unsigned bits = level == hw.levels - 1 ? va_lg2 - Fmt::item_lg2(level) : Fmt::bits_per_level;
    std::uint64_t* item = table + ((in >> Fmt::item_lg2(level)) & ((std::uint64_t{1} << bits) - 1));
    const std::uint64_t e = *item;
    if (Fmt::classify(e, level) != genpt::entry_kind::table || level == 0) return {item, level};
    table = reinterpret_cast<std::uint64_t*>(e & Fmt::ADDR48);  // next-level table address, D8.3.1
    --level;
  }
}

}  // namespace bm
