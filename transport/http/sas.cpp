#include "transport/http/sas.hpp"

#include "mapping/text/ascii.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <climits>

namespace iomt::transport::http {
namespace {

constexpr std::string_view scheme_word = "SharedAccessSignature";

using mapping::text::hex_value;
using mapping::text::iequals;

bool unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

sas_error error(sas_errc code, std::string message) { return {code, std::move(message)}; }

// Splits "scheme://host/path?query" into host and path (no leading/trailing '/'), ignoring scheme
// and query.
struct uri_parts {
  std::string_view host;
  std::string_view path;
};

uri_parts split_uri(std::string_view uri) {
  if (auto p = uri.find("://"); p != std::string_view::npos) uri.remove_prefix(p + 3);
  if (auto q = uri.find_first_of("?#"); q != std::string_view::npos) uri = uri.substr(0, q);
  uri_parts parts;
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

// Is every '/'-separated segment of `prefix` equal (case-insensitively) to the segment of `path`
// at the same position? Empty prefix covers everything.
bool segment_prefix(std::string_view prefix, std::string_view path) {
  while (!prefix.empty()) {
    auto ps = prefix.find('/');
    auto qs = path.find('/');
    std::string_view a = prefix.substr(0, ps), b = path.substr(0, qs);
    if (path.empty() || !iequals(a, b)) return false;
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
  }
  return "unknown";
}

std::string url_encode(std::string_view s, bool lower_case_hex) {
  const char* hex = lower_case_hex ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  // HMAC() takes an int key length; keys are short configuration strings.
  const int key_len = key.size() > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(key.size());
  HMAC(EVP_sha256(), key.data(), key_len, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       md.data(), &len);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
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
  const sas_key* key = nullptr;
  for (const auto& k : options_.keys)
    if (iequals(k.name, token.key_name)) {
      key = &k;
      break;
    }
  if (!key) return error(sas_errc::unknown_key, "SAS key name '" + token.key_name + "' is not configured");

  const auto given = base64_decode(token.signature);
  if (!given || given->size() != 32)
    return error(sas_errc::bad_signature, "SAS signature 'sig' is not a base64 HMAC-SHA256 (32 bytes)");

  auto matches = [&](std::string_view encoded_resource) {
    std::string message(encoded_resource);
    message.push_back('\n');
    message += token.expiry_text;
    const std::string expected = hmac_sha256(key->key, message);
    return CRYPTO_memcmp(expected.data(), given->data(), 32) == 0;
  };
  if (matches(token.resource_raw) || matches(url_encode(token.resource)) || matches(url_encode(token.resource, true)))
    return {};
  return error(sas_errc::bad_signature, "SAS signature does not match (key '" + key->name + "', resource '" +
                                            token.resource + "'): wrong key, or the token was altered");
}

boost::system::result<void, sas_error> sas_verifier::check_claims(const sas_token& token, std::string_view entity_path,
                                                                  std::int64_t now_unix) const {
  if (token.expiry <= now_unix)
    return error(sas_errc::expired, "SAS token expired: se=" + token.expiry_text + " is " +
                                        std::to_string(now_unix - token.expiry) + " s in the past");
  const uri_parts parts = split_uri(token.resource);
  if (!options_.hosts.empty()) {
    const std::string_view host = strip_port(parts.host);
    bool ok = false;
    for (const auto& h : options_.hosts) ok = ok || iequals(strip_port(h), host);
    if (!ok)
      return error(sas_errc::wrong_resource, "SAS token resource '" + token.resource + "' names host '" +
                                                 std::string(host) + "', which is not an accepted host");
  }
  if (!segment_prefix(parts.path, entity_path))
    return error(sas_errc::wrong_resource,
                 "SAS token resource '" + token.resource + "' does not cover '/" + std::string(entity_path) + "'");
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
