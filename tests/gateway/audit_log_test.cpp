#include "gateway/security/audit_log.h"

#include <gtest/gtest.h>

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
  std::string text = read_bytes(path);
  const size_t first_end = text.find('\n');
  write_text(path, text.substr(first_end + 1));
  auto v = verify_audit_log(path);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find(":1: chain broken"), std::string::npos) << v.status().message();
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
