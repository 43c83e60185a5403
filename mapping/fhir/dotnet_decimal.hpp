// decimal.Parse(text, NumberStyles.Number, CultureInfo.InvariantCulture) as the Quantity value
// processor and Newtonsoft (numeric strings for `defaultPeriod`) use it (iomt-spec §8.4).
//
// Accepted: leading/trailing white space, one leading OR trailing sign, digits with ',' group
// separators (after the first digit, before the '.'), one '.', no exponent, no NaN/Infinity.
// The number is returned as the JSON value the FHIR serializer would write: int64 when there are
// no fraction digits (and it fits), else double ("78.0" -> 78.0, written "78.0").
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string_view>

namespace iomt::mapping::fhir {

enum class decimal_status { ok, format_error, overflow };

struct decimal_result {
  decimal_status status = decimal_status::format_error;
  boost::json::value number;  // valid when status == ok
};

decimal_result parse_dotnet_decimal(std::string_view text);

}  // namespace iomt::mapping::fhir
