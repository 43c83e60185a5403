// JPath grammar: what compiles, what it means, and Newtonsoft's error messages (iomt-spec §3.8).
#define BOOST_TEST_MODULE jsonpath
#include "jsonpath_test_util.hpp"

using namespace iomt;
using namespace iomt::jsonpath::test;

BOOST_AUTO_TEST_SUITE(grammar)

BOOST_AUTO_TEST_CASE(root_marker_is_optional) {
  auto d = doc(R"({"a":{"b":1},"$device":"d1","$":"dollar"})");
  BOOST_TEST(select("$.a.b", d.root) == strings{"1"});
  BOOST_TEST(select("a.b", d.root) == strings{"1"});
  BOOST_TEST(select("$['a']['b']", d.root) == strings{"1"});
  BOOST_TEST(select("$", d.root) == strings{R"({"a":{"b":1},"$device":"d1","$":"dollar"})"});
  BOOST_TEST(select("", d.root).size() == 1u);
  BOOST_TEST(select("   ", d.root).size() == 1u);
  // `$` is a root marker only before `.` or `[`: otherwise part of a field name.
  BOOST_TEST(select("$device", d.root) == strings{R"("d1")"});
  BOOST_TEST(select("$ ", d.root) == strings{R"("dollar")"});
}

BOOST_AUTO_TEST_CASE(root_path_returns_the_root_pointer) {
  auto d = doc(R"({"a":1})");
  auto p = compiled("$");
  std::vector<const json::value*> out;
  BOOST_REQUIRE(p.select(d.root, out));
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0] == &d.root);
  BOOST_TEST(p.text() == "$");
}

BOOST_AUTO_TEST_CASE(at_sign_outside_filters_is_a_field_name) {
  BOOST_TEST(select("@.x", R"({"@":{"x":1},"x":2})") == strings{"1"});
  BOOST_TEST(select("@", R"({"@":3})") == strings{"3"});
}

BOOST_AUTO_TEST_CASE(names_run_until_dot_bracket_paren_or_space) {
  auto d = doc(R"({"SystemProperties":{"iothub-connection-device-id":"dev-1"},"a b":1,"a":{"b c":2},
                   " a":3,"x":[10,11]})");
  BOOST_TEST(select("$.SystemProperties.iothub-connection-device-id", d.root) == strings{R"("dev-1")"});
  BOOST_TEST(select("$['a b']", d.root) == strings{"1"});
  BOOST_TEST(select("$.a['b c']", d.root) == strings{"2"});
  // Trailing spaces end the path; leading spaces of a bare name belong to it (Newtonsoft quirk).
  BOOST_TEST(select("$.a   ", d.root).size() == 1u);
  BOOST_TEST(select(" a", d.root) == strings{"3"});
  // `(` opens an indexer closed by `)`.
  BOOST_TEST(select("$.x(1)", d.root) == strings{"11"});
}

BOOST_AUTO_TEST_CASE(quoted_names_are_literal) {
  auto d = doc(R"({"*":1,"a":2,"it's":3,"b\\c":4,"":5})");
  BOOST_TEST(select("$['*']", d.root) == strings{"1"});
  BOOST_TEST(select("$.*", d.root).size() == 5u);
  BOOST_TEST(select(R"($['it\'s'])", d.root) == strings{"3"});
  BOOST_TEST(select(R"($['b\\c'])", d.root) == strings{"4"});
  BOOST_TEST(select("$['']", d.root) == strings{"5"});
  BOOST_TEST(select("$[ 'a' , '*' ]", d.root) == (strings{"2", "1"}));
}

BOOST_AUTO_TEST_CASE(compile_errors_use_newtonsoft_messages) {
  struct row {
    const char* expr;
    const char* message;
    const char* type;
  };
  const row rows[] = {
      {"$.a]", "Unexpected character while parsing path: ]", "JsonException"},
      {"$.a[", "Path ended with open indexer.", "JsonException"},
      {"$.a[0", "Path ended with open indexer.", "JsonException"},
      {"$.a[0,", "Path ended with open indexer.", "JsonException"},
      {"$.a.", "Unexpected end while parsing path.", "JsonException"},
      {"$.a[x]", "Unexpected character while parsing path indexer: x", "JsonException"},
      {"$.a[0 1]", "Unexpected character while parsing path indexer: 1", "JsonException"},
      {"$.a[*x]", "Unexpected character while parsing path indexer: *", "JsonException"},
      {"$.a[]", "Array index expected.", "JsonException"},
      {"$.a[0,]", "Array index expected.", "JsonException"},
      {"$.a[0]x", "Unexpected character following indexer: x", "JsonException"},
      {"$['a", "Path ended with an open string.", "JsonException"},
      {"$['a'", "Path ended with open indexer.", "JsonException"},
      {"$['a' x]", "Unexpected character while parsing path indexer: x", "JsonException"},
      {R"($['a\q'])", R"(Unknown escape character: \q)", "JsonException"},
      {"$.a[?(@.b", "Path ended with open query.", "JsonException"},
      {"$.a[?(@.b == )]", "Unexpected character while parsing path query: )", "JsonException"},
      {"$.a[?(@.b ! 1)]", "Could not read query operator.", "JsonException"},
      {"$.a[?(@.b =~ /x)]", "Path ended with an open regex.", "JsonException"},
      {"$.a[?(@.b == 'x)]", "Path ended with an open string.", "JsonException"},
      {"$.a[?(@.b)", "Path ended with open indexer.", "JsonException"},
      {"$.a[?(@.b)x", "Unexpected character while parsing path indexer: x", "JsonException"},
      {"$.a[?@.b]", "Unexpected character while parsing path indexer: @", "JsonException"},
      {"$.a[?(@.b.)]", "Unexpected end while parsing path.", "JsonException"},
      {"$.a[?(@.b & @.c)]", "Unexpected character while parsing path query: &", "JsonException"},
      // `!` negation does not exist in Newtonsoft.
      {"$[?(!@.a)]", "Unexpected character while parsing path query: !", "JsonException"},
      // Double-quoted strings do not exist either.
      {R"($[?(@.a == "x")])", "Unexpected character while parsing path query: \"", "JsonException"},
      // Filter numbers end only at a space or `)`.
      {"$[?(@.a==1&&@.b==2)]", "Unexpected character while parsing path query: )", "JsonException"},
      {"$[99999999999]", "Value was either too large or too small for an Int32.", "OverflowException"},
      {"$[1-2]", "The input string '1-2' was not in a correct format.", "FormatException"},
      {"$[-]", "The input string '-' was not in a correct format.", "FormatException"},
      {"  $", "Index was outside the bounds of the array.", "IndexOutOfRangeException"},
      {"$[?(@.a == 5", "Index was outside the bounds of the array.", "IndexOutOfRangeException"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.expr) {
      auto e = compile_error(r.expr);
      BOOST_TEST(e.message == r.message);
      BOOST_TEST(e.type == r.type);
      BOOST_TEST(e.position != std::string_view::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(compile_error_positions) {
  auto e = compile_error("$.a[x]");
  BOOST_TEST(e.position == 4u);
  BOOST_TEST(e.describe() == "Unexpected character while parsing path indexer: x (at position 4)");
  BOOST_TEST(compile_error("$.abc]").position == 5u);
}

BOOST_AUTO_TEST_CASE(non_ascii_characters_in_messages_are_whole) {
  BOOST_TEST(compile_error("$.a[é]").message == "Unexpected character while parsing path indexer: é");
  BOOST_TEST(select("$.é", R"({"é":1})") == strings{"1"});
}

BOOST_AUTO_TEST_CASE(nesting_limits_are_errors_not_crashes) {
  std::string deep = "$";
  for (int i = 0; i < 200; ++i) deep += "[?(@";
  for (int i = 0; i < 200; ++i) deep += ")]";
  auto e = compile_error(deep);
  BOOST_TEST(e.type == "NotSupportedException");

  std::string mixed = "$[?(@.a";
  for (int i = 0; i < 100; ++i) mixed += i % 2 ? " && @.a" : " || @.a";
  mixed += ")]";
  BOOST_TEST(compile_error(mixed).type == "NotSupportedException");

  std::string longpath = "$";
  for (int i = 0; i < 1000; ++i) longpath += ".a";
  BOOST_TEST(compile_error(longpath).type == "NotSupportedException");

  // Within the limits everything works.
  std::string ok = "$";
  for (int i = 0; i < 10; ++i) ok += "[?(@";
  for (int i = 0; i < 10; ++i) ok += ")]";
  BOOST_TEST(iomt::jsonpath::path::compile(ok).has_value());
}

BOOST_AUTO_TEST_CASE(paths_of_the_upstream_templates_compile) {
  const char* exprs[] = {"$.deviceId",
                         "$.matchedToken.endDate",
                         "$..[?(@heartrate)]",
                         "$.SystemProperties.iothub-connection-device-id",
                         "$..[?(@systolic && @diastolic)]",
                         "$..[?(@Body.heartrate)]",
                         "$.Properties.iothub-creation-time-utc",
                         "$.SystemProperties.iothub-enqueuedtime",
                         "$..[?(@Body.patientActiveTime || @Body.patientOffBootTime || @Body.patientRestingTime || "
                         "@Body.patientUnknownTime)]",
                         "$..[?(@telemetry.BloodPressure.Systolic && @telemetry.BloodPressure.Diastolic)]",
                         "$.template.Activity",
                         "$..[?(@unit == 'inches')]",
                         "$..[?(@['My Property'])]",
                         "$.['My Property']",
                         "property[*].name"};
  for (const char* e : exprs) BOOST_TEST(iomt::jsonpath::path::compile(e).has_value(), e);
}

BOOST_AUTO_TEST_SUITE_END()
