// Data at rest: the MAC sealed into key-store and ledger rows, and the authenticated
// encryption of Redis cache entries, in both suites (AES-256-GCM + HMAC-SHA256, SM4-CTR +
// HMAC-SM3).
#include "gateway/security/data_protection.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "gateway/billing/ledger.h"
#include "gateway/security/key_store.h"
#include "support/temp_dir.h"

namespace fathom::gateway {
namespace {

using fathom::testing::TempDir;
using fathom::testing::write_text;

std::shared_ptr<const DataProtection> make(DataSuite suite, char fill = 'k') {
  auto p = DataProtection::create(std::string(32, fill), suite);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? *p : nullptr;
}

class DataProtectionTest : public ::testing::TestWithParam<DataSuite> {};

TEST_P(DataProtectionTest, EncryptsAuthenticatesAndRefusesEditsAndOtherKeys) {
  const auto p = make(GetParam());
  ASSERT_TRUE(p);
  const std::string plain = R"({"choices":[{"message":{"content":"身份证 11010519900307123X"}}]})";
  auto sealed = p->encrypt(plain);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("11010519900307123X"), std::string::npos);
  EXPECT_NE(*p->encrypt(plain), *sealed);  // a fresh IV each time
  EXPECT_EQ(*p->decrypt(*sealed), plain);
  for (size_t at : {size_t{1}, size_t{5}, sealed->size() / 2, sealed->size() - 1}) {
    std::string edited = *sealed;
    edited[at] ^= 0x01;
    EXPECT_EQ(p->decrypt(edited).status().code(), Code::kDataLoss) << "byte " << at;
  }
  EXPECT_FALSE(make(GetParam(), 'x')->decrypt(*sealed).ok());
  EXPECT_FALSE(p->decrypt("").ok());
  EXPECT_FALSE(p->decrypt(sealed->substr(0, 10)).ok());
  EXPECT_EQ(*p->decrypt(*p->encrypt("")), "");

  const std::string mac = p->seal("row");
  EXPECT_EQ(mac.size(), 64u);  // HMAC-SHA256 and HMAC-SM3 are both 256 bits
  EXPECT_TRUE(p->check("row", mac));
  EXPECT_FALSE(p->check("row ", mac));
  EXPECT_FALSE(make(GetParam(), 'x')->check("row", mac));
}

INSTANTIATE_TEST_SUITE_P(Suites, DataProtectionTest,
                         ::testing::Values(DataSuite::kAes, DataSuite::kSm4));

TEST(DataProtectionTest, TheSuitesDifferAndTheKeyFileIsChecked) {
  EXPECT_NE(make(DataSuite::kAes)->seal("row"), make(DataSuite::kSm4)->seal("row"));
  EXPECT_FALSE(make(DataSuite::kSm4)->decrypt(*make(DataSuite::kAes)->encrypt("x")).ok());
  TempDir dir;
  write_text(dir.file("good"), std::string(64, 'a') + "\n");
  EXPECT_TRUE(DataProtection::load(dir.file("good"), DataSuite::kSm4).ok());
  write_text(dir.file("short"), std::string(63, 'a'));
  EXPECT_FALSE(DataProtection::load(dir.file("short"), DataSuite::kAes).ok());
  write_text(dir.file("nothex"), std::string(64, 'g'));
  EXPECT_FALSE(DataProtection::load(dir.file("nothex"), DataSuite::kAes).ok());
  EXPECT_FALSE(DataProtection::load(dir.file("absent"), DataSuite::kAes).ok());
  EXPECT_FALSE(parse_data_suite("des").ok());
}

void exec(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(h);
  sqlite3_close(h);
}

TEST(SealedKeyStoreTest, AnEditedOrForeignRowIsRefusedAndReported) {
  TempDir dir;
  const std::string db = dir.file("keys.db");
  auto ks = KeyStore::open(db, make(DataSuite::kSm4));
  ASSERT_TRUE(ks.ok());
  auto user = (*ks)->create("acme", {}, 0, false, 1000);
  auto other = (*ks)->create("beta", {}, 0, false, 1000);
  ASSERT_TRUE(user.ok() && other.ok());
  EXPECT_TRUE((*ks)->authenticate(user->key, 2000).ok());
  ASSERT_TRUE((*ks)->revoke(other->info.key_id, 2500).ok());  // revoking seals the row again
  auto r = (*ks)->verify_integrity();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sealed, 2);
  EXPECT_TRUE(r->tampered.empty() && r->unsealed.empty());

  // Someone with write access to the database makes the key an admin key.
  exec(db, "UPDATE api_keys SET admin=1 WHERE key_id='" + user->info.key_id + "'");
  auto refused = (*ks)->authenticate(user->key, 3000);
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("integrity check"), std::string::npos);
  r = (*ks)->verify_integrity();
  ASSERT_EQ(r->tampered.size(), 1u);
  EXPECT_EQ(r->tampered[0], user->info.key_id);
  // Revoking it does not launder it, and sealing leaves it alone.
  ASSERT_TRUE((*ks)->revoke(user->info.key_id, 3500).ok());
  EXPECT_EQ(*(*ks)->seal_unsealed(), 0);
  EXPECT_EQ((*ks)->verify_integrity()->tampered.size(), 1u);

  // A key created without protection is refused until an operator seals it.
  auto plain = KeyStore::open(db);
  auto legacy = (*plain)->create("acme", {}, 0, false, 4000);
  ASSERT_TRUE(legacy.ok());
  auto unsealed = (*ks)->authenticate(legacy->key, 5000);
  EXPECT_NE(unsealed.status().message().find("not sealed"), std::string::npos);
  EXPECT_EQ((*ks)->verify_integrity()->unsealed.size(), 1u);
  EXPECT_EQ(*(*ks)->seal_unsealed(), 1);
  EXPECT_TRUE((*ks)->authenticate(legacy->key, 6000).ok());
}

TEST(SealedLedgerTest, TheMacTravelsThroughJournalAndDatabase) {
  TempDir dir;
  const auto p = make(DataSuite::kAes);
  UsageRecord r;
  r.request_id = "req-1";
  r.time_ms = 1'780'000'000'000;
  r.tenant = "acme";
  r.key_id = "k1";
  r.model = "m";
  r.upstream = "local/127.0.0.1:8001";
  r.prompt_tokens = 10;
  r.completion_tokens = 20;
  r.cost_nanos = 12345;
  r.status = 200;
  r.mac = p->seal(usage_row_text(r));
  {
    auto ledger = open_sqlite_ledger(dir.file("ledger.db"));
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE((*ledger)->record(r).ok());
  }
  auto ledger = open_sqlite_ledger(dir.file("ledger.db"));
  auto rows = (*ledger)->rows("acme", month_of(r.time_ms));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE(p->check(usage_row_text((*rows)[0]), (*rows)[0].mac));
  UsageRecord cheaper = (*rows)[0];
  cheaper.cost_nanos = 0;
  EXPECT_FALSE(p->check(usage_row_text(cheaper), cheaper.mac));
}

}  // namespace
}  // namespace fathom::gateway
