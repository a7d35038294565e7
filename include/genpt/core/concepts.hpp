// genpt/core/concepts.hpp - the whole contract between genpt's layers.
//
// Three kinds of template argument plug into page_table<Format, Alloc, Flush>:
//
//  * Format - a traits struct that knows the bits of one page-table format.
//  * Alloc  - a level allocator policy: table memory, metadata, freeing.
//  * Flush  - an IOTLB flush policy: turns a gather into invalidations.
//
// Each is a concept here, and each has a check_*<T>() that static_asserts
// one requirement per line, so a bad argument fails with a message naming
// the missing member instead of a page of substitution failures.
// docs/writing-a-format.md walks through the Format contract member by member.
#pragma once

#include <concepts>
#include <cstdint>

#include "genpt/core/format_traits.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/table_list.hpp"
#include "genpt/core/types.hpp"

namespace genpt {

class gather;
struct iotlb_flush;

// ---------------------------------------------------------------- Format --
//
// Required members (all hooks static, constexpr where they touch only bits):
//   using word_t = std::uint64_t;          item word
//   struct config;                          what the user asks for
//   struct params : table_params;           validated geometry + format state
//   struct attrs;                           full-control leaf attributes (==)
//   struct hw_info;                         what a driver programs (has .root)
//   granule_lg2, table_lg2, top_align_lg2, max_top_level, max_va_lg2, max_oa_lg2
//   result<params> init(const config&)
//   entry_kind classify(word_t, unsigned level)
//   oa_t table_oa(word_t, const params&)
//   word_t make_table(oa_t, unsigned level, const params&)
//   oa_t entry_oa(word_t, unsigned level, const params&)      oa of the entry start
//   std::uint64_t leaf_sizes(unsigned level, const params&)   bitmap of leaf sizes
//   word_t make_leaf(oa_t, unsigned size_lg2, unsigned level, const attrs&, const params&)
//   attrs attrs_of(word_t, unsigned level, const params&)
//   attrs attrs_from_prot(prot, const params&)
//   hw_info make_hw_info(oa_t root, unsigned top_level, const params&)
//   const char* level_name(unsigned level, const params&)     spec name, for dumps
// Optional, each with its default in format_traits.hpp and nowhere else
// (every caller goes through format_traits<F>): item_lg2, table_lg2_at,
//   entry_size_lg2, single_leaf_bits, single_leaf_oa, table_item_form,
//   leaf_item_step,
//   top_table_lg2, encode_oa,
//   prot_supported, may_grow_top, root_fits, attrs_valid, sw_bit_mask, the
//   dirty hooks is_write_dirty / make_write_clean / make_write_dirty /
//   dirty_supported, the live-update hooks bbm_level / change_needs_bbm /
//   nt_bit, and attrs::for_each_field (genpt/fmt.hpp's formatter and dumps).
// Needed only by the SMMUv3 command builder (flush/commands.hpp):
//   int spec_level(unsigned level)  the spec's lookup level (TTL).

template <class F>
concept format_has_types = requires {
  typename F::word_t;
  typename F::config;
  typename F::params;
  typename F::attrs;
  typename F::hw_info;
};

template <class F>
concept format = format_has_types<F> &&
    std::same_as<typename F::word_t, std::uint64_t> &&
    std::derived_from<typename F::params, table_params> &&
    requires(typename F::word_t e, unsigned level, oa_t oa, const typename F::params& p,
             const typename F::config& c, const typename F::attrs& a, prot pr) {
      { F::granule_lg2 } -> std::convertible_to<unsigned>;
      { F::table_lg2 } -> std::convertible_to<unsigned>;
      { F::top_align_lg2 } -> std::convertible_to<unsigned>;
      { F::max_top_level } -> std::convertible_to<unsigned>;
      { F::max_va_lg2 } -> std::convertible_to<unsigned>;
      { F::max_oa_lg2 } -> std::convertible_to<unsigned>;
      { F::init(c) } -> std::same_as<result<typename F::params>>;
      { F::classify(e, level) } -> std::same_as<entry_kind>;
      { F::table_oa(e, p) } -> std::same_as<oa_t>;
      { F::make_table(oa, level, p) } -> std::same_as<typename F::word_t>;
      { F::entry_oa(e, level, p) } -> std::same_as<oa_t>;
      { F::leaf_sizes(level, p) } -> std::same_as<std::uint64_t>;
      { F::make_leaf(oa, level, level, a, p) } -> std::same_as<typename F::word_t>;
      { F::attrs_of(e, level, p) } -> std::same_as<typename F::attrs>;
      { F::attrs_from_prot(pr, p) } -> std::same_as<typename F::attrs>;
      { F::make_hw_info(oa, level, p) } -> std::same_as<typename F::hw_info>;
      { F::level_name(level, p) } -> std::convertible_to<const char*>;
      { a == a } -> std::convertible_to<bool>;
    };

/// Fails compilation with one message per missing Format member.
template <class F>
consteval bool check_format() {
  static_assert(requires { typename F::word_t; }, "genpt Format: missing `using word_t = std::uint64_t;`");
  static_assert(requires { typename F::config; }, "genpt Format: missing nested `struct config`");
  static_assert(requires { typename F::params; }, "genpt Format: missing nested `struct params : genpt::table_params`");
  static_assert(requires { typename F::attrs; }, "genpt Format: missing nested `struct attrs`");
  static_assert(requires { typename F::hw_info; }, "genpt Format: missing nested `struct hw_info`");
  if constexpr (format_has_types<F>) {
    using W = typename F::word_t;
    using P = typename F::params;
    using A = typename F::attrs;
    static_assert(std::same_as<W, std::uint64_t>, "genpt Format: word_t must be std::uint64_t");
    static_assert(std::derived_from<P, table_params>, "genpt Format: params must derive from genpt::table_params");
    static_assert(requires { { F::granule_lg2 } -> std::convertible_to<unsigned>; }, "genpt Format: missing `static constexpr unsigned granule_lg2`");
    static_assert(requires { { F::table_lg2 } -> std::convertible_to<unsigned>; }, "genpt Format: missing `static constexpr unsigned table_lg2`");
    static_assert(requires { { F::top_align_lg2 } -> std::convertible_to<unsigned>; }, "genpt Format: missing `static constexpr unsigned top_align_lg2`");
    static_assert(requires { { F::max_top_level } -> std::convertible_to<unsigned>; }, "genpt Format: missing `static constexpr unsigned max_top_level`");
    static_assert(requires { { F::max_va_lg2 } -> std::convertible_to<unsigned>; }, "genpt Format: missing `static constexpr unsigned max_va_lg2`");
    static_assert(requires { { F::max_oa_lg2 } -> std::convertible_to<unsigned>; }, "genpt Format: missing `static constexpr unsigned max_oa_lg2`");
    static_assert(requires(const typename F::config& c) { { F::init(c) } -> std::same_as<result<P>>; }, "genpt Format: missing `static result<params> init(const config&)`");
    static_assert(requires(W e, unsigned l) { { F::classify(e, l) } -> std::same_as<entry_kind>; }, "genpt Format: missing `static constexpr entry_kind classify(word_t, unsigned level)`");
    static_assert(requires(W e, const P& p) { { F::table_oa(e, p) } -> std::same_as<oa_t>; }, "genpt Format: missing `static constexpr oa_t table_oa(word_t, const params&)`");
    static_assert(requires(oa_t oa, unsigned l, const P& p) { { F::make_table(oa, l, p) } -> std::same_as<W>; }, "genpt Format: missing `static constexpr word_t make_table(oa_t, unsigned level, const params&)`");
    static_assert(requires(W e, unsigned l, const P& p) { { F::entry_oa(e, l, p) } -> std::same_as<oa_t>; }, "genpt Format: missing `static constexpr oa_t entry_oa(word_t, unsigned level, const params&)`");
    static_assert(requires(unsigned l, const P& p) { { F::leaf_sizes(l, p) } -> std::same_as<std::uint64_t>; }, "genpt Format: missing `static constexpr std::uint64_t leaf_sizes(unsigned level, const params&)`");
    static_assert(requires(oa_t oa, unsigned l, const A& a, const P& p) { { F::make_leaf(oa, l, l, a, p) } -> std::same_as<W>; }, "genpt Format: missing `static constexpr word_t make_leaf(oa_t, unsigned size_lg2, unsigned level, const attrs&, const params&)`");
    static_assert(requires(W e, unsigned l, const P& p) { { F::attrs_of(e, l, p) } -> std::same_as<A>; }, "genpt Format: missing `static constexpr attrs attrs_of(word_t, unsigned level, const params&)`");
    static_assert(requires(prot pr, const P& p) { { F::attrs_from_prot(pr, p) } -> std::same_as<A>; }, "genpt Format: missing `static constexpr attrs attrs_from_prot(prot, const params&)`");
    static_assert(requires(oa_t oa, unsigned l, const P& p) { { F::make_hw_info(oa, l, p) } -> std::same_as<typename F::hw_info>; }, "genpt Format: missing `static constexpr hw_info make_hw_info(oa_t root, unsigned top_level, const params&)`");
    static_assert(requires(unsigned l, const P& p) { { F::level_name(l, p) } -> std::convertible_to<const char*>; }, "genpt Format: missing `static constexpr const char* level_name(unsigned level, const params&)`");
    static_assert(requires(const A& a) { { a == a } -> std::convertible_to<bool>; }, "genpt Format: attrs must be equality comparable");
  }
  return format<F>;
}

// ------------------------------------------------------- level allocator --
//
//   table_alloc allocate(unsigned size_lg2) noexcept   zeroed, aligned to its
//                                                      size in va and oa
//   void* phys_to_virt(oa_t) const noexcept
//   table_link& link_of(void* table, unsigned size_lg2) noexcept
//   void free(table_list&) noexcept                    releases every table
// Optional: read_guard() (RAII read-side section for deferred freeing),
//   clean(const void*, std::size_t) (cache maintenance for incoherent walkers),
//   std::uintptr_t linear_offset() const noexcept (phys_to_virt(oa) is the
//   address oa + linear_offset(): iova_to_phys's one-add table step).
// Every member may be called from several threads at once.

template <class A>
concept level_allocator =
    requires(A& a, const A& ca, unsigned lg2, oa_t oa, void* p, table_list& l) {
      { a.allocate(lg2) } noexcept -> std::same_as<table_alloc>;
      { ca.phys_to_virt(oa) } noexcept -> std::same_as<void*>;
      { a.link_of(p, lg2) } noexcept -> std::same_as<table_link&>;
      { a.free(l) } noexcept;
    };

template <class A>
consteval bool check_level_allocator() {
  static_assert(requires(A& a, unsigned lg2) { { a.allocate(lg2) } noexcept -> std::same_as<table_alloc>; }, "genpt Alloc: missing `table_alloc allocate(unsigned size_lg2) noexcept`");
  static_assert(requires(const A& a, oa_t oa) { { a.phys_to_virt(oa) } noexcept -> std::same_as<void*>; }, "genpt Alloc: missing `void* phys_to_virt(oa_t) const noexcept`");
  static_assert(requires(A& a, void* p, unsigned lg2) { { a.link_of(p, lg2) } noexcept -> std::same_as<table_link&>; }, "genpt Alloc: missing `table_link& link_of(void* table, unsigned size_lg2) noexcept`");
  static_assert(requires(A& a, table_list& l) { { a.free(l) } noexcept; }, "genpt Alloc: missing `void free(table_list&) noexcept`");
  return level_allocator<A>;
}

// ---------------------------------------------------------- flush policy --
//
//   bool must_flush_before(const gather&, va_t va, va_t last) const noexcept
//        true when the pending gather must be synced before [va, last] joins it
//   void flush(const gather&) noexcept   invalidate what the gather describes
//   void flush_now(const iotlb_flush&) noexcept
//        invalidate exactly that range and wait until the hardware holds
//        nothing of it (break-before-make, core/bbm.hpp)
// Optional: change_top(oa_t root, unsigned top_level) noexcept for growable
//   tops. Sinks may add flush_all() noexcept for queued gathers.

template <class F>
concept flush_policy = requires(F& f, const F& cf, const gather& g, va_t va, const iotlb_flush& r) {
  { cf.must_flush_before(g, va, va) } noexcept -> std::same_as<bool>;
  { f.flush(g) } noexcept;
  { f.flush_now(r) } noexcept;
};

template <class F>
consteval bool check_flush_policy() {
  static_assert(requires(const F& f, const gather& g, va_t va) { { f.must_flush_before(g, va, va) } noexcept -> std::same_as<bool>; }, "genpt Flush: missing `bool must_flush_before(const gather&, va_t va, va_t last) const noexcept`");
  static_assert(requires(F& f, const gather& g) { { f.flush(g) } noexcept; }, "genpt Flush: missing `void flush(const gather&) noexcept`");
  static_assert(requires(F& f, const iotlb_flush& r) { { f.flush_now(r) } noexcept; }, "genpt Flush: missing `void flush_now(const iotlb_flush&) noexcept` (invalidate that range now and wait)");
  return flush_policy<F>;
}

/// What an IOTLB sink receives: a flush policy's sink concept.
template <class S>
concept iotlb_sink = requires(S& s, const iotlb_flush& f) {
  { s.flush(f) } noexcept;
};

}  // namespace genpt
