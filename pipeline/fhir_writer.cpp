#include "pipeline/fhir_writer.hpp"

#include "mapping/fhir/identity_ids.hpp"
#include "mapping/fhir/observation_group.hpp"
#include "pipeline/metrics.hpp"

#include <chrono>
#include <cstdio>

namespace iomt::pipeline {

namespace {

json::date_time now_utc() {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  return {json::unix_epoch_ticks + ns / 100, json::date_kind::utc};
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
  }
  return o;
}

mapping::result<std::unique_ptr<fhir_group_writer>> fhir_group_writer::create(boost::asio::io_context& ioc,
                                                                              const fhir_config& cfg,
                                                                              const mapping::fhir::fhir_mapping& mapping,
                                                                              metrics& m) {
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
      identity_(*client_, fhir::identity_options{fhir::parse_identity_mode(cfg.identity).value_or(fhir::identity_mode::create),
                                                 cfg.device_identifier_system}),
      store_(*client_, fhir::observation_store_options{.max_batch_entries = cfg.bundle_max_entries}),
      bundles_(cfg.bundles) {}

boost::asio::awaitable<group_result> fhir_group_writer::write(const mapping::fhir::measurement_group& group) {
  group_result r;
  // TemplateNotFoundException: wrapped as FhirDataMappingException upstream; reported and skipped as
  // the managed service did (§13.2).
  auto found = mapping_.get(group.measure_type);
  if (!found) {
    r.errors.push_back(found.error());
    co_return r;
  }
  const mapping::fhir::code_value_template* tpl = *found;
  const fhir::identity_request request{
      group.device_id, group.patient_id ? std::optional<std::string_view>(*group.patient_id) : std::nullopt,
      group.encounter_id ? std::optional<std::string_view>(*group.encounter_id) : std::nullopt};
  auto ids = co_await identity_.resolve(request);
  if (!ids) {
    r.errors.push_back(ids.error());
    co_return r;
  }
  auto groups = mapping::fhir::make_observation_groups(group, *tpl);
  if (!groups) {
    r.errors.push_back(groups.error());
    co_return r;
  }
  const json::date_time issued = now_utc();
  std::vector<fhir::template_source> sources;
  sources.reserve(groups->size());
  std::vector<fhir::observation_write> writes;
  writes.reserve(groups->size());
  for (const auto& og : *groups) {
    sources.emplace_back(og, *tpl, *ids, issued);
    auto identifier = mapping::fhir::make_identifier(*ids, og);
    std::string id = mapping::fhir::observation_id(identifier);
    writes.push_back({std::move(identifier), std::move(id), nullptr});
  }
  for (std::size_t i = 0; i < writes.size(); ++i) writes[i].source = &sources[i];

  auto account = [&r](const mapping::result<fhir::save_outcome>& o) {
    if (!o) {
      r.errors.push_back(o.error());
      return;
    }
    switch (o->operation) {
      case fhir::save_operation::created: ++r.created; break;
      case fhir::save_operation::updated: ++r.updated; break;
      case fhir::save_operation::no_op: ++r.no_op; break;
    }
    if (o->contention) ++r.contention;
  };
  // Named locals for co_await results: GCC 12 can destroy temporaries in co_await expressions twice.
  if (bundles_ && writes.size() > 1) {
    std::vector<mapping::result<fhir::save_outcome>> outcomes = co_await store_.save_batch(writes);
    for (const auto& o : outcomes) account(o);
  } else {
    for (const auto& w : writes) {
      mapping::result<fhir::save_outcome> o = co_await store_.save(w);
      account(o);
    }
  }
  co_return r;
}

}  // namespace iomt::pipeline
