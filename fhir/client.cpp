#include "fhir/client.hpp"

#include "fhir/errors.hpp"
#include "fhir/search.hpp"
#include "mapping/json/writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace iomt::fhir {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// W/"abc" or "abc" -> abc
std::string_view version_of_etag(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::optional<boost::json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

mapping::mapping_error response_error(http::verb method, std::string_view path, const http_response& r) {
  return status_error(describe_request(method, path), r.status, failure_cause(r));
}

// A server that answers 2xx with something unreadable is failing, not the event (issue 12).
mapping::mapping_error unreadable(http::verb method, std::string_view path, std::string_view why) {
  return client_error(describe_request(method, path), why, mapping::failure_class::transient);
}

}  // namespace

std::string failure_cause(const http_response& r) {
  std::string cause = status_text(r.status);
  if (std::string oo = operation_outcome_text(r.body); !oo.empty()) cause += ": " + oo;
  const bool transient = r.status == 408 || r.status == 429 || (r.status >= 500 && r.status != 501 && r.status != 505);
  if (transient && r.attempts > 1) cause += " (gave up after " + std::to_string(r.attempts) + " attempts)";
  return cause;
}

std::string to_json(const boost::json::value& resource) {
  std::string out;
  json::write(resource, out);
  return out;
}

std::string to_json(const boost::json::object& resource) { return to_json(boost::json::value(resource)); }

std::string describe_request(http::verb method, std::string_view path) {
  const auto m = http::to_string(method);
  std::string out(m.data(), m.size());
  out += ' ';
  out += path.empty() ? std::string_view("[base]") : path;
  return out;
}

client::client(asio::any_io_executor ex, client_options options, std::unique_ptr<http_pool> pool,
               std::unique_ptr<authenticator> auth)
    : ex_(std::move(ex)),
      options_(std::move(options)),
      pool_(std::move(pool)),
      auth_(std::move(auth)),
      policy_(options_.retry),
      rng_(std::random_device{}()) {}

mapping::result<std::unique_ptr<client>> client::create(asio::any_io_executor ex, client_options options) {
  auto origin = endpoint::parse(options.base_url);
  if (!origin) return network_error("FHIR base URL", origin.error().message);
  auto pool = http_pool::create(ex, std::move(*origin), options.pool);
  if (!pool) return network_error("FHIR connection setup", pool.error().message);
  auto auth = authenticator::create(ex, options.auth);
  if (!auth) return auth.error();
  return std::unique_ptr<client>(new client(ex, std::move(options), std::move(*pool), std::move(*auth)));
}

std::string client::target_of(std::string_view path) const {
  if (path.starts_with('/')) return std::string(path);
  std::string t = pool_->origin().base_path;
  if (!path.empty() || t.empty()) t += '/';
  t += path;
  return t;
}

asio::awaitable<mapping::result<http_response>> client::send(http::verb method, std::string_view path,
                                                             std::string_view body, send_options options) {
  const std::string target = target_of(path);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  bool reauthorized = false;
  for (int attempt = 1;; ++attempt) {
    auto authorization = co_await auth_->authorization();
    if (!authorization) co_return authorization.error();
    request_headers headers;
    headers.authorization = *authorization;
    headers.if_match = options.if_match;
    headers.prefer = options.prefer;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = co_await pool_->request(method, target, body, headers);
    const auto latency = std::chrono::steady_clock::now() - t0;
    ++stats_.requests;
    if (method == http::verb::get) ++stats_.gets;
    if (method == http::verb::put) ++stats_.puts;
    if (method == http::verb::post) ++stats_.posts;
    if (observer_) observer_(method, r ? r->status : 0u, latency);

    retry_decision d;
    if (!r) {
      d = policy_.on_error(attempt, r.error().ec, r.error().message, jitter(rng_));
      if (d.action != retry_action::retry)
        co_return network_error(describe_request(method, path), d.reason,
                                is_permanent_network_error(r.error().ec) ? mapping::failure_class::blocked
                                                                         : mapping::failure_class::transient);
    } else {
      const auth_kind kind = auth_->kind();
      const bool fetched_token =
          kind == auth_kind::client_credentials || kind == auth_kind::smart || kind == auth_kind::workload_identity;
      if (r->status == 401 && fetched_token && !reauthorized) {
        auth_->invalidate();  // expired or revoked token: fetch a new one, once
        reauthorized = true;
        continue;
      }
      if (r->status == 429 || r->status == 503) ++stats_.throttled;
      if (r->status == 409 || r->status == 412) ++stats_.conflicts;
      d = policy_.on_response(attempt, r->status, r->retry_after, r->body, std::chrono::system_clock::now(),
                              jitter(rng_));
      if (d.action != retry_action::retry) {
        r->attempts = attempt;
        co_return std::move(*r);
      }
    }
    ++stats_.retries;
    asio::steady_timer timer(ex_, d.delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<mapping::result<std::optional<boost::json::object>>> client::read(std::string_view type,
                                                                                  std::string_view id) {
  std::string path(type);
  path += '/';
  path += id;
  auto r = co_await send(http::verb::get, path);
  if (!r) co_return r.error();
  if (r->status == 404 || r->status == 410) co_return std::optional<boost::json::object>{};
  if (r->status != 200) co_return response_error(http::verb::get, path, *r);
  auto o = parse_object(r->body);
  if (!o) co_return unreadable(http::verb::get, path, "the response is not a JSON object");
  co_return std::move(o);
}

asio::awaitable<mapping::result<std::vector<boost::json::object>>> client::search(std::string_view query) {
  std::vector<boost::json::object> out;
  std::string target(query);
  for (std::size_t page = 0; page < options_.max_search_pages; ++page) {
    auto r = co_await send(http::verb::get, target);
    if (!r) co_return r.error();
    if (r->status != 200) co_return response_error(http::verb::get, target, *r);
    auto p = parse_search_bundle(r->body);
    if (!p) co_return unreadable(http::verb::get, target, p.error().message);
    const bool empty_page = p->resources.empty();
    for (auto& res : p->resources) out.push_back(std::move(res));
    if (p->next) {
      if (empty_page) break;  // a server that keeps linking empty pages
      target = target_of_url(*p->next);
      continue;
    }
    // No next link (the test server never sends one): page with _offset while total says more.
    if (p->total && *p->total > static_cast<std::int64_t>(out.size()) && !empty_page) {
      target = std::string(query) + (query.find('?') == std::string_view::npos ? "?" : "&") +
               "_offset=" + std::to_string(out.size());
      continue;
    }
    co_return out;
  }
  co_return client_error(describe_request(http::verb::get, query),
                         "more than " + std::to_string(options_.max_search_pages) + " result pages");
}

asio::awaitable<mapping::result<std::vector<boost::json::object>>> client::search_identifier(std::string_view type,
                                                                                             std::string_view system,
                                                                                             std::string_view value) {
  const std::string query = identifier_query(type, system, value);
  auto found = co_await search(query);
  co_return found;
}

asio::awaitable<mapping::result<put_result>> client::put(boost::json::object resource,
                                                         std::string_view if_match_version) {
  const std::string type(string_member(resource, "resourceType"));
  const std::string_view id = string_member(resource, "id");
  if (type.empty() || id.empty())
    co_return mapping::mapping_error{"ArgumentException", "PUT needs a resource with resourceType and id"};
  std::string path(type);
  path += '/';
  path += id;
  boost::json::value sent(std::move(resource));  // moved, not copied
  const std::string body = to_json(sent);
  const std::string etag = if_match_version.empty() ? std::string() : weak_etag(if_match_version);
  auto r = co_await send(http::verb::put, path, body, {etag, {}});
  if (!r) co_return r.error();
  put_result out;
  out.status = r->status;
  // 409 / 412, or the version we matched against is gone (404 / 410 on an If-Match PUT): the
  // caller re-reads (iomt-spec §12 step 5) and takes the create path if it no longer exists.
  if (r->status == 409 || r->status == 412 || (!etag.empty() && (r->status == 404 || r->status == 410))) {
    out.conflict = true;
    co_return out;
  }
  if (r->status < 200 || r->status > 299) co_return response_error(http::verb::put, path, *r);
  if (auto o = parse_object(r->body); o && string_member(*o, "resourceType") == type) {
    out.resource = std::move(*o);
  } else {
    // No body (Prefer: return=minimal servers): keep ours, stamped with the ETag's version.
    out.resource = std::move(sent.get_object());
    if (!r->etag.empty()) {
      auto& meta = out.resource["meta"];
      if (!meta.is_object()) meta = boost::json::object();
      meta.get_object()["versionId"] = version_of_etag(r->etag);
    }
  }
  co_return out;
}

asio::awaitable<mapping::result<boost::json::object>> client::post_bundle(const boost::json::value& bundle) {
  const std::string body = to_json(bundle);
  auto r = co_await send(http::verb::post, "", body);
  if (!r) co_return r.error();
  if (r->status < 200 || r->status > 299) co_return response_error(http::verb::post, "", *r);
  auto o = parse_object(r->body);
  if (!o || string_member(*o, "resourceType") != "Bundle")
    co_return unreadable(http::verb::post, "", "the response is not a Bundle");
  co_return std::move(*o);
}

asio::awaitable<bool> client::supports_batch() {
  auto caps = co_await capabilities();
  co_return caps && caps->batch;
}

asio::awaitable<mapping::result<server_capabilities>> client::capabilities() {
  auto r = co_await send(http::verb::get, "metadata");
  if (!r) co_return r.error();
  if (r->status != 200) co_return response_error(http::verb::get, "metadata", *r);
  auto o = parse_object(r->body);
  if (!o) co_return unreadable(http::verb::get, "metadata", "the response is not a JSON object");
  co_return read_capabilities(*o);
}

asio::awaitable<mapping::result<void>> client::check_ready() {
  auto r = co_await send(http::verb::get, "metadata");
  if (!r) co_return r.error();
  if (r->status != 200) co_return response_error(http::verb::get, "metadata", *r);
  co_return mapping::result<void>{};
}

}  // namespace iomt::fhir
