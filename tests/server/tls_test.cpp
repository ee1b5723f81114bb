// TLS in the net layer: HttpServer terminating TLS (with and without client certificates, a
// certificate reload), HttpClient and StreamClient verifying the server (CA, name, pins). The
// certificates are made here, at run time, with OpenSSL.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <future>
#include <string>

#include "net/http_client.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/stream_client.h"
#include "net/tls_context.h"
#include "support/error_page.h"

namespace fathom::net {
namespace {

namespace fs = std::filesystem;
using fathom::testing::error_page;

/// A key and a certificate (self-signed when it has no issuer), written as PEM files.
struct Identity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string cert_file, key_file;
};

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/fathom-tls-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~Pki() {
    for (Identity& id : ids_) {
      X509_free(id.cert);
      EVP_PKEY_free(id.key);
    }
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  /// `name`.crt and `name`.key, signed by `issuer` (self-signed CA when null).
  const Identity& make(const std::string& name, const Identity* issuer, const char* san = nullptr) {
    Identity id;
    id.key = EVP_EC_gen("P-256");
    id.cert = X509_new();
    X509_set_version(id.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(id.cert), ++serial_);
    X509_gmtime_adj(X509_getm_notBefore(id.cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(id.cert), 86400);
    X509_set_pubkey(id.cert, id.key);
    X509_NAME* subject = X509_get_subject_name(id.cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509* issuer_cert = issuer ? issuer->cert : id.cert;
    X509_set_issuer_name(id.cert, X509_get_subject_name(issuer_cert));
    add_ext(id.cert, issuer_cert, NID_subject_key_identifier, "hash");
    add_ext(id.cert, issuer_cert, NID_authority_key_identifier, "keyid");
    if (!issuer) {
      add_ext(id.cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
      add_ext(id.cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add_ext(id.cert, issuer_cert, NID_basic_constraints, "CA:FALSE");
      if (san) add_ext(id.cert, issuer_cert, NID_subject_alt_name, san);
    }
    X509_sign(id.cert, issuer ? issuer->key : id.key, EVP_sha256());
    id.cert_file = dir_ + "/" + name + ".crt";
    id.key_file = dir_ + "/" + name + ".key";
    std::FILE* f = std::fopen(id.cert_file.c_str(), "w");
    PEM_write_X509(f, id.cert);
    std::fclose(f);
    f = std::fopen(id.key_file.c_str(), "w");
    PEM_write_PrivateKey(f, id.key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    ids_.push_back(id);
    return ids_.back();
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::deque<Identity> ids_;
  long serial_ = 0;
};

/// base64(SHA-256(SubjectPublicKeyInfo)), as `openssl pkey -pubin -outform der | openssl dgst
/// -sha256 -binary | base64` prints it.
std::string spki_pin(const Identity& id) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(id.key, &der);
  unsigned char digest[32];
  unsigned int n = 0;
  EVP_Digest(der, static_cast<size_t>(len), digest, &n, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  unsigned char b64[48];
  EVP_EncodeBlock(b64, digest, 32);
  return reinterpret_cast<const char*>(b64);
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest()
      : ca_(pki_.make("ca", nullptr)),
        server_id_(pki_.make("server", &ca_, "DNS:localhost,IP:127.0.0.1")),
        client_id_(pki_.make("client", &ca_, "DNS:client")),
        other_ca_(pki_.make("other-ca", nullptr)),
        impostor_(pki_.make("impostor", &other_ca_, "DNS:localhost,IP:127.0.0.1")),
        wrong_name_(pki_.make("wrong-name", &ca_, "DNS:elsewhere.example")) {}

  void start(TlsServerConfig tls) {
    HttpServerOptions o;
    o.port = 0;
    o.tls = std::move(tls);
    server_ = std::make_unique<HttpServer>(
        o,
        [](std::shared_ptr<Exchange> ex) {
          if (ex->request().path == "/stream") {
            ex->begin_stream();
            ex->send_event("one");
            return ex->end_stream();
          }
          HttpResponse r;
          r.body = "hello " + ex->request().body;
          ex->send(std::move(r));
        },
        &error_page);
    Status s = server_->start();
    ASSERT_TRUE(s.ok()) << s.to_string();
  }

  Url url(TlsClientConfig cfg) {
    auto ctx = make_tls_client_context(cfg);
    EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
    Url u = *parse_url("https://127.0.0.1:" + std::to_string(server_->port()));
    u.tls = ctx.ok() ? *ctx : nullptr;
    return u;
  }

  Result<ClientResponse> get(TlsClientConfig cfg) {
    HttpClient client(url(std::move(cfg)), 5'000);
    return client.request("POST", "/", "tls");
  }

  Pki pki_;
  const Identity& ca_;
  const Identity& server_id_;
  const Identity& client_id_;
  const Identity& other_ca_;
  const Identity& impostor_;
  const Identity& wrong_name_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsTest, ServesHttpsToAClientThatTrustsItsCa) {
  start({server_id_.cert_file, server_id_.key_file, ""});
  Result<ClientResponse> r = get({.ca_file = ca_.cert_file});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello tls");
}

TEST_F(TlsTest, PlainHttpToATlsListenerGetsNoAnswer) {
  start({server_id_.cert_file, server_id_.key_file, ""});
  HttpClient plain("127.0.0.1", server_->port(), 5'000);
  EXPECT_FALSE(plain.request("GET", "/", "").ok());
}

TEST_F(TlsTest, ACertificateFromAnotherCaIsRefused) {
  start({impostor_.cert_file, impostor_.key_file, ""});
  Result<ClientResponse> r = get({.ca_file = ca_.cert_file});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos)
      << r.status().message();
}

TEST_F(TlsTest, ACertificateForAnotherNameIsRefused) {
  start({wrong_name_.cert_file, wrong_name_.key_file, ""});
  Result<ClientResponse> r = get({.ca_file = ca_.cert_file});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("mismatch"), std::string::npos) << r.status().message();
}

TEST_F(TlsTest, ClientCertificatesWhenTheListenerAsksForThem) {
  start({server_id_.cert_file, server_id_.key_file, ca_.cert_file});
  Result<ClientResponse> without = get({.ca_file = ca_.cert_file});
  EXPECT_FALSE(without.ok()) << "a client without a certificate is refused in the handshake";

  Result<ClientResponse> with = get({.ca_file = ca_.cert_file,
                                     .client_cert_file = client_id_.cert_file,
                                     .client_key_file = client_id_.key_file});
  ASSERT_TRUE(with.ok()) << with.status().to_string();
  EXPECT_EQ(with->status, 200);

  Result<ClientResponse> foreign = get({.ca_file = ca_.cert_file,
                                        .client_cert_file = impostor_.cert_file,
                                        .client_key_file = impostor_.key_file});
  EXPECT_FALSE(foreign.ok()) << "a certificate from another CA is refused";
}

TEST_F(TlsTest, PinnedPublicKeys) {
  start({server_id_.cert_file, server_id_.key_file, ""});
  Result<ClientResponse> good =
      get({.ca_file = ca_.cert_file,
           .pin_sha256 = {spki_pin(impostor_), "sha256//" + spki_pin(server_id_)}});
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  Result<ClientResponse> bad = get({.ca_file = ca_.cert_file, .pin_sha256 = {spki_pin(impostor_)}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("matches no pin_sha256"), std::string::npos)
      << bad.status().message();
}

TEST_F(TlsTest, ReloadServesTheNewCertificateToNewConnections) {
  const std::string cert = pki_.dir() + "/live.crt", key = pki_.dir() + "/live.key";
  fs::copy_file(server_id_.cert_file, cert);
  fs::copy_file(server_id_.key_file, key);
  start({cert, key, ""});
  HttpClient kept(url({.ca_file = ca_.cert_file}), 5'000);
  ASSERT_TRUE(kept.request("GET", "/", "").ok());

  fs::copy_file(impostor_.cert_file, cert, fs::copy_options::overwrite_existing);
  fs::copy_file(impostor_.key_file, key, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(server_->reload_tls().ok());
  EXPECT_FALSE(get({.ca_file = ca_.cert_file}).ok());
  EXPECT_TRUE(get({.ca_file = other_ca_.cert_file}).ok());
  EXPECT_TRUE(kept.request("GET", "/", "").ok()) << "an open connection keeps its certificate";

  // A broken file on reload keeps the running certificate.
  std::FILE* f = std::fopen(key.c_str(), "w");
  std::fputs("not a key\n", f);
  std::fclose(f);
  Status s = server_->reload_tls();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  EXPECT_TRUE(get({.ca_file = other_ca_.cert_file}).ok());
}

TEST_F(TlsTest, BadFilesAreStartupErrorsNamingTheFile) {
  HttpServerOptions o;
  o.port = 0;
  o.tls = {pki_.dir() + "/missing.crt", server_id_.key_file, ""};
  HttpServer missing(
      o, [](std::shared_ptr<Exchange>) {}, &error_page);
  Status s = missing.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("missing.crt"), std::string::npos) << s.message();

  o.tls = {server_id_.cert_file, client_id_.key_file, ""};
  HttpServer mismatched(
      o, [](std::shared_ptr<Exchange>) {}, &error_page);
  s = mismatched.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not match"), std::string::npos) << s.message();

  auto ctx = make_tls_client_context({.ca_file = server_id_.key_file});
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find(server_id_.key_file), std::string::npos)
      << ctx.status().message();
}

TEST_F(TlsTest, StreamClientSpeaksHttpsAndReusesTheConnection) {
  start({server_id_.cert_file, server_id_.key_file, ca_.cert_file});
  auto pool = std::make_shared<IoPool>(1);
  pool->start();
  StreamClient client(pool);
  auto run = [&](Url to, const std::string& target) {
    auto done = std::make_shared<std::promise<std::pair<Status, std::string>>>();
    auto body = std::make_shared<std::string>();
    StreamSpec spec;
    spec.url = std::move(to);
    spec.target = target;
    StreamCallbacks cb;
    cb.on_body = [body](std::string_view piece) { body->append(piece); };
    cb.on_done = [done, body](const Status& s, bool) { done->set_value({s, *body}); };
    client.start(std::move(spec), std::move(cb));
    return done->get_future().get();
  };
  const Url mtls = url({.ca_file = ca_.cert_file,
                        .client_cert_file = client_id_.cert_file,
                        .client_key_file = client_id_.key_file});
  for (const char* target : {"/", "/stream", "/"}) {
    auto [status, text] = run(mtls, target);
    ASSERT_TRUE(status.ok()) << status.to_string();
    EXPECT_FALSE(text.empty());
  }
  EXPECT_EQ(client.connections_opened(), 1);
  EXPECT_EQ(client.requests_reused(), 2);

  auto [refused, text] = run(url({.ca_file = other_ca_.cert_file}), "/");
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("TLS handshake https://127.0.0.1"), std::string::npos)
      << refused.message();
  auto [no_cert, text2] = run(url({.ca_file = ca_.cert_file}), "/");
  EXPECT_FALSE(no_cert.ok()) << "mTLS listener, no client certificate";
  pool->stop();
}

TEST(TlsConfigTest, UrlsAndPins) {
  Result<Url> u = parse_url("https://api.example/v1/");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/v1");
  EXPECT_FALSE(parse_url("ftp://x").ok());

  EXPECT_TRUE(parse_spki_pin("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").ok());
  EXPECT_TRUE(
      parse_spki_pin("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").ok());
  EXPECT_FALSE(parse_spki_pin("47DEQpj8HBSa").ok());
  EXPECT_FALSE(parse_spki_pin("zz" + std::string(62, '0')).ok());
  EXPECT_EQ(*parse_spki_pin("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            *parse_spki_pin("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));

  std::vector<std::string> problems =
      check_tls_client_config({.client_cert_file = "c.pem", .pin_sha256 = {"nope"}});
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "client_key: is required with client_cert");
  EXPECT_EQ(problems[1].rfind("pin_sha256[0]: ", 0), 0u) << problems[1];
}

}  // namespace
}  // namespace fathom::net
