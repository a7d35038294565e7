// genpt/core/result.hpp - errors as values: errc and result<T>.
//
// result<T> is shaped like C++23 std::expected<T, errc>: has_value(),
// explicit operator bool, operator*, operator->, value(), error(). It never
// throws; value() on an error is a contract violation (GENPT_ASSERT).
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "genpt/core/assert.hpp"

#if __STDC_HOSTED__
#include <string>
#include <system_error>
#endif

namespace genpt {

/// Every error genpt returns. The values are stable; docs/errors.md explains
/// each one: its meaning, the operations that return it, and the table state
/// after it (always: as it was before the call).
enum class errc : int {
  invalid_argument = 1,  ///< len 0, prot without read/write, bad config
  overflow,              ///< va + len - 1 (or oa + len - 1) wraps
  out_of_range,          ///< va outside the table, oa above max_oa, table cannot grow further
  misaligned,            ///< no page size fits the alignment of va/oa/len
  address_in_use,        ///< map over an existing leaf
  no_memory,             ///< the allocator failed
  not_supported,         ///< feature or operation the format/config lacks
  not_found,             ///< no translation where one was required
  busy,                  ///< a compare-exchange lost a race with a concurrent update; retry
};

/// The stable name of an errc ("invalid_argument", ...).
constexpr const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::overflow: return "overflow";
    case errc::out_of_range: return "out_of_range";
    case errc::misaligned: return "misaligned";
    case errc::address_in_use: return "address_in_use";
    case errc::no_memory: return "no_memory";
    case errc::not_supported: return "not_supported";
    case errc::not_found: return "not_found";
    case errc::busy: return "busy";
  }
  return "unknown";
}

/// Tag that builds a result holding an error: `return unexpected(errc::...)`.
struct unexpected {
  errc code;
  constexpr explicit unexpected(errc e) noexcept : code(e) {}
};

/// Value-or-errc. Move-only T is fine. Trivially destructible when T is.
template <class T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  constexpr result(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>)  // NOLINT
      : has_(true) {
    ::new (static_cast<void*>(&val_)) T(v);
  }
  constexpr result(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT
      : has_(true) {
    ::new (static_cast<void*>(&val_)) T(std::move(v));
  }
  constexpr result(unexpected u) noexcept : err_(u.code), has_(false) {}  // NOLINT

  result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : has_(o.has_) {
    if (has_)
      ::new (static_cast<void*>(&val_)) T(std::move(o.val_));
    else
      err_ = o.err_;
  }
  result(const result& o) requires std::is_copy_constructible_v<T> : has_(o.has_) {
    if (has_)
      ::new (static_cast<void*>(&val_)) T(o.val_);
    else
      err_ = o.err_;
  }
  result& operator=(result o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    destroy();
    has_ = o.has_;
    if (has_)
      ::new (static_cast<void*>(&val_)) T(std::move(o.val_));
    else
      err_ = o.err_;
    return *this;
  }
  ~result() { destroy(); }

  constexpr bool has_value() const noexcept { return has_; }
  constexpr explicit operator bool() const noexcept { return has_; }

  constexpr T& value() & noexcept { GENPT_ASSERT(has_, "result::value() on an error"); return val_; }
  constexpr const T& value() const& noexcept { GENPT_ASSERT(has_, "result::value() on an error"); return val_; }
  constexpr T&& value() && noexcept { GENPT_ASSERT(has_, "result::value() on an error"); return std::move(val_); }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr const T& operator*() const& noexcept { return value(); }
  constexpr T&& operator*() && noexcept { return std::move(*this).value(); }
  constexpr T* operator->() noexcept { return &value(); }
  constexpr const T* operator->() const noexcept { return &value(); }

  /// The error; a contract violation when there is a value.
  constexpr errc error() const noexcept { GENPT_ASSERT(!has_, "result::error() on a value"); return err_; }

 private:
  void destroy() noexcept {
    if (has_) val_.~T();
  }
  union {
    errc err_;
    T val_;
  };
  bool has_;
};

/// result<void>: success or an errc.
template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  constexpr result() noexcept = default;
  constexpr result(unexpected u) noexcept : err_(u.code), has_(false) {}  // NOLINT

  constexpr bool has_value() const noexcept { return has_; }
  constexpr explicit operator bool() const noexcept { return has_; }
  constexpr void value() const noexcept { GENPT_ASSERT(has_, "result::value() on an error"); }
  constexpr errc error() const noexcept { GENPT_ASSERT(!has_, "result::error() on a value"); return err_; }

 private:
  errc err_ = errc::invalid_argument;
  bool has_ = true;
};

#if __STDC_HOSTED__
/// std::error_code interop: `std::error_code ec = genpt::errc::no_memory;`
inline const std::error_category& genpt_category() noexcept {
  struct category final : std::error_category {
    const char* name() const noexcept override { return "genpt"; }
    std::string message(int v) const override { return to_string(static_cast<errc>(v)); }
  };
  static const category c;
  return c;
}
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), genpt_category()};
}
#endif

}  // namespace genpt

#if __STDC_HOSTED__
template <>
struct std::is_error_code_enum<genpt::errc> : std::true_type {};
#endif
