#include "pipeline/service.hpp"

#include "pipeline/designer/routes.hpp"
#include "pipeline/fhir_writer.hpp"
#include "pipeline/log.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/trace/trace_json.hpp"
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
#include <cctype>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <vector>

#include <sys/resource.h>

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

// The HTTP server's connection events (accept failures, refusals at the limit, failed TLS
// handshakes) into the log; warnings are rate-limited per message, errors per key.
std::function<void(int, const std::string&, const std::string&)> listener_log(std::string listener) {
  return [listener = std::move(listener)](int level, const std::string& message, const std::string& detail) {
    if (level >= 2)
      log::error("http-listener", message, {{"listener", listener}, {"detail", detail}});
    else
      log::warn(message, {{"listener", listener}, {"detail", detail}});
  };
}

// Never answered a request: accepts nothing, submits nothing (the admin and designer listeners).
class no_ingest final : public transport::event_sink {
public:
  transport::submit_status submit(std::vector<transport::event>&&, transport::completion) override {
    return transport::submit_status::shutting_down;
  }
};

std::unique_ptr<transport::http::eventhub_ingest> make_no_ingest() {
  transport::http::ingest_options none;
  // A hub name that cannot appear in a URL path: every send route answers 404.
  none.hubs = {"none: this listener has no ingest"};
  return std::make_unique<transport::http::eventhub_ingest>(none, std::nullopt);
}

// /readyz is answered to anyone who can reach the port: it says what is wrong, never where
// (issue 15). URLs, IP addresses and the configured host names are replaced by "<endpoint>".
std::string without_endpoints(std::string text, const std::vector<std::string>& hosts) {
  static const std::regex url(R"([A-Za-z][A-Za-z0-9+.-]*://[^\s'",;)]+)");
  static const std::regex address(
      R"(\[[0-9A-Fa-f:.]+\](:\d+)?|\b([0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}\b|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b)");
  text = std::regex_replace(text, url, "<endpoint>");
  text = std::regex_replace(text, address, "<endpoint>");
  // A configured host name, where it stands as a word of its own ("fhir" in "fhir:8080", not in
  // "fhirmapping").
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; };
  for (const auto& h : hosts) {
    if (h.empty()) continue;
    for (auto pos = text.find(h); pos != std::string::npos; pos = text.find(h, pos + 1)) {
      const bool starts = pos == 0 || !word_char(text[pos - 1]);
      const bool ends = pos + h.size() == text.size() || !word_char(text[pos + h.size()]);
      if (!starts || !ends) continue;
      // ... with its port, if one follows.
      std::size_t end = pos + h.size();
      if (end < text.size() && text[end] == ':' && end + 1 < text.size() &&
          std::isdigit(static_cast<unsigned char>(text[end + 1])))
        for (++end; end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]));) ++end;
      text.replace(pos, end - pos, "<endpoint>");
    }
  }
  return text;
}

// The host part of "scheme://host[:port]/...", or "".
std::string host_of(const std::string& url) {
  auto start = url.find("://");
  if (start == std::string::npos) return {};
  start += 3;
  auto end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  if (!authority.empty() && authority.front() == '[') return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

// As many file descriptors as the hard limit allows (the connection cap is derived from it).
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
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
  else if (level == 0)
    log::info(m, {{"detail", detail}});
  else
    log::debug(m, {{"detail", detail}});  // routine: ownership renewals
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
  o.ownership = c.ownership == "dynamic" ? transport::amqp::eventhubs::ownership_mode::dynamic
                                         : transport::amqp::eventhubs::ownership_mode::fixed;
  o.owner_id = c.owner_id;
  o.balance_interval = c.balance_interval;
  o.ownership_expiry = c.ownership_expiry;
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
  o.allow_http = c.allow_insecure_issuer_url;
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
  // The event trace (issue 13): before the pipeline, whose shards and submissions write to it.
  trace::event_trace events{
      trace::trace_options{cfg.debug.trace.enabled, cfg.debug.trace.max_events, cfg.debug.trace.max_bytes}};
  std::unique_ptr<pipeline> pipe;
  // The pipeline as each source sees it (the event trace names the source).
  std::unique_ptr<source_sink> from_brokers, from_http, from_buffer;
  std::optional<transport::http::sas_verifier> sas;  // source.http.auth: sas (ingest and /debug/events)
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
  // admin: /metrics, /healthz, /readyz on their own port (on http_ioc).
  no_ingest nothing;
  std::unique_ptr<transport::http::eventhub_ingest> no_hubs = make_no_ingest();
  std::unique_ptr<transport::http::server> admin;
  // The designer: its own listener, io_context and thread, off the ingest threads (issue 15).
  asio::io_context designer_ioc{1};
  std::unique_ptr<transport::http::server> designer;
  std::vector<std::string> endpoint_hosts;  // hidden from /readyz
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

  // GET /debug/events (issue 13): 404 unless debug.trace.enabled; the same SAS checks as ingest.
  transport::http::response debug_events_answer(const transport::http::request& req) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    // auth: jwt without SAS keys: the trace (every device's messages) stays closed rather than open;
    // a bearer token for one sender is not enough to read everybody's data.
    if (!sas && cfg.http.auth != "none" && cfg.debug.trace.enabled)
      return transport::http::make_error_response(
          {bhttp::status::forbidden,
           "GET /debug/events needs a namespace-level SharedAccessSignature: configure source.http.keys"},
          req.version(), false);
    return trace::debug_events_response(req, &events, sas ? &*sas : nullptr, now);
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
  p->pipe->set_trace(&p->events);
  {
    std::string brokers = cfg.amqp.enabled && cfg.eventhubs.enabled ? "amqp, eventhubs"
                          : cfg.eventhubs.enabled                   ? "eventhubs"
                                                                    : "amqp";
    p->from_brokers = std::make_unique<source_sink>(*p->pipe, std::move(brokers));
    p->from_http = std::make_unique<source_sink>(*p->pipe, "http");
    p->from_buffer = std::make_unique<source_sink>(*p->pipe, "http via durable buffer");
  }

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
  p->guarded = std::make_unique<transport::retrying_sink>(*p->from_brokers, p->dead_letters.get(), ropt,
                                                          component_log("retry"), count_dead_letter);
  // HTTP without the buffer: the sender waits for the FHIR write; past max_wait it gets 503 and
  // sends again later.
  transport::retrying_options http_ropt = ropt;
  http_ropt.max_wait = std::chrono::seconds(20);
  p->http_direct = std::make_unique<transport::retrying_sink>(*p->from_http, p->dead_letters.get(), http_ropt,
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
    p->durable = std::make_unique<transport::buffer::durable_source>(
        *p->buffer_log, *p->from_buffer, p->dead_letters.get(), std::move(dopt), component_log("buffer"));
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
  // The authentication entry point (transport/http/ingest_auth.hpp): one authenticator per scheme
  // that source.http.auth names (sas, jwt or both); none for auth: none.
  std::vector<std::shared_ptr<const transport::http::ingest_authenticator>> authenticators;
  if (cfg.http.auth != "none" && (cfg.http.auth_sas || !cfg.http.keys.empty())) {
    transport::http::sas_options sas;
    for (const auto& k : cfg.http.keys) sas.keys.push_back({k.name, k.key});
    sas.hosts = cfg.http.hosts;
    sas.max_lifetime_seconds = std::chrono::duration_cast<std::chrono::seconds>(cfg.http.max_token_lifetime).count();
    p->sas.emplace(sas);  // the same checks for GET /debug/events (also with auth: jwt when keys are set)
    if (cfg.http.auth_sas)
      authenticators.push_back(
          std::make_shared<transport::http::sas_authenticator>(transport::http::sas_verifier(std::move(sas))));
  }
  // auth: jwt - the verifier checks tokens on the ingest threads; its key set comes from the
  // issuer through the JWKS client, which runs on a strand of the same io_context (never blocking it).
  if (cfg.http.auth_jwt && cfg.http.auth != "none") {
    p->bearer = std::make_shared<transport::http::bearer_verifier>(jwt_policy(cfg.http.jwt), cfg.http.auth_sas);
    p->jwks =
        transport::http::jwks_client::create(asio::make_strand(p->http_ioc), jwks_options(cfg.http.jwt), p->bearer);
    authenticators.push_back(std::make_shared<transport::http::bearer_authenticator>(p->bearer));
  }
  p->ingest = std::make_unique<transport::http::eventhub_ingest>(io, std::move(authenticators));
  raise_fd_limit();
  transport::http::server_options so;
  so.address = cfg.http.listen_address;
  so.port = cfg.http.port;
  so.max_connections = cfg.http.max_connections;
  so.io_threads = cfg.http.threads;
  so.first_byte_timeout = cfg.http.first_byte_timeout;
  so.header_timeout = cfg.http.header_timeout;
  so.read_timeout = cfg.http.body_timeout;
  so.idle_timeout = cfg.http.idle_timeout;
  so.max_header_bytes = cfg.http.max_header_bytes;
  so.on_log = listener_log("ingest");
  if (cfg.http.tls.enabled()) {
    net::tls_server_options t;
    t.cert_file = cfg.http.tls.cert_file;
    t.key_file = cfg.http.tls.key_file;
    t.client_ca_file = cfg.http.tls.client_ca_file;
    t.min_version = cfg.http.tls.min_version;
    auto tls = net::reloading_server_context::create(t, [](int level, const std::string& what, const std::string& d) {
      if (level >= 2)
        log::error("tls-reload", what, {{"detail", d}});
      else
        log::info(what, {{"file", d}});
    });
    if (!tls) return start_error{"config: source.http.tls: " + tls.error()};
    so.tls = std::move(*tls);
  }
  so.on_request = [&m](const transport::http::request_record& r) {
    std::string route = r.path == "/metrics" || r.path == "/healthz" || r.path == "/readyz" ? std::string(r.path)
                        : r.path.rfind("/designer", 0) == 0                                 ? "designer"
                        : r.path.rfind("/debug/", 0) == 0                                   ? "debug"
                                                                                            : "ingest";
    m.http_request(route, r.status);
    // Failed authentications, with who tried (rate-limited per message by the log).
    if (r.status == 401 || r.status == 403)
      log::warn("ingest authentication failed", {{"peer", r.peer},
                                                 {"status", std::to_string(r.status)},
                                                 {"path", r.path.substr(0, 200)},
                                                 {"request_id", r.request_id},
                                                 {"reason", r.detail.empty() ? r.error : r.detail}});
  };
  p->server = std::make_unique<transport::http::server>(p->http_ioc, so, *p->ingest, *ingest_sink);

  if (cfg.admin.enabled) {
    transport::http::server_options ao;
    ao.address = cfg.admin.listen_address;
    ao.port = cfg.admin.port;
    ao.max_connections = 64;
    ao.io_threads = cfg.http.threads;  // on http_ioc too
    ao.server_name = "iomtflow admin";
    ao.on_log = listener_log("admin");
    ao.on_request = [&m](const transport::http::request_record& r) {
      const bool known = r.path == "/metrics" || r.path == "/healthz" || r.path == "/readyz";
      m.http_request(known ? r.path : std::string_view("other"), r.status);
    };
    p->admin = std::make_unique<transport::http::server>(p->http_ioc, ao, *p->no_hubs, p->nothing);
  }
  if (cfg.designer.enabled) {
    transport::http::server_options dopt;
    dopt.address = cfg.designer.listen_address;
    dopt.port = cfg.designer.port;
    dopt.max_connections = 64;
    dopt.max_route_body_bytes = cfg.designer.max_body_bytes;
    dopt.server_name = "iomtflow designer";
    dopt.on_log = listener_log("designer");
    dopt.on_request = [&m](const transport::http::request_record& r) {
      m.http_request("designer", r.status);
      if (r.status == 401)
        log::warn("designer authentication failed",
                  {{"peer", r.peer}, {"path", r.path.substr(0, 200)}, {"request_id", r.request_id}});
    };
    p->designer = std::make_unique<transport::http::server>(p->designer_ioc, dopt, *p->no_hubs, p->nothing);
  }
  for (const std::string& url : {cfg.fhir.url, cfg.fhir.auth.token_url, cfg.amqp.url})
    if (auto h = host_of(url); !h.empty()) p->endpoint_hosts.push_back(h);

  std::unique_ptr<service> s(new service(std::move(p)));
  s->mount_routes();
  parts& q = *s->p_;
  if (auto ec = q.server->listen())
    return start_error{"source.http: cannot listen on " + so.address + ":" + std::to_string(so.port) + ": " +
                       ec.message()};
  if (q.admin)
    if (auto ec = q.admin->listen())
      return start_error{"admin: cannot listen on " + cfg.admin.listen_address + ":" + std::to_string(cfg.admin.port) +
                         ": " + ec.message()};
  if (q.designer)
    if (auto ec = q.designer->listen())
      return start_error{"designer: cannot listen on " + cfg.designer.listen_address + ":" +
                         std::to_string(cfg.designer.port) + ": " + ec.message()};
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
        // The ingest listener's connections and what its limit did (issue 15).
        auto open = transport::metrics::family("iomtflow_http_connections", "Open connections of the ingest listener",
                                               MetricType::Gauge);
        transport::metrics::add_sample(open, static_cast<double>(p.server->connections()));
        out.push_back(std::move(open));
        auto limit = transport::metrics::family(
            "iomtflow_http_connection_limit",
            "Connections the ingest listener serves at once (source.http.max_connections, or the fd limit)",
            MetricType::Gauge);
        transport::metrics::add_sample(limit, static_cast<double>(p.server->connection_limit()));
        out.push_back(std::move(limit));
        auto closed = transport::metrics::family(
            "iomtflow_http_connections_limited_total",
            "Connections closed at the limit: evicted (waiting longest for a request head) or refused (503)",
            MetricType::Counter);
        transport::metrics::add_sample(closed, static_cast<double>(p.server->evicted_connections()),
                                       {{"action", "evicted"}});
        transport::metrics::add_sample(closed, static_cast<double>(p.server->refused_connections()),
                                       {{"action", "refused"}});
        out.push_back(std::move(closed));
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
  // /metrics, /healthz, /readyz: on the admin port when there is one, else on the ingest port.
  transport::http::server& health = p.admin ? *p.admin : *p.server;
  health.add_route(bhttp::verb::get, "/metrics", [&p](const transport::http::request&) {
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
  health.add_route(bhttp::verb::get, "/healthz",
                   [](const transport::http::request&) { return text_response(bhttp::status::ok, "ok\n"); });
  health.add_route(bhttp::verb::get, "/readyz", [this](const transport::http::request&) {
    const std::string why = not_ready_reason();
    if (why.empty()) return text_response(bhttp::status::ok, "ready\n");
    return text_response(bhttp::status::service_unavailable, why + "\n");
  });
  // The event trace (issue 13): 404 unless debug.trace.enabled; the same SAS keys as ingest.
  p.server->add_route(bhttp::verb::get, "/debug/events",
                      [&p](const transport::http::request& req) { return p.debug_events_answer(req); });
  mount_designer_routes();
}

// The designer on its own listener (issue 15): under /designer/, with HTTP Basic when a password
// is configured, and the bounds of designer.* (docs/configuration.md).
void service::mount_designer_routes() {
  parts& p = *p_;
  if (!p.designer) return;
  const designer_config& c = p.cfg.designer;
  designer::designer_options d;
  d.prefix = "/designer";
  d.max_body_bytes = c.max_body_bytes;
  d.max_answer_bytes = c.max_answer_bytes;
  d.limits.max_messages = c.max_messages;
  d.limits.max_measurements = c.max_measurements;
  d.limits.max_observations = c.max_observations;
  d.basic_user = c.user;
  d.basic_password = c.password;
  d.events = [&p](const transport::http::request& req) { return p.debug_events_answer(req); };
  designer::add_designer_routes(*p.designer, d);
}

std::string service::not_ready_reason() const { return without_endpoints(not_ready_detail(), p_->endpoint_hosts); }

std::string service::not_ready_detail() const {
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
    if (p.designer) p.designer->shutdown(std::chrono::seconds(1), [&p] { p.designer_ioc.stop(); });
    p.server->shutdown(std::chrono::seconds(30), [&p] {
      if (!p.admin) return p.http_ioc.stop();
      p.admin->shutdown(std::chrono::seconds(1), [&p] { p.http_ioc.stop(); });
    });
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
  if (p.admin) p.admin->start();
  std::thread designer_thread;
  if (p.designer) {
    p.designer->start();
    designer_thread = std::thread([&p] { p.designer_ioc.run(); });
  }
  if (p.amqp) p.amqp->start();
  if (p.eventhubs) p.eventhubs->start();
  p.ready.source_ok = true;
  log::info("iomtflow started",
            {{"listen", p.cfg.http.listen_address + ":" + std::to_string(p.server->local_endpoint().port())},
             {"tls", !p.cfg.http.tls.enabled()               ? "off"
                     : p.cfg.http.tls.client_ca_file.empty() ? "on"
                                                             : "on, client certificates required"},
             {"max_connections", std::to_string(p.server->connection_limit())},
             {"admin", p.admin ? p.cfg.admin.listen_address + ":" + std::to_string(p.admin->local_endpoint().port())
                               : std::string("on the ingest port")},
             {"designer", p.designer ? "http://" + p.cfg.designer.listen_address + ":" +
                                           std::to_string(p.designer->local_endpoint().port()) + "/designer/"
                                     : std::string("off")},
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
  if (designer_thread.joinable()) {
    p.designer_ioc.stop();
    designer_thread.join();
  }
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
