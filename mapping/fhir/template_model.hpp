// The FHIR destination mapping model: a CodeValueFhir template as loaded and validated from a
// CollectionFhir document (iomt-spec §6). Plain data; built once per mapping by fhir_mapping::load
// and read by the observation builder for every group.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::fhir {

// ObservationPeriodInterval (iomt-spec §6.2, §7). Any int32 loads; only these four build groups.
namespace period_interval {
inline constexpr std::int32_t correlation_id = -1;
inline constexpr std::int32_t single = 0;
inline constexpr std::int32_t hourly = 60;
inline constexpr std::int32_t daily = 1440;
}  // namespace period_interval

// FhirCode: one Coding of Observation.code / category / component.code. Members may be absent.
struct fhir_code {
  std::optional<std::string> code;
  std::optional<std::string> system;
  std::optional<std::string> display;
};

// FhirCodeableConcept: a template category entry.
struct fhir_codeable_concept {
  std::optional<std::string> text;
  std::optional<std::vector<fhir_code>> codes;
};

// The value[x] kinds (iomt-spec §6.3). The discriminator text is matched case-insensitively.
enum class value_kind : std::uint8_t { sampled_data, quantity, string, codeable_concept };

// FhirValueType and its four subclasses, flattened. Members that a kind does not have stay empty.
struct value_template {
  value_kind kind = value_kind::quantity;
  std::optional<std::string> value_type;  // the discriminator as written
  std::optional<std::string> value_name;  // binds to a measurement property name (ordinal)

  // SampledData: defaultPeriod in milliseconds. `default_period` keeps the number as written in
  // the template (int64 when integral in the JSON, else double) for SampledData.period;
  // `default_period_ms` is Convert.ToDouble(decimal) for the slot arithmetic (iomt-spec §8.3).
  std::optional<double> default_period_ms;
  boost::json::value default_period;  // null when absent

  std::optional<std::string> unit;    // SampledData, Quantity
  std::optional<std::string> system;  // Quantity
  std::optional<std::string> code;    // Quantity

  std::optional<std::string> text;              // CodeableConcept
  std::optional<std::vector<fhir_code>> codes;  // CodeableConcept (null -> NullReferenceException at runtime)
};

// CodeValueMapping: one Observation.component.
struct component_template {
  std::vector<fhir_code> codes;
  std::optional<value_template> value;  // null -> NullReferenceException at runtime (as upstream)
};

// CodeValueFhirTemplate (iomt-spec §6.2).
struct code_value_template {
  std::string type_name;
  std::int32_t period_interval = period_interval::single;
  std::vector<fhir_code> codes;
  std::optional<std::vector<fhir_codeable_concept>> category;
  std::optional<value_template> value;
  std::optional<std::vector<component_template>> components;
  int template_index = -1;  // position in the root "template" array
};

// Hl7.Fhir.Model type name of a value kind, as in upstream exception messages.
std::string_view fhir_type_name(value_kind k) noexcept;

}  // namespace iomt::mapping::fhir
