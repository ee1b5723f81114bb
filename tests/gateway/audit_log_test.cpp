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

}  // namespace
}  // namespace fathom::gateway
