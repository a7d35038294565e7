// genpt/walk/walk.hpp - the hardware-faithful walker's entry point.
//
// walk<Format>(params, root, va, access, memory) translates one va the way
// the hardware walks Format's tables, reading table memory only through the
// caller's memory object (genpt/walk/memory.hpp). Each format's rules live
// in a specialisation of hw_walker<Format> (genpt/walk/x86_64.hpp,
// amdv1.hpp, ...), written from the format's specification, not from
// genpt's own format hooks: a table someone else built is untrusted input.
//
// hw_walker<Format> has:
//   struct regs;    the register state the walk depends on (paging mode,
//                   permission switches, address widths), default
//                   constructed to what genpt's builder produces
//   static regs regs_from(const typename Format::params&, unsigned top_level);
//                   the registers genpt's hw_info describes for a table
//   template <walk_memory M>
//   static walk_result walk(const regs&, oa_t root, va_t va, access, M&,
//                           bool set_ad = false);
//                   one translation; set_ad (needs walk_memory_rw) sets
//                   Accessed / Dirty in memory as the hardware does
//
// Every walk is a loop bounded by the level count (no recursion, no cycle
// possible), allocates nothing and throws nothing.
#pragma once

#include <cstdint>
#include <type_traits>

#include "genpt/walk/memory.hpp"
#include "genpt/walk/types.hpp"

namespace genpt {

/// The hardware walker of Format; specialised per format (see above).
template <class Format>
struct hw_walker;

/// Translates `va` through the table at `root` with the registers genpt's
/// hw_info gives for `p` (hw_walker<Format>::regs_from(p, p.top_level)).
/// p.top_level is the level the table was created with: for a table whose
/// top has grown since (amdv1 dynamic_top), use the overload below with
/// regs_from(p, current top level).
/// Errors: a walk_result with ok = false and the fault the hardware would
/// raise (never an exception). Concurrency: reads only through `mem`; safe
/// against concurrent table changes exactly as far as `mem` is.
template <class Format, walk_memory M>
walk_result walk(const typename Format::params& p, oa_t root, va_t va, access a, M& mem) {
  return hw_walker<Format>::walk(hw_walker<Format>::regs_from(p, p.top_level), root, va, a, mem);
}

/// Translates `va` with explicit registers `r` (a foreign table, another
/// paging mode, other permission switches). With set_ad (needs a
/// walk_memory_rw) Accessed / Dirty are set in memory as the hardware sets
/// them. Errors and concurrency: as above.
template <class Format, walk_memory M>
walk_result walk(const typename hw_walker<Format>::regs& r, oa_t root, va_t va, access a, M& mem,
                 bool set_ad = false) {
  return hw_walker<Format>::walk(r, root, va, a, mem, set_ad);
}

namespace detail {

/// How setting hardware-managed bits in one descriptor ended.
enum class hw_bits_update : std::uint8_t {
  done,       ///< the bits are set (or were already)
  changed,    ///< another agent changed the descriptor: the walk restarts
  bus_error,  ///< the memory object could not write it
};

/// Sets `bits` in the descriptor at `item_oa` that the walk used as
/// `used`, by compare-exchange (the hardware's locked update). When another
/// agent changed only bits of `hw_bits` (A/D) meanwhile, retries on the new
/// value; any other change means the walk used a stale descriptor. On done,
/// `used` is the descriptor as now in memory. Bounded: 16 tries.
template <walk_memory_rw M>
hw_bits_update set_hw_bits(M& mem, oa_t item_oa, std::uint64_t& used, std::uint64_t bits,
                           std::uint64_t hw_bits) {
  std::uint64_t expected = used;
  for (unsigned tries = 0; tries < 16; ++tries) {
    if ((expected | bits) == expected) {
      used = expected;
      return hw_bits_update::done;
    }
    const std::uint64_t before = expected;
    if (mem.cmpxchg64(item_oa, expected, before | bits)) {
      used = before | bits;
      return hw_bits_update::done;
    }
    if (expected == before) return hw_bits_update::bus_error;  // refused, not raced
    if ((expected & ~hw_bits) != (used & ~hw_bits)) return hw_bits_update::changed;
  }
  return hw_bits_update::changed;
}

/// Walks restarted at most this often when descriptors change under an
/// A/D-setting walk; then the walk reports bus_error.
inline constexpr unsigned max_walk_restarts = 16;

/// Runs a format's one-pass walk `one(std::bool_constant<SetAd>, res)`
/// (false: an item changed under an A/D update, walk again). With set_ad
/// (possible only when CanSetAd: the memory is writable) at most
/// 1 + max_walk_restarts passes, keeping the last pass's bus_error when none
/// settles; otherwise one read-only pass.
template <bool CanSetAd, class OneWalk>
walk_result run_walk(bool set_ad, OneWalk&& one) {
  walk_result res;
  if constexpr (CanSetAd) {
    if (set_ad) {
      for (unsigned i = 0; i <= max_walk_restarts; ++i)
        if (one(std::true_type{}, res)) return res;
      return res;
    }
  }
  one(std::false_type{}, res);
  return res;
}

/// A fault value.
constexpr walk_result make_fault(fault_kind k, unsigned level, int spec_level, oa_t item_oa,
                                 std::uint64_t word) noexcept {
  walk_result r;
  r.ok = false;
  r.f = fault{k, level, spec_level, item_oa, word};
  return r;
}

}  // namespace detail

}  // namespace genpt

// The format walkers (each includes this header for the primary template).
#include "genpt/walk/amdv1.hpp"
#include "genpt/walk/armv8.hpp"
#include "genpt/walk/riscv.hpp"
#include "genpt/walk/vtd_ss.hpp"
#include "genpt/walk/x86_64.hpp"
