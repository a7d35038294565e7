// genpt/core/types.hpp - the vocabulary shared by every layer.
//
// Glossary (the same in code, docs and dumps):
//   va      input address (VA, IOVA, IPA);   oa  output address (PA, IPA).
//   level   0 is the table of the smallest leaves; the top is top_level.
//   item    one slot table[index];  entry  one logical translation: one item,
//           or the run of items that form one contiguous translation.
//   _lg2    every log2-encoded quantity carries this suffix.
//   last    inclusive bound;  end  exclusive bound.
#pragma once

#include <cstdint>

namespace genpt {

using va_t = std::uint64_t;  ///< input address
using oa_t = std::uint64_t;  ///< output address

/// What one item of a table holds, as the format decodes it.
enum class entry_kind : std::uint8_t { empty, table, leaf };

/// IOMMU-style protection, the portable way to ask for attributes.
/// A format turns it into descriptor bits (see each format's attrs_from_prot).
/// Every flag is honoured or refused, never dropped: a map needs `read` or
/// `write` and no unknown bit, and cannot be both mmio and cache (else
/// errc::invalid_argument, see prot_valid); a flag the format cannot
/// express is errc::not_supported (format_traits::prot_supported). Where a
/// format cannot withhold read (x86-64, ARMv8 stage 1), `write` alone maps
/// readable memory too.
enum class prot : unsigned {
  none = 0,
  read = 1,    ///< device/CPU may read
  write = 2,   ///< device/CPU may write
  cache = 4,   ///< cacheable / coherent memory
  noexec = 8,  ///< no instruction fetch
  mmio = 16,   ///< device memory
  priv = 32,   ///< privileged (supervisor) access only
};

constexpr prot operator|(prot a, prot b) noexcept {
  return static_cast<prot>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr prot operator&(prot a, prot b) noexcept {
  return static_cast<prot>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr prot operator~(prot a) noexcept {
  return static_cast<prot>(~static_cast<unsigned>(a) & 63u);
}
constexpr prot& operator|=(prot& a, prot b) noexcept { return a = a | b; }
constexpr prot& operator&=(prot& a, prot b) noexcept { return a = a & b; }
/// True when every flag of `want` is in `p`.
constexpr bool has(prot p, prot want) noexcept { return (p & want) == want && want != prot::none; }
/// True when `p` is a well-formed request, whatever the format: read or
/// write, no bit outside the flags above, and not both mmio and cache
/// (device memory is never cacheable). page_table::map(prot) and
/// protect(prot) refuse anything else with errc::invalid_argument.
constexpr bool prot_valid(prot p) noexcept {
  return (static_cast<unsigned>(p) & ~63u) == 0 && (p & (prot::read | prot::write)) != prot::none &&
         !has(p, prot::mmio | prot::cache);
}

/// Geometry a table reports to its user (upstream: get_info).
struct table_info {
  std::uint64_t pgsize_bitmap = 0;  ///< bit n set: leaves of 2^n bytes can be made
  unsigned va_lg2 = 0;              ///< VA bits the table decodes (sign bit included)
  unsigned oa_lg2 = 0;              ///< OA bits an entry may use
  unsigned top_level = 0;           ///< current top level (inclusive)
};

/// One leaf as for_each_leaf reports it: the whole entry.
template <class Attrs>
struct leaf_view {
  va_t va;           ///< first va of the entry
  oa_t oa;           ///< oa of the entry's first byte
  unsigned size_lg2;  ///< bytes the entry translates, log2
  unsigned level;     ///< table level the entry sits at
  Attrs attrs;        ///< the format's attributes of the entry
};

/// One raw item as for_each_item reports it (dumps, debuggers).
struct item_view {
  va_t va;           ///< first va the item translates
  std::uint64_t word;  ///< the raw descriptor
  unsigned level;    ///< table level
  unsigned index;    ///< index in its table
  entry_kind kind;   ///< how the format classifies it
};

}  // namespace genpt
