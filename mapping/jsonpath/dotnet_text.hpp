// .NET text primitives the JSONPath dialect leans on (iomt-spec §3.8): invariant-culture number and
// boolean parsing (Int32/Int64/Double/Boolean/BigInteger.Parse as used by Convert.ToXxx and the
// JPath parser), char.IsWhiteSpace trimming, UTF-16 ordinal string order, and UTF-8 character
// extraction for error messages. Internal to mapping/jsonpath.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iomt::jsonpath::detail {

enum class parse_status { ok, format, overflow };

// NumberStyles.Integer: [ws][+|-]digits[ws].
parse_status parse_int32(std::string_view s, std::int32_t& out);
parse_status parse_int64(std::string_view s, std::int64_t& out);

// NumberStyles.Float | AllowThousands (double.Parse / Convert.ToDouble): [ws][sign]digits with ','
// group separators before the point, [.digits][e[sign]digits][ws], or [sign]Infinity / NaN
// (case-insensitive). Out of range -> ±Infinity / 0 (.NET Core 3.0+). Never overflow.
parse_status parse_double(std::string_view s, double& out);

// Boolean.Parse: "True"/"False", case-insensitive, surrounding whitespace and NULs ignored.
parse_status parse_boolean(std::string_view s, bool& out);

// BigInteger.Parse(s, NumberStyles.Integer): canonical "[-]digits" without leading zeros.
parse_status parse_big_integer(std::string_view s, std::string& canonical);

// Compares two canonical-or-not "[-]digits" integers numerically (leading zeros, "-0" allowed).
int compare_decimal_integers(std::string_view a, std::string_view b);

// String.TrimEnd(): removes trailing char.IsWhiteSpace characters (ASCII and Unicode spaces).
std::string_view trim_end(std::string_view s);

// string.CompareOrdinal on the UTF-16 form of two UTF-8 strings (sign only).
int compare_ordinal(std::string_view a, std::string_view b);

// The UTF-8 character starting at s[pos] (1-4 bytes; one byte when malformed).
std::string_view char_at(std::string_view s, std::size_t pos);

// .NET's FormatException text for a value that does not parse.
std::string format_exception_message(std::string_view input);

}  // namespace iomt::jsonpath::detail
