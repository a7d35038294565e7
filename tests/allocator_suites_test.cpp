// The typed conformance and random-model suites, run with every level
// allocator genpt ships besides heap_levels: arena_levels (caller memory at
// a chosen output address, sub-page tables), deferred_free (epoch-based
// freeing) and incoherent (cache cleaning for non-snooping walkers), over
// configs of every format.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/deferred_free.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/format/vtd_ss.hpp"
#include "support/conformance_suite.hpp"
#include "support/format_configs.hpp"
#include "support/random_model_suite.hpp"

namespace genpt::test {
namespace {

// One block serves every arena config: the tests of a binary run one after
// another and each table is destroyed before the next arena is built.
constexpr std::size_t kArenaBytes = std::size_t{32} << 20;
alignas(65536) std::byte g_arena_block[kArenaBytes];
constexpr oa_t kArenaBase = 0x4000'0000;  // below 2^32: fits every config's OA size

struct with_arena {
  using alloc = arena_levels;
  static alloc make_alloc(level_stats* s) {
    return arena_levels{g_arena_block, kArenaBytes, kArenaBase, s};
  }
};
struct with_deferred {
  using alloc = deferred_free<heap_levels>;
  static alloc make_alloc(level_stats* s) { return alloc{heap_levels{s}}; }
};
/// Deferred freeing for an OA narrower than host addresses (genpt refuses a
/// table above 2^oa_lg2): heap tables at oas below 2^32.
struct with_deferred_low_oa {
  using alloc = deferred_free<low_oa_levels>;
  static alloc make_alloc(level_stats* s) { return alloc{low_oa_levels{s}}; }
};
/// Cache operations that only count: the device-view checks live in
/// incoherent_device_test; here the suites check the CPU view is unchanged.
struct counting_ops {
  std::size_t* bytes = nullptr;
  void clean(const void*, std::size_t n) noexcept { *bytes += n; }
};
std::size_t g_cleaned = 0;
struct with_incoherent {
  using alloc = incoherent<heap_levels, counting_ops>;
  static alloc make_alloc(level_stats* s) { return alloc{heap_levels{s}, counting_ops{&g_cleaned}}; }
};

template <class Base, class With, const char* Name>
struct combo : Base, With {
  using alloc = typename With::alloc;
  using With::make_alloc;
  static constexpr const char* name = Name;
};

template <unsigned G, unsigned S, unsigned Va, unsigned Oa, unsigned Features = 0>
struct armv8_cfg {
  using format = armv8<G, S>;
  static typename format::config config() {
    typename format::config c;
    c.va_lg2 = Va;
    c.oa_lg2 = Oa;
    c.features = Features;
    return c;
  }
  static std::vector<va_window> windows() { return low_windows(Va); }
  static constexpr unsigned random_ops = 5000;
};

constexpr char kX86Arena[] = "x86_64_4level_arena";
constexpr char kX86Deferred[] = "x86_64_4level_deferred";
constexpr char kX86Incoherent[] = "x86_64_4level_incoherent";
constexpr char kAmdArena[] = "amdv1_mode3_arena";
constexpr char kArm4kArena[] = "armv8_4k_s1_32_arena";        // 32-byte top table
constexpr char kArm16kArena[] = "armv8_16k_s1_48_arena";      // 32-byte top of 2 items
constexpr char kArm64kS2Arena[] = "armv8_64k_s2_42_arena";    // 64 KiB tables
constexpr char kArm4kIncoherent[] = "armv8_4k_s1_48_incoherent";
constexpr char kArm4kDeferred[] = "armv8_4k_s2_40_deferred";  // concatenated top
constexpr char kSv39Arena[] = "riscv_sv39_arena";
constexpr char kSv39x4Arena[] = "riscv_sv39x4_arena";  // 16 KiB root from the arena
constexpr char kSv48Deferred[] = "riscv_sv48_deferred";
constexpr char kSv39Incoherent[] = "riscv_sv39_incoherent";  // RSW bit 8 as the flush-done bit
constexpr char kVtdArena[] = "vtd_ss_3level_arena";
constexpr char kVtdIncoherent[] = "vtd_ss_4level_incoherent";  // bit 9 as the flush-done bit
constexpr char kEptArena[] = "ept_4level_arena";
constexpr char kEptDeferred[] = "ept_4level_deferred";

using x86_arena = combo<x86_64_4level, with_arena, kX86Arena>;
using x86_deferred = combo<x86_64_4level, with_deferred, kX86Deferred>;
using x86_incoherent = combo<x86_64_4level, with_incoherent, kX86Incoherent>;
using amd_arena = combo<amdv1_mode3, with_arena, kAmdArena>;
using arm4k_arena = combo<armv8_cfg<12, 1, 32, 36>, with_arena, kArm4kArena>;
using arm16k_arena = combo<armv8_cfg<14, 1, 48, 48>, with_arena, kArm16kArena>;
using arm64k_s2_arena = combo<armv8_cfg<16, 2, 42, 42>, with_arena, kArm64kS2Arena>;
using arm4k_incoherent = combo<armv8_cfg<12, 1, 48, 48, armv8<12, 1>::noncoherent_walk>, with_incoherent,
                               kArm4kIncoherent>;
using arm4k_deferred = combo<armv8_cfg<12, 2, 40, 40>, with_deferred_low_oa, kArm4kDeferred>;

/// Each allocator over a config of each format (the formats' own lists
/// are in support/format_configs.hpp).
using allocator_configs = ::testing::Types<
    x86_arena, x86_deferred, x86_incoherent, amd_arena, arm4k_arena, arm16k_arena, arm64k_s2_arena,
    arm4k_incoherent, arm4k_deferred, combo<riscv_sv39, with_arena, kSv39Arena>,
    combo<riscv_sv39x4, with_arena, kSv39x4Arena>, combo<riscv_sv48, with_deferred, kSv48Deferred>,
    combo<riscv_sv39, with_incoherent, kSv39Incoherent>, combo<vtd_ss_3level_ad, with_arena, kVtdArena>,
    combo<vtd_ss_4level, with_incoherent, kVtdIncoherent>, combo<ept_4level_ad, with_arena, kEptArena>,
    combo<ept_4level_ad, with_deferred, kEptDeferred>>;

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(allocators, conformance, allocator_configs, config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(allocators, random_model, allocator_configs, config_names);

}  // namespace genpt::test
