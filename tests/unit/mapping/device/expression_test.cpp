// The evaluator adapters: SelectToken / SelectTokens for JSONPath and JMESPath (expected A22,
// iomt-spec §3.5, §3.9).
#include "device_test_support.hpp"

using namespace iomt;
using namespace iomt::test::device;
using dm::compiled_expression;
using dm::expression_language;

namespace {

struct fixture {
  json::document single = json::parse(R"({"testProperty":["a","b"]})").value();
  json::document multi = json::parse(R"({"property":[{"name":"value1"},{"name":"value2"}]})").value();
  json::document empty = json::parse("{}").value();
  json::arena scratch;
};

compiled_expression compile(std::string_view text, expression_language l, json::source_pos pos = {}) {
  auto c = compiled_expression::compile(text, l, pos);
  BOOST_REQUIRE_MESSAGE(c, "compile failed: " << (c ? "" : c.error().message));
  return std::move(*c);
}

std::vector<std::string> strings(const std::vector<json::value>& tokens) {
  std::vector<std::string> s;
  for (const auto& t : tokens) s.emplace_back(t.is_string() ? t.as_string() : "<not a string>");
  return s;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(evaluators, fixture)

BOOST_AUTO_TEST_CASE(a22_single_token) {
  for (auto [text, lang] : {std::pair{"testProperty", expression_language::json_path},
                            std::pair{"testProperty", expression_language::jmes_path}}) {
    auto e = compile(text, lang);
    auto t = e.select_token(single.root, scratch);
    BOOST_REQUIRE(t);
    BOOST_REQUIRE(t->has_value());
    BOOST_TEST((*t)->is_array());
    BOOST_TEST((*t)->size() == 2u);

    std::vector<json::value> all;
    BOOST_REQUIRE(e.select_tokens(single.root, scratch, all));
    BOOST_REQUIRE_EQUAL(all.size(), 1u);  // the array is one token
    BOOST_TEST(all[0].is_array());

    auto none = e.select_token(empty.root, scratch);
    BOOST_REQUIRE(none);
    BOOST_TEST(!none->has_value());
    all.clear();
    BOOST_REQUIRE(e.select_tokens(empty.root, scratch, all));
    BOOST_TEST(all.empty());
  }
}

BOOST_AUTO_TEST_CASE(a22_multiple_tokens) {
  auto jp = compile("property[*].name", expression_language::json_path, {123, 456});
  auto t = jp.select_token(multi.root, scratch);
  BOOST_REQUIRE(!t);
  BOOST_TEST(t.error().type == "TemplateExpressionException");
  BOOST_TEST(
      starts_with(t.error().message,
                  "Line Number: 123, Position: 456. Unable to retrieve JsonToken using expression property[*].name"));
  std::vector<json::value> all;
  BOOST_REQUIRE(jp.select_tokens(multi.root, scratch, all));
  BOOST_TEST(strings(all) == (std::vector<std::string>{"value1", "value2"}), boost::test_tools::per_element());

  auto jm = compile("property[].name", expression_language::jmes_path, {123, 456});
  auto t2 = jm.select_token(multi.root, scratch);
  BOOST_REQUIRE(!t2);
  BOOST_TEST(t2.error().type == "TemplateExpressionException");
  BOOST_TEST(starts_with(t2.error().message, "Line Number: 123, Position: 456. Multiple tokens"));
  all.clear();
  BOOST_REQUIRE(jm.select_tokens(multi.root, scratch, all));
  BOOST_TEST(strings(all) == (std::vector<std::string>{"value1", "value2"}), boost::test_tools::per_element());

  // Missing: nothing / null.
  auto none = jm.select_token(empty.root, scratch);
  BOOST_REQUIRE(none);
  all.clear();
  BOOST_REQUIRE(jm.select_tokens(empty.root, scratch, all));
  BOOST_TEST(all.empty());
}

BOOST_AUTO_TEST_CASE(a22_jmes_path_errors_at_load) {
  auto c = compiled_expression::compile("sort(itemOne, itemTwo)", expression_language::jmes_path);
  BOOST_TEST(!c);
  auto r =
      dm::device_mapping::load(R"J({"templateType":"CollectionContent","template":[{"templateType":"CalculatedContent",
    "template":{"typeName":"t","defaultExpressionLanguage":"JmesPath","typeMatchExpression":"Body",
    "deviceIdExpression":"sort(itemOne, itemTwo)","timestampExpression":"t","values":[]}}]})J");
  BOOST_TEST(!r.valid());
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(r.errors[0].type == "TemplateExpressionException");
  BOOST_TEST(starts_with(r.errors[0].message,
                         "The following JmesPath expression could not be parsed: sort(itemOne, itemTwo). Cause: "));
  BOOST_TEST(r.errors[0].pos.line == 3u);
  BOOST_TEST(r.errors[0].property == "deviceIdExpression");
}

BOOST_AUTO_TEST_CASE(jmes_path_select_tokens_semantics) {
  auto doc = json::parse(R"({"Body":[{"hr":1},{"x":2},{"hr":3}],"n":null})").value();
  std::vector<json::value> all;
  // A projection: each element is a match (nulls dropped).
  BOOST_REQUIRE(compile("Body[?hr]", expression_language::jmes_path).select_tokens(doc.root, scratch, all));
  BOOST_TEST(all.size() == 2u);
  // A plain array result is ONE match; a pipe stops the projection.
  all.clear();
  BOOST_REQUIRE(compile("Body", expression_language::jmes_path).select_tokens(doc.root, scratch, all));
  BOOST_TEST(all.size() == 1u);
  all.clear();
  BOOST_REQUIRE(compile("Body[?hr] | @", expression_language::jmes_path).select_tokens(doc.root, scratch, all));
  BOOST_TEST(all.size() == 1u);
  // A null result is no match.
  all.clear();
  BOOST_REQUIRE(compile("n", expression_language::jmes_path).select_tokens(doc.root, scratch, all));
  BOOST_TEST(all.empty());
}

BOOST_AUTO_TEST_CASE(json_path_null_token_is_a_token) {
  auto doc = json::parse(R"({"n":null})").value();
  auto t = compile("$.n", expression_language::json_path).select_token(doc.root, scratch);
  BOOST_REQUIRE(t);
  BOOST_REQUIRE(t->has_value());
  BOOST_TEST((*t)->is_null());
  auto j = compile("n", expression_language::jmes_path).select_token(doc.root, scratch);
  BOOST_REQUIRE(j);
  BOOST_TEST(!j->has_value());
}

BOOST_AUTO_TEST_SUITE_END()
