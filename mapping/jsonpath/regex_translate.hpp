// .NET regular-expression syntax -> PCRE2 syntax, for the `=~` filter operator (iomt-spec §3.8).
// Internal to mapping/jsonpath; regex.cpp compiles the result. docs/jsonpath-regex.md is the
// user-facing list of what matches like .NET and what does not.
//
// PCRE2 and .NET share most of their syntax; this pass rewrites what they spell or number
// differently and refuses what would silently mean something else:
//   - rewritten: \w / \W -> .NET's word set [\p{L}\p{Mn}\p{Nd}\p{Pc}]; \v -> U+000B (PCRE2: any
//     vertical space); \xHH, \uHHHH (surrogate pairs joined), \cX, octal -> \x{..}; `{` and `}` that
//     are not a quantifier -> \{ \}; [[:name:]] -> .NET's literal '['; named groups -> (?<gN>...)
//     (PCRE2 names are ASCII only); numbered references -> PCRE2 numbers (.NET numbers unnamed
//     groups first, then named ones); (?(expr)yes|no) -> (?(?=expr)yes|no); (?#...) and, under
//     (?x), white space and # comments are dropped here, so PCRE2 never runs in extended mode.
//   - refused, RegexParseException (.NET rejects them too; PCRE2 would give them a meaning):
//     escapes .NET does not know (\h \K \Q \R \X \N \o \g ...), (*VERB), possessive quantifiers,
//     (?| (?R) (?1) (?&n) (?P...) (?C..) and other unknown (? constructs, unknown \p{..} names.
//   - refused, NotSupportedException (valid .NET that PCRE2 cannot express): class subtraction,
//     balancing groups, explicitly numbered groups (?<2>..), Unicode blocks \p{IsGreek}, lone UTF-16
//     surrogates; and the resource bounds below.
#pragma once

#include "mapping/jsonpath/path.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::jsonpath::detail {

// Resource bounds on a pattern (not .NET's; NotSupportedException when exceeded). They keep the
// compiled program small: PCRE2 copies a group once per counted repetition.
inline constexpr std::size_t max_regex_pattern_bytes = 4096;
inline constexpr std::size_t max_regex_group_depth = 32;
// The product of nested repetition counts (`(a{10}){20}` weighs 200); also PCRE2's largest count.
inline constexpr std::uint64_t max_regex_repeat = 65535;

struct pcre2_pattern {
  std::string text;                   // PCRE2 syntax, for pcre2_compile with the options regex.cpp sets
  std::vector<std::uint32_t> origin;  // origin[i]: offset in the .NET pattern of what produced text[i]
};

// Translates `pattern` (.NET syntax). `explicit_capture` is RegexOptions.ExplicitCapture, which
// Newtonsoft's `x` flag sets. Errors name the construct: RegexParseException ("Invalid pattern
// '<pattern>' at offset <n>. <reason>", .NET's wording) or NotSupportedException.
boost::system::result<pcre2_pattern, error> translate_dotnet_regex(std::string_view pattern, bool explicit_capture);

// The error types above, built the same way for compile-time failures found by PCRE2 itself.
error regex_parse_error(std::string_view pattern, std::size_t offset, std::string_view reason);
error regex_not_supported(std::string_view pattern, std::string_view construct);

}  // namespace iomt::jsonpath::detail
