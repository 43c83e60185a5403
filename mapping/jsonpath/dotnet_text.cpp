// .NET invariant-culture parsing and ordinal text rules used by the JSONPath dialect (iomt-spec §3.8).
#include "mapping/jsonpath/dotnet_text.hpp"

#include "mapping/text/ascii.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace iomt::jsonpath::detail {
namespace {

// Number parsing whitespace (.NET IsWhite): U+0009..U+000D and space.
bool is_number_white(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
using mapping::text::iequals;
using mapping::text::is_digit;

std::string_view trim_number_white(std::string_view s) {
  while (!s.empty() && is_number_white(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_number_white(s.back())) s.remove_suffix(1);
  return s;
}

struct decoded {
  char32_t cp;
  std::size_t len;
};

// One UTF-8 sequence; a malformed byte decodes as itself with length 1.
decoded decode(std::string_view s, std::size_t i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = b0 >= 0xF0 && b0 < 0xF8 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) return {b0, 1};
  char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {b0, 1};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, len};
}

bool is_dotnet_white(char32_t c) {
  return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Sign and digits of an integer in NumberStyles.Integer form.
bool split_integer(std::string_view s, bool& negative, std::string_view& digits) {
  s = trim_number_white(s);
  negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  digits = s;
  return true;
}

template <class Int>
parse_status parse_signed(std::string_view s, Int& out) {
  bool negative = false;
  std::string_view digits;
  if (!split_integer(s, negative, digits)) return parse_status::format;
  // Accumulate negatively so the minimum value parses.
  Int v = 0;
  constexpr Int min = std::numeric_limits<Int>::min();
  for (char c : digits) {
    Int d = static_cast<Int>(c - '0');
    if (v < (min + d) / 10) return parse_status::overflow;
    v = static_cast<Int>(v * 10 - d);
  }
  if (!negative) {
    if (v == min) return parse_status::overflow;
    v = static_cast<Int>(-v);
  }
  out = v;
  return parse_status::ok;
}

}  // namespace

parse_status parse_int32(std::string_view s, std::int32_t& out) { return parse_signed(s, out); }
parse_status parse_int64(std::string_view s, std::int64_t& out) { return parse_signed(s, out); }

parse_status parse_double(std::string_view s, double& out) {
  s = trim_number_white(s);
  bool negative = false;
  std::string_view body = s;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (iequals(body, "Infinity")) {
    out = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return parse_status::ok;
  }
  if (iequals(body, "NaN")) {
    out = std::numeric_limits<double>::quiet_NaN();
    return parse_status::ok;
  }
  // Normalise into "digits[.digits][e[-]digits]" for from_chars (which is locale-free).
  std::string text;
  text.reserve(body.size());
  std::size_t i = 0, mantissa_digits = 0;
  long integer_significant = 0, fraction_zeros = 0;  // to tell overflow from underflow
  bool nonzero = false;
  while (i < body.size() && (is_digit(body[i]) || (body[i] == ',' && mantissa_digits > 0))) {
    if (body[i] != ',') {
      if (body[i] != '0' || nonzero) {
        nonzero = true;
        ++integer_significant;
      }
      text += body[i];
      ++mantissa_digits;
    }
    ++i;
  }
  if (i < body.size() && body[i] == '.') {
    text += '.';
    ++i;
    while (i < body.size() && is_digit(body[i])) {
      if (!nonzero) {
        if (body[i] == '0')
          ++fraction_zeros;
        else
          nonzero = true;
      }
      text += body[i++];
      ++mantissa_digits;
    }
  }
  if (mantissa_digits == 0) return parse_status::format;
  long exponent = 0;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    std::size_t j = i + 1;
    bool exp_negative = false;
    if (j < body.size() && (body[j] == '-' || body[j] == '+')) exp_negative = body[j++] == '-';
    std::size_t exp_begin = j;
    while (j < body.size() && is_digit(body[j])) {
      if (exponent < 100'000) exponent = exponent * 10 + (body[j] - '0');
      ++j;
    }
    if (j > exp_begin) {
      if (exp_negative) exponent = -exponent;
      text += 'e';
      text += std::to_string(exponent);
      i = j;
    }
  }
  if (i != body.size()) return parse_status::format;
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    long magnitude = integer_significant > 0 ? integer_significant - 1 + exponent : exponent - fraction_zeros - 1;
    v = nonzero && magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  } else if (ec != std::errc() || ptr != text.data() + text.size()) {
    return parse_status::format;
  }
  out = negative ? -v : v;
  return parse_status::ok;
}

parse_status parse_boolean(std::string_view s, bool& out) {
  auto trimmable = [](char c) { return c == '\0' || is_number_white(c); };
  while (!s.empty() && trimmable(s.front())) s.remove_prefix(1);
  while (!s.empty() && trimmable(s.back())) s.remove_suffix(1);
  if (iequals(s, "True")) {
    out = true;
    return parse_status::ok;
  }
  if (iequals(s, "False")) {
    out = false;
    return parse_status::ok;
  }
  return parse_status::format;
}

parse_status parse_big_integer(std::string_view s, std::string& canonical) {
  bool negative = false;
  std::string_view digits;
  if (!split_integer(s, negative, digits)) return parse_status::format;
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  canonical.clear();
  if (negative && digits != "0") canonical += '-';
  canonical.append(digits);
  return parse_status::ok;
}

int compare_decimal_integers(std::string_view a, std::string_view b) {
  auto split = [](std::string_view s, bool& neg) {
    neg = !s.empty() && s.front() == '-';
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
    while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
    if (s == "0") neg = false;
    return s;
  };
  bool na = false, nb = false;
  std::string_view da = split(a, na), db = split(b, nb);
  if (na != nb) return na ? -1 : 1;
  int magnitude = da.size() != db.size() ? (da.size() < db.size() ? -1 : 1) : da.compare(db);
  magnitude = magnitude < 0 ? -1 : magnitude > 0 ? 1 : 0;
  return na ? -magnitude : magnitude;
}

std::string_view trim_end(std::string_view s) {
  while (!s.empty()) {
    // Find the start of the last UTF-8 character.
    std::size_t start = s.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 && s.size() - start < 4) --start;
    decoded d = decode(s, start);
    if (start + d.len != s.size()) {  // malformed tail: treat the last byte alone
      start = s.size() - 1;
      d = {static_cast<unsigned char>(s[start]), 1};
    }
    if (!is_dotnet_white(d.cp)) break;
    s.remove_suffix(s.size() - start);
  }
  return s;
}

int compare_ordinal(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    decoded x = decode(a, i), y = decode(b, j);
    if (x.cp != y.cp) {
      auto high = [](char32_t c) -> std::uint32_t { return c < 0x10000 ? c : 0xD800 + ((c - 0x10000) >> 10); };
      auto low = [](char32_t c) -> std::uint32_t { return c < 0x10000 ? 0 : 0xDC00 + ((c - 0x10000) & 0x3FF); };
      std::uint32_t hx = high(x.cp), hy = high(y.cp);
      if (hx != hy) return hx < hy ? -1 : 1;
      return low(x.cp) < low(y.cp) ? -1 : 1;
    }
    i += x.len;
    j += y.len;
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

std::string_view char_at(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return {};
  return s.substr(pos, decode(s, pos).len);
}

std::string format_exception_message(std::string_view input) {
  return "The input string '" + std::string(input) + "' was not in a correct format.";
}

}  // namespace iomt::jsonpath::detail
