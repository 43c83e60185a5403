// parse_located: Newtonsoft LineNumber/LinePosition of every value and key (iomt-spec §3.1).
#include "mapping/json/reader.hpp"

#include "test_support.hpp"

#include <boost/test/unit_test.hpp>

using namespace iomt::json;

namespace {
bool at(source_pos p, std::uint32_t line, std::uint32_t column) { return p.line == line && p.column == column; }
}  // namespace

BOOST_AUTO_TEST_SUITE(located)

BOOST_AUTO_TEST_CASE(collection_template_positions) {
  auto r = parse_located(iomt::test::template_input("data_CollectionContentTemplateInvalid.json"));
  BOOST_REQUIRE(r.has_value());
  const located_document& ld = *r;
  const value& root = ld.doc.root;
  BOOST_TEST(at(ld.pos_of(&root), 1, 1));

  const member& type = root.as_object()[0];
  BOOST_TEST(at(ld.pos_of(&type), 2, 17));      // the ':' after "templateType"
  BOOST_TEST(at(ld.pos_of(&type.val), 2, 37));  // the closing quote of "CollectionContent"

  const member& list = root.as_object()[1];
  BOOST_TEST(at(ld.pos_of(&list), 3, 13));
  BOOST_TEST(at(ld.pos_of(&list.val), 3, 15));  // '['

  const value& first = list.val.as_array()[0];
  BOOST_TEST(at(ld.pos_of(&first), 4, 5));     // '{'
  const member& inner = first.as_object()[1];  // line 6: `      "template": {`
  BOOST_TEST(inner.key == "template");
  BOOST_TEST(at(ld.pos_of(&inner), 6, 17));
  BOOST_TEST(at(ld.pos_of(&inner.val), 6, 19));

  const value* values = inner.val.find("values");
  BOOST_REQUIRE(values);
  const value& v0 = values->as_array()[0];
  BOOST_TEST(at(ld.pos_of(&v0), 10, 11));
  BOOST_TEST(at(ld.pos_of(v0.find("required")), 11, 30));
  // Unknown addresses have no position.
  value other;
  BOOST_TEST(at(ld.pos_of(&other), 0, 0));
}

BOOST_AUTO_TEST_CASE(scalars_line_breaks_and_utf16_columns) {
  auto r = parse_located("{\r\n\"a\": 12,\r\"b\" :true,\n\"\xF0\x9F\x98\x80\xC3\xA9\": [null, 1.5e3]\n}");
  BOOST_REQUIRE(r.has_value());
  const value& root = r->doc.root;
  const auto& m = root.as_object();
  BOOST_TEST(at(r->pos_of(&m[0]), 2, 4));
  BOOST_TEST(at(r->pos_of(&m[0].val), 2, 7));  // last digit of 12
  BOOST_TEST(at(r->pos_of(&m[1]), 3, 5));      // lone \r breaks the line
  BOOST_TEST(at(r->pos_of(&m[1].val), 3, 9));
  // The emoji counts as 2 UTF-16 units, é as 1: "😀é" is 5 units with its quotes.
  BOOST_TEST(at(r->pos_of(&m[2]), 4, 6));
  BOOST_TEST(at(r->pos_of(&m[2].val.as_array()[0]), 4, 12));
  BOOST_TEST(at(r->pos_of(&m[2].val.as_array()[1]), 4, 19));
}

BOOST_AUTO_TEST_CASE(duplicate_key_takes_the_last_position) {
  auto r = parse_located("{\"a\":1,\n\"a\":2}");
  BOOST_REQUIRE(r.has_value());
  const member& m = r->doc.root.as_object()[0];
  BOOST_TEST(m.val.as_integer() == 2);
  BOOST_TEST(at(r->pos_of(&m), 2, 4));
  BOOST_TEST(at(r->pos_of(&m.val), 2, 5));
}

BOOST_AUTO_TEST_CASE(no_date_sniffing_and_errors_have_positions) {
  auto r = parse_located(R"({"t":"2020-10-22T01:34:56Z"})");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->doc.root.find("t")->is_string());
  auto e = parse_located("{\n  \"a\": [1,\n  }");
  BOOST_REQUIRE(e.has_error());
  BOOST_TEST(e.error().pos.line == 3u);
  BOOST_TEST(e.error().message.find("line 3") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(all_template_inputs_parse) {
  auto dir =
      iomt::test::shared_dir() / "vectors/iomt-fhir/test/Microsoft.Health.Fhir.Ingest.Template.UnitTests/TestInput";
  int count = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() != ".json") continue;
    std::string text = iomt::test::read_file(f.path());
    auto r = parse_located(text);
    // Every upstream template input is valid (lenient) JSON.
    BOOST_TEST(r.has_value(), f.path().filename() << ": " << (r.has_error() ? r.error().message : ""));
    ++count;
  }
  BOOST_TEST(count > 10);
}

BOOST_AUTO_TEST_SUITE_END()
