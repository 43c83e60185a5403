// The `=~` operator of Newtonsoft filters (BooleanQueryExpression.RegexEquals, iomt-spec §3.8):
// the right side is a string "/pattern/flags" split at its LAST '/', the flags i m s x become .NET
// RegexOptions IgnoreCase, Multiline, Singleline and - Newtonsoft's choice, not Perl's -
// ExplicitCapture (MiscellaneousUtils.GetRegexOptions; other letters are ignored), and the match is
// Regex.IsMatch: a search anywhere in the string, not a full match.
//
// The engine is PCRE2 (libpcre2-8), configured to behave like .NET's Regex: UTF-8 with Unicode
// properties (\d \s \b \p{..} and case folding are Unicode-aware), newline = "\n" only so `.`
// excludes only '\n' and `$` matches at the end and before a final '\n', multiline `^` also
// after a final '\n', duplicate group names allowed. Invalid UTF-8 in a string never matches a
// pattern character and is otherwise harmless (PCRE2_MATCH_INVALID_UTF). The pattern is first
// rewritten from .NET syntax (regex_translate.hpp: what is rewritten, what is refused and why).
// docs/jsonpath-regex.md lists every known difference from .NET.
//
// Each pattern is compiled once, when the JSONPath is compiled (a pattern taken from the document
// is compiled per use). Errors are values, stored in compiled_regex and returned when the match is
// evaluated, as Newtonsoft raises them lazily: RegexParseException for what .NET rejects too,
// NotSupportedException for valid .NET that PCRE2 cannot run, RegexMatchTimeoutException when a
// match reaches one of the limits below. No pattern and no string can make a match run longer or
// use more memory than these limits allow.
#pragma once

#include "mapping/jsonpath/path.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

// PCRE2's compiled pattern (pcre2_code for 8-bit code units); only regex.cpp includes pcre2.h.
struct pcre2_real_code_8;

namespace iomt::jsonpath::detail {

// Match limits (PCRE2 interpreter, no JIT: docs/jsonpath-regex.md says why). PCRE2 counts
// backtracking steps per start position, and a search may try every position of the string, so
// the allowance per position is regex_steps_per_match / (length + 1), clamped to [min, max]: a
// whole search takes at most about 10 million steps (a quarter second here, ~25 ns a step) on
// strings up to 1 MB, 10 steps a byte beyond. A pattern anchored at the start (^ without m, \A)
// tries one position and gets the maximum.
inline constexpr std::uint32_t regex_max_steps_per_position = 1'000'000;
inline constexpr std::uint32_t regex_min_steps_per_position = 10;
inline constexpr std::uint64_t regex_steps_per_match = 10'000'000;
inline constexpr std::uint32_t regex_depth_limit = 50'000;       // nested backtracking points
inline constexpr std::uint32_t regex_heap_limit_kib = 8192;      // backtracking memory per match
inline constexpr std::size_t regex_retained_bytes = 256 * 1024;  // per-thread memory kept between matches

// PCRE2's step limit for one start position when searching `input_bytes` bytes.
std::uint32_t regex_steps_per_position(bool anchored, std::size_t input_bytes);

struct regex_code_free {
  void operator()(pcre2_real_code_8* code) const noexcept;
};

struct compiled_regex {
  std::unique_ptr<pcre2_real_code_8, regex_code_free> code;  // null: `failure` is what a match returns
  error failure;
  bool anchored = false;  // can only match at the start of the string
  std::string pattern;    // the .NET pattern, for error messages
};

// Splits "/pattern/flags" like Newtonsoft (Substring(1, LastIndexOf('/') - 1)), translates and
// compiles it. Never throws; problems are stored in `failure`.
compiled_regex compile_regex(std::string_view slashed);

// Regex.IsMatch(input, pattern, options). Thread-safe: the match data (and its backtracking memory,
// reused from match to match) is per thread; nothing is allocated on the usual path.
boost::system::result<bool, error> regex_is_match(const compiled_regex& r, std::string_view input);

}  // namespace iomt::jsonpath::detail
