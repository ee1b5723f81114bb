#include "net/http_client.h"

#include <limits>
#include <optional>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace fathom::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<Url> parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, 8) == "https://") return invalid_argument("https URLs are not supported: " + std::string(url));
  if (url.substr(0, kScheme.size()) != kScheme) return invalid_argument("URL must start with http://: " + std::string(url));
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url out;
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    const std::string port(authority.substr(colon + 1));
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p <= 0 || p > 65535) return invalid_argument("bad port in URL: " + std::string(url));
    out.port = static_cast<uint16_t>(p);
  } else {
    out.host = std::string(authority);
  }
  if (out.host.empty()) return invalid_argument("URL has no host: " + std::string(url));
  return out;
}

struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  int64_t timeout_ms;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void connect() {
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port));
    stream.emplace(io);
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    stream->connect(results);
    stream->socket().set_option(tcp::no_delay(true));
    buffer.clear();
  }

  ClientResponse exchange(const std::string& method, const std::string& target, const std::string& body,
                          const std::map<std::string, std::string>& headers, const BodyChunkCallback& on_chunk) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host + ":" + std::to_string(port));
    req.set(http::field::user_agent, "fathom-bench");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    http::write(*stream, req);

    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read_header(*stream, buffer, parser);
    size_t delivered = 0;
    while (!parser.is_done()) {
      stream->expires_after(std::chrono::milliseconds(timeout_ms));
      http::read_some(*stream, buffer, parser);
      const std::string& b = parser.get().body();
      if (on_chunk && b.size() > delivered) on_chunk(std::string_view(b).substr(delivered));
      delivered = b.size();
    }
    const auto& msg = parser.get();
    ClientResponse out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = msg.body();
    if (on_chunk && out.body.size() > delivered) on_chunk(std::string_view(out.body).substr(delivered));
    if (!msg.keep_alive()) stream.reset();
    return out;
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, int64_t timeout_ms) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout_ms = timeout_ms;
}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

Result<ClientResponse> HttpClient::request(const std::string& method, const std::string& target,
                                           const std::string& body,
                                           const std::map<std::string, std::string>& headers,
                                           const BodyChunkCallback& on_chunk) {
  // A kept-alive connection the server has since closed fails on first use: retry once fresh.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->stream.has_value();
    try {
      if (!impl_->stream) impl_->connect();
      return impl_->exchange(method, target, body, headers, on_chunk);
    } catch (const boost::system::system_error& e) {
      impl_->stream.reset();
      if (!reused || attempt == 1)
        return unavailable(method + " http://" + impl_->host + ":" + std::to_string(impl_->port) + target +
                           ": " + e.code().message());
    }
  }
  return unavailable("unreachable");
}

}  // namespace fathom::net
