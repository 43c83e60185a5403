// JWS Compact Serialization (RFC 7515 §7.1): parse, verify and sign with OpenSSL EVP, for the
// four algorithms of jwk.hpp (RSASSA-PKCS1-v1_5 and ECDSA with SHA-256/384, RFC 7518 §3.3-3.4).
// Sans-io, no clock: claims are checked in jwt.hpp.
#pragma once

#include "net/jose/jwk.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace iomt::net::jose {

// A compact JWS, decoded. `signing_input` views the token text: the token must outlive it.
struct compact_jws {
  boost::json::object header;
  boost::json::object payload;     // the claims (a JWT's payload is a JSON object, RFC 7519 §7.2)
  std::string alg;                 // the header's "alg" as sent ("" when absent)
  std::string kid;                 // the header's "kid" ("" when absent)
  std::string_view signing_input;  // BASE64URL(header) '.' BASE64URL(payload)
  std::string signature;           // decoded bytes
};

// Three base64url parts separated by '.', header and payload JSON objects. The error says which
// part is wrong and never quotes the token.
boost::system::result<compact_jws, std::string> parse_compact(std::string_view token);

// Does `signature` sign `signing_input` with `key` under `alg`? ECDSA signatures are R || S as
// fixed-size big-endian integers (RFC 7518 §3.4), converted to DER for OpenSSL. A key that does not
// fit the algorithm (key.suits) never verifies.
bool verify_signature(algorithm alg, const public_key& key, std::string_view signing_input, std::string_view signature);

// header {"alg": key.alg, "typ": "JWT", "kid": key.kid} plus `extra_header` members, the payload
// serialized as is; signed with the private key. Fails only when OpenSSL does.
boost::system::result<std::string, std::string> sign_compact(const signing_key& key, const boost::json::object& payload,
                                                             const boost::json::object& extra_header = {});

}  // namespace iomt::net::jose
