// Boost.Beast server. One Session per TCP connection, all of its work on the one thread of its
// IoPool loop (that single thread is what serialises it: no strand needed); the Exchange a
// route holds posts onto that loop, so routes and the engine thread never touch a socket
// directly. "On the strand" below means on that loop's thread.
//
// A connection's bytes travel over plain TCP or TLS over TCP (HttpServerOptions::tls): one
// Session serves both, reaching its stream through visit_stream(); only the handshake and the
// disconnect check differ.
#include "net/http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "base/logging.h"
#include "net/io_pool_impl.h"
#include "net/sse.h"
#include "net/tls_impl.h"

namespace fathom::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

const std::string& HttpRequest::header(const std::string& name) const {
  static const std::string kEmpty;
  auto it = headers.find(name);
  return it == headers.end() ? kEmpty : it->second;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Shared {
  HttpServerOptions options;
  RequestHandler handler;
  ErrorRenderer error_renderer;
  std::atomic<int64_t> active_exchanges{0};
  std::atomic<int64_t> open_connections{0};
  std::atomic<uint64_t> next_request_id{0};
};

bool plain_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
          c == '-'))
      return false;
  return true;
}

class Session;

class ExchangeImpl final : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
 public:
  ExchangeImpl(HttpRequest req, std::shared_ptr<Session> session)
      : Exchange(std::move(req)), session_(std::move(session)) {}
  void post(std::function<void()> fn) override;
  void post_after(int64_t delay_ms, std::function<void()> fn) override;
  int io_index() const override;
  void send(HttpResponse response) override;
  void begin_stream(int64_t keepalive_ms,
                    std::vector<std::pair<std::string, std::string>> headers) override;
  void send_event(std::string data, std::string event = {}) override;
  void end_stream() override;
  void on_disconnect(std::function<void()> fn) override;
  bool disconnected() const override { return disconnected_.load(); }

  // Strand-only state, owned by the Session.
  std::vector<std::function<void()>> disconnect_callbacks_;
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;  // post_after's, cancelled when let go
  std::atomic<bool> disconnected_{false};

 private:
  std::shared_ptr<Session> session_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  /// Plain HTTP when `tls` is null, else TLS with that context (kept alive by the session).
  Session(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
          std::shared_ptr<Shared> shared, int io_index)
      : stream_(make_stream(std::move(socket), tls.get())),
        tls_(std::move(tls)),
        keep_shared_(std::move(shared)),
        shared_(*keep_shared_),
        io_index_(io_index) {
    ++shared_.open_connections;
  }
  ~Session() {
    if (counted_) --shared_.active_exchanges;
    --shared_.open_connections;
  }

  void start() {
    asio::dispatch(tcp_stream().get_executor(), [self = shared_from_this()] {
      if (!self->tls_) return self->do_read();
      // The handshake (and with a client CA, the client's certificate check) within the header
      // timeout.
      self->tcp_stream().expires_after(
          std::chrono::milliseconds(self->shared_.options.header_timeout_ms));
      std::get<TlsStream>(self->stream_)
          .async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
            if (ec) {
              FATHOM_LOG(kDebug) << "TLS handshake refused: "
                                 << tls_failure(ec,
                                                std::get<TlsStream>(self->stream_).native_handle());
              return self->close();
            }
            self->do_read();
          });
    });
  }

  template <typename Fn>
  void on_strand(Fn&& fn) {
    asio::post(tcp_stream().get_executor(), std::forward<Fn>(fn));
  }

  int io_index() const { return io_index_; }

  // ---- called on the strand by ExchangeImpl ----

  bool current(ExchangeImpl* ex) const { return ex && exchange_.lock().get() == ex; }

  // The answer's x-request-id (HttpServerOptions::request_ids), "" when off.
  std::string request_id(const ExchangeImpl* ex) {
    if (!shared_.options.request_ids) return "";
    const std::string& given = ex->request().header("x-request-id");
    if (plain_request_id(given)) return given;
    static const uint64_t kStart =
        static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    char buf[40];
    std::snprintf(buf, sizeof(buf), "req-%llx-%llx",
                  static_cast<unsigned long long>(kStart & 0xffffffffffull),
                  static_cast<unsigned long long>(shared_.next_request_id.fetch_add(1)));
    return buf;
  }

  void respond(ExchangeImpl* ex, HttpResponse r) {
    if (!current(ex) || answered_) return;
    answered_ = true;
    ex->disconnect_callbacks_.clear();  // answered: nothing to cancel
    if (ex->disconnected()) return close();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::server, "fathom");
    for (auto& [k, v] : r.headers) res->set(k, v);
    if (std::string id = request_id(ex); !id.empty() && res->find("x-request-id") == res->end())
      res->set("x-request-id", id);
    if (!cors_origin_.empty()) {
      res->set(http::field::access_control_allow_origin, cors_origin_);
      res->set(http::field::access_control_expose_headers, "x-request-id, retry-after");
      res->set(http::field::vary, "Origin");
    }
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    tcp_stream().expires_after(std::chrono::milliseconds(shared_.options.header_timeout_ms));
    visit_stream([&](auto& stream) {
      http::async_write(stream, *res,
                        [self = shared_from_this(), res](beast::error_code ec, size_t) {
                          self->on_exchange_written(ec);
                        });
    });
  }

  void begin_stream(ExchangeImpl* ex, int64_t keepalive_ms,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
    if (!current(ex) || answered_ || streaming_) return;
    streaming_ = true;
    const std::string id = request_id(ex);
    std::string extra;
    for (const auto& [name, value] : headers) extra += name + ": " + value + "\r\n";
    queue_raw("HTTP/1.1 200 OK\r\nServer: fathom\r\nContent-Type: text/event-stream\r\n" +
              (id.empty() ? std::string() : "X-Request-Id: " + id + "\r\n") + extra +
              "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n" +
              (cors_origin_.empty()
                   ? std::string()
                   : "Access-Control-Allow-Origin: " + cors_origin_ +
                         "\r\nAccess-Control-Expose-Headers: x-request-id\r\nVary: Origin\r\n") +
              std::string(keep_alive_ ? "Connection: keep-alive\r\n" : "Connection: close\r\n") +
              "\r\n");
    keepalive_ms_ = keepalive_ms;
    if (keepalive_ms_ > 0) arm_keepalive();
  }

  void stream_event(ExchangeImpl* ex, std::string data, std::string event) {
    if (!current(ex) || answered_ || !streaming_) return;
    queue_chunk(format_sse_event(data, event));
  }

  void add_timer(ExchangeImpl* ex, int64_t delay_ms, std::function<void()> fn) {
    if (!current(ex) || answered_ || ex->disconnected()) return;
    auto timer = std::make_shared<asio::steady_timer>(tcp_stream().get_executor());
    ex->timers_.push_back(timer);
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    timer->async_wait([weak = weak_from_this(), ex_weak = ex->weak_from_this(), fn = std::move(fn)](beast::error_code ec) {
      auto self = weak.lock();
      auto exchange = ex_weak.lock();
      if (ec || !self || !exchange || !self->current(exchange.get()) || self->answered_ || exchange->disconnected()) return;
      fn();
    });
  }

  void end_stream(ExchangeImpl* ex) {
    if (!current(ex) || answered_ || !streaming_) return;
    answered_ = true;
    ex->disconnect_callbacks_.clear();  // answered: nothing to cancel
    queue_raw("0\r\n\r\n");
  }

  void add_disconnect_callback(ExchangeImpl* ex, std::function<void()> fn) {
    if (ex->disconnected()) return fn();  // also after the session let go of it
    if (current(ex) && !answered_) ex->disconnect_callbacks_.push_back(std::move(fn));
  }

 private:
  static std::variant<beast::tcp_stream, TlsStream> make_stream(tcp::socket socket,
                                                                asio::ssl::context* tls) {
    if (!tls)
      return std::variant<beast::tcp_stream, TlsStream>(std::in_place_index<0>, std::move(socket));
    return std::variant<beast::tcp_stream, TlsStream>(std::in_place_index<1>, std::move(socket),
                                                      *tls);
  }

  /// The TCP layer (timeouts, the socket) under either kind of stream.
  beast::tcp_stream& tcp_stream() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream_);
  }
  /// Runs fn(stream) with the stream bytes travel on: the TCP stream or the TLS stream over it.
  template <typename Fn>
  void visit_stream(Fn&& fn) {
    std::visit(std::forward<Fn>(fn), stream_);
  }

  void do_read() {
    release_exchange();
    answered_ = false;
    streaming_ = false;
    pending_.clear();
    pending_bytes_ = 0;
    if (buffer_.size() > 0) return read_request();
    // Idle keep-alive wait for the first byte of the next request.
    tcp_stream().expires_after(std::chrono::milliseconds(shared_.options.idle_timeout_ms));
    visit_stream([&](auto& stream) {
      stream.async_read_some(buffer_.prepare(4096),
                             [self = shared_from_this()](beast::error_code ec, size_t n) {
                               if (ec) return self->close();
                               self->buffer_.commit(n);
                               self->read_request();
                             });
    });
  }

  void read_request() {
    parser_.emplace();
    parser_->body_limit(static_cast<uint64_t>(shared_.options.max_body_bytes));
    parser_->header_limit(64 * 1024);
    tcp_stream().expires_after(std::chrono::milliseconds(shared_.options.header_timeout_ms));
    visit_stream([&](auto& stream) {
      http::async_read(
          stream, buffer_, *parser_,
          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::ssl::error::stream_truncated) {
      return close();
    }
    if (ec == http::error::body_limit) {
      return send_own_error(413, "request body is larger than the limit of " +
                                     std::to_string(shared_.options.max_body_bytes) + " bytes");
    }
    if (ec) return send_own_error(400, "malformed HTTP request: " + ec.message());

    const auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.path = req.target.substr(0, req.target.find('?'));
    for (const auto& f : msg) req.headers[lower(std::string_view(f.name_string().data(), f.name_string().size()))] = std::string(f.value());
    req.body = msg.body();
    parser_.reset();

    tcp_stream().expires_never();
    auto ex = std::make_shared<ExchangeImpl>(std::move(req), shared_from_this());
    exchange_ = ex;
    ++shared_.active_exchanges;
    counted_ = true;
    watch_for_disconnect();
    cors_origin_ = allowed_origin(ex->request().header("origin"));
    if (!cors_origin_.empty() && ex->request().method == "OPTIONS" &&
        !ex->request().header("access-control-request-method").empty()) {
      HttpResponse preflight;  // answered before any handler: no key is needed to ask
      preflight.status = 204;
      preflight.headers = {{"access-control-allow-methods", "GET, POST, DELETE, OPTIONS"},
                           {"access-control-allow-headers", "authorization, content-type, x-request-id, openai-organization, openai-project, x-stainless-*"},
                           {"access-control-max-age", "600"}};
      if (const std::string& asked = ex->request().header("access-control-request-headers"); !asked.empty())
        preflight.headers[1].second = asked;  // every header the browser asks for (auth still applies to the request)
      return ex->send(std::move(preflight));
    }
    shared_.handler(ex);
  }

  // The value for Access-Control-Allow-Origin, or "" when the origin may not call us.
  std::string allowed_origin(const std::string& origin) const {
    if (origin.empty()) return "";
    for (const std::string& o : shared_.options.cors_allowed_origins)
      if (o == "*" || o == origin) return origin;
    return "";
  }

  /// A 413/400 produced by the server itself; the connection closes afterwards.
  void send_own_error(int status, const std::string& message) {
    keep_alive_ = false;
    HttpResponse r = shared_.error_renderer(status, message);
    auto ex = std::make_shared<ExchangeImpl>(HttpRequest{}, shared_from_this());
    exchange_ = ex;
    ++shared_.active_exchanges;
    counted_ = true;
    respond(ex.get(), std::move(r));
  }

  void watch_for_disconnect() {
    if (watching_) return;
    watching_ = true;
    tcp_stream().socket().async_wait(
        tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
          self->watching_ = false;
          if (self->exchange_done_) {
            self->exchange_done_ = false;
            return self->do_read();
          }
          if (ec || self->exchange_.expired()) return;
          char byte;
          const int fd = self->tcp_stream().socket().native_handle();
          ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
              (n > 0 && self->tls_ && peer_hung_up(fd))) {
            self->mark_disconnected();
          } else if (n < 0) {
            self->watch_for_disconnect();  // spurious wake-up
          }
          // n > 0: the client pipelined its next request; it is still there. Over TLS those bytes
          // may be its close_notify: a client that also shut its side down has left.
        });
  }

  void mark_disconnected() {
    const std::shared_ptr<ExchangeImpl> ex = exchange_.lock();
    if (!ex || ex->disconnected()) return;
    ex->disconnected_ = true;
    auto callbacks = std::move(ex->disconnect_callbacks_);
    for (auto& cb : callbacks) cb();
    // Nothing more can reach the client: close now. The route's late sends find the exchange
    // no longer current and are dropped.
    close();
  }

  /// One chunk of the chunked transfer encoding.
  void queue_chunk(const std::string& payload) {
    char size_line[32];
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", payload.size());
    queue_raw(size_line + payload + "\r\n");
  }

  /// While a stream is open, an SSE comment goes out each time it was quiet for keepalive_ms_.
  void arm_keepalive() {
    keepalive_timer_.expires_at(last_write_ + std::chrono::milliseconds(keepalive_ms_));
    keepalive_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->streaming_ || self->answered_) return;
      if (std::chrono::steady_clock::now() - self->last_write_ >= std::chrono::milliseconds(self->keepalive_ms_))
        self->queue_chunk(": keep-alive\n\n");
      if (self->streaming_ && !self->answered_) self->arm_keepalive();
    });
  }

  void queue_raw(std::string bytes) {
    const std::shared_ptr<ExchangeImpl> ex = exchange_.lock();
    if (!ex || ex->disconnected()) {
      if (answered_) close();
      return;
    }
    last_write_ = std::chrono::steady_clock::now();
    pending_bytes_ += static_cast<int64_t>(bytes.size());
    pending_.push_back(std::move(bytes));
    if (pending_bytes_ > shared_.options.max_stream_buffer_bytes) {
      FATHOM_LOG(kWarning) << "client too slow: " << pending_bytes_ << " bytes waiting; closing";
      return mark_disconnected();
    }
    if (!writing_) write_pending();
  }

  void write_pending() {
    if (pending_.empty()) {
      if (answered_) on_exchange_written({});
      return;
    }
    writing_ = true;
    auto batch = std::make_shared<std::string>();
    for (auto& s : pending_) *batch += s;
    pending_.clear();
    pending_bytes_ = 0;
    visit_stream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(*batch),
                        [self = shared_from_this(), batch](beast::error_code ec, size_t) {
                          self->writing_ = false;
                          if (ec) {
                            self->mark_disconnected();
                            return self->close();
                          }
                          self->write_pending();
                        });
    });
  }

  /// Lets go of the current exchange. Its callbacks hold the route's state, which holds the
  /// exchange: clearing them breaks that cycle.
  void release_exchange() {
    if (counted_) {
      --shared_.active_exchanges;
      counted_ = false;
    }
    if (auto ex = exchange_.lock()) {
      ex->disconnect_callbacks_.clear();
      for (auto& t : ex->timers_) t->cancel();
      ex->timers_.clear();
    }
    keepalive_timer_.cancel();
    exchange_.reset();
  }

  void on_exchange_written(beast::error_code ec) {
    release_exchange();
    if (ec || !keep_alive_) return close();
    if (watching_) {
      exchange_done_ = true;
      tcp_stream().socket().cancel();  // the watch handler continues with do_read()
      return;
    }
    do_read();
  }

  void close() {
    const std::shared_ptr<ExchangeImpl> ex = exchange_.lock();
    if (ex && !ex->disconnected() && !answered_) mark_disconnected();
    release_exchange();
    // Over TLS this skips close_notify: every answer is framed (length or chunked), so a
    // truncation is visible to the client without it.
    beast::error_code ignored;
    tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_stream().socket().close(ignored);
  }

  static bool peer_hung_up(int fd) {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

  std::variant<beast::tcp_stream, TlsStream> stream_;
  std::shared_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> keep_shared_;  // a shared pool may outlive the server
  Shared& shared_;
  const int io_index_;
  asio::steady_timer keepalive_timer_{tcp_stream().get_executor()};
  int64_t keepalive_ms_ = 0;
  std::chrono::steady_clock::time_point last_write_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // Weak: the route's handle on the exchange keeps the session alive, not the other way round.
  std::weak_ptr<ExchangeImpl> exchange_;
  bool keep_alive_ = true;
  bool answered_ = false;
  std::string cors_origin_;  // the current request's allowed Origin, echoed in its answer
  bool streaming_ = false;
  bool writing_ = false;
  bool watching_ = false;
  bool exchange_done_ = false;
  bool counted_ = false;
  std::deque<std::string> pending_;
  int64_t pending_bytes_ = 0;
};

void ExchangeImpl::post(std::function<void()> fn) { session_->on_strand(std::move(fn)); }
void ExchangeImpl::send(HttpResponse response) {
  session_->on_strand([s = session_, ex = shared_from_this(), r = std::move(response)]() mutable { s->respond(ex.get(), std::move(r)); });
}
void ExchangeImpl::post_after(int64_t delay_ms, std::function<void()> fn) {
  session_->on_strand([s = session_, ex = shared_from_this(), delay_ms, f = std::move(fn)]() mutable {
    s->add_timer(ex.get(), delay_ms, std::move(f));
  });
}
int ExchangeImpl::io_index() const { return session_->io_index(); }
void ExchangeImpl::begin_stream(int64_t keepalive_ms,
                                std::vector<std::pair<std::string, std::string>> headers) {
  session_->on_strand([s = session_, ex = shared_from_this(), keepalive_ms,
                       h = std::move(headers)] { s->begin_stream(ex.get(), keepalive_ms, h); });
}
void ExchangeImpl::send_event(std::string data, std::string event) {
  session_->on_strand(
      [s = session_, ex = shared_from_this(), d = std::move(data), e = std::move(event)]() mutable {
        s->stream_event(ex.get(), std::move(d), std::move(e));
      });
}
void ExchangeImpl::end_stream() {
  session_->on_strand([s = session_, ex = shared_from_this()] { s->end_stream(ex.get()); });
}
void ExchangeImpl::on_disconnect(std::function<void()> fn) {
  session_->on_strand(
      [s = session_, ex = shared_from_this(), f = std::move(fn)]() mutable { s->add_disconnect_callback(ex.get(), std::move(f)); });
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(std::shared_ptr<IoPool> p) : pool(std::move(p)) {}
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::shared_ptr<IoPool> pool;
  tcp::acceptor acceptor{pool->impl().io(0)};
  asio::steady_timer accept_backoff{pool->impl().io(0)};
  uint16_t port = 0;
  std::once_flag stopped;
  // The TLS context new connections get (null: plain HTTP); replaced by reload_tls().
  std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls;

  std::shared_ptr<asio::ssl::context> current_tls() {
    std::lock_guard<std::mutex> lock(tls_mu);
    return tls;
  }

  // Each new connection goes to the next loop of the pool, round robin.
  void do_accept() {
    const int loop = pool->impl().pick();
    acceptor.async_accept(pool->impl().io(loop), [this, loop](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        // Out of file descriptors (or similar): the connection stays in the backlog, so an
        // immediate retry would spin. Back off briefly; open connections keep being served.
        FATHOM_LOG(kWarning) << "accept: " << ec.message() << "; retrying in 50 ms";
        accept_backoff.expires_after(std::chrono::milliseconds(50));
        accept_backoff.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec) do_accept();
        });
        return;
      } else {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), current_tls(), shared, loop)->start();
      }
      do_accept();
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options, RequestHandler handler, ErrorRenderer error_renderer,
                       std::shared_ptr<IoPool> pool)
    : impl_(std::make_unique<Impl>(pool ? std::move(pool) : std::make_shared<IoPool>(options.num_io_threads))) {
  impl_->shared->options = std::move(options);
  impl_->shared->handler = std::move(handler);
  impl_->shared->error_renderer = std::move(error_renderer);
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  const HttpServerOptions& o = impl_->shared->options;
  if (o.tls.enabled()) {
    FATHOM_ASSIGN_OR_RETURN(impl_->tls, make_tls_server_context(o.tls));
  }
  try {
    beast::error_code ec;
    auto address = asio::ip::make_address(o.host, ec);
    if (ec) {
      tcp::resolver resolver(impl_->pool->impl().io(0));
      auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
      if (ec || results.empty()) return invalid_argument("--host: cannot resolve '" + o.host + "'");
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, o.port);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(endpoint, ec);
    if (ec) return unavailable("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message());
    impl_->acceptor.listen(asio::socket_base::max_listen_connections);
    impl_->port = impl_->acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    return unavailable("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + e.what());
  }
  impl_->do_accept();
  impl_->pool->start();
  return ok_status();
}

uint16_t HttpServer::port() const { return impl_->port; }

Status HttpServer::reload_tls() {
  const TlsServerConfig& cfg = impl_->shared->options.tls;
  if (!cfg.enabled()) return ok_status();
  FATHOM_ASSIGN_OR_RETURN(auto fresh, make_tls_server_context(cfg));
  std::lock_guard<std::mutex> lock(impl_->tls_mu);
  impl_->tls = std::move(fresh);
  return ok_status();
}

void HttpServer::stop_accepting() {
  asio::post(impl_->pool->impl().io(0), [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
}

int64_t HttpServer::num_active_exchanges() const { return impl_->shared->active_exchanges.load(); }
int64_t HttpServer::num_open_connections() const { return impl_->shared->open_connections.load(); }

void HttpServer::stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->pool->stop();
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
}

}  // namespace fathom::net
