#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "net/tls_impl.h"

namespace fathom::net {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2: forward secrecy and AEAD only, ECDSA before RSA (Mozilla's "intermediate" list
// without DHE). TLS 1.3 suites are all AEAD; OpenSSL's default order is kept.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The oldest OpenSSL error queued (the root cause), and the queue cleared.
std::string openssl_error() {
  const unsigned long first = ERR_peek_error();
  ERR_clear_error();
  if (first == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  const char* reason = ERR_reason_error_string(first);
  return reason ? reason : buf;
}

Status file_error(const char* what, const std::string& path) {
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return invalid_argument(std::string(what) + " " + path + ": " + openssl_error());
  }
  ERR_clear_error();
  return invalid_argument(std::string(what) + " " + path + ": cannot be read");
}

Status common_setup(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    return internal_error("TLS setup: " + openssl_error());
  return ok_status();
}

Status use_cert_and_key(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    return file_error("certificate", cert);
  const bool loaded = SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) == 1;
  const bool mismatch = loaded
                            ? SSL_CTX_check_private_key(ctx) != 1
                            : ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
  if (mismatch) {
    ERR_clear_error();
    return invalid_argument("private key " + key + " does not match certificate " + cert);
  }
  if (!loaded) return file_error("private key", key);
  return ok_status();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<SpkiPin> parse_spki_pin(std::string_view pin) {
  const std::string original(pin);
  if (pin.substr(0, 8) == "sha256//") pin.remove_prefix(8);
  SpkiPin out{};
  if (pin.size() == 64) {  // hex
    for (size_t i = 0; i < 32; ++i) {
      const int hi = hex_value(pin[2 * i]), lo = hex_value(pin[2 * i + 1]);
      if (hi < 0 || lo < 0) break;
      out[i] = static_cast<uint8_t>(hi * 16 + lo);
      if (i == 31) return out;
    }
  }
  if (pin.size() == 44 && pin[43] == '=' && pin[42] != '=') {  // base64 of 32 bytes
    unsigned char buf[33];
    const std::string text(pin);
    if (EVP_DecodeBlock(buf, reinterpret_cast<const unsigned char*>(text.data()), 44) == 33) {
      std::copy(buf, buf + 32, out.begin());
      return out;
    }
  }
  return invalid_argument("'" + original +
                          "' is not a SHA-256 pin (44 characters of base64, optionally after "
                          "\"sha256//\", or 64 hex digits)");
}

std::vector<std::string> check_tls_client_config(const TlsClientConfig& cfg) {
  std::vector<std::string> problems;
  if (cfg.client_cert_file.empty() != cfg.client_key_file.empty())
    problems.push_back(cfg.client_cert_file.empty() ? "client_cert: is required with client_key"
                                                    : "client_key: is required with client_cert");
  for (size_t i = 0; i < cfg.pin_sha256.size(); ++i)
    if (auto p = parse_spki_pin(cfg.pin_sha256[i]); !p.ok())
      problems.push_back("pin_sha256[" + std::to_string(i) + "]: " + p.status().message());
  return problems;
}

Result<std::shared_ptr<const TlsClientContext>> make_tls_client_context(
    const TlsClientConfig& cfg) {
  if (std::vector<std::string> problems = check_tls_client_config(cfg); !problems.empty())
    return invalid_argument(problems.front());
  auto c = std::make_shared<TlsClientContext>();
  SSL_CTX* ctx = c->ctx.native_handle();
  FATHOM_RETURN_IF_ERROR(common_setup(ctx));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (cfg.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      return internal_error("system CA store: " + openssl_error());
  } else if (SSL_CTX_load_verify_locations(ctx, cfg.ca_file.c_str(), nullptr) != 1) {
    return file_error("CA file", cfg.ca_file);
  }
  if (!cfg.client_cert_file.empty())
    FATHOM_RETURN_IF_ERROR(use_cert_and_key(ctx, cfg.client_cert_file, cfg.client_key_file));
  for (const std::string& p : cfg.pin_sha256) c->pins.push_back(*parse_spki_pin(p));
  return std::shared_ptr<const TlsClientContext>(std::move(c));
}

std::shared_ptr<const TlsClientContext> default_tls_client_context() {
  static std::once_flag once;
  static std::shared_ptr<const TlsClientContext> ctx;
  std::call_once(once, [] {
    auto c = make_tls_client_context({});
    // Without a system store every https upstream fails verification, which is the safe way to
    // fail.
    ctx = c.ok() ? *c : std::make_shared<const TlsClientContext>();
  });
  return ctx;
}

Result<std::shared_ptr<ssl::context>> make_tls_server_context(const TlsServerConfig& cfg) {
  if (cfg.key_file.empty())
    return invalid_argument("TLS certificate " + cfg.cert_file + " needs a private key file");
  auto c = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = c->native_handle();
  FATHOM_RETURN_IF_ERROR(common_setup(ctx));
  FATHOM_RETURN_IF_ERROR(use_cert_and_key(ctx, cfg.cert_file, cfg.key_file));
  if (!cfg.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, cfg.client_ca_file.c_str(), nullptr) != 1)
      return file_error("client CA file", cfg.client_ca_file);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  // Session resumption with client certificates needs a session id context.
  static const unsigned char kSessionContext[] = "fathom";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  ERR_clear_error();
  return c;
}

Status prepare_client_tls(SSL* ssl, const std::string& host) {
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const bool ok = not_ip ? SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
                               X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1
                         : X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  if (!ok) return invalid_argument("TLS: cannot verify host '" + host + "': " + openssl_error());
  return ok_status();
}

Status check_spki_pins(const TlsClientContext& ctx, SSL* ssl) {
  if (ctx.pins.empty()) return ok_status();
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return unavailable("no server certificate to check the pin against");
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  X509_free(cert);
  if (len <= 0) return unavailable("server certificate: cannot encode its public key");
  SpkiPin digest{};
  unsigned int digest_len = 0;
  const bool hashed = EVP_Digest(der, static_cast<size_t>(len), digest.data(), &digest_len,
                                 EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!hashed) return unavailable("cannot hash the server's public key");
  for (const SpkiPin& p : ctx.pins)
    if (p == digest) return ok_status();
  unsigned char b64[48];
  EVP_EncodeBlock(b64, digest.data(), 32);
  return unavailable(std::string("server public key sha256//") +
                     reinterpret_cast<const char*>(b64) + " matches no pin_sha256");
}

std::string tls_failure(const boost::beast::error_code& ec, SSL* ssl) {
  std::string msg = ec.message();
  if (ssl) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) msg += ": " + std::string(X509_verify_cert_error_string(verify));
  }
  return msg;
}

}  // namespace fathom::net
