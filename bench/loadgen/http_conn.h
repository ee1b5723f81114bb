// One persistent HTTP/1.1 client connection of the load generator: sends a pre-serialised
// request, reads the response head and then the body piece by piece with Beast, and counts the
// `data:` events of text/event-stream bodies. Single-threaded: a connection belongs to one
// worker's io_context and reports to that worker through ConnHandler.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange unincluded
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace fathom::loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

/// Where to connect and what to send, built once at start-up and shared read-only.
struct Target {
  std::vector<tcp::endpoint> endpoints;
  std::string request;  ///< the whole serialised request, sent as-is every time
  bool head_method = false;
};

enum class Failure { None, ReadWrite, Timeout };

/// What one request/response exchange produced.
struct Exchange {
  Clock::time_point origin;       ///< latency counts from here: scheduled time or send time
  Clock::time_point sent;         ///< when the request was handed to the socket
  Clock::time_point first_event;  ///< valid when events > 0
  Clock::time_point done;
  Failure failure = Failure::None;
  int status = 0;  ///< 0 until the response head arrived
  bool event_stream = false;
  int64_t events = 0;
  bool saw_done = false;   ///< `data: [DONE]`
  bool saw_error = false;  ///< an `"error"` member in an event, or `event: error`
};

/// Splits a text/event-stream body into lines (across reads) and classifies them.
class SseScanner {
 public:
  /// Returns how many `data:` lines `bytes` completed.
  int64_t feed(std::string_view bytes);
  bool saw_done() const { return saw_done_; }
  bool saw_error() const { return saw_error_; }

 private:
  void on_line(std::string_view line);

  std::string line_;  // the unfinished line
  int64_t events_ = 0;
  bool saw_done_ = false;
  bool saw_error_ = false;
};

/// ASCII case-insensitive `text.starts_with(prefix)`.
bool starts_with_nocase(std::string_view text, std::string_view prefix);

class HttpConn;

/// The worker's side of its connections. Callbacks run on the connection's io_context.
class ConnHandler {
 public:
  virtual ~ConnHandler() = default;
  virtual void on_connected(HttpConn& conn, bool ok) = 0;
  virtual void on_head(HttpConn& /*conn*/) {}
  virtual void on_events(int64_t /*count*/, Clock::time_point /*now*/) {}
  /// The exchange is over. conn.open() says whether it can carry the next request.
  virtual void on_done(HttpConn& conn, const Exchange& ex) = 0;
};

/// Caps the connects in flight, so a burst of thousands does not overrun the listen backlog.
/// A finished TCP handshake only means the connection sits in the server's accept queue; with
/// `until_first_head` a connect stays in flight until the first response head on it arrives
/// (proof that the server accepted it), which keeps a busy server's accept queue short.
class ConnectGate {
 public:
  ConnectGate(int max_in_flight, bool until_first_head)
      : max_in_flight_(max_in_flight), until_first_head_(until_first_head) {}
  void submit(HttpConn& conn);  ///< connects now, or when a slot frees up
  void release();               ///< one connect finished
  bool until_first_head() const { return until_first_head_; }

 private:
  int max_in_flight_;
  bool until_first_head_;
  int in_flight_ = 0;
  std::deque<HttpConn*> waiting_;
};

class HttpConn {
 public:
  HttpConn(asio::io_context& io, const Target& target, ConnectGate& gate, ConnHandler& handler,
           std::chrono::milliseconds timeout);
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  void connect() { gate_.submit(*this); }
  void connect_after(std::chrono::milliseconds delay);  ///< back-off after a failed connect
  /// Sends the request; latency counts from `origin`. PRECOND: open() && !busy().
  void send(Clock::time_point origin);

  bool open() const { return open_; }
  bool busy() const { return busy_; }
  const Exchange& current() const { return ex_; }  ///< the exchange in flight, when busy()

 private:
  friend class ConnectGate;
  void start_connect();
  void read_head();
  void read_body();
  void scan(std::string_view bytes);
  void fail(beast::error_code ec);
  void finish(Failure failure);
  void close();
  void release_gate();

  const Target& target_;
  ConnectGate& gate_;
  ConnHandler& handler_;
  std::chrono::milliseconds timeout_;
  beast::tcp_stream stream_;
  asio::steady_timer retry_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 8192> chunk_{};
  SseScanner sse_;
  Exchange ex_;
  bool open_ = false;
  bool busy_ = false;
  bool holds_gate_ = false;  // this connection counts as a connect in flight
};

}  // namespace fathom::loadgen
