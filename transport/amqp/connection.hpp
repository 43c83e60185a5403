// One long-lived AMQP 1.0 connection driven by Boost.Asio (STYLE: Boost.Redis `async_run` shape):
// resolve, TCP connect, TLS handshake (net/tls_context.hpp: verification on by default, SNI, a CA
// file added to the system trust store),
// then pump bytes between the socket and the engine (engine.hpp) until the connection ends, and
// reconnect with exponential backoff. Every attempt's failure is logged in plain words
// ("authentication failed", "certificate verify failed") and counted by kind.
//
// What runs on the connection is a connection_handler: the queue source opens a fixed set of
// receiver links; the Event Hubs source authorizes with CBS, discovers partitions and then opens
// them (eventhubs/). Both receive through a consumer (consumer.hpp).
//
// Stop: no more credit, wait (up to drain_timeout) until every submitted batch has completed and
// is settled, then AMQP close. Deliveries still unsettled at that point go back to the queue when
// the connection closes - nothing is lost, it may be delivered again.
//
// Threading: every handler runs on the connection's strand; start()/stop() may be called from any
// thread. Completion callbacks from the pipeline come in through the consumer's mailbox.
#pragma once

#include "transport/amqp/consumer.hpp"
#include "transport/amqp/engine.hpp"
#include "transport/amqp/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace iomt::transport::amqp {

struct tls_options {
  bool enabled = true;
  bool verify = true;       // verify the broker's certificate chain and name
  std::string ca_file;      // PEM trust anchors added to the system trust store
  std::string server_name;  // SNI and the name checked; empty: the host
};

struct connection_options {
  std::string host;
  std::string port = "5671";
  tls_options tls;
  engine_options amqp;
  std::chrono::milliseconds connect_timeout{15000};  // TCP + TLS + SASL + AMQP open
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{30000};
  std::chrono::milliseconds drain_timeout{30000};  // stop(): wait for in-flight completions
  std::string name;                                // for logs, e.g. "amqp[0]"
};

// What runs on each connection attempt.
class connection_handler {
public:
  virtual ~connection_handler() = default;
  virtual consumer& receiver() = 0;
  // A fresh, not yet opened engine: begin() the consumer, open links / control links.
  virtual void on_open(engine& e) = 0;
  // Events the consumer did not take (control links, transport events).
  virtual void on_event(pn_event_t*) {}
  // About once a second while connected (token refresh, request timeouts).
  virtual void on_timer(std::chrono::steady_clock::time_point) {}
  // The attempt is over (before the engine goes away).
  virtual void on_closed() {}
  // A failure the handler detected (CBS refused, management error); errc::ok if none.
  virtual error failure() const { return {}; }
  // Ready = all links attached.
  virtual bool ready() const { return false; }
};

// Counters (relaxed atomics; read from any thread).
struct connection_stats {
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> failures_by_kind[16]{};  // index: errc
  std::atomic<bool> connected{false};                 // AMQP open done, links requested
};

// ssl::context for the options (net::make_client_context: CA file, verification, TLS 1.2 minimum);
// throws std::runtime_error on an unreadable CA file (start-up error).
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_options& tls);

class connection {
public:
  // `ex` should be a strand (or a single-threaded io_context).
  connection(boost::asio::any_io_executor ex, connection_options options, connection_handler& handler,
             std::shared_ptr<boost::asio::ssl::context> tls, log_hook log);
  ~connection();

  void start();
  // Drains and closes; `done` runs (on the strand) once the connection is closed for good.
  void stop(std::function<void()> done);

  const connection_stats& stats() const;
  // The last attempt's failure ("" after a clean connect).
  std::string last_error() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with in-flight handlers
};

}  // namespace iomt::transport::amqp
