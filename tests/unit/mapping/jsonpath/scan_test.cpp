// path::scan_exists_key(): the `$..[?(@key)]` type-match form that the device mapping answers for
// all its templates with one walk (mapping/device/scan_index). Only exactly that form qualifies,
// and the pre-order it promises is what select() gives. Also: how far chained scans may go.
#include "jsonpath_test_util.hpp"

using namespace iomt;
using namespace iomt::jsonpath::test;

BOOST_AUTO_TEST_SUITE(scan_form)

BOOST_AUTO_TEST_CASE(recognised_forms) {
  BOOST_TEST(compiled("$..[?(@heartRate)]").scan_exists_key().value_or("?") == "heartRate");
  BOOST_TEST(compiled("$..[?(@.heartRate)]").scan_exists_key().value_or("?") == "heartRate");
  BOOST_TEST(compiled("$..[?(@['heart rate'])]").scan_exists_key().value_or("?") == "heart rate");
}

BOOST_AUTO_TEST_CASE(other_forms_are_not_scans) {
  for (const char* expr : {"$.heartRate", "$[?(@heartRate)]", "$..[?(@heartRate == 1)]", "$..[?(@a.b)]", "$..heartRate",
                           "$..[?(@heartRate && @x)]", "$..*"}) {
    BOOST_TEST_CONTEXT(expr) { BOOST_TEST(!compiled(expr).scan_exists_key().has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(select_agrees_with_the_promise) {
  // Pre-order over the root and its descendant containers; objects with the key, whatever its value.
  auto d = doc(R"({"hr":1,"a":[{"hr":null},{"x":{"hr":false}},[{"hr":{"hr":2}}]],"b":{"c":{"y":3}}})");
  const auto got = select("$..[?(@hr)]", d.root);
  BOOST_REQUIRE(got.size() == 5u);
  BOOST_TEST(got[0].substr(0, 7) == R"({"hr":1)");  // the root itself
  BOOST_TEST(got[1] == R"({"hr":null})");
  BOOST_TEST(got[2] == R"({"hr":false})");
  BOOST_TEST(got[3] == R"({"hr":{"hr":2}})");
  BOOST_TEST(got[4] == R"({"hr":2})");
}

BOOST_AUTO_TEST_CASE(chained_scans_stop_at_the_visit_limit) {
  // Each `..*` reaches every token again from each of its ancestors: on arrays nested 30 deep,
  // one scan yields 31 tokens, two yield 31 + 30 + ... + 1, eight would visit tens of millions.
  // select stops after detail::max_visits visits instead of running for minutes.
  std::string text = std::string(30, '[') + "0" + std::string(30, ']');
  auto d = doc(text);
  BOOST_TEST(select("$..*", d.root).size() == 31u);
  BOOST_TEST(select("$..*..*", d.root).size() == 496u);
  auto e = select_error("$..*..*..*..*..*..*..*..*", text);
  BOOST_TEST(e.type == "NotSupportedException");
  BOOST_TEST(e.message.find("visited more than 2000000 tokens") != std::string::npos, e.message);
  // tests/fuzz/corpus/fuzz_jsonpath/regression-scan-chain-timeout.txt: took 12 s (ASan) before.
  std::string fuzzed =
      "...*...*...*..*.......*...*.......*..*...*...*..*.......*.....*...*..*..*.......*...*..*..*....*...."
      "..*...*..*......*...*...*..*.......*..*...*...*..*.......*.....*...*..*..*.......*...*..*..*....*..."
      "[:].*..*";
  BOOST_TEST(select_error(fuzzed, text).type == "NotSupportedException");
}

BOOST_AUTO_TEST_SUITE_END()
