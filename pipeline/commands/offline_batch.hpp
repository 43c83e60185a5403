// The FHIR conversion of one batch against an in-memory FHIR server in Create identity mode
// (iomt-spec §5-§12). This is what `iomtflow mapping test` shows: the Observations exactly as
// they would be written to an empty server, one entry per id in order of first creation.
#pragma once

#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/measurement.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace iomt::pipeline {

struct stage_error {
  std::string stage;  // "normalization" | "fhirConversion"
  std::string type;   // upstream exception name
  std::string message;
};

// Resources kept in memory, in order of first creation.
class offline_store {
public:
  boost::json::object* find(const std::string& type, const std::string& id);
  // Inserts or replaces; a new resource is appended to the creation order.
  void put(const std::string& type, const std::string& id, boost::json::object resource);
  std::vector<const boost::json::object*> all_of(const std::string& type) const;

private:
  std::map<std::pair<std::string, std::string>, std::size_t> index_;
  std::vector<std::pair<std::string, boost::json::object>> resources_;
};

struct offline_options {
  std::string device_identifier_system;  // ResourceIdentity:DefaultDeviceIdentifierSystem
  json::date_time issued;                // Observation.issued of created Observations
};

class offline_batch {
public:
  offline_batch(const mapping::fhir::fhir_mapping& mapping, offline_options options)
      : mapping_(mapping), options_(std::move(options)) {}

  // Groups the batch (§5), resolves identities (Create mode, §11), builds or merges Observations.
  // One failing group never stops the others (managed service report-and-skip, §13).
  void convert(std::span<const mapping::measurement> batch, std::vector<stage_error>& errors);
  // One measurement group: appends its errors; returns the number of Observations created/updated.
  void convert_group(const mapping::fhir::measurement_group& group, std::vector<mapping::mapping_error>& errors,
                     std::size_t* created = nullptr, std::size_t* updated = nullptr, std::size_t* no_op = nullptr);

  const offline_store& store() const { return store_; }

private:
  mapping::result<mapping::fhir::resource_ids> resolve_create(const mapping::fhir::measurement_group& g);

  const mapping::fhir::fhir_mapping& mapping_;
  offline_options options_;
  offline_store store_;
  std::unordered_map<std::string, mapping::fhir::resource_ids> identity_cache_;  // per device id (§11)
};

}  // namespace iomt::pipeline
