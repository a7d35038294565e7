// tests/support/sim_noncoherent.hpp - a simulated table walker that does not
// snoop CPU caches, for incoherent<A, CacheOps> tests.
//
// sim_device keeps the device's view of an arena_levels block: a copy that
// changes only when a cache line is cleaned (then the whole 64-byte line is
// copied from the CPU's memory). It starts as a poison pattern, so a table
// or item that was never cleaned reads as garbage and gives wrong
// translations or faults. sim_cache_ops is the CacheOps that feeds it and
// logs every clean. device_translate walks the device view exactly as the
// hardware would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/core/format_traits.hpp"
#include "genpt/core/log2.hpp"

namespace genpt::test {

/// The memory a non-snooping device sees. Concurrency: one thread.
class sim_device {
 public:
  static constexpr std::size_t line_size = 64;
  static constexpr std::byte poison{0xA5};

  /// Mirrors [cpu, cpu + bytes), which the device addresses as base_oa + offset.
  sim_device(const std::byte* cpu, std::size_t bytes, std::uint64_t base_oa)
      : cpu_(cpu), base_oa_(base_oa), view_(bytes, poison) {}

  /// One clean event, as the allocator asked it (offsets into the block).
  struct clean_event {
    std::size_t offset;
    std::size_t bytes;
  };

  /// Copies every line overlapping [p, p + n) from the CPU's memory.
  void clean(const void* p, std::size_t n) {
    const auto off = static_cast<std::size_t>(static_cast<const std::byte*>(p) - cpu_);
    log_.push_back({off, n});
    for (std::size_t a = off & ~(line_size - 1); a < off + n; a += line_size) {
      std::memcpy(view_.data() + a, cpu_ + a, line_size);
      ++lines_;
    }
  }

  /// The 8-byte item at `oa` as the device reads it; nullopt outside the block.
  std::optional<std::uint64_t> read(std::uint64_t oa) const {
    if (oa < base_oa_ || oa - base_oa_ + 8 > view_.size()) return std::nullopt;
    std::uint64_t v;
    std::memcpy(&v, view_.data() + (oa - base_oa_), 8);
    return v;
  }
  /// Overwrites the device's copy of the item at `oa` (to fake a stale line).
  void write(std::uint64_t oa, std::uint64_t v) {
    std::memcpy(view_.data() + (oa - base_oa_), &v, 8);
  }

  std::size_t lines_cleaned() const { return lines_; }
  const std::vector<clean_event>& log() const { return log_; }
  void clear_log() {
    log_.clear();
    lines_ = 0;
  }

 private:
  const std::byte* cpu_;
  std::uint64_t base_oa_;
  std::vector<std::byte> view_;
  std::vector<clean_event> log_;
  std::size_t lines_ = 0;
};

/// CacheOps for incoherent<>: cleaning feeds the simulated device.
struct sim_cache_ops {
  sim_device* dev = nullptr;
  void clean(const void* p, std::size_t n) noexcept { dev->clean(p, n); }
};

/// What the device's walk gives for one va.
struct device_result {
  bool fault = false;  ///< the walk left the block (garbage pointer)
  std::optional<std::uint64_t> oa;
  friend bool operator==(const device_result&, const device_result&) = default;
  friend void PrintTo(const device_result& r, std::ostream* os) {
    if (r.fault)
      *os << "fault";
    else if (r.oa)
      *os << std::hex << "oa 0x" << *r.oa << std::dec;
    else
      *os << "no translation";
  }
};

/// Walks the device's view from `root` like the hardware would.
template <class Format>
device_result device_translate(const sim_device& d, const typename Format::params& p,
                               std::uint64_t root, unsigned top_level, std::uint64_t va) {
  using traits = format_traits<Format>;
  std::uint64_t table = root;
  unsigned span = traits::top_span_lg2(p, top_level);
  for (unsigned level = top_level;; --level) {
    const std::optional<std::uint64_t> e = d.read(table + 8 * traits::index_of(va, level, span));
    if (!e) return {true, std::nullopt};
    switch (Format::classify(*e, level)) {
      case entry_kind::empty:
        return {false, std::nullopt};
      case entry_kind::leaf:
        return {false, Format::entry_oa(*e, level, p) | log2_mod(va, traits::entry_size_lg2(*e, level))};
      case entry_kind::table:
        if (level == 0) return {true, std::nullopt};
        table = Format::table_oa(*e, p);
        span = traits::item_lg2(level);
        break;
    }
  }
}

}  // namespace genpt::test
