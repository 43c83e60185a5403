// A FHIR destination mapping (CollectionFhir of CodeValueFhir templates), loaded and validated
// once, then looked up by measurement type for every measurement group (iomt-spec §6).
//
// This header is also the area's umbrella: it pulls in grouping (§5, §7), the Observation
// builder (§8, §9) and the identity helpers (§10) so callers need one include.
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/template_model.hpp"
#include "mapping/template_error.hpp"

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::fhir {

class fhir_mapping;

struct load_result {
  // Never null: a document whose root cannot be read gives an empty mapping plus errors.
  std::shared_ptr<const fhir_mapping> mapping;
  template_errors errors;  // every problem found, in document order
  // True when the mapping loaded without errors (warnings allowed). Upstream EnsureValid() fails
  // on any error, so an invalid mapping must not be used in production (iomt-spec §3.1, §6.1);
  // the valid templates are still registered for diagnostics (MixedValidity case).
  bool valid() const;
};

class fhir_mapping {
public:
  // Parses and validates a CollectionFhir document (iomt-spec §6.1). Never throws on bad input.
  static load_result load(std::string_view json_text);

  // The template for a measurement type, matched case-insensitively (FhirLookupTemplate uses
  // InvariantCultureIgnoreCase); nullptr when none.
  const code_value_template* find(std::string_view type) const noexcept;

  // Same, as upstream GetTemplate: a missing template is `TemplateNotFoundException` (message =
  // the type name, as upstream) - note that the FHIR stage wraps it in FhirDataMappingException
  // (iomt-spec §13.2); a blank type is `ArgumentException`.
  result<const code_value_template*> get(std::string_view type) const;

  // Registered type names, in registration (document) order.
  std::vector<std::string> type_names() const;
  std::span<const code_value_template> templates() const noexcept { return templates_; }

private:
  friend class mapping_loader;
  std::vector<code_value_template> templates_;
};

}  // namespace iomt::mapping::fhir

// Umbrella: the rest of the area's public API.
#include "mapping/fhir/compatibility.hpp"
#include "mapping/fhir/identity_ids.hpp"
#include "mapping/fhir/measurement_group.hpp"
#include "mapping/fhir/observation_builder.hpp"
#include "mapping/fhir/observation_group.hpp"
#include "mapping/fhir/sampled_data.hpp"
