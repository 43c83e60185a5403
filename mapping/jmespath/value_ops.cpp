#include "mapping/jmespath/value_ops.hpp"

#include "mapping/json/dotnet.hpp"

#include <cstdlib>
#include <string>

namespace iomt::jmespath {

namespace {

// Next code point of UTF-8 text (lenient: a stray byte stands for itself).
std::uint32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1;
  if (i + n > s.size()) n = 1;
  std::uint32_t cp = n == 1 ? b0 : (b0 & (0x7Fu >> n));
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  i += n;
  return cp;
}

// First UTF-16 code unit of a code point (supplementary planes sort as surrogates, D800-DFFF).
std::uint32_t first_unit(std::uint32_t cp) noexcept { return cp >= 0x10000 ? 0xD800 + ((cp - 0x10000) >> 10) : cp; }
std::uint32_t second_unit(std::uint32_t cp) noexcept { return cp >= 0x10000 ? 0xDC00 + ((cp - 0x10000) & 0x3FF) : 0; }

bool floats_equal(double x, double y) noexcept {
  // double.CompareTo: NaN equals NaN.
  if (x != x) return y != y;
  return x == y;
}

}  // namespace

double number_value(const json::value& v) noexcept {
  if (v.type() == json::kind::big_integer) {
    std::string digits(v.as_string());
    return std::strtod(digits.c_str(), nullptr);
  }
  return v.as_double();
}

int compare_numbers(const json::value& a, const json::value& b) noexcept {
  if (a.is_integer() && b.is_integer()) {
    auto x = a.as_integer(), y = b.as_integer();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  double x = number_value(a), y = number_value(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

std::string_view string_text(const json::value& v, json::arena& a) {
  if (v.is_date()) return a.copy(json::format_invariant(v.as_date()));
  return v.as_string();
}

int compare_strings(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const std::uint32_t x = next_code_point(a, i), y = next_code_point(b, j);
    if (x == y) continue;
    std::uint32_t ux = first_unit(x), uy = first_unit(y);
    if (ux == uy) {
      ux = second_unit(x);
      uy = second_unit(y);
    }
    return ux < uy ? -1 : 1;
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

std::size_t code_points(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool jmes_equal(const json::value& a, const json::value& b) noexcept {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case json::kind::null:
      return true;
    case json::kind::boolean:
      return a.as_bool() == b.as_bool();
    case json::kind::integer:
      return a.as_integer() == b.as_integer();
    case json::kind::floating:
      return floats_equal(a.as_floating(), b.as_floating());
    case json::kind::string:
    case json::kind::big_integer:
      return a.as_string() == b.as_string();
    case json::kind::date:
      return a.as_date().ticks == b.as_date().ticks;
    case json::kind::array: {
      auto x = a.as_array(), y = b.as_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!jmes_equal(x[i], y[i])) return false;
      return true;
    }
    case json::kind::object: {
      if (a.size() != b.size()) return false;
      for (const json::member& m : a.as_object()) {
        const json::value* o = b.find(m.key);
        if (!o || !jmes_equal(m.val, *o)) return false;
      }
      return true;
    }
  }
  return false;
}

json::value jmes_order(comparator c, const json::value& a, const json::value& b, json::arena& scratch) {
  if (a.is_number() && b.is_number()) {
    const double x = a.as_double(), y = b.as_double();
    switch (c) {
      case comparator::lt:
        return json::value::boolean(x < y);
      case comparator::le:
        return json::value::boolean(x <= y);
      case comparator::gt:
        return json::value::boolean(x > y);
      default:
        return json::value::boolean(x >= y);
    }
  }
  auto stringish = [](const json::value& v) { return v.is_string() || v.is_date() || v.is_null(); };
  if (!stringish(a) || !stringish(b)) return {};
  // String.Compare(x, null) > 0: null is below every string, and equal to null.
  int cmp = 0;
  if (a.is_null() || b.is_null())
    cmp = a.is_null() == b.is_null() ? 0 : (a.is_null() ? -1 : 1);
  else
    cmp = compare_strings(string_text(a, scratch), string_text(b, scratch));
  switch (c) {
    case comparator::lt:
      return json::value::boolean(cmp < 0);
    case comparator::le:
      return json::value::boolean(cmp <= 0);
    case comparator::gt:
      return json::value::boolean(cmp > 0);
    default:
      return json::value::boolean(cmp >= 0);
  }
}

}  // namespace iomt::jmespath
