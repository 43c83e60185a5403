// Observation groups: how one MeasurementGroup is cut into Observations by the template's
// periodInterval (iomt-spec §7).
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/measurement_group.hpp"
#include "mapping/fhir/template_model.hpp"
#include "mapping/json/value.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::fhir {

// One (time, value) of a measurement property. `value` points into the measurement (or into the
// existing Observation's data string during a merge), which must outlive it.
struct time_value {
  std::int64_t ticks = 0;  // .NET ticks of the UTC instant
  std::string_view value;
};

// All values of one property inside a group: ascending by time, one value per tick (the first
// one added wins, SortedSet with a time-only comparer).
struct property_values {
  std::string_view name;
  std::vector<time_value> values;
};

struct observation_group {
  std::string name;                         // the MeasurementGroup's MeasureType
  json::date_time start;                    // boundary; zone utc for Single/Hourly/Daily, the raw measurement kind
  json::date_time end;                      //   for CorrelationId groups (iomt-spec §15.4)
  std::string id_segment;                   // "yyyyMMddHHmmssZ.yyyyMMddHHmmssZ" or the correlation id
  std::vector<property_values> properties;  // first-appearance order of property names

  // Values of a property (ordinal name match), nullptr when the group has none.
  const std::vector<time_value>* values_of(std::string_view property) const noexcept;
};

// Builds the groups of a MeasurementGroup for a periodInterval (iomt-spec §7):
// - 0 Single: one group per distinct instant, boundary (t, t);
// - 60 Hourly / 1440 Daily: UTC hour / day buckets, boundary (start, start + period - 1 tick);
// - -1 CorrelationId: one group, boundary (min t, max t), id segment = correlation id.
// Groups come in order of first appearance of their bucket. `group.data` must outlive the result.
// Errors: `NotSupportedException` for any other interval (upstream wraps it in
// FhirDataMappingException), `CorrelationIdNotDefinedException` for a blank correlation id.
result<std::vector<observation_group>> make_observation_groups(const measurement_group& group,
                                                               std::int32_t period_interval);

inline result<std::vector<observation_group>> make_observation_groups(const measurement_group& group,
                                                                      const code_value_template& tpl) {
  return make_observation_groups(group, tpl.period_interval);
}

}  // namespace iomt::mapping::fhir
