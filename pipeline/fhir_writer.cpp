#include "pipeline/fhir_writer.hpp"

#include "mapping/fhir/identity_ids.hpp"
#include "mapping/fhir/observation_group.hpp"
#include "pipeline/log.hpp"
#include "pipeline/metrics.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>

namespace iomt::pipeline {

namespace {

json::date_time now_utc() {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  return {json::unix_epoch_ticks + ns / 100, json::date_kind::utc};
}

// Once per process (every shard's writer decides alike).
void log_once(std::string_view msg, std::initializer_list<log::field> fields) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> said;
  std::lock_guard lock(mutex);
  if (said.insert(std::string(msg)).second) log::info(msg, fields);
}

// The event trace's words for a save (docs/event-trace.md).
std::string_view trace_operation(fhir::save_operation op) {
  switch (op) {
    case fhir::save_operation::created:
      return "created";
    case fhir::save_operation::updated:
      return "updated";
    case fhir::save_operation::no_op:
      return "no-op";
  }
  return "no-op";
}

}  // namespace

fhir::client_options make_client_options(const fhir_config& cfg) {
  fhir::client_options o;
  o.base_url = cfg.url;
  o.pool.max_connections = cfg.max_connections;
  o.pool.connect_timeout = cfg.connect_timeout;
  o.pool.request_timeout = cfg.timeout;
  o.pool.tls.ca_file = cfg.ca_file;
  o.pool.tls.insecure = !cfg.tls_verify;
  o.retry.base_delay = cfg.retry_base_delay;
  o.retry.max_delay = cfg.retry_max_delay;
  o.retry.max_attempts = static_cast<int>(cfg.max_attempts);
  if (cfg.auth.mode == "bearer") {
    o.auth.kind = fhir::auth_kind::bearer;
    o.auth.bearer_token = cfg.auth.token;
  } else if (cfg.auth.mode == "oauth2") {
    o.auth.kind = fhir::auth_kind::client_credentials;
    o.auth.token_url = cfg.auth.token_url;
    o.auth.client_id = cfg.auth.client_id;
    o.auth.client_secret = cfg.auth.client_secret;
    o.auth.scope = cfg.auth.scope;
    o.auth.resource = cfg.auth.resource;
    o.auth.token_pool = o.pool;
    o.auth.token_pool.max_connections = 1;
  } else if (cfg.auth.mode == "smart" || cfg.auth.mode == "workload_identity") {
    o.auth.kind = cfg.auth.mode == "smart" ? fhir::auth_kind::smart : fhir::auth_kind::workload_identity;
    o.auth.token_url = cfg.auth.token_url;
    o.auth.client_id = cfg.auth.client_id;
    o.auth.scope = cfg.auth.scope;
    o.auth.fhir_base_url = cfg.url;
    o.auth.private_key_file = cfg.auth.private_key_file;
    o.auth.key_id = cfg.auth.key_id;
    o.auth.algorithm = cfg.auth.algorithm;
    o.auth.assertion_lifetime = std::chrono::duration_cast<std::chrono::seconds>(cfg.auth.assertion_lifetime);
    o.auth.tenant_id = cfg.auth.tenant_id;
    o.auth.authority_host = cfg.auth.authority_host;
    o.auth.federated_token_file = cfg.auth.federated_token_file;
    o.auth.allow_http = cfg.auth.allow_insecure_token_url;
    o.auth.token_pool = o.pool;
    o.auth.token_pool.max_connections = 1;
  }
  return o;
}

mapping::result<std::unique_ptr<fhir_group_writer>> fhir_group_writer::create(
    boost::asio::io_context& ioc, const fhir_config& cfg, const mapping::fhir::fhir_mapping& mapping, metrics& m) {
  auto c = fhir::client::create(ioc.get_executor(), make_client_options(cfg));
  if (!c) return c.error();
  // Labelled children resolved once per (method, status) on this shard's thread (issue 11).
  auto cache = std::make_shared<metrics::fhir_request_cache>(m);
  (*c)->set_observer([cache](boost::beast::http::verb method, unsigned status, std::chrono::nanoseconds d) {
    char digits[8];
    const std::string_view label =
        status ? std::string_view(digits, static_cast<std::size_t>(std::snprintf(digits, sizeof digits, "%u", status)))
               : std::string_view("network");
    cache->observe(boost::beast::http::to_string(method), label, std::chrono::duration<double>(d).count());
  });
  return std::unique_ptr<fhir_group_writer>(new fhir_group_writer(std::move(*c), cfg, mapping));
}

fhir_group_writer::fhir_group_writer(std::unique_ptr<fhir::client> c, const fhir_config& cfg,
                                     const mapping::fhir::fhir_mapping& mapping)
    : client_(std::move(c)),
      mapping_(mapping),
      identity_(*client_,
                fhir::identity_options{fhir::parse_identity_mode(cfg.identity).value_or(fhir::identity_mode::create),
                                       cfg.device_identifier_system}),
      store_(*client_, fhir::observation_store_options{.max_batch_entries = cfg.bundle_max_entries}),
      exchange_(*client_, fhir::exchange_options{.bundles = cfg.bundles == bundles_mode::on,
                                                 .max_entries = cfg.bundle_max_entries,
                                                 .max_in_flight = cfg.max_connections}),
      mode_(cfg.bundles),
      max_entries_(cfg.bundle_max_entries),
      decided_(cfg.bundles == bundles_mode::off) {}

boost::asio::awaitable<void> fhir_group_writer::decide_bundles() {
  if (decided_) co_return;
  auto caps = co_await client_->capabilities();
  if (!caps) {
    // Transient (server down, throttled, our credentials): single requests (auto) or Bundles
    // (true) for this flush, and ask again on the next one. A server without a readable
    // CapabilityStatement for good keeps them so.
    if (mapping::is_transient(caps.error().cls)) co_return;
    decided_ = true;
    log_once("FHIR writes: the server's CapabilityStatement cannot be read",
             {{"bundles", exchange_.bundles() ? "batch Bundles" : "single requests"}, {"error", caps.error().message}});
    co_return;
  }
  decided_ = true;
  const bool on = mode_ == bundles_mode::on || caps->batch;
  std::size_t max = max_entries_;
  if (caps->max_bundle_entries && *caps->max_bundle_entries < max) max = *caps->max_bundle_entries;
  exchange_.set_bundles(on);
  exchange_.set_max_entries(max);
  log_once("FHIR writes", {{"bundles", on ? "batch Bundles" : "single requests"},
                           {"server_batch", caps->batch ? "declared" : "not declared"},
                           {"max_entries", std::to_string(max)}});
}

boost::asio::awaitable<group_result> fhir_group_writer::write(const mapping::fhir::measurement_group& group) {
  const mapping::fhir::measurement_group* one[] = {&group};
  std::vector<group_result> r = co_await write_all(one);
  co_return std::move(r.front());
}

boost::asio::awaitable<std::vector<group_result>> fhir_group_writer::write_all(
    std::span<const mapping::fhir::measurement_group* const> groups) {
  co_await decide_bundles();
  const bool had_bundles = exchange_.bundles();
  std::vector<group_result> results(groups.size());

  // 1. The identities of every group of the flush, together (§11), before any template is looked
  //    up: upstream resolves a group's identity first (iomt-spec §1; R4FhirImportService), so in
  //    Create mode a group whose type has no FHIR template still creates and links its Patient and
  //    Device and fills the per-device cache, and an identity error is reported before a missing
  //    template (issue 13).
  std::vector<fhir::identity_request> requests;
  requests.reserve(groups.size());
  for (const mapping::fhir::measurement_group* g : groups)
    requests.push_back({g->device_id, g->patient_id ? std::optional<std::string_view>(*g->patient_id) : std::nullopt,
                        g->encounter_id ? std::optional<std::string_view>(*g->encounter_id) : std::nullopt});
  std::vector<mapping::result<mapping::fhir::resource_ids>> ids = co_await identity_.resolve_all(requests, exchange_);

  // 2. Templates, then observation groups (§7). TemplateNotFoundException: wrapped as
  //    FhirDataMappingException upstream; reported and skipped as the managed service did (§13.2).
  std::vector<const mapping::fhir::code_value_template*> templates(groups.size(), nullptr);
  std::vector<std::vector<mapping::fhir::observation_group>> observation_groups(groups.size());
  std::size_t total = 0;
  for (std::size_t k = 0; k < groups.size(); ++k) {
    group_result& r = results[k];
    if (!ids[k]) {
      r.errors.push_back(ids[k].error());
      continue;
    }
    if (details_) r.ids = *ids[k];
    auto found = mapping_.get(groups[k]->measure_type);
    if (!found) {
      r.errors.push_back(found.error());
      continue;
    }
    templates[k] = *found;
    auto made = mapping::fhir::make_observation_groups(*groups[k], *templates[k]);
    if (!made) {
      r.errors.push_back(made.error());
      continue;
    }
    observation_groups[k] = std::move(*made);
    total += observation_groups[k].size();
  }
  const json::date_time issued = now_utc();
  std::vector<fhir::template_source> sources;
  sources.reserve(total);  // the writes point at them: no reallocation
  std::vector<fhir::observation_write> writes;
  writes.reserve(total);
  std::vector<std::size_t> write_group;
  write_group.reserve(total);
  for (std::size_t k = 0; k < groups.size(); ++k) {
    for (const auto& og : observation_groups[k]) {
      sources.emplace_back(og, *templates[k], *ids[k], issued);
      auto identifier = mapping::fhir::make_identifier(*ids[k], og);
      std::string id = mapping::fhir::observation_id(identifier);
      writes.push_back({std::move(identifier), std::move(id), &sources.back()});
      write_group.push_back(k);
    }
  }

  // 3. Every create and update of the flush (§8, §9, §12).
  std::vector<mapping::result<fhir::save_outcome>> outcomes = co_await store_.save_all(writes, exchange_);
  for (std::size_t w = 0; w < outcomes.size(); ++w) {
    group_result& r = results[write_group[w]];
    const auto& o = outcomes[w];
    if (details_) r.observations.push_back({writes[w].id, o ? trace_operation(o->operation) : "failed"});
    if (!o) {
      r.errors.push_back(o.error());
      continue;
    }
    switch (o->operation) {
      case fhir::save_operation::created:
        ++r.created;
        break;
      case fhir::save_operation::updated:
        ++r.updated;
        break;
      case fhir::save_operation::no_op:
        ++r.no_op;
        break;
    }
    if (o->contention) ++r.contention;
  }
  if (had_bundles && !exchange_.bundles())
    log_once("FHIR writes: the server refused a batch Bundle as unsupported",
             {{"bundles", "single requests from now on"}});
  co_return results;
}

}  // namespace iomt::pipeline
