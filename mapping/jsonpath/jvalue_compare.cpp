// Newtonsoft JValue comparison rules for JSONPath filters (iomt-spec §3.8), re-implemented from
// their documented behaviour: JValue.Compare(valueType, objA, objB) switches on the left token's
// type and converts the other side with System.Convert (invariant culture).
#include "mapping/jsonpath/jvalue_compare.hpp"

#include "mapping/json/dotnet.hpp"
#include "mapping/jsonpath/dotnet_text.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <string>

namespace iomt::jsonpath::detail {
namespace {

using json::kind;

// Newtonsoft JTokenType of a primitive: a big integer is an Integer holding a BigInteger.
enum class jtype { null, boolean, integer, floating, string, date };

jtype type_of(const json::value& v) {
  switch (v.type()) {
    case kind::boolean:
      return jtype::boolean;
    case kind::integer:
    case kind::big_integer:
      return jtype::integer;
    case kind::floating:
      return jtype::floating;
    case kind::string:
      return jtype::string;
    case kind::date:
      return jtype::date;
    default:
      return jtype::null;
  }
}

// The CLR type name System.Convert puts in its messages.
const char* clr_name(const json::value& v) {
  switch (v.type()) {
    case kind::boolean:
      return "Boolean";
    case kind::integer:
      return "Int64";
    case kind::big_integer:
      return "BigInteger";
    case kind::floating:
      return "Double";
    case kind::string:
      return "String";
    case kind::date:
      return "DateTime";
    default:
      return "Object";
  }
}

error invalid_cast(const json::value& from, const char* to) {
  if (from.type() == kind::big_integer)  // BigInteger is not IConvertible
    return {"Unable to cast object of type 'System.Numerics.BigInteger' to type 'System.IConvertible'.",
            "InvalidCastException"};
  return {std::string("Invalid cast from '") + clr_name(from) + "' to '" + to + "'.", "InvalidCastException"};
}

error format_error(std::string_view text) { return {format_exception_message(text), "FormatException"}; }

int sign(int v) { return v < 0 ? -1 : v > 0 ? 1 : 0; }
template <class T>
int three_way(T a, T b) {
  return a < b ? -1 : b < a ? 1 : 0;
}

// Convert.ToInt64(object).
boost::system::result<std::int64_t, error> to_int64(const json::value& v) {
  switch (v.type()) {
    case kind::integer:
      return v.as_integer();
    case kind::boolean:
      return v.as_bool() ? 1 : 0;
    case kind::string: {
      std::int64_t out = 0;
      switch (parse_int64(v.as_string(), out)) {
        case parse_status::ok:
          return out;
        case parse_status::overflow:
          return error{"Value was either too large or too small for an Int64.", "OverflowException"};
        case parse_status::format:
          break;
      }
      return format_error(v.as_string());
    }
    default:
      return invalid_cast(v, "Int64");
  }
}

// Convert.ToDouble(object).
boost::system::result<double, error> to_double(const json::value& v) {
  switch (v.type()) {
    case kind::integer:
      return static_cast<double>(v.as_integer());
    case kind::floating:
      return v.as_floating();
    case kind::boolean:
      return v.as_bool() ? 1.0 : 0.0;
    case kind::string: {
      double out = 0;
      if (parse_double(v.as_string(), out) == parse_status::ok) return out;
      return format_error(v.as_string());
    }
    default:
      return invalid_cast(v, "Double");
  }
}

// Convert.ToBoolean(object).
boost::system::result<bool, error> to_boolean(const json::value& v) {
  switch (v.type()) {
    case kind::boolean:
      return v.as_bool();
    case kind::integer:
      return v.as_integer() != 0;
    case kind::floating:
      return v.as_floating() != 0.0;  // NaN -> true, as in .NET
    case kind::string: {
      bool out = false;
      if (parse_boolean(v.as_string(), out) == parse_status::ok) return out;
      return error{"String '" + std::string(v.as_string()) + "' was not recognized as a valid Boolean.",
                   "FormatException"};
    }
    default:
      return invalid_cast(v, "Boolean");
  }
}

// Convert.ToDateTime(object, InvariantCulture): ticks (DateTime.CompareTo ignores the kind).
boost::system::result<std::int64_t, error> to_datetime_ticks(const json::value& v) {
  switch (v.type()) {
    case kind::date:
      return v.as_date().ticks;
    case kind::string: {
      if (auto d = json::parse_datetime(v.as_string())) return d->ticks;
      return error{"String '" + std::string(v.as_string()) + "' was not recognized as a valid DateTime.",
                   "FormatException"};
    }
    default:
      return invalid_cast(v, "DateTime");
  }
}

// ConvertUtils.ToBigInteger(object) as canonical decimal text in `out`.
std::optional<error> to_big_integer(const json::value& v, std::string& out) {
  switch (v.type()) {
    case kind::big_integer:
      out.assign(v.as_string());
      return std::nullopt;
    case kind::integer:
      out = std::to_string(v.as_integer());
      return std::nullopt;
    case kind::string:
      if (parse_big_integer(v.as_string(), out) == parse_status::ok) return std::nullopt;
      return error{"The value could not be parsed.", "FormatException"};
    case kind::floating: {
      double d = v.as_floating();
      if (std::isnan(d)) return error{"The value is not a number.", "OverflowException"};
      if (std::isinf(d)) return error{"BigInteger cannot represent infinity.", "OverflowException"};
      char buf[400];
      auto r = std::to_chars(buf, buf + sizeof buf, std::trunc(d), std::chars_format::fixed, 0);
      out.assign(buf, r.ptr);
      return std::nullopt;
    }
    default:
      return error{std::string("Cannot convert System.") + clr_name(v) + " to BigInteger.", "InvalidCastException"};
  }
}

// JValue.CompareBigInteger(big, other).
boost::system::result<int, error> compare_big_integer(const json::value& big, const json::value& other) {
  std::string a, b;
  if (auto e = to_big_integer(big, a)) return *e;
  if (auto e = to_big_integer(other, b)) return *e;
  int r = compare_decimal_integers(a, b);
  if (r != 0 || !other.is_floating()) return r;
  // Equal after truncation: a fraction makes the big integer the smaller one (even for negatives).
  double d = other.as_floating();
  return std::fabs(d - std::trunc(d)) > 0 ? -1 : 0;
}

// MathUtils.ApproxEquals.
bool approx_equals(double d1, double d2) {
  constexpr double epsilon = 2.2204460492503131E-16;
  if (d1 == d2) return true;
  double tolerance = (std::fabs(d1) + std::fabs(d2) + 10.0) * epsilon;
  double difference = d1 - d2;
  return -tolerance < difference && tolerance > difference;
}

// Double.CompareTo: NaN sorts first and equals NaN.
int double_compare(double a, double b) {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a == b) return 0;
  if (std::isnan(a)) return std::isnan(b) ? 0 : -1;
  return 1;
}

// JValue.CompareFloat.
boost::system::result<int, error> compare_float(const json::value& a, const json::value& b) {
  auto d1 = to_double(a);
  if (!d1) return d1.error();
  auto d2 = to_double(b);
  if (!d2) return d2.error();
  if (approx_equals(*d1, *d2)) return 0;
  return double_compare(*d1, *d2);
}

// JValue.Compare(valueType, objA, objB).
boost::system::result<int, error> compare_as(jtype t, const json::value& a, const json::value& b) {
  if (a.is_null() && b.is_null()) return 0;
  if (b.is_null()) return 1;
  if (a.is_null()) return -1;
  switch (t) {
    case jtype::integer:
    case jtype::floating: {
      if (a.type() == kind::big_integer) return compare_big_integer(a, b);
      if (b.type() == kind::big_integer) {
        auto r = compare_big_integer(b, a);
        if (!r) return r.error();
        return -*r;
      }
      if (t == jtype::floating || a.is_floating() || b.is_floating()) return compare_float(a, b);
      auto x = to_int64(a);
      if (!x) return x.error();
      auto y = to_int64(b);
      if (!y) return y.error();
      return three_way(*x, *y);
    }
    case jtype::string:
      return sign(compare_ordinal(a.as_string(), b.as_string()));
    case jtype::boolean: {
      auto x = to_boolean(a);
      if (!x) return x.error();
      auto y = to_boolean(b);
      if (!y) return y.error();
      return three_way(*x, *y);
    }
    case jtype::date: {
      if (!a.is_date())  // a string on the left is unboxed as DateTimeOffset
        return error{"Unable to cast object of type 'System.String' to type 'System.DateTimeOffset'.",
                     "InvalidCastException"};
      auto y = to_datetime_ticks(b);
      if (!y) return y.error();
      return three_way(a.as_date().ticks, *y);
    }
    case jtype::null:
      break;
  }
  return 0;  // unreachable: null handled above
}

bool integer_float_pair(jtype a, jtype b) {
  return (a == jtype::integer && b == jtype::floating) || (a == jtype::floating && b == jtype::integer);
}

// JValue.Equals -> ValuesEquals: same token type and Compare == 0.
boost::system::result<bool, error> values_equal(const json::value& a, const json::value& b) {
  jtype t = type_of(a);
  if (t != type_of(b)) return false;
  auto r = compare_as(t, a, b);
  if (!r) return r.error();
  return *r == 0;
}

}  // namespace

boost::system::result<int, error> jvalue_compare(const json::value& a, const json::value& b) {
  jtype ta = type_of(a), tb = type_of(b);
  return compare_as(ta == jtype::string && tb != jtype::string ? tb : ta, a, b);
}

boost::system::result<bool, error> equals_with_string_coercion(const json::value& a, const json::value& b) {
  auto eq = values_equal(a, b);
  if (!eq || *eq) return eq;
  jtype ta = type_of(a), tb = type_of(b);
  if (integer_float_pair(ta, tb)) {
    auto r = compare_as(ta, a, b);
    if (!r) return r.error();
    return *r == 0;
  }
  if (tb != jtype::string || ta != jtype::date) return false;
  // The date written the way Newtonsoft's JSON writer does (IsoDateFormat), compared ordinally.
  return json::format_iso(a.as_date()) == b.as_string();
}

boost::system::result<bool, error> equals_strict(const json::value& a, const json::value& b) {
  jtype ta = type_of(a), tb = type_of(b);
  if (integer_float_pair(ta, tb)) {
    auto r = compare_as(ta, a, b);
    if (!r) return r.error();
    return *r == 0;
  }
  if (ta != tb) return false;
  return values_equal(a, b);
}

}  // namespace iomt::jsonpath::detail
