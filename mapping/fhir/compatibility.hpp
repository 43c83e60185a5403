// The mapping validator's cross-check of a device mapping against a FHIR mapping
// (upstream MappingValidator.CheckForTemplateCompatibility / ProcessNormalizedEvent, expected E4).
#pragma once

#include "mapping/template_error.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::fhir {

class fhir_mapping;

// What the check needs from one device template.
struct device_template_summary {
  std::string type_name;
  std::optional<std::vector<std::string>> value_names;  // null when the template has no `values`
  int template_index = -1;
  json::source_pos type_name_pos;           // where the typeName is (0/0: unknown)
  std::vector<json::source_pos> value_pos;  // where each valueName is, parallel to value_names (may be empty)
};

// Warnings (template_error::warning = true), with the device template's index, the property and
// its line, for device templates whose type has no FHIR template (property typeName: "No matching
// Fhir Template exists for Device Mapping [x]. Ensure case matches. Available Fhir Templates:
// [a ,b].") and for each device value that no FHIR value or component uses (property
// values[i].valueName: "The value [v] in Device Mapping [x] is not represented within the Fhir
// Template of type [x]. Available values are: [..]. No value will appear inside of Observations.").
// Upstream MappingValidator.CheckForTemplateCompatibility, with one deliberate difference: upstream
// looks only at the components when a template has any (and throws NullReferenceException for a
// template with neither value nor components), so the main value of a template that has both is
// reported as missing although it is written; here the main value and every component count.
template_errors check_compatibility(std::span<const device_template_summary> device_templates,
                                    const fhir_mapping& fhir);

// The per-message error the validator reports when a measurement's type has no FHIR template:
// "No Fhir Template exists with the type name [x]. Ensure that all Fhir Template type names match
// Device Mapping type names (including casing)".
std::string no_fhir_template_message(std::string_view type);

}  // namespace iomt::mapping::fhir
