// tests/riscv_suites_test.cpp - genpt::riscv through the typed battery
// (support/battery.hpp: conformance, random model, dirty tracking, cut and
// protect, each with the hardware-walker cross-check of
// support/walk_check.hpp, and the IOTLB simulation), and the allocator
// suites over arena, deferred-free and incoherent allocators.
//
// The RISC-V configs (riscv_configs) live in support/format_configs.hpp
// with every other format's, so the fuzz harnesses reach them too.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/alloc/deferred_free.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/alloc/incoherent.hpp"
#include "genpt/format/riscv.hpp"
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

constexpr char kSv39Arena[] = "riscv_sv39_arena";
constexpr char kSv39x4Arena[] = "riscv_sv39x4_arena";  // 16 KiB root from the arena
constexpr char kSv48Deferred[] = "riscv_sv48_deferred";
constexpr char kSv39Incoherent[] = "riscv_sv39_incoherent";  // RSW bit 8 as the flush-done bit

using riscv_allocator_configs =
    ::testing::Types<combo<riscv_sv39, with_arena, kSv39Arena>, combo<riscv_sv39x4, with_arena, kSv39x4Arena>,
                     combo<riscv_sv48, with_deferred, kSv48Deferred>,
                     combo<riscv_sv39, with_incoherent, kSv39Incoherent>>;

}  // namespace
}  // namespace genpt::test

// RISC-V always tracks dirty state (the D bit).
GENPT_FORMAT_BATTERY(riscv, genpt::test::riscv_configs);

INSTANTIATE_TYPED_TEST_SUITE_P(riscv_allocators, conformance, genpt::test::riscv_allocator_configs,
                               genpt::test::config_names);
INSTANTIATE_TYPED_TEST_SUITE_P(riscv_allocators, random_model, genpt::test::riscv_allocator_configs,
                               genpt::test::config_names);
