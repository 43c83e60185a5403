#include "mapping/fhir/dotnet_decimal.hpp"

#include <charconv>
#include <cstdint>
#include <string>

namespace iomt::mapping::fhir {

namespace {

// Number.IsWhite: the white space .NET number parsing skips.
bool is_white(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr std::string_view decimal_max = "79228162514264337593543950335";  // decimal.MaxValue

}  // namespace

decimal_result parse_dotnet_decimal(std::string_view s) {
  decimal_result r;
  std::size_t i = 0;
  const std::size_t n = s.size();
  bool has_sign = false, negative = false;

  // Leading white space and sign; white space may not follow the sign.
  while (i < n) {
    if (is_white(s[i]) && !has_sign) {
      ++i;
    } else if (!has_sign && (s[i] == '+' || s[i] == '-')) {
      has_sign = true;
      negative = s[i] == '-';
      ++i;
    } else {
      break;
    }
  }

  std::string int_digits, frac_digits;
  bool any_digit = false, in_fraction = false;
  while (i < n) {
    const char c = s[i];
    if (is_digit(c)) {
      any_digit = true;
      if (in_fraction)
        frac_digits.push_back(c);
      else if (!(int_digits.empty() && c == '0'))  // drop leading zeros
        int_digits.push_back(c);
      ++i;
    } else if (c == '.' && !in_fraction) {
      in_fraction = true;
      ++i;
    } else if (c == ',' && any_digit && !in_fraction) {
      ++i;
    } else {
      break;
    }
  }
  if (!any_digit) return r;

  // Trailing white space and (if none yet) a sign, in any order.
  while (i < n) {
    if (is_white(s[i])) {
      ++i;
    } else if (!has_sign && (s[i] == '+' || s[i] == '-')) {
      has_sign = true;
      negative = s[i] == '-';
      ++i;
    } else {
      break;
    }
  }
  while (i < n && s[i] == '\0') ++i;  // .NET ignores trailing NULs
  if (i != n) return r;

  if (int_digits.size() > decimal_max.size() || (int_digits.size() == decimal_max.size() && int_digits > decimal_max)) {
    r.status = decimal_status::overflow;
    return r;
  }

  // Trailing fraction zeros keep the scale in .NET ("78.0"); an integral value with a fraction
  // part is therefore a double here, one without is an integer.
  if (frac_digits.empty()) {
    std::int64_t v = 0;
    const std::string digits = int_digits.empty() ? std::string("0") : int_digits;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc() && p == digits.data() + digits.size()) {
      r.status = decimal_status::ok;
      r.number = negative ? -v : v;
      return r;
    }
  }
  std::string text = int_digits.empty() ? std::string("0") : int_digits;
  if (!frac_digits.empty()) {
    text.push_back('.');
    text += frac_digits;
  }
  double d = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc() || p != text.data() + text.size()) return r;
  if (negative && d != 0) d = -d;  // decimal zero has no visible sign
  r.status = decimal_status::ok;
  r.number = d;
  return r;
}

}  // namespace iomt::mapping::fhir
