// Versioned upsert of Observations (iomt-spec §12), one request per Observation or many per
// batch Bundle.
//
// save():  cache "{system}|{value}" -> last known Observation (absolute 1 h, 5000 entries);
//          on a miss GET Observation?identifier=..., keep exact identifier matches only;
//          0 -> create -> PUT Observation/<id> without If-Match            (ObservationCreated)
//          1 -> merge (§9): unchanged -> no request                         (ObservationNoOperation)
//                           changed   -> PUT with If-Match: W/"<versionId>" (ObservationUpdated)
//          409/412 -> re-read ignoring the cache and redo, at most 2 times; gone -> create path.
// save_all(): the same decisions for all the writes of a flush at once (issue 11, one write plan
//          per flush): the cache misses are searched together and the creates/updates written
//          together, through a batch_exchange (batch Bundles where the server takes them, else
//          single requests, a bounded number at a time). The writes of one Observation are applied
//          in flush order in memory (apply_chain) and written once; a 409/412 re-reads it and
//          applies them again; a permanent failure of a write that several groups made is pinned
//          down by writing them one by one with save().
// save_batch(): save_all through the store's own exchange, with Bundles.
//
// One store per shard (shares the shard's client); not thread-safe.
#pragma once

#include "fhir/batch_exchange.hpp"
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

// The writes of one Observation in flush order applied to what the server holds (`existing`, or
// none): the first write while there is no Observation creates it (§8), every later one merges
// into the result so far (§9), as if each had been saved in turn. Pure.
struct chain_step {
  save_operation operation = save_operation::no_op;
  std::optional<mapping::mapping_error> error;  // create/merge failed: this write's outcome
};
struct chain_result {
  std::vector<chain_step> steps;                // per write of the chain
  std::optional<boost::json::object> to_write;  // the Observation to PUT, if any write changed it
  bool creates = false;                         // to_write is new: PUT without If-Match
};
chain_result apply_chain(std::span<const observation_write* const> chain, const boost::json::object* existing);

struct observation_store_options {
  std::size_t cache_capacity = 5000;
  std::chrono::steady_clock::duration cache_ttl = std::chrono::hours(1);  // absolute
  int max_conflict_retries = 2;
  std::size_t max_batch_entries = 100;  // entries per batch Bundle
};

class observation_store {
public:
  observation_store(client& fhir, observation_store_options options = {})
      : client_(fhir),
        options_(options),
        cache_(options_.cache_capacity, options_.cache_ttl, false),
        exchange_(fhir, exchange_options{.bundles = true, .max_entries = options_.max_batch_entries}) {}

  boost::asio::awaitable<mapping::result<save_outcome>> save(const observation_write& write);

  // Results in the order of `writes`; the sources must outlive the call.
  boost::asio::awaitable<std::vector<mapping::result<save_outcome>>> save_all(std::span<const observation_write> writes,
                                                                              batch_exchange& exchange);
  boost::asio::awaitable<std::vector<mapping::result<save_outcome>>> save_batch(
      std::span<const observation_write> writes);

  // False after the server refused a batch Bundle of save_batch as unsupported (404/405/501):
  // save_batch then writes one by one.
  bool batch_enabled() const noexcept { return exchange_.bundles(); }
  void clear_cache() { cache_.clear(); }
  std::size_t cache_size() const noexcept { return cache_.size(); }

private:
  // The writes of one Observation in a save_all, in flush order; written once.
  struct chain {
    std::vector<const observation_write*> writes;
    std::vector<std::size_t> index;  // into writes / results
    bool done = false;
    bool known = false;  // `existing` is what the server holds (from the cache or a search)
    std::optional<boost::json::object> existing;
    int conflicts = 0;  // 409/412 answers re-read so far
  };
  boost::asio::awaitable<void> save_slice(std::span<chain> chains, std::span<const std::string> keys,
                                          std::vector<mapping::result<save_outcome>>& results,
                                          batch_exchange& exchange);
  // GET Observation?identifier=..., exact matches only: nullopt, the one, or MultipleResourceFoundException.
  boost::asio::awaitable<mapping::result<std::optional<boost::json::object>>> find(
      const mapping::fhir::observation_identifier& identifier);

  client& client_;
  observation_store_options options_;
  ttl_cache<boost::json::object> cache_;
  batch_exchange exchange_;  // save_batch's
};

// "{system}|{value}": the cache key of an identifier (iomt-spec §12 step 1).
std::string cache_key(const mapping::fhir::observation_identifier& identifier);

}  // namespace iomt::fhir
