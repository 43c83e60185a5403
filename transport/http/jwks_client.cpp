#include "transport/http/jwks_client.hpp"

#include "net/http_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>

namespace iomt::transport::http {

namespace asio = boost::asio;
namespace jose = net::jose;

namespace {
using text_result = boost::system::result<std::string, std::string>;
text_result failed(std::string why) { return text_result(boost::system::in_place_error, std::move(why)); }
text_result done(std::string text) { return text_result(boost::system::in_place_value, std::move(text)); }
}  // namespace

std::string check_jwks_url(const std::string& url, bool allow_http, const char* what) {
  auto ep = net::endpoint::parse(url);
  if (!ep) return std::string(what) + " '" + url + "' is not an http(s) URL: " + ep.error().message;
  if (!ep->tls && !allow_http)
    return std::string(what) + " '" + url +
           "' is not https: the signing keys must come over TLS (for tests only: "
           "source.http.jwt.allow_insecure_issuer_url)";
  return {};
}

jwks_client::jwks_client(asio::any_io_executor ex, jwks_options options, std::shared_ptr<bearer_verifier> target)
    : ex_(std::move(ex)),
      options_(std::move(options)),
      target_(std::move(target)),
      schedule_(options_.refresh_interval, options_.min_refresh_interval, options_.max_backoff),
      timer_(ex_) {}

jwks_client::~jwks_client() = default;

std::shared_ptr<jwks_client> jwks_client::create(asio::any_io_executor ex, jwks_options options,
                                                 std::shared_ptr<bearer_verifier> target) {
  std::shared_ptr<jwks_client> c(new jwks_client(std::move(ex), std::move(options), std::move(target)));
  std::weak_ptr<jwks_client> weak = c;
  c->target_->on_unknown_key([weak] {
    if (auto self = weak.lock()) self->request_refresh();
  });
  return c;
}

void jwks_client::log(int level, const std::string& message, const std::string& detail) const {
  if (options_.log) options_.log(level, message, detail);
}

void jwks_client::start() {
  asio::co_spawn(
      ex_, [self = shared_from_this()]() { return self->run(); }, asio::detached);
}

void jwks_client::request_refresh() {
  asio::post(ex_, [self = shared_from_this()] {
    if (self->stopping_ || self->schedule_.requested()) return;
    self->schedule_.request();
    self->timer_.cancel();  // the loop wakes and waits for the (rate-limited) due time
  });
}

void jwks_client::stop() {
  asio::post(ex_, [self = shared_from_this()] {
    self->stopping_ = true;
    self->timer_.cancel();
    for (auto& [origin, pool] : self->pools_) pool->close_idle();
  });
}

asio::awaitable<void> jwks_client::run() {
  using clock = refresh_schedule::clock;
  while (!stopping_) {
    const auto due = schedule_.next();
    if (due > clock::now()) {
      timer_.expires_at(due);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;  // due, or woken by a request or stop: decide again
    }
    auto r = co_await fetch();
    ++fetches_;
    schedule_.fetched(clock::now(), r.has_value());
    if (r) {
      log(0, "token issuer's signing keys loaded", *r);
    } else {
      ++failures_;
      target_->set_load_error(r.error());
      log(1, "token issuer's signing keys could not be fetched (the previous keys, if any, stay in use)", r.error());
    }
  }
}

asio::awaitable<boost::system::result<std::string, std::string>> jwks_client::get(const std::string& url) {
  auto ep = net::endpoint::parse(url);
  if (!ep) co_return failed("'" + url + "': " + ep.error().message);
  std::string target = ep->base_path.empty() ? "/" : ep->base_path;
  if (auto q = url.find('?'); q != std::string::npos) target += url.substr(q, url.find('#', q) - q);
  const std::string origin = (ep->tls ? "https://" : "http://") + ep->host_header;
  auto& pool = pools_[origin];
  if (!pool) {
    net::pool_options po;
    po.max_connections = 1;
    po.connect_timeout = options_.timeout;
    po.request_timeout = options_.timeout;
    po.max_response_bytes = 1u << 20;
    po.tls = options_.tls;
    auto created = net::http_pool::create(ex_, std::move(*ep), po);
    if (!created) {
      pools_.erase(origin);
      co_return failed(created.error().message);
    }
    pool = std::move(*created);
  }
  const std::array<net::header_field, 1> headers{{{"Accept", "application/json"}}};
  auto res = co_await pool->request(boost::beast::http::verb::get, target, {}, headers);
  if (!res) co_return failed("GET " + url + ": " + res.error().message);
  if (res->result_int() != 200)
    co_return failed("GET " + url + " answered " + std::to_string(res->result_int()) + " " +
                     std::string(res->reason()));
  co_return done(std::move(res->body()));
}

asio::awaitable<boost::system::result<std::string, std::string>> jwks_client::fetch() {
  std::string jwks_uri = options_.jwks_uri;
  if (jwks_uri.empty()) {
    std::string issuer = options_.issuer;
    while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
    const std::string discovery = issuer + "/.well-known/openid-configuration";
    auto doc = co_await get(discovery);
    if (!doc) co_return failed(doc.error());
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(*doc, ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (!o) co_return failed(discovery + ": not a JSON object");
    const auto* iss = o->if_contains("issuer");
    const auto* uri = o->if_contains("jwks_uri");
    // OpenID Connect Discovery §4.3: the issuer in the document must be the one asked for.
    const auto& accepted = target_->policy().issuers;
    if (!iss || !iss->is_string() ||
        std::find(accepted.begin(), accepted.end(), std::string_view(iss->get_string())) == accepted.end())
      co_return failed(discovery + ": its \"issuer\" is not an accepted issuer (OpenID Connect Discovery §4.3)");
    if (!uri || !uri->is_string()) co_return failed(discovery + ": no \"jwks_uri\"");
    jwks_uri = std::string(uri->get_string());
    if (auto why = check_jwks_url(jwks_uri, options_.allow_http, "jwks_uri"); !why.empty())
      co_return failed(discovery + ": " + why);
  }
  auto body = co_await get(jwks_uri);
  if (!body) co_return failed(body.error());
  auto set = jose::parse_jwks(*body);
  if (!set) co_return failed(jwks_uri + ": " + set.error());
  std::string detail = std::to_string(set->keys.size()) + " key(s): " + set->kids();
  for (const auto& s : set->skipped) detail += "; skipped " + s;
  if (set->keys.empty()) co_return failed(jwks_uri + ": no usable signing key (" + detail + ")");
  target_->set_keys(std::make_shared<const jose::key_set>(std::move(*set)));
  co_return done(detail);
}

}  // namespace iomt::transport::http
