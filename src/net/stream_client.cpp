#include "net/stream_client.h"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <future>
#include <limits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "net/io_pool_impl.h"
#include "net/tls_impl.h"

namespace fathom::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

/// One connection to an upstream (TCP, or TLS over TCP when `tls` is set), with the bytes
/// read past the last response.
struct Conn {
  Conn(asio::io_context& io, std::shared_ptr<const TlsClientContext> tls_ctx)
      : tls(std::move(tls_ctx)), stream(make_stream(io, tls.get())) {}
  std::shared_ptr<const TlsClientContext> tls;  // kept alive for the stream; null: plain
  std::variant<beast::tcp_stream, TlsStream> stream;
  beast::flat_buffer buffer;
  SteadyClock::time_point idle_since;

  /// The TCP layer (timeouts, the socket) under either kind of stream.
  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream);
  }
  /// Runs fn(stream) with the stream bytes travel on.
  template <typename Fn>
  void visit(Fn&& fn) {
    std::visit(std::forward<Fn>(fn), stream);
  }

 private:
  static std::variant<beast::tcp_stream, TlsStream> make_stream(asio::io_context& io,
                                                                const TlsClientContext* tls) {
    if (!tls) return std::variant<beast::tcp_stream, TlsStream>(std::in_place_index<0>, io);
    return std::variant<beast::tcp_stream, TlsStream>(std::in_place_index<1>, io, tls->ctx);
  }
};

/// True when an idle connection can take a request: nothing to read, no EOF, no error.
bool still_open(Conn& c) {
  if (c.buffer.size() > 0 || !c.tcp().socket().is_open()) return false;
  char byte;
  const ssize_t n = ::recv(c.tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct StreamClient::Impl : std::enable_shared_from_this<StreamClient::Impl> {
  using IdleList = std::deque<std::shared_ptr<Conn>>;  // oldest first
  std::shared_ptr<IoPool> pool;
  StreamClientOptions options;
  // Per loop, per "host:port"; touched only on that loop's thread.
  std::vector<std::unordered_map<std::string, IdleList>> idle;
  std::atomic<int64_t> opened{0}, reused{0};

  /// A live idle connection to `key`, or null. Loop thread only.
  std::shared_ptr<Conn> take(int loop, const std::string& key) {
    auto it = idle[static_cast<size_t>(loop)].find(key);
    if (it == idle[static_cast<size_t>(loop)].end()) return nullptr;
    IdleList& list = it->second;
    const auto now = SteadyClock::now();
    while (!list.empty()) {
      std::shared_ptr<Conn> c = std::move(list.back());  // most recently used: warmest
      list.pop_back();
      beast::error_code ignored;
      c->tcp().socket().cancel(ignored);  // its idle watch ends with operation_aborted
      if (now - c->idle_since < std::chrono::milliseconds(options.idle_timeout_ms) && still_open(*c)) return c;
      c->tcp().socket().close(ignored);
    }
    return nullptr;
  }

  /// Keeps `c` for the next request to `key`; watches it so a server-side close drops it.
  void put(int loop, const std::string& key, std::shared_ptr<Conn> c) {
    IdleList& list = idle[static_cast<size_t>(loop)][key];
    const auto now = SteadyClock::now();
    while (!list.empty() && (static_cast<int>(list.size()) >= options.max_idle_per_host ||
                             now - list.front()->idle_since >= std::chrono::milliseconds(options.idle_timeout_ms))) {
      beast::error_code ignored;
      list.front()->tcp().socket().close(ignored);
      list.pop_front();
    }
    if (options.max_idle_per_host <= 0) return;
    c->idle_since = now;
    c->tcp().expires_never();
    c->tcp().socket().async_wait(tcp::socket::wait_read, [weak = weak_from_this(), loop, key,
                                                          raw = c.get()](beast::error_code ec) {
      if (ec == asio::error::operation_aborted) return;  // taken or closed
      if (auto self = weak.lock()) self->drop(loop, key, raw);
    });
    list.push_back(std::move(c));
  }

  void drop(int loop, const std::string& key, Conn* raw) {
    auto it = idle[static_cast<size_t>(loop)].find(key);
    if (it == idle[static_cast<size_t>(loop)].end()) return;
    for (auto c = it->second.begin(); c != it->second.end(); ++c) {
      if (c->get() != raw) continue;
      beast::error_code ignored;
      (*c)->tcp().socket().close(ignored);
      it->second.erase(c);
      return;
    }
  }
};

namespace {

class Op final : public StreamRequest, public std::enable_shared_from_this<Op> {
 public:
  Op(std::shared_ptr<StreamClient::Impl> client, int loop, StreamSpec spec, StreamCallbacks cb)
      : client_(client),
        loop_(loop),
        io_(client->pool->impl().io(loop)),
        spec_(std::move(spec)),
        tls_(spec_.url.https ? (spec_.url.tls ? spec_.url.tls : default_tls_client_context())
                             : nullptr),
        origin_(std::string(spec_.url.scheme()) + "://" + spec_.url.host + ":" +
                std::to_string(spec_.url.port)),
        key_(tls_ ? origin_ + "#" + std::to_string(reinterpret_cast<uintptr_t>(tls_.get()))
                  : origin_),
        cb_(std::move(cb)) {
    req_.method_string(spec_.method);
    req_.target(spec_.target);
    req_.version(11);
    req_.set(http::field::host, spec_.url.host + ":" + std::to_string(spec_.url.port));
    for (const auto& [k, v] : spec_.headers) req_.set(k, v);
    req_.body() = std::move(spec_.body);
    req_.keep_alive(true);
    req_.prepare_payload();
  }

  void run() {
    asio::dispatch(io_, [self = shared_from_this()] {
      if (auto client = self->client_.lock()) self->conn_ = client->take(self->loop_, self->key_);
      if (self->conn_) {
        self->reused_ = true;
        if (auto client = self->client_.lock()) ++client->reused;
        return self->send();
      }
      self->connect();
    });
  }

  void cancel() override {
    asio::dispatch(io_, [self = shared_from_this()] {
      self->cancelled_ = true;
      self->close_conn();
      self->finish(unavailable("request cancelled"));
    });
  }

 private:
  void connect() {
    reused_ = false;
    conn_ = std::make_shared<Conn>(io_, tls_);
    if (auto client = client_.lock()) ++client->opened;
    // A numeric address skips the resolver, which runs getaddrinfo on a helper thread.
    beast::error_code not_numeric;
    const asio::ip::address addr = asio::ip::make_address(spec_.url.host, not_numeric);
    if (!not_numeric) return on_resolve({}, tcp::resolver::results_type::create(tcp::endpoint(addr, spec_.url.port),
                                                                               spec_.url.host, std::to_string(spec_.url.port)));
    resolver_.emplace(io_);
    resolver_->async_resolve(spec_.url.host, std::to_string(spec_.url.port),
                             [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
                               self->on_resolve(ec, std::move(r));
                             });
  }

  void on_resolve(beast::error_code ec, const tcp::resolver::results_type& results) {
    if (done_) return;
    if (ec) return fail("resolve", ec);
    conn_->tcp().expires_after(std::chrono::milliseconds(spec_.timeouts.connect_ms));
    conn_->tcp().async_connect(results, [self = shared_from_this(), conn = conn_](
                                            beast::error_code e, const tcp::endpoint&) {
      if (self->done_) return;
      if (e) return self->fail("connect", e);
      self->conn_->tcp().socket().set_option(tcp::no_delay(true), e);
      if (self->tls_) return self->handshake();
      self->send();
    });
  }

  /// TLS: the server's certificate must chain to a trusted CA, carry the host's name (or
  /// address) and match a pin when there are pins. Any failure fails the attempt.
  void handshake() {
    TlsStream& tls = std::get<TlsStream>(conn_->stream);
    if (Status s = prepare_client_tls(tls.native_handle(), spec_.url.host); !s.ok()) {
      close_conn();
      return finish(unavailable(origin_ + ": " + s.message()));
    }
    conn_->tcp().expires_after(std::chrono::milliseconds(spec_.timeouts.connect_ms));
    tls.async_handshake(asio::ssl::stream_base::client, [self = shared_from_this(),
                                                         conn = conn_](beast::error_code e) {
      if (self->done_) return;
      TlsStream& stream = std::get<TlsStream>(conn->stream);
      if (e) return self->fail_with("TLS handshake", tls_failure(e, stream.native_handle()));
      if (Status s = check_spki_pins(*self->tls_, stream.native_handle()); !s.ok())
        return self->fail_with("TLS handshake", s.message());
      self->send();
    });
  }

  void send() {
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    conn_->tcp().expires_after(std::chrono::milliseconds(spec_.timeouts.first_byte_ms));
    conn_->visit([&](auto& stream) {
      http::async_write(
          stream, req_, [self = shared_from_this(), conn = conn_](beast::error_code e, size_t) {
            if (self->done_) return;
            if (e) return self->fail_or_resend("write", e);
            conn->visit([&](auto& s) {
              http::async_read_header(
                  s, conn->buffer, *self->parser_,
                  [self, conn](beast::error_code e2, size_t) { self->on_header(e2); });
            });
          });
    });
  }

  void on_header(beast::error_code ec) {
    if (done_) return;
    if (ec) return fail_or_resend("read response head", ec);
    head_seen_ = true;
    std::map<std::string, std::string> headers;
    for (const auto& f : parser_->get()) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[name] = std::string(f.value());
    }
    if (cb_.on_head) cb_.on_head(static_cast<int>(parser_->get().result_int()), headers);
    read_body();
  }

  void read_body() {
    if (done_) return;
    if (parser_->is_done()) return complete();
    parser_->get().body().data = chunk_.data();
    parser_->get().body().size = chunk_.size();
    conn_->tcp().expires_after(std::chrono::milliseconds(spec_.timeouts.idle_ms));
    conn_->visit([&](auto& stream) {
      http::async_read_some(
          stream, conn_->buffer, *parser_,
          [self = shared_from_this(), conn = conn_](beast::error_code ec, size_t) {
            if (self->done_) return;
            if (ec == http::error::need_buffer) ec = {};
            const size_t got = self->chunk_.size() - self->parser_->get().body().size;
            if (got > 0 && self->cb_.on_body)
              self->cb_.on_body(std::string_view(self->chunk_.data(), got));
            if (ec) return self->fail("read response body", ec);
            self->read_body();
          });
    });
  }

  /// The whole response arrived: the connection goes back to the idle list if both sides keep it.
  void complete() {
    if (parser_->keep_alive()) {
      if (auto client = client_.lock()) client->put(loop_, key_, std::move(conn_));
    }
    close_conn();
    finish(ok_status());
  }

  /// A reused connection the server had closed before answering: send once more on a new one.
  void fail_or_resend(const char* what, beast::error_code ec) {
    const bool server_closed = ec == http::error::end_of_stream || ec == asio::error::eof ||
                               ec == asio::error::connection_reset ||
                               ec == asio::error::broken_pipe ||
                               ec == asio::ssl::error::stream_truncated;
    if (reused_ && server_closed && !head_seen_ && !cancelled_) {
      close_conn();
      return connect();
    }
    fail(what, ec);
  }

  void fail(const char* what, beast::error_code ec) {
    fail_with(what, ec == beast::error::timeout ? std::string("timed out") : ec.message());
  }

  void fail_with(const char* what, const std::string& why) {
    close_conn();
    if (cancelled_) return finish(unavailable("request cancelled"));
    finish(unavailable(std::string(what) + " " + origin_ + ": " + why));
  }

  void close_conn() {
    if (!conn_) return;
    beast::error_code ignored;
    conn_->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn_->tcp().close();
    conn_.reset();
  }

  void finish(const Status& s) {
    if (done_) return;
    done_ = true;
    if (cb_.on_done) cb_.on_done(s, head_seen_);
    cb_ = {};  // drop captured state promptly
  }

  std::weak_ptr<StreamClient::Impl> client_;
  int loop_;
  asio::io_context& io_;
  StreamSpec spec_;
  std::shared_ptr<const TlsClientContext> tls_;  // null: plain HTTP
  std::string origin_;                           // "https://host:port", for messages
  std::string key_;                              // the idle list: origin and TLS context
  StreamCallbacks cb_;
  std::optional<tcp::resolver> resolver_;
  // Shared with the pending operation's handler: a cancelled operation still completes into
  // this connection's buffer after close_conn() let go of it.
  std::shared_ptr<Conn> conn_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 16384> chunk_{};
  bool reused_ = false;
  bool head_seen_ = false;
  bool done_ = false;
  bool cancelled_ = false;
};

}  // namespace

StreamClient::StreamClient(std::shared_ptr<IoPool> pool, StreamClientOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->pool = std::move(pool);
  impl_->options = options;
  impl_->idle.resize(static_cast<size_t>(impl_->pool->size()));
}

StreamClient::~StreamClient() {
  // Idle lists belong to the loops' threads: empty them there (when a loop still runs).
  for (int i = 0; i < impl_->pool->size(); ++i) {
    asio::io_context& io = impl_->pool->impl().io(i);
    if (io.stopped()) continue;
    auto cleared = std::make_shared<std::promise<void>>();
    asio::post(io, [impl = impl_, i, cleared] {
      impl->idle[static_cast<size_t>(i)].clear();
      cleared->set_value();
    });
    cleared->get_future().wait_for(std::chrono::seconds(1));  // bounded: the loop may stop meanwhile
  }
}

std::shared_ptr<StreamRequest> StreamClient::start(StreamSpec spec, StreamCallbacks callbacks) {
  const int loop = spec.io_index >= 0 ? spec.io_index % impl_->pool->size() : impl_->pool->impl().pick();
  auto op = std::make_shared<Op>(impl_, loop, std::move(spec), std::move(callbacks));
  op->run();
  return op;
}

int64_t StreamClient::connections_opened() const { return impl_->opened.load(); }
int64_t StreamClient::requests_reused() const { return impl_->reused.load(); }

}  // namespace fathom::net
