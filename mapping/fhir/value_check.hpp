// SampledData values are FHIR decimals (issue 13 item 4). SampledData.data is a list of decimals
// separated by single spaces (FHIR R4 SampledData.data), and iomtflow merges and re-slices it on
// every write: one token that is not a decimal ("150 151", "NaN", "Infinity", "1e400", 400 digits,
// invalid text) shifts or pollutes the whole series. Upstream (SampledDataProcessor) writes such
// values as they are; iomtflow fails that measurement with a clear error instead, as the Quantity
// path does - a deliberate, documented difference (docs/mapping-cli.md).
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/template_model.hpp"
#include "mapping/measurement.hpp"

#include <optional>
#include <string_view>

namespace iomt::mapping::fhir {

// FHIR R4 decimal syntax -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, with at most 28
// significant digits and an exponent of at most 28 in magnitude (.NET decimal's range and
// precision, which every FHIR server stores).
bool is_fhir_decimal(std::string_view text) noexcept;

// InvalidSampledDataFhirValueException when a property the template writes into SampledData
// (its value or a component's) is not a FHIR decimal; nullopt otherwise.
std::optional<mapping_error> check_sampled_data_values(const code_value_template& tpl, const measurement& m);

}  // namespace iomt::mapping::fhir
