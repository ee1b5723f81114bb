// An asynchronous HTTP/1.1 client for proxying: one request per call, the response head and
// then each piece of the body delivered as it arrives, on an I/O loop of the client's pool. The
// caller never blocks, so thousands of upstream streams cost a socket and a small buffer each.
//
// Connections are kept alive and reused, per loop and per host:port (no locks: a loop's idle
// list is only touched on that loop's thread). A request sent on a reused connection that the
// server had already closed (no byte of a response came back) is sent once more on a fresh
// connection: the server never saw it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "net/http_client.h"
#include "net/io_pool.h"

namespace fathom::net {

struct StreamTimeouts {
  int64_t connect_ms = 5'000;
  int64_t first_byte_ms = 120'000;  ///< from sending the request to the response head
  int64_t idle_ms = 60'000;         ///< between two pieces of the body
};

/// One upstream request.
struct StreamSpec {
  Url url;
  std::string method = "POST";
  std::string target;  ///< path and query
  std::map<std::string, std::string> headers;
  std::string body;
  StreamTimeouts timeouts;
  int io_index = -1;  ///< the pool loop to run on (an Exchange's io_index()); -1: any
};

struct StreamCallbacks {
  /// Status code and lower-cased headers, once.
  std::function<void(int status, const std::map<std::string, std::string>& headers)> on_head;
  std::function<void(std::string_view piece)> on_body;
  /// Last call: OK when the whole response arrived; Unavailable (connect, reset, timeout) or
  /// Cancelled-like Unavailable after cancel(). `head_seen` says whether on_head ran.
  std::function<void(const Status& status, bool head_seen)> on_done;
};

class StreamRequest {
 public:
  virtual ~StreamRequest() = default;
  /// Closes the connection; on_done follows (unless it already ran). Thread-safe.
  virtual void cancel() = 0;
};

struct StreamClientOptions {
  int max_idle_per_host = 256;    ///< per loop
  int64_t idle_timeout_ms = 30'000;  ///< an idle connection older than this is closed
};

class StreamClient {
 public:
  /// Runs on `pool` (shared with an HttpServer; the caller starts and stops it).
  explicit StreamClient(std::shared_ptr<IoPool> pool, StreamClientOptions options = {});
  ~StreamClient();  ///< closes idle connections (requests in flight end with their loops)

  std::shared_ptr<StreamRequest> start(StreamSpec spec, StreamCallbacks callbacks);

  /// Connections opened and requests sent on a reused connection (for tests and metrics).
  int64_t connections_opened() const;
  int64_t requests_reused() const;

  struct Impl;  // the idle connections; defined in stream_client.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace fathom::net
