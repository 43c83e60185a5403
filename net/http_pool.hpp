// The HTTP/1.1 client of iomtflow: a keep-alive connection pool to one origin (http or https) on
// Beast, used by the FHIR client (fhir/http_pool.hpp, per shard) and the Azure Blob checkpoint
// store (transport/amqp/eventhubs/blob_client.hpp). Beast 1.81 client example shape: tcp_stream
// timeouts, one buffer per connection, keep-alive honoured both ways.
//
// One pool lives on one single-threaded executor and is used only from coroutines running there
// (not thread-safe, no locks: shared-nothing, STYLE "Seastar"). Idle connections are reused (most
// recent first) until idle_timeout; at most max_connections are open; extra requests wait for a
// free connection up to the request timeout. TLS follows net/tls_context.hpp (verification on,
// CA file added to the system store, SNI, TLS 1.2 minimum).
#pragma once

#include "net/endpoint.hpp"
#include "net/tls_context.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace iomt::net {

struct pool_options {
  std::size_t max_connections = 8;
  std::chrono::milliseconds connect_timeout{5'000};   // DNS + TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{30'000};  // write + read of one exchange (and pool wait)
  std::chrono::milliseconds idle_timeout{30'000};     // idle connections older than this are closed
  std::size_t max_response_bytes = 64u << 20;
  tls_options tls;
  std::string user_agent = "iomtflow";
  // The clock of the pool's own decisions: when a connection went idle and whether it has been
  // idle for idle_timeout. Empty: steady_clock (tests move it by hand). The I/O deadlines
  // (connect_timeout, request_timeout) are Asio timers and stay on the real clock.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// One request header; the pool adds Host, User-Agent and Content-Length (PUT/POST, or a body).
struct header_field {
  std::string_view name;
  std::string_view value;
};

using response = boost::beast::http::response<boost::beast::http::string_body>;
using http_result = boost::system::result<response, http_error>;

struct pool_stats {
  std::uint64_t requests = 0;            // exchanges attempted
  std::uint64_t connections_opened = 0;  // TCP (+TLS) connections established
  std::uint64_t stale_retries = 0;       // requests resent after a closed keep-alive connection
};

class http_pool {
public:
  // Fails on a bad TLS setup (unreadable CA file): step tls_setup, message as describe() says.
  static boost::system::result<std::unique_ptr<http_pool>, http_error> create(boost::asio::any_io_executor ex,
                                                                              endpoint origin, pool_options options);
  ~http_pool();
  http_pool(const http_pool&) = delete;
  http_pool& operator=(const http_pool&) = delete;

  // Sends one request; `target` is origin-form ("/fhir/Observation/abc"); `body` and the header
  // texts must stay alive until the request completes. Completes with the response (any status;
  // no body for HEAD) or a transport error. A request that fails on a reused keep-alive
  // connection before any response byte arrived (the server closed it while idle) is sent once
  // more on a fresh connection. The pool must outlive the returned awaitable.
  boost::asio::awaitable<http_result> request(boost::beast::http::verb method, std::string target,
                                              std::string_view body, std::span<const header_field> headers);

  const endpoint& origin() const noexcept;
  const pool_options& options() const noexcept;
  const pool_stats& stats() const noexcept;
  std::size_t open_connections() const noexcept;
  std::size_t idle_connections() const noexcept;
  void close_idle();  // closes idle connections (shutdown)

private:
  struct impl;
  explicit http_pool(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace iomt::net
