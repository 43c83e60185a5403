// Where an HTTP client connects, parsed once from a base URL, and the one error type of the
// HTTP client (net/http_pool.hpp).
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace iomt::net {

// The step of an exchange that failed.
enum class http_step {
  url,            // the base URL did not parse
  tls_setup,      // the TLS context could not be made (unreadable CA file)
  resolve,        // DNS
  connect,        // TCP connect
  tls_handshake,  // TLS handshake (certificate refusals included)
  wait,           // no connection became free in time (max_connections)
  write,          // sending the request
  read,           // reading the response
};

struct http_error {
  http_error() = default;
  http_error(boost::system::error_code e, std::string m, http_step s = http_step::url, bool t = false)
      : ec(e), message(std::move(m)), step(s), timed_out(t) {}

  boost::system::error_code ec;
  // Complete and readable, e.g. "TLS handshake with localhost:8443 failed: certificate verify
  // failed: self-signed certificate (certificate subject /CN=localhost)".
  std::string message;
  http_step step = http_step::url;
  bool timed_out = false;           // the step's deadline passed (connect_timeout / request_timeout)
  std::string certificate_refusal;  // tls_handshake: why the peer's certificate was refused, else ""
};

[[noreturn]] inline void throw_exception_from_error(const http_error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

// Where requests go: parsed from a base URL ("https://host:8443/fhir").
struct endpoint {
  bool tls = false;
  std::string host;         // for DNS and certificate checks (IPv6 without brackets)
  std::string host_header;  // "host[:port]" as sent in Host
  std::uint16_t port = 0;
  std::string base_path;  // "/fhir", no trailing slash ("" for the root)

  // http or https (any case), a host, an optional port; the query and fragment are ignored.
  static boost::system::result<endpoint, http_error> parse(std::string_view url);
};

}  // namespace iomt::net
