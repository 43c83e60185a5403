#include "mapping/fhir/compatibility.hpp"

#include "mapping/fhir/fhir_mapping.hpp"

#include <algorithm>

namespace iomt::mapping::fhir {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += " ,";  // string.Join(" ,", ...) as upstream
    out += items[i];
  }
  return out;
}

}  // namespace

template_errors check_compatibility(std::span<const device_template_summary> device_templates,
                                    const fhir_mapping& fhir) {
  template_errors out;
  const std::string available_templates = join(fhir.type_names());
  for (const device_template_summary& d : device_templates) {
    const code_value_template* t = fhir.find(d.type_name);
    if (!t) {
      out.push_back({"TemplateNotFoundException",
                     "No matching Fhir Template exists for Device Mapping [" + d.type_name +
                         "]. Ensure case matches. Available Fhir Templates: [" + available_templates + "].",
                     d.template_index, "typeName", d.type_name_pos, true});
      continue;
    }
    // The value names an Observation of this template can carry: value[x] and every component.
    std::vector<std::string> names;  // insertion order, no duplicates (as upstream's HashSet)
    auto add = [&](const std::optional<value_template>& v) {
      if (!v || !v->value_name) return;
      if (std::find(names.begin(), names.end(), *v->value_name) == names.end()) names.push_back(*v->value_name);
    };
    if (t->components)
      for (const component_template& c : *t->components) add(c.value);
    add(t->value);
    if (!d.value_names) continue;
    const std::string available_values = join(names);
    for (std::size_t i = 0; i < d.value_names->size(); ++i) {
      const std::string& v = (*d.value_names)[i];
      if (std::find(names.begin(), names.end(), v) != names.end()) continue;
      out.push_back({"InvalidTemplateException",
                     "The value [" + v + "] in Device Mapping [" + d.type_name +
                         "] is not represented within the Fhir Template of type [" + d.type_name +
                         "]. Available values are: [" + available_values +
                         "]. No value will appear inside of Observations.",
                     d.template_index, "values[" + std::to_string(i) + "].valueName",
                     i < d.value_pos.size() ? d.value_pos[i] : json::source_pos{}, true});
    }
  }
  return out;
}

std::string no_fhir_template_message(std::string_view type) {
  return "No Fhir Template exists with the type name [" + std::string(type) +
         "]. Ensure that all Fhir Template type names match Device Mapping type names (including casing)";
}

}  // namespace iomt::mapping::fhir
