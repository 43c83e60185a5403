#include "transport/amqp/engine.hpp"

#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/sasl.h>
#include <proton/transport.h>

#include <algorithm>
#include <cstring>

namespace iomt::transport::amqp {

std::string condition_text(pn_condition_t* c) {
  if (!c || !pn_condition_is_set(c)) return {};
  std::string s = pn_condition_get_name(c) ? pn_condition_get_name(c) : "error";
  if (const char* d = pn_condition_get_description(c); d && *d) {
    s += ": ";
    s += d;
  }
  return s;
}

engine::engine(const engine_options& o) {
  pn_connection_driver_init(&driver_, nullptr, nullptr);  // new connection + client transport
  pn_sasl_t* sasl = pn_sasl(driver_.transport);
  const std::string mechs = !o.mechanisms.empty() ? o.mechanisms : !o.user.empty() ? "PLAIN" : "ANONYMOUS";
  pn_sasl_allowed_mechs(sasl, mechs.c_str());
  // Asio's TLS is invisible to Proton: without this it refuses PLAIN "over cleartext".
  if (o.encrypted || o.allow_cleartext_plain) pn_sasl_set_allow_insecure_mechs(sasl, true);
  if (!o.user.empty()) {
    pn_connection_set_user(driver_.connection, o.user.c_str());
    pn_connection_set_password(driver_.connection, o.password.c_str());
  }
  if (!o.hostname.empty()) pn_connection_set_hostname(driver_.connection, o.hostname.c_str());
  pn_connection_set_container(driver_.connection, o.container_id.c_str());
  pn_transport_set_idle_timeout(driver_.transport, static_cast<pn_millis_t>(o.idle_timeout.count()));
  if (o.max_frame_size) pn_transport_set_max_frame(driver_.transport, o.max_frame_size);
}

engine::~engine() { pn_connection_driver_destroy(&driver_); }

std::size_t engine::feed(std::string_view bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    pn_rwbytes_t b = pn_connection_driver_read_buffer(&driver_);
    if (b.size == 0) break;  // input closed: the rest is dropped
    const std::size_t n = std::min(b.size, bytes.size() - off);
    std::memcpy(b.start, bytes.data() + off, n);
    pn_connection_driver_read_done(&driver_, n);
    off += n;
  }
  return off;
}

void engine::read_close() { pn_connection_driver_read_close(&driver_); }
bool engine::read_closed() { return pn_connection_driver_read_closed(&driver_); }

std::string_view engine::output() {
  pn_bytes_t b = pn_connection_driver_write_buffer(&driver_);
  return {b.start, b.size};
}

void engine::output_done(std::size_t n) { pn_connection_driver_write_done(&driver_, n); }
void engine::write_close() { pn_connection_driver_write_close(&driver_); }
bool engine::write_closed() { return pn_connection_driver_write_closed(&driver_); }
bool engine::finished() { return pn_connection_driver_finished(&driver_); }

std::int64_t engine::tick(std::int64_t now_ms) { return pn_transport_tick(driver_.transport, now_ms); }

pn_event_t* engine::next_event() { return pn_connection_driver_next_event(&driver_); }
bool engine::has_event() { return pn_connection_driver_has_event(&driver_); }

void engine::fail(const error& e) {
  if (!io_error_) io_error_ = e;
  pn_connection_driver_close(&driver_);
}

bool engine::opened() const {
  return (pn_connection_state(driver_.connection) & PN_REMOTE_ACTIVE) != 0 ||
         (pn_connection_state(driver_.connection) & PN_REMOTE_CLOSED) != 0;
}

error engine::failure() const {
  if (io_error_) return io_error_;
  pn_transport_t* t = driver_.transport;
  const pn_sasl_outcome_t outcome = pn_sasl_outcome(pn_sasl(t));
  if (outcome == PN_SASL_AUTH || outcome == PN_SASL_PERM || outcome == PN_SASL_SYS || outcome == PN_SASL_TEMP) {
    std::string why = condition_text(pn_transport_condition(t));
    if (why.empty()) why = "SASL outcome " + std::to_string(static_cast<int>(outcome));
    return {errc::authentication_failed, why};
  }
  pn_condition_t* tc = pn_transport_condition(t);
  const std::string transport_text = condition_text(tc);
  if (!transport_text.empty()) {
    const char* name = pn_condition_get_name(tc);
    if (name && std::strcmp(name, "amqp:unauthorized-access") == 0)
      return {errc::authentication_failed, transport_text};
    const std::string remote = condition_text(pn_connection_remote_condition(driver_.connection));
    if (!remote.empty()) return {errc::closed_by_peer, remote};
    if (name && (std::strcmp(name, "amqp:resource-limit-exceeded") == 0 || std::strcmp(name, "proton:io") == 0))
      return {errc::connection_lost, transport_text};
    // "Connection aborted" etc. after the socket went away without an AMQP close.
    if (transport_text.find("aborted") != std::string::npos) return {errc::connection_lost, transport_text};
    return {errc::protocol_error, transport_text};
  }
  const std::string remote = condition_text(pn_connection_remote_condition(driver_.connection));
  if (!remote.empty()) {
    const char* name = pn_condition_get_name(pn_connection_remote_condition(driver_.connection));
    if (name && std::strcmp(name, "amqp:unauthorized-access") == 0) return {errc::authentication_failed, remote};
    return {errc::closed_by_peer, remote};
  }
  return {};
}

}  // namespace iomt::transport::amqp
