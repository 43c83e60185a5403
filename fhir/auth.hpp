// Authorization for FHIR requests: none, a static bearer token, OAuth2 client credentials
// (RFC 6749 §4.4; Azure AD / Entra ID style token endpoint, `scope` or `resource`), SMART Backend
// Services (a private_key_jwt client assertion, token endpoint from .well-known/smart-configuration)
// or Azure workload identity (the federated token file as the client assertion); fhir/smart.hpp
// holds the sans-io parts of the last two.
//
// token_state is the sans-io core: when to refresh, and parsing the token response. The
// authenticator drives it over its own http_pool to the token endpoint. One authenticator per
// shard, used from that shard's io_context only; concurrent requests share one refresh.
#pragma once

#include "fhir/http_pool.hpp"
#include "mapping/error.hpp"
#include "net/jose/jwk.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace iomt::fhir {

enum class auth_kind { none, bearer, client_credentials, smart, workload_identity };

struct auth_options {
  auth_kind kind = auth_kind::none;
  std::string bearer_token;  // kind == bearer
  // kind == client_credentials (secrets come from the config / environment, never logged):
  std::string token_url;  // e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token
  std::string client_id;
  std::string client_secret;
  std::string scope;        // optional, e.g. "https://x.fhir.azurehealthcareapis.com/.default"
  std::string resource;     // optional (AAD v1 endpoints)
  pool_options token_pool;  // TLS settings, timeouts for the token endpoint
  // kind == smart (client_id, scope above; token_url empty: discovered from fhir_base_url):
  std::string fhir_base_url;
  std::string private_key_file;  // PEM; read at start and for every token request (a rotated Secret is used)
  std::string key_id;            // the assertion's kid; "" = the key's RFC 7638 thumbprint
  std::string algorithm;         // RS384 | ES384 (RS256 | ES256 where a server wants them); "" = from the key
  std::chrono::seconds assertion_lifetime{300};
  // kind == workload_identity (client_id, scope above; token_url empty: from authority_host and tenant_id):
  std::string tenant_id;
  std::string authority_host;        // "" = https://login.microsoftonline.com/
  std::string federated_token_file;  // read for every token request (the kubelet rotates it)
  // smart, workload_identity: allow an http:// token endpoint (tests only).
  bool allow_http = false;
  // Wall clock of client assertions (tests); empty: system_clock::now.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
};

// Sans-io token cache. Times are passed in so tests move the clock by hand.
class token_state {
public:
  using clock = std::chrono::steady_clock;

  // Form-encoded body of the token request (grant_type=client_credentials, ...).
  static std::string request_body(const auth_options& options);

  // Takes a token endpoint response. 2xx with access_token -> cached; refresh is due at 80% of
  // expires_in, the token is used until expires_in minus a small skew. Errors carry the
  // endpoint's error / error_description (AuthenticationFailedException).
  mapping::result<void> on_response(unsigned status, std::string_view body, clock::time_point now);

  // A token usable right now.
  bool valid(clock::time_point now) const noexcept { return !header_.empty() && now < expires_at_; }
  // Time to fetch a new token (none yet, or past the refresh point).
  bool refresh_due(clock::time_point now) const noexcept { return header_.empty() || now >= refresh_at_; }
  // "Bearer <token>".
  const std::string& authorization() const noexcept { return header_; }
  // Forget the token (after a 401 from the FHIR server).
  void invalidate() noexcept { header_.clear(); }

  clock::time_point refresh_at() const noexcept { return refresh_at_; }
  clock::time_point expires_at() const noexcept { return expires_at_; }

private:
  std::string header_;
  clock::time_point refresh_at_{};
  clock::time_point expires_at_{};
};

class authenticator {
public:
  // Fails on a bad token URL or TLS setup.
  static mapping::result<std::unique_ptr<authenticator>> create(boost::asio::any_io_executor ex, auth_options options);

  // The Authorization header value ("" for kind none). Fetches or refreshes the token when due:
  // one refresh at a time; callers arriving meanwhile use the current token while it is still
  // valid, otherwise they wait for that refresh.
  boost::asio::awaitable<mapping::result<std::string>> authorization();

  // After a 401: drop the cached token so the next call fetches a new one.
  void invalidate();

  auth_kind kind() const noexcept { return options_.kind; }
  std::uint64_t token_requests() const noexcept { return token_requests_; }
  // The token endpoint in use ("" while SMART discovery has not run yet).
  const std::string& token_url() const noexcept { return token_url_; }

private:
  authenticator(boost::asio::any_io_executor ex, auth_options options);
  boost::asio::awaitable<mapping::result<void>> refresh();
  // SMART: GET <fhir base>/.well-known/smart-configuration -> token endpoint.
  boost::asio::awaitable<mapping::result<void>> discover();
  // Parses the token URL, checks its scheme, opens the pool to it.
  mapping::result<void> use_token_url(std::string url);
  // The form body of one token request (a fresh assertion / the token file as it is now).
  mapping::result<std::string> request_body();

  boost::asio::any_io_executor ex_;
  auth_options options_;
  std::unique_ptr<http_pool> pool_;  // to the token endpoint
  std::string token_url_;
  std::string token_target_;
  std::optional<net::jose::signing_key> signing_key_;  // smart
  token_state state_;
  bool refreshing_ = false;
  boost::asio::steady_timer refresh_done_;  // waiters park here; cancelled when a refresh ends
  mapping::mapping_error last_error_;
  std::uint64_t token_requests_ = 0;
};

}  // namespace iomt::fhir
