// `iomtflow mapping test` identities (issue 13): the upstream order (identity before template,
// iomt-spec §1, §11 "Cache"), Lookup / LookupWithEncounter against resources standing for the FHIR
// server, the upstream error names, and the validator's warnings with their positions.
// Expected ids are upstream's: sha256("_patientId"), sha256("_deviceId") (iomt-expected D2) and
// the Observation id sha256(service system + "_" + "{patient}.{device}.{type}.{segment}") (§8.1, §10).
#include <boost/test/unit_test.hpp>

#include "fhir/memory_exchange.hpp"
#include "pipeline/commands/mapping_session.hpp"

#include <boost/json.hpp>

using namespace iomt;

namespace {

constexpr std::string_view patient_sha = "bf7c741785b9bbaa3e63dd3637c0acb9caa211351ff2ca17d9474c20c1cdb683";
constexpr std::string_view device_sha = "96b1d91b8c1066c6093f8699cbd01fd2e9e8956cbad873307dcbd44449aafd13";
// sha256(system + "_" + patient_sha.device_sha.heartrate.20240102030406Z.20240102030406Z)
constexpr std::string_view heartrate_obs_id = "86d5274d6d1c8ecc6eac4c6854a45c560bec97195c832b9f12035fcb5f992cb7";

// Two CalculatedContent templates; "steps" has no FHIR template.
constexpr std::string_view device_mapping = R"({
  "templateType": "CollectionContent",
  "template": [
    {"templateType": "CalculatedContent", "template": {
      "typeName": "steps", "typeMatchExpression": "$..[?(@steps)]",
      "deviceIdExpression": "$.matchedToken.device", "timestampExpression": "$.matchedToken.time",
      "patientIdExpression": "$.matchedToken.patient",
      "values": [{"valueName": "steps", "valueExpression": "$.matchedToken.steps", "required": true}]}},
    {"templateType": "CalculatedContent", "template": {
      "typeName": "heartrate", "typeMatchExpression": "$..[?(@hr)]",
      "deviceIdExpression": "$.matchedToken.device", "timestampExpression": "$.matchedToken.time",
      "patientIdExpression": "$.matchedToken.patient", "encounterIdExpression": "$.matchedToken.encounter",
      "values": [{"valueName": "hr", "valueExpression": "$.matchedToken.hr", "required": true}]}}
  ]
})";

constexpr std::string_view fhir_mapping = R"({
  "templateType": "CollectionFhir",
  "template": [
    {"templateType": "CodeValueFhir", "template": {
      "typeName": "heartrate", "codes": [{"code": "8867-4", "system": "http://loinc.org"}],
      "value": {"valueType": "Quantity", "valueName": "hr", "unit": "count/min"}}}
  ]
})";

constexpr std::string_view steps_of_patient =
    R"({"device": "deviceId", "patient": "patientId", "time": "2024-01-02T03:04:05Z", "steps": 100})";
constexpr std::string_view hr_of_other_patient =
    R"({"device": "deviceId", "patient": "otherPatient", "time": "2024-01-02T03:04:06Z", "hr": 72})";

pipeline::test_options options(fhir::identity_mode mode, std::string_view resources = {}) {
  pipeline::test_options o;
  o.issued = json::date_time{637'400'000'000'000'000, json::date_kind::utc};
  o.identity.mode = mode;
  if (!resources.empty()) o.identity.resources = fhir::read_resources(resources).value();
  return o;
}

boost::json::object run(std::initializer_list<std::string_view> messages, const pipeline::test_options& opt) {
  auto s = pipeline::mapping_session::load(device_mapping, fhir_mapping);
  BOOST_TEST_REQUIRE(s.valid());
  std::vector<pipeline::message_input> in;
  int n = 0;
  for (auto m : messages) in.push_back({"m" + std::to_string(++n), std::string(m)});
  return s.run_test(in, opt).value();
}

std::vector<std::string> error_types(const boost::json::object& out) {
  std::vector<std::string> t;
  for (const auto& e : out.at("errors").as_array()) t.emplace_back(e.at("type").as_string());
  return t;
}

std::string ref(const boost::json::value& o, std::string_view member) {
  return std::string(o.at(member).at("reference").as_string());
}

// The server's content: Patient p1, Device d1 (identifier deviceId) linked to it, Encounter e1.
constexpr std::string_view lookup_resources = R"({"resourceType": "Bundle", "type": "collection", "entry": [
  {"resource": {"resourceType": "Patient", "id": "p1", "identifier": [{"value": "mary"}]}},
  {"resource": {"resourceType": "Device", "id": "d1", "identifier": [{"value": "deviceId"}],
                "patient": {"reference": "Patient/p1"}}},
  {"resource": {"resourceType": "Device", "id": "d2", "identifier": [{"value": "orphan"}]}},
  {"resource": {"resourceType": "Device", "id": "d3", "identifier": [{"value": "twin"}], "patient": {"reference": "Patient/p1"}}},
  {"resource": {"resourceType": "Device", "id": "d4", "identifier": [{"system": "s", "value": "twin"}], "patient": {"reference": "Patient/p1"}}},
  {"resource": {"resourceType": "Encounter", "id": "e1", "identifier": [{"value": "visit-1"}]}}
]})";

}  // namespace

BOOST_AUTO_TEST_SUITE(mapping_test_identity)

// iomt-spec §1 / §11 "Cache": the steps group (no FHIR template) resolves its identity first, so
// Create mode creates and links Patient/Device for patientId and caches them for the device; the
// later heart rate group of the same device is written for that Patient although its message
// names another one, with upstream's Observation id. Then TemplateNotFoundException for steps.
BOOST_AUTO_TEST_CASE(identity_before_template_in_create_mode) {
  const auto out = run({steps_of_patient, hr_of_other_patient}, options(fhir::identity_mode::create));
  BOOST_TEST(error_types(out) == (std::vector<std::string>{"TemplateNotFoundException"}));
  const auto& obs = out.at("observations").as_array();
  BOOST_TEST_REQUIRE(obs.size() == 1u);
  BOOST_TEST(obs[0].at("id").as_string() == heartrate_obs_id);
  BOOST_TEST(ref(obs[0], "subject") == "Patient/" + std::string(patient_sha));
  BOOST_TEST(ref(obs[0], "device") == "Device/" + std::string(device_sha));
  const auto& written = out.at("identity").at("wouldWrite").as_array();
  BOOST_TEST_REQUIRE(written.size() == 2u);
  BOOST_TEST(written[0].as_string() == "Patient/" + std::string(patient_sha));
  BOOST_TEST(written[1].as_string() == "Device/" + std::string(device_sha));
  BOOST_TEST(out.at("identity").at("mode").as_string() == "Create");
  BOOST_TEST(out.at("identity").at("source").as_string() == "empty");
}

// Without a patient id the identity error comes first, as upstream (not TemplateNotFoundException).
BOOST_AUTO_TEST_CASE(identity_error_before_missing_template) {
  const auto create = run({R"({"device": "deviceId", "time": "2024-01-02T03:04:05Z", "steps": 1})"},
                          options(fhir::identity_mode::create));
  BOOST_TEST(error_types(create) == (std::vector<std::string>{"PatientIdentityNotDefinedException"}));
  BOOST_TEST(create.at("errors").at(0).at("exception").as_string() == "ResourceIdentityNotDefinedException");
  const auto lookup = run({steps_of_patient}, options(fhir::identity_mode::lookup));
  BOOST_TEST(error_types(lookup) == (std::vector<std::string>{"DeviceNotFoundException"}));
  BOOST_TEST(lookup.at("errors").at(0).at("exception").as_string() == "FhirResourceNotFoundException");
  BOOST_TEST(lookup.at("identity").at("wouldWrite").as_array().empty());
}

// Lookup: Device by identifier, its Patient from Device.patient; the message's patient is ignored.
BOOST_AUTO_TEST_CASE(lookup_uses_the_devices_patient) {
  const auto out = run({hr_of_other_patient}, options(fhir::identity_mode::lookup, lookup_resources));
  BOOST_TEST(out.at("errors").as_array().empty());
  const auto& obs = out.at("observations").as_array();
  BOOST_TEST_REQUIRE(obs.size() == 1u);
  BOOST_TEST(ref(obs[0], "subject") == "Patient/p1");
  BOOST_TEST(ref(obs[0], "device") == "Device/d1");
  BOOST_TEST(!obs[0].as_object().contains("encounter"));
  BOOST_TEST(obs[0].at("identifier").at(0).at("value").as_string() ==
             "p1.d1.heartrate.20240102030406Z.20240102030406Z");
  BOOST_TEST(out.at("identity").at("source").as_string() == "resources");
  BOOST_TEST(out.at("identity").at("wouldWrite").as_array().empty());
}

BOOST_AUTO_TEST_CASE(lookup_errors_as_upstream) {
  auto one = [](std::string_view device, std::string_view encounter, fhir::identity_mode mode) {
    std::string m = R"({"device": ")" + std::string(device) + R"(", "time": "2024-01-02T03:04:06Z", "hr": 72)";
    if (!encounter.empty()) m += R"(, "encounter": ")" + std::string(encounter) + "\"";
    m += "}";
    return run({m}, options(mode, lookup_resources));
  };
  using fhir::identity_mode;
  BOOST_TEST(error_types(one("nobody", "", identity_mode::lookup)) ==
             (std::vector<std::string>{"DeviceNotFoundException"}));
  BOOST_TEST(error_types(one("orphan", "", identity_mode::lookup)) ==
             (std::vector<std::string>{"PatientNotFoundException"}));
  // identifier=twin (no system) matches both Devices (any system): MultipleResourceFoundException<Device>.
  const auto twin = one("twin", "", identity_mode::lookup);
  BOOST_TEST(error_types(twin) == (std::vector<std::string>{"MultipleDeviceFoundException"}));
  BOOST_TEST(twin.at("errors").at(0).at("exception").as_string() == "MultipleResourceFoundException");
  BOOST_TEST(error_types(one("deviceId", "visit-9", identity_mode::lookup)) ==
             (std::vector<std::string>{"EncounterNotFoundException"}));
  BOOST_TEST(error_types(one("deviceId", "", identity_mode::lookup_with_encounter)) ==
             (std::vector<std::string>{"EncounterIdentityNotDefinedException"}));
  const auto with = one("deviceId", "visit-1", identity_mode::lookup_with_encounter);
  BOOST_TEST(with.at("errors").as_array().empty());
  BOOST_TEST_REQUIRE(with.at("observations").as_array().size() == 1u);
  BOOST_TEST(ref(with.at("observations").at(0), "encounter") == "Encounter/e1");
  // Create with the same resources: the Device exists and is linked, so nothing is created.
  const auto create = one("deviceId", "", identity_mode::create);
  BOOST_TEST(create.at("errors").as_array().empty());
  BOOST_TEST(create.at("identity").at("wouldWrite").as_array().empty());
  BOOST_TEST(ref(create.at("observations").at(0), "subject") == "Patient/p1");
  // Create links an existing Device without patient to the message's Patient (a PUT with If-Match).
  const auto link = run({R"({"device": "orphan", "patient": "patientId", "time": "2024-01-02T03:04:06Z", "hr": 1})"},
                        options(identity_mode::create, lookup_resources));
  BOOST_TEST(link.at("errors").as_array().empty());
  const auto& w = link.at("identity").at("wouldWrite").as_array();
  BOOST_TEST_REQUIRE(w.size() == 2u);
  BOOST_TEST(w[0].as_string() == "Patient/" + std::string(patient_sha));
  BOOST_TEST(w[1].as_string() == "Device/d2");
}

BOOST_AUTO_TEST_CASE(resources_are_checked) {
  BOOST_TEST(!fhir::read_resources("{").has_value());
  BOOST_TEST(!fhir::read_resources(R"({"resourceType": "Patient", "id": "p"})").has_value());
  auto obs = fhir::read_resources(R"([{"resourceType": "Observation", "id": "o"}])");
  BOOST_TEST_REQUIRE(!obs.has_value());
  BOOST_TEST(obs.error().message.find("[0]: resourceType 'Observation'") != std::string::npos, obs.error().message);
  auto no_id =
      fhir::read_resources(R"({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Device"}}]})");
  BOOST_TEST_REQUIRE(!no_id.has_value());
  BOOST_TEST(no_id.error().message.find("entry[0] (Device) has no id") != std::string::npos, no_id.error().message);
  BOOST_TEST(fhir::read_resources("[]").value().empty());
}

// MappingValidator warnings with template index, property and line (issue 13 item 3).
BOOST_AUTO_TEST_CASE(validator_warnings_have_positions) {
  constexpr std::string_view fhir_without_hr_value = R"({
  "templateType": "CollectionFhir",
  "template": [
    {"templateType": "CodeValueFhir", "template": {
      "typeName": "heartrate", "codes": [],
      "components": [{"codes": [], "value": {"valueType": "Quantity", "valueName": "pulse"}}]}}
  ]
})";
  auto s = pipeline::mapping_session::load(device_mapping, fhir_without_hr_value);
  BOOST_TEST(s.valid());  // warnings only
  std::vector<const mapping::template_error*> warnings;
  for (const auto& e : s.device_errors())
    if (e.warning) warnings.push_back(&e);
  BOOST_TEST_REQUIRE(warnings.size() == 2u);
  // steps (template 0) has no FHIR template: at its typeName, line 5.
  BOOST_TEST(warnings[0]->type == "TemplateNotFoundException");
  BOOST_TEST(warnings[0]->template_index == 0);
  BOOST_TEST(warnings[0]->property == "typeName");
  BOOST_TEST(warnings[0]->pos.line == 5u);
  // heartrate's value hr (template 1) is not represented: at its valueName, line 13.
  BOOST_TEST(warnings[1]->template_index == 1);
  BOOST_TEST(warnings[1]->property == "values[0].valueName");
  BOOST_TEST(warnings[1]->pos.line == 13u);
  BOOST_TEST(warnings[1]->message ==
             "The value [hr] in Device Mapping [heartrate] is not represented within the Fhir Template of type "
             "[heartrate]. Available values are: [pulse]. No value will appear inside of Observations.");
  const auto report = s.validation_report();
  const auto& json_errors = report.at("deviceMapping").at("errors").as_array();
  BOOST_TEST_REQUIRE(json_errors.size() == 2u);
  BOOST_TEST(json_errors[1].at("severity").as_string() == "warning");
  BOOST_TEST(json_errors[1].at("templateIndex").to_number<int>() == 1);
  BOOST_TEST(json_errors[1].at("property").as_string() == "values[0].valueName");
  BOOST_TEST(json_errors[1].at("line").to_number<int>() == 13);
  // The main value and the components both count: a template with hr as value[x] gives no warning.
  auto ok = pipeline::mapping_session::load(device_mapping, fhir_mapping);
  std::size_t value_warnings = 0;
  for (const auto& e : ok.device_errors())
    if (e.warning && e.property.starts_with("values[")) ++value_warnings;
  BOOST_TEST(value_warnings == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
