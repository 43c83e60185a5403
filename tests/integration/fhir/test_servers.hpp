// Small local servers for the fhir/ integration tests, each on its own thread and io_context:
// - test_http_server: HTTP/1.1 (optionally TLS) keep-alive server running a handler per request;
// - fault_proxy: answers the first requests with scripted faults (429 / 503 with Retry-After,
//   dropped connections), then forwards to the real FHIR server and records what it forwarded;
// - make_self_signed, server_tls, temp_file: from tests/tls_test_support.hpp, for the TLS tests.
#pragma once

#include "fhir_test_support.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

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

// The TLS helpers of every suite (tests/tls_test_support.hpp).
using iomt::test::make_self_signed;
using iomt::test::pem_pair;
using iomt::test::server_tls;
using iomt::test::temp_file;

}  // namespace iomt::fhir::test
