// Single/multi selection (iomt-expected A22, iomt-spec §3.5/§3.9): the projection flag that
// SelectTokens relies on, plus the MedTech-relevant details of literals, dates and built-ins, and
// the bad-input guarantees (errors, never crashes).
#include <boost/test/unit_test.hpp>

#include "jmespath_test_support.hpp"
#include "mapping/json/dotnet.hpp"

#include <string>

using iomt::jmespath::error_kind;
using iomt::jmespath::test::eval;
namespace json = iomt::json;

namespace {

void expect(const std::string& expr, const std::string& given, const std::string& want_json, bool projection) {
  auto e = eval(expr, given);
  BOOST_TEST_CONTEXT(expr << " on " << given) {
    BOOST_REQUIRE_MESSAGE(e.ok(), e.text());
    BOOST_TEST(e.text() == want_json);
    BOOST_TEST(e.result->projection == projection);
  }
}

const std::string two_names = R"({"property":[{"name":"value1"},{"name":"value2"}],"testProperty":["a","b"]})";
const std::string body = R"({"Body":[{"heartrate":70,"t":"2021-01-01T00:00:00Z"},{"x":1},{"heartrate":80}],
  "Properties":{},"SystemProperties":{}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(selection)

BOOST_AUTO_TEST_CASE(evaluator_single_and_multi_selection) {
  expect("testProperty", two_names, R"(["a","b"])", false);  // one token: the array
  expect("property[].name", two_names, R"(["value1","value2"])", true);
  expect("property[*].name", two_names, R"(["value1","value2"])", true);
  expect("missing", two_names, "null", false);
  expect("missing[].name", two_names, "null", false);
  auto e = eval("sort(itemOne, itemTwo)", two_names);
  BOOST_TEST(!e.compiled);
  BOOST_TEST(static_cast<int>(e.error_kind_()) == static_cast<int>(error_kind::invalid_arity));
}

BOOST_AUTO_TEST_CASE(projection_flag) {
  expect("Body[?heartrate].heartrate", body, "[70,80]", true);
  expect("Body[?heartrate]", body, R"([{"heartrate":70,"t":"2021-01-01T00:00:00Z"},{"heartrate":80}])", true);
  expect("Body[*].heartrate", body, "[70,80]", true);  // nulls dropped
  expect("Body[].heartrate", body, "[70,80]", true);
  expect("Body[0:2].heartrate", body, "[70]", true);
  expect("Properties.*", R"({"Properties":{"a":1,"b":null,"c":2}})", "[1,2]", true);
  expect("to_array(@)[?heartrate]", R"({"heartrate":1})", R"([{"heartrate":1}])", true);
  expect("Body", body, json::to_string(eval("Body", body).value()), false);
  expect("Body[*].heartrate | @", body, "[70,80]", false);
  expect("Body | [*].heartrate", body, "[70,80]", true);
  expect("Body[*].heartrate | [0]", body, "70", false);
  expect("[Body][?contains(keys(@), `heartRate`)] | @[0]", R"({"Body":{"heartRate":5}})", R"({"heartRate":5})", false);
  expect("[Body][?contains(keys(@), `heartRate`)]", R"({"Body":{"heartRate":5}})", R"([{"heartRate":5}])", true);
  expect("Body[?x] || Body[?y]", R"({"Body":[{"y":1}]})", R"([{"y":1}])", true);
  expect("Body[?x] || `5`", R"({"Body":[{"y":1}]})", "5", false);
  expect("length(Body[*])", body, "3", false);
  expect("Body[*].heartrate[0]", body, "[]", true);
  expect("Body[?heartrate == `70`].t", body, R"(["2021-01-01T00:00:00Z"])", true);
  expect("matchedToken.heartrate", R"({"matchedToken":{"heartrate":"72"}})", R"("72")", false);
  expect("@.matchedToken.heartrate", R"({"matchedToken":{"heartrate":72}})", "72", false);
}

BOOST_AUTO_TEST_CASE(dates_and_literals) {
  // Backtick literals are read like a Body: ISO strings become Date tokens; raw strings stay strings.
  auto d = eval("`\"2020-10-22T01:34:56Z\"`");
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d.value().is_date());
  auto s = eval("'2020-10-22T01:34:56Z'");
  BOOST_REQUIRE(s.ok());
  BOOST_TEST(s.value().is_string());
  auto n = eval("`1.5`");
  BOOST_TEST(n.value().is_floating());
  auto i = eval("`15`");
  BOOST_TEST(i.value().is_integer());
  // A date in the document is a JMESPath string for the built-ins, read as JmesPath.Net reads it
  // (JToken.Value<string>(): DateTime.ToString(InvariantCulture) = "MM/dd/yyyy HH:mm:ss").
  const std::string doc = R"({"t":"2020-10-22T01:34:56Z","u":"2020-10-21T00:00:00Z","v":"2021-01-01T00:00:00Z"})";
  expect("type(t)", doc, R"("string")", false);
  expect("starts_with(t, '10/22/2020')", doc, "true", false);
  expect("starts_with(t, '2020')", doc, "false", false);
  expect("length(t)", doc, "19", false);
  expect("contains(t, '01:34')", doc, "true", false);
  expect("join(',', [t])", doc, R"("10/22/2020 01:34:56")", false);
  expect("sort([t, u])", doc, R"(["2020-10-21T00:00:00Z","2020-10-22T01:34:56Z"])", false);
  expect("max([t, v])", doc, R"("2020-10-22T01:34:56Z")", false);  // "10/22/2020" > "01/01/2021"
  BOOST_TEST(eval("to_string(t)", doc).value().is_date());         // returned unchanged
  BOOST_TEST(eval("max([t, u])", doc).value().is_date());
  expect("t == `\"2020-10-22T01:34:56Z\"`", doc, "true", false);
  expect("t == '2020-10-22T01:34:56Z'", doc, "false", false);  // JToken.DeepEquals: a Date is not a String
  expect("u < t", doc, "true", false);
  expect("t < '2'", doc, "true", false);  // "10/22/2020 01:34:56" < "2" (the ISO text would not be)
  // Legacy unquoted literal.
  expect("`foo`", "{}", R"("foo")", false);
}

BOOST_AUTO_TEST_CASE(builtins_dotnet_flavour) {
  BOOST_TEST(eval("to_number('80')").value().is_integer());
  BOOST_TEST(eval("to_number('80')").value().as_integer() == 80);
  BOOST_TEST(eval("to_number('1.5')").value().is_floating());
  BOOST_TEST(eval("to_number('abc')").value().is_null());
  BOOST_TEST(eval("to_number(' 12 ')").value().as_integer() == 12);
  BOOST_TEST(eval("ceil(`1.2`)").value().is_integer());
  BOOST_TEST(eval("floor(`-1.2`)").value().as_integer() == -2);
  BOOST_TEST(eval("sum(`[1, 2]`)").value().is_integer());
  expect("to_string(`1.5`)", "{}", R"("1.5")", false);
  expect("to_string(`{\"a\": [1, true, null]}`)", "{}", R"("{\"a\":[1,true,null]}")", false);
  expect("length('\xF0\x9D\x84\x9E')", "{}", "1", false);  // code points
  expect("reverse('a\xC3\xA9z')", "{}",
         "\"z\xC3\xA9"
         "a\"",
         false);
  expect("merge(`{\"a\":1,\"b\":2}`, `{\"a\":3,\"c\":4}`)", "{}", R"({"a":3,"b":2,"c":4})", false);
  expect("`1` == `1.0`", "{}", "false", false);  // JToken.DeepEquals: Integer vs Float
  expect("`1` == `1`", "{}", "true", false);
  expect("`{\"a\": [1, \"x\"]}` == `{\"a\": [1, \"x\"]}`", "{}", "true", false);
  // Ordering (JmesPathOrderingComparison): numbers, or strings ordinally with null lowest.
  expect("'b' > 'a'", "{}", "true", false);
  expect("'B' < 'a'", "{}", "true", false);
  expect("missing < 'a'", "{}", "true", false);
  expect("'a' < missing", "{}", "false", false);
  expect("missing <= other", "{}", "true", false);
  expect("missing < other", "{}", "false", false);
  expect("'a' < `1`", "{}", "null", false);
  expect("`1` < `true`", "{}", "null", false);
  expect("`1` < `1.5`", "{}", "true", false);
  expect("missing.length(@)", "{}", "null", false);  // JmesPath.Net: a null left side short-circuits
  expect("avg(`[]`)", "{}", "null", false);
  expect("max_by(a, &b)", R"({"a":[{"b":1},{"b":3},{"b":3}]})", R"({"b":3})", false);
}

BOOST_AUTO_TEST_CASE(error_kinds_and_positions) {
  BOOST_TEST(std::string(to_string(error_kind::syntax)) == "syntax");
  BOOST_TEST(std::string(to_string(error_kind::unknown_function)) == "unknown-function");
  BOOST_TEST(std::string(to_string(error_kind::invalid_arity)) == "invalid-arity");
  BOOST_TEST(std::string(to_string(error_kind::invalid_type)) == "invalid-type");
  BOOST_TEST(std::string(to_string(error_kind::invalid_value)) == "invalid-value");
  auto e = eval("foo[?a ==]");
  BOOST_TEST(!e.compiled);
  BOOST_TEST(e.message().find("position 9") != std::string::npos, e.message());
  BOOST_TEST(eval("foo[::0]").message().find("step") != std::string::npos);
  BOOST_TEST(eval("abs('x')").message() == "Error: invalid-type, function abs only accepts numbers.");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_an_error_not_a_crash) {
  const std::size_t n = 20000;
  auto check_syntax = [](const std::string& expr) {
    auto e = iomt::jmespath::expression::compile(expr);
    BOOST_TEST(!e);
    if (!e) BOOST_TEST(e.error().message.find("nested too deeply") != std::string::npos, e.error().message);
  };
  check_syntax(std::string(n, '(') + "a" + std::string(n, ')'));
  check_syntax(std::string(n, '!') + "a");
  check_syntax(std::string(n, '[') + "a" + std::string(n, ']'));
  std::string indexes = "a";
  for (std::size_t i = 0; i < n; ++i) indexes += "[0]";
  check_syntax(indexes);
  std::string pipes = "a";
  for (std::size_t i = 0; i < n; ++i) pipes += " | a";
  check_syntax(pipes);
  // A long flat path is fine (one node).
  std::string path = "a";
  for (std::size_t i = 0; i < n; ++i) path += ".a";
  auto p = iomt::jmespath::expression::compile(path);
  BOOST_REQUIRE(p);
  json::arena out;
  auto r = p->search(json::value{}, out);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->value.is_null());
}

BOOST_AUTO_TEST_CASE(compiled_once_searched_many) {
  auto compiled = iomt::jmespath::expression::compile("Body[?heartrate > `60`].{hr: heartrate, t: t}");
  BOOST_REQUIRE(compiled);
  BOOST_TEST(compiled->text() == "Body[?heartrate > `60`].{hr: heartrate, t: t}");
  auto copy = *compiled;  // shares the program
  auto doc = json::parse(body);
  BOOST_REQUIRE(doc);
  for (int i = 0; i < 100; ++i) {
    json::arena out;
    auto r = copy.search(doc->root, out);
    BOOST_REQUIRE(r);
    BOOST_TEST(json::to_string(r->value) == R"([{"hr":70,"t":"2021-01-01T00:00:00Z"},{"hr":80,"t":null}])");
  }
}

BOOST_AUTO_TEST_SUITE_END()
