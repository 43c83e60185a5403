// Versioned upsert of Observations (iomt-spec §12), one request per Observation or many per
// batch Bundle.
//
// save():  cache "{system}|{value}" -> last known Observation (absolute 1 h, 5000 entries);
//          on a miss GET Observation?identifier=..., keep exact identifier matches only;
//          0 -> create -> PUT Observation/<id> without If-Match            (ObservationCreated)
//          1 -> merge (§9): unchanged -> no request                         (ObservationNoOperation)
//                           changed   -> PUT with If-Match: W/"<versionId>" (ObservationUpdated)
//          409/412 -> re-read ignoring the cache and redo, at most 2 times; gone -> create path.
// save_batch(): the same decisions, but the cache misses are looked up in one batch Bundle of
//          GETs and the creates/updates are written in one batch Bundle of PUTs (entries with
//          ifMatch). Entries that conflict, and whole Bundles the server refuses, fall back to
//          save() one by one. Several writes of one identifier are applied in order.
//
// One store per shard (shares the shard's client); not thread-safe.
#pragma once

#include "fhir/client.hpp"
#include "fhir/ttl_cache.hpp"
#include "mapping/fhir/identity_ids.hpp"
#include "mapping/fhir/observation_builder.hpp"

#include <span>
#include <string>
#include <vector>

namespace iomt::fhir {

// Builds or merges the Observation of one observation group (mapping/fhir, iomt-spec §8, §9).
class observation_source {
public:
  virtual ~observation_source() = default;
  virtual mapping::result<boost::json::object> create() const = 0;
  virtual mapping::result<mapping::fhir::merge_outcome> merge(const boost::json::object& existing) const = 0;
};

// The usual source: a mapping::fhir observation group + its template + resolved ids. Holds
// references: the arguments must outlive it.
class template_source final : public observation_source {
public:
  template_source(const mapping::fhir::observation_group& group, const mapping::fhir::code_value_template& tpl,
                  const mapping::fhir::resource_ids& ids, json::date_time issued)
      : group_(group), tpl_(tpl), ids_(ids), issued_(issued) {}
  mapping::result<boost::json::object> create() const override;
  mapping::result<mapping::fhir::merge_outcome> merge(const boost::json::object& existing) const override;

private:
  const mapping::fhir::observation_group& group_;
  const mapping::fhir::code_value_template& tpl_;
  const mapping::fhir::resource_ids& ids_;
  json::date_time issued_;
};

struct observation_write {
  mapping::fhir::observation_identifier identifier;
  std::string id;                      // mapping::fhir::observation_id(identifier)
  const observation_source* source{};  // must outlive the save
};

enum class save_operation { created, updated, no_op };

// The FhirResourceSaved metric names: ObservationCreated / ObservationUpdated / ObservationNoOperation.
const char* to_string(save_operation op) noexcept;

struct save_outcome {
  save_operation operation = save_operation::no_op;
  bool contention = false;   // FHIRResourceContention: a create came back as versionId "2" (§12 step 3)
  int conflict_retries = 0;  // 409/412 answers that were re-read and redone
};

struct observation_store_options {
  std::size_t cache_capacity = 5000;
  std::chrono::steady_clock::duration cache_ttl = std::chrono::hours(1);  // absolute
  int max_conflict_retries = 2;
  std::size_t max_batch_entries = 100;  // entries per batch Bundle
};

class observation_store {
public:
  observation_store(client& fhir, observation_store_options options = {})
      : client_(fhir), options_(options), cache_(options_.cache_capacity, options_.cache_ttl, false) {}

  boost::asio::awaitable<mapping::result<save_outcome>> save(const observation_write& write);

  // Results in the order of `writes`.
  boost::asio::awaitable<std::vector<mapping::result<save_outcome>>> save_batch(
      std::span<const observation_write> writes);

  // False after the server refused a batch Bundle as unsupported (404/405/501): save_batch then
  // writes one by one.
  bool batch_enabled() const noexcept { return batch_enabled_; }
  void clear_cache() { cache_.clear(); }
  std::size_t cache_size() const noexcept { return cache_.size(); }

private:
  // GET Observation?identifier=..., exact matches only: nullopt, the one, or MultipleResourceFoundException.
  boost::asio::awaitable<mapping::result<std::optional<boost::json::object>>> find(
      const mapping::fhir::observation_identifier& identifier);
  boost::asio::awaitable<void> save_round(std::span<const observation_write> writes, std::span<const std::size_t> round,
                                          std::vector<mapping::result<save_outcome>>& results);

  client& client_;
  observation_store_options options_;
  ttl_cache<boost::json::object> cache_;
  bool batch_enabled_ = true;
};

// "{system}|{value}": the cache key of an identifier (iomt-spec §12 step 1).
std::string cache_key(const mapping::fhir::observation_identifier& identifier);

}  // namespace iomt::fhir
