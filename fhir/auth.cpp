#include "fhir/auth.hpp"

#include "fhir/errors.hpp"
#include "fhir/retry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/alnum_chars.hpp>
#include <boost/url/grammar/lut_chars.hpp>

#include <charconv>
#include <random>

namespace iomt::fhir {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// application/x-www-form-urlencoded (WHATWG URL §5.2 serializer): the urlencoded byte set leaves
// ASCII alphanumerics and *-._ as they are, a space becomes '+'.
void form_append(std::string& out, std::string_view name, std::string_view value) {
  namespace grammar = boost::urls::grammar;
  static constexpr auto form_chars = grammar::lut_chars(grammar::alnum_chars) + grammar::lut_chars("*-._");
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;
  if (!out.empty()) out += '&';
  out += boost::urls::encode(name, form_chars, opt);
  out += '=';
  out += boost::urls::encode(value, form_chars, opt);
}

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
  form_append(body, "grant_type", "client_credentials");
  form_append(body, "client_id", options.client_id);
  form_append(body, "client_secret", options.client_secret);
  if (!options.scope.empty()) form_append(body, "scope", options.scope);
  if (!options.resource.empty()) form_append(body, "resource", options.resource);
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
  if (a->options_.kind == auth_kind::bearer && a->options_.bearer_token.empty())
    return authentication_error("auth kind 'bearer' needs a token");
  if (a->options_.kind != auth_kind::client_credentials) return a;
  if (a->options_.client_id.empty() || a->options_.client_secret.empty())
    return authentication_error("OAuth2 client credentials need client_id and client_secret");
  auto origin = endpoint::parse(a->options_.token_url);
  if (!origin) return authentication_error("token_url: " + origin.error().message);
  a->token_target_ = origin->base_path.empty() ? "/" : origin->base_path;
  if (auto q = a->options_.token_url.find('?'); q != std::string::npos)
    a->token_target_ += a->options_.token_url.substr(q);
  a->options_.token_pool.max_connections = 1;
  auto pool = http_pool::create(ex, std::move(*origin), a->options_.token_pool);
  if (!pool) return authentication_error(pool.error().message);
  a->pool_ = std::move(*pool);
  return a;
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
  const std::string body = token_state::request_body(options_);
  for (int attempt = 1;; ++attempt) {
    ++token_requests_;
    auto r = co_await pool_->request(boost::beast::http::verb::post, token_target_, body, headers);
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
