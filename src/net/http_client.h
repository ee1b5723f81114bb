// A small blocking HTTP/1.1 client over Boost.Beast, for `fathom bench serve` and tests. One
// client = one keep-alive connection, used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace fathom::net {

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path;  ///< "/..." (no trailing slash); "" for the root
};

/// Parses "http://host[:port][/path]". https is refused with InvalidArgument.
Result<Url> parse_url(std::string_view url);

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

/// Called with each piece of the body as it arrives.
using BodyChunkCallback = std::function<void(std::string_view)>;

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port, int64_t timeout_ms = 600'000);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  /// Connects on first use and reconnects after the server closed the connection.
  /// Unavailable on connection or transport errors (the message says which).
  Result<ClientResponse> request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::map<std::string, std::string>& headers = {},
                                 const BodyChunkCallback& on_chunk = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::net
