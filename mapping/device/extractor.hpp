// One measurement from one match (iomt-spec §3.4 step 4-5, §3.5: upstream
// MeasurementExtractor.CreateMeasurementFromToken and EvalExpression<T>).
#pragma once

#include "mapping/device/template_model.hpp"
#include "mapping/error.hpp"
#include "mapping/json/value.hpp"
#include "mapping/measurement.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iomt::mapping::device::detail {

// Fills `m` (type, device id, time, correlation/patient/encounter ids, properties) by evaluating
// the template's expressions against `root` (the matchedToken wrapper or the match itself).
// Order: deviceId, timestamp, correlationId (if defined), patientId, encounterId, values; the
// first error is returned.
result<void> extract_measurement(const content_template& t, const json::value& root, json::arena& scratch,
                                 measurement& m);

// Templates of one mapping often share the deviceId / timestamp / patientId ... expressions, and
// every template whose type match selects the same object then evaluates them on the same root.
// A field id (assigned at load, see device_mapping) names one such evaluation: field, language,
// expression text(s) and root kind (match or matchedToken wrapper); -1: not shared. Only JSONPath
// fields get ids (pure functions of the root).
struct shared_field_ids {
  std::int32_t device_id = -1;
  std::int32_t timestamp = -1;
  std::int32_t correlation_id = -1;
  std::int32_t patient_id = -1;
  std::int32_t encounter_id = -1;
};

// Per-message memo of successful shared-field evaluations: (field id, matched container) -> the
// measurement in `out` that holds the result. Errors are never memoized (they end the message).
class field_memo {
public:
  explicit field_memo(const std::vector<measurement>& out) noexcept : out_(out) {}

  // The measurement that already holds field `id` for `match`, with whether a value was produced.
  const measurement* find(std::int32_t id, const json::value& match, bool& produced) const noexcept;
  void add(std::int32_t id, const json::value& match, std::size_t index, bool produced) noexcept;

private:
  struct entry {
    std::int32_t id;
    bool produced;
    json::kind kind;
    std::uint32_t size;
    const void* data;
    std::size_t index;
  };
  static constexpr std::size_t capacity = 32;
  const std::vector<measurement>& out_;
  entry entries_[capacity];
  std::size_t count_ = 0;
};

// extract_measurement with memoized shared fields: `m` is out[index]; `match` is the type-match
// token `root` was built from. Same results and errors as the plain overload.
result<void> extract_measurement(const content_template& t, const shared_field_ids& ids, const json::value& match,
                                 const json::value& root, json::arena& scratch, field_memo& memo, std::size_t index,
                                 measurement& m);

}  // namespace iomt::mapping::device::detail
