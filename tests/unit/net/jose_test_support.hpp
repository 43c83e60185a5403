// Test keys and tokens for the JOSE suites: fresh RSA / EC keys (OpenSSL), their JWK Set, and
// tokens signed with them, or made by hand where no honest signer would make them (alg none,
// HMAC over the public key).
#pragma once

#include "net/jose/base64url.hpp"
#include "net/jose/jwk.hpp"
#include "net/jose/jws.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <string>

namespace iomt::test {

namespace jose = iomt::net::jose;

// "RSA" (2048 bits) or an EC curve name ("P-256", "P-384").
inline jose::signing_key make_key(const std::string& type, jose::algorithm alg, const std::string& kid) {
  EVP_PKEY* k = type == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                              : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", const_cast<char*>(type.c_str()));
  if (!k) throw std::runtime_error("key generation failed");
  jose::signing_key key;
  key.key = jose::pkey(k, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
  key.alg = alg;
  key.kid = kid;
  return key;
}

inline std::string private_pem(const jose::signing_key& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

inline std::string public_pem(const jose::signing_key& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.key.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

template <class... Keys>
std::string jwks_json(const Keys&... keys) {
  boost::json::array a;
  (a.push_back(jose::public_jwk(keys)), ...);
  boost::json::object o;
  o["keys"] = std::move(a);
  return boost::json::serialize(o);
}

inline jose::key_set key_set_of(const std::string& jwks) {
  auto set = jose::parse_jwks(jwks);
  if (!set) throw std::runtime_error(set.error());
  return std::move(*set);
}

inline std::string sign(const jose::signing_key& key, const boost::json::object& claims,
                        const boost::json::object& extra_header = {}) {
  auto t = jose::sign_compact(key, claims, extra_header);
  if (!t) throw std::runtime_error(t.error());
  return *t;
}

// header.payload.signature from raw parts (alg none, HS256 ...).
inline std::string hand_made(const boost::json::object& header, const boost::json::object& claims,
                             const std::string& hmac_secret = {}, bool hmac = false) {
  std::string input = jose::base64url_encode(boost::json::serialize(header)) + "." +
                      jose::base64url_encode(boost::json::serialize(claims));
  std::string sig;
  if (hmac) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), hmac_secret.data(), static_cast<int>(hmac_secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
    sig = std::string(reinterpret_cast<char*>(out), len);
  }
  return input + "." + jose::base64url_encode(sig);
}

}  // namespace iomt::test
