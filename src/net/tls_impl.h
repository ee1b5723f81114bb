// TLS insides for src/net only: the Asio ssl contexts and the checks every connection makes.
#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/tls_context.h"

namespace fathom::net {

class TlsClientContext {
 public:
  TlsClientContext() : ctx(boost::asio::ssl::context::tls_client) {}
  // Asio's streams take the context by non-const reference; they only read it.
  mutable boost::asio::ssl::context ctx;
  std::vector<SpkiPin> pins;
};

/// A listener's context: certificate chain and key, TLS 1.2+, and with a client CA,
/// SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT. InvalidArgument naming the file on error.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_server_context(
    const TlsServerConfig& cfg);

/// Before a client handshake: SNI (for a name, not an address) and the name or IP address the
/// server's certificate must carry (checked by OpenSSL during the handshake).
Status prepare_client_tls(SSL* ssl, const std::string& host);

/// After a client handshake: the server's key matches one of the pins (OK when there are none).
Status check_spki_pins(const TlsClientContext& ctx, SSL* ssl);

/// Why a handshake failed, with the certificate verification result when that was the cause
/// ("certificate verify failed: unable to get local issuer certificate").
std::string tls_failure(const boost::beast::error_code& ec, SSL* ssl);

}  // namespace fathom::net
