// Writers, Boost.JSON conversions and the event envelope (iomt-spec §2).
#include "mapping/json/writer.hpp"
#include "mapping/json/dotnet.hpp"
#include "mapping/json/envelope.hpp"
#include "mapping/json/reader.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace iomt::json;

BOOST_AUTO_TEST_SUITE(writer)

BOOST_AUTO_TEST_CASE(doubles_like_newtonsoft) {
  BOOST_TEST(to_string(value::floating(20.0)) == "20.0");
  BOOST_TEST(to_string(value::floating(1.5)) == "1.5");
  BOOST_TEST(to_string(value::floating(1e15)) == "1E+15");
  BOOST_TEST(to_string(value::floating(1e-5)) == "1E-05");
  BOOST_TEST(to_string(value::floating(-0.0)) == "-0.0");
  BOOST_TEST(to_string(value::floating(std::nan(""))) == "\"NaN\"");
  BOOST_TEST(to_string(value::floating(HUGE_VAL)) == "\"Infinity\"");
  BOOST_TEST(to_string(value::floating(-HUGE_VAL)) == "\"-Infinity\"");
  BOOST_TEST(to_string(boost::json::value(20.0)) == "20.0");
  BOOST_TEST(to_string(boost::json::value(0.1)) == "0.1");
  BOOST_TEST(to_string(boost::json::value(1e300)) == "1E+300");
}

BOOST_AUTO_TEST_CASE(scalars_strings_dates) {
  arena a;
  BOOST_TEST(to_string(a.string("a\"b\\c\n\x01/é")) == "\"a\\\"b\\\\c\\n\\u0001/é\"");
  BOOST_TEST(to_string(a.big_integer("123456789012345678901")) == "123456789012345678901");
  BOOST_TEST(to_string(value::integer(-42)) == "-42");
  date_time t{from_civil({2019, 2, 1, 22, 46, 1, 8'750'000}), date_kind::utc};
  BOOST_TEST(to_string(value::date(t)) == "\"2019-02-01T22:46:01.875Z\"");
}

BOOST_AUTO_TEST_CASE(round_trip_through_boost) {
  auto d = parse(R"({"a":[1,2.5,"x",true,null,{"b":{}}],"big":18446744073709551615,"t":"2020-10-22T01:34:56Z"})");
  BOOST_REQUIRE(d.has_value());
  boost::json::value b = to_boost(d->root);
  BOOST_TEST(to_string(b) ==
             R"({"a":[1,2.5,"x",true,null,{"b":{}}],"big":18446744073709551615,"t":"2020-10-22T01:34:56Z"})");
  arena a;
  value back = from_boost(b, a);
  BOOST_TEST(to_string(back) == to_string(b));
  BOOST_TEST((back.find("big")->type() == kind::big_integer));
  BOOST_TEST(back.find("t")->is_string());  // no sniffing in from_boost
  arena a2;
  BOOST_TEST(to_boost(a2.big_integer("123456789012345678901234")).is_double());
}

BOOST_AUTO_TEST_CASE(pretty) {
  boost::json::value v = boost::json::parse(R"({"a":[1,{"b":2.0}],"e":[],"o":{}})");
  BOOST_TEST(to_pretty_string(v) ==
             "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2.0\n    }\n  ],\n  \"e\": [],\n  \"o\": {}\n}");
}

BOOST_AUTO_TEST_CASE(envelope) {
  arena a;
  value body = *parse_lenient(R"({"hr":80})", a);
  value env = make_envelope(body, value::null(), value::null(), a);
  BOOST_TEST(to_string(env) == R"({"Body":{"hr":80},"Properties":{},"SystemProperties":{}})");
  value props = *parse_lenient(R"({"p":"2020-10-22T01:34:56Z"})", a, {false, true});
  value env2 = make_envelope(value::null(), props, props, a);
  BOOST_TEST(
      to_string(env2) ==
      R"({"Body":null,"Properties":{"p":"2020-10-22T01:34:56Z"},"SystemProperties":{"p":"2020-10-22T01:34:56Z"}})");
  BOOST_TEST(env2.find("Properties")->find("p")->is_string());
}

BOOST_AUTO_TEST_SUITE_END()
