// Tenants' API keys, stored only as hashes (SQLite). A key lists the models it may use, may
// expire and can be revoked; admin keys guard /admin/... and `fathom keys`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "gateway/security/data_protection.h"

namespace fathom::gateway {

struct KeyInfo {
  std::string key_id;  ///< non-secret short id (prefix of the hash)
  std::string tenant;
  std::vector<std::string> models;  ///< empty = every model
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  ///< 0 = never
  int64_t revoked_ms = 0;  ///< 0 = active
  bool admin = false;

  bool allows(const std::string& model) const;
};

struct NewKey {
  std::string key;  ///< the plaintext, returned exactly once
  KeyInfo info;
};

/// What `fathom keys verify` reports: rows whose MAC matches, rows without one (written before
/// data protection was on; `fathom keys seal` seals them) and rows whose MAC does not match.
struct KeyIntegrity {
  int64_t sealed = 0;
  std::vector<std::string> unsealed, tampered;  ///< key ids
};

class KeyStore {
 public:
  /// With `protection`, every row carries a MAC over all its fields: create and revoke write
  /// it, authentication refuses a key whose row does not match it (or has none).
  static Result<std::unique_ptr<KeyStore>> open(
      const std::string& path, std::shared_ptr<const DataProtection> protection = nullptr);
  ~KeyStore();

  Result<NewKey> create(const std::string& tenant, std::vector<std::string> models,
                        int64_t expires_ms, bool admin, int64_t now_ms);
  /// Unauthenticated for an unknown, revoked or expired key (the message says which, never
  /// the key itself).
  Result<KeyInfo> authenticate(const std::string& key, int64_t now_ms) const;
  Status revoke(const std::string& key_id, int64_t now_ms);
  Result<std::vector<KeyInfo>> list(const std::string& tenant = "") const;
  /// Every row checked against its MAC (FailedPrecondition without data protection).
  Result<KeyIntegrity> verify_integrity() const;
  /// Seals the rows that have no MAC yet (an operator's deliberate step after turning data
  /// protection on); rows whose MAC does not match are left as they are. The count sealed.
  Result<int64_t> seal_unsealed();

 private:
  KeyStore() = default;
  struct Db;
  std::unique_ptr<Db> db_;
};

}  // namespace fathom::gateway
