// The JSONPath shapes MedTech mappings use (iomt-spec §3.4, §3.7, §3.8): workshop templates,
// IoT Hub envelopes, IoT Central exports, and the documentation's filter examples.
#include "jsonpath_test_util.hpp"

#include "test_support.hpp"

using namespace iomt;
using namespace iomt::jsonpath::test;

namespace {

// The workshop's VITALS message (Three-Sample-Message-Types.json, trailing comma included).
constexpr std::string_view vitals = R"({
    "type": "VITALS",
    "data": [{"patient_id": "PatientMary",
        "device_id": "MSFT00001",
        "utctimestamp": "2020-10-22T01:34:56+00:00",
        "spo2": 96,
        "hr": 80,
        "bloodperfusion": 1.1399999856948853,
        "steps": 3,
        "bpw": 2.4800000190734863,
        "rrate": 20,
        "bodytemp": 33,
    }]
})";

// Legacy templates evaluate the other expressions against the match (§3.4 step 3).
const json::value& only_match(const jsonpath::path& p, const json::value& root) {
  std::vector<const json::value*> out;
  BOOST_REQUIRE(p.select(root, out));
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  return *out[0];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(medtech)

BOOST_AUTO_TEST_CASE(workshop_vitals) {
  auto d = doc(vitals);
  const json::value& match = only_match(compiled("$..[?(@hr)]"), d.root);
  BOOST_TEST(&match == &d.root.find("data")->as_array()[0]);
  BOOST_TEST(select("$.hr", match) == strings{"80"});
  BOOST_TEST(select("$.device_id", match) == strings{R"("MSFT00001")"});
  BOOST_TEST(select("$.patient_id", match) == strings{R"("PatientMary")"});
  BOOST_TEST(select("$.bloodperfusion", match) == strings{"1.1399999856948853"});
  auto ts = select("$.utctimestamp", match);
  BOOST_REQUIRE_EQUAL(ts.size(), 1u);
  BOOST_TEST(ts[0] == R"("2020-10-22T01:34:56+00:00")");
  BOOST_TEST(select("$..[?(@spo2)]", d.root).size() == 1u);
  BOOST_TEST(select("$..[?(@weight)]", d.root).empty());
  BOOST_TEST(select("$..[?(@.type == 'VITALS')].data[0].hr", d.root) == strings{"80"});
}

BOOST_AUTO_TEST_CASE(workshop_answer_expressions_from_the_shared_vectors) {
  // Every JSONPath in the workshop's answer device mapping compiles; the VITALS message matches
  // exactly one of each VITALS type.
  auto mapping = json::parse(
      test::read_file(test::shared_dir() / "vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/"
                                           "SampleData/Answers/devicecontent.json"));
  BOOST_REQUIRE(mapping);
  auto d = doc(vitals);
  int matched = 0;
  for (const json::value& t : mapping->root.find("template")->as_array()) {
    const json::value* inner = t.find("template");
    BOOST_REQUIRE(inner);
    for (const json::member& m : inner->as_object()) {
      if (!m.key.ends_with("Expression") || !m.val.is_string()) continue;
      BOOST_TEST(jsonpath::path::compile(m.val.as_string()).has_value(), m.val.as_string());
    }
    auto type_match = jsonpath::path::compile(inner->find("typeMatchExpression")->as_string());
    BOOST_REQUIRE(type_match);
    std::vector<const json::value*> out;
    BOOST_REQUIRE(type_match->select(d.root, out));
    matched += static_cast<int>(out.size());
  }
  BOOST_TEST(matched >= 6);
}

BOOST_AUTO_TEST_CASE(iot_hub_envelope_matches_the_root) {
  auto d = doc(R"({"Body":{"heartrate":"78","nested":{"Body":{"heartrate":1}}},
                   "Properties":{"iothub-creation-time-utc":"2021-01-01T00:00:00Z"},
                   "SystemProperties":{"iothub-connection-device-id":"device-01","iothub-enqueuedtime":"2021-01-01T00:00:05Z"}})");
  auto p = compiled("$..[?(@Body.heartrate)]");
  std::vector<const json::value*> out;
  BOOST_REQUIRE(p.select(d.root, out));
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[0] == &d.root);  // the root object itself comes first
  const json::value& match = *out[0];
  BOOST_TEST(select("$.Body.heartrate", match) == strings{R"("78")"});
  BOOST_TEST(select("$.SystemProperties.iothub-connection-device-id", match) == strings{R"("device-01")"});
  BOOST_TEST(select("$.Properties.iothub-creation-time-utc", match) == strings{R"("2021-01-01T00:00:00Z")"});
  // A filter without scan on the envelope tests its properties: nothing.
  BOOST_TEST(select("$[?(@Body.heartrate)]", d.root).empty());
}

BOOST_AUTO_TEST_CASE(nested_objects_with_the_same_field_match_twice) {
  auto d = doc(R"({"heartRate":60,"endDate":"x","child":{"heartRate":61,"endDate":"y"}})");
  BOOST_TEST(select("$..[?(@heartRate)]", d.root).size() == 2u);
  BOOST_TEST(select("$..[?(@heartRate && @endDate)].heartRate", d.root) == (strings{"60", "61"}));
}

BOOST_AUTO_TEST_CASE(iot_central_export) {
  auto d = doc(R"({"applicationId":"app","deviceId":"dev-9","enqueuedTime":"2021-02-03T04:05:06.789Z",
                   "telemetry":{"HeartRate":88,"BloodPressure":{"Systolic":120,"Diastolic":80}}})");
  const json::value& match = only_match(compiled("$..[?(@telemetry.HeartRate)]"), d.root);
  BOOST_TEST(&match == &d.root);
  BOOST_TEST(select("$.deviceId", match) == strings{R"("dev-9")"});
  BOOST_TEST(select("$.telemetry.HeartRate", match) == strings{"88"});
  BOOST_TEST(select("$..[?(@telemetry.BloodPressure.Systolic && @telemetry.BloodPressure.Diastolic)]", d.root).size() ==
             1u);
}

BOOST_AUTO_TEST_CASE(calculated_content_wrapper_paths) {
  // CalculatedContent evaluates against {Body, Properties, SystemProperties, matchedToken}.
  auto d = doc(R"({"Body":{"data":[{"hr":80},{"hr":81}]},"Properties":{},"SystemProperties":{},
                   "matchedToken":{"hr":81}})");
  BOOST_TEST(select("$.matchedToken.hr", d.root) == strings{"81"});
  BOOST_TEST(select("$.Body.data[*].hr", d.root) == (strings{"80", "81"}));
  BOOST_TEST(select("$.Body.data[?(@.hr > 80)].hr", d.root) == strings{"81"});
  auto many = compiled("$..hr").select_single(d.root);
  BOOST_REQUIRE(!many);
  BOOST_TEST(many.error().message == "Path returned multiple tokens.");
}

BOOST_AUTO_TEST_CASE(documentation_examples) {
  auto d = doc(R"({"Body":{"height":{"value":60,"unit":"inches"},"weight":{"value":150,"unit":"lbs"},
                   "My Property":{"x":1}}})");
  BOOST_TEST(select("$..[?(@unit == 'inches')].value", d.root) == strings{"60"});
  BOOST_TEST(select("$..[?(@unit == 'inches')]", d.root) == strings{R"({"value":60,"unit":"inches"})"});
  BOOST_TEST(select("$..[?(@['My Property'])]", d.root).size() == 1u);
  BOOST_TEST(select("$.Body.['My Property'].x", d.root) == strings{"1"});
  BOOST_TEST(select("$.['Body']['My Property']", d.root) == strings{R"({"x":1})"});
}

BOOST_AUTO_TEST_SUITE_END()
