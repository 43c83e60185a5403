// The AMQP 1.0 queue source of `iomtflow run` (source.amqp): receiver links on any AMQP 1.0
// broker (RabbitMQ's rabbitmq_amqp1_0, Artemis, Service Bus queues, ...) over TLS with SASL PLAIN or
// ANONYMOUS, feeding the pipeline through event_sink. N connections (each with every address),
// spread over T threads; each connection has its own strand.
//
//   url: amqps://host:5671          TLS (verification on; ca_file for a private CA)
//        amqp://host:5672           plain TCP (tests, local brokers)
//   user/password from the config's *_env fields (a user:password@ in the URL works too)
//
// Delivery semantics: at-least-once (see consumer.hpp and settlement.hpp).
// Thread-safety: start()/stop() from one controlling thread; stats() from any thread.
#pragma once

#include "transport/amqp/connection.hpp"
#include "transport/amqp/consumer.hpp"
#include "transport/event.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace iomt::transport::amqp {

struct broker_url {
  bool tls = true;
  std::string host;
  std::string port;  // default 5671 (amqps) / 5672 (amqp)
  std::string user;  // percent-decoded; empty when not in the URL
  std::string password;
};

// amqp[s]://[user[:password]@]host[:port][/]
boost::system::result<broker_url, error> parse_broker_url(std::string_view url);

struct source_options {
  std::string url;   // see above
  std::string user;  // overrides the URL's
  std::string password;
  std::string mechanisms;              // "" = PLAIN with a user, ANONYMOUS without
  std::vector<std::string> addresses;  // one receiver link per address and connection
  tls_options tls;                     // enabled is taken from the URL scheme
  bool allow_cleartext_plain = false;  // PLAIN over amqp:// (never on by default)
  std::uint32_t connections = 1;
  std::uint32_t threads = 1;
  consumer_options consumer;
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{30000};
  std::chrono::milliseconds drain_timeout{30000};
  std::string container_id = "iomtflow";
};

// Event Hubs: one partition this replica owns and how far behind it is (docs/amqp.md "Consumer
// lag"). Empty for the queue source.
struct partition_stats {
  std::string id;
  bool lag_known = false;                           // a READ com.microsoft:partition has answered
  std::uint64_t lag = 0;                            // events enqueued and not yet completed (>= 0)
  std::int64_t last_enqueued_sequence_number = -1;  // as of the last answer (-1: empty partition)
  std::int64_t last_enqueued_time_ms = -1;          // Unix ms (-1: unknown)
  std::int64_t completed_sequence_number = -1;      // the lag's base (-1: none yet)
};

struct source_stats {
  std::uint64_t received = 0, submitted = 0, busy = 0, accepted = 0, released = 0, modified = 0, rejected = 0,
                decode_errors = 0, unsettled = 0, attempts = 0, failures = 0;
  std::uint64_t failures_by_kind[16] = {};
  std::uint32_t connected = 0;  // connections with every link attached
  std::string last_error;
  std::vector<partition_stats> partitions;  // Event Hubs: owned partitions, in the service's order
  std::uint64_t lag_query_failures = 0;     // Event Hubs: partition READs that failed or timed out
  // Event Hubs dynamic ownership (docs/scaling.md).
  bool dynamic_ownership = false;
  std::vector<std::string> hub_partitions;  // every partition of the hub (owned or not)
  std::uint64_t ownership_claims = 0, ownership_renewals = 0, ownership_steals = 0, ownership_releases = 0,
                ownership_lost = 0, ownership_conflicts = 0, ownership_failures = 0;
  std::uint64_t processors = 0;  // active processors of the consumer group, this one included
};

class source {
public:
  // Throws std::runtime_error on a bad URL or unreadable CA file (start-up errors).
  source(source_options options, event_sink& sink, log_hook log = {});
  ~source();
  source(const source&) = delete;
  source& operator=(const source&) = delete;

  void start();
  // Stops receiving, waits for in-flight submissions to complete (up to drain_timeout), settles
  // them and closes. Idempotent. Stop the sources before the pipeline.
  void stop();

  source_stats stats() const;
  bool ready() const;  // every connection is up with its links attached

private:
  struct worker;
  source_options options_;
  event_sink& sink_;
  log_hook log_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::io_context> io_;
  bool started_ = false, stopped_ = false;
};

}  // namespace iomt::transport::amqp
