// The HTTP/1.1 ingest server: Beast on Asio C++20 coroutines (Boost 1.81: explicit
// asio::use_awaitable tokens, tcp_stream::expires_after timeouts).
//
// Each connection is one coroutine on its own strand, so any number of threads may run the
// io_context (options.io_threads == 1: on the io_context's executor, no strand needed). Over TLS
// (options.tls, net/tls_server.hpp) the handshake comes first.
//
// Limits that hold under abuse (issue 15):
//   - at most connection_limit() connections: options.max_connections, lowered to what the
//     process's file-descriptor limit allows after options.reserved_fds for everything else. At the
//     limit, the connection that has waited longest for its request head (silent, slow-header or
//     idle keep-alive: never one whose request is being served) is closed to make room; when every
//     connection is busy with a request the new one is answered "503 too many connections" and
//     closed. Both are logged (on_log, rate-limited by the caller). An accept that fails for want
//     of file descriptors (EMFILE) is logged, and the waiting client is accepted on a spare
//     descriptor and closed, instead of being left hanging in the backlog;
//   - timeouts: first_byte_timeout for a new connection's TLS handshake and first request byte,
//     idle_timeout between keep-alive requests, header_timeout from the first byte to the end of the
//     head, read_timeout for the whole body, write_timeout for an answer. Each is a deadline for
//     the whole step, so a client dripping one byte a second gains nothing;
//   - a failed authentication (401/403) closes the connection after its answer.
// Per request:
//   - an id (request_id.hpp): the client's x-ms-client-request-id when usable (echoed), else a new
//     GUID; every answer carries it as x-ms-request-id, the request's events carry it
//     (event::request_id) and request_record names it;
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

#include "net/tls_server.hpp"
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
  std::string_view detail;                         // http_error::detail: for logs, never sent
  std::string_view peer;                           // the client's address "ip:port"
  std::string_view request_id;                     // x-ms-request-id of the answer ("" before a request)
};

struct server_options {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (see local_endpoint)
  // Plain HTTP when empty; else every connection starts with a TLS handshake.
  std::shared_ptr<net::reloading_server_context> tls;
  // Threads that run the io_context (0: unknown). With exactly one, a connection's handlers cannot
  // run concurrently, and connections skip the strand (a queue and a lock per handler).
  std::uint32_t io_threads = 0;
  std::chrono::milliseconds first_byte_timeout{10'000};  // new connection: TLS handshake + first byte
  std::chrono::milliseconds idle_timeout{60'000};        // keep-alive: waiting for the next request
  std::chrono::milliseconds header_timeout{10'000};      // first byte -> complete request head
  std::chrono::milliseconds read_timeout{30'000};        // reading a request body (the whole body)
  std::chrono::milliseconds write_timeout{30'000};       // writing an answer
  std::chrono::milliseconds ack_timeout{300'000};        // waiting for the pipeline; 0: no limit
  std::chrono::milliseconds linger_timeout{2'000};       // draining an unread body before closing
  std::size_t max_header_bytes = 16 * 1024;              // request head (431 beyond)
  std::size_t max_route_body_bytes = 1024 * 1024;        // bodies of add_route handlers
  std::size_t max_connections = 1024;                    // see connection_limit()
  std::size_t reserved_fds = 128;                        // file descriptors left for the rest of the process
  std::string server_name = "iomtflow";
  // Wall clock for SAS expiry and x-opt-enqueued-time; empty: system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Called once per answered request (or connection closed mid-request); may be empty.
  std::function<void(const request_record&)> on_request;
  // Connection-level events (level 1 warn, 2 error): accept failures, refusals at the connection
  // limit, failed TLS handshakes. Any thread; the callee rate-limits. May be empty.
  std::function<void(int level, const std::string& message, const std::string& detail)> on_log;
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
  // Open connections waiting for a request head: the ones the connection limit may evict
  // (thread-safe; tests wait on it instead of sleeping).
  std::size_t connections_waiting_for_a_request() const;
  // The effective connection cap (known after listen()).
  std::size_t connection_limit() const;
  // Connections refused or closed to make room at the limit, since start (thread-safe).
  std::uint64_t refused_connections() const;
  std::uint64_t evicted_connections() const;

  struct state;  // shared with the connections; defined in server.cpp

private:
  std::shared_ptr<state> state_;
};

}  // namespace iomt::transport::http
