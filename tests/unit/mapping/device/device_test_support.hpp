// Helpers of the device mapping suites: load a mapping, normalize a JSON token, read the
// upstream TestInput files in place.
#pragma once

#include "mapping/device/device_mapping.hpp"
#include "mapping/json/dotnet.hpp"
#include "mapping/json/reader.hpp"
#include "test_support.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

namespace iomt::test::device {

namespace dm = iomt::mapping::device;

// A file of the upstream validation unit tests' TestInput folder.
inline std::string validation_input(const std::string& name) {
  return read_file(shared_dir() / "vectors/iomt-fhir/test/Microsoft.Health.Fhir.Ingest.Validation.UnitTests/TestInput" /
                   name);
}

// A single {templateType, template} container file as a one-element collection. The prefix stays
// on line 1 so the container's line numbers are unchanged.
inline std::string as_collection(std::string container) {
  if (container.rfind("\xEF\xBB\xBF", 0) == 0) container.erase(0, 3);
  return "{\"templateType\":\"CollectionContent\",\"template\":[" + container + "]}";
}

inline std::string join_errors(const mapping::template_errors& errors) {
  std::string s;
  for (const auto& e : errors) s += "[" + e.type + (e.warning ? ", warning" : "") + "] " + e.full_message() + "\n";
  return s;
}

// Loads a mapping that must be valid.
inline std::shared_ptr<const dm::device_mapping> load_valid(const std::string& text) {
  auto r = dm::device_mapping::load(text);
  BOOST_TEST_INFO("load errors:\n" << join_errors(r.errors));
  BOOST_REQUIRE(r.valid());
  BOOST_REQUIRE(r.mapping);
  return r.mapping;
}

struct outcome {
  std::vector<mapping::measurement> measurements;
  std::optional<mapping::mapping_error> error;
};

// Normalizes a JSON token (an envelope, or any object like the upstream tests' JToken) read
// with Newtonsoft defaults: ISO strings become Date tokens.
inline outcome run(const dm::device_mapping& m, const std::string& token_json) {
  auto doc = json::parse(token_json);
  BOOST_REQUIRE_MESSAGE(doc, "test input does not parse: " << (doc ? "" : doc.error().message));
  json::arena scratch;
  outcome o;
  auto r = m.normalize(doc->root, scratch, o.measurements);
  if (!r) o.error = r.error();
  return o;
}

// Runs and requires success.
inline std::vector<mapping::measurement> measurements(const dm::device_mapping& m, const std::string& token_json) {
  outcome o = run(m, token_json);
  BOOST_REQUIRE_MESSAGE(!o.error, "normalize failed: " << (o.error ? o.error->type + ": " + o.error->message : ""));
  return std::move(o.measurements);
}

// Runs and requires an error.
inline mapping::mapping_error failure(const dm::device_mapping& m, const std::string& token_json) {
  outcome o = run(m, token_json);
  BOOST_REQUIRE_MESSAGE(o.error, "normalize succeeded with " << o.measurements.size() << " measurement(s)");
  return *o.error;
}

inline std::string iso(const json::date_time& t) { return json::format_iso(t); }

// Properties as "name=value|name=value" (order kept) for compact comparisons.
inline std::string props(const mapping::measurement& m) {
  std::string s;
  for (const auto& x : m.properties) {
    if (!s.empty()) s += '|';
    s += x.name + "=" + x.value;
  }
  return s;
}

inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace iomt::test::device

// Lets BOOST_TEST print the enums (found by argument-dependent lookup).
namespace iomt::mapping::device {
inline std::ostream& operator<<(std::ostream& os, expression_language l) { return os << to_string(l); }
inline std::ostream& operator<<(std::ostream& os, template_kind k) { return os << to_string(k); }
}  // namespace iomt::mapping::device
