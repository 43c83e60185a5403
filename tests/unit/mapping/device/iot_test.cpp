// IotJsonPathContent and IotCentralJsonPathContent (expected A14, A15; iomt-spec §3.7).
#include "device_test_support.hpp"

using namespace iomt;
using namespace iomt::test;
using namespace iomt::test::device;

namespace {

std::string collection_of(const std::string& type, const std::string& body) {
  return "{\"templateType\":\"CollectionContent\",\"template\":[{\"templateType\":\"" + type + "\",\"template\":{" +
         body + "}}]}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(iot_hub)

BOOST_AUTO_TEST_CASE(a14_device_and_time_from_iot_hub_properties) {
  auto m = load_valid(collection_of("IotJsonPathContent", R"("typeName":"heartrate",
      "typeMatchExpression":"$..[?(@Body.heartrate)]",
      "values":[{"required":"true","valueExpression":"$.Body.heartrate","valueName":"hr"}])"));
  auto ms = measurements(*m, template_input("data_IotHubPayloadExample.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "heartrate");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2019-01-30T22:45:02.6073744Z");
  BOOST_TEST(ms[0].device_id == "ev-d795-1d04-55ae");
  BOOST_TEST(props(ms[0]) == "hr=203");
}

BOOST_AUTO_TEST_CASE(a14_enqueued_time_fallback) {
  auto m = load_valid(collection_of("IotJsonPathContent", R"("typeName":"heartrate",
      "typeMatchExpression":"$..[?(@Body.heartrate)]",
      "values":[{"required":"true","valueExpression":"$.Body.heartrate","valueName":"hr"}])"));
  auto ms = measurements(*m, template_input("data_IotHubPayloadExampleMissingCreateTime.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(iso(ms[0].occurrence_time) == "2019-02-01T22:46:01.875Z");
  BOOST_TEST(ms[0].device_id == "ev-d795-1d04-55ae");

  // An unparsable creation time also falls back; with neither, the message fails naming both.
  auto bad = measurements(*m, R"({"Body":{"heartrate":"1"},"Properties":{"iothub-creation-time-utc":"soon"},
      "SystemProperties":{"iothub-connection-device-id":"d","iothub-enqueuedtime":"2019-02-01T22:46:01.875Z"}})");
  BOOST_TEST(iso(bad[0].occurrence_time) == "2019-02-01T22:46:01.875Z");
  auto e = failure(
      *m, R"({"Body":{"heartrate":"1"},"Properties":{},"SystemProperties":{"iothub-connection-device-id":"d"}})");
  BOOST_TEST(e.message ==
             "Unable to extract required value for [TimestampExpression] using "
             "$.Properties.iothub-creation-time-utc,$.SystemProperties.iothub-enqueuedtime");
}

BOOST_AUTO_TEST_CASE(a14_multi_value) {
  auto m = load_valid(collection_of("IotJsonPathContentTemplate", R"("typeName":"bloodpressure",
      "typeMatchExpression":"$..[?(@Body.systolic && @Body.diastolic)]",
      "values":[{"required":"true","valueExpression":"$.Body.systolic","valueName":"systolic"},
                {"required":"true","valueExpression":"$.Body.diastolic","valueName":"diastolic"}])"));
  auto ms = measurements(*m, template_input("data_IotHubPayloadMultiValueExample.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "bloodpressure");
  BOOST_TEST(props(ms[0]) == "systolic=111|diastolic=75");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2019-01-30T22:45:02.6073744Z");
}

BOOST_AUTO_TEST_CASE(iot_templates_ignore_device_and_time_expressions) {
  // Present in JSON, silently ignored (the properties are [JsonIgnore]d upstream).
  auto r = dm::device_mapping::load(collection_of("IotJsonPathContent", R"("typeName":"heartrate",
      "typeMatchExpression":"$..[?(@Body.heartrate)]","deviceIdExpression":"$.Body.x","timestampExpression":"$.Body.y",
      "values":[{"valueExpression":"$.Body.heartrate","valueName":"hr"}])"));
  BOOST_TEST(r.valid());
  BOOST_TEST(r.errors.empty());
  auto ms = measurements(*r.mapping, template_input("data_IotHubPayloadExample.json"));
  BOOST_TEST(ms[0].device_id == "ev-d795-1d04-55ae");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(iot_central)

namespace {
const std::string payload_time = "2020-08-05T22:26:55.455Z";
}

BOOST_AUTO_TEST_CASE(a15_blood_pressure) {
  auto m = load_valid(collection_of("IotCentralJsonPathContent", R"("typeName":"bloodPressure",
      "typeMatchExpression":"$..[?(@telemetry.BloodPressure.Diastolic && @telemetry.BloodPressure.Systolic)]",
      "values":[{"valueName":"bp_diastolic","valueExpression":"$.telemetry.BloodPressure.Diastolic","required":true},
                {"valueName":"bp_systolic","valueExpression":"$.telemetry.BloodPressure.Systolic","required":true}])"));
  auto ms = measurements(*m, template_input("data_IotCentralPayloadExample.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "bloodPressure");
  BOOST_TEST(iso(ms[0].occurrence_time) == payload_time);
  BOOST_TEST(ms[0].device_id == "1vzb5ghlsg1");
  BOOST_TEST(props(ms[0]) == "bp_diastolic=7|bp_systolic=71");
}

BOOST_AUTO_TEST_CASE(a15_enrichment) {
  auto m = load_valid(collection_of("iotcentraljsonpathcontent", R"("typeName":"elevation",
      "typeMatchExpression":"$..[?(@enrichments.Elevation)]",
      "values":[{"valueName":"elevation","valueExpression":"$.enrichments.Elevation","required":true}])"));
  auto ms = measurements(*m, template_input("data_IotCentralPayloadExample.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "elevation");
  BOOST_TEST(iso(ms[0].occurrence_time) == payload_time);
  BOOST_TEST(ms[0].device_id == "1vzb5ghlsg1");
  BOOST_TEST(props(ms[0]) == "elevation=200m");
}

BOOST_AUTO_TEST_CASE(a15_telemetry) {
  auto m = load_valid(collection_of("IotCentralJsonPathContent", R"("typeName":"telemetry",
      "typeMatchExpression":"$..[?(@telemetry)]",
      "values":[{"valueName":"activity","valueExpression":"$.telemetry.Activity","required":true},
                {"valueName":"bp_diastolic","valueExpression":"$.telemetry.BloodPressure.Diastolic","required":true},
                {"valueName":"bp_systolic","valueExpression":"$.telemetry.BloodPressure.Systolic","required":true},
                {"valueName":"respitoryrate","valueExpression":"$.telemetry.RespiratoryRate","required":true}])"));
  auto ms = measurements(*m, template_input("data_IotCentralPayloadExample.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "telemetry");
  BOOST_TEST(props(ms[0]) == "activity=running|bp_diastolic=7|bp_systolic=71|respitoryrate=13");
}

BOOST_AUTO_TEST_SUITE_END()
