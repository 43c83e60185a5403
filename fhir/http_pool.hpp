// The FHIR server's HTTP side: the project's keep-alive HTTP/1.1 pool (net/http_pool.hpp) with the
// FHIR request headers and the response fields the FHIR client reads.
//
// One pool per shard: it lives on that shard's single-threaded io_context and is used only from
// coroutines running there (not thread-safe, no locks: shared-nothing, STYLE "Seastar").
// TLS as everywhere (net/tls_context.hpp): certificate and host-name verification ON by default,
// `ca_file` ADDED to the system trust store, SNI for host names, TLS 1.2 minimum; `insecure`
// turns verification off (tests only).
#pragma once

#include "net/endpoint.hpp"
#include "net/http_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace iomt::fhir {

using net::endpoint;    // parsed from the FHIR base URL ("https://host:8443/fhir")
using net::http_error;  // {ec, message, ...}: "TLS handshake with localhost:8443 failed: ..."
using net::pool_stats;

struct tls_options {
  std::string ca_file;    // PEM trust anchors added to the system store
  bool insecure = false;  // no certificate / host-name verification: tests only
};

struct pool_options {
  std::size_t max_connections = 8;
  std::chrono::milliseconds connect_timeout{5'000};   // DNS + TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{30'000};  // write + read of one exchange (and pool wait)
  std::chrono::milliseconds idle_timeout{30'000};     // idle connections older than this are closed
  std::size_t max_response_bytes = 64u << 20;
  tls_options tls;
  std::string user_agent = "iomtflow";
  std::function<std::chrono::steady_clock::time_point()> now;  // idle expiry clock (net::pool_options::now)
};

// Request headers we send besides Host / User-Agent / Content-Length (empty = omitted).
struct request_headers {
  std::string_view authorization;
  std::string_view if_match;
  std::string_view content_type = "application/fhir+json";  // only with a body
  std::string_view accept = "application/fhir+json";
  std::string_view prefer;
};

struct http_response {
  unsigned status = 0;
  std::string etag;
  std::string location;
  std::string retry_after;
  std::string content_type;
  std::string body;
  int attempts = 1;  // set by fhir::client: tries it took (retry policy)
};

using http_result = boost::system::result<http_response, http_error>;

class http_pool {
public:
  // Fails on a bad TLS setup ("cannot load the CA file '...': ...").
  static boost::system::result<std::unique_ptr<http_pool>, http_error> create(boost::asio::any_io_executor ex,
                                                                              endpoint origin, pool_options options);
  ~http_pool();
  http_pool(const http_pool&) = delete;
  http_pool& operator=(const http_pool&) = delete;

  // Sends one request; `target` is origin-form ("/fhir/Observation/abc"); `body` must stay
  // alive until the request completes. Completes with the response (any status) or a
  // transport error. A request that fails on a reused keep-alive
  // connection before any response byte arrived (the server closed it while idle) is sent once
  // more on a fresh connection. The pool must outlive the returned awaitable.
  boost::asio::awaitable<http_result> request(boost::beast::http::verb method, std::string target,
                                              std::string_view body, request_headers headers = {});

  const endpoint& origin() const noexcept;
  const pool_options& options() const noexcept;
  const pool_stats& stats() const noexcept;
  std::size_t open_connections() const noexcept;
  std::size_t idle_connections() const noexcept;
  void close_idle();  // closes idle connections (shutdown)

private:
  http_pool(std::unique_ptr<net::http_pool> pool, pool_options options);
  std::unique_ptr<net::http_pool> pool_;
  pool_options options_;
};

}  // namespace iomt::fhir
