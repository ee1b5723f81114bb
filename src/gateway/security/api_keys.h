// API keys: random, shown once, stored only as SHA-256 hashes, compared in constant time.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace fathom::gateway {

/// "fk-" + 43 base64url characters (32 bytes from the OS CSPRNG).
Result<std::string> generate_api_key();

/// Lower-case hex SHA-256 of the key (what the key store keeps).
std::string hash_api_key(std::string_view key);

/// A short, non-secret identifier for logs and the ledger: the first 12 hex chars of the hash.
std::string key_id(std::string_view key_hash);

/// Equal-length comparison whose time does not depend on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Lower-case hex SHA-256 of arbitrary bytes.
std::string sha256_hex(std::string_view data);

}  // namespace fathom::gateway
