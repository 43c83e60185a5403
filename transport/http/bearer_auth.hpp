// `auth: jwt` on ingest: OAuth2 / OpenID Connect access tokens (Microsoft Entra ID and any OIDC
// issuer) in `Authorization: Bearer <JWT>` (RFC 6750), checked against the issuer's JWK Set by
// net/jose/jwt.hpp. Sans-io: the key set is handed in by the driver (jwks_client.hpp), time by
// the caller.
//
// Answers (RFC 6750 §3): a missing or invalid token -> 401 with
//   WWW-Authenticate: Bearer realm="iomtflow", error="invalid_token", error_description="..."
// naming the failed check (never the token); a valid token without the required role or scope
// -> 403 with error="insufficient_scope". Keys not loaded yet (issuer unreachable since start)
// -> 503 + Retry-After.
//
// Unknown `kid` (the issuer rotated its keys): the request is answered at once with 401,
// error_description "... the key set is being refreshed: retry" and Retry-After: 1, and the driver
// is asked to refresh (rate-limited, refresh_schedule below). Chosen over holding the request until
// the refresh ends: the ingest threads never wait on the issuer, and a client that retries (as
// Event Hubs clients do on 401 with a fresh token) gets in once the refresh has landed.
#pragma once

#include "net/jose/jwt.hpp"
#include "transport/http/http_types.hpp"
#include "transport/http/ingest_auth.hpp"

#include <boost/system/result.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace iomt::transport::http {

// The last bearer token a connection validated (part of the connection's auth_cache): a keep-alive
// client pays one signature check per token.
using bearer_cache = auth_cache::bearer_entry;

struct bearer_stats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> unknown_key{0};  // refusals that asked for a key set refresh
};

// Thread-safe: any number of connections check tokens while the driver replaces the key set.
class bearer_verifier {
public:
  // `sas_too`: SAS tokens are accepted as well (auth: sas, jwt); only changes the wording of the
  // answer to a request without Authorization.
  explicit bearer_verifier(net::jose::jwt_policy policy, bool sas_too = false);

  const net::jose::jwt_policy& policy() const noexcept { return policy_; }

  // The driver's side. set_keys replaces the key set (and clears the load error).
  void set_keys(std::shared_ptr<const net::jose::key_set> keys);
  void set_load_error(std::string why);
  // Called (from any thread, possibly often) when a token names an unknown key. Set before use.
  void on_unknown_key(std::function<void()> f) { on_unknown_key_ = std::move(f); }

  std::shared_ptr<const net::jose::key_set> keys() const;
  bool keys_loaded() const { return keys() != nullptr; }
  std::string load_error() const;

  // Checks an Authorization header value ("Bearer <JWT>", scheme case-insensitive) at `now_unix`.
  // `cache`: the connection's last validated token, or nullptr.
  boost::system::result<net::jose::verified_jwt, http_error> check(std::string_view authorization,
                                                                   std::int64_t now_unix,
                                                                   bearer_cache* cache = nullptr) const;

  const bearer_stats& stats() const noexcept { return stats_; }

private:
  http_error refuse(const net::jose::jwt_error& e) const;

  net::jose::jwt_policy policy_;
  bool sas_too_;
  std::function<void()> on_unknown_key_;
  mutable std::mutex mutex_;  // guards keys_ and load_error_
  std::shared_ptr<const net::jose::key_set> keys_;
  std::string load_error_;
  mutable bearer_stats stats_;
};

// `auth: jwt` as one of eventhub_ingest's authenticators (ingest_auth.hpp), next to
// sas_authenticator: reads "Bearer ..." headers, and every request when it is the only one.
class bearer_authenticator final : public ingest_authenticator {
public:
  explicit bearer_authenticator(std::shared_ptr<const bearer_verifier> verifier) : verifier_(std::move(verifier)) {}
  std::string_view scheme() const noexcept override { return "Bearer"; }
  std::string challenge() const override { return "Bearer realm=\"iomtflow\""; }
  boost::system::result<void, http_error> authenticate(std::string_view authorization, const eventhub_route& route,
                                                       std::int64_t now_unix, auth_cache* cache) const override;

private:
  std::shared_ptr<const bearer_verifier> verifier_;
};

// Is this Authorization value a bearer token ("Bearer ", any case)?
bool is_bearer(std::string_view authorization) noexcept;

// When the JWK Set is fetched (sans-io; the driver passes the time):
//   - at start, then every `periodic` after a success;
//   - on request (unknown kid), but at most once per `min_interval` since the last fetch: a request
//     within it is remembered and served when the interval ends (a storm of tokens with made-up key
//     ids costs one fetch per interval);
//   - after a failure, again after min_interval, doubled per consecutive failure up to `max_backoff`.
class refresh_schedule {
public:
  using clock = std::chrono::steady_clock;
  refresh_schedule(clock::duration periodic, clock::duration min_interval, clock::duration max_backoff)
      : periodic_(periodic), min_interval_(min_interval), max_backoff_(max_backoff) {}

  void request() noexcept { requested_ = true; }
  // The next fetch is due at this time (now or earlier: fetch now).
  clock::time_point next() const noexcept;
  void fetched(clock::time_point now, bool ok) noexcept;

  bool requested() const noexcept { return requested_; }
  int failures() const noexcept { return failures_; }

private:
  clock::duration periodic_, min_interval_, max_backoff_;
  bool started_ = false;
  bool loaded_ = false;
  bool requested_ = false;
  int failures_ = 0;
  clock::time_point last_{};
  clock::time_point last_ok_{};
};

}  // namespace iomt::transport::http
