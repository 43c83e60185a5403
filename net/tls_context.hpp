// TLS for every client iomtflow opens (the FHIR server and its token endpoint, the AMQP broker,
// Azure Blob Storage): one context factory and one per-connection setup, so that the settings
// mean the same everywhere (docs/configuration.md "TLS").
//
//   verify = true (the default)  the peer's chain must lead to a trusted anchor, and its
//                                certificate must name the host we connect to (DNS name or IP
//                                address in subjectAltName, RFC 6125 / RFC 2818 §3.1);
//   ca_file                      PEM trust anchors ADDED to the system trust store (a private CA
//                                next to the public ones); unreadable: a start-up error;
//   verify = false               no certificate or name check (tests, experiments); the CA file
//                                is then not read.
// Always: TLS 1.2 or later; SNI carries the host name (never an IP literal, RFC 6066 §3).
//
// Sans-io apart from reading the CA file; the contexts are immutable after creation and may be
// shared by any number of streams and threads.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <functional>
#include <memory>
#include <string>

namespace iomt::net {

struct tls_options {
  bool verify = true;
  std::string ca_file;  // PEM trust anchors added to the system store; empty: the system store only
};

// Why a context could not be made. Callers word the message in their own terms.
struct tls_setup_error {
  enum class step { system_store, ca_file } failed = step::ca_file;
  boost::system::error_code ec;
};

// A client context for `options` (TLS 1.2 minimum; verify_peer when verifying).
boost::system::result<std::shared_ptr<boost::asio::ssl::context>, tls_setup_error> make_client_context(
    const tls_options& options);

// "cannot load the CA file 'x.pem': No such file or directory" (or the system trust store).
std::string describe(const tls_setup_error& e, const tls_options& options);

// "system trust store" or "system trust store and CA file X": where anchors came from, for
// certificate errors.
std::string trust_anchors_text(const tls_options& options);

// Names the peer on one client stream (an asio::ssl::stream or beast::ssl_stream, before its
// handshake): SNI for `name` unless it is an IP literal, and, when `verify`, peer verification with
// a host-name check against `name`. The first refusal is described in `refusal`, e.g.
// "self-signed certificate (certificate subject /CN=localhost)" or "the certificate does not
// match the host name 'x' (certificate subject /CN=y)"; `refusal` must outlive the handshake.
template <class SslStream>
void prepare_client_stream(SslStream& stream, const std::string& name, bool verify, std::string& refusal);

// Was this handshake failure the peer's certificate being refused (by chain or by name)?
bool is_certificate_refusal(const boost::system::error_code& handshake_error, const std::string& refusal);

// ---- implementation -----------------------------------------------------------------------------

namespace detail {
void set_server_name(void* native_ssl, const std::string& name);
std::function<bool(bool, boost::asio::ssl::verify_context&)> verify_callback(const std::string& name,
                                                                             std::string& refusal);
}  // namespace detail

template <class SslStream>
void prepare_client_stream(SslStream& stream, const std::string& name, bool verify, std::string& refusal) {
  refusal.clear();
  detail::set_server_name(stream.native_handle(), name);
  if (!verify) {
    stream.set_verify_mode(boost::asio::ssl::verify_none);
    return;
  }
  stream.set_verify_mode(boost::asio::ssl::verify_peer);
  stream.set_verify_callback(detail::verify_callback(name, refusal));
}

}  // namespace iomt::net
