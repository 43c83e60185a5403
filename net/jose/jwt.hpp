// Access token validation (sans-io): token + key set + policy + clock -> verdict. What ingest
// checks on `Authorization: Bearer <JWT>` (RFC 6750, RFC 9068, OpenID Connect Core §3.1.3.7 for
// the issuer/audience rules; Microsoft Entra ID access tokens alike). In this order, each failure
// with its own code and a message that never quotes the token:
//   1. a compact JWS (three base64url parts, JSON header and payload), at most max_token_bytes;
//   2. `alg` one of the policy's algorithms (RS256 / ES256 by default): `none`, HS256/384/512 and
//      anything else are refused before any key is looked at; a `crit` header is refused;
//   3. `kid` names a key of the issuer's key set (absent: the one key that suits the algorithm);
//      the key must suit the algorithm (RSA for RS*, the curve for ES*; the JWK's own alg);
//   4. the signature verifies;
//   5. `iss` is one of the accepted issuers (exact string match);
//   6. `aud` (string or array) contains an accepted audience;
//   7. `exp` present and now < exp + skew; `nbf`, when present, now >= nbf - skew;
//   8. the token carries a required role (`roles` array, Entra ID app roles) or scope (`scp`
//      or `scope`, space-separated, RFC 8693 §4.2) -> 403 otherwise, the others are 401.
#pragma once

#include "net/jose/jwk.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::net::jose {

enum class jwt_errc {
  malformed,              // not a compact JWS / JWT, or too long
  algorithm_not_allowed,  // alg none, HMAC, or not in the policy
  unknown_key,            // kid not in the key set (the caller may refresh the key set)
  key_mismatch,           // the key named by kid does not suit alg
  bad_signature,
  wrong_issuer,
  wrong_audience,
  expired,
  not_yet_valid,
  missing_claim,  // exp (or iss/aud) absent or of the wrong type
  missing_role,   // none of the required roles / scopes: 403
};
std::string_view to_string(jwt_errc c) noexcept;

struct jwt_error {
  jwt_errc code = jwt_errc::malformed;
  std::string message;  // what failed, never the token; claim values quoted, sanitized, truncated
  std::string kid;      // unknown_key: the key id asked for
};

struct jwt_policy {
  std::vector<std::string> issuers;    // accepted `iss` values (at least one)
  std::vector<std::string> audiences;  // accepted `aud` values (at least one)
  std::vector<algorithm> algorithms{algorithm::rs256, algorithm::es256};
  std::chrono::seconds clock_skew{60};
  std::vector<std::string> roles;   // any of these in `roles` ...
  std::vector<std::string> scopes;  // ... or any of these in `scp` / `scope` (one of both lists is required)
  std::size_t max_token_bytes = 8192;
};

// What a valid token says (for logs and per-connection caches).
struct verified_jwt {
  std::string issuer;
  std::string subject;  // `sub`
  std::string client;   // `azp`, `appid` or `client_id`
  std::string kid;
  std::int64_t expires = 0;                // exp, unix seconds
  std::optional<std::int64_t> not_before;  // nbf
};

boost::system::result<verified_jwt, jwt_error> validate_jwt(std::string_view token, const key_set& keys,
                                                            const jwt_policy& policy, std::int64_t now_unix);

// Step 7 alone, for a token validated earlier (per-connection cache).
boost::system::result<void, jwt_error> check_lifetime(const verified_jwt& token, const jwt_policy& policy,
                                                      std::int64_t now_unix);

// A claim or header value for an error message: printable ASCII, at most 64 characters, quoted.
std::string quote_claim(std::string_view value);

}  // namespace iomt::net::jose
