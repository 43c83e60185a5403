// ASCII text helpers shared by every folder: case-insensitive comparison, lower-casing, white-space
// trimming, hex digits and UTF-8 encoding of one code point. One home for what used to be copied
// file by file (issue 16). Header-only, no locale: std::tolower/std::isspace depend on the C locale,
// these never do (iomtflow never calls setlocale, so the results are the same as before).
//
// What is deliberately NOT here: the .NET white-space sets (char.IsWhiteSpace, String.Trim) and
// the UTF-16 case mapping, which live with the mapping code that needs their exact .NET meaning
// (mapping/device/dotnet_text.hpp, mapping/fhir/text_util.hpp, mapping/device/partition_hash.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iomt::mapping::text {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }

// 'A'-'Z' -> 'a'-'z'; every other byte (UTF-8 included) unchanged.
constexpr char to_lower(char c) noexcept { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

// ASCII case-insensitive equality (OrdinalIgnoreCase for ASCII letters; other bytes must be
// equal): header and parameter names, template type names, connection-string keys.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

// The C locale's isspace set: ' ', \t, \n, \v, \f, \r.
constexpr bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Removes is_space() bytes at both ends.
constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The value of a hex digit (either case), -1 for anything else.
constexpr int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the UTF-8 encoding of `cp` (1 to 4 bytes). No validation: callers that may see
// surrogates or values above U+10FFFF map them to U+FFFD first (their rule, not this function's).
inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace iomt::mapping::text
