// One measurement from one match (iomt-spec §3.4 step 4-5, §3.5: upstream
// MeasurementExtractor.CreateMeasurementFromToken and EvalExpression<T>).
#pragma once

#include "mapping/device/template_model.hpp"
#include "mapping/error.hpp"
#include "mapping/json/value.hpp"
#include "mapping/measurement.hpp"

namespace iomt::mapping::device::detail {

// Fills `m` (type, device id, time, correlation/patient/encounter ids, properties) by evaluating
// the template's expressions against `root` (the matchedToken wrapper or the match itself).
// Order: deviceId, timestamp, correlationId (if defined), patientId, encounterId, values; the
// first error is returned.
result<void> extract_measurement(const content_template& t, const json::value& root, json::arena& scratch,
                                 measurement& m);

}  // namespace iomt::mapping::device::detail
