#include "gateway/security/audit_log.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gateway/config/gateway_config.h"
#include "support/temp_dir.h"

namespace fathom::gateway {
namespace {

using fathom::testing::read_bytes;
using fathom::testing::TempDir;
using fathom::testing::write_text;

void write_three(const std::string& path) {
  auto log = AuditLog::open(path);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  ASSERT_TRUE((*log)->append("key.created", {{"key_id", "abc123"}, {"tenant", "t1"}}).ok());
  ASSERT_TRUE((*log)->append("auth.failed", {{"remote", "127.0.0.1"}}).ok());
  ASSERT_TRUE((*log)->append("key.revoked", {{"key_id", "abc123"}}).ok());
}

TEST(AuditLogTest, AnUntouchedLogVerifiesAndReopeningContinuesTheChain) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  write_three(path);
  auto v = verify_audit_log(path);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->num_records, 3);
  auto log = AuditLog::open(path);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->num_records(), 3);
  ASSERT_TRUE((*log)->append("config.reloaded", nlohmann::json::object()).ok());
  EXPECT_EQ(verify_audit_log(path)->num_records, 4);
}

// The gateway and `fathom keys revoke` append to one file from two processes (here: two
// handles); each append links to the record last in the file, whoever wrote it.
TEST(AuditLogTest, TwoWritersInterleavingKeepOneChain) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  auto gateway = AuditLog::open(path);
  auto cli = AuditLog::open(path);
  ASSERT_TRUE(gateway.ok() && cli.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*gateway)->append("auth.failed", {{"i", i}}).ok());
    ASSERT_TRUE((*cli)->append("key.revoked", {{"i", i}}).ok());
    ASSERT_TRUE((*cli)->append("key.created", {{"i", i}}).ok());
  }
  auto v = verify_audit_log(path);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->num_records, 9);
  EXPECT_EQ((*gateway)->num_records(), 7);  // its view after its own last append
}

TEST(AuditLogTest, PostedRecordsAreAllWrittenInOrderByTheWriterThread) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  {
    auto log = AuditLog::open(path);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append("config.reloaded", nlohmann::json::object()).ok());
    for (int i = 0; i < 500; ++i) (*log)->post("auth.failed", {{"i", i}});
  }  // closing writes what is queued
  auto v = verify_audit_log(path);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->num_records, 501);
  const std::string text = read_bytes(path);
  EXPECT_LT(text.find("\"i\":0}"), text.find("\"i\":499}"));
}

TEST(AuditLogTest, EditingALineIsDetectedAtThatLine) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  write_three(path);
  std::string text = read_bytes(path);
  text.replace(text.find("127.0.0.1"), 9, "10.9.9.99");
  write_text(path, text);
  auto v = verify_audit_log(path);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find(":2: hash mismatch"), std::string::npos) << v.status().message();
  EXPECT_FALSE(AuditLog::open(path).ok());  // a tampered log is not appended to
}

TEST(AuditLogTest, DeletingALineBreaksTheChain) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  write_three(path);
  const std::string text = read_bytes(path);
  const size_t first_end = text.find('\n'), second_end = text.find('\n', first_end + 1);
  write_text(path, text.substr(0, first_end + 1) + text.substr(second_end + 1));  // the middle one
  auto v = verify_audit_log(path);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find(":2: chain broken"), std::string::npos)
      << v.status().message();
  // The first one: the chain then starts past the genesis with nothing saying why.
  write_text(path, text.substr(first_end + 1));
  v = verify_audit_log(path);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("starts at seq 1 and no audit.pruned record"),
            std::string::npos)
      << v.status().message();
}

// ---- rotation and retention ----

struct WallClock {
  std::chrono::system_clock::time_point t = std::chrono::system_clock::from_time_t(1'780'000'000);
  AuditRotation rotation(int64_t max_bytes, int64_t retain_days = 0) {
    AuditRotation r;
    r.max_bytes = max_bytes;
    r.retain_days = retain_days;
    r.now = [this] { return t; };
    return r;
  }
};

std::vector<nlohmann::json> all_records(const std::string& path) {
  std::vector<nlohmann::json> out;
  auto v = verify_audit_log(path, [&](const nlohmann::json& r) { out.push_back(r); });
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return out;
}

TEST(AuditRotationTest, RotatedFilesStayInTheChain) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  WallClock clock;
  {
    auto log = AuditLog::open(path, AuditHash::kSha256, clock.rotation(600));
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 12; ++i) {
      clock.t += std::chrono::milliseconds(1);
      ASSERT_TRUE((*log)->append("auth.failed", {{"i", i}, {"remote", "127.0.0.1"}}).ok());
    }
  }
  const auto rotated = rotated_audit_files(path);
  ASSERT_GE(rotated.size(), 2u);
  auto v = verify_audit_log(path);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->files, static_cast<int64_t>(rotated.size()) + 1);
  EXPECT_EQ(v->num_records, 12 + static_cast<int64_t>(rotated.size()));  // + one audit.rotated each
  EXPECT_EQ(v->first_seq, 0);
  // Each new file begins with the record that names the file before it.
  const std::string current = read_bytes(path);
  EXPECT_NE(current.find("\"event\":\"audit.rotated\""), std::string::npos);
  EXPECT_NE(current.find(std::filesystem::path(rotated.back()).filename().string()),
            std::string::npos);
  // Reopening continues the chain from the current file.
  auto again = AuditLog::open(path, AuditHash::kSha256, clock.rotation(600));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  ASSERT_TRUE((*again)->append("key.created", {{"key_id", "k"}}).ok());
  EXPECT_TRUE(verify_audit_log(path).ok());

  // A rotated file removed, edited or swapped breaks the chain.
  const std::string middle = rotated[rotated.size() / 2], saved = read_bytes(middle);
  std::filesystem::remove(middle);
  EXPECT_FALSE(verify_audit_log(path).ok());
  write_text(middle, saved);
  std::filesystem::remove(rotated.front());
  auto cut = verify_audit_log(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("no audit.pruned record"), std::string::npos);
}

TEST(AuditRotationTest, TwoWritersFollowEachOthersRotations) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  WallClock clock;
  auto a = AuditLog::open(path, AuditHash::kSha256, clock.rotation(500));
  auto b = AuditLog::open(path, AuditHash::kSha256, clock.rotation(500));
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 10; ++i) {
    clock.t += std::chrono::milliseconds(1);
    ASSERT_TRUE((*a)->append("auth.failed", {{"i", i}}).ok());
    ASSERT_TRUE((*b)->append("key.revoked", {{"i", i}}).ok());
  }
  EXPECT_GE(rotated_audit_files(path).size(), 2u);
  auto v = verify_audit_log(path);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  int events = 0;
  for (const auto& r : all_records(path)) events += r["event"] != "audit.rotated";
  EXPECT_EQ(events, 20);
}

TEST(AuditRotationTest, RetentionPrunesOnlyFilesPastItAndSaysSoInTheChain) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  WallClock clock;
  auto log = AuditLog::open(path, AuditHash::kSha256, clock.rotation(400, 180));
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE((*log)->append("auth.failed", {{"old", i}}).ok());
  const auto old_files = rotated_audit_files(path);
  ASSERT_GE(old_files.size(), 1u);
  clock.t += std::chrono::hours(24 * 179);  // not yet past retention: nothing goes
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->append("auth.failed", {{"mid", i}}).ok());
  for (const std::string& f : old_files) EXPECT_TRUE(std::filesystem::exists(f)) << f;
  const auto before = rotated_audit_files(path);
  clock.t += std::chrono::hours(24 * 2);  // the old records are now 181 days old
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->append("auth.failed", {{"new", i}}).ok());
  for (const std::string& f : old_files) EXPECT_FALSE(std::filesystem::exists(f)) << f;
  int deleted = 0;
  for (const std::string& f : before) deleted += !std::filesystem::exists(f);
  auto v = verify_audit_log(path);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_GT(v->first_seq, 0);
  int pruned = 0, mid = 0;
  for (const auto& r : all_records(path)) {
    mid += r["details"].contains("mid");
    if (r["event"] == "audit.pruned") {
      ++pruned;
      EXPECT_EQ(r["details"]["retain_days"], 180);
    }
  }
  EXPECT_EQ(pruned, deleted);
  EXPECT_EQ(mid, 3);  // records younger than 180 days are all kept
}

TEST(AuditRotationTest, TheConfigRefusesRetentionUnderTheLegalFloor) {
  EXPECT_FALSE(
      parse_gateway_config("audit_rotation: {retain_days: 30}\nmodels: []\n", "gw.yaml").ok());
  auto ok = parse_gateway_config(
      "audit_rotation: {retain_days: 180, max_bytes: 1048576}\n"
      "pools: {p: {upstreams: [{url: 'http://127.0.0.1:8001'}]}}\nmodels: [{name: m, pool: p}]\n",
      "gw.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->audit_rotation.retain_days, 180);
  EXPECT_EQ(ok->audit_rotation.max_bytes, 1048576);
}

TEST(AuditLogTest, Sm3MatchesTheStandardsExample) {
  // GB/T 32905-2016 appendix A.1: SM3("abc").
  auto d = audit_digest_hex(AuditHash::kSm3, "abc");
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  EXPECT_EQ(*audit_digest_hex(AuditHash::kSha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditLogTest, AnSm3ChainVerifiesContinuesAnOlderSha256OneAndCatchesEdits) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  write_three(path);  // SHA-256 records
  {
    auto log = AuditLog::open(path, AuditHash::kSm3);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    ASSERT_TRUE((*log)->append("config.reloaded", {{"by", "ops"}}).ok());
    ASSERT_TRUE((*log)->append("key.created", {{"key_id", "def456"}}).ok());
  }
  auto v = verify_audit_log(path);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->num_records, 5);
  const std::string text = read_bytes(path);
  EXPECT_NE(text.find(R"("alg":"sm3")"), std::string::npos);

  std::string edited = text;
  edited.replace(edited.find("def456"), 6, "xyz789");
  write_text(path, edited);
  auto bad = verify_audit_log(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(":5: hash mismatch"), std::string::npos)
      << bad.status().message();

  std::string unknown = text;
  unknown.replace(unknown.rfind(R"("alg":"sm3")"), 11, R"("alg":"md5")");
  write_text(path, unknown);
  auto refused = verify_audit_log(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("unknown digest"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace fathom::gateway
