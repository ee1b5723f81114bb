#include "http_conn.h"

#include <cctype>
#include <cstring>
#include <limits>

namespace fathom::loadgen {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// --- SseScanner ----------------------------------------------------------------------------

int64_t SseScanner::feed(std::string_view bytes) {
  const int64_t before = events_;
  while (!bytes.empty()) {
    const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
    if (nl == nullptr) {
      line_.append(bytes);
      break;
    }
    const size_t len = static_cast<size_t>(static_cast<const char*>(nl) - bytes.data());
    if (line_.empty()) {
      on_line(bytes.substr(0, len));
    } else {
      line_.append(bytes.substr(0, len));
      on_line(line_);
      line_.clear();
    }
    bytes.remove_prefix(len + 1);
  }
  return events_ - before;
}

void SseScanner::on_line(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  if (line.starts_with("event:") && line.find("error") != std::string_view::npos) saw_error_ = true;
  if (!line.starts_with("data:")) return;
  ++events_;
  line.remove_prefix(5);
  if (line.starts_with(' ')) line.remove_prefix(1);
  if (line == "[DONE]") saw_done_ = true;
  else if (line.find("\"error\"") != std::string_view::npos) saw_error_ = true;
}

// --- ConnectGate ---------------------------------------------------------------------------

void ConnectGate::submit(HttpConn& conn) {
  if (in_flight_ < max_in_flight_) {
    ++in_flight_;
    conn.start_connect();
  } else {
    waiting_.push_back(&conn);
  }
}

void ConnectGate::release() {
  --in_flight_;
  while (!waiting_.empty() && in_flight_ < max_in_flight_) {
    HttpConn* next = waiting_.front();
    waiting_.pop_front();
    ++in_flight_;
    next->start_connect();
  }
}

// --- HttpConn ------------------------------------------------------------------------------

HttpConn::HttpConn(asio::io_context& io, const Target& target, ConnectGate& gate, ConnHandler& handler,
                   std::chrono::milliseconds timeout)
    : target_(target), gate_(gate), handler_(handler), timeout_(timeout), stream_(io), retry_timer_(io) {}

void HttpConn::connect_after(std::chrono::milliseconds delay) {
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) connect();
  });
}

void HttpConn::start_connect() {
  holds_gate_ = true;
  stream_.expires_after(timeout_);
  stream_.async_connect(target_.endpoints, [this](beast::error_code ec, const tcp::endpoint&) {
    if (!ec) stream_.socket().set_option(tcp::no_delay(true), ec);
    stream_.expires_never();
    open_ = !ec;
    if (!open_) close();
    if (!open_ || !gate_.until_first_head()) release_gate();
    handler_.on_connected(*this, open_);
  });
}

void HttpConn::release_gate() {
  if (!holds_gate_) return;
  holds_gate_ = false;
  gate_.release();
}

void HttpConn::send(Clock::time_point origin) {
  ex_ = Exchange{};
  ex_.origin = origin;
  ex_.sent = Clock::now();
  busy_ = true;
  sse_ = SseScanner{};
  parser_.emplace();
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (target_.head_method) parser_->skip(true);
  stream_.expires_after(timeout_);  // one deadline for the whole exchange
  asio::async_write(stream_, asio::buffer(target_.request), [this](beast::error_code ec, size_t) {
    if (ec) return fail(ec);
    read_head();
  });
}

void HttpConn::read_head() {
  http::async_read_header(stream_, buffer_, *parser_, [this](beast::error_code ec, size_t) {
    if (ec) return fail(ec);
    const auto& head = parser_->get();
    ex_.status = static_cast<int>(head.result_int());
    const auto type = head[http::field::content_type];
    ex_.event_stream = starts_with_nocase(std::string_view(type.data(), type.size()), "text/event-stream");
    release_gate();
    handler_.on_head(*this);
    read_body();
  });
}

void HttpConn::read_body() {
  if (parser_->is_done()) return finish(Failure::None);
  auto& body = parser_->get().body();
  body.data = chunk_.data();
  body.size = chunk_.size();
  http::async_read_some(stream_, buffer_, *parser_, [this](beast::error_code ec, size_t) {
    if (ec == http::error::need_buffer) ec = {};
    const size_t got = chunk_.size() - parser_->get().body().size;
    if (got > 0 && ex_.event_stream) scan(std::string_view(chunk_.data(), got));
    if (ec) return fail(ec);
    read_body();
  });
}

void HttpConn::scan(std::string_view bytes) {
  const int64_t events = sse_.feed(bytes);
  ex_.saw_done = sse_.saw_done();
  ex_.saw_error = sse_.saw_error();
  if (events == 0) return;
  const Clock::time_point now = Clock::now();
  if (ex_.events == 0) ex_.first_event = now;
  ex_.events += events;
  handler_.on_events(events, now);
}

void HttpConn::fail(beast::error_code ec) {
  finish(ec == beast::error::timeout ? Failure::Timeout : Failure::ReadWrite);
}

void HttpConn::finish(Failure failure) {
  ex_.done = Clock::now();
  ex_.failure = failure;
  busy_ = false;
  release_gate();
  if (failure != Failure::None || !parser_->keep_alive()) close();
  handler_.on_done(*this, ex_);
}

void HttpConn::close() {
  open_ = false;
  stream_.close();
  buffer_.consume(buffer_.size());  // a half-read response must not prefix the next connection's
}

}  // namespace fathom::loadgen
