// A normalized measurement: what a device template extracts from one match of a message
// (iomt-spec §3.4, §4). The FHIR stage groups these (§5) and turns them into Observations.
#pragma once

#include "mapping/json/value.hpp"

#include <optional>
#include <string>
#include <vector>

namespace iomt::mapping {

struct measurement_property {
  std::string name;
  std::string value;  // the .NET string conversion of the extracted token (iomt-spec §3.5)
  friend bool operator==(const measurement_property&, const measurement_property&) = default;
};

struct measurement {
  std::string type;  // template typeName, verbatim
  std::string device_id;
  std::optional<std::string> patient_id;
  std::optional<std::string> encounter_id;
  std::optional<std::string> correlation_id;
  json::date_time occurrence_time;                // UTC instant (ticks), kind kept for §15.4
  std::optional<json::date_time> ingestion_time;  // source event enqueued time, if known
  std::vector<measurement_property> properties;   // template order, only non-null values
};

}  // namespace iomt::mapping
