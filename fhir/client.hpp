// FHIR REST client for one server: connection pool + authorization + retry policy, and the
// few interactions the pipeline needs (read, search by identifier, PUT, batch Bundles).
//
// One client per shard, used only from that shard's io_context (not thread-safe). Errors are
// mapping::mapping_error values: FhirClientException (HTTP error status, with the
// OperationOutcome text), HttpRequestException (network/TLS), AuthenticationFailedException.
#pragma once

#include "fhir/auth.hpp"
#include "fhir/capabilities.hpp"
#include "fhir/http_pool.hpp"
#include "fhir/retry.hpp"
#include "mapping/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::fhir {

struct client_options {
  std::string base_url;  // e.g. "https://example.fhir.azurehealthcareapis.com" or "http://127.0.0.1:8080/fhir"
  pool_options pool;
  auth_options auth;
  retry_options retry;
  std::size_t max_search_pages = 100;  // paging guard
};

struct send_options {
  std::string_view if_match;  // full header value, e.g. W/"<versionId>"
  std::string_view prefer;
};

struct client_stats {
  std::uint64_t requests = 0;  // HTTP exchanges sent (every attempt)
  std::uint64_t gets = 0, puts = 0, posts = 0;
  std::uint64_t retries = 0;    // attempts repeated by the retry policy
  std::uint64_t throttled = 0;  // 429 / 503 answers
  std::uint64_t conflicts = 0;  // 409 / 412 answers
};

// Called after every exchange: method, status (0 = transport error), latency. For metrics.
using request_observer = std::function<void(boost::beast::http::verb, unsigned, std::chrono::nanoseconds)>;

struct put_result {
  bool conflict = false;  // 409 / 412: version conflict (iomt-spec §12 step 5)
  unsigned status = 0;
  boost::json::object resource;  // the server's copy (or what was sent, if it answered without a body)
};

class client {
public:
  static mapping::result<std::unique_ptr<client>> create(boost::asio::any_io_executor ex, client_options options);

  // One FHIR interaction with authorization and the retry policy (retry.hpp). `path` is relative
  // to the base URL ("Observation/abc", "Observation?identifier=...", "" = the base itself);
  // a path starting with '/' is used as is. Completes with the final response of any status
  // that is not retried (2xx, 404, 409, 412, other 4xx, or the last 429/5xx when attempts run
  // out), or with an error when no response could be had. `body` must outlive the call.
  boost::asio::awaitable<mapping::result<http_response>> send(boost::beast::http::verb method, std::string_view path,
                                                              std::string_view body = {}, send_options options = {});

  // GET {type}/{id}: nullopt on 404 / 410.
  boost::asio::awaitable<mapping::result<std::optional<boost::json::object>>> read(std::string_view type,
                                                                                   std::string_view id);

  // GET {query} and its further pages (link next, else _offset while Bundle.total says more).
  boost::asio::awaitable<mapping::result<std::vector<boost::json::object>>> search(std::string_view query);

  // {type}?identifier={system}|{value} (iomt-spec §11 search primitive). No exact-match filter
  // here: callers that need it apply keep_exact_matches (§12).
  boost::asio::awaitable<mapping::result<std::vector<boost::json::object>>> search_identifier(std::string_view type,
                                                                                              std::string_view system,
                                                                                              std::string_view value);

  // PUT {resourceType}/{id}; with If-Match: W/"<if_match_version>" when the version is not empty.
  // 409 / 412 (and 404 / 410 with If-Match: the matched version is gone) -> conflict = true.
  boost::asio::awaitable<mapping::result<put_result>> put(boost::json::object resource,
                                                          std::string_view if_match_version = {});

  // POST [base] with a batch or transaction Bundle; returns the response Bundle.
  boost::asio::awaitable<mapping::result<boost::json::object>> post_bundle(const boost::json::value& bundle);

  // GET metadata: does the CapabilityStatement list the `batch` interaction?
  boost::asio::awaitable<bool> supports_batch();

  // GET metadata -> what the CapabilityStatement says about batch Bundles (capabilities.hpp). An
  // error when the server gave no readable 200 answer (the caller may ask again later).
  boost::asio::awaitable<mapping::result<server_capabilities>> capabilities();

  // Readiness (GET /readyz): the server answers GET metadata with 200 through our auth.
  boost::asio::awaitable<mapping::result<void>> check_ready();

  const endpoint& origin() const noexcept { return pool_->origin(); }
  const client_options& options() const noexcept { return options_; }
  const client_stats& stats() const noexcept { return stats_; }
  const pool_stats& connection_stats() const noexcept { return pool_->stats(); }
  void set_observer(request_observer observer) { observer_ = std::move(observer); }
  authenticator& auth() noexcept { return *auth_; }

private:
  client(boost::asio::any_io_executor ex, client_options options, std::unique_ptr<http_pool> pool,
         std::unique_ptr<authenticator> auth);
  std::string target_of(std::string_view path) const;

  boost::asio::any_io_executor ex_;
  client_options options_;
  std::unique_ptr<http_pool> pool_;
  std::unique_ptr<authenticator> auth_;
  retry_policy policy_;
  std::minstd_rand rng_;
  client_stats stats_;
  request_observer observer_;
};

// Serializes a resource for the wire: .NET-style numbers (iomt::json writer, iomt-spec §8).
std::string to_json(const boost::json::value& resource);
std::string to_json(const boost::json::object& resource);  // copies: prefer the value overload

// The cause of an unsuccessful response for messages: "503 Service Unavailable: <OperationOutcome
// text> (gave up after 6 attempts)".
std::string failure_cause(const http_response& response);

// "PUT Observation/abc" for messages.
std::string describe_request(boost::beast::http::verb method, std::string_view path);

}  // namespace iomt::fhir
