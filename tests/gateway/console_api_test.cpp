// The operator console's server side: admin sessions (expiry, binding to a key), the query
// string reader and the config masking of /admin/config.
#include "gateway/admin/console_text.h"

#include <gtest/gtest.h>

#include <chrono>

#include "gateway/security/admin_sessions.h"

namespace fathom::gateway {
namespace {

using std::chrono::minutes;

TEST(AdminSessionsTest, TokenIsBoundToItsKeyAndEndsWhenIdleOrClosed) {
  FakeClock clock;
  AdminSessions sessions({.idle_ms = 15 * 60'000, .max_ms = 60 * 60'000}, clock);
  auto token = sessions.open("key-a");
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(token->starts_with("fas-"));
  EXPECT_TRUE(sessions.check(*token, "key-a"));
  EXPECT_FALSE(sessions.check(*token, "key-b"));  // another admin key cannot borrow it
  EXPECT_FALSE(sessions.check("fas-guessed", "key-a"));

  clock.advance(minutes(14));
  EXPECT_TRUE(sessions.check(*token, "key-a"));  // use restarts the idle time
  clock.advance(minutes(14));
  EXPECT_TRUE(sessions.check(*token, "key-a"));
  clock.advance(minutes(15));
  EXPECT_FALSE(sessions.check(*token, "key-a"));  // idle too long

  auto second = sessions.open("key-a");
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, *token);
  sessions.close(*second);
  EXPECT_FALSE(sessions.check(*second, "key-a"));
  EXPECT_EQ(sessions.num_open(), 0u);
}

TEST(AdminSessionsTest, EndsAtItsMaximumAgeEvenWhenBusy) {
  FakeClock clock;
  AdminSessions sessions({.idle_ms = 15 * 60'000, .max_ms = 30 * 60'000}, clock);
  auto token = sessions.open("k");
  ASSERT_TRUE(token.ok());
  for (int i = 0; i < 2; ++i) {
    clock.advance(minutes(10));
    EXPECT_TRUE(sessions.check(*token, "k"));
  }
  clock.advance(minutes(10));
  EXPECT_FALSE(sessions.check(*token, "k"));
}

TEST(ConsoleApiTest, QueryParamDecodesAndTellsAbsentFromEmpty) {
  EXPECT_EQ(query_param("/admin/usage?month=2026-12&tenant=a%20b", "month"), "2026-12");
  EXPECT_EQ(query_param("/admin/usage?month=2026-12&tenant=a%20b", "tenant"), "a b");
  EXPECT_EQ(query_param("/admin/usage?tenant=x+y", "tenant"), "x y");
  EXPECT_EQ(query_param("/admin/usage?month=", "month"), "");
  EXPECT_EQ(query_param("/admin/usage?monthly=1", "month"), std::nullopt);
  EXPECT_EQ(query_param("/admin/usage", "month"), std::nullopt);
}

TEST(ConsoleApiTest, ConfigViewMasksEverySecret) {
  const std::string yaml = R"(
listen: {host: 127.0.0.1, port: 0}
ledger_postgres: "host=db dbname=fathom user=gw password=hunter2 sslmode=require"
admin:
  totp_secrets: {6f21c4d342bc: JBSWY3DPEHPK3PXP, 0a1b2c3d4e5f: KRSXG5CTMVRXEZLU}
  lockout: {max_failures: 5}
pools:
  cloud:
    upstreams:
      - {url: "https://user:pa55@api.example", model: m, token: abc123}
)";
  auto masked = masked_config_yaml(yaml);
  ASSERT_TRUE(masked.ok()) << masked.status().message();
  for (const char* secret : {"hunter2", "JBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLU", "abc123"})
    EXPECT_EQ(masked->find(secret), std::string::npos) << secret << " leaked:\n" << *masked;
  EXPECT_NE(masked->find("password=***"), std::string::npos) << *masked;
  EXPECT_NE(masked->find("6f21c4d342bc"), std::string::npos);  // key ids are not secret
  EXPECT_NE(masked->find("max_failures: 5"), std::string::npos);
  EXPECT_NE(masked->find("sslmode=require"), std::string::npos);
}

TEST(ConsoleApiTest, ConfigViewRefusesMalformedYaml) {
  auto masked = masked_config_yaml("pools: {a: [1, 2");
  ASSERT_FALSE(masked.ok());
  EXPECT_NE(masked.status().message().find("not valid YAML"), std::string::npos);
}

}  // namespace
}  // namespace fathom::gateway
