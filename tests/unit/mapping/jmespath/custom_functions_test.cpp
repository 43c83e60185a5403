// The MedTech custom JMESPath functions: iomt-expected A23 (upstream TX/*Tests.cs) and the
// details of iomt-spec §3.9.
#include <boost/test/unit_test.hpp>

#include "jmespath_test_support.hpp"
#include "mapping/jmespath/functions.hpp"
#include "mapping/json/dotnet.hpp"

#include <cmath>
#include <string>

using iomt::jmespath::error_kind;
using iomt::jmespath::test::eval;
namespace json = iomt::json;

namespace {

std::string lr(const std::string& left, const std::string& right) {
  return "{\"left\":" + left + ",\"right\":" + right + "}";
}

void expect_integer(const std::string& expr, const std::string& given, std::int64_t want) {
  auto e = eval(expr, given);
  BOOST_TEST_CONTEXT(expr << " on " << given << " -> " << e.text()) {
    BOOST_REQUIRE(e.ok());
    BOOST_REQUIRE(e.value().is_integer());
    BOOST_TEST(e.value().as_integer() == want);
  }
}

void expect_float(const std::string& expr, const std::string& given, double want, double tolerance = 0) {
  auto e = eval(expr, given);
  BOOST_TEST_CONTEXT(expr << " on " << given << " -> " << e.text()) {
    BOOST_REQUIRE(e.ok());
    BOOST_REQUIRE(e.value().is_floating());
    BOOST_TEST(std::fabs(e.value().as_floating() - want) <= tolerance);
  }
}

void expect_error(const std::string& expr, const std::string& given, error_kind kind,
                  const std::string& contains = {}) {
  auto e = eval(expr, given);
  BOOST_TEST_CONTEXT(expr << " on " << given << " -> " << e.text()) {
    BOOST_REQUIRE(!e.ok());
    BOOST_TEST(static_cast<int>(e.error_kind_()) == static_cast<int>(kind));
    BOOST_TEST(e.message().find(contains) != std::string::npos);
  }
}

void expect_string(const std::string& expr, const std::string& given, const std::string& want) {
  auto e = eval(expr, given);
  BOOST_TEST_CONTEXT(expr << " on " << given << " -> " << e.text()) {
    BOOST_REQUIRE(e.ok());
    BOOST_REQUIRE(e.value().is_string());
    BOOST_TEST(e.value().as_string() == want);
  }
}

void expect_date(const std::string& expr, const std::string& given, const std::string& iso) {
  auto e = eval(expr, given);
  BOOST_TEST_CONTEXT(expr << " on " << given << " -> " << e.text()) {
    BOOST_REQUIRE(e.ok());
    BOOST_REQUIRE(e.value().is_date());
    BOOST_TEST(static_cast<int>(e.value().as_date().zone) == static_cast<int>(json::date_kind::utc));
    BOOST_TEST(json::format_iso(e.value().as_date()) == iso);
  }
}

const std::string max = "9223372036854775807";

}  // namespace

BOOST_AUTO_TEST_SUITE(custom_functions)

BOOST_AUTO_TEST_CASE(exactly_eight_are_registered) {
  std::uint16_t id = 0;
  for (const char* name :
       {"add", "subtract", "multiply", "divide", "pow", "insertString", "fromUnixTimestamp", "fromUnixTimestampMs"})
    BOOST_TEST(iomt::jmespath::find_function(name, id) != nullptr, name);
  for (const char* name : {"matchesRegex", "appendString", "Add", "to_object", "from_items", "let"})
    BOOST_TEST(iomt::jmespath::find_function(name, id) == nullptr, name);
  expect_error("matchesRegex(a, 'x')", "{}", error_kind::unknown_function);
}

BOOST_AUTO_TEST_CASE(add) {
  expect_integer("add(left, right)", lr("0", "0"), 0);
  expect_integer("add(left, right)", lr("-1", "100"), 99);
  expect_integer("add(left, right)", lr("0", max), INT64_MAX);
  expect_float("add(left, right)", lr("-1.0", "10.5"), 9.5);
  expect_float("add(left, right)", lr("1", "0.5"), 1.5);
  expect_integer("add(left, right)", lr(max, "1"), INT64_MIN);  // unchecked Int64
  expect_error("add(left, right)", lr("\"bad\"", "1"), error_kind::invalid_type,
               "Error: invalid-type, function add expects argument 0 to be one of the following: Integer|Float");
  expect_error("add(left, right)", lr("1", "[1]"), error_kind::invalid_type, "expects argument 1");
  expect_error("add(left, right)", lr("{}", "1"), error_kind::invalid_type);
  expect_error("add(left, right)", lr("null", "1"), error_kind::invalid_type);
  expect_error("add()", "{}", error_kind::invalid_arity);
  expect_error("add(left", "{}", error_kind::syntax);
  expect_error("add(left, right, up", "{}", error_kind::syntax);
  expect_error("add(left, right, up)", "{}", error_kind::invalid_arity);
  expect_error("add(&left, right)", lr("1", "2"), error_kind::invalid_type);
}

BOOST_AUTO_TEST_CASE(subtract_and_multiply) {
  expect_integer("subtract(left, right)", lr("-1", "100"), -101);
  expect_integer("subtract(left, right)", lr(max, max), 0);
  expect_float("subtract(left, right)", lr("1.0", "10.5"), -9.5);
  expect_integer("subtract(left, right)", lr("-9223372036854775808", "1"), INT64_MAX);
  expect_integer("multiply(left, right)", lr("-1", "100"), -100);
  expect_float("multiply(left, right)", lr("0.5", "100.0"), 50.0);
  expect_float("multiply(left, right)", lr("100", "0.5"), 50.0);
  expect_integer("multiply(left, right)", lr(max, "2"), -2);
}

BOOST_AUTO_TEST_CASE(divide) {
  expect_integer("divide(left, right)", lr("100", "25"), 4);
  expect_integer("divide(left, right)", lr("100", "-1"), -100);
  expect_integer("divide(left, right)", lr("0", max), 0);
  expect_integer("divide(`10`, `4`)", "{}", 2);
  expect_integer("divide(left, right)", lr("40", "50"), 0);
  expect_float("divide(left, right)", lr("40", "50.0"), 0.8);
  expect_error("divide(left, right)", lr("100", "0"), error_kind::invalid_value, "DivideByZeroException");
  auto inf = eval("divide(left, right)", lr("1.0", "0"));
  BOOST_REQUIRE(inf.ok());
  BOOST_TEST(std::isinf(inf.value().as_floating()));
}

BOOST_AUTO_TEST_CASE(pow) {
  expect_integer("pow(left, right)", lr("0", "0"), 1);
  expect_integer("pow(left, right)", lr("10", "2"), 100);
  expect_float("pow(left, right)", lr("10", "2.5"), 316.2278, 0.00005);
  expect_float("pow(left, right)", lr("100.0", "-2"), 0.0001, 0.00005);
  expect_integer("pow(left, right)", lr("100", "-2"), 0);  // Convert.ToInt64(0.0001)
  expect_integer("pow(left, right)", lr("2", "62"), 4611686018427387904);
  expect_error("pow(left, right)", lr(max, "10"), error_kind::invalid_value, "OverflowException");
  expect_error("pow(left, right)", lr("2", "63"), error_kind::invalid_value, "OverflowException");
}

BOOST_AUTO_TEST_CASE(insert_string) {
  auto args = [](const std::string& original, const std::string& ins, const std::string& pos) {
    return "{\"original\":" + original + ",\"toInsert\":" + ins + ",\"pos\":" + pos + "}";
  };
  const std::string expr = "insertString(original, toInsert, pos)";
  expect_string(expr, args("\"myString\"", "\"!!\"", "8"), "myString!!");
  expect_string(expr, args("\"ppy\"", "\"ha\"", "0"), "happy");
  expect_string(expr, args("\"suess\"", "\"cc\"", "2"), "success");
  expect_string("insertString(original, toInsert, length(original))", args("\"sample \"", "\"text\"", "0"),
                "sample text");
  expect_error(expr, args("\"myString\"", "\"!!\"", "9"), error_kind::invalid_value, "ArgumentOutOfRangeException");
  expect_error(expr, args("\"myString\"", "\"!!\"", "-1"), error_kind::invalid_value, "ArgumentOutOfRangeException");
  expect_error(expr, args("6", "\"!!\"", "1"), error_kind::invalid_type,
               "function insertString expects argument 0 to be one of the following: String");
  expect_error(expr, args("\"a\"", "123", "1"), error_kind::invalid_type, "expects argument 1");
  expect_error(expr, args("\"a\"", "\"b\"", "1.5"), error_kind::invalid_type,
               "expects argument 2 to be one of the following: Integer");
  expect_error(expr, args("[]", "\"b\"", "0"), error_kind::invalid_type);
  expect_error(expr, args("{}", "\"b\"", "0"), error_kind::invalid_type);
  // A Date token (ISO string in the Body) is not a String for the custom functions.
  expect_error(expr, args("\"2021-07-07T17:00:00Z\"", "\"b\"", "0"), error_kind::invalid_type);
  // Positions are UTF-16 code units: "𝄞" counts 2.
  expect_string(expr,
                args("\"a\xF0\x9D\x84\x9E"
                     "b\"",
                     "\"-\"", "3"),
                "a\xF0\x9D\x84\x9E-b");
  expect_string(expr, args("\"\xC3\xA9t\xC3\xA9\"", "\"!\"", "1"), "\xC3\xA9!t\xC3\xA9");
  expect_error(expr,
               args("\"a\xF0\x9D\x84\x9E"
                    "b\"",
                    "\"-\"", "5"),
               error_kind::invalid_value);
}

BOOST_AUTO_TEST_CASE(from_unix_timestamp) {
  auto ts = [](const std::string& v) { return "{\"timestamp\":" + v + "}"; };
  expect_date("fromUnixTimestamp(timestamp)", ts("0"), "1970-01-01T00:00:00Z");
  expect_date("fromUnixTimestamp(timestamp)", ts("1625677200"), "2021-07-07T17:00:00Z");
  expect_date("fromUnixTimestamp(timestamp)", ts("-1"), "1969-12-31T23:59:59Z");
  expect_date("fromUnixTimestampMs(timestamp)", ts("0"), "1970-01-01T00:00:00Z");
  expect_date("fromUnixTimestampMs(timestamp)", ts("1000"), "1970-01-01T00:00:01Z");
  expect_date("fromUnixTimestampMs(timestamp)", ts("1626799080000"), "2021-07-20T16:38:00Z");
  expect_date("fromUnixTimestampMs(timestamp)", ts("-1000"), "1969-12-31T23:59:59Z");
  expect_date("fromUnixTimestampMs(ceil(timestamp))", ts("1626799079999.2"), "2021-07-20T16:38:00Z");
  for (const char* fn : {"fromUnixTimestamp(timestamp)", "fromUnixTimestampMs(timestamp)"}) {
    expect_error(fn, ts("\"badData\""), error_kind::invalid_type, "to be one of the following: Integer");
    expect_error(fn, ts("[1]"), error_kind::invalid_type);
    expect_error(fn, ts("{}"), error_kind::invalid_type);
    expect_error(fn, ts("1.5"), error_kind::invalid_type);
  }
  expect_error("fromUnixTimestamp()", "{}", error_kind::invalid_arity);
  expect_error("fromUnixTimestampMs(a, b)", "{}", error_kind::invalid_arity);
  expect_error("fromUnixTimestamp(timestamp)", ts("253402300800"), error_kind::invalid_value,
               "ArgumentOutOfRangeException");
  // Date tokens are strings for the built-ins.
  expect_string("type(fromUnixTimestamp(`0`))", "{}", "string");
}

BOOST_AUTO_TEST_SUITE_END()
