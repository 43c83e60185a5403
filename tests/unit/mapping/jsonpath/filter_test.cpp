// Filters `[?( )]` and `..[?( )]`: what is tested, operands, operators (iomt-spec §3.8).
#include "jsonpath_test_util.hpp"

using namespace iomt;
using namespace iomt::jsonpath::test;

BOOST_AUTO_TEST_SUITE(filters)

BOOST_AUTO_TEST_CASE(filter_tests_array_elements) {
  auto d = doc(R"({"arr":[{"x":1},{"y":2},{"x":null},5]})");
  BOOST_TEST(select("$.arr[?(@.x)]", d.root) == (strings{R"({"x":1})", R"({"x":null})"}));
  BOOST_TEST(select("$.arr[?(@.y)].y", d.root) == strings{"2"});
}

BOOST_AUTO_TEST_CASE(filter_on_an_object_tests_its_properties_and_never_matches_fields) {
  auto d = doc(R"({"Body":{"x":{"x":1},"y":2}})");
  BOOST_TEST(select("$.Body[?(@.x)]", d.root).empty());
  BOOST_TEST(select("$[?(@.Body)]", d.root).empty());
}

BOOST_AUTO_TEST_CASE(scan_filter_tests_the_token_itself_and_every_descendant) {
  auto d = doc(R"({"heartRate":1,"child":{"heartRate":2,"deeper":[{"heartRate":3}]},"other":{"x":1}})");
  BOOST_TEST(select("$..[?(@.heartRate)]", d.root).size() == 3u);
  BOOST_TEST(select("$..[?(@heartRate)].heartRate", d.root) == (strings{"1", "2", "3"}));
  // A primitive current token is tested itself.
  BOOST_TEST(select("$.heartRate..[?(@ == 1)]", d.root) == strings{"1"});
  // Primitives inside the document are tested too.
  BOOST_TEST(select("$..[?(@ == 2)]", d.root) == strings{"2"});
  BOOST_TEST(select("$..[?(@ > 1)]", d.root) == (strings{"2", "3"}));
}

BOOST_AUTO_TEST_CASE(existence_includes_null_values) {
  auto d = doc(R"([{"v":null},{"w":1}])");
  BOOST_TEST(select("$[?(@.v)]", d.root) == strings{R"({"v":null})"});
  BOOST_TEST(select("$[?(@.v == null)]", d.root) == strings{R"({"v":null})"});
}

BOOST_AUTO_TEST_CASE(relative_path_operands) {
  auto d = doc(R"([{"a":{"b":1}},{"a b":2},{"a":[7,8]},{"a":{"b":{"c":3}}}])");
  BOOST_TEST(select("$[?(@.a.b)]", d.root).size() == 2u);
  BOOST_TEST(select("$[?(@a.b)]", d.root).size() == 2u);
  BOOST_TEST(select("$[?(@['a b'])]", d.root) == strings{R"({"a b":2})"});
  BOOST_TEST(select("$[?(@.a[1] == 8)]", d.root) == strings{R"({"a":[7,8]})"});
  BOOST_TEST(select("$[?(@..c == 3)]", d.root) == strings{R"({"a":{"b":{"c":3}}})"});
  BOOST_TEST(select("$[?(@.a.* == 7)]", d.root).empty());
  BOOST_TEST(select("$[?(@.a[*] == 7)]", d.root) == strings{R"({"a":[7,8]})"});
}

BOOST_AUTO_TEST_CASE(bare_at_is_the_current_token) {
  auto d = doc(R"([1,"two",3,null])");
  BOOST_TEST(select("$[?(@ == 'two')]", d.root) == strings{R"("two")"});
  BOOST_TEST(select("$[?(@)]", d.root).size() == 4u);
  BOOST_TEST(select("$[?(@ >= 2)]", R"([1,3,null])") == strings{"3"});
}

BOOST_AUTO_TEST_CASE(root_path_operands) {
  auto d = doc(R"({"target":2,"items":[{"v":1},{"v":2}]})");
  BOOST_TEST(select("$.items[?(@.v == $.target)]", d.root) == strings{R"({"v":2})"});
  BOOST_TEST(select("$.items[?($.target)]", d.root).size() == 2u);
  BOOST_TEST(select("$.items[?($.nothing)]", d.root).empty());
  BOOST_TEST(select("$.items[?(@.v < $['target'])].v", d.root) == strings{"1"});
}

BOOST_AUTO_TEST_CASE(literals) {
  auto d = doc(R"([{"s":"it's"},{"s":"a\\b"},{"i":-5},{"f":2.5},{"f":100000.0},{"b":true},{"b":false},{"n":null}])");
  BOOST_TEST(select(R"($[?(@.s == 'it\'s')])", d.root).size() == 1u);
  BOOST_TEST(select(R"($[?(@.s == 'a\\b')])", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.i == -5)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.f == 2.5)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.f == 25e-1)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.f == 100,000.0)]", d.root).size() == 1u);  // AllowThousands
  BOOST_TEST(select("$[?(@.b == true)]", d.root) == strings{R"({"b":true})"});
  BOOST_TEST(select("$[?(@.b == false)]", d.root) == strings{R"({"b":false})"});
  BOOST_TEST(select("$[?(@.n == null)]", d.root).size() == 1u);
  // A literal alone is "existence": always true.
  BOOST_TEST(select("$[?(1)]", d.root).size() == 8u);
  BOOST_TEST(select("$[?('x' == 'x')]", d.root).size() == 8u);
}

BOOST_AUTO_TEST_CASE(whitespace_around_operators) {
  auto d = doc(R"([{"v":1},{"v":2}])");
  BOOST_TEST(select("$[?(@.v==2)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(  @.v   ==   2  )]", d.root).size() == 1u);
  BOOST_TEST(select("$[ ?(@.v == 2) ]", d.root).size() == 1u);
}

BOOST_AUTO_TEST_CASE(equality_operators) {
  auto d = doc(R"([{"v":1},{"v":1.0},{"v":"1"},{"v":[1]},{"w":0}])");
  BOOST_TEST(select("$[?(@.v == 1)]", d.root).size() == 2u);  // 1 and 1.0
  BOOST_TEST(select("$[?(@.v == 1.0)]", d.root).size() == 2u);
  BOOST_TEST(select("$[?(@.v == '1')]", d.root) == strings{R"({"v":"1"})"});  // no string/number coercion
  BOOST_TEST(select("$[?(@.v === 1)]", d.root).size() == 2u);                 // strict still equates 1 and 1.0
  BOOST_TEST(select("$[?(@.v != 1)]", d.root).size() == 2u);                  // "1" and [1] (not a JValue)
  BOOST_TEST(select("$[?(@.v <> 1)]", d.root).size() == 2u);
  BOOST_TEST(select("$[?(@.v !== 1)]", d.root).size() == 1u);  // only "1": !== is false for [1]
  // Missing on the left: no pairs, false for every operator.
  BOOST_TEST(select("$[?(@.w != 1)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.zz != 1)]", d.root).empty());
}

BOOST_AUTO_TEST_CASE(any_pair_matches) {
  auto d = doc(R"([{"a":[1,2,3]},{"a":[4]}])");
  BOOST_TEST(select("$[?(@.a[*] == 2)]", d.root) == strings{R"({"a":[1,2,3]})"});
  BOOST_TEST(select("$[?(@.a[*] > 3)]", d.root) == strings{R"({"a":[4]})"});
  BOOST_TEST(select("$[?(@.a[*] != 1)]", d.root).size() == 2u);
  BOOST_TEST(select("$[?(4 == @.a[*])]", d.root) == strings{R"({"a":[4]})"});
}

BOOST_AUTO_TEST_CASE(ordering_operators) {
  auto d = doc(R"([{"v":1},{"v":2.5},{"v":3},{"w":"no v"}])");
  BOOST_TEST(select("$[?(@.v < 3)].v", d.root) == (strings{"1", "2.5"}));
  BOOST_TEST(select("$[?(@.v <= 3)].v", d.root) == (strings{"1", "2.5", "3"}));
  BOOST_TEST(select("$[?(@.v > 2)].v", d.root) == (strings{"2.5", "3"}));
  BOOST_TEST(select("$[?(@.v >= 2.5)].v", d.root) == (strings{"2.5", "3"}));
  // Strings order ordinally ('B' < 'a' < 'b').
  auto s = doc(R"([{"v":"b"},{"v":"B"},{"v":"a"}])");
  BOOST_TEST(select("$[?(@.v > 'a')].v", s.root) == strings{R"("b")"});
  BOOST_TEST(select("$[?(@.v < 'a')].v", s.root) == strings{R"("B")"});
  BOOST_TEST(select("$[?(@.v <= 'a')].v", s.root) == (strings{R"("B")", R"("a")"}));
}

BOOST_AUTO_TEST_CASE(regex_match) {
  auto d = doc(R"([{"n":"Alice"},{"n":"bob"},{"n":"line\nbreak"},{"n":5},{"n":"ab\n"},{"n":"x/y"}])");
  BOOST_TEST(select("$[?(@.n =~ /^al/)].n", d.root).empty());
  BOOST_TEST(select("$[?(@.n =~ /^al/i)].n", d.root) == strings{R"("Alice")"});
  BOOST_TEST(select("$[?(@.n =~ /li/)].n", d.root) == (strings{R"("Alice")", R"("line\nbreak")"}));
  BOOST_TEST(select("$[?(@.n =~ /.*/)]", d.root).size() == 5u);  // not the number
  // .NET: `.` does not match '\n' unless `s`; `$` also matches before a final '\n'.
  BOOST_TEST(select("$[?(@.n =~ /line.break/)]", d.root).empty());
  BOOST_TEST(select("$[?(@.n =~ /line.break/s)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.n =~ /^ab$/)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.n =~ /^break$/m)]", d.root).size() == 1u);
  BOOST_TEST(select(R"($[?(@.n =~ /x\/y/)])", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.n =~ /(?<first>A)lice/)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.n =~ /^[a-z]{3}$/)].n", d.root) == strings{R"("bob")"});
}

BOOST_AUTO_TEST_CASE(regex_from_the_document_and_bad_patterns) {
  BOOST_TEST(select("$[?(@.n =~ @.p)]", R"([{"n":"abc","p":"/B/i"},{"n":"abc","p":"/d/"}])").size() == 1u);
  // A right side without slashes fails like String.Substring does in .NET.
  auto e = select_error("$[?(@.n =~ @.p)]", R"([{"n":"abc","p":"nope"}])");
  BOOST_TEST(e.type == "ArgumentOutOfRangeException");
  BOOST_TEST(select_error("$[?(@.n =~ 'abc')]", R"([{"n":"abc"}])").type == "ArgumentOutOfRangeException");
  // An invalid pattern compiles (Newtonsoft parses it lazily) and fails when it is used...
  auto p = iomt::jsonpath::path::compile("$[?(@.n =~ /a(/)]");
  BOOST_REQUIRE(p);
  BOOST_TEST(select_error("$[?(@.n =~ /a(/)]", R"([{"n":"abc"}])").type == "RegexParseException");
  // ...and only then.
  BOOST_TEST(select("$[?(@.n =~ /a(/)]", R"([{"n":5}])").empty());
  // .NET constructs PCRE2 lacks are reported as unsupported (more in regex_test.cpp).
  BOOST_TEST(select_error("$[?(@.n =~ /[a-z-[b]]/)]", R"([{"n":"abc"}])").type == "NotSupportedException");
  // Huge repetition counts are refused instead of building a huge program.
  BOOST_TEST(select_error("$[?(@.n =~ /a{1000}{1000}/)]", R"([{"n":"abc"}])").type == "NotSupportedException");
  // Back-references work, on long inputs too.
  BOOST_TEST(select(R"($[?(@.n =~ /(a)\1/)])", R"([{"n":"xaay"},{"n":"xay"}])").size() == 1u);
  std::string long_doc = R"([{"n":")" + std::string(100'000, 'a') + R"("}])";
  BOOST_TEST(select(R"($[?(@.n =~ /(a)\1/)])", long_doc).size() == 1u);
  // Long inputs are fine; hopeless searches end early (a required 'b' that is not there).
  BOOST_TEST(select("$[?(@.n =~ /(a|aa)*b/)]", long_doc).empty());
  BOOST_TEST(select("$[?(@.n =~ /^a+$/)]", long_doc).size() == 1u);
}

BOOST_AUTO_TEST_CASE(and_or) {
  auto d = doc(R"([{"a":1,"b":1},{"a":1},{"b":1},{"c":1},{"a":1,"c":1}])");
  BOOST_TEST(select("$[?(@.a && @.b)]", d.root).size() == 1u);
  BOOST_TEST(select("$[?(@.a || @.b)]", d.root).size() == 4u);
  BOOST_TEST(select("$[?(@.a && @.b && @.c)]", d.root).empty());
  BOOST_TEST(select("$[?(@.a == 1 && @.b == 1)]", d.root).size() == 1u);
}

BOOST_AUTO_TEST_CASE(mixing_operators_nests_to_the_right) {
  // {"c":1}: (a && b) || c would be true; Newtonsoft computes a && (b || c) = false.
  auto d = doc(R"([{"c":1},{"a":1,"c":1}])");
  BOOST_TEST(select("$[?(@.a && @.b || @.c)]", d.root) == strings{R"({"a":1,"c":1})"});
  // a || (b && c): {"a":1} true without b.
  auto e = doc(R"([{"a":1},{"b":1},{"b":1,"c":1}])");
  BOOST_TEST(select("$[?(@.a || @.b && @.c)]", e.root) == (strings{R"({"a":1})", R"({"b":1,"c":1})"}));
}

BOOST_AUTO_TEST_CASE(an_expression_without_a_connective_is_dropped) {
  // Newtonsoft quirk: `@.a == 2 @.b` keeps only `@.b`.
  auto d = doc(R"([{"a":1,"b":1},{"a":2}])");
  BOOST_TEST(select("$[?(@.a == 2 @.b)]", d.root) == strings{R"({"a":1,"b":1})"});
}

BOOST_AUTO_TEST_CASE(nested_filters) {
  auto d = doc(R"({"groups":[{"items":[{"k":1},{"k":2}]},{"items":[{"k":3}]}]})");
  BOOST_TEST(select("$.groups[?(@.items[?(@.k == 2)])].items[0].k", d.root) == strings{"1"});
  BOOST_TEST(select("$.groups[?(@.items[?(@.k > 0)].k == 3)]", d.root).size() == 1u);
}

BOOST_AUTO_TEST_CASE(selecting_a_property_token_is_an_error) {
  // On an object, filter children are JProperties; `!=` is true for non-values, so Newtonsoft
  // would return JProperty tokens. iomtflow has none and says so.
  auto e = select_error("$.o[?(@ != 1)]", R"({"o":{"x":1}})");
  BOOST_TEST(e.type == "NotSupportedException");
  BOOST_TEST(e.message.find("'x'") != std::string::npos);
  // A property token in the middle of a path just selects nothing further.
  BOOST_TEST(select("$.o[?(@ != 1)].x", R"({"o":{"x":1}})").empty());
  // A property's children are its value: [?()] on it tests the value.
  BOOST_TEST(select("$.o[?(@ != 1)][?(@ == 1)]", R"({"o":{"x":1}})") == strings{"1"});
}

BOOST_AUTO_TEST_CASE(zero_step_slices_in_filters_fail_when_evaluated) {
  BOOST_TEST(select_error("$[?(@[::0])]", R"([[1]])").message == "Step cannot be zero.");
  BOOST_TEST(select("$[?(@[::0])]", R"([])").empty());
  // The right side is evaluated only once the left side produced something.
  BOOST_TEST(select("$[?(@.x == @[::0])]", R"([{"y":1}])").empty());
}

// Compile-time shortcuts (object-only filters, field-chain lookups) must not change results.
BOOST_AUTO_TEST_CASE(object_only_filters_keep_order_and_quirks) {
  auto d = doc(R"({"a":{"hr":1,"b":[{"hr":2},[{"hr":3}],{"x":{"hr":4}}]},"hr":0})");
  BOOST_TEST(select("$..[?(@hr)].hr", d.root) == (strings{"0", "1", "2", "3", "4"}));
  BOOST_TEST(select("$..[?(@.hr && @.b)].hr", d.root) == strings{"1"});
  BOOST_TEST(select("$..[?(@.x.hr == 4)].x.hr", d.root) == strings{"4"});
  BOOST_TEST(select("$..[?(@['hr'] > 2)].hr", d.root) == (strings{"3", "4"}));
  BOOST_TEST(select("$.a.b[?(@.hr)].hr", d.root) == strings{"2"});
  BOOST_TEST(select("$.a.b[*]..[?(@.hr)].hr", d.root) == (strings{"2", "3", "4"}));
  BOOST_TEST(select("$.a.hr..[?(@.hr)]", d.root).empty());
  // A filter whose first branch is not object-only still tests primitives.
  BOOST_TEST(select("$..[?(@ == 2 || @.hr == 2)]", d.root) == (strings{R"({"hr":2})", "2"}));
}

BOOST_AUTO_TEST_SUITE_END()
