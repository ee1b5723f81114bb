#include "gateway/security/key_store.h"

#include <gtest/gtest.h>

#include "gateway/security/api_keys.h"
#include "support/temp_dir.h"

namespace fathom::gateway {
namespace {

using fathom::testing::read_bytes;
using fathom::testing::TempDir;

TEST(KeyStoreTest, CreateAuthenticateRevoke) {
  TempDir dir;
  auto ks = KeyStore::open(dir.file("keys.db"));
  ASSERT_TRUE(ks.ok()) << ks.status().to_string();
  auto k = (*ks)->create("acme", {"deepseek-chat"}, 0, false, 1000);
  ASSERT_TRUE(k.ok());
  auto info = (*ks)->authenticate(k->key, 2000);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->tenant, "acme");
  EXPECT_TRUE(info->allows("deepseek-chat"));
  EXPECT_FALSE(info->allows("deepseek-reasoner"));
  EXPECT_EQ((*ks)->authenticate("fk-wrong", 2000).status().code(), Code::kUnauthenticated);

  ASSERT_TRUE((*ks)->revoke(k->info.key_id, 3000).ok());
  auto revoked = (*ks)->authenticate(k->key, 4000);
  EXPECT_EQ(revoked.status().code(), Code::kUnauthenticated);
  EXPECT_NE(revoked.status().message().find("revoked"), std::string::npos);
  EXPECT_EQ((*ks)->revoke(k->info.key_id, 5000).code(), Code::kNotFound);
}

// The gateway caches authenticated keys; a revoke by another process (`fathom keys revoke`
// opens its own connection) must still take effect on the next request.
TEST(KeyStoreTest, ARevokeThroughAnotherConnectionIsSeenAtOnce) {
  TempDir dir;
  auto gateway = KeyStore::open(dir.file("keys.db"));
  auto cli = KeyStore::open(dir.file("keys.db"));
  ASSERT_TRUE(gateway.ok() && cli.ok());
  auto k = (*cli)->create("acme", {}, 0, false, 1000);
  ASSERT_TRUE(k.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*gateway)->authenticate(k->key, 2000 + i).ok());  // now cached

  ASSERT_TRUE((*cli)->revoke(k->info.key_id, 3000).ok());
  auto revoked = (*gateway)->authenticate(k->key, 4000);
  EXPECT_EQ(revoked.status().code(), Code::kUnauthenticated);
  EXPECT_NE(revoked.status().message().find("revoked"), std::string::npos);

  // ... and a key created elsewhere works at once too.
  auto k2 = (*cli)->create("acme", {}, 0, false, 5000);
  ASSERT_TRUE(k2.ok());
  EXPECT_TRUE((*gateway)->authenticate(k2->key, 6000).ok());
}

TEST(KeyStoreTest, ExpiredKeysAreRefused) {
  TempDir dir;
  auto ks = KeyStore::open(dir.file("keys.db"));
  ASSERT_TRUE(ks.ok());
  auto k = (*ks)->create("acme", {}, 10'000, false, 1000);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE((*ks)->authenticate(k->key, 9'999).ok());
  auto expired = (*ks)->authenticate(k->key, 10'000);
  EXPECT_EQ(expired.status().code(), Code::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
}

TEST(KeyStoreTest, OnlyHashesAreStoredAndListingShowsNoSecrets) {
  TempDir dir;
  std::string key;
  {
    auto ks = KeyStore::open(dir.file("keys.db"));
    ASSERT_TRUE(ks.ok());
    auto k = (*ks)->create("acme", {}, 0, true, 1);
    ASSERT_TRUE(k.ok());
    key = k->key;
    auto all = (*ks)->list();
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 1u);
    EXPECT_TRUE((*all)[0].admin);
    EXPECT_EQ((*all)[0].key_id, key_id(hash_api_key(key)));
  }
  const std::string db = read_bytes(dir.file("keys.db")) + read_bytes(dir.file("keys.db-wal"));
  EXPECT_EQ(db.find(key.substr(3)), std::string::npos);  // the plaintext is nowhere on disk
  EXPECT_NE(db.find(hash_api_key(key)), std::string::npos);
}

}  // namespace
}  // namespace fathom::gateway
