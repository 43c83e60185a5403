// Shared Access Signature tokens, as Azure Event Hubs / Service Bus use them (sans-io, no clock
// inside: callers pass "now").
//
//   Authorization: SharedAccessSignature sr=<url-encoded resource URI>&sig=<url-encoded base64>
//                                        &se=<unix expiry, seconds>&skn=<key name>
//   sig = base64(HMAC-SHA256(key bytes, url_encode(resource URI) + "\n" + se))
//
// The fields may come in any order; unknown fields are ignored. The key is used as the UTF-8 bytes
// of its text (an Azure key is base64 text and is NOT decoded), as the Azure SDKs do.
//
// Which string is signed: generators sign the `sr` text exactly as they put it in the token (Azure
// SDKs, the Python/JS/.NET samples); a few re-encode differently (upper- vs lower-case hex). The
// verifier accepts a signature over the token's `sr` text as sent, or over the decoded URI encoded
// with upper-case or lower-case hex (unreserved: A-Z a-z 0-9 - _ . ~).
//
// Resource check (issue 15; a documented simplification of the Azure rule "sr is a prefix of the
// entity URI"):
//   - `sr` is "[scheme://]host[:port][/path]"; the scheme, when given, is https, http, sb, amqps or
//     amqp; the host must not be empty ("sr=/" and "sr=" are refused);
//   - when `sas_options::hosts` lists accepted hosts, the host of `sr` must be one of them
//     (case-insensitively, port ignored); an entry written "scheme://host" also fixes the scheme;
//   - its path must be a segment-wise prefix of the requested entity path: the hub name and the
//     literal segments ("partitions", "publishers") compare case-insensitively, as Event Hubs entity
//     paths do; publisher and partition ids compare exactly, because "a client that holds a token
//     can only send to one publisher, and no other publisher" (Event Hubs publisher policy): a
//     token for publishers/dev-01 does not cover publishers/DEV-01. A namespace-level sr (host
//     only, empty path) grants every hub;
//   - the token's lifetime (se - now) may not exceed `max_lifetime_seconds` (0: no bound), so a
//     token that never expires (se=253402300799) is refused.
// Unknown key name and wrong signature give the same message (the detail, for logs only, says
// which), after the same amount of work, so an answer never tells whether a key name exists.
#pragma once

#include "transport/http/encoding.hpp"  // url_encode, base64, hmac_sha256 (the token's encodings)

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::transport::http {

enum class sas_errc {
  missing,         // no Authorization header (or not a SharedAccessSignature)
  malformed,       // a field is missing, duplicated, empty or not decodable
  unknown_key,     // skn names no configured key
  bad_signature,   // sig does not match
  expired,         // se is not in the future
  wrong_resource,  // sr does not cover the requested entity (or names a host that is not accepted)
  too_long,        // se is further in the future than the maximum token lifetime
};
const char* to_string(sas_errc) noexcept;

struct sas_error {
  sas_errc code;
  std::string message;      // says what is wrong and why, never the key or the expected signature
  std::string detail = {};  // for logs only (e.g. which key name was unknown); never a secret
};

// The reason given to the client: unknown_key and bad_signature are both "invalid-signature".
const char* public_reason(sas_errc) noexcept;

// The fields of a token, decoded.
struct sas_token {
  std::string resource;      // sr, percent-decoded
  std::string resource_raw;  // sr exactly as it appears in the token
  std::string signature;     // sig, percent-decoded (base64 text)
  std::string expiry_text;   // se as sent (digits)
  std::int64_t expiry = 0;   // se, unix seconds
  std::string key_name;      // skn, percent-decoded
};

// Parses an Authorization header value ("SharedAccessSignature sr=..&sig=..&se=..&skn=..");
// the leading word is matched case-insensitively.
boost::system::result<sas_token, sas_error> parse_sas_token(std::string_view authorization);

struct sas_key {
  std::string name;  // skn
  std::string key;   // the key text (its bytes are the HMAC key)
};

struct sas_options {
  std::vector<sas_key> keys;
  std::vector<std::string> hosts;         // accepted sr hosts ("host" or "scheme://host"); empty: any host
  std::int64_t max_lifetime_seconds = 0;  // se - now at most this; 0: no bound
};

// Verifies tokens against configured keys. Immutable after construction: thread-safe.
class sas_verifier {
public:
  explicit sas_verifier(sas_options options);

  // Signature and key name only (what a per-connection cache may remember).
  boost::system::result<void, sas_error> verify_signature(const sas_token& token) const;

  // Expiry and resource: `entity_path` is the requested entity, decoded, '/'-separated, without
  // leading slash: "devicedata", "devicedata/partitions/1", "devicedata/publishers/dev-01".
  boost::system::result<void, sas_error> check_claims(const sas_token& token, std::string_view entity_path,
                                                      std::int64_t now_unix) const;

  // parse + verify_signature + check_claims. Errors in that order: missing/malformed, unknown key,
  // bad signature, expired, too long, wrong resource.
  boost::system::result<sas_token, sas_error> verify(std::string_view authorization, std::string_view entity_path,
                                                     std::int64_t now_unix) const;

private:
  sas_options options_;
};

// A complete Authorization header value for `resource_uri`, signed with `key`, valid until
// `expiry_unix`; fields in the Azure order sr, sig, se, skn; url_encode with upper-case hex.
std::string make_sas_token(std::string_view resource_uri, std::string_view key_name, std::string_view key,
                           std::int64_t expiry_unix);

}  // namespace iomt::transport::http
