// An asynchronous HTTP/1.1 client for proxying: one request per call, the response head and
// then each piece of the body delivered as it arrives, on the client's own I/O threads. The
// caller never blocks, so thousands of upstream streams cost a socket and a small buffer each.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "net/http_client.h"

namespace fathom::net {

struct StreamTimeouts {
  int64_t connect_ms = 5'000;
  int64_t first_byte_ms = 120'000;  ///< from sending the request to the response head
  int64_t idle_ms = 60'000;         ///< between two pieces of the body
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

class StreamClient {
 public:
  explicit StreamClient(int num_threads = 1);
  ~StreamClient();  ///< cancels everything in flight and joins the threads

  std::shared_ptr<StreamRequest> start(const Url& url, const std::string& method, const std::string& target,
                                       const std::map<std::string, std::string>& headers, std::string body,
                                       const StreamTimeouts& timeouts, StreamCallbacks callbacks);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::net
