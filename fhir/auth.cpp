#include "fhir/auth.hpp"

#include "fhir/errors.hpp"
#include "fhir/retry.hpp"
#include "fhir/smart.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <random>

namespace iomt::fhir {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string_view str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

// expires_in: a number, or a string of digits (Azure AD v1 endpoints send strings). -1 if absent.
double expires_in_seconds(const boost::json::object& o) {
  const auto* v = o.if_contains("expires_in");
  if (!v) return -1;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  if (v->is_string()) {
    std::string_view s = v->get_string();
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size()) return static_cast<double>(n);
  }
  return -1;
}

// mapping_error is an aggregate whose first member is a string, so a string does not convert to
// result<std::string> implicitly.
mapping::result<std::string> header_value(std::string s) {
  return mapping::result<std::string>(boost::system::in_place_value, std::move(s));
}

}  // namespace

std::string token_state::request_body(const auth_options& options) {
  std::string body;
  append_form_field(body, "grant_type", "client_credentials");
  append_form_field(body, "client_id", options.client_id);
  append_form_field(body, "client_secret", options.client_secret);
  if (!options.scope.empty()) append_form_field(body, "scope", options.scope);
  if (!options.resource.empty()) append_form_field(body, "resource", options.resource);
  return body;
}

mapping::result<void> token_state::on_response(unsigned status, std::string_view body, clock::time_point now) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  const boost::json::object* o = ec ? nullptr : v.if_object();
  if (status < 200 || status > 299) {
    std::string why = "the token endpoint answered " + status_text(status);
    if (o && !str(*o, "error").empty()) {
      why += ": ";
      why += str(*o, "error");
      if (!str(*o, "error_description").empty()) {
        why += ": ";
        why += str(*o, "error_description");
      }
    }
    // 4xx: the endpoint refuses our credentials (an operator must fix them); 408/429/5xx heal.
    const auto cls = status_class(status) == mapping::failure_class::permanent ? mapping::failure_class::blocked
                                                                               : mapping::failure_class::transient;
    return authentication_error(why, cls);
  }
  if (!o || str(*o, "access_token").empty())
    return authentication_error("the token endpoint's response has no access_token", mapping::failure_class::blocked);
  double ei = expires_in_seconds(*o);
  if (ei <= 0) ei = 300;  // unknown lifetime: refresh soon rather than use a dead token
  const auto lifetime = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(ei));
  const auto skew = std::min<clock::duration>(30s, lifetime / 10);
  header_ = "Bearer ";
  header_ += str(*o, "access_token");
  refresh_at_ = now + lifetime * 4 / 5;
  expires_at_ = now + lifetime - skew;
  return {};
}

authenticator::authenticator(asio::any_io_executor ex, auth_options options)
    : ex_(std::move(ex)), options_(std::move(options)), refresh_done_(ex_) {}

mapping::result<std::unique_ptr<authenticator>> authenticator::create(asio::any_io_executor ex, auth_options options) {
  std::unique_ptr<authenticator> a(new authenticator(ex, std::move(options)));
  auto& o = a->options_;
  o.token_pool.max_connections = 1;
  switch (o.kind) {
    case auth_kind::none:
      return a;
    case auth_kind::bearer:
      if (o.bearer_token.empty()) return authentication_error("auth kind 'bearer' needs a token");
      return a;
    case auth_kind::client_credentials: {
      if (o.client_id.empty() || o.client_secret.empty())
        return authentication_error("OAuth2 client credentials need client_id and client_secret");
      auto origin = endpoint::parse(o.token_url);
      if (!origin) return authentication_error("token_url: " + origin.error().message);
      a->token_url_ = o.token_url;
      a->token_target_ = origin->base_path.empty() ? "/" : origin->base_path;
      if (auto q = o.token_url.find('?'); q != std::string::npos) a->token_target_ += o.token_url.substr(q);
      auto pool = http_pool::create(ex, std::move(*origin), o.token_pool);
      if (!pool) return authentication_error(pool.error().message);
      a->pool_ = std::move(*pool);
      return a;
    }
    case auth_kind::smart: {
      if (o.client_id.empty()) return authentication_error("SMART Backend Services need client_id");
      std::optional<net::jose::algorithm> alg;
      if (!o.algorithm.empty()) {
        alg = net::jose::parse_algorithm(o.algorithm);
        if (!alg)
          return authentication_error("algorithm '" + o.algorithm + "' is not one of RS384, ES384, RS256, ES256");
      }
      auto key = net::jose::load_signing_key_file(o.private_key_file, alg, o.key_id);
      if (!key) return authentication_error("private key: " + key.error(), mapping::failure_class::blocked);
      a->signing_key_ = std::move(*key);
      if (o.token_url.empty()) {
        if (o.fhir_base_url.empty())
          return authentication_error("SMART Backend Services need the FHIR base URL or token_url");
        return a;  // discovered on the first token request
      }
      if (auto r = a->use_token_url(o.token_url); !r) return r.error();
      return a;
    }
    case auth_kind::workload_identity: {
      if (o.client_id.empty()) return authentication_error("workload identity needs a client id (AZURE_CLIENT_ID)");
      if (o.federated_token_file.empty())
        return authentication_error("workload identity needs the federated token file (AZURE_FEDERATED_TOKEN_FILE)");
      if (o.token_url.empty()) {
        if (o.tenant_id.empty()) return authentication_error("workload identity needs a tenant id (AZURE_TENANT_ID)");
        o.token_url = entra_token_url(o.authority_host, o.tenant_id);
      }
      if (auto r = a->use_token_url(o.token_url); !r) return r.error();
      return a;
    }
  }
  return a;
}

mapping::result<void> authenticator::use_token_url(std::string url) {
  auto origin = endpoint::parse(url);
  if (!origin)
    return authentication_error("token endpoint '" + url + "': " + origin.error().message,
                                mapping::failure_class::blocked);
  if (!origin->tls && !options_.allow_http)
    return authentication_error("token endpoint '" + url +
                                    "' is not https: the assertion and the access token must travel over TLS "
                                    "(for tests only: fhir.auth.allow_insecure_token_url)",
                                mapping::failure_class::blocked);
  token_target_ = origin->base_path.empty() ? "/" : origin->base_path;
  if (auto q = url.find('?'); q != std::string::npos) token_target_ += url.substr(q);
  auto pool = http_pool::create(ex_, std::move(*origin), options_.token_pool);
  if (!pool) return authentication_error(pool.error().message, mapping::failure_class::blocked);
  pool_ = std::move(*pool);
  token_url_ = std::move(url);
  return {};
}

mapping::result<std::string> authenticator::request_body() {
  auto value = [](std::string s) { return mapping::result<std::string>(boost::system::in_place_value, std::move(s)); };
  switch (options_.kind) {
    case auth_kind::smart: {
      // The key file is read again: a rotated Secret is used from the next token on; a file that
      // does not parse (mid-update) leaves the previous key in use.
      std::optional<net::jose::algorithm> alg;
      if (!options_.algorithm.empty()) alg = net::jose::parse_algorithm(options_.algorithm);
      if (auto key = net::jose::load_signing_key_file(options_.private_key_file, alg, options_.key_id))
        signing_key_ = std::move(*key);
      const auto now = options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now();
      auto assertion = smart_client_assertion(*signing_key_, options_.client_id, token_url_, now,
                                              options_.assertion_lifetime, new_jti());
      if (!assertion) return assertion.error();
      return value(smart_token_request(*assertion, options_.scope));
    }
    case auth_kind::workload_identity: {
      auto token = read_federated_token(options_.federated_token_file);
      if (!token) return token.error();
      return value(workload_identity_token_request(options_.client_id, *token, options_.scope));
    }
    default:
      return value(token_state::request_body(options_));
  }
}

asio::awaitable<mapping::result<void>> authenticator::discover() {
  const std::string url = smart_configuration_url(options_.fhir_base_url);
  auto origin = endpoint::parse(url);
  if (!origin)
    co_return authentication_error("FHIR base URL: " + origin.error().message, mapping::failure_class::blocked);
  const std::string target = origin->base_path;
  auto pool = http_pool::create(ex_, std::move(*origin), options_.token_pool);
  if (!pool) co_return authentication_error(pool.error().message, mapping::failure_class::blocked);
  const retry_policy policy(retry_options{250ms, 2'000ms, 3, 5'000ms});
  std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  request_headers headers;
  headers.accept = "application/json";
  for (int attempt = 1;; ++attempt) {
    auto r = co_await (*pool)->request(boost::beast::http::verb::get, target, {}, headers);
    retry_decision d;
    if (!r) {
      d = policy.on_error(attempt, r.error().ec, r.error().message, jitter(rng));
      if (d.action != retry_action::retry)
        co_return authentication_error("SMART discovery (" + url + "): " + d.reason,
                                       is_permanent_network_error(r.error().ec) ? mapping::failure_class::blocked
                                                                                : mapping::failure_class::transient);
    } else if (r->status == 200) {
      auto endpoint_url = smart_token_endpoint(r->body, signing_key_->alg);
      if (!endpoint_url) co_return endpoint_url.error();
      co_return use_token_url(std::move(*endpoint_url));
    } else {
      d = policy.on_response(attempt, r->status, r->retry_after, {}, std::chrono::system_clock::now(), jitter(rng));
      if (d.action != retry_action::retry) {
        const auto cls = status_class(r->status) == mapping::failure_class::permanent
                             ? mapping::failure_class::blocked
                             : mapping::failure_class::transient;
        co_return authentication_error("SMART discovery: " + url + " answered " + status_text(r->status) +
                                           (r->status == 404 ? " (the server publishes no SMART configuration: set "
                                                               "fhir.auth.token_url)"
                                                             : ""),
                                       cls);
      }
    }
    asio::steady_timer t(ex_, d.delay);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void authenticator::invalidate() { state_.invalidate(); }

asio::awaitable<mapping::result<void>> authenticator::refresh() {
  // A few quick tries for transient failures of the token endpoint (network, 429, 5xx).
  const retry_policy policy(retry_options{250ms, 2'000ms, 3, 5'000ms});
  std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  request_headers headers;
  headers.content_type = "application/x-www-form-urlencoded";
  headers.accept = "application/json";
  if (!pool_) {
    auto discovered = co_await discover();  // SMART without a configured token_url
    if (!discovered) co_return discovered.error();
  }
  for (int attempt = 1;; ++attempt) {
    // Per attempt: a SMART assertion is used once (fresh jti); the federated token file is read as
    // it is now (rotated by the kubelet).
    auto body = request_body();
    if (!body) co_return body.error();
    ++token_requests_;
    auto r = co_await pool_->request(boost::beast::http::verb::post, token_target_, *body, headers);
    retry_decision d;
    if (!r) {
      d = policy.on_error(attempt, r.error().ec, r.error().message, jitter(rng));
      if (d.action != retry_action::retry)
        co_return authentication_error(d.reason, is_permanent_network_error(r.error().ec)
                                                     ? mapping::failure_class::blocked
                                                     : mapping::failure_class::transient);
    } else {
      if (r->status >= 200 && r->status <= 299)
        co_return state_.on_response(r->status, r->body, token_state::clock::now());
      d = policy.on_response(attempt, r->status, r->retry_after, {}, std::chrono::system_clock::now(), jitter(rng));
      if (d.action != retry_action::retry) co_return state_.on_response(r->status, r->body, token_state::clock::now());
    }
    asio::steady_timer t(ex_, d.delay);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<mapping::result<std::string>> authenticator::authorization() {
  switch (options_.kind) {
    case auth_kind::none:
      co_return header_value({});
    case auth_kind::bearer:
      co_return header_value("Bearer " + options_.bearer_token);
    case auth_kind::client_credentials:
    case auth_kind::smart:
    case auth_kind::workload_identity:
      break;
  }
  const auto now = token_state::clock::now();
  if (!state_.refresh_due(now)) co_return header_value(state_.authorization());
  if (refreshing_) {
    if (state_.valid(now)) co_return header_value(state_.authorization());
    while (refreshing_) co_await refresh_done_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (state_.valid(token_state::clock::now())) co_return header_value(state_.authorization());
    co_return last_error_;
  }
  refreshing_ = true;
  refresh_done_.expires_at(asio::steady_timer::time_point::max());
  auto r = co_await refresh();
  refreshing_ = false;
  refresh_done_.cancel();  // wakes every waiter
  if (!r) {
    last_error_ = r.error();
    if (state_.valid(token_state::clock::now()))
      co_return header_value(state_.authorization());  // refresh early, keep going
    co_return r.error();
  }
  co_return header_value(state_.authorization());
}

}  // namespace iomt::fhir
