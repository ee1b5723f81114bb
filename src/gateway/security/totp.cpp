#include "gateway/security/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cctype>

namespace fathom::gateway {

Result<std::string> base32_decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == ' ' || c == '=' || c == '-') continue;
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    int v;
    if (u >= 'A' && u <= 'Z')
      v = u - 'A';
    else if (u >= '2' && u <= '7')
      v = u - '2' + 26;
    else
      return invalid_argument("a base32 secret may only hold A-Z and 2-7");
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  if (out.size() < 10)
    return invalid_argument("a TOTP secret must hold at least 80 bits (16 base32 characters)");
  return out;
}

std::string hotp(const std::string& key, uint64_t counter, int digits) {
  std::array<unsigned char, 8> msg{};
  for (int i = 7; i >= 0; --i, counter >>= 8)
    msg[static_cast<size_t>(i)] = static_cast<unsigned char>(counter & 0xff);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), mac.data(),
       &len);
  const int offset = mac[len - 1] & 0x0f;  // dynamic truncation
  const uint32_t bin = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                       (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                       (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                       static_cast<uint32_t>(mac[offset + 3]);
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::string code = std::to_string(bin % mod);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

TotpCheck verify_totp(const std::string& key, std::string_view code, int64_t unix_s,
                      int skew_steps) {
  TotpCheck result;
  if (code.size() != 6 || unix_s < 0) return result;
  const int64_t step = unix_s / 30;
  for (int64_t s = step - skew_steps; s <= step + skew_steps; ++s) {
    if (s < 0) continue;
    const std::string want = hotp(key, static_cast<uint64_t>(s));
    if (CRYPTO_memcmp(want.data(), code.data(), want.size()) == 0) {
      result.ok = true;
      result.step = s;
    }
  }
  return result;
}

}  // namespace fathom::gateway
