// The driver of `auth: jwt` on ingest: fetches the token issuer's signing keys and hands them to
// the bearer_verifier (bearer_auth.hpp). OpenID Connect Discovery 1.0 §4: GET
// <issuer>/.well-known/openid-configuration -> jwks_uri (its `issuer` must be an accepted issuer),
// then GET jwks_uri -> JWK Set (RFC 7517 §5), with the project's HTTP client (net/http_pool.hpp,
// TLS as net/tls_context.hpp: verification on, `ca_file` added to the system store). Both URLs
// must be https unless allow_http (tests only).
//
// When: at start, every refresh_interval, and when a token names an unknown key (rate-limited by
// refresh_schedule). A failed fetch keeps the previous key set (tokens keep being checked against
// it) and is retried with backoff; until a first success, ingest answers 503 and /readyz says so.
//
// Runs on the executor it is given (a strand of the ingest io_context): every wait is
// asynchronous, so the ingest threads are never blocked by the issuer.
#pragma once

#include "net/tls_context.hpp"
#include "transport/http/bearer_auth.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace iomt::net {
class http_pool;
}

namespace iomt::transport::http {

struct jwks_options {
  std::string issuer;    // discovery at <issuer>/.well-known/openid-configuration
  std::string jwks_uri;  // set: fetched directly, no discovery
  net::tls_options tls;
  bool allow_http = false;  // http:// issuer / jwks_uri (tests only)
  std::chrono::milliseconds refresh_interval{std::chrono::hours(1)};
  std::chrono::milliseconds min_refresh_interval{std::chrono::seconds(30)};
  std::chrono::milliseconds max_backoff{std::chrono::minutes(5)};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // Log lines: level 0 info, 1 warn, 2 error; (message, detail). May be empty.
  std::function<void(int, const std::string&, const std::string&)> log;
};

// The URL checks of jwks_options (scheme, host): "" when fine, else why not.
std::string check_jwks_url(const std::string& url, bool allow_http, const char* what);

class jwks_client : public std::enable_shared_from_this<jwks_client> {
public:
  // `ex`: where the client runs (one strand: its state is not locked).
  static std::shared_ptr<jwks_client> create(boost::asio::any_io_executor ex, jwks_options options,
                                             std::shared_ptr<bearer_verifier> target);
  ~jwks_client();

  // Thread-safe. start: the first fetch now, then as the schedule says. request_refresh: a token
  // named an unknown key. stop: the loop ends (a fetch in flight ends at its timeout).
  void start();
  void request_refresh();
  void stop();

  std::uint64_t fetches() const noexcept { return fetches_; }
  std::uint64_t failures() const noexcept { return failures_; }

private:
  jwks_client(boost::asio::any_io_executor ex, jwks_options options, std::shared_ptr<bearer_verifier> target);
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<boost::system::result<std::string, std::string>> fetch();  // detail for the log
  boost::asio::awaitable<boost::system::result<std::string, std::string>> get(const std::string& url);
  void log(int level, const std::string& message, const std::string& detail) const;

  boost::asio::any_io_executor ex_;
  jwks_options options_;
  std::shared_ptr<bearer_verifier> target_;
  refresh_schedule schedule_;
  boost::asio::steady_timer timer_;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<net::http_pool>> pools_;  // by origin
  std::atomic<std::uint64_t> fetches_{0}, failures_{0};
};

}  // namespace iomt::transport::http
