// Helpers for the mapping/fhir suites: measurements built by hand, times, vector files.
#pragma once

#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/json/dotnet.hpp"
#include "mapping/json/writer.hpp"
#include "test_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace iomt::test::fhir {

namespace mf = iomt::mapping::fhir;
using iomt::mapping::measurement;

constexpr std::int64_t tick = 1;
constexpr std::int64_t ms = json::ticks_per_millisecond;
constexpr std::int64_t sec = json::ticks_per_second;
constexpr std::int64_t minute = 60 * sec;
constexpr std::int64_t hour = 60 * minute;
constexpr std::int64_t day = 24 * hour;

inline std::int64_t at(int y, int mo, int d, int h = 0, int mi = 0, int s = 0, std::int64_t frac = 0) {
  return json::from_civil({y, mo, d, h, mi, s, frac});
}
inline json::date_time utc(std::int64_t ticks) { return {ticks, json::date_kind::utc}; }

inline measurement make_measurement(std::string type, std::string device, std::int64_t time,
                                    std::vector<mapping::measurement_property> props,
                                    std::optional<std::string> patient = std::nullopt) {
  measurement m;
  m.type = std::move(type);
  m.device_id = std::move(device);
  m.patient_id = std::move(patient);
  m.occurrence_time = utc(time);
  m.properties = std::move(props);
  return m;
}

// A measurement group over measurements kept by the caller (no dedupe).
inline mf::measurement_group group_of(const std::vector<measurement>& batch,
                                      std::optional<std::string> correlation = {}) {
  mf::measurement_group g;
  g.measure_type = batch.empty() ? "" : batch.front().type;
  g.device_id = batch.empty() ? "" : batch.front().device_id;
  g.correlation_id = std::move(correlation);
  for (const measurement& m : batch) g.data.push_back(&m);
  return g;
}

inline std::string fhir_template_input(const std::string& name) { return template_input(name); }
inline std::string validation_input(const std::string& name) {
  return read_file(shared_dir() / "vectors/iomt-fhir/test/Microsoft.Health.Fhir.Ingest.Validation.UnitTests/TestInput" /
                   name);
}

// A bare CodeValueFhir container file wrapped into a CollectionFhir document (BOM removed).
inline std::string as_collection(std::string container) {
  if (container.rfind("\xEF\xBB\xBF", 0) == 0) container.erase(0, 3);
  return "{\"templateType\":\"CollectionFhir\",\"template\":[" + container + "]}";
}

inline std::string all_messages(const mapping::template_errors& errors) {
  std::string s;
  for (const auto& e : errors) s += e.full_message() + "\n";
  return s;
}

inline mf::load_result load_ok(const std::string& text) {
  auto r = mf::fhir_mapping::load(text);
  BOOST_TEST_REQUIRE(r.valid(), all_messages(r.errors));
  return r;
}

inline std::string to_json(const boost::json::value& v) { return json::to_string(v); }

}  // namespace iomt::test::fhir
