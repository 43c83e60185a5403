// `iomtflow designer [--port 8090] [--listen 127.0.0.1] [--shared-dir DIR] [--base-path /PATH]
// [--user NAME --password-env VAR]`: the
// mapping designer on its own (issue 6): the transport HTTP server with the designer's routes and
// an ingest that accepts no hub.
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/commands.hpp"
#include "pipeline/designer/routes.hpp"
#include "pipeline/designer/static_files.hpp"
#include "transport/http/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace iomt::cli {

namespace {

namespace bhttp = transport::http::bhttp;

// Never called (no hub is accepted); refuses anything all the same.
class no_ingest final : public transport::event_sink {
public:
  transport::submit_status submit(std::vector<transport::event>&&, transport::completion) override {
    return transport::submit_status::shutting_down;
  }
};

constexpr const char* designer_usage =
    "usage: iomtflow designer [--port 8090] [--listen 127.0.0.1] [--shared-dir DIR] [--base-path /PATH]\n"
    "                         [--user designer --password-env VAR]\n"
    "  serves the mapping designer page and its JSON API; --port 0 picks a free port.\n"
    "  --password-env: HTTP Basic authentication with the password in $VAR (required when --listen is not\n"
    "    a loopback address: the designer runs any mapping on any input)\n"
    "  --shared-dir: where the workshop example is read (default $IOMT_SHARED_DIR, else ../shared)\n"
    "  --base-path: serve under /PATH/ instead of / (e.g. behind a reverse proxy)\n";

}  // namespace

int designer(int argc, char** argv, int first) {
  args a(argc, argv, first, {});
  if (!a.ok() || a.unknown({"port", "listen", "shared-dir", "base-path", "user", "password-env"}) ||
      !a.positionals().empty()) {
    std::cerr << designer_usage;
    if (!a.ok()) std::cerr << "error: " << a.error() << '\n';
    return 2;
  }
  transport::http::server_options so;
  so.address = a.get("listen").value_or("127.0.0.1");
  so.port = 8090;
  if (auto p = a.get("port")) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), v);
    if (ec != std::errc() || end != p->data() + p->size() || v > 65535) {
      std::cerr << "error: --port: not a port number: " << *p << '\n';
      return 2;
    }
    so.port = static_cast<std::uint16_t>(v);
  }
  designer::designer_options dopt;
  dopt.shared_dir = a.get("shared-dir").value_or("");
  dopt.prefix = a.get("base-path").value_or("");
  while (!dopt.prefix.empty() && dopt.prefix.back() == '/') dopt.prefix.pop_back();
  if (!dopt.prefix.empty() && (dopt.prefix.front() != '/' || dopt.prefix.find_first_of("?#% ") != std::string::npos)) {
    std::cerr << "error: --base-path: expected a path such as /designer, got " << *a.get("base-path") << '\n';
    return 2;
  }
  if (auto var = a.get("password-env")) {
    const char* value = std::getenv(std::string(*var).c_str());
    if (!value || !*value) {
      std::cerr << "error: --password-env: environment variable " << *var << " is not set\n";
      return 2;
    }
    dopt.basic_user = a.get("user").value_or("designer");
    dopt.basic_password = value;
  }
  {
    const std::string& l = so.address;
    const bool loopback = l == "localhost" || l == "::1" || l.rfind("127.", 0) == 0;
    if (!loopback && dopt.basic_password.empty()) {
      std::cerr << "error: --listen " << l
                << " is not a loopback address: set --password-env VAR (HTTP Basic authentication)\n";
      return 2;
    }
  }
  so.max_route_body_bytes = dopt.max_body_bytes;
  so.server_name = "iomtflow designer";

  boost::asio::io_context ioc(2);
  // The server always routes POST /{hub}/messages to ingest (a page route never shadows it); the
  // only hub configured cannot be named in a URL path, so such a request gets a clear 404.
  transport::http::ingest_options no_hubs;
  no_hubs.hubs = {"none: iomtflow designer has no ingest"};
  transport::http::eventhub_ingest ingest(no_hubs, std::nullopt);
  no_ingest sink;
  transport::http::server server(ioc, so, ingest, sink);
  designer::add_designer_routes(server, dopt);
  if (!dopt.prefix.empty()) {
    // Everything outside the base path: 404 (405 for other methods; send routes go to `ingest`).
    server.add_route(bhttp::verb::get, "/", [prefix = dopt.prefix](const transport::http::request& req) {
      transport::http::response res{bhttp::status::not_found, req.version()};
      res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      res.body() = "not found: the designer is at " + prefix + "/\n";
      res.prepare_payload();
      return res;
    });
  }
  if (auto ec = server.listen()) {
    std::cerr << "error: cannot listen on " << so.address << ":" << so.port << ": " << ec.message() << '\n';
    return 2;
  }
  server.start();
  const auto port = server.local_endpoint().port();
  const std::string host = so.address.find(':') != std::string::npos ? "[" + so.address + "]" : so.address;
  std::cout << "iomtflow designer: http://" << host << ':' << port << dopt.prefix << "/\n";
  if (!designer::page_built())
    std::cout << "note: the page was not built into this binary (no npm at build time); the JSON API works\n";
  std::cout.flush();

  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server.shutdown(std::chrono::seconds(5), [&] { ioc.stop(); });
  });
  std::thread second([&] { ioc.run(); });
  ioc.run();
  second.join();
  return 0;
}

}  // namespace iomt::cli
