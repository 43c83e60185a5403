// .NET behaviour the mapping must reproduce byte for byte: value-to-string (Value<string>()),
// double formatting, DateTime parsing and formatting (iomt-spec §3.5, §3.6, §8.1).
#pragma once

#include "mapping/json/value.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace iomt::json {

// double.ToString(CultureInfo.InvariantCulture) on .NET Core 3.0+: shortest round-trip digits,
// fixed notation when -5 < exponent < 15, else d.dddE+XX; "NaN", "Infinity", "-Infinity".
std::string format_double(double d);

// Outcome of Newtonsoft token.Value<T>() for T = string / DateTime?.
enum class conversion { ok, null, error };

// Value<string>(): String as is, Integer digits, Float per format_double, Boolean True/False,
// Date as MM/dd/yyyy HH:mm:ss; null -> conversion::null; Object/Array/BigInteger -> conversion::error.
conversion to_dotnet_string(const value& v, std::string& out);

// Value<DateTime?>(): Date token as is; String via parse_datetime; null -> null; others -> error.
conversion to_dotnet_datetime(const value& v, date_time& out);

// Newtonsoft date sniffing of a JSON string (DateParseHandling.DateTime, RoundtripKind):
// length 19..40, digit first, 'T' at [10], yyyy-MM-ddTHH:mm:ss[.f{1,7}][Z|±HH[:]mm|±HH];
// also "/Date(ms[±hhmm])/". Offsets are converted to the UTC instant, kind = local.
std::optional<date_time> sniff_date(std::string_view s);

// DateTime.Parse(s, InvariantCulture) followed by conversion to UTC (no zone -> taken as UTC):
// ISO forms, yyyy-MM-dd, yyyy-MM-dd HH:mm:ss, MM/dd/yyyy [HH:mm:ss], month names, offsets.
std::optional<date_time> parse_datetime(std::string_view s);

// Civil time helpers (proleptic Gregorian, UTC).
struct civil_time {
  int year, month, day, hour, minute, second;
  std::int64_t fraction_ticks;  // 0..9'999'999
};
civil_time to_civil(std::int64_t ticks);
std::int64_t from_civil(const civil_time& c);  // caller validates ranges
// Days in `month` (1..12) of `year` (Gregorian leap rules); 0 for an invalid month.
int days_in_month(int year, int month);
// DateTime.MaxValue.Ticks (9999-12-31T23:59:59.9999999).
inline constexpr std::int64_t max_ticks = 3'155'378'975'999'999'999;

// DateTime.ToString(InvariantCulture): "MM/dd/yyyy HH:mm:ss".
std::string format_invariant(date_time t);
// DateTime.ToString("o"): "yyyy-MM-ddTHH:mm:ss.fffffff" + "Z" (utc) / "" (unspecified) / "+00:00" (local).
std::string format_roundtrip(date_time t);
// Newtonsoft JSON writer (IsoDateFormat): fraction with trailing zeros trimmed, same zone suffixes.
std::string format_iso(date_time t);
// Identifier segment "yyyyMMddHHmmss" (iomt-spec §7).
std::string format_compact(date_time t);

}  // namespace iomt::json
