// Helpers for the `=~` suites: test one string against one "/pattern/flags" through a whole
// JSONPath filter, as templates use it (iomt-spec §3.8).
#pragma once

#include "jsonpath_test_util.hpp"

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace iomt::jsonpath::test {

// The document [{"s": input}] (input JSON-escaped).
inline json::document string_doc(std::string_view input) {
  boost::json::array a;
  a.emplace_back(boost::json::object{{"s", boost::json::string_view(input.data(), input.size())}});
  return doc(boost::json::serialize(a));
}

inline std::string regex_filter(std::string_view slashed) { return "$[?(@.s =~ " + std::string(slashed) + ")]"; }

// Regex.IsMatch(input, pattern, flags): true when the filter keeps the element.
inline bool is_match(std::string_view slashed, std::string_view input) {
  json::document d = string_doc(input);
  return select(regex_filter(slashed), d.root).size() == 1;
}

// The error evaluating the filter raises.
inline error match_error(std::string_view slashed, std::string_view input) {
  json::document d = string_doc(input);
  path p = compiled(regex_filter(slashed));
  std::vector<const json::value*> out;
  auto r = p.select(d.root, out);
  BOOST_REQUIRE_MESSAGE(!r, "'" << slashed << "' on '" << input << "' should fail");
  return r.error();
}

inline std::string match_error_type(std::string_view slashed, std::string_view input = "x") {
  return match_error(slashed, input).type;
}

}  // namespace iomt::jsonpath::test
