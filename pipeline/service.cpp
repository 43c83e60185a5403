#include "pipeline/service.hpp"

#include "pipeline/designer/routes.hpp"
#include "pipeline/fhir_writer.hpp"
#include "pipeline/log.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/pipeline.hpp"
#include "transport/amqp/eventhubs/eventhubs_source.hpp"
#include "transport/amqp/source.hpp"
#include "transport/amqp/source_metrics.hpp"
#include "transport/buffer/buffer_metrics.hpp"
#include "transport/buffer/durable_source.hpp"
#include "transport/deadletter/store.hpp"
#include "transport/http/jwks_client.hpp"
#include "transport/http/server.hpp"
#include "transport/metrics/collector.hpp"
#include "transport/retrying_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace iomt::pipeline {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

transport::http::response text_response(bhttp::status status, std::string body,
                                        const char* content_type = "text/plain; charset=utf-8") {
  transport::http::response res{status, 11};
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Component logs (level 0 info, 1 warn, 2 error) into the service's structured log.
std::function<void(int, const std::string&, const std::string&)> component_log(const char* component) {
  return [component](int level, const std::string& message, const std::string& detail) {
    if (level >= 2)
      log::error(component, message, {{"detail", detail}});
    else if (level == 1)
      log::warn(message, {{"detail", detail}});
    else
      log::info(message, {{"detail", detail}});
  };
}

// Readiness (GET /readyz): the FHIR server answers an authorized identifier search.
struct readiness {
  std::atomic<bool> fhir_ok{false};
  std::atomic<bool> source_ok{false};
  std::string last_error;
  mutable std::mutex mutex;
};

asio::awaitable<void> probe_fhir(fhir::client& c, readiness& r, metrics& m, std::atomic<bool>& stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool first = true;  // a server that is not ready at start-up is logged too
  while (!stopping) {
    auto res = co_await c.send(bhttp::verb::get, "Device?identifier=iomtflow-readiness-probe&_count=1");
    bool ok = res && res->status / 100 == 2;
    {
      std::lock_guard l(r.mutex);
      r.last_error = ok    ? ""
                     : res ? "FHIR server answered " + std::to_string(res->status)
                           : res.error().type + ": " + res.error().message;
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

transport::amqp::source_options amqp_options(const amqp_source_config& c) {
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

transport::amqp::eventhubs::eventhubs_source_options eventhubs_options(const eventhubs_source_config& c) {
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

// source.http.jwt -> the token policy and the key set driver (docs/configuration.md).
net::jose::jwt_policy jwt_policy(const jwt_auth_config& c) {
  net::jose::jwt_policy p;
  p.issuers.push_back(c.issuer);
  for (const auto& i : c.issuers) p.issuers.push_back(i);
  p.audiences = c.audiences;
  p.algorithms.clear();
  for (const auto& a : c.algorithms)
    if (auto alg = net::jose::parse_algorithm(a)) p.algorithms.push_back(*alg);
  p.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(c.clock_skew);
  p.roles = c.roles;
  p.scopes = c.scopes;
  return p;
}

transport::http::jwks_options jwks_options(const jwt_auth_config& c) {
  transport::http::jwks_options o;
  o.issuer = c.issuer;
  o.jwks_uri = c.jwks_uri;
  o.tls.ca_file = c.ca_file;
  o.tls.verify = c.tls_verify;
  o.allow_http = c.allow_http;
  o.refresh_interval = c.refresh_interval;
  o.min_refresh_interval = c.min_refresh_interval;
  o.timeout = c.timeout;
  o.log = component_log("jwks");
  return o;
}

// The dead-letter store as deadletter.* configures it (docs/configuration.md): bounds, groups,
// policy; drops and size go to the metrics, its log lines to the service log.
transport::deadletter::store_options dead_letter_options(const deadletter_config& c, metrics& m,
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

// The control tasks' completion: an exception is a bug; say what it was instead of dropping it.
auto log_failure(const char* task) {
  return [task](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("service", std::string(task) + " ended with an exception", {{"error", ex.what()}});
    } catch (...) {
      log::error("service", std::string(task) + " ended with an unknown exception");
    }
  };
}

}  // namespace

// Declaration order is construction order; members are destroyed in reverse, after run() has
// stopped them explicitly in reverse start order.
struct service::parts {
  service_config cfg;
  std::shared_ptr<const mapping::device::device_mapping> device;
  std::shared_ptr<const mapping::fhir::fhir_mapping> fhir;
  metrics m{cfg.pipeline.shards};
  asio::io_context control;  // readiness probe, dead-letter expiry
  std::unique_ptr<fhir::client> probe_client;
  std::unique_ptr<pipeline> pipe;
  std::unique_ptr<transport::deadletter::store> dead_letters;
  std::unique_ptr<transport::retrying_sink> guarded;      // AMQP / Event Hubs
  std::unique_ptr<transport::retrying_sink> http_direct;  // HTTP without the buffer
  std::unique_ptr<transport::buffer::segment_log> buffer_log;
  std::unique_ptr<transport::buffer::durable_source> durable;
  std::unique_ptr<transport::amqp::source> amqp;
  std::unique_ptr<transport::amqp::eventhubs::eventhubs_source> eventhubs;
  std::unique_ptr<transport::http::eventhub_ingest> ingest;
  asio::io_context http_ioc{static_cast<int>(cfg.http.threads)};
  std::shared_ptr<transport::http::bearer_verifier> bearer;  // auth: jwt
  std::shared_ptr<transport::http::jwks_client> jwks;        // its key set driver, on http_ioc
  std::unique_ptr<transport::http::server> server;
  readiness ready;
  std::atomic<bool> stopping{false};

  parts(const service_config& c, std::shared_ptr<const mapping::device::device_mapping> d,
        std::shared_ptr<const mapping::fhir::fhir_mapping> f)
      : cfg(c), device(std::move(d)), fhir(std::move(f)) {}

  bool amqp_ready() const { return (!amqp || amqp->ready()) && (!eventhubs || eventhubs->ready()); }
  // Events waiting for the FHIR server, wherever they wait (issue 12).
  std::string fhir_failing_reason() const {
    if (durable)
      if (auto why = durable->failing_reason(); !why.empty()) return why;
    if (auto why = guarded->failing_reason(); !why.empty()) return why;
    return http_direct->failing_reason();
  }
};

boost::system::result<std::unique_ptr<service>, service::start_error> service::create(
    const service_config& cfg, std::shared_ptr<const mapping::device::device_mapping> device,
    std::shared_ptr<const mapping::fhir::fhir_mapping> fhir_map) {
  auto p = std::make_unique<parts>(cfg, std::move(device), std::move(fhir_map));
  metrics& m = p->m;
  m.queue_capacity->Set(static_cast<double>(cfg.pipeline.queue_capacity));
  // Check the FHIR client options once before any thread starts (bad URL, unreadable CA file).
  auto probe_client = fhir::client::create(p->control.get_executor(), make_client_options(cfg.fhir));
  if (!probe_client) return start_error{"config: fhir: " + probe_client.error().message};
  p->probe_client = std::move(*probe_client);
  parts* raw = p.get();
  p->pipe = std::make_unique<pipeline>(
      cfg.pipeline, p->device, p->fhir, m,
      [raw](asio::io_context& ioc) -> std::unique_ptr<group_writer> {
        auto w = fhir_group_writer::create(ioc, raw->cfg.fhir, *raw->fhir, raw->m);
        if (!w) throw std::runtime_error(w.error().message);
        return std::move(*w);
      },
      poison_options{.max_attempts = cfg.fhir.poison_attempts});

  // The dead-letter store (iomt issue 4, bounded: issue 12).
  auto count_dead_letter = [&m](const transport::deadletter::failure& f) { m.dead_lettered(f.stage, f.type); };
  if (cfg.deadletter.enabled) {
    auto store =
        transport::deadletter::store::open(dead_letter_options(cfg.deadletter, m, component_log("deadletter")));
    if (!store) return start_error{"deadletter: " + store.error().message};
    p->dead_letters = std::move(*store);
  }
  // Sources that keep their own copy until they settle (AMQP, Event Hubs) go through a retrying
  // sink: transient failures wait there, permanent ones are dead-lettered (issue 12).
  transport::retrying_options ropt;
  ropt.base_delay = cfg.fhir.resubmit_delay;
  ropt.max_delay = cfg.fhir.resubmit_max_delay;
  ropt.max_age = cfg.fhir.max_age;
  p->guarded = std::make_unique<transport::retrying_sink>(*p->pipe, p->dead_letters.get(), ropt, component_log("retry"),
                                                          count_dead_letter);
  // HTTP without the buffer: the sender waits for the FHIR write; past max_wait it gets 503 and
  // sends again later.
  transport::retrying_options http_ropt = ropt;
  http_ropt.max_wait = std::chrono::seconds(20);
  p->http_direct = std::make_unique<transport::retrying_sink>(*p->pipe, p->dead_letters.get(), http_ropt,
                                                              component_log("retry"), count_dead_letter);
  transport::event_sink* ingest_sink = p->http_direct.get();
  // The durable buffer between ingest and the pipeline (iomt issue 4): HTTP ingest answers 201
  // once the events are on disk; a consumer thread feeds the pipeline.
  if (cfg.buffer.enabled) {
    transport::buffer::log_options lo;
    lo.dir = cfg.buffer.dir;
    lo.max_bytes = cfg.buffer.max_bytes;
    lo.segment_bytes = cfg.buffer.segment_bytes;
    transport::buffer::parse_fsync_policy(cfg.buffer.fsync, lo.fsync);
    lo.fsync_interval = cfg.buffer.fsync_interval;
    auto opened = transport::buffer::segment_log::open(lo);
    if (!opened) return start_error{"buffer: " + opened.error().message};
    p->buffer_log = std::move(*opened);
    const auto& rep = p->buffer_log->recovery();
    if (rep.clean())
      log::info("durable buffer opened", {{"dir", lo.dir}, {"recovery", rep.summary()}});
    else
      log::warn("durable buffer recovered", {{"dir", lo.dir}, {"recovery", rep.summary()}});
    transport::buffer::durable_options dopt;
    dopt.on_dead_letter = count_dead_letter;
    dopt.resubmit_delay = cfg.fhir.resubmit_delay;
    dopt.resubmit_max_delay = cfg.fhir.resubmit_max_delay;
    dopt.max_age = cfg.fhir.max_age;
    p->durable = std::make_unique<transport::buffer::durable_source>(*p->buffer_log, *p->pipe, p->dead_letters.get(),
                                                                     std::move(dopt), component_log("buffer"));
    ingest_sink = p->durable.get();
  }

  // AMQP 1.0 queue and Event Hubs sources (docs/amqp.md), feeding the same pipeline through the
  // retrying sink; started after it.
  try {
    if (cfg.amqp.enabled)
      p->amqp = std::make_unique<transport::amqp::source>(amqp_options(cfg.amqp), *p->guarded, amqp_log);
  } catch (const std::exception& e) {
    return start_error{std::string("config: source.amqp: ") + e.what()};
  }
  try {
    if (cfg.eventhubs.enabled)
      p->eventhubs = std::make_unique<transport::amqp::eventhubs::eventhubs_source>(eventhubs_options(cfg.eventhubs),
                                                                                    *p->guarded, amqp_log);
  } catch (const std::exception& e) {
    return start_error{std::string("config: source.eventhubs: ") + e.what()};
  }

  // HTTP ingest.
  transport::http::ingest_options io;
  io.hubs = cfg.http.hubs;
  io.max_body_bytes = cfg.http.max_body_bytes;
  io.max_event_bytes = cfg.http.max_body_bytes;
  io.partition_count = cfg.http.partitions;
  std::optional<transport::http::sas_verifier> sas;
  if (cfg.http.auth_sas && cfg.http.auth != "none") {
    transport::http::sas_options so;
    for (const auto& k : cfg.http.keys) so.keys.push_back({k.name, k.key});
    sas.emplace(std::move(so));
  }
  // auth: jwt - the verifier checks tokens on the ingest threads; its key set comes from the
  // issuer through the JWKS client, which runs on a strand of the same io_context (never blocking it).
  if (cfg.http.auth_jwt && cfg.http.auth != "none") {
    p->bearer = std::make_shared<transport::http::bearer_verifier>(jwt_policy(cfg.http.jwt), cfg.http.auth_sas);
    p->jwks =
        transport::http::jwks_client::create(asio::make_strand(p->http_ioc), jwks_options(cfg.http.jwt), p->bearer);
  }
  p->ingest = std::make_unique<transport::http::eventhub_ingest>(io, std::move(sas), p->bearer);
  transport::http::server_options so;
  so.address = cfg.http.listen_address;
  so.port = cfg.http.port;
  if (cfg.designer.enabled)
    so.max_route_body_bytes = std::max(so.max_route_body_bytes, designer::designer_options{}.max_body_bytes);
  so.on_request = [&m](const transport::http::request_record& r) {
    std::string route = r.path == "/metrics" || r.path == "/healthz" || r.path == "/readyz" ? std::string(r.path)
                        : r.path.rfind("/designer", 0) == 0                                 ? "designer"
                                                                                            : "ingest";
    m.http_request(route, r.status);
  };
  p->server = std::make_unique<transport::http::server>(p->http_ioc, so, *p->ingest, *ingest_sink);
  std::unique_ptr<service> s(new service(std::move(p)));
  s->mount_routes();
  if (auto ec = s->p_->server->listen())
    return start_error{"source.http: cannot listen on " + so.address + ":" + std::to_string(so.port) + ": " +
                       ec.message()};
  return s;
}

service::service(std::unique_ptr<parts> p) : p_(std::move(p)) {}

service::~service() = default;

void service::mount_routes() {
  parts& p = *p_;
  // Components keep their own counters; this collector reads them at scrape time (issue 16).
  p.m.add_collectable(
      std::make_shared<transport::metrics::scrape_collector>([&p](std::vector<prometheus::MetricFamily>& out) {
        using prometheus::MetricType;
        if (p.dead_letters) {
          const std::uint64_t buffered = p.durable ? p.durable->stats().dead_letter_errors.load() : 0;
          auto f = transport::metrics::family("iomtflow_deadletter_write_errors_total",
                                              "Failed writes to the dead-letter store (the events stay unacknowledged)",
                                              MetricType::Counter);
          transport::metrics::add_sample(f, static_cast<double>(buffered + p.guarded->stats().write_errors.load() +
                                                                p.http_direct->stats().write_errors.load()));
          out.push_back(std::move(f));
        }
        if (p.durable)
          for (auto& f : transport::buffer::buffer_families(*p.buffer_log, *p.durable)) out.push_back(std::move(f));
        std::vector<std::pair<std::string_view, transport::amqp::source_stats>> amqp_stats;
        if (p.amqp) amqp_stats.emplace_back("amqp", p.amqp->stats());
        if (p.eventhubs) amqp_stats.emplace_back("eventhubs", p.eventhubs->stats());
        for (auto& f : transport::amqp::source_families(amqp_stats)) out.push_back(std::move(f));
      }));
  // auth: jwt counters, read at scrape time (docs/metrics.md).
  if (p.bearer)
    p.m.add_collectable(
        std::make_shared<transport::metrics::scrape_collector>([&p](std::vector<prometheus::MetricFamily>& out) {
          using prometheus::MetricType;
          namespace mx = transport::metrics;
          const auto& st = p.bearer->stats();
          auto tokens =
              mx::family("iomtflow_ingest_bearer_tokens_total",
                         "Bearer tokens checked on ingest (auth: jwt) by result; unknown_key refusals also asked "
                         "for a key set refresh",
                         MetricType::Counter);
          const auto unknown = st.unknown_key.load();
          mx::add_sample(tokens, static_cast<double>(st.accepted.load()), {{"result", "accepted"}});
          mx::add_sample(tokens, static_cast<double>(st.refused.load() - unknown), {{"result", "refused"}});
          mx::add_sample(tokens, static_cast<double>(unknown), {{"result", "unknown_key"}});
          out.push_back(std::move(tokens));
          auto fetches = mx::family("iomtflow_jwks_fetches_total",
                                    "Fetches of the token issuer's JWK Set (discovery and jwks_uri) by result",
                                    MetricType::Counter);
          const auto failed = p.jwks->failures();
          mx::add_sample(fetches, static_cast<double>(p.jwks->fetches() - failed), {{"result", "ok"}});
          mx::add_sample(fetches, static_cast<double>(failed), {{"result", "failed"}});
          out.push_back(std::move(fetches));
          auto keys = mx::family("iomtflow_jwks_keys", "Signing keys in the cached JWK Set (0: not loaded yet)",
                                 MetricType::Gauge);
          const auto set = p.bearer->keys();
          mx::add_sample(keys, set ? static_cast<double>(set->keys.size()) : 0.0);
          out.push_back(std::move(keys));
        }));
  p.server->add_route(bhttp::verb::get, "/metrics", [&p](const transport::http::request&) {
    std::uint64_t waiting = p.guarded->stats().waiting_events.load() + p.http_direct->stats().waiting_events.load();
    std::int64_t oldest_ms =
        std::max(p.guarded->stats().oldest_waiting_ms.load(), p.http_direct->stats().oldest_waiting_ms.load());
    if (p.durable) {
      waiting += p.durable->stats().waiting_events.load();
      oldest_ms = std::max(oldest_ms, p.durable->stats().oldest_unwritten_ms.load());
    }
    p.m.waiting_events->Set(static_cast<double>(waiting));
    p.m.oldest_unwritten_age->Set(static_cast<double>(oldest_ms) / 1000.0);
    p.m.fhir_failing->Set(p.fhir_failing_reason().empty() ? 0 : 1);
    return text_response(bhttp::status::ok, p.m.serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
  p.server->add_route(bhttp::verb::get, "/healthz",
                      [](const transport::http::request&) { return text_response(bhttp::status::ok, "ok\n"); });
  p.server->add_route(bhttp::verb::get, "/readyz", [this](const transport::http::request&) {
    const std::string why = not_ready_reason();
    if (why.empty()) return text_response(bhttp::status::ok, "ready\n");
    return text_response(bhttp::status::service_unavailable, why + "\n");
  });
  if (p.cfg.designer.enabled) {
    designer::designer_options d;
    d.prefix = "/designer";
    designer::add_designer_routes(*p.server, d);
  }
}

std::string service::not_ready_reason() const {
  const parts& p = *p_;
  if (p.buffer_log) {
    if (auto e = p.buffer_log->write_error()) return "durable buffer not writable: " + e->message;
    // Which bound pushes back (issue 12): a full buffer refuses ingest until the consumer catches up.
    const auto st = p.buffer_log->stats();
    if (st.max_bytes > 0 && st.disk_bytes + p.buffer_log->segment_bytes() > st.max_bytes) {
      std::string why =
          "durable buffer full (" + std::to_string(st.disk_bytes) + " of " + std::to_string(st.max_bytes) + " bytes)";
      if (auto f = p.fhir_failing_reason(); !f.empty()) why += ": the FHIR server is failing: " + f;
      return why;
    }
  }
  if (p.bearer && !p.bearer->keys_loaded())
    return "ingest (auth: jwt): the token issuer's signing keys are not loaded yet (see the log, component jwks)";
  if (p.pipe->saturated())
    return "pipeline queues full (pipeline.queue_capacity / queue_measurements): the FHIR server is slower than the "
           "input";
  const std::string failing = p.fhir_failing_reason();
  if (p.ready.fhir_ok && p.ready.source_ok && p.amqp_ready() && failing.empty()) return {};
  if (!p.ready.source_ok) return "source not ready";
  if (!failing.empty()) return "FHIR server failing for every event (events wait and are retried): " + failing;
  if (!p.amqp_ready())
    return "AMQP source not connected: " + (p.amqp ? p.amqp->stats().last_error : std::string()) +
           (p.eventhubs ? p.eventhubs->stats().last_error : std::string());
  std::lock_guard l(p.ready.mutex);
  return "FHIR server not ready: " + p.ready.last_error;
}

void service::request_stop() {
  asio::post(p_->http_ioc, [this] {
    parts& p = *p_;
    if (p.stopping.exchange(true)) return;
    p.ready.source_ok = false;
    p.pipe->begin_drain();
    if (p.jwks) p.jwks->stop();
    p.server->shutdown(std::chrono::seconds(30), [&p] { p.http_ioc.stop(); });
  });
}

int service::run() {
  parts& p = *p_;
  // Start in order: the pipeline (shards), the buffer consumer, the retrying sinks, ingest, the
  // broker sources; then the control tasks.
  try {
    p.pipe->start();
  } catch (const std::exception& e) {
    log::error("service", "the pipeline could not start", {{"error", e.what()}});
    return 2;
  }
  if (p.durable) p.durable->start();
  p.guarded->start();
  p.http_direct->start();
  if (p.jwks) p.jwks->start();
  p.server->start();
  if (p.amqp) p.amqp->start();
  if (p.eventhubs) p.eventhubs->start();
  p.ready.source_ok = true;
  log::info("iomtflow started",
            {{"listen", p.cfg.http.listen_address + ":" + std::to_string(p.server->local_endpoint().port())},
             {"fhir", p.cfg.fhir.url},
             {"identity", p.cfg.fhir.identity},
             {"shards", std::to_string(p.pipe->shard_count())}});

  asio::co_spawn(p.control, probe_fhir(*p.probe_client, p.ready, p.m, p.stopping), log_failure("readiness probe"));
  if (p.dead_letters)
    asio::co_spawn(p.control, expire_dead_letters(*p.dead_letters, p.stopping), log_failure("dead-letter expiry"));
  std::thread control_thread([&p] { p.control.run(); });

  asio::signal_set signals(p.http_ioc, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping: finishing in-flight work", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    request_stop();
  });
  std::vector<std::thread> http_threads;
  for (std::uint32_t i = 1; i < p.cfg.http.threads; ++i) http_threads.emplace_back([&p] { p.http_ioc.run(); });
  p.http_ioc.run();
  for (auto& t : http_threads) t.join();
  // Reverse order: no more ingest. What waits in the retrying sinks goes back to its source first
  // (AMQP: modified, redelivered); the broker sources wait (drain_timeout) for their in-flight
  // submissions and settle them; the buffer consumer lets in-flight batches finish and
  // checkpoints; then the pipeline drains; the log is synced and closed last.
  p.stopping = true;
  p.guarded->stop();
  p.http_direct->stop();
  if (p.amqp) p.amqp->stop();
  if (p.eventhubs) p.eventhubs->stop();
  if (p.durable) p.durable->stop();
  p.pipe->stop();
  if (p.buffer_log) p.buffer_log->close();
  p.control.stop();
  control_thread.join();
  log::info("iomtflow stopped");
  return 0;
}

}  // namespace iomt::pipeline
