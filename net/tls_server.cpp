#include "net/tls_server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/stat.h>

namespace iomt::net {

namespace ssl = boost::asio::ssl;

// ECDHE with AEAD only; ECDSA before RSA, AES-128 before AES-256 before ChaCha20 (the order of the
// widely used "intermediate" server profile). TLS 1.3 suites are OpenSSL's defaults.
const char* const server_cipher_list =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

boost::system::result<std::shared_ptr<ssl::context>, std::string> make_server_context(
    const tls_server_options& options) {
  if (options.cert_file.empty()) return std::string("no certificate file (cert_file) given");
  if (options.key_file.empty()) return std::string("no private key file (key_file) given");
  if (options.min_version != "1.2" && options.min_version != "1.3")
    return "min_version must be 1.2 or 1.3, got '" + options.min_version + "'";
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                   ssl::context::no_compression);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(native, options.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(native, server_cipher_list) != 1) return std::string("OpenSSL refused the cipher list");
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(options.cert_file, ec);
  if (ec) return "cannot load the certificate '" + options.cert_file + "': " + ec.message();
  ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) return "cannot load the private key '" + options.key_file + "': " + ec.message();
  if (SSL_CTX_check_private_key(native) != 1)
    return "the private key '" + options.key_file + "' does not belong to the certificate '" + options.cert_file + "'";
  if (!options.client_ca_file.empty()) {
    ctx->load_verify_file(options.client_ca_file, ec);
    if (ec) return "cannot load the client CA file '" + options.client_ca_file + "': " + ec.message();
    // The CA names go into the CertificateRequest, so clients pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  // Needed for session resumption when client certificates are verified.
  static const unsigned char session_context[] = "iomtflow-ingest";
  SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);
  return ctx;
}

namespace {

reloading_server_context::file_stamp stamp_of(const std::string& path) {
  reloading_server_context::file_stamp s;
  if (path.empty()) return s;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.dev = static_cast<std::uint64_t>(st.st_dev);
  s.ino = static_cast<std::uint64_t>(st.st_ino);
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

}  // namespace

reloading_server_context::reloading_server_context(tls_server_options options, event_fn on_event,
                                                   std::chrono::milliseconds interval)
    : options_(std::move(options)), on_event_(std::move(on_event)), interval_(interval) {}

boost::system::result<std::shared_ptr<reloading_server_context>, std::string> reloading_server_context::create(
    tls_server_options options, event_fn on_event, std::chrono::milliseconds check_interval) {
  std::shared_ptr<reloading_server_context> r(
      new reloading_server_context(std::move(options), std::move(on_event), check_interval));
  auto stamps = r->stamps();
  auto ctx = make_server_context(r->options_);
  if (!ctx) return ctx.error();
  r->context_ = std::move(*ctx);
  r->loaded_stamps_ = std::move(stamps);
  r->next_check_ = clock::now() + check_interval;
  return r;
}

std::vector<reloading_server_context::file_stamp> reloading_server_context::stamps() const {
  return {stamp_of(options_.cert_file), stamp_of(options_.key_file), stamp_of(options_.client_ca_file)};
}

bool reloading_server_context::reload_locked(std::vector<file_stamp> now) {
  if (now == loaded_stamps_ || now == failed_stamps_) return false;
  // A rotation writes the certificate and the key one after the other; a pair caught half-way
  // fails the key check and is simply tried again at the next change (or the next interval).
  auto ctx = make_server_context(options_);
  if (!ctx) {
    failed_stamps_ = std::move(now);
    if (on_event_) on_event_(2, "TLS certificate reload failed; the previous certificate stays in use", ctx.error());
    return false;
  }
  context_ = std::move(*ctx);
  loaded_stamps_ = std::move(now);
  failed_stamps_.clear();
  ++reloads_;
  if (on_event_) on_event_(0, "TLS certificate reloaded", options_.cert_file);
  return true;
}

std::shared_ptr<ssl::context> reloading_server_context::current() {
  std::lock_guard lock(mutex_);
  const auto t = clock::now();
  if (t >= next_check_) {
    next_check_ = t + interval_;
    reload_locked(stamps());
  }
  return context_;
}

bool reloading_server_context::check_now() {
  std::lock_guard lock(mutex_);
  next_check_ = clock::now() + interval_;
  return reload_locked(stamps());
}

std::uint64_t reloading_server_context::reloads() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

}  // namespace iomt::net
