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
};

// Warnings (template_error::warning = true) for device templates whose type has no FHIR template
// ("No matching Fhir Template exists for Device Mapping [x]. Ensure case matches. Available Fhir
// Templates: [a ,b].") and for device values no FHIR value uses ("The value [v] in Device Mapping
// [x] is not represented within the Fhir Template of type [x]. Available values are: [..]. No value
// will appear inside of Observations."). A FHIR template with neither value nor components makes
// the upstream validator fail with a NullReferenceException: reported as an error, as upstream.
template_errors check_compatibility(std::span<const device_template_summary> device_templates,
                                    const fhir_mapping& fhir);

// The per-message error the validator reports when a measurement's type has no FHIR template:
// "No Fhir Template exists with the type name [x]. Ensure that all Fhir Template type names match
// Device Mapping type names (including casing)".
std::string no_fhir_template_message(std::string_view type);

}  // namespace iomt::mapping::fhir
