// libFuzzer target for JMESPath (iomt-spec §3.9): any expression text must compile to a program or
// an error value, and a compiled program must search a fixed document without crashing, throwing,
// hanging or recursing without bound (parser and evaluator depth are capped).
#include "mapping/jmespath/expression.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

const iomt::json::document& fixed_document() {
  static const iomt::json::document doc = [] {
    auto d = iomt::json::parse(R"({
      "Body": [
        {"heartRate": 78, "systolic": 120.5, "deviceId": "dev-1", "time": "2021-07-07T17:00:00Z",
         "tags": ["a", "b", null], "nested": {"x": [1, [2, [3, []]]], "y": {"z": true}}},
        {"heartRate": "80", "ts": 1625677200, "ms": 1626799080000, "text": "myString", "empty": ""},
        [1, 2.5, -3, 9223372036854775807, 123456789012345678901234567890],
        null, false, "str"
      ],
      "Properties": {"k": "v", "n": 0},
      "SystemProperties": {"iothub-connection-device-id": "dev-1"},
      "matchedToken": {"a": {"b": {"c": [{"d": 1}, {"d": 2}]}}}
    })");
    if (!d) std::abort();
    return std::move(*d);
  }();
  return doc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = iomt::jmespath::expression::compile(text);
  if (!compiled) {
    if (compiled.error().message.empty()) std::abort();
    return 0;
  }
  const auto& doc = fixed_document();
  iomt::json::arena out;
  auto r = compiled->search(doc.root, out);
  if (r) {
    if (r->projection && !r->value.is_array()) std::abort();
    (void)iomt::json::to_string(r->value);
  }
  // A second search of the same program must give the same outcome (compiled once, searched many).
  iomt::json::arena out2;
  auto r2 = compiled->search(doc.root, out2);
  if (r.has_value() != r2.has_value()) std::abort();
  return 0;
}
