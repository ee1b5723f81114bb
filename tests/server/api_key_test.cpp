#include <gtest/gtest.h>

#include "server/api_key.h"

namespace fathom::server {
namespace {

TEST(ApiKeyTest, NoKeyConfiguredAllowsEveryone) { EXPECT_TRUE(check_api_key("", "").ok()); }

TEST(ApiKeyTest, BearerKeyMustMatchExactly) {
  EXPECT_TRUE(check_api_key("Bearer sk-1", "sk-1").ok());
  EXPECT_EQ(check_api_key("", "sk-1").code(), Code::kUnauthenticated);
  EXPECT_EQ(check_api_key("sk-1", "sk-1").code(), Code::kUnauthenticated);
  EXPECT_EQ(check_api_key("Bearer sk-2", "sk-1").code(), Code::kUnauthenticated);
  EXPECT_EQ(check_api_key("Bearer sk-1x", "sk-1").code(), Code::kUnauthenticated);
  EXPECT_EQ(check_api_key("Bearer sk-", "sk-1").code(), Code::kUnauthenticated);
  EXPECT_EQ(check_api_key("Basic sk-1", "sk-1").code(), Code::kUnauthenticated);
}

TEST(ApiKeyTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abd", "abc"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace fathom::server
