// The MedTech custom JMESPath functions (iomt-spec §3.9 table, iomt-expected A23;
// src/lib/Microsoft.Health.Expressions). Argument checks use the raw Newtonsoft token type
// (Integer / Float / String; a Date token is not a String here, a BigInteger is an Integer), and
// runtime failures carry the .NET exception the upstream code would throw.
#include "mapping/jmespath/functions.hpp"

#include <cmath>
#include <cstdint>
#include <string>

namespace iomt::jmespath::fn {

namespace {

enum : std::uint8_t { k_integer = 1, k_float = 2, k_string = 4 };

bool kind_ok(const json::value& v, std::uint8_t allowed) {
  switch (v.type()) {
    case json::kind::integer:
    case json::kind::big_integer:
      return (allowed & k_integer) != 0;
    case json::kind::floating:
      return (allowed & k_float) != 0;
    case json::kind::string:
      return (allowed & k_string) != 0;
    default:
      return false;
  }
}

std::string kind_names(std::uint8_t allowed) {
  std::string r;
  auto add = [&](std::uint8_t bit, const char* name) {
    if (!(allowed & bit)) return;
    if (!r.empty()) r += '|';
    r += name;
  };
  add(k_integer, "Integer");
  add(k_float, "Float");
  add(k_string, "String");
  return r;
}

// JmesPathExpressionExtensions.ValidatePositionalArgument.
bool check(call& c, std::size_t pos, std::uint8_t allowed) {
  if (kind_ok(c[pos], allowed)) return true;
  c.fail(error_kind::invalid_type, "Error: invalid-type, function " + std::string(c.name()) + " expects argument " +
                                       std::to_string(pos) + " to be one of the following: " + kind_names(allowed));
  return false;
}

json::value dotnet_error(call& c, std::string_view exception, std::string_view message) {
  return c.fail(error_kind::invalid_value, std::string(exception) + ": " + std::string(message));
}

// Token.Value<long>() / Value<double>() of a BigInteger token: not IConvertible.
json::value big_integer_error(call& c) {
  return dotnet_error(c, "InvalidCastException", "Object must implement IConvertible.");
}

// Two numbers (Integer or Float each): the shared shape of add / subtract / multiply / divide / pow.
struct operands {
  bool ok = false;
  bool floating = false;
  std::int64_t a = 0, b = 0;
  double x = 0, y = 0;
};

operands numbers(call& c) {
  operands o;
  if (!check(c, 0, k_integer | k_float) || !check(c, 1, k_integer | k_float)) return o;
  if (c[0].type() == json::kind::big_integer || c[1].type() == json::kind::big_integer) {
    big_integer_error(c);
    return o;
  }
  o.ok = true;
  o.floating = c[0].is_floating() || c[1].is_floating();
  if (o.floating) {
    o.x = c[0].as_double();
    o.y = c[1].as_double();
  } else {
    o.a = c[0].as_integer();
    o.b = c[1].as_integer();
  }
  return o;
}

std::int64_t wrap(std::uint64_t u) { return static_cast<std::int64_t>(u); }

constexpr double two_pow_63 = 9223372036854775808.0;

}  // namespace

// C# `long + long` is unchecked: wrap-around on overflow.
json::value add(call& c) {
  operands o = numbers(c);
  if (!o.ok) return {};
  if (o.floating) return json::value::floating(o.x + o.y);
  return json::value::integer(wrap(static_cast<std::uint64_t>(o.a) + static_cast<std::uint64_t>(o.b)));
}

json::value subtract(call& c) {
  operands o = numbers(c);
  if (!o.ok) return {};
  if (o.floating) return json::value::floating(o.x - o.y);
  return json::value::integer(wrap(static_cast<std::uint64_t>(o.a) - static_cast<std::uint64_t>(o.b)));
}

json::value multiply(call& c) {
  operands o = numbers(c);
  if (!o.ok) return {};
  if (o.floating) return json::value::floating(o.x * o.y);
  return json::value::integer(wrap(static_cast<std::uint64_t>(o.a) * static_cast<std::uint64_t>(o.b)));
}

// Two integers: truncating Int64 division (divide(10, 4) = 2); x / 0 throws.
json::value divide(call& c) {
  operands o = numbers(c);
  if (!o.ok) return {};
  if (o.floating) return json::value::floating(o.x / o.y);
  if (o.b == 0) return dotnet_error(c, "DivideByZeroException", "Attempted to divide by zero.");
  if (o.a == INT64_MIN && o.b == -1)
    return dotnet_error(c, "OverflowException", "Arithmetic operation resulted in an overflow.");
  return json::value::integer(o.a / o.b);
}

// Two integers: Convert.ToInt64(Math.Pow(a, b)) - round half to even, OverflowException outside
// the Int64 range (and for NaN).
json::value pow(call& c) {
  operands o = numbers(c);
  if (!o.ok) return {};
  if (o.floating) return json::value::floating(std::pow(o.x, o.y));
  double p = std::pow(static_cast<double>(o.a), static_cast<double>(o.b));
  if (!(p >= -two_pow_63 && p < two_pow_63))
    return dotnet_error(c, "OverflowException", "Value was either too large or too small for an Int64.");
  return json::value::integer(static_cast<std::int64_t>(std::nearbyint(p)));
}

// StringBuilder(s).Insert(pos, ins): pos counts UTF-16 code units.
json::value insert_string(call& c) {
  if (!check(c, 0, k_string) || !check(c, 1, k_string) || !check(c, 2, k_integer)) return {};
  if (c[2].type() == json::kind::big_integer) return big_integer_error(c);
  const std::int64_t pos = c[2].as_integer();
  if (pos < INT32_MIN || pos > INT32_MAX)
    return dotnet_error(c, "OverflowException", "Value was either too large or too small for an Int32.");
  std::string_view s = c[0].as_string(), ins = c[1].as_string();
  auto out_of_range = [&] {
    return dotnet_error(c, "ArgumentOutOfRangeException",
                        "Index was out of range. Must be non-negative and less than or equal to the size of the "
                        "collection. (Parameter 'index')");
  };
  if (pos < 0) return out_of_range();
  std::int64_t units = 0;
  std::size_t i = 0;
  while (i < s.size() && units < pos) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const std::size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n == 4 && units + 1 == pos) {
      // Inside a surrogate pair: .NET splits it; each half becomes U+FFFD once encoded as UTF-8.
      std::string r(s.substr(0, i));
      r += "\xEF\xBF\xBD";
      r += ins;
      r += "\xEF\xBF\xBD";
      r += s.substr(std::min(s.size(), i + 4));
      return c.out().string(r);
    }
    units += n == 4 ? 2 : 1;
    i = std::min(s.size(), i + n);
  }
  if (units < pos) return out_of_range();
  std::string r;
  r.reserve(s.size() + ins.size());
  r += s.substr(0, i);
  r += ins;
  r += s.substr(i);
  return c.out().string(r);
}

// DateTimeOffset.FromUnixTimeSeconds(n).UtcDateTime: a Date token (UTC).
json::value from_unix_timestamp(call& c) {
  if (!check(c, 0, k_integer)) return {};
  if (c[0].type() == json::kind::big_integer) return big_integer_error(c);
  const std::int64_t n = c[0].as_integer();
  if (n < -62'135'596'800 || n > 253'402'300'799)
    return dotnet_error(c, "ArgumentOutOfRangeException",
                        "Valid values are between -62135596800 and 253402300799, inclusive. (Parameter 'seconds')");
  return json::value::date({json::unix_epoch_ticks + n * json::ticks_per_second, json::date_kind::utc});
}

// DateTimeOffset.FromUnixTimeMilliseconds(n).UtcDateTime: a Date token (UTC).
json::value from_unix_timestamp_ms(call& c) {
  if (!check(c, 0, k_integer)) return {};
  if (c[0].type() == json::kind::big_integer) return big_integer_error(c);
  const std::int64_t n = c[0].as_integer();
  if (n < -62'135'596'800'000 || n > 253'402'300'799'999)
    return dotnet_error(c, "ArgumentOutOfRangeException",
                        "Valid values are between -62135596800000 and 253402300799999, inclusive. (Parameter "
                        "'milliseconds')");
  return json::value::date({json::unix_epoch_ticks + n * json::ticks_per_millisecond, json::date_kind::utc});
}

}  // namespace iomt::jmespath::fn
