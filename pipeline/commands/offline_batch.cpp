#include "pipeline/commands/offline_batch.hpp"

#include "fhir/errors.hpp"

#include <boost/asio/co_spawn.hpp>

#include <exception>

namespace iomt::pipeline {

namespace fhir = mapping::fhir;

boost::json::object* offline_store::find(const std::string& type, const std::string& id) {
  auto it = index_.find({type, id});
  return it == index_.end() ? nullptr : &resources_[it->second].second;
}

void offline_store::put(const std::string& type, const std::string& id, boost::json::object resource) {
  auto [it, inserted] = index_.try_emplace({type, id}, resources_.size());
  if (inserted)
    resources_.emplace_back(type, std::move(resource));
  else
    resources_[it->second].second = std::move(resource);
}

std::vector<const boost::json::object*> offline_store::all_of(const std::string& type) const {
  std::vector<const boost::json::object*> out;
  for (const auto& [t, r] : resources_)
    if (t == type) out.push_back(&r);
  return out;
}

namespace {

// Runs `a` to completion on `ioc` (the caller's thread); a memory-only exchange never waits.
template <class T>
T run_now(boost::asio::io_context& ioc, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e, T v) {
    if (e)
      failure = e;
    else
      out = std::move(v);
  });
  ioc.restart();
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

iomt::fhir::identity_options identity_options_of(const offline_options& o) {
  iomt::fhir::identity_options i;
  i.mode = o.identity;
  i.device_identifier_system = o.device_identifier_system;
  return i;
}

}  // namespace

stage_error conversion_error(mapping::mapping_error e) {
  stage_error out{"fhirConversion", iomt::fhir::metric_name(e), std::move(e.message), {}};
  if (out.type != e.type) out.exception = std::move(e.type);
  return out;
}

offline_batch::offline_batch(const fhir::fhir_mapping& mapping, offline_options options)
    : mapping_(mapping),
      options_(std::move(options)),
      own_ioc_(std::make_unique<boost::asio::io_context>()),
      own_exchange_(std::make_unique<iomt::fhir::memory_exchange>()),
      ioc_(own_ioc_.get()),
      exchange_(own_exchange_.get()),
      identity_(identity_options_of(options_)) {}

offline_batch::offline_batch(const fhir::fhir_mapping& mapping, offline_options options,
                             iomt::fhir::memory_exchange& exchange, boost::asio::io_context& ioc)
    : mapping_(mapping),
      options_(std::move(options)),
      ioc_(&ioc),
      exchange_(&exchange),
      identity_(identity_options_of(options_)) {}

void offline_batch::convert(std::span<const mapping::measurement> batch, std::vector<stage_error>& errors) {
  const std::vector<fhir::measurement_group> groups = fhir::group_measurements(batch);
  std::vector<const fhir::measurement_group*> ptrs;
  ptrs.reserve(groups.size());
  for (const auto& g : groups) ptrs.push_back(&g);
  for (group_outcome& o : convert_groups(ptrs))
    for (auto& e : o.errors) errors.push_back(conversion_error(std::move(e)));
}

void offline_batch::convert_group(const fhir::measurement_group& group, std::vector<mapping::mapping_error>& errors,
                                  std::size_t* created, std::size_t* updated, std::size_t* no_op) {
  const fhir::measurement_group* one[] = {&group};
  group_outcome o = std::move(convert_groups(one).front());
  for (auto& e : o.errors) errors.push_back(std::move(e));
  if (created) *created += o.created;
  if (updated) *updated += o.updated;
  if (no_op) *no_op += o.no_op;
}

std::vector<group_outcome> offline_batch::convert_groups(std::span<const fhir::measurement_group* const> groups) {
  std::vector<group_outcome> out(groups.size());
  // 1. Every group's identity, before any template is looked up (iomt-spec §1, §11; issue 13).
  std::vector<iomt::fhir::identity_request> requests;
  requests.reserve(groups.size());
  for (const fhir::measurement_group* g : groups)
    requests.push_back({g->device_id, g->patient_id ? std::optional<std::string_view>(*g->patient_id) : std::nullopt,
                        g->encounter_id ? std::optional<std::string_view>(*g->encounter_id) : std::nullopt});
  std::vector<mapping::result<fhir::resource_ids>> ids = run_now(*ioc_, identity_.resolve_all(requests, *exchange_));

  // 2. Template, observation groups, create or merge, in group order.
  for (std::size_t k = 0; k < groups.size(); ++k) {
    group_outcome& o = out[k];
    if (!ids[k]) {
      o.errors.push_back(ids[k].error());
      continue;
    }
    auto found = mapping_.get(groups[k]->measure_type);
    if (!found) {
      o.errors.push_back(found.error());
      continue;
    }
    const fhir::code_value_template* tpl = *found;
    auto made = fhir::make_observation_groups(*groups[k], *tpl);
    if (!made) {
      o.errors.push_back(made.error());
      continue;
    }
    for (const fhir::observation_group& og : *made) {
      const fhir::observation_identifier identifier = fhir::make_identifier(*ids[k], og);
      const std::string id = fhir::observation_id(identifier);
      if (boost::json::object* existing = store_.find("Observation", id)) {
        auto merged = fhir::merge_observation(*existing, og, *tpl);
        if (!merged) {
          o.errors.push_back(merged.error());
          continue;
        }
        if (merged->changed) {
          *existing = std::move(merged->observation);
          ++o.updated;
        } else {
          ++o.no_op;
        }
      } else {
        auto obs = fhir::create_observation(og, *tpl, *ids[k], options_.issued);
        if (!obs) {
          o.errors.push_back(obs.error());
          continue;
        }
        store_.put("Observation", id, std::move(*obs));
        ++o.created;
      }
    }
  }
  return out;
}

}  // namespace iomt::pipeline
