// The AMQP 1.0 protocol engine of one connection attempt: Qpid Proton's pn_connection_driver
// (proton/connection_driver.h) wrapped so the rest of transport/amqp never touches its buffer
// rules. Sans-io: bytes in (feed), bytes out (output / output_done), a tick for heartbeats, and
// protocol events out (next_event). The socket and TLS live in connection.hpp.
//
// Proton pitfalls handled here (../shared/peers/README.md §1, "Boost.Asio + pn_connection_driver"):
// - SASL is configured in the constructor, before the transport binds (bind happens when the
//   PN_CONNECTION_INIT event is dispatched).
// - TLS is done by Asio, so Proton believes the wire is cleartext and would refuse PLAIN:
//   allow_insecure_mechs is set (only when the caller says the transport is encrypted, or
//   explicitly allows cleartext PLAIN).
// - Proton's read/write buffers are only valid until the next driver call: feed() copies in a
//   loop; output() must be copied out before any other call (connection.hpp copies and calls
//   output_done() at once).
// - output_done() can queue events (TRANSPORT_ERROR / CLOSED after a failed SASL outcome):
//   callers loop "next_event ... output" until has_event() is false (connection.hpp process()).
//
// Thread-safety: none; one engine per connection attempt, used on one strand.
#pragma once

#include "transport/amqp/error.hpp"

#include <proton/connection_driver.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace iomt::transport::amqp {

struct engine_options {
  std::string container_id = "iomtflow";
  std::string hostname;  // AMQP open.hostname (the virtual host; Event Hubs: the namespace host)
  std::string user;      // empty: SASL ANONYMOUS
  std::string password;
  std::string mechanisms;                         // space separated; empty: "PLAIN" with a user, else "ANONYMOUS"
  bool encrypted = true;                          // Asio TLS below (lets Proton offer PLAIN)
  bool allow_cleartext_plain = false;             // PLAIN over plain TCP (tests, local brokers)
  std::chrono::milliseconds idle_timeout{30000};  // what we advertise; heartbeats every half of the peer's
  std::uint32_t max_frame_size = 0;               // 0: Proton's default
};

class engine {
public:
  explicit engine(const engine_options& options);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  pn_connection_t* connection() const noexcept { return driver_.connection; }
  pn_transport_t* transport() const noexcept { return driver_.transport; }

  // Input: copies `bytes` into Proton; returns how many it took (less only once input is closed).
  std::size_t feed(std::string_view bytes);
  void read_close();  // EOF or a read error
  bool read_closed();

  // Output: the bytes Proton wants written; valid until the next call on this engine.
  std::string_view output();
  void output_done(std::size_t n);
  void write_close();  // the socket cannot be written any more
  bool write_closed();

  // Both directions closed and no events left: the attempt is over.
  bool finished();

  // Heartbeats and idle timeout (AMQP 1.0 §2.4.5): returns the next deadline in the same clock
  // (ms), 0 when none.
  std::int64_t tick(std::int64_t now_ms);

  pn_event_t* next_event();
  bool has_event();

  // Marks the connection failed with `e` (an I/O error): closes both directions.
  void fail(const error& e);

  // Why this attempt ended (or is ending): the first I/O error given to fail(), else the SASL
  // outcome, the connection's remote close condition, or the transport condition. errc::ok
  // when the connection was closed cleanly by us.
  error failure() const;

  // The SASL exchange finished successfully and the peer's open arrived.
  bool opened() const;

private:
  pn_connection_driver_t driver_{};
  error io_error_;
};

// "name: description" of a Proton condition, "" when not set.
std::string condition_text(pn_condition_t* c);

}  // namespace iomt::transport::amqp
