// Helpers for the JSONPath suites: parse a document, run a path, render results as compact JSON.
#pragma once

#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"
#include "mapping/jsonpath/path.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace iomt::jsonpath::test {

inline json::document doc(std::string_view text) {
  auto d = json::parse(text);
  BOOST_REQUIRE_MESSAGE(d, "test document does not parse: " << (d ? "" : d.error().message));
  return std::move(*d);
}

inline path compiled(std::string_view expr) {
  auto p = path::compile(expr);
  BOOST_REQUIRE_MESSAGE(p, "'" << expr << "' does not compile: " << (p ? "" : p.error().describe()));
  return std::move(*p);
}

// Compact JSON of every match.
inline std::vector<std::string> select(std::string_view expr, const json::value& root) {
  path p = compiled(expr);
  std::vector<const json::value*> out;
  auto r = p.select(root, out);
  BOOST_REQUIRE_MESSAGE(r, "'" << expr << "' fails: " << (r ? "" : r.error().type + ": " + r.error().message));
  std::vector<std::string> text;
  for (const json::value* v : out) text.push_back(json::to_string(*v));
  return text;
}

inline std::vector<std::string> select(std::string_view expr, std::string_view document) {
  json::document d = doc(document);
  return select(expr, d.root);
}

inline error compile_error(std::string_view expr) {
  auto p = path::compile(expr);
  BOOST_REQUIRE_MESSAGE(!p, "'" << expr << "' should not compile");
  return p.error();
}

inline error select_error(std::string_view expr, std::string_view document) {
  json::document d = doc(document);
  path p = compiled(expr);
  std::vector<const json::value*> out;
  auto r = p.select(d.root, out);
  BOOST_REQUIRE_MESSAGE(!r, "'" << expr << "' should fail at evaluation");
  return r.error();
}

using strings = std::vector<std::string>;

}  // namespace iomt::jsonpath::test
