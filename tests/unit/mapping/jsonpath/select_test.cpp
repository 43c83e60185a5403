// Member, index, slice and recursive-descent selection (iomt-spec §3.8).
#include "jsonpath_test_util.hpp"

#include <functional>
#include <thread>

using namespace iomt;
using namespace iomt::jsonpath::test;

BOOST_AUTO_TEST_SUITE(selection)

BOOST_AUTO_TEST_CASE(fields_are_case_sensitive_and_missing_is_empty) {
  auto d = doc(R"({"hr":80,"Hr":81,"a":{"b":null}})");
  BOOST_TEST(select("$.hr", d.root) == strings{"80"});
  BOOST_TEST(select("$.Hr", d.root) == strings{"81"});
  BOOST_TEST(select("$.HR", d.root).empty());
  BOOST_TEST(select("$.missing.deeper", d.root).empty());
  BOOST_TEST(select("$.a.b", d.root) == strings{"null"});
  BOOST_TEST(select("$.hr.x", d.root).empty());
}

BOOST_AUTO_TEST_CASE(wildcards) {
  auto d = doc(R"({"o":{"x":1,"y":[2,3]},"arr":[4,{"z":5}]})");
  BOOST_TEST(select("$.o.*", d.root) == (strings{"1", "[2,3]"}));
  BOOST_TEST(select("$.arr[*]", d.root) == (strings{"4", R"({"z":5})"}));
  // `.*` only enumerates objects, `[*]` only arrays.
  BOOST_TEST(select("$.arr.*", d.root).empty());
  BOOST_TEST(select("$.o[*]", d.root).empty());
  BOOST_TEST(select("$.*.*", d.root) == (strings{"1", "[2,3]"}));
  BOOST_TEST(select("$.*[*]", d.root) == (strings{"4", R"({"z":5})"}));
}

BOOST_AUTO_TEST_CASE(multiple_fields_in_listed_order) {
  auto d = doc(R"({"a":1,"b":2,"c":3})");
  BOOST_TEST(select("$['c','a']", d.root) == (strings{"3", "1"}));
  BOOST_TEST(select("$['c','nope','a','a']", d.root) == (strings{"3", "1", "1"}));
}

BOOST_AUTO_TEST_CASE(property_star_name_yields_each) {
  BOOST_TEST(select("property[*].name", R"({"property":[{"name":"a"},{"name":"b"},{"other":1}]})") ==
             (strings{R"("a")", R"("b")"}));
}

BOOST_AUTO_TEST_CASE(indexes) {
  auto d = doc(R"({"a":[10,11,12],"o":{"0":"zero"}})");
  BOOST_TEST(select("$.a[0]", d.root) == strings{"10"});
  BOOST_TEST(select("$.a[ 2 ]", d.root) == strings{"12"});
  BOOST_TEST(select("$.a[2,0,2]", d.root) == (strings{"12", "10", "12"}));
  BOOST_TEST(select("$.a[3]", d.root).empty());  // out of range: nothing
  BOOST_TEST(select("$.a[1,7]", d.root) == strings{"11"});
  BOOST_TEST(select("$.o[0]", d.root).empty());  // not an array
  BOOST_TEST(select("$[0]", R"([[1,2],[3]])") == strings{"[1,2]"});
  BOOST_TEST(select("$[0][1]", R"([[1,2],[3]])") == strings{"2"});
}

BOOST_AUTO_TEST_CASE(negative_single_index_is_a_runtime_error) {
  auto e = select_error("$.a[-1]", R"({"a":[1,2]})");
  BOOST_TEST(e.type == "ArgumentOutOfRangeException");
  BOOST_TEST(
      e.message ==
      "Index was out of range. Must be non-negative and less than the size of the collection. (Parameter 'index')");
  BOOST_TEST(e.position == std::string_view::npos);
  // Only when applied to an array.
  BOOST_TEST(select("$.o[-1]", R"({"o":{"x":1}})").empty());
  BOOST_TEST(select("$.missing[-1]", R"({"o":{"x":1}})").empty());
  BOOST_TEST(select_error("$.a[0,-1]", R"({"a":[1,2]})").type == "ArgumentOutOfRangeException");
  // The slice form is the supported way.
  BOOST_TEST(select("$.a[-1:]", R"({"a":[1,2]})") == strings{"2"});
}

BOOST_AUTO_TEST_CASE(results_before_an_error_are_kept) {
  auto d = doc(R"([[7,8]])");
  auto p = compiled("$[*][0,-1]");
  std::vector<const json::value*> out;
  auto r = p.select(d.root, out);
  BOOST_TEST(!r);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(json::to_string(*out[0]) == "7");
}

BOOST_AUTO_TEST_CASE(slices) {
  auto d = doc(R"({"a":[0,1,2,3,4]})");
  BOOST_TEST(select("$.a[1:3]", d.root) == (strings{"1", "2"}));
  BOOST_TEST(select("$.a[:2]", d.root) == (strings{"0", "1"}));
  BOOST_TEST(select("$.a[3:]", d.root) == (strings{"3", "4"}));
  BOOST_TEST(select("$.a[-2:]", d.root) == (strings{"3", "4"}));
  BOOST_TEST(select("$.a[:-3]", d.root) == (strings{"0", "1"}));
  BOOST_TEST(select("$.a[::2]", d.root) == (strings{"0", "2", "4"}));
  BOOST_TEST(select("$.a[::-1]", d.root) == (strings{"4", "3", "2", "1", "0"}));
  BOOST_TEST(select("$.a[3:0:-2]", d.root) == (strings{"3", "1"}));
  BOOST_TEST(select("$.a[-1:-3:-1]", d.root) == (strings{"4", "3"}));
  BOOST_TEST(select("$.a[:]", d.root).size() == 5u);
  BOOST_TEST(select("$.a[10:]", d.root).empty());
  BOOST_TEST(select("$.a[-10:2]", d.root) == (strings{"0", "1"}));
  BOOST_TEST(select("$.a[ 1 : 3 ]", d.root) == (strings{"1", "2"}));
  BOOST_TEST(select("$.a[1:2:3:1]", d.root) == strings{"1"});  // the last step wins
}

BOOST_AUTO_TEST_CASE(slice_step_zero_fails_even_without_arrays) {
  auto e = select_error("$.a[::0]", R"({"a":[1]})");
  BOOST_TEST(e.message == "Step cannot be zero.");
  BOOST_TEST(e.type == "JsonException");
  BOOST_TEST(select_error("$.missing[0:1:0]", R"({})").message == "Step cannot be zero.");
}

BOOST_AUTO_TEST_CASE(recursive_descent_by_name_in_document_order) {
  auto d = doc(R"({"name":{"name":1,"x":[{"name":2}]},"y":{"name":3},"z":[{"q":{"name":4}}]})");
  BOOST_TEST(select("$..name", d.root) == (strings{R"({"name":1,"x":[{"name":2}]})", "1", "2", "3", "4"}));
  BOOST_TEST(select("$..['name']", d.root).size() == 5u);
  BOOST_TEST(select("$.y..name", d.root) == strings{"3"});
  BOOST_TEST(select("$..nope", d.root).empty());
  BOOST_TEST(select("$..q.name", d.root) == strings{"4"});
}

BOOST_AUTO_TEST_CASE(recursive_descent_multiple_names) {
  auto d = doc(R"({"a":1,"o":{"b":2,"a":3}})");
  BOOST_TEST(select("$..['b','a']", d.root) == (strings{"1", "2", "3"}));
  BOOST_TEST(select("$..['a','a']", d.root) == (strings{"1", "1", "3", "3"}));
}

BOOST_AUTO_TEST_CASE(recursive_wildcard_includes_the_token_itself) {
  auto d = doc(R"({"a":[1,{"b":2}],"c":3})");
  BOOST_TEST(select("$..*", d.root) ==
             (strings{R"({"a":[1,{"b":2}],"c":3})", R"([1,{"b":2}])", "1", R"({"b":2})", "2", "3"}));
  BOOST_TEST(select("$.c..*", d.root) == strings{"3"});
}

BOOST_AUTO_TEST_CASE(recursive_descent_before_an_index_does_not_scan) {
  // Newtonsoft drops the scan flag for array indexers: `..[0]` is `[0]`, `..[*]` is `[*]`.
  auto d = doc(R"({"a":[[1,2],[3]]})");
  BOOST_TEST(select("$.a..[0]", d.root) == strings{"[1,2]"});
  BOOST_TEST(select("$.a..[*]", d.root) == (strings{"[1,2]", "[3]"}));
  BOOST_TEST(select("$..[0]", d.root).empty());
}

BOOST_AUTO_TEST_CASE(deep_documents_do_not_exhaust_the_stack) {
  // 100k nested arrays built by hand (readers cap depth; the evaluator must not rely on it).
  json::arena a;
  json::value v = json::value::integer(1);
  for (int i = 0; i < 100'000; ++i) v = a.array({&v, 1});
  json::value obj_member = v;
  json::member m{"k", obj_member};
  json::value root = a.object({&m, 1});
  auto p = compiled("$..*");
  std::vector<const json::value*> out;
  BOOST_REQUIRE(p.select(root, out));
  BOOST_TEST(out.size() == 100'002u);
  out.clear();
  BOOST_REQUIRE(compiled("$..[?(@ == 1)]").select(root, out));
  BOOST_TEST(out.size() == 1u);
}

BOOST_AUTO_TEST_CASE(select_single_is_newtonsoft_select_token) {
  auto d = doc(R"({"a":[1,2],"b":3})");
  auto one = compiled("$.b").select_single(d.root);
  BOOST_REQUIRE(one);
  BOOST_TEST(json::to_string(**one) == "3");
  auto none = compiled("$.c").select_single(d.root);
  BOOST_REQUIRE(none);
  BOOST_TEST(*none == nullptr);
  auto many = compiled("$.a[*]").select_single(d.root);
  BOOST_REQUIRE(!many);
  BOOST_TEST(many.error().message == "Path returned multiple tokens.");
  BOOST_TEST(many.error().type == "JsonException");
  // The error is raised at the second match, before later failures.
  auto early = compiled("$.a[0,1,-1]").select_single(d.root);
  BOOST_REQUIRE(!early);
  BOOST_TEST(early.error().message == "Path returned multiple tokens.");
}

BOOST_AUTO_TEST_CASE(select_is_thread_safe) {
  auto d = doc(R"({"items":[{"v":1},{"v":2},{"w":{"v":3}}]})");
  auto p = compiled("$..[?(@.v >= 2)].v");
  auto work = [&](int& ok) {
    std::vector<const json::value*> out;
    for (int i = 0; i < 2000; ++i) {
      out.clear();
      if (p.select(d.root, out) && out.size() == 2) ++ok;
    }
  };
  int ok1 = 0, ok2 = 0;
  std::thread t1(work, std::ref(ok1)), t2(work, std::ref(ok2));
  t1.join();
  t2.join();
  BOOST_TEST(ok1 == 2000);
  BOOST_TEST(ok2 == 2000);
}

BOOST_AUTO_TEST_SUITE_END()
