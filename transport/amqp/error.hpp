// Errors of the AMQP 1.0 source (STYLE habit 5: one error enum per folder, errors are values).
// Each connection attempt ends with one of these; the source logs it in words a user recognizes
// ("authentication failed", "certificate verify failed") and reconnects with backoff.
#pragma once

#include <functional>
#include <string>

namespace iomt::transport::amqp {

enum class errc {
  ok = 0,
  resolve_failed,             // DNS
  connect_failed,             // TCP connect refused / unreachable
  timeout,                    // connect, TLS handshake or AMQP open took too long
  tls_handshake_failed,       // TLS failed for another reason (protocol, cipher, ...)
  certificate_verify_failed,  // the peer's certificate is not trusted or its name does not match
  authentication_failed,      // SASL outcome auth / sys, or amqp:unauthorized-access
  connection_lost,            // socket closed / reset / idle timeout while running
  closed_by_peer,             // the broker closed the connection (amqp:connection:forced, ...)
  link_error,                 // attach refused (amqp:not-found, ...), session ended, link detached
  protocol_error,             // framing / decode error reported by the engine
  cbs_error,                  // Event Hubs: $cbs put-token answered with a failure status
  management_error,           // Event Hubs: $management request failed
  bad_configuration,          // URL, connection string, addresses
};

// The short label used in metrics and logs ("authentication failed", ...).
const char* to_string(errc e) noexcept;

// One failure with the details the broker or the TLS layer gave.
struct error {
  errc code = errc::ok;
  std::string detail;  // e.g. "amqp:unauthorized-access: Authentication failed [PLAIN]"
  // "authentication failed: amqp:unauthorized-access: ..." (label first, so logs grep well).
  std::string message() const;
  explicit operator bool() const noexcept { return code != errc::ok; }
};

// The transport library has no logger: the service passes one (level 0 info, 1 warn, 2 error),
// as transport/buffer does.
using log_hook = std::function<void(int level, const std::string& message, const std::string& detail)>;

}  // namespace iomt::transport::amqp
