// FHIR dateTime text <-> .NET ticks for Observation.effective[x] and issued (iomt-spec §8.1, §9).
#pragma once

#include "mapping/json/value.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace iomt::mapping::fhir {

// FhirDateTime.ToDateTimeOffset(TimeSpan.Zero).UtcDateTime: "yyyy", "yyyy-MM", "yyyy-MM-dd",
// "yyyy-MM-ddThh:mm[:ss[.f...]]" with an optional "Z" / "±hh:mm" zone (none = UTC). Fractions
// beyond 7 digits are truncated. Returns the UTC instant, or nullopt when the text is not a date.
std::optional<std::int64_t> parse_fhir_datetime(std::string_view text);

// Period start/end as written by the FHIR stage: DateTime.ToString("o") (7 fraction digits;
// "Z" for Utc-kind, "+00:00" for Local-kind, nothing for Unspecified).
std::string format_period_time(json::date_time t);

// Observation.issued: DateTimeOffset.UtcNow as the FHIR serializer writes an instant,
// "2023-04-05T21:02:59.1650841+00:00".
std::string format_issued(json::date_time utc_now);

}  // namespace iomt::mapping::fhir
