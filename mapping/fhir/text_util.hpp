// Small .NET string predicates used across mapping/fhir (internal).
#pragma once

#include "mapping/text/ascii.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace iomt::mapping::fhir::detail {

// char.IsWhiteSpace for the ASCII range plus the common Unicode spaces written in UTF-8
// (NBSP U+00A0 and U+2000..U+200A, U+2028/2029, U+202F, U+205F, U+3000, U+1680, U+0085).
// Returns the byte length of the white-space character at s[i], 0 when it is not one.
std::size_t white_space_at(std::string_view s, std::size_t i) noexcept;

// string.IsNullOrWhiteSpace.
bool is_blank(std::string_view s) noexcept;
inline bool is_blank(const std::string& s) noexcept { return is_blank(std::string_view(s)); }
inline bool is_blank(const char* s) noexcept { return is_blank(std::string_view(s)); }
inline bool is_blank(const std::optional<std::string>& s) noexcept { return !s || is_blank(std::string_view(*s)); }

// String.Trim() / TrimEnd() (the same white-space set).
std::string_view trim(std::string_view s) noexcept;
std::string_view trim_end(std::string_view s) noexcept;

// StringComparison.OrdinalIgnoreCase / InvariantCultureIgnoreCase for ASCII letters; other bytes
// must be equal (non-ASCII case folding is not applied).
using text::iequals;

}  // namespace iomt::mapping::fhir::detail
