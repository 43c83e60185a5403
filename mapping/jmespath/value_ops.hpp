// JMESPath semantics of json::value as JmesPath.Net 1.0.20x applies them over Newtonsoft tokens
// (iomt-spec §3.9): truthiness, `==` (JToken.DeepEquals), ordering comparisons, and the text a
// string-typed built-in sees (JToken.Value<string>(): a Date token reads as "MM/dd/yyyy HH:mm:ss").
#pragma once

#include "mapping/jmespath/ast.hpp"
#include "mapping/json/value.hpp"

#include <cstddef>
#include <string_view>

namespace iomt::jmespath {

// Spec "Truthiness": false, null, "", [], {} are false; everything else (0 included) is true.
inline bool truthy(const json::value& v) noexcept {
  switch (v.type()) {
    case json::kind::null:
      return false;
    case json::kind::boolean:
      return v.as_bool();
    case json::kind::string:
    case json::kind::array:
    case json::kind::object:
      return v.size() != 0;
    default:
      return true;
  }
}

inline bool is_jmes_number(const json::value& v) noexcept {
  return v.is_number() || v.type() == json::kind::big_integer;
}
inline bool is_jmes_string(const json::value& v) noexcept { return v.is_string() || v.is_date(); }

// A number as double (big integers parsed from their digits).
double number_value(const json::value& v) noexcept;

// Three-way comparison of two numbers (exact for two Int64).
int compare_numbers(const json::value& a, const json::value& b) noexcept;

// The text of a JMESPath string as JmesPath.Net reads it (Value<string>()): a string as is, a
// Date token as DateTime.ToString(InvariantCulture) (json::format_invariant), copied into `a`.
std::string_view string_text(const json::value& v, json::arena& a);

// Three-way ordinal comparison (String.CompareOrdinal: UTF-16 code unit order) of UTF-8 texts.
int compare_strings(std::string_view a, std::string_view b) noexcept;

// Number of Unicode code points of UTF-8 text.
std::size_t code_points(std::string_view s) noexcept;

// `==`: Newtonsoft JToken.DeepEquals - token types must match (Integer 1 != Float 1.0, a Date
// never equals a String), objects compare by key, arrays element-wise.
bool jmes_equal(const json::value& a, const json::value& b) noexcept;

// `<` `<=` `>` `>=` (JmesPathOrderingComparison): two numbers compare as doubles; two
// string-like tokens (String, Date, and null, which counts as the smallest string) compare
// ordinally; any other pairing gives null.
json::value jmes_order(comparator c, const json::value& a, const json::value& b, json::arena& scratch);

}  // namespace iomt::jmespath
