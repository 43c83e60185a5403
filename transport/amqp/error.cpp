#include "transport/amqp/error.hpp"

namespace iomt::transport::amqp {

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::resolve_failed:
      return "cannot resolve host";
    case errc::connect_failed:
      return "connection refused";
    case errc::timeout:
      return "timed out";
    case errc::tls_handshake_failed:
      return "TLS handshake failed";
    case errc::certificate_verify_failed:
      return "certificate verify failed";
    case errc::authentication_failed:
      return "authentication failed";
    case errc::connection_lost:
      return "connection lost";
    case errc::closed_by_peer:
      return "connection closed by the broker";
    case errc::link_error:
      return "link refused";
    case errc::protocol_error:
      return "AMQP protocol error";
    case errc::cbs_error:
      return "CBS authorization failed";
    case errc::management_error:
      return "management request failed";
    case errc::bad_configuration:
      return "bad configuration";
  }
  return "unknown AMQP error";
}

std::string error::message() const {
  std::string m = to_string(code);
  if (!detail.empty()) {
    m += ": ";
    m += detail;
  }
  return m;
}

}  // namespace iomt::transport::amqp
