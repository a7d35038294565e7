// tests/result_test.cpp - errc and result<T>: values, errors, move-only
// payloads, std::error_code interop and the stable names.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "genpt/core/result.hpp"

namespace {

using genpt::errc;
using genpt::result;
using genpt::unexpected;

TEST(Result, HoldsAValue) {
  const result<int> r = 42;
  EXPECT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
}

TEST(Result, HoldsAnError) {
  const result<int> r = unexpected(errc::no_memory);
  EXPECT_FALSE(r.has_value());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error(), errc::no_memory);
}

TEST(Result, VoidResultIsSuccessByDefault) {
  const result<void> ok;
  EXPECT_TRUE(ok.has_value());
  const result<void> bad = unexpected(errc::misaligned);
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), errc::misaligned);
}

TEST(Result, CarriesAMoveOnlyValue) {
  static_assert(!std::is_copy_constructible_v<result<std::unique_ptr<int>>>);
  result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.has_value());
  result<std::unique_ptr<int>> moved = std::move(r);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(**moved, 7);
  std::unique_ptr<int> out = std::move(moved).value();
  EXPECT_EQ(*out, 7);
}

TEST(Result, ArrowReachesTheValue) {
  result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
}

TEST(Result, AssignmentReplacesValueWithErrorAndBack) {
  result<std::string> r = std::string("abc");
  r = unexpected(errc::not_found);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::not_found);
  r = std::string("xyz");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "xyz");
}

TEST(Result, CopiesWhenTheValueCopies) {
  const result<std::string> a = std::string("abc");
  const result<std::string> b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(*a, "abc");
  EXPECT_EQ(*b, "abc");
}

TEST(Errc, ValuesAreStable) {
  EXPECT_EQ(static_cast<int>(errc::invalid_argument), 1);
  EXPECT_EQ(static_cast<int>(errc::overflow), 2);
  EXPECT_EQ(static_cast<int>(errc::out_of_range), 3);
  EXPECT_EQ(static_cast<int>(errc::misaligned), 4);
  EXPECT_EQ(static_cast<int>(errc::address_in_use), 5);
  EXPECT_EQ(static_cast<int>(errc::no_memory), 6);
  EXPECT_EQ(static_cast<int>(errc::not_supported), 7);
  EXPECT_EQ(static_cast<int>(errc::not_found), 8);
}

TEST(Errc, ToStringNamesEachError) {
  EXPECT_STREQ(genpt::to_string(errc::invalid_argument), "invalid_argument");
  EXPECT_STREQ(genpt::to_string(errc::overflow), "overflow");
  EXPECT_STREQ(genpt::to_string(errc::out_of_range), "out_of_range");
  EXPECT_STREQ(genpt::to_string(errc::misaligned), "misaligned");
  EXPECT_STREQ(genpt::to_string(errc::address_in_use), "address_in_use");
  EXPECT_STREQ(genpt::to_string(errc::no_memory), "no_memory");
  EXPECT_STREQ(genpt::to_string(errc::not_supported), "not_supported");
  EXPECT_STREQ(genpt::to_string(errc::not_found), "not_found");
  EXPECT_STREQ(genpt::to_string(static_cast<errc>(99)), "unknown");
}

TEST(Errc, ConvertsToAStdErrorCode) {
  const std::error_code ec = errc::address_in_use;
  EXPECT_EQ(ec.value(), 5);
  EXPECT_STREQ(ec.category().name(), "genpt");
  EXPECT_EQ(ec.message(), "address_in_use");
  EXPECT_TRUE(ec == errc::address_in_use);
  EXPECT_FALSE(ec == errc::no_memory);
  EXPECT_TRUE(static_cast<bool>(ec));
}

}  // namespace
