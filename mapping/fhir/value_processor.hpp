// Observation.value[x] / component.value[x] from a template value and a group's values:
// create (iomt-spec §8.2-§8.5) and merge into an existing element (§9 step 4).
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/observation_group.hpp"
#include "mapping/fhir/template_model.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

namespace iomt::mapping::fhir {

// IObservationData: the group's boundary (DataPeriod), the Observation's period
// (ObservationPeriod) and the values of one property, sorted by time.
struct observation_data {
  std::int64_t data_start = 0, data_end = 0;
  std::int64_t observation_start = 0, observation_end = 0;
  const std::vector<time_value>* values = nullptr;
};

struct value_element {
  std::string_view key;  // "valueSampledData", "valueQuantity", "valueString", "valueCodeableConcept"
  boost::json::value value;
};

// A fresh value[x]: SampledData laid out over the ObservationPeriod; Quantity / String need exactly
// one value; CodeableConcept ignores the values.
result<value_element> create_value(const value_template& tpl, const observation_data& data);

// Merges into the value[x] member of `holder` (an Observation or a component object), replacing
// it: SampledData merges streams (only `data` changes), the other kinds are recreated. The existing
// element must be of the template's kind (NotSupportedException otherwise, also when absent).
result<void> merge_value(const value_template& tpl, const observation_data& data, boost::json::object& holder);

// The value[x] member of an Observation / component ("value" + a type name), or nullptr.
const boost::json::key_value_pair* find_value_member(const boost::json::object& holder) noexcept;

}  // namespace iomt::mapping::fhir
