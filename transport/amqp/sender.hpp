// A small blocking AMQP 1.0 sender for tools, tests, the load generator and bench/amqp: one
// connection, one sender link, at-least-once (waits until the broker has accepted every message,
// with up to `window` unsettled at a time). Same engine, TLS and SASL as the source; not used on
// the service's hot path.
//
// RabbitMQ: a target "/queue/NAME" with durable = true declares a durable queue NAME when it does
// not exist yet (receivers then use "/amq/queue/NAME"); "/amq/queue/NAME" needs a declared queue.
//
// Thread-safety: one thread at a time.
#pragma once

#include "transport/amqp/connection.hpp"
#include "transport/amqp/error.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace iomt::transport::amqp {

struct sender_options {
  std::string url;  // amqps://host:port or amqp://host:port (user:pass@ allowed)
  std::string user;
  std::string password;
  tls_options tls;  // `enabled` follows the URL scheme
  bool allow_cleartext_plain = false;
  std::string address;                       // target address
  bool durable = true;                       // target terminus durability (RabbitMQ auto-declare) and message header
  std::uint32_t window = 1000;               // unsettled messages in flight
  std::chrono::milliseconds timeout{30000};  // connect, and any wait for the broker
};

// Message content for `encode_message`.
struct outgoing_message {
  std::string body;                                              // data section
  std::vector<std::pair<std::string, std::string>> properties;   // application properties (strings)
  std::vector<std::pair<std::string, std::string>> annotations;  // message annotations (string values)
  std::string message_id;
  std::string content_type;
  bool durable = true;
};

// AMQP 1.0 encoding of a message (header, message-annotations, properties, application-properties,
// data).
std::string encode_message(const outgoing_message& m);

class blocking_sender {
public:
  static boost::system::result<std::unique_ptr<blocking_sender>, error> connect(const sender_options& options);
  ~blocking_sender();
  blocking_sender(const blocking_sender&) = delete;
  blocking_sender& operator=(const blocking_sender&) = delete;

  // Sends every message (already encoded) and waits until each is settled by the broker; an
  // outcome other than accepted is an error.
  boost::system::result<void, error> send(std::span<const std::string> encoded);
  void close();

  struct impl;

private:
  explicit blocking_sender(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace iomt::transport::amqp
