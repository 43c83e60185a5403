#include "net/jose/jwt.hpp"

#include "net/jose/jws.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace iomt::net::jose {

namespace {

jwt_error fail(jwt_errc code, std::string message, std::string kid = {}) {
  return jwt_error{code, std::move(message), std::move(kid)};
}

std::string list(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + quote_claim(v);
  return out;
}

std::string algorithms_text(const jwt_policy& p) {
  std::string out;
  for (auto a : p.algorithms) out += (out.empty() ? "" : ", ") + std::string(to_string(a));
  return out;
}

// A NumericDate (RFC 7519 §2): integer or fractional seconds; nullopt when absent or not a number.
std::optional<std::int64_t> numeric_date(const boost::json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64())
    return v->get_uint64() > 253402300799u ? 253402300799 : static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double() && std::isfinite(v->get_double()) && std::abs(v->get_double()) < 1e15)
    return static_cast<std::int64_t>(std::floor(v->get_double()));
  return std::nullopt;
}

std::string_view string_claim(const boost::json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

std::string utc(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (!gmtime_r(&tt, &tm)) return std::to_string(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

// Space-separated scope string contains any wanted scope.
bool scope_matches(std::string_view scopes, const std::vector<std::string>& wanted) {
  while (!scopes.empty()) {
    const auto sp = scopes.find(' ');
    const std::string_view one = scopes.substr(0, sp);
    if (!one.empty() && contains(wanted, one)) return true;
    if (sp == std::string_view::npos) break;
    scopes.remove_prefix(sp + 1);
  }
  return false;
}

}  // namespace

std::string_view to_string(jwt_errc c) noexcept {
  switch (c) {
    case jwt_errc::malformed:
      return "malformed";
    case jwt_errc::algorithm_not_allowed:
      return "algorithm_not_allowed";
    case jwt_errc::unknown_key:
      return "unknown_key";
    case jwt_errc::key_mismatch:
      return "key_mismatch";
    case jwt_errc::bad_signature:
      return "bad_signature";
    case jwt_errc::wrong_issuer:
      return "wrong_issuer";
    case jwt_errc::wrong_audience:
      return "wrong_audience";
    case jwt_errc::expired:
      return "expired";
    case jwt_errc::not_yet_valid:
      return "not_yet_valid";
    case jwt_errc::missing_claim:
      return "missing_claim";
    case jwt_errc::missing_role:
      return "missing_role";
  }
  return "malformed";
}

std::string quote_claim(std::string_view value) {
  std::string out = "'";
  for (char c : value.substr(0, 64)) out += (c >= 0x20 && c < 0x7f && c != '\'' && c != '"') ? c : '?';
  if (value.size() > 64) out += "...";
  return out + "'";
}

boost::system::result<void, jwt_error> check_lifetime(const verified_jwt& token, const jwt_policy& policy,
                                                      std::int64_t now) {
  const std::int64_t skew = policy.clock_skew.count();
  if (now >= token.expires + skew)
    return fail(jwt_errc::expired, "the token expired at " + utc(token.expires) + " (" +
                                       std::to_string(now - token.expires) + " s ago; clock skew allowed " +
                                       std::to_string(skew) + " s)");
  if (token.not_before && now < *token.not_before - skew)
    return fail(jwt_errc::not_yet_valid, "the token is not valid before " + utc(*token.not_before) + " (" +
                                             std::to_string(*token.not_before - now) +
                                             " s from now; clock skew allowed " + std::to_string(skew) + " s)");
  return {};
}

boost::system::result<verified_jwt, jwt_error> validate_jwt(std::string_view token, const key_set& keys,
                                                            const jwt_policy& policy, std::int64_t now) {
  if (token.size() > policy.max_token_bytes)
    return fail(jwt_errc::malformed, "the bearer token is " + std::to_string(token.size()) +
                                         " bytes, over the limit of " + std::to_string(policy.max_token_bytes));
  auto jws = parse_compact(token);
  if (!jws) return fail(jwt_errc::malformed, "the bearer token is not a JWT: " + jws.error());

  // 2. The algorithm, before any key is touched.
  const auto alg = parse_algorithm(jws->alg);
  if (!alg || std::find(policy.algorithms.begin(), policy.algorithms.end(), *alg) == policy.algorithms.end()) {
    std::string why = jws->alg.empty() ? std::string("the token header names no algorithm")
                                       : "algorithm " + quote_claim(jws->alg) + " is not accepted";
    if (jws->alg == "none" || jws->alg == "None" || jws->alg == "NONE") why += ": unsigned tokens are never accepted";
    if (jws->alg.rfind("HS", 0) == 0)
      why += ": HMAC-signed tokens are never accepted (the issuer signs with its private key)";
    return fail(jwt_errc::algorithm_not_allowed, why + " (accepted: " + algorithms_text(policy) + ")");
  }
  if (jws->header.contains("crit"))
    return fail(jwt_errc::malformed, "the token header has critical extensions (\"crit\"), which are not supported");

  // 3. The key.
  const public_key* key = nullptr;
  if (!jws->kid.empty()) {
    key = keys.find(jws->kid);
    if (!key)
      return fail(jwt_errc::unknown_key, "signing key " + quote_claim(jws->kid) + " is not in the issuer's key set",
                  jws->kid);
    if (!key->suits(*alg))
      return fail(jwt_errc::key_mismatch, "signing key " + quote_claim(jws->kid) + " is an " + key->kty +
                                              (key->crv.empty() ? "" : " " + key->crv) +
                                              (key->alg.empty() ? "" : " " + key->alg) + " key, not one for " +
                                              std::string(to_string(*alg)));
  } else {
    for (const auto& k : keys.keys) {
      if (!k.suits(*alg)) continue;
      if (key)
        return fail(jwt_errc::unknown_key, "the token names no signing key (\"kid\") and the issuer has several");
      key = &k;
    }
    if (!key)
      return fail(jwt_errc::unknown_key, "the token names no signing key (\"kid\") and no key of the issuer suits " +
                                             std::string(to_string(*alg)));
  }

  // 4. The signature.
  if (!verify_signature(*alg, *key, jws->signing_input, jws->signature))
    return fail(jwt_errc::bad_signature, "the signature does not verify with the issuer's key " +
                                             quote_claim(key->kid) + " (" + std::string(to_string(*alg)) + ")");

  const auto& claims = jws->payload;
  verified_jwt out;
  out.kid = key->kid;
  // 5. Issuer.
  out.issuer = std::string(string_claim(claims, "iss"));
  if (out.issuer.empty()) return fail(jwt_errc::missing_claim, "the token has no issuer (\"iss\")");
  if (!contains(policy.issuers, out.issuer))
    return fail(jwt_errc::wrong_issuer, "issuer " + quote_claim(out.issuer) + " is not accepted");
  // 6. Audience.
  const auto* aud = claims.if_contains("aud");
  std::vector<std::string> auds;
  if (aud && aud->is_string()) auds.emplace_back(aud->get_string());
  if (aud && aud->is_array())
    for (const auto& a : aud->get_array())
      if (a.is_string()) auds.emplace_back(a.get_string());
  if (auds.empty()) return fail(jwt_errc::missing_claim, "the token has no audience (\"aud\")");
  if (std::none_of(auds.begin(), auds.end(), [&](const std::string& a) { return contains(policy.audiences, a); }))
    return fail(jwt_errc::wrong_audience, "audience " + list(auds) + " is not accepted");
  // 7. Lifetime.
  const auto exp = numeric_date(claims, "exp");
  if (!exp) return fail(jwt_errc::missing_claim, "the token has no expiry (\"exp\" as a number)");
  out.expires = *exp;
  if (claims.contains("nbf")) {
    out.not_before = numeric_date(claims, "nbf");
    if (!out.not_before) return fail(jwt_errc::missing_claim, "the token's \"nbf\" is not a number");
  }
  if (auto r = check_lifetime(out, policy, now); !r) return r.error();
  // 8. Role or scope.
  bool granted = false;
  if (const auto* roles = claims.if_contains("roles"); roles && roles->is_array())
    for (const auto& r : roles->get_array())
      granted = granted || (r.is_string() && contains(policy.roles, r.get_string()));
  if (!granted && !policy.scopes.empty())
    granted = scope_matches(string_claim(claims, "scp"), policy.scopes) ||
              scope_matches(string_claim(claims, "scope"), policy.scopes);
  if (!granted) {
    std::string want;
    if (!policy.roles.empty()) want += "roles " + list(policy.roles);
    if (!policy.scopes.empty()) want += std::string(want.empty() ? "" : " or ") + "scopes " + list(policy.scopes);
    return fail(jwt_errc::missing_role, "the token carries none of the required " + want);
  }
  out.subject = std::string(string_claim(claims, "sub"));
  for (const char* name : {"azp", "appid", "client_id"})
    if (out.client.empty()) out.client = std::string(string_claim(claims, name));
  return out;
}

}  // namespace iomt::net::jose
