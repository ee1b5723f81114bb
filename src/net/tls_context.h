// TLS for the net layer (OpenSSL through Boost.Asio's ssl): what a listener or an https://
// upstream is configured with, and the contexts built from it. TLS 1.2 and 1.3 only; TLS 1.2
// offers ECDHE with AEAD ciphers only (no RC4, 3DES, CBC, export or NULL suites).
//
// A context is built once from files and shared by every connection that uses it; reloading a
// certificate builds a new context for new connections while open ones keep theirs.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fathom::net {

/// A listener's TLS. Off (plain HTTP) when cert_file is empty.
struct TlsServerConfig {
  std::string cert_file;  ///< PEM: the certificate, then any intermediates
  std::string key_file;   ///< PEM: the private key of cert_file
  std::string
      client_ca_file;  ///< PEM CA(s); set: a client must present a certificate they signed (mTLS)
  bool enabled() const { return !cert_file.empty(); }
};

/// How to reach an https:// endpoint. Default: the system's CA store, no client certificate.
struct TlsClientConfig {
  std::string ca_file;  ///< PEM CA(s) the server's certificate must chain to; empty: system store
  std::string client_cert_file;  ///< PEM certificate (and chain) presented to the server (mTLS)
  std::string client_key_file;   ///< its private key
  /// Accepted SHA-256 digests of the server certificate's SubjectPublicKeyInfo (base64, with or
  /// without curl's "sha256//" prefix, or 64 hex digits). Empty: no pinning. A pin is checked on
  /// top of CA and hostname verification, never instead of them.
  std::vector<std::string> pin_sha256;

  bool empty() const {
    return ca_file.empty() && client_cert_file.empty() && client_key_file.empty() &&
           pin_sha256.empty();
  }
};

using SpkiPin = std::array<uint8_t, 32>;

/// The 32 bytes of a pin, or InvalidArgument saying which forms are accepted.
Result<SpkiPin> parse_spki_pin(std::string_view pin);

/// Problems with a client config that need no file access (pin forms, cert without key), each
/// prefixed with its field name; empty when none.
std::vector<std::string> check_tls_client_config(const TlsClientConfig& cfg);

/// An immutable client context (trusted CAs, client certificate, pins); see tls_impl.h.
class TlsClientContext;

/// Loads the files named in `cfg`. InvalidArgument naming the file when one cannot be read or
/// does not parse, or when the key does not match the certificate.
Result<std::shared_ptr<const TlsClientContext>> make_tls_client_context(const TlsClientConfig& cfg);

/// The system's CA store, no client certificate, no pins: built once, shared.
std::shared_ptr<const TlsClientContext> default_tls_client_context();

}  // namespace fathom::net
