// The FHIR conversion of one batch without writing to a FHIR server (iomt-spec §5-§12). This is
// what `iomtflow mapping test` and the designer show: the Observations exactly as they would be
// written, one entry per id in order of first creation.
//
// Identities are resolved by the same identity core as `iomtflow run` (fhir::identity_resolver,
// identity_flow: Lookup, Create, LookupWithEncounter and the per-device cache, §11), answered by a
// fhir::memory_exchange: an empty server (Create mode's default), the Patients, Devices and
// Encounters of a --resources file, or a live server read through without ever writing to it.
// As upstream, every group's identity is resolved before its FHIR template is looked up (§1).
#pragma once

#include "fhir/identity.hpp"
#include "fhir/memory_exchange.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/measurement.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace iomt::pipeline {

struct stage_error {
  std::string stage;  // "normalization" | "fhirConversion"
  std::string type;   // upstream error name as MedTech reports it (DeviceNotFoundException, ...)
  std::string message;
  std::string exception;  // the upstream exception class when `type` is not it (FhirResourceNotFoundException)
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
  fhir::identity_mode identity = fhir::identity_mode::create;
};

// What became of one measurement group.
struct group_outcome {
  std::size_t created = 0, updated = 0, no_op = 0;
  std::vector<mapping::mapping_error> errors;
};

class offline_batch {
public:
  // Identities resolved in memory: an empty FHIR server, which Create mode fills.
  offline_batch(const mapping::fhir::fhir_mapping& mapping, offline_options options);
  // Identities resolved by `exchange` (a memory_exchange with --resources, or reading through a
  // live server whose client runs on `ioc`). Both must outlive the batch.
  offline_batch(const mapping::fhir::fhir_mapping& mapping, offline_options options, fhir::memory_exchange& exchange,
                boost::asio::io_context& ioc);

  // Groups the batch (§5) and converts every group; one failing group never stops the others
  // (managed service report-and-skip, §13).
  void convert(std::span<const mapping::measurement> batch, std::vector<stage_error>& errors);
  // Measurement groups in order: every identity first (§11, as upstream and `run`), then the
  // template, the observation groups and each Observation's create or merge. One outcome per group.
  std::vector<group_outcome> convert_groups(std::span<const mapping::fhir::measurement_group* const> groups);
  // One group alone: appends its errors and counts what it wrote.
  void convert_group(const mapping::fhir::measurement_group& group, std::vector<mapping::mapping_error>& errors,
                     std::size_t* created = nullptr, std::size_t* updated = nullptr, std::size_t* no_op = nullptr);

  const offline_store& store() const { return store_; }
  // Where identities were resolved: the Patients and Devices Create mode would write are there.
  const fhir::memory_exchange& identities() const { return *exchange_; }

private:
  const mapping::fhir::fhir_mapping& mapping_;
  offline_options options_;
  std::unique_ptr<boost::asio::io_context> own_ioc_;
  std::unique_ptr<fhir::memory_exchange> own_exchange_;
  boost::asio::io_context* ioc_;
  fhir::memory_exchange* exchange_;
  fhir::identity_resolver identity_;
  offline_store store_;
};

// The stage error of a failed group: MedTech's name (fhir::metric_name) and the exception class.
stage_error conversion_error(mapping::mapping_error e);

}  // namespace iomt::pipeline
