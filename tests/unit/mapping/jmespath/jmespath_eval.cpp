// Line-oriented evaluator for the differential test against python3-jmespath
// (differential_test.py): each stdin line is {"expression": "...", "given": <json>}; each stdout
// line is {"result": <json>} or {"error": "<kind>"}. The documents are read without date sniffing
// (Python has no Date type).
#include "mapping/jmespath/expression.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"

#include <iostream>
#include <string>

namespace jp = iomt::jmespath;
namespace json = iomt::json;

int main() {
  std::ios::sync_with_stdio(false);
  json::read_options opt;
  opt.sniff_dates = false;
  json::body_reader reader;
  std::string line, out;
  while (std::getline(std::cin, line)) {
    json::arena in;
    json::arena results;
    out.clear();
    auto request = reader.read(line, in, opt);
    const json::value* expr = request ? request->find("expression") : nullptr;
    const json::value* given = request ? request->find("given") : nullptr;
    if (!expr || !given || !expr->is_string()) {
      std::cout << "{\"error\":\"bad-request\"}\n";
      continue;
    }
    auto compiled = jp::expression::compile(expr->as_string());
    if (!compiled) {
      std::cout << "{\"error\":\"" << jp::to_string(compiled.error().kind) << "\"}\n";
      continue;
    }
    auto r = compiled->search(*given, results);
    if (!r) {
      std::cout << "{\"error\":\"" << jp::to_string(r.error().kind) << "\"}\n";
      continue;
    }
    out = "{\"result\":";
    json::write(r->value, out);
    out += "}\n";
    std::cout << out;
  }
  return 0;
}
