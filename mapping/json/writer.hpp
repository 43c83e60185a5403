// Writing JSON text the way Newtonsoft / the FHIR SDK do (compact, no spaces).
#pragma once

#include "mapping/json/value.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace iomt::json {

// Compact JSON of a token: floats via format_double with ".0" appended when integral (Newtonsoft
// WriteValue(double)), NaN/Infinity as "NaN"/"Infinity" strings are NOT valid JSON so they are
// written as strings; dates as ISO strings (format_iso); big integers as their digits.
void write(const value& v, std::string& out);
std::string to_string(const value& v);

// Our token <-> Boost.JSON (Observations are built with Boost.JSON; dates become ISO strings,
// big integers become doubles when they do not fit).
boost::json::value to_boost(const value& v);
value from_boost(const boost::json::value& v, arena& a);

// Compact JSON of a Boost.JSON value with .NET-style numbers: doubles shortest round-trip, with
// ".0" when integral, never Boost's "1E1" style for ordinary magnitudes. Key order preserved.
void write(const boost::json::value& v, std::string& out);
void write(const boost::json::object& o, std::string& out);  // without copying it into a value
void write_string(std::string_view s, std::string& out);     // a JSON string literal, escaped
std::string to_string(const boost::json::value& v);
// Same, indented by two spaces (CLI output).
std::string to_pretty_string(const boost::json::value& v);

}  // namespace iomt::json
