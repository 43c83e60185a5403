// Filter comparisons follow Newtonsoft JValue rules: EqualsWithStringCoercion, EqualsWithStrictMatch,
// JValue.CompareTo with System.Convert conversions (iomt-spec §3.8).
#include "jsonpath_test_util.hpp"

using namespace iomt;
using namespace iomt::jsonpath::test;

BOOST_AUTO_TEST_SUITE(comparisons)

BOOST_AUTO_TEST_CASE(date_equals_its_iso_text) {
  // Body strings that look like ISO dates are Date tokens (§2); `==` compares a Date on the left
  // with the string Newtonsoft's writer would produce for it.
  auto d = doc(R"([{"t":"2020-10-22T01:34:56Z"},{"t":"2020-10-22T01:34:56.1230000Z"},
                   {"t":"2020-10-22T01:34:56+05:00"},{"t":"2020-10-22T01:34:56"}])");
  BOOST_TEST(select("$[?(@.t == '2020-10-22T01:34:56Z')]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.t == '2020-10-22T01:34:56.123Z')]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.t == '2020-10-22T01:34:56.1230000Z')]", d.root).empty());
  // An offset is converted to the (UTC) local time and written with the local offset.
  BOOST_TEST(select("$[?(@.t == '2020-10-21T20:34:56+00:00')]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.t == '2020-10-22T01:34:56+05:00')]", d.root).empty());
  BOOST_TEST(select("$[?(@.t == '2020-10-22T01:34:56')]", d.root).size() == 1u);
  // Only with the date on the left, and not for ===.
  BOOST_TEST(select("$[?('2020-10-22T01:34:56Z' == @.t)]", d.root).empty());
  BOOST_TEST(select("$[?(@.t === '2020-10-22T01:34:56Z')]", d.root).empty());
  BOOST_TEST(select("$[?(@.t != '2020-10-22T01:34:56Z')]", d.root).size() == 3u);
}

BOOST_AUTO_TEST_CASE(dates_compare_by_instant) {
  auto d = doc(R"({"a":"2020-10-22T01:34:56Z","b":"2020-10-22T06:34:56+05:00","items":[
                   {"t":"2020-10-22T01:34:56Z"},{"t":"2021-03-01T00:00:00Z"}]})");
  BOOST_TEST(select("$[?(@ == $.b)]", R"(["2020-10-22T01:34:56Z"])").empty());  // $ is the array here
  BOOST_TEST(select("$.items[?(@.t == $.a)]", d.root).size() == 1u);
  BOOST_TEST(select("$.items[?(@.t == $.b)]", d.root).size() == 1u);  // same instant, other kind
  BOOST_TEST(select("$.items[?(@.t > $.a)]", d.root).size() == 1u);
  // A string on the right is converted with DateTime.Parse.
  BOOST_TEST(select("$.items[?(@.t < '2021-01-01')]", d.root).size() == 1u);
  BOOST_TEST(select("$.items[?(@.t >= '03/01/2021 00:00:00')]", d.root).size() == 1u);
  auto bad = select_error("$.items[?(@.t < 'soon')]", R"({"items":[{"t":"2020-10-22T01:34:56Z"}]})");
  BOOST_TEST(bad.type == "FormatException");
  BOOST_TEST(bad.message == "String 'soon' was not recognized as a valid DateTime.");
  // Numbers do not convert to dates, nor strings on the left to DateTimeOffset.
  auto e = select_error("$.items[?(@.t < 5)]", R"({"items":[{"t":"2020-10-22T01:34:56Z"}]})");
  BOOST_TEST(e.type == "InvalidCastException");
  BOOST_TEST(e.message == "Invalid cast from 'Int64' to 'DateTime'.");
  BOOST_TEST(select_error("$.items[?('x' < @.t)]", R"({"items":[{"t":"2020-10-22T01:34:56Z"}]})").type ==
             "InvalidCastException");
}

BOOST_AUTO_TEST_CASE(strings_convert_to_the_other_sides_type) {
  auto d = doc(R"([{"s":"5"},{"s":" 7 "},{"s":"12"}])");
  BOOST_TEST(select("$[?(@.s < 10)].s", d.root) == (strings{R"("5")", R"(" 7 ")"}));
  BOOST_TEST(select("$[?(@.s < 10.5)].s", d.root).size() == 2u);
  BOOST_TEST(select("$[?(10 < @.s)]", d.root).size() == 1u);  // number on the left: '12' -> 12
  // ...but never for equality.
  BOOST_TEST(select("$[?(@.s == 5)]", d.root).empty());
  auto e = select_error("$[?(@.s < 10)]", R"([{"s":"abc"}])");
  BOOST_TEST(e.type == "FormatException");
  BOOST_TEST(e.message == "The input string 'abc' was not in a correct format.");
  BOOST_TEST(select_error("$[?(@.s < 10)]", R"([{"s":"5.5"}])").type == "FormatException");
  BOOST_TEST(select_error("$[?(@.s < 10)]", R"([{"s":"99999999999999999999"}])").type == "OverflowException");
}

BOOST_AUTO_TEST_CASE(booleans) {
  auto d = doc(R"([{"b":true},{"b":false},{"b":"True"}])");
  // "True" on the left converts to the right side's type: Boolean.Parse.
  BOOST_TEST(select("$[?(@.b > false)].b", d.root) == (strings{"true", R"("True")"}));
  BOOST_TEST(select("$[?(@.b == true)].b", d.root) == strings{"true"});
  BOOST_TEST(select("$[?(@.n > true)].n", R"([{"n":5},{"n":0}])") == strings{"5"});
  BOOST_TEST(select("$[?(@.s >= true)].s", R"([{"s":"true"},{"s":"FALSE"}])") == strings{R"("true")"});
  BOOST_TEST(select_error("$[?(@.s >= true)]", R"([{"s":"yes"}])").message ==
             "String 'yes' was not recognized as a valid Boolean.");
}

BOOST_AUTO_TEST_CASE(null_sorts_first) {
  auto d = doc(R"([{"v":null},{"v":1},{"v":"x"}])");
  BOOST_TEST(select("$[?(@.v > null)]", d.root).size() == 2u);
  BOOST_TEST(select("$[?(@.v >= null)]", d.root).size() == 3u);
  BOOST_TEST(select("$[?(@.v < 1)].v", R"([{"v":null},{"v":1},{"v":2}])") == strings{"null"});
  BOOST_TEST(select("$[?(@.v == null)].v", d.root) == strings{"null"});
  BOOST_TEST(select("$[?(@.v != null)]", d.root).size() == 2u);
}

BOOST_AUTO_TEST_CASE(floats_compare_approximately) {
  auto d = doc(R"([{"f":0.30000000000000004},{"i":1}])");
  BOOST_TEST(select("$[?(@.f == 0.3)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.f <= 0.3)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.i == 1.0000000000000002)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.f === 0.3)]", d.root).size() == 1u);
}

BOOST_AUTO_TEST_CASE(big_integers) {
  auto d = doc(R"([{"b":123456789012345678901234567890},{"b":-123456789012345678901234567890},{"b":7}])");
  BOOST_TEST(select("$[?(@.b > 9223372036854775807)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.b < -9223372036854775807)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.b < 1e40)]", d.root).size() == 3u);
  BOOST_TEST(select("$[?(@.b > 1.2e29)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.b < '200000000000000000000000000000')]",
                    R"([{"b":123456789012345678901234567890},{"b":-123456789012345678901234567890}])")
                 .size() == 2u);
  // An Int64 on the left converts the string with Int64.Parse.
  BOOST_TEST(select_error("$[?(@.b < '200000000000000000000000000000')]", R"([{"b":7}])").type == "OverflowException");
  BOOST_TEST(select("$[?(@.b == '123456789012345678901234567890')]", d.root).empty());
  BOOST_TEST(select_error("$[?(@.b > true)]", R"([{"b":123456789012345678901234567890}])").message ==
             "Cannot convert System.Boolean to BigInteger.");
}

BOOST_AUTO_TEST_CASE(strings_order_by_utf16_code_units) {
  // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFD in UTF-16 (not in UTF-8).
  auto d = doc(R"([{"s":"😀"},{"s":"A"}])");
  BOOST_TEST(select("$[?(@.s < '\xEF\xBF\xBD')]", d.root).size() == 2u);
  BOOST_TEST(select("$[?(@.s > '\xEE\x80\x80')].s", d.root).empty());  // U+E000 > D83D
}

BOOST_AUTO_TEST_SUITE_END()
