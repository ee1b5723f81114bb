// Protection of the gateway's data at rest, from one secret the operator keeps apart from the
// data (`data_protection.key_file`: 32 random bytes as 64 hex digits, `openssl rand -hex 32`):
// - integrity: a MAC sealed into every key-store row and ledger row, so a row edited, added
//   or copied in the database without the secret is detected (authentication refuses such a
//   key; `fathom keys verify` and `fathom billing verify` report them);
// - confidentiality: response-cache entries kept in Redis (model answers, which may hold what
//   the prompt held) are encrypted and authenticated.
// Two suites: `aes` (AES-256-GCM, HMAC-SHA256) and `sm4` (SM4-CTR with HMAC-SM3 over the IV and
// ciphertext, encrypt-then-MAC: Debian 12's OpenSSL 3.0 has SM4 but no SM4-GCM). Each purpose
// gets its own key, derived from the secret with HMAC.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace fathom::gateway {

enum class DataSuite { kAes, kSm4 };

class DataProtection {
 public:
  /// `secret`: 32 bytes. Unavailable when OpenSSL lacks the suite's algorithms.
  static Result<std::shared_ptr<const DataProtection>> create(std::string_view secret,
                                                              DataSuite suite);
  /// Reads the secret from a file of 64 hex digits (whitespace around them allowed).
  static Result<std::shared_ptr<const DataProtection>> load(const std::string& key_file,
                                                            DataSuite suite);

  DataSuite suite() const { return suite_; }
  /// The MAC of `data`, hex.
  std::string seal(std::string_view data) const;
  /// Constant-time comparison of `mac` with seal(data).
  bool check(std::string_view data, std::string_view mac) const;
  /// IV || ciphertext || tag, with a one-byte version and suite header.
  Result<std::string> encrypt(std::string_view plain) const;
  /// DataLoss for anything encrypt() did not produce with this secret and suite.
  Result<std::string> decrypt(std::string_view sealed) const;

 private:
  DataProtection() = default;
  DataSuite suite_ = DataSuite::kAes;
  std::string mac_key_, enc_key_, enc_mac_key_;
};

/// "aes" or "sm4" (the config's data_protection.suite).
Result<DataSuite> parse_data_suite(std::string_view name);

}  // namespace fathom::gateway
