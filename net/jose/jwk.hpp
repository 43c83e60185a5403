// JSON Web Keys (RFC 7517) as OpenSSL EVP_PKEYs: the public keys an issuer publishes in its JWK
// Set (verification of access tokens on ingest) and the private key of a SMART client (signing of
// client assertions). Only what JWS with RS256/RS384/ES256/ES384 needs (RFC 7518 §3.3, §3.4):
// RSA keys of 2048 bits or more, EC keys on P-256 and P-384. Symmetric ("oct") keys are never
// loaded, so a token can never be checked with HMAC over a public key's text.
//
// Sans-io: parsing and key construction only; the JWK Set is fetched by a driver
// (transport/http/jwks_client.hpp). Keys are immutable after creation and may be shared by any
// number of threads.
#pragma once

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::net::jose {

// The JWS algorithms iomtflow signs and verifies with (RFC 7518 §3.1 names).
enum class algorithm { rs256, rs384, es256, es384 };
// Exact, case-sensitive JOSE names ("RS256", ...); nullopt for anything else ("none", "HS256").
std::optional<algorithm> parse_algorithm(std::string_view name) noexcept;
std::string_view to_string(algorithm a) noexcept;

using pkey = std::shared_ptr<EVP_PKEY>;

struct public_key {
  std::string kid;
  std::string kty;  // "RSA" | "EC"
  std::string crv;  // EC: "P-256" | "P-384"
  std::string alg;  // the JWK's own "alg" when present
  int bits = 0;
  pkey key;
  // Whether a signature made with `a` may be checked with this key: the key type and curve fit
  // the algorithm, and the JWK's own "alg", when present, names it (RFC 7517 §4.4).
  bool suits(algorithm a) const noexcept;
};

struct key_set {
  std::vector<public_key> keys;
  std::vector<std::string> skipped;  // keys left out, each with its reason
  // The key with this kid; nullptr when there is none.
  const public_key* find(std::string_view kid) const noexcept;
  // "'k1', 'k2'": the key ids, for log lines.
  std::string kids() const;
};

// A JWK Set document ({"keys":[...]}). Keys that cannot verify signatures (other key types,
// "use" other than "sig", bad or short parameters) are skipped with their reason; an error only
// when the document is not a JWK Set.
boost::system::result<key_set, std::string> parse_jwks(std::string_view json);
// One public JWK (kty RSA with n, e; kty EC with crv, x, y).
boost::system::result<public_key, std::string> parse_jwk(const boost::json::object& jwk);

// A private key that signs client assertions.
struct signing_key {
  pkey key;
  algorithm alg = algorithm::rs384;
  std::string kid;
};
// A PEM private key (PKCS#8 "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"; never prompts
// for a pass phrase: an encrypted key is an error). `alg` unset: RSA -> RS384, EC P-384 -> ES384
// (the SMART Backend Services algorithms); set: it must fit the key. `kid` empty: the key's RFC 7638
// thumbprint.
boost::system::result<signing_key, std::string> load_signing_key(std::string_view pem,
                                                                 std::optional<algorithm> alg = {},
                                                                 std::string kid = {});
boost::system::result<signing_key, std::string> load_signing_key_file(const std::string& path,
                                                                      std::optional<algorithm> alg = {},
                                                                      std::string kid = {});

// The public half as a JWK: kty, n and e or crv, x and y, plus kid, alg and "use":"sig". What a
// client registers with an authorization server (its JWK Set).
boost::json::object public_jwk(const signing_key& key);
// RFC 7638 thumbprint (SHA-256, base64url) of a public RSA or EC key; "" for other keys.
std::string thumbprint(EVP_PKEY* key);

}  // namespace iomt::net::jose
