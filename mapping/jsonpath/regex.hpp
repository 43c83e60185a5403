// The `=~` operator of Newtonsoft filters (BooleanQueryExpression.RegexEquals, iomt-spec §3.8):
// the right side is a string "/pattern/flags" split at its LAST '/', flags i m s x map to .NET
// RegexOptions, and the match is Regex.IsMatch (a search, not a full match).
//
// .NET regex syntax is translated to std::regex ECMAScript: `.` excludes only '\n' (all with `s`),
// `$` also matches before a final '\n', named groups `(?<n>...)` become plain groups, \A \z \Z
// become anchors. Lookbehind, inline options, atomic groups, \p{..}, class subtraction and
// named back-references are not available: such patterns fail (NotSupportedException) when
// evaluated. Patterns are compiled in libstdc++'s polynomial (Thompson NFA) mode when they have no
// back-references, so a match never recurses per input character and, searched as one anchored
// "[\s\S]*?(?:pattern)", takes time linear in the input; size/nesting limits keep the
// compiled automaton small (fuzz-safe). Patterns with back-references need the backtracking
// matcher, whose recursion grows with the input: they refuse inputs over 2048 bytes.
#pragma once

#include "mapping/jsonpath/path.hpp"

#include <boost/system/result.hpp>

#include <optional>
#include <regex>
#include <string_view>

namespace iomt::jsonpath::detail {

struct compiled_regex {
  std::optional<std::regex> re;  // empty: `failure` is what evaluating the match raises
  error failure;
  bool backtracking = false;  // has back-references: libstdc++ recurses per input character
  bool continuous = false;    // `re` is "[\s\S]*?(?:pattern)", matched from the start only
};

// Splits "/pattern/flags" like Newtonsoft (Substring(1, LastIndexOf('/') - 1)) and compiles it.
// Never throws; problems are stored in `failure`.
compiled_regex compile_regex(std::string_view slashed);

// Regex.IsMatch(input, pattern, options).
boost::system::result<bool, error> regex_is_match(const compiled_regex& r, std::string_view input);

}  // namespace iomt::jsonpath::detail
