// Helpers of the jmespath suites: evaluate an expression against a JSON text.
#pragma once

#include "mapping/jmespath/expression.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace iomt::jmespath::test {

// One evaluation: keeps the input document, the output arena and the expression alive.
struct evaluation {
  json::document input;
  std::unique_ptr<json::arena> out = std::make_unique<json::arena>();
  boost::system::result<expression, error> compiled = error{error_kind::syntax, "not compiled"};
  boost::system::result<search_result, error> result = error{error_kind::syntax, "not run"};

  bool ok() const { return compiled && result; }
  const json::value& value() const { return result->value; }
  // Compact JSON of the result (dates as ISO strings), or "<kind>: message".
  std::string text() const {
    if (!compiled) return std::string("<") + to_string(compiled.error().kind) + ">: " + compiled.error().message;
    if (!result) return std::string("<") + to_string(result.error().kind) + ">: " + result.error().message;
    return json::to_string(result->value);
  }
  error_kind error_kind_() const { return !compiled ? compiled.error().kind : result.error().kind; }
  std::string message() const { return !compiled ? compiled.error().message : result.error().message; }
};

// `given` is read like a message Body (Newtonsoft reader, ISO strings become Date tokens).
inline evaluation eval(std::string_view expr, std::string_view given = "{}") {
  evaluation e;
  auto doc = json::parse(given);
  BOOST_REQUIRE_MESSAGE(doc, "bad test JSON: " << given);
  e.input = std::move(*doc);
  e.compiled = expression::compile(expr);
  if (e.compiled) e.result = e.compiled->search(e.input.root, *e.out);
  return e;
}

}  // namespace iomt::jmespath::test
