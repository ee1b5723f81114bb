// The proxying client (net/stream_client) against our own HttpServer and a raw socket server:
// keep-alive reuse, a resend after the server closed an idle connection, cancel, timeouts, and
// a request started from a route running on the route's own loop.
#include "net/stream_client.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "net/http_server.h"
#include "support/error_page.h"

namespace fathom::net {
namespace {

using namespace std::chrono_literals;

using fathom::testing::error_page;

/// What one StreamClient request produced, once on_done ran.
struct Outcome {
  int status = 0;
  std::string body;
  Status done = ok_status();
  bool head_seen = false;
  std::thread::id head_thread, done_thread;
};

/// Starts `spec` and returns a future of its Outcome; `on_piece` (optional) sees each piece.
std::future<Outcome> fetch(StreamClient& client, StreamSpec spec, std::shared_ptr<StreamRequest>* handle = nullptr,
                           std::function<void(std::string_view)> on_piece = nullptr) {
  auto out = std::make_shared<Outcome>();
  auto promise = std::make_shared<std::promise<Outcome>>();
  StreamCallbacks cb;
  cb.on_head = [out](int status, const std::map<std::string, std::string>&) {
    out->status = status;
    out->head_thread = std::this_thread::get_id();
  };
  cb.on_body = [out, on_piece](std::string_view piece) {
    out->body.append(piece);
    if (on_piece) on_piece(piece);
  };
  cb.on_done = [out, promise](const Status& s, bool head_seen) {
    out->done = s;
    out->head_seen = head_seen;
    out->done_thread = std::this_thread::get_id();
    promise->set_value(*out);
  };
  auto req = client.start(std::move(spec), std::move(cb));
  if (handle) *handle = req;
  return promise->get_future();
}

class StreamClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.port = 0;
    o.num_io_threads = 2;
    server_ = std::make_unique<HttpServer>(
        o, [this](std::shared_ptr<Exchange> ex) { route(std::move(ex)); }, &error_page, pool_);
    ASSERT_TRUE(server_->start().ok());
  }

  StreamSpec spec(const std::string& target, const std::string& body = "") const {
    StreamSpec s;
    s.url = Url{"127.0.0.1", server_->port(), ""};
    s.target = target;
    s.body = body;
    return s;
  }

  void route(std::shared_ptr<Exchange> ex) {
    const HttpRequest& req = ex->request();
    if (req.path == "/echo") {
      HttpResponse r;
      r.body = "echo:" + req.body;
      return ex->send(std::move(r));
    }
    if (req.path == "/hold") {  // one event, then nothing until the client goes
      ex->begin_stream();
      return ex->send_event("first");
    }
    if (req.path == "/proxy") {  // a route that calls /echo on this server, from its own loop
      StreamSpec s = spec("/echo", "inner");
      s.io_index = ex->io_index();
      const std::thread::id route_thread = std::this_thread::get_id();
      auto inner = fetch(*client_, std::move(s));
      std::thread([ex, route_thread, inner = std::move(inner)]() mutable {
        const Outcome o = inner.get();
        HttpResponse r;
        r.body = o.body + (o.head_thread == route_thread && o.done_thread == route_thread ? " same-thread" : " moved");
        ex->send(std::move(r));
      }).detach();
      return;
    }
    ex->send(error_page(404, "no route"));
  }

  std::shared_ptr<IoPool> pool_ = std::make_shared<IoPool>(2);
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<StreamClient> client_ = std::make_unique<StreamClient>(pool_);

  void TearDown() override {
    server_->stop();
    client_.reset();
  }
};

TEST_F(StreamClientTest, ReusesOneKeepAliveConnectionForSequentialRequests) {
  for (int i = 0; i < 5; ++i) {
    StreamSpec s = spec("/echo", "n" + std::to_string(i));
    s.io_index = 0;
    const Outcome o = fetch(*client_, std::move(s)).get();
    ASSERT_TRUE(o.done.ok()) << o.done.to_string();
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(o.body, "echo:n" + std::to_string(i));
  }
  EXPECT_EQ(client_->connections_opened(), 1);
  EXPECT_EQ(client_->requests_reused(), 4);
}

TEST_F(StreamClientTest, AnUpstreamRequestStartedByARouteStaysOnTheRoutesThread) {
  for (int i = 0; i < 4; ++i) {  // connections land on both loops
    const Outcome o = fetch(*client_, spec("/proxy")).get();
    ASSERT_TRUE(o.done.ok()) << o.done.to_string();
    EXPECT_EQ(o.body, "echo:inner same-thread");
  }
}

TEST_F(StreamClientTest, CancelClosesTheStreamAndReportsOnce) {
  std::shared_ptr<StreamRequest> handle;
  std::promise<void> first;
  bool signalled = false;
  auto done = fetch(*client_, spec("/hold"), &handle, [&](std::string_view) {
    if (!signalled) first.set_value();
    signalled = true;
  });
  ASSERT_EQ(first.get_future().wait_for(10s), std::future_status::ready);
  handle->cancel();
  const Outcome o = done.get();
  EXPECT_EQ(o.done.code(), Code::kUnavailable);
  EXPECT_NE(o.done.message().find("cancelled"), std::string::npos);
  EXPECT_TRUE(o.head_seen);
  EXPECT_NE(o.body.find("data: first"), std::string::npos);
}

TEST_F(StreamClientTest, AQuietStreamEndsWithAnIdleTimeout) {
  StreamSpec s = spec("/hold");
  s.timeouts.idle_ms = 100;
  const Outcome o = fetch(*client_, std::move(s)).get();
  EXPECT_EQ(o.done.code(), Code::kUnavailable);
  EXPECT_NE(o.done.message().find("timed out"), std::string::npos) << o.done.message();
}

TEST_F(StreamClientTest, ARefusedConnectionIsUnavailable) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // a port with nobody listening
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  StreamSpec s = spec("/echo");
  s.url.port = ntohs(addr.sin_port);
  const Outcome o = fetch(*client_, std::move(s)).get();
  ::close(fd);
  EXPECT_EQ(o.done.code(), Code::kUnavailable);
  EXPECT_NE(o.done.message().find("connect"), std::string::npos) << o.done.message();
  EXPECT_FALSE(o.head_seen);
}

/// A raw HTTP server: answers the first request of each connection with a keep-alive response,
/// then reads the next request and closes without answering (what a server closing an idle
/// connection looks like to a client whose request crossed the FIN).
class ClosingServer {
 public:
  ClosingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      for (int c = 0; c < 2; ++c) {
        const int conn = ::accept(fd_, nullptr, nullptr);
        if (conn < 0) return;
        read_request(conn);
        const std::string body = "answer" + std::to_string(c);
        const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        ::send(conn, resp.data(), resp.size(), MSG_NOSIGNAL);
        if (c == 0) read_request(conn);  // the second request on this connection: dropped
        ::close(conn);
      }
    });
  }
  ~ClosingServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  static void read_request(int conn) {
    std::string got;
    char buf[1024];
    while (got.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) return;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(StreamClientTest, ARequestOnAReusedConnectionTheServerClosedIsSentAgainOnANewOne) {
  ClosingServer upstream;
  StreamSpec s = spec("/");
  s.url.port = upstream.port();
  s.io_index = 1;
  const Outcome first = fetch(*client_, s).get();
  ASSERT_TRUE(first.done.ok()) << first.done.to_string();
  EXPECT_EQ(first.body, "answer0");
  const Outcome second = fetch(*client_, s).get();
  ASSERT_TRUE(second.done.ok()) << second.done.to_string();
  EXPECT_EQ(second.body, "answer1");
  EXPECT_EQ(client_->connections_opened(), 2);
  EXPECT_EQ(client_->requests_reused(), 1);
}

}  // namespace
}  // namespace fathom::net
