// The compiled form of the four content template types (iomt-spec §3.2). Built once by the
// loader; the per-message path reads these fields directly (no lookups by property name).
#pragma once

#include "mapping/device/expression.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iomt::mapping::device {

enum class template_kind : std::uint8_t {
  calculated_content,             // "CalculatedContent": JSONPath or JMESPath, evaluated on the matchedToken wrapper
  json_path_content,              // "JsonPathContent": JSONPath, evaluated on the match
  iot_json_path_content,          // "IotJsonPathContent": fixed IoT Hub device id / time (§3.7)
  iot_central_json_path_content,  // "IotCentralJsonPathContent": fixed $.deviceId / $.enqueuedTime (§3.7)
};

// The templateType name upstream reports for a kind ("CalculatedContent", "JsonPathContent", ...).
const char* to_string(template_kind k) noexcept;

// One entry of "values" (iomt-spec §3.2).
struct value_spec {
  std::string name;                               // valueName, verbatim
  std::optional<compiled_expression> expression;  // absent: JsonPath-family empty string (§3.1)
  bool required = false;
  json::source_pos pos;  // of its valueName (else of the element): where validator warnings point
};

struct content_template {
  template_kind kind = template_kind::calculated_content;
  std::string type_name;
  // CalculatedContent evaluates every non-match expression against the envelope plus a
  // "matchedToken" member; the legacy kinds against the match itself (iomt-spec §3.4 step 3).
  bool wraps_match = true;
  expression_language default_language = expression_language::json_path;  // CalculatedContent only

  // An absent optional means "no expression" (missing, or a blank JsonPath-family string).
  std::optional<compiled_expression> type_match;
  std::optional<compiled_expression> device_id;
  std::optional<compiled_expression> timestamp;
  std::optional<compiled_expression> timestamp_fallback;  // IotJsonPathContent: iothub-enqueuedtime
  std::optional<compiled_expression> patient_id;
  std::optional<compiled_expression> encounter_id;
  std::optional<compiled_expression> correlation_id;
  std::vector<value_spec> values;
  bool has_values = false;  // "values" was given (an empty array counts), as upstream's Values != null

  int template_index = -1;         // position in the root "template" array
  json::source_pos type_name_pos;  // of the typeName value: where validator warnings point
};

}  // namespace iomt::mapping::device
