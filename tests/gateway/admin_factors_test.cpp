// The admin API's second factor (TOTP, RFC 6238) and account lockout.
#include <gtest/gtest.h>

#include "gateway/config/gateway_config.h"
#include "gateway/security/lockout.h"
#include "gateway/security/totp.h"

namespace fathom::gateway {
namespace {

const std::string kRfcKey = "12345678901234567890";  // RFC 6238 appendix B, SHA-1

TEST(TotpTest, MatchesTheRfc6238TestVectors) {
  const std::pair<int64_t, const char*> vectors[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const auto& [t, want] : vectors)
    EXPECT_EQ(hotp(kRfcKey, static_cast<uint64_t>(t / 30), 8), want) << t;
  EXPECT_EQ(hotp(kRfcKey, 1), "287082");  // six digits: the last six
}

TEST(TotpTest, VerifiesTheCurrentCodeWithOneStepOfDriftAndNothingElse) {
  const int64_t now = 1111111109;
  const std::string code = hotp(kRfcKey, static_cast<uint64_t>(now / 30));
  TotpCheck c = verify_totp(kRfcKey, code, now);
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.step, now / 30);
  EXPECT_TRUE(verify_totp(kRfcKey, code, now + 30).ok);   // the next step still takes it
  EXPECT_FALSE(verify_totp(kRfcKey, code, now + 90).ok);  // not two steps later
  EXPECT_FALSE(verify_totp(kRfcKey, "000000", now).ok || code == "000000");
  EXPECT_FALSE(verify_totp(kRfcKey, "12345", now).ok);
  EXPECT_FALSE(verify_totp(kRfcKey, "", now).ok);
}

TEST(TotpTest, DecodesBase32Secrets) {
  auto key = base32_decode("gezd gnbv gy3t qojq GEZDGNBVGY3TQOJQ");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, kRfcKey);
  EXPECT_FALSE(base32_decode("GEZDGNBV1").ok());  // '1' is not base32
  EXPECT_FALSE(base32_decode("GEZDGNBV").ok());   // 40 bits: too short
}

TEST(LockoutTest, LocksAfterTheFailuresInTheWindowAndUnlocksAfterTheLock) {
  FakeClock clock;
  Lockout lockout({.max_failures = 3, .window_ms = 60'000, .lock_ms = 300'000}, clock);
  EXPECT_FALSE(lockout.failure("k"));
  EXPECT_FALSE(lockout.failure("k"));
  clock.advance(std::chrono::seconds(61));  // the window passed: counting starts again
  EXPECT_FALSE(lockout.failure("k"));
  EXPECT_FALSE(lockout.failure("k"));
  EXPECT_EQ(lockout.locked_for("k"), Clock::Duration::zero());
  EXPECT_TRUE(lockout.failure("k"));
  EXPECT_EQ(lockout.locked_for("k"), std::chrono::seconds(300));
  EXPECT_EQ(lockout.locked_for("other"), Clock::Duration::zero());
  clock.advance(std::chrono::seconds(300));
  EXPECT_EQ(lockout.locked_for("k"), Clock::Duration::zero());
}

TEST(LockoutTest, ASuccessForgetsTheFailures) {
  FakeClock clock;
  Lockout lockout({.max_failures = 2, .window_ms = 60'000, .lock_ms = 60'000}, clock);
  EXPECT_FALSE(lockout.failure("k"));
  lockout.success("k");
  EXPECT_FALSE(lockout.failure("k"));
  EXPECT_TRUE(lockout.failure("k"));
}

TEST(AdminConfigTest, SecretsAndLockoutAreReadAndChecked) {
  auto c = parse_gateway_config(R"yaml(
pools: {p: {upstreams: [{url: http://h:1}]}}
models: [{name: m, pool: p}]
admin:
  totp_secrets: {k1: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ}
  lockout: {max_failures: 4, lock_ms: 1000}
)yaml",
                                "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE(c->admin.second_factor());
  EXPECT_EQ(c->admin.totp_keys.at("k1"), kRfcKey);
  EXPECT_EQ(c->admin.lockout.max_failures, 4);
  EXPECT_EQ(c->admin.lockout.lock_ms, 1000);

  auto bad = parse_gateway_config(R"yaml(
pools: {p: {upstreams: [{url: http://h:1}]}}
models: [{name: m, pool: p}]
admin: {totp_secrets: {k1: "not base32!"}, lockout: {max_failures: -1, after: 3}}
)yaml",
                                  "gw.yaml");
  ASSERT_FALSE(bad.ok());
  const std::string m = bad.status().message();
  EXPECT_NE(m.find("admin.totp_secrets.k1"), std::string::npos) << m;
  EXPECT_NE(m.find("admin.lockout.max_failures"), std::string::npos) << m;
  EXPECT_NE(m.find("admin.lockout.after"), std::string::npos) << m;
}

}  // namespace
}  // namespace fathom::gateway
