#include "gateway/config/gateway_config.h"

#include <gtest/gtest.h>

namespace fathom::gateway {
namespace {

constexpr const char* kGood = R"yaml(
listen: {host: 127.0.0.1, port: 9000}
data_dir: /tmp/fathom-gw
redis: {host: 127.0.0.1, port: 6380}
breaker: {min_requests: 5, error_rate: 0.5, sleep_window_ms: 2000}
pools:
  local:
    policy: prefix_affinity
    upstreams:
      - url: http://127.0.0.1:8001
      - {url: http://127.0.0.1:8002, model: tiny}
    fallback: cloud
  cloud:
    upstreams: [{url: http://127.0.0.1:8003}]
models:
  - {name: deepseek-chat, aliases: [ds], pool: local}
prices:
  deepseek-chat:
    currency: CNY
    input_per_1k: "0.1"
    output_per_1k: "0.2"
    tiers: [{from_monthly_tokens: 1000000, input_per_1k: "0.05", output_per_1k: "0.1"}]
tenants:
  acme: {requests_per_minute: 60, monthly_tokens: 1000000}
key_limits: {max_concurrent: 4}
)yaml";

TEST(GatewayConfigTest, ParsesAFullConfig) {
  auto c = parse_gateway_config(kGood, "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->port, 9000);
  EXPECT_EQ(c->keys_db, "/tmp/fathom-gw/keys.db");
  ASSERT_TRUE(c->redis.has_value());
  EXPECT_EQ(c->redis->second, 6380);
  EXPECT_EQ(c->pools.at("local").upstreams.size(), 2u);
  EXPECT_EQ(c->pools.at("local").upstreams[1].model, "tiny");
  EXPECT_EQ(c->pools.at("cloud").policy, "least_outstanding");
  ASSERT_NE(c->route("ds"), nullptr);
  EXPECT_EQ(c->route("ds")->name, "deepseek-chat");
  EXPECT_EQ(c->route("nope"), nullptr);
  EXPECT_EQ(*c->prices.cost("deepseek-chat", 0, 1000, 0, 1000), 1000 * 100'000 + 1000 * 200'000);
  EXPECT_EQ(*c->prices.cost("deepseek-chat", 2'000'000, 1000, 0, 0), 1000 * 50'000);
  EXPECT_EQ(c->tenant_limits.at("acme").requests_per_minute, 60);
  EXPECT_EQ(c->default_key_limits.max_concurrent, 4);
  EXPECT_EQ(c->breaker.sleep_window, std::chrono::milliseconds(2000));
}

TEST(GatewayConfigTest, EveryProblemIsNamedByItsField) {
  constexpr const char* kBad = R"yaml(
listen: {port: 99999}
colour: blue
io_threads: 0
ledger_sync: sometimes
pools:
  local:
    policy: fastest
    upstreams: [{url: ftp://x}]
    fallback: nowhere
models:
  - {name: a, pool: missing}
  - {name: b, aliases: [a], pool: local}
prices:
  a: {input_per_1k: "ten", output_per_1k: "1"}
tenants:
  acme: {requests_per_minute: -1}
)yaml";
  auto c = parse_gateway_config(kBad, "gw.yaml");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  for (const char* want :
       {"gw.yaml: invalid gateway config", "listen.port: must be in 0..65535", "colour: is not a known field",
        "pools.local.policy: unknown load-balancing policy 'fastest'",
        "pools.local.upstreams[0].url: must start with http://", "pools.local.fallback: no pool named 'nowhere'",
        "models[0].pool: no pool named 'missing'", "model name or alias 'a' is used twice",
        "prices.a.input_per_1k: price 'ten' is not a plain decimal number",
        "tenants.acme: limits must be >= 0", "io_threads: must be in 1..256",
        "ledger_sync: must be 'full' (survives a machine crash) or 'normal'"})
    EXPECT_NE(m.find(want), std::string::npos) << "missing: " << want << "\n" << m;
}

TEST(GatewayConfigTest, BrokenYamlReportsItsLine) {
  auto c = parse_gateway_config("pools:\n  a: [\n", "gw.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not valid YAML (line"), std::string::npos) << c.status().message();
}

// Found by gateway_config_fuzz: as<std::string>() throws on a key that is itself a sequence or
// a mapping, and the exception escaped parse_gateway_config.
TEST(GatewayConfigTest, AKeyThatIsASequenceOrAMappingIsAProblemNotAnException) {
  const std::string good_rest = R"yaml(
pools: {p: {upstreams: [{url: "http://127.0.0.1:1"}]}}
models: [{name: m, pool: p}]
)yaml";
  for (const std::string& bad : {
           std::string("? [a, b]\n: 1\n") + good_rest,                // top level
           std::string("listen: {{host: x}: 1}\n") + good_rest,       // a section
           good_rest + "tenants: {? [acme]: {max_concurrent: 1}}\n",  // tenants
           good_rest + "prices: {{m: 1}: {input_per_1k: \"1\", output_per_1k: \"1\"}}\n",
           std::string(
               "pools: {[p]: {upstreams: [{url: \"http://h\"}]}}\nmodels: [{name: m, pool: p}]\n"),
           std::string(
               "pools: {p: {upstreams: [{url: \"http://h\"}]}}\nmodels: [{{name: m}: 1}]\n"),
       }) {
    Result<GatewayConfig> c = invalid_argument("not run");
    ASSERT_NO_THROW(c = parse_gateway_config(bad, "gw.yaml")) << bad;
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("a key must be a plain name (got '"), std::string::npos)
        << c.status().message();
  }
  // A null key is still read as the name "null", as before.
  auto c = parse_gateway_config(good_rest + "tenants: {~: {max_concurrent: 1}}\n", "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->tenant_limits.at("null").max_concurrent, 1);
}

// Found with gateway_config_fuzz, which builds the circuit breaker from what it accepts: a
// breaker.window_ms of 2^63 - 1 overflowed (undefined behaviour) when the breaker converted it
// to nanoseconds, and so would any duration added to a clock reading. An error rate of .nan
// passed the (0, 1] check.
// One slow probe of a busy upstream must not take it out of its pool: it leaves after
// health_check.unhealthy_threshold failures in a row (3 unless configured; at least 1).
TEST(GatewayConfigTest, UnhealthyThresholdDefaultsToThreeAndMustBePositive) {
  constexpr const char* kPools =
      "pools: {p: {upstreams: [{url: \"http://127.0.0.1:1\"}]}}\nmodels: [{name: m, pool: p}]\n";
  auto plain = parse_gateway_config(kPools, "gw.yaml");
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->health_unhealthy_threshold, 3);
  auto one = parse_gateway_config(std::string("health_check: {unhealthy_threshold: 1}\n") + kPools,
                                  "gw.yaml");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->health_unhealthy_threshold, 1);
  auto zero = parse_gateway_config(std::string("health_check: {unhealthy_threshold: 0}\n") + kPools,
                                   "gw.yaml");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("health_check.unhealthy_threshold: must be positive"),
            std::string::npos)
      << zero.status().message();
}

TEST(GatewayConfigTest, DurationsMustFitInAYearAndTheErrorRateMustBeANumber) {
  constexpr const char* kBad = R"yaml(
timeouts: {request_ms: -1, first_byte_ms: 31536000001, idle_ms: 60000}
breaker: {window_ms: 9223372036854775807, sleep_window_ms: 9223372036854775807, error_rate: .nan}
health_check: {interval_ms: -5}
cache: {ttl_ms: 9223372036854775807}
pools: {p: {upstreams: [{url: "http://127.0.0.1:1"}]}}
models: [{name: m, pool: p}]
)yaml";
  auto c = parse_gateway_config(kBad, "gw.yaml");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  for (const char* field : {"timeouts.request_ms", "timeouts.first_byte_ms", "breaker.window_ms",
                            "breaker.sleep_window_ms", "health_check.interval_ms", "cache.ttl_ms"})
    EXPECT_NE(m.find(std::string(field) + ": must be in 0..31536000000 (milliseconds, a year)"),
              std::string::npos)
        << "missing: " << field << "\n"
        << m;
  EXPECT_EQ(m.find("timeouts.idle_ms"), std::string::npos) << m;
  EXPECT_NE(m.find("breaker.error_rate: must be in (0, 1]"), std::string::npos) << m;

  constexpr const char* kAYear = R"yaml(
breaker: {window_ms: 31536000000, sleep_window_ms: 0}
pools: {p: {upstreams: [{url: "http://127.0.0.1:1"}]}}
models: [{name: m, pool: p}]
)yaml";
  auto year = parse_gateway_config(kAYear, "gw.yaml");
  ASSERT_TRUE(year.ok()) << year.status().to_string();
  EXPECT_EQ(year->breaker.window, std::chrono::milliseconds(31'536'000'000));
}

constexpr const char* kMinimal = R"yaml(
pools: {p: {upstreams: [{url: "http://127.0.0.1:1"}]}}
models: [{name: m, pool: p}]
)yaml";

TEST(GatewayConfigTest, ClassificationIsOffWithoutItsSectionAndOnWithIt) {
  auto off = parse_gateway_config(kMinimal, "gw.yaml");
  ASSERT_TRUE(off.ok()) << off.status().to_string();
  EXPECT_FALSE(off->classification.enabled);

  auto on = parse_gateway_config(std::string(kMinimal) + "classification: {}\n", "gw.yaml");
  ASSERT_TRUE(on.ok()) << on.status().to_string();
  EXPECT_TRUE(on->classification.enabled);
  EXPECT_EQ(on->classification.defaults.detectors, classify::kAllDetectors);
  EXPECT_FALSE(on->classification.defaults.always_sensitive);

  auto disabled =
      parse_gateway_config(std::string(kMinimal) + "classification: {enabled: false}\n", "gw.yaml");
  ASSERT_TRUE(disabled.ok()) << disabled.status().to_string();
  EXPECT_FALSE(disabled->classification.enabled);
}

TEST(GatewayConfigTest, ClassificationTenantsMergeWithTheDefaults) {
  const std::string yaml = std::string(kMinimal) + R"yaml(
classification:
  detectors: [cn_id_card, cn_mobile, email]
  keywords: [Confidential, 机密]
  patterns: ['\bPRJ-\d{4}\b']
  always_sensitive_keys: [k-admin]
  tenants:
    acme:
      always_sensitive: true
    beta:
      detectors: [bank_card]
      keywords: [Falcon]
      patterns: ['(?i)internal only']
      always_sensitive_keys: [k-beta]
)yaml";
  auto c = parse_gateway_config(yaml, "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const auto& cls = c->classification;
  using classify::detector_bit;
  using classify::DetectorKind;
  EXPECT_EQ(cls.defaults.detectors, detector_bit(DetectorKind::kCnIdCard) |
                                        detector_bit(DetectorKind::kCnMobile) |
                                        detector_bit(DetectorKind::kEmail));
  EXPECT_EQ(cls.defaults.keywords, (std::vector<std::string>{"confidential", "机密"}));
  ASSERT_EQ(cls.defaults.patterns.size(), 1u);

  const auto& acme = cls.for_tenant("acme");
  EXPECT_TRUE(acme.always_sensitive);
  EXPECT_EQ(acme.detectors, cls.defaults.detectors);
  EXPECT_EQ(acme.keywords.size(), 2u);

  const auto& beta = cls.for_tenant("beta");
  EXPECT_FALSE(beta.always_sensitive);
  EXPECT_EQ(beta.detectors, detector_bit(DetectorKind::kBankCard));  // replaced
  EXPECT_EQ(beta.keywords, (std::vector<std::string>{"confidential", "机密", "falcon"}));  // added
  EXPECT_EQ(beta.patterns.size(), 2u);
  EXPECT_EQ(beta.always_sensitive_keys, (std::vector<std::string>{"k-admin", "k-beta"}));
  EXPECT_EQ(&cls.for_tenant("someone-else"), &cls.defaults);

  // The compiled config classifies as configured.
  EXPECT_TRUE(classify::classify({.texts = {"INTERNAL ONLY"}}, beta).sensitive);
  EXPECT_FALSE(classify::classify({.texts = {"INTERNAL ONLY"}}, cls.defaults).sensitive);
  EXPECT_TRUE(classify::classify({.texts = {"hi"}, .key_id = "k-admin"}, cls.defaults).sensitive);
}

TEST(GatewayConfigTest, ClassificationProblemsNameTheirField) {
  const std::string yaml = std::string(kMinimal) + R"yaml(
classification:
  detectors: [cn_id_card, ssn]
  keywords: ["", ok]
  patterns: ['(unclosed', 'x*']
  always_sensitive: true
  colour: blue
  tenants:
    acme: {keywords: [a], limits: 3, patterns: ['[z-a]']}
)yaml";
  auto c = parse_gateway_config(yaml, "gw.yaml");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  for (const char* want :
       {"classification.detectors: unknown detector 'ssn' (known: cn_id_card, cn_uscc, passport,",
        "classification.keywords[0]: a keyword must not be empty",
        "classification.patterns[0]: not a valid regular expression: missing closing parenthesis",
        "('(unclosed')", "classification.patterns[1]: matches the empty string",
        "classification.always_sensitive: is not a known field",
        "classification.colour: is not a known field",
        "classification.tenants.acme.limits: is not a known field",
        "classification.tenants.acme.patterns[0]: not a valid regular expression"})
    EXPECT_NE(m.find(want), std::string::npos) << "missing: " << want << "\n" << m;
}

TEST(GatewayConfigTest, TlsOnTheListenerAndToHttpsUpstreams) {
  auto c = parse_gateway_config(R"yaml(
listen: {port: 8443, tls: {cert: gw.crt, key: gw.key, client_ca: clients.pem}}
pools:
  p:
    upstreams:
      - url: https://10.0.0.5:8443
        tls: {ca_file: ca.pem, client_cert: gw-client.crt, client_key: gw-client.key,
              pin_sha256: "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}
      - {url: "https://api.example", tls: {pin_sha256: [e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855]}}
      - url: https://api2.example
models: [{name: m, pool: p}]
)yaml",
                                "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->tls.cert_file, "gw.crt");
  EXPECT_EQ(c->tls.key_file, "gw.key");
  EXPECT_EQ(c->tls.client_ca_file, "clients.pem");
  const std::vector<UpstreamConfig>& ups = c->pools.at("p").upstreams;
  EXPECT_EQ(ups[0].tls.ca_file, "ca.pem");
  EXPECT_EQ(ups[0].tls.client_cert_file, "gw-client.crt");
  EXPECT_EQ(ups[0].tls.client_key_file, "gw-client.key");
  EXPECT_EQ(ups[0].tls.pin_sha256,
            std::vector<std::string>{"sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="});
  EXPECT_EQ(ups[1].tls.pin_sha256.size(), 1u);
  EXPECT_TRUE(ups[2].tls.empty()) << "no tls section: the system's CAs";

  auto plain = parse_gateway_config(
      "pools: {p: {upstreams: [{url: 'http://h'}]}}\nmodels: [{name: m, pool: p}]\n", "gw.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls.enabled());
}

TEST(GatewayConfigTest, TlsProblemsNameTheirField) {
  auto c = parse_gateway_config(R"yaml(
listen: {tls: {key: gw.key, ciphers: RC4}}
pools:
  p:
    upstreams:
      - {url: "http://h", tls: {ca_file: ca.pem}}
      - {url: "https://h", tls: {client_cert: c.crt, pin_sha256: [short], verify: false}}
models: [{name: m, pool: p}]
)yaml",
                                "gw.yaml");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  for (const char* want :
       {"listen.tls.cert: is required", "listen.tls.ciphers: is not a known field",
        "pools.p.upstreams[0].tls: is only for https:// upstreams",
        "pools.p.upstreams[1].tls.client_key: is required with client_cert",
        "pools.p.upstreams[1].tls.pin_sha256[0]: 'short' is not a SHA-256 pin",
        "pools.p.upstreams[1].tls.verify: is not a known field"})
    EXPECT_NE(m.find(want), std::string::npos) << "missing: " << want << "\n" << m;
}

}  // namespace
}  // namespace fathom::gateway

namespace fathom::gateway {
namespace {

TEST(GatewayConfigTest, TheAuditChainsDigestIsSha256OrSm3) {
  const std::string base =
      "pools: {p: {upstreams: [{url: http://h:1}]}}\nmodels: [{name: m, pool: p}]\n";
  EXPECT_EQ(parse_gateway_config(base, "gw.yaml")->audit_hash, AuditHash::kSha256);
  EXPECT_EQ(parse_gateway_config(base + "audit_hash: sm3\n", "gw.yaml")->audit_hash,
            AuditHash::kSm3);
  auto bad = parse_gateway_config(base + "audit_hash: md5\n", "gw.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("audit_hash: must be sha256 or sm3"), std::string::npos);
}

}  // namespace
}  // namespace fathom::gateway
