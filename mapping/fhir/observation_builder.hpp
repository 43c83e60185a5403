// Building a new Observation from an observation group (iomt-spec §8) and merging a group into an
// existing Observation (§9). Observations are Boost.JSON objects in FHIR R4 element order:
// resourceType, id, meta, identifier, status, category, code, subject, encounter, effectivePeriod,
// issued, value[x], device, component.
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/identity_ids.hpp"
#include "mapping/fhir/observation_group.hpp"
#include "mapping/fhir/template_model.hpp"
#include "mapping/json/value.hpp"

#include <boost/json/object.hpp>

namespace iomt::mapping::fhir {

// GenerateObservation (iomt-spec §8.1): status final, code = template codes + the service coding,
// effectivePeriod = group boundary ("o" format), issued = `issued` (a UTC instant, written
// "...+00:00"), value[x] and components from the group's values.
// Errors: ArgumentException (blank patient/device id), value errors of §8.2-§8.5.
result<boost::json::object> create_observation(const observation_group& group, const code_value_template& tpl,
                                               const resource_ids& ids, json::date_time issued);

struct merge_outcome {
  boost::json::object observation;  // the merged resource (status "amended" when changed)
  bool changed = false;             // false: deep-equal to `existing`, nothing to write (ObservationNoOperation)
};

// MergeObservation + AmendIfChanged (iomt-spec §9): category replaced/removed, value and
// components merged, effectivePeriod widened to the group boundary (re-formatted with "Z");
// everything else is kept. Errors: NotSupportedException (value type mismatch, effective[x] not
// dateTime/Period), ArgumentNullException (no effective[x]), value errors of §8.
result<merge_outcome> merge_observation(const boost::json::object& existing, const observation_group& group,
                                        const code_value_template& tpl);

// Deep equality as Base.IsExactly sees JSON: member order ignored, numbers by value.
bool fhir_equal(const boost::json::value& a, const boost::json::value& b) noexcept;

}  // namespace iomt::mapping::fhir
