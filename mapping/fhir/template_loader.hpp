// Internal: reads a CollectionFhir document into code_value_templates, reproducing what
// CollectionFhirTemplateFactory + CodeValueFhirTemplateFactory + Newtonsoft report (iomt-spec §6.1):
// container rules, MissingMemberHandling.Error outside value objects, Required members, the
// ValueType discriminator, and FhirLookupTemplate's duplicate / empty type-name rules.
#pragma once

#include "mapping/fhir/fhir_mapping.hpp"

namespace iomt::mapping::fhir {

class mapping_loader {
public:
  static load_result run(std::string_view json_text);
};

}  // namespace iomt::mapping::fhir
