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
                     d.template_index,
                     "typeName",
                     {},
                     true});
      continue;
    }
    // GetFhirValues: component values when `components` is present, else the main value.
    std::vector<std::string> names;  // HashSet<string>: insertion order, no duplicates
    bool broken = false;
    auto add = [&](const std::optional<value_template>& v) {
      if (!v) {
        broken = true;  // null FhirValueType in the set -> NullReferenceException upstream
        return;
      }
      const std::string n = v->value_name.value_or("");
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    };
    if (t->components)
      for (const component_template& c : *t->components) add(c.value);
    else
      add(t->value);
    if (broken) {
      out.push_back({"NullReferenceException",
                     "Object reference not set to an instance of an object.",
                     d.template_index,
                     "typeName",
                     {},
                     false});
      continue;
    }
    if (!d.value_names) continue;
    const std::string available_values = join(names);
    for (const std::string& v : *d.value_names)
      if (std::find(names.begin(), names.end(), v) == names.end())
        out.push_back({"InvalidTemplateException",
                       "The value [" + v + "] in Device Mapping [" + d.type_name +
                           "] is not represented within the Fhir Template of type [" + d.type_name +
                           "]. Available values are: [" + available_values +
                           "]. No value will appear inside of Observations.",
                       d.template_index,
                       "values",
                       {},
                       true});
  }
  return out;
}

std::string no_fhir_template_message(std::string_view type) {
  return "No Fhir Template exists with the type name [" + std::string(type) +
         "]. Ensure that all Fhir Template type names match Device Mapping type names (including casing)";
}

}  // namespace iomt::mapping::fhir
