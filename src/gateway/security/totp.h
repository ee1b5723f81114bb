// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1, 30 s steps, 6
// digits): the second factor administrators give with their admin key (MLPS level 3 asks for
// two factors for administrators). Secrets are base32 (RFC 4648), as authenticator apps take
// them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace fathom::gateway {

/// The raw key of a base32 secret (spaces and '=' ignored, case-insensitive).
Result<std::string> base32_decode(std::string_view text);

/// The `digits`-digit HOTP value of `counter` (RFC 4226 section 5.3).
std::string hotp(const std::string& key, uint64_t counter, int digits = 6);

struct TotpCheck {
  bool ok = false;
  int64_t step = -1;  ///< the matched time step (reject its reuse)
};

/// Whether `code` is the TOTP of `key` at `unix_s`, allowing `skew_steps` steps either side
/// for clock drift. Compares in constant time per candidate.
TotpCheck verify_totp(const std::string& key, std::string_view code, int64_t unix_s,
                      int skew_steps = 1);

}  // namespace fathom::gateway
