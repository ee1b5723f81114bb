#include "net/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <optional>
#include <variant>

#include "net/tls_impl.h"

namespace fathom::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

Result<Url> parse_url(std::string_view url) {
  Url out;
  out.https = url.substr(0, 8) == "https://";
  if (!out.https && url.substr(0, 7) != "http://")
    return invalid_argument("URL must start with http:// or https://: " + std::string(url));
  out.port = out.https ? 443 : 80;
  std::string_view rest = url.substr(out.https ? 8 : 7);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
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
  std::shared_ptr<const TlsClientContext> tls;  // null: plain HTTP
  asio::io_context io;
  std::optional<std::variant<beast::tcp_stream, TlsStream>> stream;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp_stream() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      *stream);
  }
  std::string origin() const {
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
  }

  // Runs one asynchronous operation to its end. Beast's synchronous operations ignore the
  // stream's expiry (a peer that accepts and never answers would block forever); the
  // asynchronous ones honour it and end with beast::error::timeout.
  template <class Start>
  beast::error_code await(Start start) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
  template <class Start>
  void await_or_throw(Start start) {
    if (beast::error_code ec = await(start)) throw beast::system_error(ec);
  }

  /// Throws system_error (transport) or returns a Status (TLS verification, pin).
  Status connect() {
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port));
    if (tls)
      stream.emplace(std::in_place_index<1>, io, tls->ctx);
    else
      stream.emplace(std::in_place_index<0>, io);
    tcp_stream().expires_after(std::chrono::milliseconds(timeout_ms));
    await_or_throw([&](auto handler) { tcp_stream().async_connect(results, handler); });
    tcp_stream().socket().set_option(tcp::no_delay(true));
    buffer.clear();
    if (!tls) return ok_status();
    TlsStream& s = std::get<TlsStream>(*stream);
    FATHOM_RETURN_IF_ERROR(prepare_client_tls(s.native_handle(), host));
    tcp_stream().expires_after(std::chrono::milliseconds(timeout_ms));
    const beast::error_code ec =
        await([&](auto handler) { s.async_handshake(asio::ssl::stream_base::client, handler); });
    if (ec)
      return unavailable("TLS handshake with " + origin() + ": " +
                         tls_failure(ec, s.native_handle()));
    return check_spki_pins(*tls, s.native_handle()).with_context(origin());
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
    tcp_stream().expires_after(std::chrono::milliseconds(timeout_ms));
    std::visit(
        [&](auto& s) { await_or_throw([&](auto handler) { http::async_write(s, req, handler); }); },
        *stream);

    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    tcp_stream().expires_after(std::chrono::milliseconds(timeout_ms));
    std::visit(
        [&](auto& s) {
          await_or_throw(
              [&](auto handler) { http::async_read_header(s, buffer, parser, handler); });
        },
        *stream);
    size_t delivered = 0;
    while (!parser.is_done()) {
      tcp_stream().expires_after(std::chrono::milliseconds(timeout_ms));
      std::visit(
          [&](auto& s) {
            await_or_throw(
                [&](auto handler) { http::async_read_some(s, buffer, parser, handler); });
          },
          *stream);
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
HttpClient::HttpClient(const Url& url, int64_t timeout_ms)
    : HttpClient(url.host, url.port, timeout_ms) {
  if (url.https) impl_->tls = url.tls ? url.tls : default_tls_client_context();
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
      if (!impl_->stream) {
        if (Status s = impl_->connect(); !s.ok()) {
          impl_->stream.reset();
          return s;  // a certificate that does not verify is not retried
        }
      }
      return impl_->exchange(method, target, body, headers, on_chunk);
    } catch (const boost::system::system_error& e) {
      impl_->stream.reset();
      if (!reused || attempt == 1)
        return unavailable(method + " " + impl_->origin() + target + ": " + e.code().message());
    }
  }
  return unavailable("unreachable");
}

}  // namespace fathom::net
