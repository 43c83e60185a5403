#include "mapping/fhir/fhir_mapping.hpp"

#include "mapping/fhir/template_loader.hpp"
#include "mapping/fhir/text_util.hpp"

namespace iomt::mapping::fhir {

bool load_result::valid() const {
  if (!mapping) return false;
  for (const template_error& e : errors)
    if (!e.warning) return false;
  return true;
}

load_result fhir_mapping::load(std::string_view json_text) { return mapping_loader::run(json_text); }

const code_value_template* fhir_mapping::find(std::string_view type) const noexcept {
  for (const code_value_template& t : templates_)
    if (detail::iequals(t.type_name, type)) return &t;
  return nullptr;
}

result<const code_value_template*> fhir_mapping::get(std::string_view type) const {
  // FhirLookupTemplate.GetTemplate: EnsureArg.IsNotNullOrWhiteSpace, then TemplateNotFoundException(type).
  if (detail::is_blank(type))
    return mapping_error{"ArgumentException",
                         "The value cannot be an empty string or composed entirely of whitespace. (Parameter 'type') "
                         "(wrapped in FhirDataMappingException)"};
  if (const code_value_template* t = find(type)) return t;
  return mapping_error{"TemplateNotFoundException",
                       "No template for type " + std::string(type) +
                           " (upstream: TemplateNotFoundException wrapped in FhirDataMappingException)"};
}

std::vector<std::string> fhir_mapping::type_names() const {
  std::vector<std::string> names;
  names.reserve(templates_.size());
  for (const code_value_template& t : templates_) names.push_back(t.type_name);
  return names;
}

std::string_view fhir_type_name(value_kind k) noexcept {
  switch (k) {
    case value_kind::sampled_data:
      return "Hl7.Fhir.Model.SampledData";
    case value_kind::quantity:
      return "Hl7.Fhir.Model.Quantity";
    case value_kind::string:
      return "Hl7.Fhir.Model.FhirString";
    case value_kind::codeable_concept:
      return "Hl7.Fhir.Model.CodeableConcept";
  }
  return "";
}

}  // namespace iomt::mapping::fhir
