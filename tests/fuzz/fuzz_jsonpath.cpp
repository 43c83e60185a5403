// libFuzzer target for JSONPath (iomt-spec §3.8): any expression text must compile to a path or an
// error value, and a compiled path must select from a fixed document without crashing, throwing,
// hanging or recursing without bound (step count, filter nesting and document walks are bounded).
#include "mapping/json/reader.hpp"
#include "mapping/jsonpath/path.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

const iomt::json::document& fixed_document() {
  static const iomt::json::document doc = [] {
    auto d = iomt::json::parse(R"({
      "Body": {"heartRate": 78, "hr": "80", "endDate": "2021-07-07T17:00:00Z", "heart rate": 1.5,
               "telemetry": {"values": [{"value": 1}, {"value": 2.5}, {"value": "x"}]},
               "child": {"heartRate": 79, "flag": true, "tags": ["a", "/b/i", null]}},
      "Properties": {"iothub-creation-time-utc": "2021-07-07T17:00:00.1234567+02:00"},
      "SystemProperties": {"iothub-connection-device-id": "dev-1"},
      "matchedToken": {"endDate": "2021-07-07", "n": null},
      "data": [{"type": "hr", "value": 11, "readings": [{"v": null}, {"v": 1.5}]},
               {"type": "bp", "value": 9223372036854775807, "flag": false},
               [1, [2, [3, []]]], 123456789012345678901234567890, -0.0, "", {}],
      "a": [{"b": "xyz"}, {"b": "Xa"}, {"b": 5}],
      "$": 1, "@": {"x": 2}, "*": 3
    })");
    if (!d) std::abort();
    return std::move(*d);
  }();
  return doc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = iomt::jsonpath::path::compile(text);
  if (!compiled) {
    if (compiled.error().message.empty() || compiled.error().position > size) std::abort();
    return 0;
  }
  if (compiled->text() != text) std::abort();
  const auto& doc = fixed_document();
  std::vector<const iomt::json::value*> out;
  auto r = compiled->select(doc.root, out);
  if (!r && r.error().message.empty()) std::abort();
  // Every result points at a value of the document.
  for (const iomt::json::value* v : out)
    if (v == nullptr) std::abort();
  // Compiled once, selected many: the same outcome again, and SelectToken agrees with SelectTokens.
  std::vector<const iomt::json::value*> again;
  auto r2 = compiled->select(doc.root, again);
  if (r.has_value() != r2.has_value() || out != again) std::abort();
  auto single = compiled->select_single(doc.root);
  if (r && out.size() <= 1) {
    if (!single || *single != (out.empty() ? nullptr : out[0])) std::abort();
  }
  if (r && out.size() > 1 && single) std::abort();
  return 0;
}
