// Integration test support for fhir/: the real in-memory FHIR server (started and stopped by the
// project's scripts/peers/start-fhir-server.sh, or FHIR_URL from the environment), a blocking
// HTTP helper to look at the server behind the client's back, and a runner for coroutines.
#pragma once

#include "fhir/http_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace iomt::fhir::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Runs one coroutine to completion on `ioc` (the test's shard) and returns its value.
template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T v) {
    failure = e;
    if (!e) out.emplace(std::move(v));
  });
  ioc.restart();
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  if (!out) throw std::runtime_error("coroutine did not complete");
  return std::move(*out);
}

// co_spawn completion for coroutines a test starts and does not wait on (sessions of the test
// servers, concurrent requests): an exception is printed, never dropped; the test's assertions
// then fail on what the coroutine did not do.
inline auto log_exception(std::string what) {
  return [what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << what << ": exception: " << x.what() << '\n';
    } catch (...) {
      std::cerr << what << ": a non-standard exception\n";
    }
  };
}

inline unsigned short free_port() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

struct reply {
  unsigned status = 0;
  std::string body;
  std::string etag;
  boost::json::value json() const { return boost::json::parse(body); }
};

// Blocking request to an absolute URL (test-side inspection, not the code under test).
inline reply call(http::verb method, const std::string& url, const std::string& body = {},
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  const auto scheme_end = url.find("://");
  const auto path_start = url.find('/', scheme_end + 3);
  auto ep = endpoint::parse(url.substr(0, path_start));
  if (!ep) throw std::runtime_error(ep.error().message);
  const std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  asio::ip::tcp::resolver r(ioc);
  s.connect(r.resolve(ep->host, std::to_string(ep->port)));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, ep->host_header);
  req.set(http::field::accept, "application/fhir+json");
  if (!body.empty()) req.set(http::field::content_type, "application/fhir+json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  beast::error_code ignored;
  s.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return {res.result_int(), res.body(), std::string(res[http::field::etag])};
}

// The FHIR server for the whole test module (Boost.Test global fixture).
class fhir_server {
public:
  fhir_server() {
    if (const char* env = std::getenv("FHIR_URL"); env && *env) {
      url_() = env;
      return;
    }
    const char* src = std::getenv("IOMT_SOURCE_DIR");
    const std::filesystem::path scripts = std::filesystem::path(src && *src ? src : ".") / "scripts/peers";
    const unsigned short port = free_port();
    char tmpl[] = "/tmp/iomt-fhir-it-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    stop_script_ = (scripts / "stop-services.sh").string();
    // If this process dies without running the destructor, a detached watchdog stops the server.
    const std::string watchdog = "nohup bash -c 'while kill -0 " + std::to_string(getpid()) +
                                 " 2>/dev/null; do sleep 1; done; \"" + stop_script_ + "\" \"" + dir_.string() +
                                 "\"; rm -rf \"" + dir_.string() + "\"' >/dev/null 2>&1 &";
    [[maybe_unused]] int watchdog_rc = std::system(watchdog.c_str());
    const std::string cmd = "'" + (scripts / "start-fhir-server.sh").string() + "' --port " + std::to_string(port) +
                            " --dir '" + dir_.string() + "' >'" + (dir_ / "start.log").string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::string log;
      if (FILE* f = std::fopen((dir_ / "start.log").c_str(), "r")) {
        char b[4096];
        std::size_t n;
        while ((n = std::fread(b, 1, sizeof b, f)) > 0) log.append(b, n);
        std::fclose(f);
      }
      throw std::runtime_error("could not start the FHIR server (" + cmd + "):\n" + log);
    }
    url_() = "http://127.0.0.1:" + std::to_string(port) + "/fhir";
  }
  ~fhir_server() {
    if (dir_.empty()) return;
    const std::string cmd = "'" + stop_script_ + "' '" + dir_.string() + "' >/dev/null 2>&1";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  fhir_server(const fhir_server&) = delete;
  fhir_server& operator=(const fhir_server&) = delete;

  static const std::string& url() { return url_(); }

  // POST {base}/$reset: an empty store for the next test.
  static void reset() {
    auto r = call(http::verb::post, url() + "/$reset");
    if (r.status != 200) throw std::runtime_error("$reset failed: " + std::to_string(r.status) + " " + r.body);
  }

private:
  static std::string& url_() {
    static std::string u;
    return u;
  }
  std::filesystem::path dir_;
  std::string stop_script_;
};

// Per-test fixture: an empty server.
struct empty_server {
  empty_server() { fhir_server::reset(); }
};

}  // namespace iomt::fhir::test
