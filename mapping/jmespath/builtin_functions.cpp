// JMESPath built-in functions (jmespath.org/specification "Built-in Functions"), with the
// JmesPath.Net details the MedTech service inherits (iomt-spec §3.9): dates are strings (their
// ISO text), to_number("80") is an Int64, ceil/floor/sum give integers when integral.
// Argument kinds were checked by the evaluator against the function table; element types of
// arrays and expression results are checked here.
#include "mapping/jmespath/functions.hpp"
#include "mapping/jmespath/value_ops.hpp"
#include "mapping/json/dotnet.hpp"
#include "mapping/json/writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace iomt::jmespath::fn {

namespace {

constexpr double two_pow_63 = 9223372036854775808.0;

// An integral double as an Int64 token when it fits, else a float token.
json::value integral(double d) {
  if (d >= -two_pow_63 && d < two_pow_63) return json::value::integer(static_cast<std::int64_t>(d));
  return json::value::floating(d);
}

bool all_numbers(std::span<const json::value> items) {
  return std::all_of(items.begin(), items.end(), [](const json::value& e) { return is_jmes_number(e); });
}

// The sort key of an element or of an expression result: a number or a string.
struct sort_key {
  json::value item;
  json::value key;
  std::string_view text;
};

// Fills keys from `items` (by = expression argument index, or -1 for the items themselves); all
// keys must be numbers or all strings. Returns false after recording the error.
bool make_keys(call& c, std::span<const json::value> items, int by, std::vector<sort_key>& keys) {
  keys.clear();
  keys.reserve(items.size());
  std::uint8_t kind = 0;
  for (const json::value& e : items) {
    json::value k = by < 0 ? e : c.apply(static_cast<std::size_t>(by), e);
    if (c.failed()) return false;
    std::uint8_t t = type_bit(k);
    if (t != t_number && t != t_string) {
      if (by < 0)
        c.type_error("expects an array of number or string.");
      else
        c.type_error("expects the expression to return a number or a string, but it returned a " +
                     std::string(type_name(k)) + ".");
      return false;
    }
    if (kind == 0) kind = t;
    if (t != kind) {
      c.type_error("requires all the items (or the values of the expression) to have the same type.");
      return false;
    }
    keys.push_back({e, k, t == t_string ? string_text(k, c.out()) : std::string_view{}});
  }
  return true;
}

int compare_keys(const sort_key& a, const sort_key& b) {
  if (is_jmes_number(a.key)) return compare_numbers(a.key, b.key);
  return compare_strings(a.text, b.text);
}

json::value sorted(call& c, int by) {
  std::vector<sort_key> keys;
  if (!make_keys(c, c[0].as_array(), by, keys)) return {};
  std::stable_sort(keys.begin(), keys.end(),
                   [](const sort_key& a, const sort_key& b) { return compare_keys(a, b) < 0; });
  std::vector<json::value> out;
  out.reserve(keys.size());
  for (const sort_key& k : keys) out.push_back(k.item);
  return c.out().array(out);
}

// max / min / max_by / min_by: the first extreme element; null for an empty array.
json::value extreme(call& c, int by, bool want_max) {
  std::vector<sort_key> keys;
  if (!make_keys(c, c[0].as_array(), by, keys)) return {};
  if (keys.empty()) return {};
  std::size_t best = 0;
  for (std::size_t i = 1; i < keys.size(); ++i) {
    int cmp = compare_keys(keys[i], keys[best]);
    if (want_max ? cmp > 0 : cmp < 0) best = i;
  }
  return keys[best].item;
}

// Reverses UTF-8 text by code points.
std::string reverse_text(std::string_view s) {
  std::string r(s.size(), '\0');
  std::size_t w = s.size();
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = 1;
    while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
    w -= n;
    r.replace(w, n, s.substr(i, n));
    i += n;
  }
  return r;
}

bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'; }

// Int64.TryParse(s) (NumberStyles.Integer: surrounding white space, a leading sign).
bool parse_int64(std::string_view s, std::int64_t& out) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  if (b == e) return false;
  bool neg = false;
  if (s[b] == '+' || s[b] == '-') neg = s[b++] == '-';
  if (b == e) return false;
  std::uint64_t v = 0;
  for (std::size_t i = b; i < e; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<std::uint64_t>(INT64_MAX) + 1) return false;
    out = static_cast<std::int64_t>(0 - v);
  } else {
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

// double.TryParse(s, Float, InvariantCulture): white space, sign, digits with an optional '.',
// optional exponent; also "NaN", "Infinity", "-Infinity" (case-insensitive).
bool parse_double(std::string_view s, double& out) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  std::string t(s.substr(b, e - b));
  if (t.empty()) return false;
  std::string lower;
  for (char ch : t) lower += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  if (lower == "nan") return out = std::nan(""), true;
  if (lower == "infinity" || lower == "+infinity") return out = HUGE_VAL, true;
  if (lower == "-infinity") return out = -HUGE_VAL, true;
  std::size_t i = 0;
  if (t[i] == '+' || t[i] == '-') ++i;
  std::size_t digits = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != t.size()) return false;
  errno = 0;
  out = std::strtod(t.c_str(), nullptr);  // overflow gives +-inf, as .NET Core 3.0+
  return true;
}

}  // namespace

json::value abs(call& c) {
  const json::value& x = c[0];
  if (x.is_integer()) {
    std::int64_t i = x.as_integer();
    if (i == INT64_MIN) return json::value::floating(two_pow_63);
    return json::value::integer(i < 0 ? -i : i);
  }
  if (x.is_floating()) return json::value::floating(std::fabs(x.as_floating()));
  std::string_view digits = x.as_string();  // big integer
  if (!digits.empty() && digits[0] == '-') return json::value::big_integer_ref(digits.substr(1));
  return x;
}

json::value avg(call& c) {
  auto items = c[0].as_array();
  if (!all_numbers(items)) return c.type_error("expects an array of number.");
  if (items.empty()) return {};
  double sum = 0;
  for (const json::value& e : items) sum += number_value(e);
  return json::value::floating(sum / static_cast<double>(items.size()));
}

json::value ceil(call& c) {
  const json::value& x = c[0];
  if (!x.is_floating()) return x;
  double d = std::ceil(x.as_floating());
  return std::isfinite(d) ? integral(d) : json::value::floating(d);
}

json::value floor(call& c) {
  const json::value& x = c[0];
  if (!x.is_floating()) return x;
  double d = std::floor(x.as_floating());
  return std::isfinite(d) ? integral(d) : json::value::floating(d);
}

// Array: any element JToken.DeepEquals the search; string: String.Contains of the search's
// Value<string>() text (a number searches its digits; null throws ArgumentNullException).
json::value contains(call& c) {
  const json::value& subject = c[0];
  const json::value& search = c[1];
  if (subject.is_array()) {
    for (const json::value& e : subject.as_array())
      if (jmes_equal(e, search)) return json::value::boolean(true);
    return json::value::boolean(false);
  }
  std::string needle;
  switch (json::to_dotnet_string(search, needle)) {
    case json::conversion::ok:
      break;
    case json::conversion::null:
      return c.fail(error_kind::invalid_value, "ArgumentNullException: Value cannot be null. (Parameter 'value')");
    case json::conversion::error:
      return c.fail(error_kind::invalid_value, "InvalidCastException: Object must implement IConvertible.");
  }
  std::string_view hay = string_text(subject, c.out());
  return json::value::boolean(hay.find(needle) != std::string_view::npos);
}

json::value ends_with(call& c) {
  std::string_view s = string_text(c[0], c.out()), suffix = string_text(c[1], c.out());
  return json::value::boolean(s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix);
}

json::value starts_with(call& c) {
  std::string_view s = string_text(c[0], c.out()), prefix = string_text(c[1], c.out());
  return json::value::boolean(s.substr(0, prefix.size()) == prefix);
}

json::value join(call& c) {
  std::string_view glue = string_text(c[0], c.out());
  auto items = c[1].as_array();
  std::string r;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!is_jmes_string(items[i])) return c.type_error("expects an array of string.");
    if (i) r += glue;
    r += string_text(items[i], c.out());
  }
  return c.out().string(r);
}

json::value keys(call& c) {
  auto members = c[0].as_object();
  std::vector<json::value> r;
  r.reserve(members.size());
  for (const json::member& m : members) r.push_back(json::value::string_ref(m.key));
  return c.out().array(r);
}

json::value values(call& c) {
  auto members = c[0].as_object();
  std::vector<json::value> r;
  r.reserve(members.size());
  for (const json::member& m : members) r.push_back(m.val);
  return c.out().array(r);
}

json::value length(call& c) {
  const json::value& x = c[0];
  if (is_jmes_string(x)) return json::value::integer(static_cast<std::int64_t>(code_points(string_text(x, c.out()))));
  return json::value::integer(static_cast<std::int64_t>(x.size()));
}

json::value map(call& c) {
  auto items = c[1].as_array();
  std::vector<json::value> r;
  r.reserve(items.size());
  for (const json::value& e : items) {
    r.push_back(c.apply(0, e));
    if (c.failed()) return {};
  }
  return c.out().array(r);
}

json::value max(call& c) { return extreme(c, -1, true); }
json::value min(call& c) { return extreme(c, -1, false); }
json::value max_by(call& c) { return extreme(c, 1, true); }
json::value min_by(call& c) { return extreme(c, 1, false); }
json::value sort(call& c) { return sorted(c, -1); }
json::value sort_by(call& c) { return sorted(c, 1); }

// Later objects win; a key keeps the position of its first appearance.
json::value merge(call& c) {
  std::vector<json::member> r;
  for (const json::value& o : c.args()) {
    for (const json::member& m : o.as_object()) {
      auto it = std::find_if(r.begin(), r.end(), [&](const json::member& x) { return x.key == m.key; });
      if (it != r.end())
        it->val = m.val;
      else
        r.push_back(m);
    }
  }
  return c.out().object(r);
}

json::value not_null(call& c) {
  for (const json::value& a : c.args())
    if (!a.is_null()) return a;
  return {};
}

json::value reverse(call& c) {
  const json::value& x = c[0];
  if (x.is_array()) {
    auto items = x.as_array();
    std::vector<json::value> r(items.rbegin(), items.rend());
    return c.out().array(r);
  }
  return c.out().string(reverse_text(string_text(x, c.out())));
}

// JmesPath.Net sums as double and returns an integer when the sum is integral.
json::value sum(call& c) {
  auto items = c[0].as_array();
  if (!all_numbers(items)) return c.type_error("expects an array of number.");
  bool ints = std::all_of(items.begin(), items.end(), [](const json::value& e) { return e.is_integer(); });
  if (ints) {
    std::int64_t total = 0;
    bool overflow = false;
    for (const json::value& e : items)
      if (__builtin_add_overflow(total, e.as_integer(), &total)) overflow = true;
    if (!overflow) return json::value::integer(total);
  }
  double total = 0;
  for (const json::value& e : items) total += number_value(e);
  if (std::isfinite(total) && total == std::floor(total)) return integral(total);
  return json::value::floating(total);
}

json::value to_array(call& c) {
  const json::value& x = c[0];
  if (x.is_array()) return x;
  return c.out().array(std::span<const json::value>(&x, 1));
}

json::value to_number(call& c) {
  const json::value& x = c[0];
  if (is_jmes_number(x)) return x;
  if (!is_jmes_string(x)) return {};
  std::string_view s = string_text(x, c.out());
  std::int64_t i = 0;
  if (parse_int64(s, i)) return json::value::integer(i);
  double d = 0;
  if (parse_double(s, d)) return json::value::floating(d);
  return {};
}

// Strings (and dates) unchanged; anything else as compact JSON text.
json::value to_string(call& c) {
  const json::value& x = c[0];
  if (is_jmes_string(x)) return x;
  std::string text;
  json::write(x, text);
  return c.out().string(text);
}

json::value type(call& c) { return json::value::string_ref(type_name(c[0])); }

}  // namespace iomt::jmespath::fn
