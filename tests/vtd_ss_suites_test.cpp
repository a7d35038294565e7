// tests/vtd_ss_suites_test.cpp - genpt::vtd_ss and genpt::ept through the
// typed battery (support/battery.hpp: conformance, random model, dirty
// tracking for configs with A/D and dirty_unsupported without, cut and
// protect, each with the hardware-walker cross-check of
// support/walk_check.hpp, and the IOTLB simulation), and the allocator
// suites over arena, deferred-free and incoherent allocators.
//
// The VT-d / EPT configs (vtd_ss_configs) live in
// support/format_configs.hpp with every other format's, so the fuzz
// harnesses reach them too.
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/deferred_free.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/vtd_ss.hpp"
#include "support/battery.hpp"

namespace genpt::test {

// ------------------------------------------------------------ allocators --
namespace {

constexpr std::size_t kArenaBytes = std::size_t{16} << 20;
alignas(65536) std::byte g_arena_block[kArenaBytes];
constexpr oa_t kArenaBase = 0x4000'0000;

struct with_arena {
  using alloc = arena_levels;
  static alloc make_alloc(level_stats* s) { return arena_levels{g_arena_block, kArenaBytes, kArenaBase, s}; }
};
struct with_deferred {
  using alloc = deferred_free<heap_levels>;
  static alloc make_alloc(level_stats* s) { return alloc{heap_levels{s}}; }
};
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

constexpr char kVtdArena[] = "vtd_ss_3level_arena";
constexpr char kVtdIncoherent[] = "vtd_ss_4level_incoherent";  // bit 9 as the flush-done bit
constexpr char kEptArena[] = "ept_4level_arena";
constexpr char kEptDeferred[] = "ept_4level_deferred";

using vtd_ss_allocator_configs =
    ::testing::Types<combo<vtd_ss_3level_ad, with_arena, kVtdArena>,
                     combo<vtd_ss_4level, with_incoherent, kVtdIncoherent>,
                     combo<ept_4level_ad, with_arena, kEptArena>,
                     combo<ept_4level_ad, with_deferred, kEptDeferred>>;

}  // namespace
}  // namespace genpt::test

// Configs with A/D track dirty state (Config::dirty); the others answer
// not_supported.
GENPT_FORMAT_BATTERY(vtd_ss, genpt::test::vtd_ss_configs);
GENPT_DIRTY_UNSUPPORTED(vtd_ss, genpt::test::vtd_ss_configs);

INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss_allocators, conformance, genpt::test::vtd_ss_allocator_configs,
                               genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss_allocators, random_model, genpt::test::vtd_ss_allocator_configs,
                               genpt::test::config_names);
