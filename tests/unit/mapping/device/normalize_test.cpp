// Device mapping files + payload files from the upstream TestInput folders (expected A1-A6,
// A16, A17).
#define BOOST_TEST_MODULE device
#include "device_test_support.hpp"

using namespace iomt;
using namespace iomt::test;
using namespace iomt::test::device;

namespace {

std::shared_ptr<const dm::device_mapping> template_file(const std::string& name) {
  return load_valid(template_input(name));
}

const std::string doc = "data_Documentation_CalculatedFunction_";

}  // namespace

BOOST_AUTO_TEST_SUITE(documentation_examples)

BOOST_AUTO_TEST_CASE(a1_heart_rate) {
  auto m = template_file(doc + "HeartRate_Template.json");
  auto ms = measurements(*m, template_input(doc + "HeartRate_Payload.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "heartrate");
  BOOST_TEST(ms[0].device_id == "device123");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2019-02-01T22:46:01.875Z");
  BOOST_TEST(!ms[0].patient_id);
  BOOST_TEST(!ms[0].encounter_id);
  BOOST_TEST(!ms[0].correlation_id);
  BOOST_TEST(!ms[0].ingestion_time);
  BOOST_TEST(props(ms[0]) == "hr=78");
}

BOOST_AUTO_TEST_CASE(a2_blood_pressure) {
  auto m = template_file(doc + "BloodPressure_Template.json");
  auto ms = measurements(*m, template_input(doc + "BloodPressure_Payload.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "bloodpressure");
  BOOST_TEST(ms[0].device_id == "device123");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2019-02-01T22:46:01.875Z");
  BOOST_TEST(props(ms[0]) == "systolic=123|diastolic=87");
}

BOOST_AUTO_TEST_CASE(a3_two_templates_in_template_order) {
  auto m = template_file(doc + "MultipleMeasurements_Template.json");
  auto ms = measurements(*m, template_input(doc + "MultipleMeasurements_Payload.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 2u);
  BOOST_TEST(ms[0].type == "heartrate");
  BOOST_TEST(props(ms[0]) == "hr=78");
  BOOST_TEST(ms[1].type == "stepcount");
  BOOST_TEST(props(ms[1]) == "steps=2");
  for (const auto& x : ms) {
    BOOST_TEST(x.device_id == "device123");
    BOOST_TEST(iso(x.occurrence_time) == "2019-02-01T22:46:01.875Z");
  }
}

BOOST_AUTO_TEST_CASE(a4_body_array_one_measurement_per_element) {
  auto m = template_file(doc + "HeartRate_Template.json");
  auto ms = measurements(*m, template_input(doc + "MultipleMeasurements_FromArray_Payload.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 3u);
  BOOST_TEST(props(ms[0]) == "hr=78");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2019-02-01T20:46:01.875Z");
  BOOST_TEST(props(ms[1]) == "hr=81");
  BOOST_TEST(iso(ms[1].occurrence_time) == "2019-02-01T21:46:01.875Z");
  BOOST_TEST(props(ms[2]) == "hr=72");
  BOOST_TEST(iso(ms[2].occurrence_time) == "2019-02-01T22:46:01.875Z");
}

BOOST_AUTO_TEST_CASE(a5_parent_scope_and_match_order) {
  auto m = template_file(doc + "MultipleMatches_Template.json");
  auto ms = measurements(*m, template_input(doc + "MultipleMatches_Payload.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 2u);
  BOOST_TEST(ms[0].device_id == "device123");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2021-07-13T17:29:01.061144Z");
  BOOST_TEST(props(ms[0]) == "systolic=120|diastolic=80");
  BOOST_TEST(ms[1].device_id == "device123");
  BOOST_TEST(iso(ms[1].occurrence_time) == "2021-07-13T17:28:01.061122Z");
  BOOST_TEST(props(ms[1]) == "systolic=122|diastolic=82");
}

BOOST_AUTO_TEST_CASE(a6_jmespath_multiply) {
  auto m = template_file(doc + "TransformData_Template.json");
  BOOST_TEST(m->templates()[0].values[0].expression->language() == dm::expression_language::jmes_path);
  auto ms = measurements(*m, template_input(doc + "TransformData_Payload.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 2u);
  BOOST_TEST(ms[0].type == "heightInMeters");
  BOOST_TEST(ms[0].device_id == "device123");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2019-02-01T22:46:01.875Z");
  BOOST_TEST(props(ms[0]) == "height=1.9811999999999999");  // 78 * 0.0254, .NET shortest round-trip
  BOOST_TEST(ms[1].type == "heightInMeters");
  BOOST_TEST(iso(ms[1].occurrence_time) == "2019-02-01T23:46:01.875Z");
  BOOST_TEST(props(ms[1]) == "height=1.9304");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(collections)

BOOST_AUTO_TEST_CASE(a16_iot_central_messages_in_one_body_array) {
  auto m = template_file("data_CollectionContentTemplateMultipleIotCentralJsonPath.json");
  auto ms = measurements(*m, template_input("data_IotCentralPayloadExampleMultipleMessages.json"));
  BOOST_REQUIRE_EQUAL(ms.size(), 6u);
  const char* types[] = {"heartrate",       "heartrate",     "respiratoryrate",
                         "respiratoryrate", "bloodpressure", "bloodpressure"};
  for (std::size_t i = 0; i < 6; ++i) BOOST_TEST(ms[i].type == types[i]);
  BOOST_TEST(props(ms[0]) == "hr=75");
  BOOST_TEST(props(ms[1]) == "hr=69");
  BOOST_TEST(props(ms[2]) == "respiratoryrate=15");
  BOOST_TEST(props(ms[4]) == "systolic=62|diastolic=30");
  BOOST_TEST(props(ms[5]) == "systolic=43|diastolic=34");
  BOOST_TEST(ms[0].device_id == "1qsi9p8t5l2");
  BOOST_TEST(ms[0].patient_id.value_or("") == "1qsi9p8t5l2");
  BOOST_TEST(iso(ms[0].occurrence_time) == "2021-06-08T19:45:20.202Z");
  BOOST_TEST(iso(ms[1].occurrence_time) == "2021-06-08T19:44:04.941Z");
}

BOOST_AUTO_TEST_CASE(a17_json_path_and_jmes_path_collections_agree) {
  for (const char* file :
       {"data_CollectionContentTemplateHrAndSteps.json", "data_CollectionContentTemplateHrAndStepsJmesPath.json"}) {
    BOOST_TEST_CONTEXT(file) {
      auto m = template_file(file);
      const std::string t = "\"device\":\"abc\",\"date\":\"2021-03-04T05:06:07.1234567Z\"";
      BOOST_TEST(measurements(*m, "{\"hrv\":\"5\"," + t + "}").empty());

      auto both = measurements(*m, "{\"heartrate\":\"60\",\"steps\":\"2\"," + t + "}");
      BOOST_REQUIRE_EQUAL(both.size(), 2u);
      BOOST_TEST(both[0].type == "heartrate");
      BOOST_TEST(props(both[0]) == "hr=60");
      BOOST_TEST(both[1].type == "steps");
      BOOST_TEST(props(both[1]) == "steps=2");
      BOOST_TEST(both[0].device_id == "abc");
      BOOST_TEST(iso(both[0].occurrence_time) == "2021-03-04T05:06:07.1234567Z");

      auto hr = measurements(*m, "{\"heartrate\":\"60\",\"hrv\":\"5\"," + t + "}");
      BOOST_REQUIRE_EQUAL(hr.size(), 1u);
      BOOST_TEST(hr[0].type == "heartrate");

      auto steps = measurements(*m, "{\"hrv\":\"5\",\"steps\":\"2\"," + t + "}");
      BOOST_REQUIRE_EQUAL(steps.size(), 1u);
      BOOST_TEST(steps[0].type == "steps");
    }
  }
}

BOOST_AUTO_TEST_CASE(validator_hr_and_blood_pressure_mapping) {
  // Validation TestInput (expected E4 data): patient id kept, no correlation id.
  auto m = load_valid(validation_input("data_CollectionContentTemplateHrAndBloodPressureValid.json"));
  auto ms =
      measurements(*m,
                   "{\"systolic\":\"60\",\"diastolic\":\"80\",\"device\":\"abc\",\"date\":\"2021-03-04T05:06:07Z\","
                   "\"session\":\"s1\",\"patient\":\"patient123\"}");
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].type == "bloodpressure");
  BOOST_TEST(ms[0].patient_id.value_or("") == "patient123");
  BOOST_TEST(!ms[0].correlation_id);
  BOOST_TEST(props(ms[0]) == "systolic=60|diastolic=80");
}

BOOST_AUTO_TEST_SUITE_END()
