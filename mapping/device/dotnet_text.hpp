// .NET string semantics the device mapping needs on UTF-8 text: String.IsNullOrWhiteSpace
// (Char.IsWhiteSpace) and UTF-16 code units (iomt-spec §3.5, §4).
#pragma once

#include "mapping/text/ascii.hpp"

#include <cstdint>
#include <string_view>

namespace iomt::mapping::device {

// Char.IsWhiteSpace for one code point.
bool is_dotnet_whitespace(char32_t c) noexcept;

// String.IsNullOrWhiteSpace: empty, or only white space (invalid UTF-8 bytes count as text).
bool is_blank(std::string_view utf8) noexcept;

// Decodes the next code point of `s` at `i` (advancing `i`); invalid sequences give U+FFFD and
// advance one byte, like .NET's replacement-fallback UTF-8 decoder.
char32_t next_code_point(std::string_view s, std::size_t& i) noexcept;

// ASCII case-insensitive equality (template property and type names; invariant culture for the
// names that occur).
using text::iequals;

}  // namespace iomt::mapping::device
