// Small local servers for the fhir/ integration tests, each on its own thread and io_context:
// - test_http_server: HTTP/1.1 (optionally TLS) keep-alive server running a handler per request;
// - fault_proxy: answers the first requests with scripted faults (429 / 503 with Retry-After,
//   dropped connections), then forwards to the real FHIR server and records what it forwarded;
// - make_self_signed: an in-memory self-signed certificate (OpenSSL) for the TLS tests.
#pragma once

#include "fhir_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace iomt::fhir::test {

using request_t = http::request<http::string_body>;
using response_t = http::response<http::string_body>;
// nullopt: close the connection without answering.
using handler_t = std::function<std::optional<response_t>(const request_t&)>;

class test_http_server {
public:
  // close_after_response: hang up after every answer while advertising keep-alive (a server
  // that drops idle keep-alive connections).
  explicit test_http_server(handler_t handler, std::shared_ptr<asio::ssl::context> tls = nullptr,
                            bool close_after_response = false)
      : handler_(std::move(handler)),
        tls_(std::move(tls)),
        close_after_response_(close_after_response),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc_, accept_loop(), log_exception("test_http_server accept loop"));
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~test_http_server() {
    ioc_.stop();
    thread_.join();
  }
  test_http_server(const test_http_server&) = delete;
  test_http_server& operator=(const test_http_server&) = delete;

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_.load(); }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++connections_;
      if (tls_)
        asio::co_spawn(ioc_, tls_session(std::move(socket)), log_exception("test_http_server TLS session"));
      else
        asio::co_spawn(ioc_, session(beast::tcp_stream(std::move(socket))), log_exception("test_http_server session"));
    }
  }

  asio::awaitable<void> tls_session(asio::ip::tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // the client refused our certificate
    co_await serve(stream);
  }

  asio::awaitable<void> session(beast::tcp_stream stream) { co_await serve(stream); }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      request_t req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      std::optional<response_t> res;
      try {
        res = handler_(req);
      } catch (const std::exception& e) {  // a broken test handler answers 502, visibly
        res.emplace(http::status::bad_gateway, 11);
        res->body() = std::string("test server handler failed: ") + e.what();
      }
      if (!res) co_return;  // drop: the stream closes when the session ends
      res->version(11);
      res->keep_alive(req.keep_alive());
      res->prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, *res, asio::as_tuple(asio::use_awaitable));
      if (wec || !req.keep_alive() || close_after_response_) co_return;
    }
  }

  handler_t handler_;
  std::shared_ptr<asio::ssl::context> tls_;
  bool close_after_response_ = false;
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> connections_{0};
};

inline response_t make_response(unsigned status, std::string body,
                                std::string_view content_type = "application/fhir+json") {
  response_t res{http::int_to_status(status), 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

// One scripted answer: status 0 = drop the connection without a response.
struct fault {
  unsigned status = 0;
  std::string retry_after;
};

class fault_proxy {
public:
  // upstream: the real server's base URL, e.g. http://127.0.0.1:8080/fhir (same base path here).
  // The first `pass_first` requests are forwarded, then the faults are played, then all is
  // forwarded again.
  fault_proxy(std::string upstream, std::vector<fault> faults, std::size_t pass_first = 0)
      : upstream_(std::move(upstream)),
        faults_(std::move(faults)),
        pass_first_(pass_first),
        server_([this](const request_t& r) { return handle(r); }) {}

  std::string url() const {
    const auto path = upstream_.find('/', upstream_.find("://") + 3);
    return "http://127.0.0.1:" + std::to_string(server_.port()) +
           (path == std::string::npos ? "" : upstream_.substr(path));
  }
  std::vector<std::string> forwarded() const {
    std::lock_guard lock(mutex_);
    return forwarded_;
  }
  int injected() const {
    std::lock_guard lock(mutex_);
    return injected_;
  }
  int forwarded_count(std::string_view method) const {
    int n = 0;
    for (const auto& f : forwarded())
      if (f.starts_with(method)) ++n;
    return n;
  }

private:
  std::optional<response_t> handle(const request_t& req) {
    {
      std::lock_guard lock(mutex_);
      const std::size_t k = seen_++;
      if (k >= pass_first_ && k - pass_first_ < faults_.size()) {
        const fault f = faults_[k - pass_first_];
        ++injected_;
        if (f.status == 0) return std::nullopt;
        response_t res = make_response(
            f.status,
            R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"throttled","diagnostics":"injected )" +
                std::to_string(f.status) + R"("}]})");
        if (!f.retry_after.empty()) res.set(http::field::retry_after, f.retry_after);
        return res;
      }
    }
    const auto origin_end = upstream_.find('/', upstream_.find("://") + 3);
    const std::string origin = upstream_.substr(0, origin_end);
    std::vector<std::pair<std::string, std::string>> headers;
    for (auto field : {http::field::if_match, http::field::content_type, http::field::prefer})
      if (req.count(field)) headers.emplace_back(std::string(http::to_string(field)), std::string(req[field]));
    reply r = call(req.method(), origin + std::string(req.target()), req.body(), headers);
    {
      std::lock_guard lock(mutex_);
      forwarded_.push_back(std::string(req.method_string()) + " " + std::string(req.target()) + " -> " +
                           std::to_string(r.status));
    }
    response_t res = make_response(r.status, r.body);
    if (!r.etag.empty()) res.set(http::field::etag, r.etag);
    return res;
  }

  std::string upstream_;
  std::vector<fault> faults_;
  mutable std::mutex mutex_;
  std::size_t pass_first_ = 0;
  std::size_t seen_ = 0;
  int injected_ = 0;
  std::vector<std::string> forwarded_;
  test_http_server server_;  // last: stopped first
};

struct pem_pair {
  std::string cert;
  std::string key;
};

// A self-signed EC P-256 certificate for CN=localhost with the given subjectAltName
// (e.g. "DNS:localhost" or "DNS:localhost,IP:127.0.0.1").
inline pem_pair make_self_signed(const std::string& san) {
  auto fail = [](const char* what) { return std::runtime_error(std::string("OpenSSL: ") + what); };
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", const_cast<char*>("P-256"));
  if (!key) throw fail("keygen");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  if (!ext) throw fail("subjectAltName");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  if (!X509_sign(x, key, EVP_sha256())) throw fail("sign");
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  pem_pair out;
  out.cert = to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  out.key = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

inline std::shared_ptr<asio::ssl::context> server_tls(const pem_pair& pem) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->use_certificate_chain(asio::buffer(pem.cert));
  ctx->use_private_key(asio::buffer(pem.key), asio::ssl::context::pem);
  return ctx;
}

}  // namespace iomt::fhir::test
