// Newtonsoft JValue equality and ordering as used by JSONPath filters (iomt-spec §3.8):
// JValue.Equals / Compare / CompareTo and BooleanQueryExpression.EqualsWithStringCoercion /
// EqualsWithStrictMatch. Only primitive tokens (null, boolean, integer, big integer, float,
// string, date) are JValues; callers handle objects and arrays.
//
// CompareTo converts the right side to the left side's type (to the right side's type when the
// left is a string): '5' < 10 compares 5 with 10, 'abc' < 10 is a FormatException, a date compared
// with a number is an InvalidCastException. Those exceptions surface as errors, like in MedTech.
#pragma once

#include "mapping/json/value.hpp"
#include "mapping/jsonpath/path.hpp"

#include <boost/system/result.hpp>

namespace iomt::jsonpath::detail {

// JValue.CompareTo(other): <0, 0, >0.
boost::system::result<int, error> jvalue_compare(const json::value& a, const json::value& b);

// `==`: JValue.Equals, Integer/Float numerically, a Date on the left equal to a string on the
// right holding its ISO text (json::format_iso).
boost::system::result<bool, error> equals_with_string_coercion(const json::value& a, const json::value& b);

// `===`: like `==` without the date/string coercion.
boost::system::result<bool, error> equals_strict(const json::value& a, const json::value& b);

}  // namespace iomt::jsonpath::detail
