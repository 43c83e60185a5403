// The official JMESPath compliance suite (jmespath/jmespath.test, 908 cases), read in place from
// shared/conformance/jmespath (iomt-spec §3.9: JMESPath 2015 as JmesPath.Net implements it).
#define BOOST_TEST_MODULE jmespath
#include <boost/test/unit_test.hpp>

#include "mapping/jmespath/expression.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace jp = iomt::jmespath;
namespace json = iomt::json;

namespace {

struct outcome {
  bool ok = false;
  std::string detail;
};

// One case: compile + search, compared with `result` (deep equality), `error` (kind) or `bench`.
outcome run_case(const json::value& given, const json::value& c) {
  const json::value* expr = c.find("expression");
  if (!expr || !expr->is_string()) return {false, "case without expression"};
  auto compiled = jp::expression::compile(expr->as_string());
  const json::value* expected_error = c.find("error");
  json::arena out;
  if (!compiled) {
    if (expected_error && expected_error->as_string() == jp::to_string(compiled.error().kind)) return {true, {}};
    return {false,
            std::string("compile error ") + jp::to_string(compiled.error().kind) + ": " + compiled.error().message};
  }
  auto r = compiled->search(given, out);
  if (expected_error) {
    if (!r) {
      if (expected_error->as_string() == jp::to_string(r.error().kind)) return {true, {}};
      return {false, std::string("wrong error kind ") + jp::to_string(r.error().kind) + ": " + r.error().message};
    }
    return {false, "expected error " + std::string(expected_error->as_string()) + ", got " + json::to_string(r->value)};
  }
  if (!r) return {false, std::string("runtime error ") + jp::to_string(r.error().kind) + ": " + r.error().message};
  if (c.find("bench")) return {true, {}};
  const json::value* expected = c.find("result");
  if (!expected) return {false, "case without result"};
  if (deep_equal(r->value, *expected)) return {true, {}};
  return {false, "got " + json::to_string(r->value) + ", expected " + json::to_string(*expected)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(compliance_suite) {
  const auto dir = iomt::test::shared_dir() / "conformance/jmespath";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  BOOST_REQUIRE_EQUAL(files.size(), 16u);

  std::size_t total = 0, passed = 0;
  json::read_options opt;
  opt.sniff_dates = false;
  for (const auto& f : files) {
    auto doc = json::parse(iomt::test::read_file(f), opt);
    BOOST_REQUIRE_MESSAGE(doc, "cannot parse " << f);
    for (const json::value& suite : doc->root.as_array()) {
      const json::value* given = suite.find("given");
      const json::value* cases = suite.find("cases");
      BOOST_REQUIRE(given && cases && cases->is_array());
      for (const json::value& c : cases->as_array()) {
        ++total;
        outcome o = run_case(*given, c);
        if (o.ok) {
          ++passed;
        } else {
          BOOST_ERROR(f.filename().string() << ": " << c.find("expression")->as_string() << " -> " << o.detail);
        }
      }
    }
  }
  BOOST_TEST_MESSAGE("jmespath compliance: " << passed << "/" << total);
  BOOST_CHECK_EQUAL(total, 908u);
  BOOST_CHECK_EQUAL(passed, total);
}
