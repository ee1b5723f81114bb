// One HTTP request/response exchange, handed to a route. Every method is thread-safe: the
// engine thread may call them; the work itself runs on the connection's strand.
//
// A route answers exactly once: send() a whole response, or begin_stream() then any number of
// send_event() and finally end_stream(). Until then the connection watches its socket and
// reports a client that goes away through the on_disconnect callback (called once, on the
// strand); after a disconnect every send is silently dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "net/http_message.h"

namespace fathom::net {

class Exchange {
 public:
  virtual ~Exchange() = default;

  const HttpRequest& request() const { return request_; }

  /// Runs fn on this connection's strand (after whatever was posted before it).
  virtual void post(std::function<void()> fn) = 0;

  virtual void send(HttpResponse response) = 0;

  /// Starts a 200 text/event-stream response (chunked transfer encoding). With keepalive_ms >
  /// 0, an SSE comment (": keep-alive") goes out whenever nothing was written for that long, so
  /// that proxies and clients with idle timeouts keep a slow stream open. `headers`: extra
  /// response headers (lower-case names).
  virtual void begin_stream(int64_t keepalive_ms = 0,
                            std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  /// Queues one SSE event (framed with format_sse_event). Consecutive queued events are
  /// written together. When more than the server's max_stream_buffer_bytes are waiting for a
  /// slow client, the connection is closed and reported as a disconnect (backpressure: the
  /// engine never waits for a socket). `event`: the event's type line, none when empty.
  virtual void send_event(std::string data, std::string event = {}) = 0;
  virtual void end_stream() = 0;

  /// Runs fn on the strand after delay_ms, unless the exchange was answered in full or the
  /// client left by then.
  virtual void post_after(int64_t delay_ms, std::function<void()> fn) = 0;

  /// The I/O loop this connection lives on (see IoPool): work for it started there, an
  /// upstream request for instance, never changes thread.
  virtual int io_index() const = 0;

  /// fn runs once if the client disconnects before the exchange is answered in full.
  virtual void on_disconnect(std::function<void()> fn) = 0;
  virtual bool disconnected() const = 0;

 protected:
  explicit Exchange(HttpRequest request) : request_(std::move(request)) {}
  HttpRequest request_;
};

}  // namespace fathom::net
