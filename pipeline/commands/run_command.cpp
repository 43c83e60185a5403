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
#include "transport/amqp/eventhubs/eventhubs_source.hpp"
#include "transport/amqp/source_metrics.hpp"
#include "transport/buffer/buffer_metrics.hpp"
#include "transport/metrics/collector.hpp"
#include "transport/amqp/source.hpp"
#include "transport/buffer/durable_source.hpp"
#include "transport/deadletter/store.hpp"
#include "transport/http/server.hpp"
#include "transport/retrying_sink.hpp"

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

// The AMQP sources log through the service's structured log.
void amqp_log(int level, const std::string& m, const std::string& detail) {
  if (level >= 2)
    log::error("amqp", m, {{"detail", detail}});
  else if (level == 1)
    log::warn(m, {{"detail", detail}});
  else
    log::info(m, {{"detail", detail}});
}

transport::amqp::source_options amqp_options(const pipeline::amqp_source_config& c) {
  transport::amqp::source_options o;
  o.url = c.url;
  o.addresses = c.addresses;
  o.user = c.user;
  o.password = c.password;
  o.mechanisms = c.sasl_mechanisms;
  o.tls.ca_file = c.ca_file;
  o.tls.verify = c.tls_verify;
  o.tls.server_name = c.tls_server_name;
  o.connections = c.connections;
  o.threads = c.threads;
  o.consumer.credit.max_unsettled = c.max_unsettled;
  o.consumer.max_batch_events = c.max_batch;
  o.idle_timeout = c.idle_timeout;
  o.reconnect_max = c.reconnect_max;
  o.drain_timeout = c.drain_timeout;
  return o;
}

transport::amqp::eventhubs::eventhubs_source_options eventhubs_options(const pipeline::eventhubs_source_config& c) {
  transport::amqp::eventhubs::eventhubs_source_options o;
  o.connection_string = c.connection_string;
  o.eventhub = c.eventhub;
  o.consumer_group = c.consumer_group;
  o.partitions = c.partitions;
  o.replica_index = c.replica_index;
  o.replica_count = c.replica_count;
  o.start_position = c.start_position;
  o.epoch = c.epoch;
  o.checkpoint_dir = c.checkpoint_dir;
  o.checkpoint_store_kind = c.checkpoint_store == "blob" ? transport::amqp::eventhubs::checkpoint_kind::blob
                                                         : transport::amqp::eventhubs::checkpoint_kind::file;
  o.checkpoint_blob.connection_string = c.checkpoint_blob_connection_string;
  o.checkpoint_blob.container = c.checkpoint_blob_container;
  o.checkpoint_blob.http.ca_file = c.checkpoint_blob_ca_file;
  o.checkpoint_blob.http.tls_verify = c.checkpoint_blob_tls_verify;
  o.checkpoint_blob.http.request_timeout = c.checkpoint_blob_timeout;
  o.checkpoint_interval = c.checkpoint_interval;
  o.lag_interval = c.lag_interval;
  o.tls.ca_file = c.ca_file;
  o.tls.verify = c.tls_verify;
  o.connections = c.connections;
  o.threads = c.threads;
  o.consumer.credit.max_unsettled = c.max_unsettled;
  o.consumer.max_batch_events = c.max_batch;
  o.drain_timeout = c.drain_timeout;
  return o;
}

// The dead-letter store as deadletter.* configures it (docs/configuration.md): bounds, groups,
// policy; drops and size go to the metrics, its log lines to the service log.
transport::deadletter::store_options dead_letter_options(const pipeline::deadletter_config& c, pipeline::metrics& m,
                                                         transport::deadletter::store_options::log_fn log) {
  transport::deadletter::store_options o;
  o.dir = c.dir;
  o.max_bytes = c.max_bytes;
  o.max_age = c.max_age;
  o.max_entries_per_submission = c.max_entries_per_submission;
  std::vector<transport::deadletter::policy::rule> rules;
  for (const auto& [type, what] : c.policy) {
    transport::deadletter::action a{};
    transport::deadletter::parse_action(what, a);  // validated by the config
    rules.push_back({type, a});
  }
  o.policy = transport::deadletter::policy(std::move(rules));
  o.on_dropped = [&m](std::string_view reason, std::uint64_t events) { m.dead_letters_dropped(reason, events); };
  o.on_size = [&m](std::uint64_t bytes) { m.dead_letter_bytes->Set(static_cast<double>(bytes)); };
  o.log = std::move(log);
  return o;
}

// deadletter.max_age also when nothing fails: puts apply it, this every minute.
asio::awaitable<void> expire_dead_letters(transport::deadletter::store& s, std::atomic<bool>& stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping) {
    if (auto e = s.expire(transport::deadletter::utc_now()))
      log::warn("dead-letter store: expiry failed", {{"error", e->message}});
    timer.expires_after(std::chrono::minutes(1));
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
  metrics.queue_capacity->Set(static_cast<double>(cfg->pipeline.queue_capacity));
  // Check the FHIR client options once before any thread starts (bad URL, unreadable CA file).
  asio::io_context control;
  auto probe_client = fhir::client::create(control.get_executor(), pipeline::make_client_options(cfg->fhir));
  if (!probe_client) {
    std::cerr << "error: config: fhir: " << probe_client.error().message << '\n';
    return 2;
  }
  const pipeline::fhir_config fcfg = cfg->fhir;
  pipeline::pipeline pipe(
      cfg->pipeline, device, fhir_map, metrics,
      [&](asio::io_context& ioc) -> std::unique_ptr<pipeline::group_writer> {
        auto w = pipeline::fhir_group_writer::create(ioc, fcfg, *fhir_map, metrics);
        if (!w) throw std::runtime_error(w.error().message);
        return std::move(*w);
      },
      pipeline::poison_options{.max_attempts = cfg->fhir.poison_attempts});

  // The durable buffer between ingest and the pipeline, and the dead-letter store (iomt issue 4):
  // HTTP ingest answers 201 once the events are on disk; a consumer thread feeds the pipeline.
  std::unique_ptr<transport::buffer::segment_log> buffer_log;
  std::unique_ptr<transport::deadletter::store> dead_letters;
  std::unique_ptr<transport::buffer::durable_source> durable;
  auto component_log = [](const char* component) {
    return [component](int level, const std::string& message, const std::string& detail) {
      if (level >= 2)
        log::error(component, message, {{"detail", detail}});
      else if (level == 1)
        log::warn(message, {{"detail", detail}});
      else
        log::info(message, {{"detail", detail}});
    };
  };
  auto count_dead_letter = [&metrics](const transport::deadletter::failure& f) { metrics.dead_lettered(f.stage, f.type); };
  if (cfg->deadletter.enabled) {
    auto store =
        transport::deadletter::store::open(dead_letter_options(cfg->deadletter, metrics, component_log("deadletter")));
    if (!store) {
      std::cerr << "error: deadletter: " << store.error().message << '\n';
      return 2;
    }
    dead_letters = std::move(*store);
  }
  // Sources that keep their own copy until they settle (AMQP, Event Hubs) go through a retrying
  // sink: transient failures wait there, permanent ones are dead-lettered (issue 12).
  transport::retrying_options ropt;
  ropt.base_delay = cfg->fhir.resubmit_delay;
  ropt.max_delay = cfg->fhir.resubmit_max_delay;
  ropt.max_age = cfg->fhir.max_age;
  transport::retrying_sink guarded(pipe, dead_letters.get(), ropt, component_log("retry"), count_dead_letter);
  // HTTP without the buffer: the sender waits for the FHIR write; past max_wait it gets 503 and
  // sends again later.
  transport::retrying_options http_ropt = ropt;
  http_ropt.max_wait = std::chrono::seconds(20);
  transport::retrying_sink http_direct(pipe, dead_letters.get(), http_ropt, component_log("retry"), count_dead_letter);
  transport::event_sink* ingest_sink = &http_direct;
  if (cfg->buffer.enabled) {
    transport::buffer::log_options lo;
    lo.dir = cfg->buffer.dir;
    lo.max_bytes = cfg->buffer.max_bytes;
    lo.segment_bytes = cfg->buffer.segment_bytes;
    transport::buffer::parse_fsync_policy(cfg->buffer.fsync, lo.fsync);
    lo.fsync_interval = cfg->buffer.fsync_interval;
    auto opened = transport::buffer::segment_log::open(lo);
    if (!opened) {
      std::cerr << "error: buffer: " << opened.error().message << '\n';
      return 2;
    }
    buffer_log = std::move(*opened);
    const auto& rep = buffer_log->recovery();
    if (rep.clean())
      log::info("durable buffer opened", {{"dir", lo.dir}, {"recovery", rep.summary()}});
    else
      log::warn("durable buffer recovered", {{"dir", lo.dir}, {"recovery", rep.summary()}});
    transport::buffer::durable_options dopt;
    dopt.on_dead_letter = count_dead_letter;
    dopt.resubmit_delay = cfg->fhir.resubmit_delay;
    dopt.resubmit_max_delay = cfg->fhir.resubmit_max_delay;
    dopt.max_age = cfg->fhir.max_age;
    try {
      durable = std::make_unique<transport::buffer::durable_source>(*buffer_log, pipe, dead_letters.get(), std::move(dopt),
                                                                    component_log("buffer"));
    } catch (const std::exception& e) {
      std::cerr << "error: buffer: " << e.what() << '\n';
      return 2;
    }
    ingest_sink = durable.get();
  }
  // Sources with their own copy of the events (AMQP, Event Hubs) skip the local buffer; their
  // failed events still go to the dead-letter store before they are acknowledged.
  transport::event_sink& broker_sink = guarded;

  // AMQP 1.0 queue and Event Hubs sources (docs/amqp.md), feeding the same pipeline; started after it.
  std::unique_ptr<transport::amqp::source> amqp;
  std::unique_ptr<transport::amqp::eventhubs::eventhubs_source> eventhubs;
  try {
    if (cfg->amqp.enabled) amqp = std::make_unique<transport::amqp::source>(amqp_options(cfg->amqp), broker_sink, amqp_log);
  } catch (const std::exception& e) {
    std::cerr << "error: config: source.amqp: " << e.what() << '\n';
    return 2;
  }
  try {
    if (cfg->eventhubs.enabled)
      eventhubs = std::make_unique<transport::amqp::eventhubs::eventhubs_source>(eventhubs_options(cfg->eventhubs), broker_sink,
                                                                               amqp_log);
  } catch (const std::exception& e) {
    std::cerr << "error: config: source.eventhubs: " << e.what() << '\n';
    return 2;
  }
  auto amqp_ready = [&] { return (!amqp || amqp->ready()) && (!eventhubs || eventhubs->ready()); };

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
  transport::http::server server(http_ioc, so, ingest, *ingest_sink);
  readiness ready;
  // Events waiting for the FHIR server, wherever they wait (issue 12).
  auto fhir_failing_reason = [&]() -> std::string {
    if (durable)
      if (auto why = durable->failing_reason(); !why.empty()) return why;
    if (auto why = guarded.failing_reason(); !why.empty()) return why;
    return http_direct.failing_reason();
  };
  // Components keep their own counters; these collectors read them at scrape time (issue 16).
  metrics.add_collectable(std::make_shared<transport::metrics::scrape_collector>(
      [&](std::vector<prometheus::MetricFamily>& out) {
        using prometheus::MetricType;
        if (dead_letters) {
          const std::uint64_t buffered = durable ? durable->stats().dead_letter_errors.load() : 0;
          auto f = transport::metrics::family("iomtflow_deadletter_write_errors_total",
                                              "Failed writes to the dead-letter store (the events stay unacknowledged)",
                                              MetricType::Counter);
          transport::metrics::add_sample(
              f, static_cast<double>(buffered + guarded.stats().write_errors.load() + http_direct.stats().write_errors.load()));
          out.push_back(std::move(f));
        }
        if (durable)
          for (auto& f : transport::buffer::buffer_families(*buffer_log, *durable)) out.push_back(std::move(f));
        std::vector<std::pair<std::string_view, transport::amqp::source_stats>> amqp_stats;
        if (amqp) amqp_stats.emplace_back("amqp", amqp->stats());
        if (eventhubs) amqp_stats.emplace_back("eventhubs", eventhubs->stats());
        for (auto& f : transport::amqp::source_families(amqp_stats)) out.push_back(std::move(f));
      }));
  server.add_route(bhttp::verb::get, "/metrics", [&](const transport::http::request&) {
    {
      std::uint64_t waiting = guarded.stats().waiting_events.load() + http_direct.stats().waiting_events.load();
      std::int64_t oldest_ms =
          std::max(guarded.stats().oldest_waiting_ms.load(), http_direct.stats().oldest_waiting_ms.load());
      if (durable) {
        waiting += durable->stats().waiting_events.load();
        oldest_ms = std::max(oldest_ms, durable->stats().oldest_unwritten_ms.load());
      }
      metrics.waiting_events->Set(static_cast<double>(waiting));
      metrics.oldest_unwritten_age->Set(static_cast<double>(oldest_ms) / 1000.0);
      metrics.fhir_failing->Set(fhir_failing_reason().empty() ? 0 : 1);
    }
    return text_response(bhttp::status::ok, metrics.serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.add_route(bhttp::verb::get, "/healthz", [](const transport::http::request&) {
    return text_response(bhttp::status::ok, "ok\n");
  });
  server.add_route(bhttp::verb::get, "/readyz", [&](const transport::http::request&) {
    if (buffer_log) {
      if (auto e = buffer_log->write_error())
        return text_response(bhttp::status::service_unavailable, "durable buffer not writable: " + e->message + "\n");
      // Which bound pushes back (issue 12): a full buffer refuses ingest until the consumer catches up.
      const auto st = buffer_log->stats();
      if (st.max_bytes > 0 && st.disk_bytes + buffer_log->segment_bytes() > st.max_bytes) {
        std::string why = "durable buffer full (" + std::to_string(st.disk_bytes) + " of " + std::to_string(st.max_bytes) +
                          " bytes)";
        if (auto f = fhir_failing_reason(); !f.empty()) why += ": the FHIR server is failing: " + f;
        return text_response(bhttp::status::service_unavailable, why + "\n");
      }
    }
    if (pipe.saturated())
      return text_response(bhttp::status::service_unavailable,
                           "pipeline queues full (pipeline.queue_capacity / queue_measurements): the FHIR server is "
                           "slower than the input\n");
    const std::string failing = fhir_failing_reason();
    if (ready.fhir_ok && ready.source_ok && amqp_ready() && failing.empty())
      return text_response(bhttp::status::ok, "ready\n");
    std::lock_guard l(ready.mutex);
    std::string why = !ready.source_ok ? "source not ready"
                      : !failing.empty() ? "FHIR server failing for every event (events wait and are retried): " + failing
                      : !amqp_ready()  ? "AMQP source not connected: " + (amqp ? amqp->stats().last_error : std::string()) +
                                            (eventhubs ? eventhubs->stats().last_error : std::string())
                                       : "FHIR server not ready: " + ready.last_error;
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
  if (durable) durable->start();
  guarded.start();
  http_direct.start();
  server.start();
  if (amqp) amqp->start();
  if (eventhubs) eventhubs->start();
  ready.source_ok = true;
  log::info("iomtflow started",
            {{"listen", so.address + ":" + std::to_string(server.local_endpoint().port())},
             {"fhir", cfg->fhir.url},
             {"identity", cfg->fhir.identity},
             {"shards", std::to_string(pipe.shard_count())}});

  std::atomic<bool> stopping{false};
  asio::co_spawn(control, probe_fhir(**probe_client, ready, metrics, stopping), asio::detached);
  if (dead_letters) asio::co_spawn(control, expire_dead_letters(*dead_letters, stopping), asio::detached);
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
  // Reverse order: no more ingest; the consumer lets in-flight batches finish and checkpoints;
  // then the pipeline drains; the log is synced and closed last.
  // Sources before the pipeline: they wait (drain_timeout) for their in-flight submissions to
  // complete and settle them; whatever is still unsettled goes back to the broker.
  // What waits in the retrying sinks goes back to its source first (AMQP: modified, redelivered).
  guarded.stop();
  http_direct.stop();
  if (amqp) amqp->stop();
  if (eventhubs) eventhubs->stop();
  if (durable) durable->stop();
  pipe.stop();
  if (buffer_log) buffer_log->close();
  control.stop();
  control_thread.join();
  log::info("iomtflow stopped");
  return 0;
}

}  // namespace iomt::cli
