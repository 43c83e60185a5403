#include "transport/http/bearer_auth.hpp"

#include <algorithm>

namespace iomt::transport::http {

namespace jose = net::jose;

namespace {

// A quoted-string of an auth-param (RFC 9110 §11.2): no '"' or '\' inside, ASCII only.
std::string quoted_param(std::string_view s) {
  std::string out;
  for (char c : s) out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '\'';
  return out;
}

}  // namespace

bool is_bearer(std::string_view a) noexcept {
  constexpr std::string_view scheme = "bearer ";
  if (a.size() < scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i]) return false;
  }
  return true;
}

bearer_verifier::bearer_verifier(jose::jwt_policy policy, bool sas_too)
    : policy_(std::move(policy)), sas_too_(sas_too) {}

void bearer_verifier::set_keys(std::shared_ptr<const jose::key_set> keys) {
  std::lock_guard lock(mutex_);
  keys_ = std::move(keys);
  load_error_.clear();
}

void bearer_verifier::set_load_error(std::string why) {
  std::lock_guard lock(mutex_);
  load_error_ = std::move(why);
}

std::shared_ptr<const jose::key_set> bearer_verifier::keys() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

std::string bearer_verifier::load_error() const {
  std::lock_guard lock(mutex_);
  return load_error_;
}

http_error bearer_verifier::refuse(const jose::jwt_error& e) const {
  ++stats_.refused;
  http_error out;
  const bool forbidden = e.code == jose::jwt_errc::missing_role;
  out.status = forbidden ? bhttp::status::forbidden : bhttp::status::unauthorized;
  out.message = "JWT " + std::string(jose::to_string(e.code)) + ": " + e.message;
  if (e.code == jose::jwt_errc::unknown_key) {
    out.message += "; the key set is being refreshed: retry";
    out.retry_after = "1";
  }
  out.www_authenticate = std::string("Bearer realm=\"iomtflow\", error=\"") +
                         (forbidden ? "insufficient_scope" : "invalid_token") + "\", error_description=\"" +
                         quoted_param(out.message) + "\"";
  return out;
}

boost::system::result<jose::verified_jwt, http_error> bearer_verifier::check(std::string_view authorization,
                                                                             std::int64_t now,
                                                                             bearer_cache* cache) const {
  if (authorization.empty() || !is_bearer(authorization)) {
    ++stats_.refused;
    http_error out;
    out.status = bhttp::status::unauthorized;
    out.message = authorization.empty()
                      ? "no Authorization header: send `Authorization: Bearer <access token>`"
                      : "the Authorization header is not a bearer token: send `Bearer <access token>`";
    if (sas_too_) out.message += " or a SharedAccessSignature";
    out.www_authenticate = "Bearer realm=\"iomtflow\"";  // RFC 6750 §3.1: no error code without credentials
    return out;
  }
  std::string_view token = authorization.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);

  auto keys = this->keys();
  if (!keys) {
    ++stats_.refused;
    http_error out;
    out.status = bhttp::status::service_unavailable;
    out.message = "the token issuer's signing keys are not loaded yet: retry later";
    out.retry_after = "5";
    return out;
  }
  if (cache && cache->keys == keys && cache->authorization == authorization) {
    if (auto r = jose::check_lifetime(cache->token, policy_, now); !r) return refuse(r.error());
    ++stats_.accepted;
    return cache->token;
  }
  auto r = jose::validate_jwt(token, *keys, policy_, now);
  if (!r) {
    if (r.error().code == jose::jwt_errc::unknown_key) {
      ++stats_.unknown_key;
      if (on_unknown_key_) on_unknown_key_();
    }
    return refuse(r.error());
  }
  ++stats_.accepted;
  if (cache) {
    cache->authorization = std::string(authorization);
    cache->token = *r;
    cache->keys = std::move(keys);
  }
  return *r;
}

boost::system::result<void, http_error> bearer_authenticator::authenticate(std::string_view authorization,
                                                                           const eventhub_route&, std::int64_t now_unix,
                                                                           auth_cache* cache) const {
  auto r = verifier_->check(authorization, now_unix, cache ? &cache->bearer : nullptr);
  if (!r) return r.error();
  return {};
}

refresh_schedule::clock::time_point refresh_schedule::next() const noexcept {
  if (!started_) return clock::time_point::min();
  if (failures_ > 0) {
    auto backoff = min_interval_;
    for (int i = 1; i < failures_ && backoff < max_backoff_; ++i) backoff *= 2;
    return last_ + std::min(backoff, max_backoff_);
  }
  if (requested_ || !loaded_) return last_ + min_interval_;
  return last_ok_ + periodic_;
}

void refresh_schedule::fetched(clock::time_point now, bool ok) noexcept {
  started_ = true;
  last_ = now;
  requested_ = false;
  if (ok) {
    loaded_ = true;
    failures_ = 0;
    last_ok_ = now;
  } else {
    ++failures_;
  }
}

}  // namespace iomt::transport::http
