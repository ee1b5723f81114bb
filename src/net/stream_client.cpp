#include "net/stream_client.h"

#include <array>
#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace fathom::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Op final : public StreamRequest, public std::enable_shared_from_this<Op> {
 public:
  Op(asio::io_context& io, Url url, StreamTimeouts timeouts, StreamCallbacks cb)
      : strand_(asio::make_strand(io)), resolver_(strand_), stream_(strand_), url_(std::move(url)),
        timeouts_(timeouts), cb_(std::move(cb)) {
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  void run(const std::string& method, const std::string& target,
           const std::map<std::string, std::string>& headers, std::string body) {
    req_.method_string(method);
    req_.target(target);
    req_.version(11);
    req_.set(http::field::host, url_.host + ":" + std::to_string(url_.port));
    for (const auto& [k, v] : headers) req_.set(k, v);
    req_.body() = std::move(body);
    req_.keep_alive(false);
    req_.prepare_payload();
    asio::dispatch(strand_, [self = shared_from_this()] {
      // note: a numeric address skips the resolver, which runs getaddrinfo on a helper thread
      // (a thread hand-off per request; it was the largest cost in the gateway benchmark).
      beast::error_code not_numeric;
      const asio::ip::address addr = asio::ip::make_address(self->url_.host, not_numeric);
      if (!not_numeric) {
        self->on_resolve({}, tcp::resolver::results_type::create(tcp::endpoint(addr, self->url_.port), self->url_.host,
                                                                 std::to_string(self->url_.port)));
        return;
      }
      self->resolver_.async_resolve(self->url_.host, std::to_string(self->url_.port),
                                    [self](beast::error_code ec, tcp::resolver::results_type r) {
                                      self->on_resolve(ec, std::move(r));
                                    });
    });
  }

  void cancel() override {
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->cancelled_ = true;
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
      self->finish(unavailable("request cancelled"));
    });
  }

 private:
  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail("resolve", ec);
    stream_.expires_after(std::chrono::milliseconds(timeouts_.connect_ms));
    stream_.async_connect(results, [self = shared_from_this()](beast::error_code e, const tcp::endpoint&) {
      self->on_connect(e);
    });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return fail("connect", ec);
    stream_.socket().set_option(tcp::no_delay(true), ec);
    stream_.expires_after(std::chrono::milliseconds(timeouts_.first_byte_ms));
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code e, size_t) {
      if (e) return self->fail("write", e);
      http::async_read_header(self->stream_, self->buffer_, self->parser_,
                              [self](beast::error_code e2, size_t) { self->on_header(e2); });
    });
  }

  void on_header(beast::error_code ec) {
    if (ec) return fail("read response head", ec);
    head_seen_ = true;
    std::map<std::string, std::string> headers;
    for (const auto& f : parser_.get()) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[name] = std::string(f.value());
    }
    if (cb_.on_head && !done_) cb_.on_head(static_cast<int>(parser_.get().result_int()), headers);
    read_body();
  }

  void read_body() {
    if (parser_.is_done()) return finish(ok_status());
    parser_.get().body().data = chunk_.data();
    parser_.get().body().size = chunk_.size();
    stream_.expires_after(std::chrono::milliseconds(timeouts_.idle_ms));
    http::async_read_some(stream_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec == http::error::need_buffer) ec = {};
      const size_t got = self->chunk_.size() - self->parser_.get().body().size;
      if (got > 0 && self->cb_.on_body && !self->done_)
        self->cb_.on_body(std::string_view(self->chunk_.data(), got));
      if (ec) return self->fail("read response body", ec);
      self->read_body();
    });
  }

  void fail(const char* what, beast::error_code ec) {
    if (cancelled_) return finish(unavailable("request cancelled"));
    finish(unavailable(std::string(what) + " http://" + url_.host + ":" + std::to_string(url_.port) + ": " +
                       (ec == beast::error::timeout ? std::string("timed out") : ec.message())));
  }

  void finish(const Status& s) {
    if (done_) return;
    done_ = true;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    if (cb_.on_done) cb_.on_done(s, head_seen_);
    cb_ = {};  // drop captured state promptly
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  Url url_;
  StreamTimeouts timeouts_;
  StreamCallbacks cb_;
  http::request<http::string_body> req_;
  http::response_parser<http::buffer_body> parser_;
  beast::flat_buffer buffer_;
  std::array<char, 16384> chunk_{};
  bool head_seen_ = false;
  bool done_ = false;
  bool cancelled_ = false;
};

}  // namespace

struct StreamClient::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::vector<std::thread> threads;
};

StreamClient::StreamClient(int num_threads) : impl_(std::make_unique<Impl>()) {
  for (int i = 0; i < std::max(1, num_threads); ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
}

StreamClient::~StreamClient() {
  impl_->guard.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

std::shared_ptr<StreamRequest> StreamClient::start(const Url& url, const std::string& method,
                                                   const std::string& target,
                                                   const std::map<std::string, std::string>& headers,
                                                   std::string body, const StreamTimeouts& timeouts,
                                                   StreamCallbacks callbacks) {
  auto op = std::make_shared<Op>(impl_->io, url, timeouts, std::move(callbacks));
  op->run(method, target, headers, std::move(body));
  return op;
}

}  // namespace fathom::net
