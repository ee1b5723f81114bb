#include "server/api_key.h"

namespace fathom::server {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the expected length whatever the input, so the time does not reveal a prefix match.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ static_cast<unsigned char>(b[i]));
  }
  return diff == 0;
}

Status check_api_key(std::string_view authorization_header, std::string_view expected) {
  if (expected.empty()) return ok_status();
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization_header.size() < kBearer.size() ||
      !constant_time_equal(authorization_header.substr(0, kBearer.size()), kBearer))
    return Status(Code::kUnauthenticated, "missing API key: send the header 'Authorization: Bearer <key>'");
  if (!constant_time_equal(authorization_header.substr(kBearer.size()), expected))
    return Status(Code::kUnauthenticated, "incorrect API key");
  return ok_status();
}

}  // namespace fathom::server
