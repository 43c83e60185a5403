// `iomtflow run --config FILE`: the streaming service. HTTP ingest (Event Hubs REST compatible)
// -> parse + normalize on the HTTP threads -> shards (window, group, FHIR upsert), with /metrics,
// /healthz and /readyz on the same port. SIGTERM/SIGINT: stop accepting, finish in-flight work
// (every accepted event gets its final outcome), exit 0.
#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/commands.hpp"
#include "pipeline/config.hpp"
#include "pipeline/designer/routes.hpp"
#include "pipeline/fhir_writer.hpp"
#include "pipeline/log.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/pipeline.hpp"
#include "transport/http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <iostream>
#include <thread>

namespace iomt::cli {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

transport::http::response text_response(bhttp::status status, std::string body, const char* content_type = "text/plain; charset=utf-8") {
  transport::http::response res{status, 11};
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string load_file(const std::string& path, const char* what) {
  std::string err;
  auto text = read_input(path, err);
  if (!text) throw std::runtime_error(std::string(what) + ": " + err);
  return *text;
}

// Readiness (GET /readyz): the FHIR server answers an authorized identifier search.
struct readiness {
  std::atomic<bool> fhir_ok{false};
  std::atomic<bool> source_ok{false};
  std::string last_error;
  std::mutex mutex;
};

asio::awaitable<void> probe_fhir(fhir::client& c, readiness& r, pipeline::metrics& m, std::atomic<bool>& stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool first = true;  // a server that is not ready at start-up is logged too
  while (!stopping) {
    auto res = co_await c.send(bhttp::verb::get, "Device?identifier=iomtflow-readiness-probe&_count=1");
    bool ok = res && res->status / 100 == 2;
    {
      std::lock_guard l(r.mutex);
      r.last_error = ok ? "" : res ? "FHIR server answered " + std::to_string(res->status) : res.error().type + ": " + res.error().message;
    }
    if (ok != r.fhir_ok.exchange(ok) || (first && !ok)) {
      if (ok)
        log::info("FHIR server is reachable and authorized", {{"url", c.origin().host}});
      else
        log::warn("FHIR server not ready", {{"error", r.last_error}});
    }
    first = false;
    m.ready->Set(ok && r.source_ok ? 1 : 0);
    timer.expires_after(ok ? std::chrono::seconds(10) : std::chrono::seconds(2));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

int run(int argc, char** argv, int first) {
  args a(argc, argv, first, {});
  if (!a.ok() || a.unknown({"config"}) || !a.get("config")) {
    std::cerr << "usage: iomtflow run --config FILE\n";
    return 2;
  }
  auto cfg = pipeline::load_config(*a.get("config"));
  if (!cfg) {
    std::cerr << "error: config: " << cfg.error().field << ": " << cfg.error().message << '\n';
    return 2;
  }
  log::level lvl{};
  log::parse_level(cfg->log.level, lvl);
  log::set_level(lvl);
  log::set_rate_limit(cfg->log.error_burst, cfg->log.error_interval);

  std::shared_ptr<const mapping::device::device_mapping> device;
  std::shared_ptr<const mapping::fhir::fhir_mapping> fhir_map;
  try {
    auto d = mapping::device::device_mapping::load(load_file(cfg->mapping.device_mapping, "mapping.device"));
    auto f = mapping::fhir::fhir_mapping::load(load_file(cfg->mapping.fhir_mapping, "mapping.fhir"));
    for (const auto& e : d.errors)
      std::cerr << cfg->mapping.device_mapping << ": " << (e.warning ? "warning" : "error") << ": " << e.type << ": " << e.full_message() << '\n';
    for (const auto& e : f.errors)
      std::cerr << cfg->mapping.fhir_mapping << ": " << (e.warning ? "warning" : "error") << ": " << e.type << ": " << e.full_message() << '\n';
    if (!d.valid() || !f.valid()) {
      std::cerr << "error: the mappings are invalid (iomtflow mapping validate shows the same errors)\n";
      return 1;
    }
    device = d.mapping;
    fhir_map = f.mapping;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  }

  pipeline::metrics metrics(cfg->pipeline.shards);
  // Check the FHIR client options once before any thread starts (bad URL, unreadable CA file).
  asio::io_context control;
  auto probe_client = fhir::client::create(control.get_executor(), pipeline::make_client_options(cfg->fhir));
  if (!probe_client) {
    std::cerr << "error: config: fhir: " << probe_client.error().message << '\n';
    return 2;
  }
  const pipeline::fhir_config fcfg = cfg->fhir;
  pipeline::pipeline pipe(cfg->pipeline, device, fhir_map, metrics, [&](asio::io_context& ioc) -> std::unique_ptr<pipeline::group_writer> {
    auto w = pipeline::fhir_group_writer::create(ioc, fcfg, *fhir_map, metrics);
    if (!w) throw std::runtime_error(w.error().message);
    return std::move(*w);
  });

  // HTTP ingest.
  transport::http::ingest_options io;
  io.hubs = cfg->http.hubs;
  io.max_body_bytes = cfg->http.max_body_bytes;
  io.max_event_bytes = cfg->http.max_body_bytes;
  io.partition_count = cfg->http.partitions;
  std::optional<transport::http::sas_verifier> sas;
  if (cfg->http.auth == "sas") {
    transport::http::sas_options so;
    for (const auto& k : cfg->http.keys) so.keys.push_back({k.name, k.key});
    sas.emplace(std::move(so));
  }
  transport::http::eventhub_ingest ingest(io, std::move(sas));
  asio::io_context http_ioc(static_cast<int>(cfg->http.threads));
  transport::http::server_options so;
  so.address = cfg->http.listen_address;
  so.port = cfg->http.port;
  if (cfg->designer.enabled)
    so.max_route_body_bytes = std::max(so.max_route_body_bytes, designer::designer_options{}.max_body_bytes);
  so.on_request = [&metrics](const transport::http::request_record& r) {
    std::string route = r.path == "/metrics" || r.path == "/healthz" || r.path == "/readyz" ? std::string(r.path)
                        : r.path.rfind("/designer", 0) == 0                                ? "designer"
                                                                                            : "ingest";
    metrics.http_request(route, r.status);
  };
  transport::http::server server(http_ioc, so, ingest, pipe);
  readiness ready;
  server.add_route(bhttp::verb::get, "/metrics", [&](const transport::http::request&) {
    return text_response(bhttp::status::ok, metrics.serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.add_route(bhttp::verb::get, "/healthz", [](const transport::http::request&) {
    return text_response(bhttp::status::ok, "ok\n");
  });
  server.add_route(bhttp::verb::get, "/readyz", [&](const transport::http::request&) {
    if (ready.fhir_ok && ready.source_ok) return text_response(bhttp::status::ok, "ready\n");
    std::lock_guard l(ready.mutex);
    std::string why = !ready.source_ok ? "source not ready" : "FHIR server not ready: " + ready.last_error;
    return text_response(bhttp::status::service_unavailable, why + "\n");
  });
  if (cfg->designer.enabled) {
    designer::designer_options d;
    d.prefix = "/designer";
    designer::add_designer_routes(server, d);
  }
  if (auto ec = server.listen()) {
    std::cerr << "error: source.http: cannot listen on " << so.address << ":" << so.port << ": " << ec.message() << '\n';
    return 2;
  }

  try {
    pipe.start();
  } catch (const std::exception& e) {
    std::cerr << "error: fhir: " << e.what() << '\n';
    return 2;
  }
  server.start();
  ready.source_ok = true;
  log::info("iomtflow started",
            {{"listen", so.address + ":" + std::to_string(server.local_endpoint().port())},
             {"fhir", cfg->fhir.url},
             {"identity", cfg->fhir.identity},
             {"shards", std::to_string(pipe.shard_count())}});

  std::atomic<bool> stopping{false};
  asio::co_spawn(control, probe_fhir(**probe_client, ready, metrics, stopping), asio::detached);
  std::thread control_thread([&] { control.run(); });

  asio::signal_set signals(http_ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping: finishing in-flight work", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    ready.source_ok = false;
    stopping = true;
    pipe.begin_drain();
    server.shutdown(std::chrono::seconds(30), [&] { http_ioc.stop(); });
  });
  std::vector<std::thread> http_threads;
  for (std::uint32_t i = 1; i < cfg->http.threads; ++i) http_threads.emplace_back([&] { http_ioc.run(); });
  http_ioc.run();
  for (auto& t : http_threads) t.join();
  pipe.stop();
  control.stop();
  control_thread.join();
  log::info("iomtflow stopped");
  return 0;
}

}  // namespace iomt::cli
