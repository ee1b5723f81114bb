// An asynchronous HTTP/1.1 server over Boost.Beast: keep-alive, a request body limit (413),
// header and idle timeouts, N I/O threads, streaming responses with disconnect detection.
// Beast and Asio stay inside src/net; their errors become Status values here.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "net/exchange.h"
#include "net/io_pool.h"
#include "net/tls_context.h"

namespace fathom::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  ///< 0: pick a free port (see HttpServer::port())
  int num_io_threads = 2;  ///< when the server makes its own IoPool
  int64_t max_body_bytes = 8ll << 20;          ///< larger bodies get 413
  int64_t header_timeout_ms = 30'000;          ///< to read a whole request
  int64_t idle_timeout_ms = 75'000;            ///< keep-alive connection with nothing to do
  int64_t max_stream_buffer_bytes = 4ll << 20; ///< per streaming response, see Exchange
  /// CORS: the origins browsers may call from ("*": any). Empty: no CORS headers. A preflight
  /// (OPTIONS with Access-Control-Request-Method) from an allowed origin is answered here,
  /// before any handler (and so before authentication).
  std::vector<std::string> cors_allowed_origins;
  /// Every answer (streams too) carries x-request-id: the client's own when it sent a plain one
  /// (1 to 128 of [A-Za-z0-9._:-]), else one made here. Off where the application sets its own.
  bool request_ids = false;
  /// TLS on this listener (plain HTTP when tls.cert_file is empty). With a client CA, a client
  /// without a certificate it signed is refused in the handshake.
  TlsServerConfig tls;
};

/// Routes see every well-formed request. Called on the connection's strand; must not block.
using RequestHandler = std::function<void(std::shared_ptr<Exchange>)>;
/// Renders the server's own errors (413, malformed HTTP) in the application's format.
using ErrorRenderer = std::function<HttpResponse(int http_status, const std::string& message)>;

class HttpServer {
 public:
  /// Runs on `pool` when given (shared with a StreamClient, say), else on a pool of its own.
  HttpServer(HttpServerOptions options, RequestHandler handler, ErrorRenderer error_renderer,
             std::shared_ptr<IoPool> pool = nullptr);
  ~HttpServer();  ///< stops and joins

  /// Loads the TLS files (InvalidArgument naming a bad one), binds and listens, then starts the
  /// I/O threads. Unavailable when the address is taken.
  Status start();
  uint16_t port() const;

  /// Reads the certificate and key files of options.tls again (after a renewal, on SIGHUP):
  /// new connections use them, open ones keep theirs. On error (naming the file) the running
  /// certificate stays. OK and nothing done without TLS. Thread-safe.
  Status reload_tls();

  /// Closes the listener (new connections are refused; open ones keep working).
  void stop_accepting();
  /// Exchanges started and not yet answered in full.
  int64_t num_active_exchanges() const;
  int64_t num_open_connections() const;
  /// Stops the I/O pool (shared or not) and closes every connection. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::net
