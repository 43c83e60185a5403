// The HTTP/1.1 ingest server: Beast on Asio C++20 coroutines (Boost 1.81: explicit
// asio::use_awaitable tokens, tcp_stream::expires_after timeouts).
//
// Each connection is one coroutine on its own strand, so any number of threads may run the
// io_context. Per request:
//   - routes added with add_route (GET /metrics, /healthz, ...) are matched first: longest
//     path-prefix at a segment boundary, then method (405 with Allow when only the method differs,
//     unless the path is a send route: a GET catch-all "/" does not shadow POST /{hub}/messages);
//   - everything else goes to the Event Hubs send routes (eventhub_request.hpp): the head is checked
//     before the body is read (401/404/405/413/415 without reading the body; "Expect: 100-continue"
//     is answered only when the head is acceptable), the body is read under the size limit (a chunked
//     body over it -> 413), the events go to event_sink::submit:
//       accepted      -> wait for `done` without blocking the thread -> 201 Created, empty body
//       busy          -> 503 + Retry-After: 1
//       shutting_down -> 503 + Retry-After: 1
//     No answer from the pipeline within ack_timeout -> 504 (the events may still be written).
// An error answered before the body was read closes the connection after a short lingering drain,
// so the client reads the answer instead of a reset.
//
// Graceful shutdown (shutdown()): stop accepting, close idle keep-alive connections, let requests in
// flight finish (their answer carries Connection: close), force-close what remains after the grace
// period, then call on_stopped.
//
// Lifetime: the eventhub_ingest and event_sink passed in must outlive the io_context's run. A
// pending `done` keeps the io_context's run() from returning (outstanding work), so stop the
// pipeline only after it settled what it accepted.
#pragma once

#include "transport/event.hpp"
#include "transport/http/eventhub_request.hpp"
#include "transport/http/http_types.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace iomt::transport::http {

// One answered request, for metrics and access logs (called on a connection's strand).
struct request_record {
  bhttp::verb method = bhttp::verb::unknown;
  std::string_view path;                           // without the query
  unsigned status = 0;                             // 0: connection closed without an answer
  std::size_t events = 0;                          // events submitted (ingest routes)
  std::size_t failed = 0;                          // events the pipeline reported failed
  std::chrono::steady_clock::duration duration{};  // head received -> answer written
  std::string_view error;                          // the error message of a 4xx/5xx answer
};

struct server_options {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;                        // 0: any free port (see local_endpoint)
  std::chrono::milliseconds idle_timeout{60'000};   // waiting for a request head (keep-alive idle)
  std::chrono::milliseconds read_timeout{30'000};   // reading a request body
  std::chrono::milliseconds write_timeout{30'000};  // writing an answer
  std::chrono::milliseconds ack_timeout{300'000};   // waiting for the pipeline; 0: no limit
  std::chrono::milliseconds linger_timeout{2'000};  // draining an unread body before closing
  std::size_t max_header_bytes = 16 * 1024;         // request head (431 beyond)
  std::size_t max_route_body_bytes = 1024 * 1024;   // bodies of add_route handlers
  std::string server_name = "iomtflow";
  // Wall clock for SAS expiry and x-opt-enqueued-time; empty: system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Called once per answered request (or connection closed mid-request); may be empty.
  std::function<void(const request_record&)> on_request;
};

class server {
public:
  using handler = std::function<response(const request&)>;

  server(boost::asio::io_context& ioc, server_options options, eventhub_ingest& ingest, event_sink& sink);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // A synchronous handler for `method` on `path_prefix` ("/metrics" matches "/metrics" and
  // "/metrics/x", not "/metricsx"). The answer's keep-alive and Content-Length are set by the
  // server. Not thread-safe: call before start().
  void add_route(bhttp::verb method, std::string path_prefix, handler h);

  // Opens, binds and listens on address:port. Returns the error (e.g. address in use), if any.
  boost::system::error_code listen();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts accepting (after listen()).
  void start();

  // Thread-safe, idempotent: graceful shutdown as described above; `on_stopped` (may be empty) runs
  // on the io_context once the acceptor and every connection are closed.
  void shutdown(std::chrono::milliseconds grace, std::function<void()> on_stopped = {});

  // Open connections (thread-safe, for metrics and tests).
  std::size_t connections() const;

  struct state;  // shared with the connections; defined in server.cpp

private:
  std::shared_ptr<state> state_;
};

}  // namespace iomt::transport::http
