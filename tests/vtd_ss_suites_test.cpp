// tests/vtd_ss_suites_test.cpp - genpt::vtd_ss and genpt::ept through the
// typed battery: conformance, random model, dirty tracking (configs with
// A/D) or dirty_unsupported (without), cut and protect (each with the
// hardware-walker cross-check of support/walk_check.hpp), and the
// allocator suites over arena, deferred-free and incoherent allocators.
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
#include "support/conformance_suite.hpp"
#include "support/dirty_cut_protect_suite.hpp"
#include "support/format_configs.hpp"
#include "support/random_model_suite.hpp"
#include "support/typed_configs.hpp"

namespace genpt::test {

template <class C>
struct vtd_ss_tracks_dirty : std::bool_constant<C::dirty> {};
template <class C>
struct vtd_ss_no_dirty : std::bool_constant<!C::dirty> {};

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

using vtd_ss_types = genpt::test::gtest_types<genpt::test::vtd_ss_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss, conformance, vtd_ss_types, genpt::test::config_names);

using vtd_ss_random_types = genpt::test::random_model_types<genpt::test::vtd_ss_configs>;
INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss, random_model, vtd_ss_random_types, genpt::test::config_names);

using vtd_ss_dirty_types = genpt::test::gtest_types<
    genpt::test::filter_configs<genpt::test::vtd_ss_tracks_dirty, genpt::test::vtd_ss_configs>>;
using vtd_ss_no_dirty_types = genpt::test::gtest_types<
    genpt::test::filter_configs<genpt::test::vtd_ss_no_dirty, genpt::test::vtd_ss_configs>>;
INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss, dirty_tracking, vtd_ss_dirty_types, genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss, dirty_unsupported, vtd_ss_no_dirty_types, genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss, cut_and_protect, vtd_ss_types, genpt::test::config_names);

INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss_allocators, conformance, genpt::test::vtd_ss_allocator_configs,
                               genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(vtd_ss_allocators, random_model, genpt::test::vtd_ss_allocator_configs,
                               genpt::test::config_names);
