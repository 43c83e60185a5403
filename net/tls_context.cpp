#include "net/tls_context.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace iomt::net {

namespace ssl = boost::asio::ssl;

boost::system::result<std::shared_ptr<ssl::context>, tls_setup_error> make_client_context(const tls_options& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (!options.verify) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) return tls_setup_error{tls_setup_error::step::system_store, ec};
  if (!options.ca_file.empty()) {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) return tls_setup_error{tls_setup_error::step::ca_file, ec};
  }
  // Also on the context, so a stream nobody prepared still checks the chain (not the name).
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

std::string describe(const tls_setup_error& e, const tls_options& options) {
  if (e.failed == tls_setup_error::step::system_store) return "cannot load the system trust store: " + e.ec.message();
  return "cannot load the CA file '" + options.ca_file + "': " + e.ec.message();
}

std::string trust_anchors_text(const tls_options& options) {
  return options.ca_file.empty() ? "system trust store" : "system trust store and CA file " + options.ca_file;
}

bool is_certificate_refusal(const boost::system::error_code& handshake_error, const std::string& refusal) {
  return !refusal.empty() ||
         (handshake_error.category() == boost::asio::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(handshake_error.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED);
}

namespace detail {

void set_server_name(void* native_ssl, const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  if (!ec) return;  // SNI carries host names only (RFC 6066 §3)
  // (SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.)
  SSL_ctrl(static_cast<SSL*>(native_ssl), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(name.c_str()));
}

std::function<bool(bool, ssl::verify_context&)> verify_callback(const std::string& name, std::string& refusal) {
  return [check = ssl::host_name_verification(name), name, &refusal](bool preverified, ssl::verify_context& vc) {
    const bool ok = check(preverified, vc);
    if (ok || !refusal.empty()) return ok;
    X509_STORE_CTX* store = vc.native_handle();
    const int err = X509_STORE_CTX_get_error(store);
    if (!preverified && err != X509_V_OK)
      refusal = X509_verify_cert_error_string(err);
    else
      refusal = "the certificate does not match the host name '" + name + "'";
    if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
      char subject[256];
      if (X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject))
        refusal += std::string(" (certificate subject ") + subject + ")";
    }
    return ok;
  };
}

}  // namespace detail

}  // namespace iomt::net
