// A small blocking HTTP/1.1 client over Boost.Beast (http:// and https://), for `fathom bench
// serve`, the gateway's health checks and tests. One client = one keep-alive connection, used
// by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "net/tls_context.h"

namespace fathom::net {

/// Where an endpoint is and how to reach it.
struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path;  ///< "/..." (no trailing slash); "" for the root
  bool https = false;
  /// With https: the CAs, client certificate and pins; null: default_tls_client_context().
  std::shared_ptr<const TlsClientContext> tls;

  const char* scheme() const { return https ? "https" : "http"; }
};

/// Parses "http://host[:port][/path]" (port 80) or "https://..." (port 443).
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
  /// http or https, as `url` says (its path is not used: targets are given per request). Over
  /// https the server's certificate and name are verified; a failure is Unavailable.
  explicit HttpClient(const Url& url, int64_t timeout_ms = 600'000);
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
