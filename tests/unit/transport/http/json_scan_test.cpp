// The strict JSON scanner of the HTTP ingest (transport/http/json_scan.hpp).
#define BOOST_TEST_MODULE transport_http_ingest
#include <boost/test/unit_test.hpp>

#include "transport/http/json_scan.hpp"

#include <vector>

using namespace iomt::transport::http;

BOOST_AUTO_TEST_SUITE(json_scan_suite)

BOOST_AUTO_TEST_CASE(valid_documents) {
  for (std::string_view text :
       {"[]", " {} ", "\xEF\xBB\xBF[1]", "[1,-0.5e+3,\"a\\u00e9\\n\",true,false,null,{\"k\":[{}]}]", "\"\xC3\xA9\"",
        "123456789012345678901234567890"}) {
    auto r = json_scan::scan_document(text);
    BOOST_TEST(bool(r), text);
  }
}

BOOST_AUTO_TEST_CASE(invalid_documents_report_offsets) {
  struct tc {
    std::string_view text;
    std::size_t offset;
  };
  for (auto [text, offset] : std::vector<tc>{{"", 0},
                                             {"[1,]", 3},
                                             {"[1 2]", 3},
                                             {"{'a':1}", 1},
                                             {"{\"a\" 1}", 5},
                                             {"[01]", 2},
                                             {"[1.]", 1},
                                             {"[\"a\tb\"]", 3},
                                             {"[\"\\x\"]", 2},
                                             {"[\"\xC3\"]", 2},
                                             {"[\"\xED\xA0\x80\"]", 2},
                                             {"// c\n[1]", 0},
                                             {"[1] x", 4},
                                             {"[tru]", 1},
                                             {"[\"abc", 1}}) {
    auto r = json_scan::scan_document(text);
    BOOST_TEST_REQUIRE(!r, text);
    BOOST_TEST(r.error().offset == offset, text << ": " << r.error().message);
  }
}

BOOST_AUTO_TEST_CASE(depth_is_guarded) {
  std::string deep(json_scan::max_depth, '[');
  deep += std::string(json_scan::max_depth, ']');
  BOOST_TEST(bool(json_scan::scan_document(deep)));
  std::string deeper(100000, '[');
  auto r = json_scan::scan_document(deeper);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().message.find("nesting deeper") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(iteration_and_decoding) {
  auto doc = json_scan::scan_document(R"( [ {"a" : 1 , "b\u0021":"x\"y\ud83d\ude00\ud800"} , 2.50 ] )");
  BOOST_REQUIRE(doc);
  std::vector<std::string> items;
  json_scan::for_each_item(*doc, [&](std::string_view v) { items.emplace_back(v); });
  BOOST_REQUIRE(items.size() == 2u);
  BOOST_TEST(items[1] == "2.50");
  std::vector<std::pair<std::string, std::string>> members;
  json_scan::for_each_member(
      items[0], [&](std::string_view k, std::string_view v) { members.emplace_back(json_scan::decode_string(k), v); });
  BOOST_REQUIRE(members.size() == 2u);
  BOOST_TEST(members[0].first == "a");
  BOOST_TEST(members[0].second == "1");
  BOOST_TEST(members[1].first == "b!");
  BOOST_TEST(json_scan::decode_string(members[1].second) == "x\"y\xF0\x9F\x98\x80\xEF\xBF\xBD");
  std::string min;
  json_scan::append_minified(items[0], min);
  BOOST_TEST(min == R"({"a":1,"b\u0021":"x\"y\ud83d\ude00\ud800"})");
}

BOOST_AUTO_TEST_CASE(quoting_never_produces_invalid_json) {
  std::string out;
  json_scan::append_quoted("a\"\\\n\x01\xC3\xA9\xE9", out);  // last byte: ISO-8859-1 e-acute
  BOOST_TEST(out == "\"a\\\"\\\\\\n\\u0001\xC3\xA9\xC3\xA9\"");
  BOOST_TEST(bool(json_scan::scan_document(out)));
}

BOOST_AUTO_TEST_SUITE_END()
