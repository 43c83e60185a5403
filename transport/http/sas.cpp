#include "transport/http/sas.hpp"

#include "mapping/text/ascii.hpp"

#include <openssl/crypto.h>  // CRYPTO_memcmp

#include <charconv>

namespace iomt::transport::http {
namespace {

constexpr std::string_view scheme_word = "SharedAccessSignature";

using mapping::text::iequals;

sas_error error(sas_errc code, std::string message) { return {code, std::move(message), {}}; }

// Splits "[scheme://]host[/path][?query]" into scheme (may be empty), host and path (no leading
// or trailing '/').
struct uri_parts {
  std::string_view scheme;
  std::string_view host;
  std::string_view path;
};

uri_parts split_uri(std::string_view uri) {
  uri_parts parts;
  if (auto p = uri.find("://"); p != std::string_view::npos) {
    parts.scheme = uri.substr(0, p);
    uri.remove_prefix(p + 3);
  }
  if (auto q = uri.find_first_of("?#"); q != std::string_view::npos) uri = uri.substr(0, q);
  const auto slash = uri.find('/');
  parts.host = uri.substr(0, slash);
  if (slash != std::string_view::npos) parts.path = uri.substr(slash + 1);
  while (!parts.path.empty() && parts.path.back() == '/') parts.path.remove_suffix(1);
  return parts;
}

std::string_view strip_port(std::string_view host) {
  if (host.starts_with('[')) {  // IPv6 literal
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  if (auto colon = host.rfind(':'); colon != std::string_view::npos) return host.substr(0, colon);
  return host;
}

bool known_scheme(std::string_view scheme) {
  for (std::string_view s : {"https", "http", "sb", "amqps", "amqp"})
    if (iequals(scheme, s)) return true;
  return false;
}

// Is `prefix` (the token's path) a segment-wise prefix of `path` (the requested entity)? Segment
// 0 is the hub and segment 1 a literal ("partitions", "publishers"): case-insensitive, as Event
// Hubs entity paths; segment 2 and beyond (the publisher or partition id) must match exactly.
// Empty prefix covers everything.
bool segment_prefix(std::string_view prefix, std::string_view path) {
  for (int index = 0; !prefix.empty(); ++index) {
    auto ps = prefix.find('/');
    auto qs = path.find('/');
    std::string_view a = prefix.substr(0, ps), b = path.substr(0, qs);
    if (path.empty() || !(index < 2 ? iequals(a, b) : a == b)) return false;
    prefix = ps == std::string_view::npos ? std::string_view{} : prefix.substr(ps + 1);
    path = qs == std::string_view::npos ? std::string_view{} : path.substr(qs + 1);
  }
  return true;
}

}  // namespace

const char* to_string(sas_errc e) noexcept {
  switch (e) {
    case sas_errc::missing:
      return "missing";
    case sas_errc::malformed:
      return "malformed";
    case sas_errc::unknown_key:
      return "unknown-key-name";
    case sas_errc::bad_signature:
      return "bad-signature";
    case sas_errc::expired:
      return "expired";
    case sas_errc::wrong_resource:
      return "wrong-resource";
    case sas_errc::too_long:
      return "lifetime-too-long";
  }
  return "unknown";
}

const char* public_reason(sas_errc e) noexcept {
  return e == sas_errc::unknown_key || e == sas_errc::bad_signature ? "invalid-signature" : to_string(e);
}

boost::system::result<sas_token, sas_error> parse_sas_token(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) header.remove_suffix(1);
  if (header.empty()) return error(sas_errc::missing, "no Authorization header: a SharedAccessSignature is required");
  if (header.size() <= scheme_word.size() || !iequals(header.substr(0, scheme_word.size()), scheme_word) ||
      (header[scheme_word.size()] != ' ' && header[scheme_word.size()] != '\t'))
    return error(sas_errc::missing,
                 "the Authorization header is not a SharedAccessSignature (expected "
                 "'SharedAccessSignature sr=...&sig=...&se=...&skn=...')");
  std::string_view fields = header.substr(scheme_word.size());
  while (!fields.empty() && (fields.front() == ' ' || fields.front() == '\t')) fields.remove_prefix(1);

  sas_token token;
  bool seen_sr = false, seen_sig = false, seen_se = false, seen_skn = false;
  while (!fields.empty()) {
    const auto amp = fields.find('&');
    std::string_view field = fields.substr(0, amp);
    fields = amp == std::string_view::npos ? std::string_view{} : fields.substr(amp + 1);
    if (field.empty()) continue;
    const auto eq = field.find('=');
    if (eq == std::string_view::npos)
      return error(sas_errc::malformed, "SAS token field '" + std::string(field.substr(0, 32)) + "' has no '='");
    const std::string_view name = field.substr(0, eq), raw = field.substr(eq + 1);
    bool* seen = nullptr;
    if (name == "sr")
      seen = &seen_sr;
    else if (name == "sig")
      seen = &seen_sig;
    else if (name == "se")
      seen = &seen_se;
    else if (name == "skn")
      seen = &seen_skn;
    else
      continue;  // unknown fields are ignored
    if (*seen) return error(sas_errc::malformed, "SAS token has more than one '" + std::string(name) + "' field");
    *seen = true;
    auto decoded = url_decode(raw);
    if (!decoded) return error(sas_errc::malformed, "SAS token field '" + std::string(name) + "' has a bad %-escape");
    if (decoded->empty()) return error(sas_errc::malformed, "SAS token field '" + std::string(name) + "' is empty");
    if (name == "sr") {
      token.resource = std::move(*decoded);
      token.resource_raw = std::string(raw);
    } else if (name == "sig") {
      token.signature = std::move(*decoded);
    } else if (name == "skn") {
      token.key_name = std::move(*decoded);
    } else {
      token.expiry_text = std::move(*decoded);
      const char* first = token.expiry_text.data();
      const char* last = first + token.expiry_text.size();
      auto [ptr, ec] = std::from_chars(first, last, token.expiry);
      if (ec != std::errc{} || ptr != last || token.expiry < 0)
        return error(sas_errc::malformed,
                     "SAS token expiry 'se' is not a unix time in seconds: '" + token.expiry_text.substr(0, 32) + "'");
    }
  }
  for (auto [seen, name] : {std::pair{seen_sr, "sr"}, {seen_sig, "sig"}, {seen_se, "se"}, {seen_skn, "skn"}})
    if (!seen) return error(sas_errc::malformed, std::string("SAS token has no '") + name + "' field");
  return token;
}

sas_verifier::sas_verifier(sas_options options) : options_(std::move(options)) {}

boost::system::result<void, sas_error> sas_verifier::verify_signature(const sas_token& token) const {
  // One generic answer for "no such key name" and "wrong signature" (issue 15); the detail is
  // for the log.
  constexpr std::string_view generic =
      "the SAS signature is not valid: wrong key name or key, or the token was altered";
  const sas_key* key = nullptr;
  for (const auto& k : options_.keys)
    if (iequals(k.name, token.key_name)) {
      key = &k;
      break;
    }
  const auto given = base64_decode(token.signature);
  auto matches = [&](std::string_view key_text, std::string_view encoded_resource) {
    std::string message(encoded_resource);
    message.push_back('\n');
    message += token.expiry_text;
    const std::string expected = hmac_sha256(key_text, message);
    return given && given->size() == 32 && CRYPTO_memcmp(expected.data(), given->data(), 32) == 0;
  };
  if (!key) {
    // The same work as for a known key, so the time taken does not tell either.
    [[maybe_unused]] const bool ignored = matches("iomtflow: no such key", token.resource_raw);
    return sas_error{sas_errc::unknown_key, std::string(generic),
                     "key name '" + token.key_name.substr(0, 64) + "' is not configured"};
  }
  if (!given || given->size() != 32)
    return sas_error{sas_errc::bad_signature, std::string(generic),
                     "signature 'sig' is not a base64 HMAC-SHA256 (32 bytes); key name '" + key->name + "'"};
  if (matches(key->key, token.resource_raw) || matches(key->key, url_encode(token.resource)) ||
      matches(key->key, url_encode(token.resource, true)))
    return {};
  return sas_error{
      sas_errc::bad_signature, std::string(generic),
      "signature does not match (key name '" + key->name + "', resource '" + token.resource.substr(0, 200) + "')"};
}

boost::system::result<void, sas_error> sas_verifier::check_claims(const sas_token& token, std::string_view entity_path,
                                                                  std::int64_t now_unix) const {
  if (token.expiry <= now_unix)
    return error(sas_errc::expired, "SAS token expired: se=" + token.expiry_text + " is " +
                                        std::to_string(now_unix - token.expiry) + " s in the past");
  if (options_.max_lifetime_seconds > 0 && token.expiry - now_unix > options_.max_lifetime_seconds)
    return error(sas_errc::too_long, "SAS token lifetime too long: se=" + token.expiry_text + " is " +
                                         std::to_string(token.expiry - now_unix) + " s from now, over the maximum of " +
                                         std::to_string(options_.max_lifetime_seconds) +
                                         " s (source.http.max_token_lifetime)");
  const uri_parts parts = split_uri(token.resource);
  if (!parts.scheme.empty() && !known_scheme(parts.scheme))
    return error(sas_errc::wrong_resource, "SAS token resource '" + token.resource.substr(0, 200) + "' has scheme '" +
                                               std::string(parts.scheme.substr(0, 16)) +
                                               "': expected https://, http://, sb://, amqps:// or amqp://");
  if (strip_port(parts.host).empty())
    return error(sas_errc::wrong_resource, "SAS token resource '" + token.resource.substr(0, 200) +
                                               "' names no host: expected [https://]HOST[/HUB[/publishers/ID]]");
  if (!options_.hosts.empty()) {
    const std::string_view host = strip_port(parts.host);
    bool ok = false;
    for (const auto& h : options_.hosts) {
      const uri_parts accepted = split_uri(h);
      if (!iequals(strip_port(accepted.host), host)) continue;
      if (!accepted.scheme.empty() && !iequals(accepted.scheme, parts.scheme)) continue;
      ok = true;
      break;
    }
    if (!ok)
      return error(sas_errc::wrong_resource,
                   "SAS token resource '" + token.resource.substr(0, 200) + "' names " +
                       (parts.scheme.empty() ? "" : "scheme '" + std::string(parts.scheme) + "' and ") + "host '" +
                       std::string(host.substr(0, 200)) + "', which is not accepted here (source.http.hosts)");
  }
  if (!segment_prefix(parts.path, entity_path))
    return error(sas_errc::wrong_resource, "SAS token resource '" + token.resource.substr(0, 200) +
                                               "' does not cover '/" + std::string(entity_path) + "'");
  return {};
}

boost::system::result<sas_token, sas_error> sas_verifier::verify(std::string_view authorization,
                                                                 std::string_view entity_path,
                                                                 std::int64_t now_unix) const {
  auto token = parse_sas_token(authorization);
  if (!token) return token.error();
  if (auto r = verify_signature(*token); !r) return r.error();
  if (auto r = check_claims(*token, entity_path, now_unix); !r) return r.error();
  return token;
}

std::string make_sas_token(std::string_view resource_uri, std::string_view key_name, std::string_view key,
                           std::int64_t expiry_unix) {
  const std::string encoded = url_encode(resource_uri);
  const std::string expiry = std::to_string(expiry_unix);
  const std::string signature = base64_encode(hmac_sha256(key, encoded + "\n" + expiry));
  std::string out(scheme_word);
  out += " sr=";
  out += encoded;
  out += "&sig=";
  out += url_encode(signature);
  out += "&se=";
  out += expiry;
  out += "&skn=";
  out += url_encode(key_name);
  return out;
}

}  // namespace iomt::transport::http
