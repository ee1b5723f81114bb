#include "gateway/security/data_protection.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

namespace fathom::gateway {
namespace {

constexpr char kVersion = 1;
constexpr size_t kGcmIv = 12, kGcmTag = 16, kCtrIv = 16, kSm3Tag = 32;

const char* digest_name(DataSuite s) { return s == DataSuite::kSm4 ? "SM3" : "SHA256"; }

Result<std::string> hmac(DataSuite s, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(s), nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof(out),
                 &len))
    return unavailable(std::string("this OpenSSL cannot compute HMAC-") + digest_name(s));
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hex(std::string_view bytes) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER* cipher = nullptr;
  ~CipherCtx() {
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
  }
};

// One pass of `name` over `in` (encrypting or decrypting); GCM's tag is read or set by the caller.
Result<std::string> run_cipher(CipherCtx& c, const char* name, bool encrypt, std::string_view key,
                               std::string_view iv, std::string_view in,
                               const std::function<bool(EVP_CIPHER_CTX*)>& before_final = {}) {
  c.cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (!c.ctx || !c.cipher) return unavailable(std::string("this OpenSSL offers no ") + name);
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* v = reinterpret_cast<const unsigned char*>(iv.data());
  if (EVP_CipherInit_ex2(c.ctx, c.cipher, nullptr, nullptr, encrypt ? 1 : 0, nullptr) != 1 ||
      (std::string_view(name) == "AES-256-GCM" &&
       EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) !=
           1) ||
      EVP_CipherInit_ex2(c.ctx, nullptr, k, v, encrypt ? 1 : 0, nullptr) != 1)
    return internal_error(std::string(name) + ": cannot initialise");
  std::string out(in.size() + 32, '\0');
  int len = 0, tail = 0;
  if (EVP_CipherUpdate(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                       reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1)
    return internal_error(std::string(name) + ": failed");
  if (before_final && !before_final(c.ctx)) return internal_error(std::string(name) + ": failed");
  if (EVP_CipherFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &tail) != 1)
    return data_loss("sealed data failed its authentication (edited, or another key)");
  out.resize(static_cast<size_t>(len + tail));
  return out;
}

}  // namespace

Result<DataSuite> parse_data_suite(std::string_view name) {
  if (name == "aes") return DataSuite::kAes;
  if (name == "sm4") return DataSuite::kSm4;
  return invalid_argument("must be aes or sm4 (got '" + std::string(name) + "')");
}

Result<std::shared_ptr<const DataProtection>> DataProtection::create(std::string_view secret,
                                                                     DataSuite suite) {
  if (secret.size() != 32) return invalid_argument("the data protection secret must be 32 bytes");
  std::shared_ptr<DataProtection> p(new DataProtection());
  p->suite_ = suite;
  FATHOM_ASSIGN_OR_RETURN(p->mac_key_, hmac(suite, secret, "fathom data protection: row mac"));
  FATHOM_ASSIGN_OR_RETURN(p->enc_key_, hmac(suite, secret, "fathom data protection: encryption"));
  FATHOM_ASSIGN_OR_RETURN(p->enc_mac_key_,
                          hmac(suite, secret, "fathom data protection: encryption mac"));
  p->enc_key_.resize(suite == DataSuite::kSm4 ? 16 : 32);  // SM4's key is 128 bits
  FATHOM_RETURN_IF_ERROR(p->encrypt("probe").status());    // the suite is there
  return std::shared_ptr<const DataProtection>(std::move(p));
}

Result<std::shared_ptr<const DataProtection>> DataProtection::load(const std::string& key_file,
                                                                   DataSuite suite) {
  std::ifstream in(key_file);
  if (!in) return not_found(key_file + ": cannot read the data protection key");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  if (text.size() != 64 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    return invalid_argument(key_file + ": must hold 64 hex digits (openssl rand -hex 32)");
  std::string secret;
  for (size_t i = 0; i < 64; i += 2)
    secret.push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return create(secret, suite);
}

std::string DataProtection::seal(std::string_view data) const {
  return hex(*hmac(suite_, mac_key_, data));  // the digest was there at create()
}

bool DataProtection::check(std::string_view data, std::string_view mac) const {
  return equal_ct(seal(data), mac);
}

Result<std::string> DataProtection::encrypt(std::string_view plain) const {
  const bool sm4 = suite_ == DataSuite::kSm4;
  std::string iv(sm4 ? kCtrIv : kGcmIv, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(iv.data()), static_cast<int>(iv.size())) != 1)
    return unavailable("no randomness for an IV");
  std::string header{kVersion, static_cast<char>(sm4 ? 2 : 1)};
  CipherCtx c;
  if (sm4) {  // SM4-CTR, then HMAC-SM3 over header || IV || ciphertext
    FATHOM_ASSIGN_OR_RETURN(std::string ct, run_cipher(c, "SM4-CTR", true, enc_key_, iv, plain));
    std::string out = header + iv + ct;
    FATHOM_ASSIGN_OR_RETURN(std::string tag, hmac(suite_, enc_mac_key_, out));
    return out + tag;
  }
  std::string tag(kGcmTag, '\0');
  FATHOM_ASSIGN_OR_RETURN(std::string ct, run_cipher(c, "AES-256-GCM", true, enc_key_, iv, plain));
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTag), tag.data()) != 1)
    return internal_error("AES-256-GCM: no tag");
  return header + iv + ct + tag;
}

Result<std::string> DataProtection::decrypt(std::string_view sealed) const {
  const bool sm4 = suite_ == DataSuite::kSm4;
  const size_t iv_len = sm4 ? kCtrIv : kGcmIv, tag_len = sm4 ? kSm3Tag : kGcmTag;
  if (sealed.size() < 2 + iv_len + tag_len || sealed[0] != kVersion || sealed[1] != (sm4 ? 2 : 1))
    return data_loss("not data sealed with this suite");
  const std::string_view iv = sealed.substr(2, iv_len);
  const std::string_view ct = sealed.substr(2 + iv_len, sealed.size() - 2 - iv_len - tag_len);
  const std::string_view tag = sealed.substr(sealed.size() - tag_len);
  CipherCtx c;
  if (sm4) {
    FATHOM_ASSIGN_OR_RETURN(std::string want,
                            hmac(suite_, enc_mac_key_, sealed.substr(0, sealed.size() - tag_len)));
    if (!equal_ct(want, tag))
      return data_loss("sealed data failed its authentication (edited, or another key)");
    return run_cipher(c, "SM4-CTR", false, enc_key_, iv, ct);
  }
  std::string t(tag);
  return run_cipher(c, "AES-256-GCM", false, enc_key_, iv, ct, [&](EVP_CIPHER_CTX* ctx) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(t.size()), t.data()) ==
           1;
  });
}

}  // namespace fathom::gateway
