// Reader behaviour (iomt-spec §2): strict fast path vs lenient fallback, Newtonsoft leniencies,
// duplicate keys, numbers, strings, depth limit, robustness on garbage.
#include "mapping/json/reader.hpp"
#include "mapping/json/lenient_reader.hpp"
#include "mapping/json/writer.hpp"

#include "test_support.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <random>

using namespace iomt::json;

namespace {

// Same token kinds and values (floats bit for bit, member order significant).
bool identical(const value& a, const value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case kind::null:
      return true;
    case kind::boolean:
      return a.as_bool() == b.as_bool();
    case kind::integer:
      return a.as_integer() == b.as_integer();
    case kind::floating: {
      double x = a.as_floating(), y = b.as_floating();
      return std::memcmp(&x, &y, sizeof x) == 0 || (std::isnan(x) && std::isnan(y));
    }
    case kind::string:
    case kind::big_integer:
      return a.as_string() == b.as_string();
    case kind::date:
      return a.as_date() == b.as_date();
    case kind::array: {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!identical(a.as_array()[i], b.as_array()[i])) return false;
      return true;
    }
    case kind::object: {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (a.as_object()[i].key != b.as_object()[i].key || !identical(a.as_object()[i].val, b.as_object()[i].val))
          return false;
      return true;
    }
  }
  return false;
}

value read_body(std::string_view text, arena& a, bool sniff = true) {
  static body_reader reader;
  read_options opt;
  opt.sniff_dates = sniff;
  auto r = reader.read(text, a, opt);
  BOOST_REQUIRE_MESSAGE(r.has_value(),
                        "parse failed: " << std::string(text) << " : " << (r.has_error() ? r.error().message : ""));
  return *r;
}

std::string lenient_error(std::string_view text) {
  arena a;
  auto r = parse_lenient(text, a);
  BOOST_REQUIRE_MESSAGE(r.has_error(), "expected an error for: " << std::string(text));
  return r.error().message;
}

std::string compact(std::string_view text) {
  arena a;
  return to_string(read_body(text, a));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reader)

BOOST_AUTO_TEST_CASE(strict_and_lenient_agree_on_plain_json) {
  const char* docs[] = {
      R"({"a":1,"b":[true,false,null,"x",1.5,-0.25,1e3,-7,0]})",
      R"([1, 2.0, "2020-10-22T01:34:56Z", "plain", {"nested": {"deep": [[], {}]}}])",
      R"("just a string")",
      R"(12345)",
      R"(-0)",
      R"(1.7976931348623157e308)",
      R"(5e-324)",
      R"(9223372036854775807)",
      R"(-9223372036854775808)",
      R"(9223372036854775808)",
      R"(18446744073709551615)",
      R"({"k":"\u00e9\n\t\"\\\/ \ud83d\ude00","dup":1,"x":2,"dup":3})",
      R"({"d1":"2019-02-01T22:46:01.875Z","d2":"2020-10-22T01:34:56+02:00","d3":"/Date(1234567890000)/","s":"2020-10-22"})",
      "  \r\n {\"a\" : [ 1 , 2 ] }  ",
      "\xEF\xBB\xBF{\"bom\":true}",
      R"({"unicode":"日本語 ✓"})",
  };
  for (const char* text : docs) {
    for (bool sniff : {true, false}) {
      arena a1, a2;
      value strict = read_body(text, a1, sniff);
      read_options opt;
      opt.sniff_dates = sniff;
      auto lenient = parse_lenient(text, a2, opt);
      BOOST_REQUIRE_MESSAGE(lenient.has_value(), text);
      BOOST_TEST(identical(strict, *lenient),
                 text << " strict=" << to_string(strict) << " lenient=" << to_string(*lenient));
    }
  }
}

BOOST_AUTO_TEST_CASE(number_kinds) {
  arena a;
  value v =
      read_body(R"([1, 1.0, 1e2, 20.0, 9223372036854775808, -9223372036854775809, 123456789012345678901234567890])", a);
  auto items = v.as_array();
  BOOST_TEST(items[0].is_integer());
  BOOST_TEST(items[1].is_floating());
  BOOST_TEST(items[2].is_floating());
  BOOST_TEST(items[2].as_floating() == 100.0);
  BOOST_TEST(items[3].is_floating());
  BOOST_TEST((items[4].type() == kind::big_integer));
  BOOST_TEST(items[4].as_string() == "9223372036854775808");
  BOOST_TEST((items[5].type() == kind::big_integer));
  BOOST_TEST(items[5].as_string() == "-9223372036854775809");
  BOOST_TEST(items[6].as_string() == "123456789012345678901234567890");
  // -0 is the integer 0 (Int64 parse), -0.0 a negative zero double.
  value z = read_body("[-0, -0.0]", a);
  BOOST_TEST(z.as_array()[0].is_integer());
  BOOST_TEST(z.as_array()[1].is_floating());
  BOOST_TEST(std::signbit(z.as_array()[1].as_floating()));
}

BOOST_AUTO_TEST_CASE(newtonsoft_number_forms) {
  arena a;
  value v = read_body("[.5, 1., 0x1F, 017, 0xFFFFFFFFFFFFFFFF, 1e400, -1e400, 1e-400]", a);
  auto items = v.as_array();
  BOOST_TEST(items[0].as_floating() == 0.5);
  BOOST_TEST(items[1].as_floating() == 1.0);
  BOOST_TEST(items[2].as_integer() == 31);
  BOOST_TEST(items[3].as_integer() == 15);
  BOOST_TEST(items[4].as_integer() == -1);
  BOOST_TEST(std::isinf(items[5].as_floating()));
  BOOST_TEST(items[5].as_floating() > 0);
  BOOST_TEST(items[6].as_floating() < 0);
  BOOST_TEST(items[7].as_floating() == 0.0);
}

BOOST_AUTO_TEST_CASE(invalid_numbers) {
  BOOST_TEST(lenient_error("[08]").find("Input string '08' is not a valid number.") != std::string::npos);
  BOOST_TEST(lenient_error("[1x]").find("is not a valid number") != std::string::npos);
  BOOST_TEST(lenient_error("[1e]").find("is not a valid number") != std::string::npos);
  BOOST_TEST(lenient_error("[-]").find("is not a valid number") != std::string::npos);
  BOOST_TEST(lenient_error("[1.2.3]").find("is not a valid number") != std::string::npos);
  BOOST_TEST(lenient_error("[12a3g]").find("Unexpected character encountered while parsing number: g") !=
             std::string::npos);
  BOOST_TEST(lenient_error("[0x]").find("not a valid number") != std::string::npos);
  BOOST_TEST(lenient_error("[0x1FFFFFFFFFFFFFFFF]").find("not a valid number") != std::string::npos);
  std::string huge(400, '9');
  BOOST_TEST(lenient_error("[" + huge + "]").find("is too large to parse") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(leniencies) {
  BOOST_TEST(compact("{\"a\":1, // line comment\n \"b\":2 /* block */}") == R"({"a":1,"b":2})");
  BOOST_TEST(compact("/* leading */ [1, /* inside */ 2] // trailing") == "[1,2]");
  BOOST_TEST(compact(R"({"a":1,})") == R"({"a":1})");
  BOOST_TEST(compact(R"([1,2,])") == "[1,2]");
  BOOST_TEST(compact(R"({'single':'quoted \' "inner"'})") == R"({"single":"quoted ' \"inner\""})");
  BOOST_TEST(compact(R"({unquoted_name1: 1, $dollar : 2})") == R"({"unquoted_name1":1,"$dollar":2})");
  BOOST_TEST(compact(R"([NaN, Infinity, -Infinity, undefined, null])") ==
             R"(["NaN","Infinity","-Infinity",null,null])");
  BOOST_TEST(compact(R"([1,,2])") == "[1,null,2]");
  BOOST_TEST(compact(R"([,])") == "[null]");
  BOOST_TEST(compact(R"({"a":,"b":1})") == R"({"a":null,"b":1})");
  BOOST_TEST(compact(R"({"a":1} trailing garbage {)") == R"({"a":1})");
  BOOST_TEST(compact(R"("str"xyz)") == R"("str")");
  BOOST_TEST(compact(R"([1] ])") == "[1]");
  BOOST_TEST(compact("true false") == "true");
  BOOST_TEST(compact("\"raw\ttab\nnewline\"") == R"("raw\ttab\nnewline")");
  BOOST_TEST(compact(std::string("{\"a\"\0:1}", 9)) == R"({"a":1})");
  std::string with_nul("[1,\0 2]", 7);
  BOOST_TEST(compact(with_nul) == "[1,2]");
  BOOST_TEST(compact("{\"nbsp\":\xC2\xA0 1\xE3\x80\x80}") == R"({"nbsp":1})");
  BOOST_TEST(compact(R"({"a":1,"a":2,"b":3,"a":4})") == R"({"a":4,"b":3})");
}

BOOST_AUTO_TEST_CASE(duplicate_keys_many) {
  // Beyond the linear-search threshold the hash index must give the same result.
  std::string text = "{";
  for (int i = 0; i < 100; ++i) text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  for (int i = 0; i < 100; i += 7) text += "\"k" + std::to_string(i) + "\":\"r" + std::to_string(i) + "\",";
  text.back() = '}';
  for (bool lenient_only : {false, true}) {
    arena a;
    value v;
    if (lenient_only) {
      std::string t = text + " // comment forces the lenient path";
      v = read_body(t, a);
    } else {
      v = read_body(text, a);
    }
    BOOST_REQUIRE_EQUAL(v.size(), 100u);
    BOOST_TEST(v.as_object()[7].key == "k7");
    BOOST_TEST(v.as_object()[7].val.as_string() == "r7");
    BOOST_TEST(v.as_object()[8].val.as_integer() == 8);
  }
}

BOOST_AUTO_TEST_CASE(empty_and_whitespace) {
  arena a;
  BOOST_TEST(read_body("", a).is_null());
  BOOST_TEST(read_body("\xEF\xBB\xBF", a).is_null());
  body_reader r;
  BOOST_TEST(r.read("   ", a).has_error());
  BOOST_TEST(r.read("\n\t", a).has_error());
  BOOST_TEST(r.read("// only a comment", a).has_error());
  BOOST_TEST(lenient_error("  ").find("Error reading JToken from JsonReader.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(strings_and_escapes) {
  arena a;
  BOOST_TEST(read_body(R"("\ud83d\ude00")", a).as_string() == "\xF0\x9F\x98\x80");
  BOOST_TEST(read_body(R"("\ud83d")", a).as_string() == "\xEF\xBF\xBD");
  BOOST_TEST(read_body(R"("\ude00x")", a).as_string() == "\xEF\xBF\xBDx");
  BOOST_TEST(read_body(R"("\ud83d\ud83d\ude00")", a).as_string() == "\xEF\xBF\xBD\xF0\x9F\x98\x80");
  BOOST_TEST(read_body(R"("\ud83dA")", a).as_string() ==
             "\xEF\xBF\xBD"
             "A");
  BOOST_TEST(read_body(R"("\ud83d\u0041")", a).as_string() ==
             "\xEF\xBF\xBD"
             "A");
  BOOST_TEST(read_body(R"("\u0000")", a).as_string() == std::string_view("\0", 1));
  // Invalid UTF-8 inside a string becomes U+FFFD (one per maximal ill-formed subpart).
  BOOST_TEST(read_body("\"a\xFF"
                       "b\"",
                       a)
                 .as_string() ==
             "a\xEF\xBF\xBD"
             "b");
  BOOST_TEST(read_body("\"\xE2\x82\"", a).as_string() == "\xEF\xBF\xBD");
  BOOST_TEST(read_body("\"\xC0\xAF\"", a).as_string() == "\xEF\xBF\xBD\xEF\xBF\xBD");
  BOOST_TEST(lenient_error(R"("bad \x escape")").find("Bad JSON escape sequence: \\x.") != std::string::npos);
  BOOST_TEST(lenient_error(R"("\u12")").find("Unexpected end while parsing unicode character") != std::string::npos);
  BOOST_TEST(lenient_error(R"("\uZZZZ")").find("Invalid Unicode escape") != std::string::npos);
  BOOST_TEST(lenient_error(R"("unterminated)").find("Unterminated string. Expected delimiter: \".") !=
             std::string::npos);
  BOOST_TEST(lenient_error(R"(['unterminated)").find("Expected delimiter: '.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(error_messages) {
  std::string e = lenient_error("{\n  \"a\": {\n    \"b\": x\n  }\n}");
  BOOST_TEST(e == "Unexpected character encountered while parsing value: x. Path 'a.b', line 3, position 9.");
  BOOST_TEST(lenient_error("[1 2]").find("After parsing a value an unexpected character was encountered: 2.") == 0u);
  BOOST_TEST(lenient_error("[1}").find("JsonToken EndObject is not valid for closing JsonType Array.") == 0u);
  BOOST_TEST(lenient_error("{\"a\":1]").find("JsonToken EndArray is not valid for closing JsonType Object.") == 0u);
  BOOST_TEST(
      lenient_error("{\"a\" 1}").find("Invalid character after parsing property name. Expected ':' but got: 1.") == 0u);
  BOOST_TEST(lenient_error("{,}").find("Invalid property identifier character: ,.") == 0u);
  BOOST_TEST(lenient_error("{a-b:1}").find("Invalid JavaScript property identifier character: -.") == 0u);
  BOOST_TEST(lenient_error("[tru]").find("Error parsing boolean value.") == 0u);
  BOOST_TEST(lenient_error("[truex]").find("Error parsing boolean value.") == 0u);
  BOOST_TEST(lenient_error("[nul").find("Unexpected end") == 0u);
  BOOST_TEST(lenient_error("[1,2").find("Unexpected end") == 0u);
  BOOST_TEST(lenient_error("{\"a\":1").find("Unexpected end") == 0u);
  BOOST_TEST(lenient_error("[1 /x]").find("Error parsing comment. Expected: *, got x.") == 0u);
  BOOST_TEST(lenient_error("[1 /* open").find("Unexpected end while parsing comment.") == 0u);
  BOOST_TEST(lenient_error("]").find("Unexpected character encountered while parsing value: ]") == 0u);
  BOOST_TEST(lenient_error("{\"a b\":[0,{\"c\":?}]}").find("Path '['a b'][1].c'") != std::string::npos);
  arena a;
  auto r = parse_lenient("[\n  1,\n  @]", a);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().pos.line == 3u);
  BOOST_TEST(r.error().pos.column == 2u);
}

BOOST_AUTO_TEST_CASE(depth_limit) {
  // Newtonsoft MaxDepth 64: 64 nested containers read, the 65th fails.
  auto nested_arrays = [](int n) {
    return std::string(static_cast<std::size_t>(n), '[') + std::string(static_cast<std::size_t>(n), ']');
  };
  auto nested_objects = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "{\"a\":";
    s += "1";
    for (int i = 0; i < n; ++i) s += "}";
    return s;
  };
  arena a;
  body_reader r;
  BOOST_TEST(r.read(nested_arrays(64), a).has_value());
  auto deep = r.read(nested_arrays(65), a);
  BOOST_REQUIRE(deep.has_error());
  BOOST_TEST(deep.error().message.find("The reader's MaxDepth of 64 has been exceeded.") == 0u);
  BOOST_TEST(r.read(nested_objects(64), a).has_value());
  BOOST_TEST(r.read(nested_objects(65), a).has_error());
  BOOST_TEST(r.read("[{\"a\":" + nested_arrays(62) + "}]", a).has_value());
  BOOST_TEST(r.read("[{\"a\":" + nested_arrays(63) + "}]", a).has_error());
  BOOST_TEST(parse_lenient(nested_arrays(64), a).has_value());
  BOOST_TEST(parse_lenient(nested_arrays(65), a).has_error());
  // Far deeper input must fail cleanly, not overflow the stack.
  BOOST_TEST(r.read(nested_arrays(100000), a).has_error());
  BOOST_TEST(r.read(std::string(100000, '['), a).has_error());
  BOOST_TEST(parse_located(std::string(100000, '{')).has_error());
}

BOOST_AUTO_TEST_CASE(strict_mode_option) {
  arena a;
  body_reader r;
  read_options strict;
  strict.lenient = false;
  BOOST_TEST(r.read("[1,]", a, strict).has_error());
  BOOST_TEST(r.read("[1]", a, strict).has_value());
}

BOOST_AUTO_TEST_CASE(date_sniffing_in_bodies) {
  arena a;
  value v = read_body(
      R"({"t":"2020-10-22T01:34:56+00:00","k":"2020-10-22T01:34:56Z","s":"2020-10-22","sp":"2020-10-22 01:34:56","q":'2020-10-22T01:34:56Z'})",
      a);
  BOOST_TEST(v.find("t")->is_date());
  BOOST_TEST((v.find("t")->as_date().zone == date_kind::local));
  BOOST_TEST(v.find("k")->is_date());
  BOOST_TEST((v.find("k")->as_date().zone == date_kind::utc));
  BOOST_TEST(v.find("s")->is_string());
  BOOST_TEST(v.find("sp")->is_string());
  BOOST_TEST(v.find("q")->is_date());
  // Keys are never sniffed; sniffing off keeps strings.
  value k = read_body(R"({"2020-10-22T01:34:56Z":1})", a);
  BOOST_TEST(k.as_object()[0].key == "2020-10-22T01:34:56Z");
  value off = read_body(R"(["2020-10-22T01:34:56Z"])", a, false);
  BOOST_TEST(off.as_array()[0].is_string());
}

BOOST_AUTO_TEST_CASE(workshop_sample_messages) {
  auto dir = iomt::test::shared_dir() /
             "vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData";
  for (const char* name : {"Three-Sample-Message-Types.json", "Three-Sample-Message-Types-with-labels.json"}) {
    std::string text = iomt::test::read_file(dir / name);
    // Split at the "=== NAME ===" header lines.
    std::vector<std::string> docs;
    std::string cur;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      if (line.find("===") != std::string::npos) {
        if (cur.find_first_not_of(" \r\n\t") != std::string::npos) docs.push_back(cur);
        cur.clear();
      } else {
        cur += line + "\n";
      }
      start = end + 1;
    }
    if (cur.find_first_not_of(" \r\n\t") != std::string::npos) docs.push_back(cur);
    BOOST_REQUIRE_EQUAL(docs.size(), 3u);
    arena a;
    value vitals = read_body(docs[0], a);
    const value* data = vitals.find("data");
    BOOST_REQUIRE(data && data->is_array());
    const value& first = data->as_array()[0];
    BOOST_TEST(first.find("hr")->as_integer() == 80);
    BOOST_TEST(first.find("bloodperfusion")->as_floating() == 1.1399999856948853);
    BOOST_TEST(first.find("bodytemp")->as_integer() == 33);
    BOOST_TEST(first.find("utctimestamp")->is_date());
    BOOST_TEST(read_body(docs[1], a).find("type")->as_string() == "BP");
    BOOST_TEST(read_body(docs[2], a).find("data")->as_array()[0].find("weight")->as_string() == "150");
  }
}

BOOST_AUTO_TEST_CASE(parse_convenience) {
  auto d = parse(R"({"a":[1,"x"]})");
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(to_string(d->root) == R"({"a":[1,"x"]})");
  BOOST_TEST(parse("{").has_error());
}

BOOST_AUTO_TEST_CASE(random_garbage_never_crashes) {
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\"':,/*\\ \n\r\t0123456789-+.eExabcnultrfsINaNyu\x00\xC2\xA0\xFF\xE2\x80\xA8";
  body_reader reader;
  for (int iter = 0; iter < 20000; ++iter) {
    std::size_t len = rng() % 64;
    std::string s;
    for (std::size_t i = 0; i < len; ++i) {
      if (rng() % 4 == 0)
        s.push_back(static_cast<char>(rng() % 256));
      else
        s.push_back(alphabet[rng() % alphabet.size()]);
    }
    arena a;
    auto r1 = reader.read(s, a);
    auto r2 = parse_lenient(s, a);
    auto r3 = parse_located(s);
    if (r1.has_value()) (void)to_string(*r1);
    // The strict path never accepts what the lenient reader rejects.
    if (r2.has_error()) {
      BOOST_TEST(r1.has_error());
    }
    BOOST_TEST(r2.has_value() == r3.has_value());
  }
  // Mutations of a valid document.
  std::string base = R"({"a":[1,2.5,"x",{"b":null,"c":true}],"d":"2020-10-22T01:34:56Z", // c
  'e': NaN, f: [,]})";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          s.erase(at, 1);
          break;
        default:
          s.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
      if (s.empty()) s = "x";
    }
    arena a;
    (void)reader.read(s, a);
    (void)parse_located(s);
  }
}

BOOST_AUTO_TEST_SUITE_END()
