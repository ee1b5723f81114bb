// The Beast server with a test route, driven by the net HttpClient and raw sockets.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>

#include "net/http_client.h"
#include "net/http_server.h"
#include "support/error_page.h"

namespace fathom::net {
namespace {

using namespace std::chrono_literals;

using fathom::testing::error_page;

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions o = {}) {
    o.port = 0;
    server_ = std::make_unique<HttpServer>(
        o, [this](std::shared_ptr<Exchange> ex) { route(std::move(ex)); }, &error_page);
    ASSERT_TRUE(server_->start().ok());
  }

  void route(std::shared_ptr<Exchange> ex) {
    const HttpRequest& req = ex->request();
    if (req.path == "/echo") {
      HttpResponse r;
      r.body = req.method + " " + req.target + " " + req.header("x-test") + " " + req.body;
      return ex->send(std::move(r));
    }
    if (req.path == "/stream") {
      ex->begin_stream();
      for (int i = 0; i < 3; ++i) ex->send_event("event " + std::to_string(i));
      return ex->end_stream();
    }
    if (req.path == "/slow") {  // keep-alive comments every 20 ms until the event at 150 ms
      ex->begin_stream(20);
      ex->post_after(150, [ex] {
        ex->send_event("late");
        ex->end_stream();
      });
      return;
    }
    if (req.path == "/hold") {  // answers only when the test says so; reports disconnects
      ex->on_disconnect([this] { disconnected_.set_value(); });
      ex->begin_stream();
      ex->send_event("first");
      std::lock_guard<std::mutex> lock(mu_);
      held_ = ex;
      return;
    }
    ex->send(error_page(404, "no route"));
  }

  std::unique_ptr<HttpServer> server_;
  std::promise<void> disconnected_;
  std::mutex mu_;
  std::shared_ptr<Exchange> held_;
};

TEST_F(HttpServerTest, AnswersSeveralRequestsOnOneKeepAliveConnection) {
  start();
  HttpClient client("127.0.0.1", server_->port());
  for (int i = 0; i < 3; ++i) {
    Result<ClientResponse> r = client.request("POST", "/echo?q=1", "body" + std::to_string(i), {{"X-Test", "yes"}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /echo?q=1 yes body" + std::to_string(i));
  }
  EXPECT_EQ(server_->num_open_connections(), 1);
}

TEST_F(HttpServerTest, StreamsServerSentEventsInChunks) {
  start();
  HttpClient client("127.0.0.1", server_->port());
  std::string seen;
  Result<ClientResponse> r = client.request("GET", "/stream", "", {}, [&](std::string_view c) { seen += c; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers["content-type"], "text/event-stream");
  EXPECT_EQ(r->headers["transfer-encoding"], "chunked");
  EXPECT_EQ(seen, "data: event 0\n\ndata: event 1\n\ndata: event 2\n\n");
  // The connection is reusable after a stream.
  Result<ClientResponse> again = client.request("GET", "/echo", "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, AQuietStreamGetsKeepAliveCommentsUntilItsFirstEvent) {
  start();
  HttpClient client("127.0.0.1", server_->port());
  std::string seen;
  Result<ClientResponse> r = client.request("GET", "/slow", "", {}, [&](std::string_view c) { seen += c; });
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const size_t event = seen.find("data: late\n\n");
  ASSERT_NE(event, std::string::npos) << seen;
  EXPECT_EQ(event + std::string("data: late\n\n").size(), seen.size()) << "the event ends the stream";
  // 150 ms of quiet at one comment per 20 ms: several comments, all before the event.
  size_t comments = 0;
  for (size_t at = seen.find(": keep-alive\n\n"); at != std::string::npos && at < event;
       at = seen.find(": keep-alive\n\n", at + 1))
    ++comments;
  EXPECT_GE(comments, 3u) << seen;
}

TEST_F(HttpServerTest, OversizedBodyIs413AndTheServerKeepsServing) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  start(o);
  HttpClient client("127.0.0.1", server_->port());
  Result<ClientResponse> r = client.request("POST", "/echo", std::string(4096, 'x'));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 413);
  HttpClient fresh("127.0.0.1", server_->port());
  Result<ClientResponse> ok = fresh.request("POST", "/echo", "small");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerTest, ClientDisconnectDuringAStreamIsReported) {
  start();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string req = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  char buf[512];
  std::string got;
  while (got.find("data: first") == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  ASSERT_EQ(disconnected_.get_future().wait_for(10s), std::future_status::ready);
  std::shared_ptr<Exchange> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    held = held_;
  }
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->disconnected());
  held->send_event("dropped");  // sends after a disconnect are dropped, not errors
  held->end_stream();
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  start();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string req = "NOT HTTP AT ALL\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[512];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
}

// A peer that accepts the connection and never answers (a hung upstream): the request ends
// with an error at the client's timeout instead of blocking its thread (health checks).
TEST(HttpClientTest, APeerThatNeverAnswersTimesOut) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);  // the kernel completes the handshake; nobody reads
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  HttpClient client("127.0.0.1", ntohs(addr.sin_port), /*timeout_ms=*/200);
  auto answer =
      std::async(std::launch::async, [&] { return client.request("GET", "/health", ""); });
  ASSERT_EQ(answer.wait_for(10s), std::future_status::ready)
      << "the request blocked past its timeout";
  const auto r = answer.get();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  ::close(fd);
}

TEST(UrlTest, Parses) {
  Result<Url> u = parse_url("http://localhost:8080/base/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/base");
  EXPECT_EQ(parse_url("http://h")->port, 80);
  EXPECT_EQ(parse_url("https://h")->port, 443);
  EXPECT_TRUE(parse_url("https://h")->https);
  EXPECT_FALSE(parse_url("ftp://h").ok());
  EXPECT_FALSE(parse_url("h:80").ok());
  EXPECT_FALSE(parse_url("http://h:99999").ok());
}

}  // namespace
}  // namespace fathom::net
