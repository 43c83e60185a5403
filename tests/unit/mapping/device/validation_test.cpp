// Loading and validation of device mappings (expected A18-A21, iomt-spec §3.1-§3.3).
#include "device_test_support.hpp"

#include <algorithm>

using namespace iomt;
using namespace iomt::test;
using namespace iomt::test::device;

namespace {

const mapping::template_error* find_error(const mapping::template_errors& errors, const std::string& text) {
  auto it = std::find_if(errors.begin(), errors.end(),
                         [&](const mapping::template_error& e) { return e.message.find(text) != std::string::npos; });
  return it == errors.end() ? nullptr : &*it;
}

std::vector<unsigned> lines_of(const mapping::template_errors& errors) {
  std::vector<unsigned> lines;
  for (const auto& e : errors) lines.push_back(e.pos.line);
  return lines;
}

std::string collection_of(const std::string& type, const std::string& body) {
  return "{\"templateType\":\"CollectionContent\",\"template\":[{\"templateType\":\"" + type + "\",\"template\":{" +
         body + "}}]}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(collection_validation)

BOOST_AUTO_TEST_CASE(a18_invalid_collection_line_numbers) {
  for (const std::string& text : {template_input("data_CollectionContentTemplateInvalid.json"),
                                  validation_input("data_CollectionContentTemplateInvalid.json")}) {
    auto r = dm::device_mapping::load(text);
    BOOST_TEST_INFO(join_errors(r.errors));
    BOOST_TEST(!r.valid());
    BOOST_REQUIRE_EQUAL(r.errors.size(), 3u);
    BOOST_TEST(r.errors[0].message == "Required property 'DeviceIdExpression' not found in JSON.");
    BOOST_TEST(r.errors[1].message == "Required property 'TimestampExpression' not found in JSON.");
    BOOST_TEST(r.errors[2].message == "Required property 'TypeMatchExpression' not found in JSON.");
    BOOST_TEST(lines_of(r.errors) == (std::vector<unsigned>{6, 6, 20}), boost::test_tools::per_element());
    for (const auto& e : r.errors) BOOST_TEST(e.type == "InvalidTemplateException");
    BOOST_TEST(r.errors[0].template_index == 0);
    BOOST_TEST(r.errors[2].template_index == 1);
    BOOST_TEST(r.errors[0].property == "deviceIdExpression");
    BOOST_TEST(r.errors[0].full_message() ==
               "Line Number: 6, Position: 19. Required property 'DeviceIdExpression' not found in JSON.");
    BOOST_TEST(r.mapping->template_count() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(a18_root_errors) {
  auto empty = dm::device_mapping::load(template_input("data_CollectionContentTemplateEmpty.json"));
  BOOST_TEST(!empty.valid());
  BOOST_TEST(find_error(empty.errors, "Expected TemplateType value CollectionContentTemplate, actual ."));

  auto with_type = dm::device_mapping::load(template_input("data_CollectionContentTemplateEmptyWithType.json"));
  BOOST_TEST(with_type.valid());
  BOOST_TEST(with_type.errors.empty());
  BOOST_TEST(with_type.mapping->template_count() == 0u);

  auto bad_type = dm::device_mapping::load(template_input("data_InvalidTemplateType.json"));
  BOOST_TEST(!bad_type.valid());
  BOOST_TEST(
      find_error(bad_type.errors, "Expected TemplateType value CollectionContentTemplate, actual templateType."));

  auto no_array =
      dm::device_mapping::load(template_input("data_InvalidCollectionContentTemplateWithNoTemplateArray.json"));
  BOOST_TEST(!no_array.valid());
  BOOST_TEST(
      find_error(no_array.errors,
                 "Expected an array for the template property value for template type CollectionContentTemplate."));

  auto bad_json = dm::device_mapping::load(template_input("data_InvalidJson.txt"));
  BOOST_TEST(!bad_json.valid());
  BOOST_REQUIRE_EQUAL(bad_json.errors.size(), 1u);
  BOOST_TEST(bad_json.errors[0].pos.line > 0u);
  BOOST_TEST(bad_json.mapping);

  auto missing = dm::device_mapping::load(R"({"template":[]})");
  BOOST_TEST(find_error(missing.errors, "Expected TemplateType value CollectionContentTemplate, actual Not Found."));
  BOOST_TEST(!dm::device_mapping::load("[1]").valid());
  BOOST_TEST(dm::device_mapping::load(R"({"TEMPLATETYPE":"collectioncontenttemplate","Template":[]})").valid());
}

BOOST_AUTO_TEST_CASE(a18_mixed_validity_builds_the_valid_templates) {
  auto r = dm::device_mapping::load(template_input("data_CollectionContentTemplateMixedValidity.json"));
  BOOST_TEST(!r.valid());
  BOOST_TEST_INFO(join_errors(r.errors));
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(r.errors[0].message == "Required property 'TypeMatchExpression' not found in JSON.");
  BOOST_TEST(r.errors[0].template_index == 2);
  BOOST_REQUIRE_EQUAL(r.mapping->template_count(), 3u);
  BOOST_TEST(r.mapping->type_names() == (std::vector<std::string>{"heartrate", "heartrate", "heartrate"}),
             boost::test_tools::per_element());
  auto ms = measurements(*r.mapping, R"({"heartrate":"60","device":"myHrDevice","date":"2024-01-02T03:04:05Z"})");
  BOOST_REQUIRE_EQUAL(ms.size(), 2u);
  BOOST_TEST(props(ms[0]) == "hr-calc-content=60");
  BOOST_TEST(props(ms[1]) == "hr=60");
  BOOST_TEST(ms[0].device_id == "myHrDevice");
}

BOOST_AUTO_TEST_CASE(template_type_names) {
  const std::string body =
      R"("typeName":"t","typeMatchExpression":"$.Body","deviceIdExpression":"$.d","timestampExpression":"$.t","values":[])";
  for (const char* ok : {"CalculatedContent", "calculatedcontent", "JsonPathContent", "JSONPATHCONTENTTEMPLATE",
                         "IotJsonPathContentTemplate", "IotCentralJsonPathContent"}) {
    BOOST_TEST_CONTEXT(ok) { BOOST_TEST(dm::device_mapping::load(collection_of(ok, body)).valid()); }
  }
  for (const char* bad : {"CalculatedContentTemplate", "IotCentralJsonPathContentTemplate", "mockA", ""}) {
    BOOST_TEST_CONTEXT(bad) {
      auto r = dm::device_mapping::load(collection_of(bad, body));
      BOOST_TEST(!r.valid());
      BOOST_TEST(find_error(r.errors, std::string("No match found for template type ") + bad + "."));
    }
  }
  auto not_object = dm::device_mapping::load(
      R"({"templateType":"CollectionContent","template":[{"templateType":"JsonPathContent","template":[]}]})");
  BOOST_TEST(
      find_error(not_object.errors,
                 "Expected an object for the template property value for template type JsonPathContentTemplate."));
  auto mocks = dm::device_mapping::load(template_input("data_CollectionContentTemplateMultipleMocks.json"));
  BOOST_TEST(mocks.errors.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(template_validation)

BOOST_AUTO_TEST_CASE(a19_unknown_and_missing_members) {
  auto r = dm::device_mapping::load(
      as_collection(template_input("data_CalculatedFunctionContentTemplateValidInvalidAndMissingMembers.json")));
  BOOST_TEST_INFO(join_errors(r.errors));
  BOOST_TEST(!r.valid());
  BOOST_REQUIRE_EQUAL(r.errors.size(), 4u);
  BOOST_TEST(lines_of(r.errors) == (std::vector<unsigned>{5, 6, 3, 3}), boost::test_tools::per_element());
  for (const auto& e : r.errors) BOOST_TEST(e.type == "InvalidTemplateException");
  BOOST_TEST(starts_with(
      r.errors[0].message,
      "Could not find member 'typeMatchExpressionFake' on object of type 'CalculatedFunctionContentTemplate'"));
  BOOST_TEST(starts_with(
      r.errors[1].message,
      "Could not find member 'deviceIdExpressionFake' on object of type 'CalculatedFunctionContentTemplate'"));
  BOOST_TEST(r.errors[2].message == "Required property 'TypeMatchExpression' not found in JSON.");
  BOOST_TEST(r.errors[3].message == "Required property 'DeviceIdExpression' not found in JSON.");
  BOOST_TEST(r.errors[0].property == "typeMatchExpressionFake");
}

BOOST_AUTO_TEST_CASE(a20_expression_objects_default_to_json_path) {
  for (const char* file : {"data_CalculatedFunctionContentTemplateValidExpressionObject.json",
                           "data_CalculatedFunctionContentTemplateValid.json",
                           "data_CalculatedFunctionContentTemplateValidOptional.json"}) {
    BOOST_TEST_CONTEXT(file) {
      auto m = load_valid(as_collection(template_input(file)));
      BOOST_REQUIRE_EQUAL(m->template_count(), 1u);
      const dm::content_template& t = m->templates()[0];
      BOOST_TEST(t.kind == dm::template_kind::calculated_content);
      BOOST_TEST(t.type_name == "heartrate");
      for (const auto* e : {&t.type_match, &t.device_id, &t.timestamp}) {
        BOOST_REQUIRE(e->has_value());
        BOOST_TEST((e->value().language() == dm::expression_language::json_path));
      }
      BOOST_TEST(t.type_match->text() == "$..[?(@heartrate)]");
      BOOST_TEST(t.device_id->text() == "$.device");
      BOOST_TEST(t.timestamp->text() == "$.date");
      BOOST_REQUIRE_EQUAL(t.values.size(), 1u);
      BOOST_TEST(t.values[0].name == "hr");
      BOOST_TEST(t.values[0].required);
      BOOST_TEST((t.values[0].expression->language() == dm::expression_language::json_path));
    }
  }
  auto opt = load_valid(as_collection(template_input("data_CalculatedFunctionContentTemplateValidOptional.json")));
  const dm::content_template& t = opt->templates()[0];
  BOOST_TEST(t.correlation_id->text() == "$.correlationId");
  BOOST_TEST(t.patient_id->text() == "$.patientId");
  BOOST_TEST(t.encounter_id->text() == "$.encounterId");
}

BOOST_AUTO_TEST_CASE(a21_legacy_missing_fields) {
  struct file_case {
    const char* file;
    std::vector<std::string> missing;
  };
  const file_case cases[] = {
      {"data_JsonPathContentTemplateInvalidMissingExpression.json", {"DeviceIdExpression", "TimestampExpression"}},
      {"data_IotJsonPathContentTemplateInvalidMissingTypeMetadata.json", {"TypeName", "TypeMatchExpression"}},
      {"data_IotJsonPathContentTemplateInvalidMissingValueField.json", {"ValueName"}},
      {"data_IotCentralJsonPathContentTemplateInvalidMissingTypeMetadata.json", {"TypeName", "TypeMatchExpression"}},
      {"data_IotCentralJsonPathContentTemplateInvalidMissingValueField.json", {"ValueName"}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.file) {
      auto r = dm::device_mapping::load(as_collection(template_input(c.file)));
      BOOST_TEST_INFO(join_errors(r.errors));
      BOOST_TEST(!r.valid());
      BOOST_REQUIRE_EQUAL(r.errors.size(), c.missing.size());
      for (std::size_t i = 0; i < c.missing.size(); ++i)
        BOOST_TEST(r.errors[i].message == "Required property '" + c.missing[i] + "' not found in JSON.");
    }
  }
}

BOOST_AUTO_TEST_CASE(a21_legacy_valid_templates_expose_fixed_expressions) {
  auto iot = load_valid(as_collection(template_input("data_IotJsonPathContentTemplateValid.json")));
  const dm::content_template& i = iot->templates()[0];
  BOOST_TEST(i.kind == dm::template_kind::iot_json_path_content);
  BOOST_TEST(!i.wraps_match);
  BOOST_TEST(i.device_id->text() == "$.SystemProperties.iothub-connection-device-id");
  BOOST_TEST(i.timestamp->text() == "$.Properties.iothub-creation-time-utc");
  BOOST_TEST(i.timestamp_fallback->text() == "$.SystemProperties.iothub-enqueuedtime");
  BOOST_TEST(i.type_match->text() == "$..[?(@Body.heartrate)]");

  auto iot_opt = load_valid(as_collection(template_input("data_IotJsonPathContentTemplateValidWithOptional.json")));
  BOOST_TEST(iot_opt->templates()[0].patient_id->text() == "$.patient");

  auto central = load_valid(as_collection(template_input("data_IotCentralJsonPathContentTemplateValid.json")));
  const dm::content_template& c = central->templates()[0];
  BOOST_TEST(c.kind == dm::template_kind::iot_central_json_path_content);
  BOOST_TEST(c.device_id->text() == "$.deviceId");
  BOOST_TEST(c.timestamp->text() == "$.enqueuedTime");
  BOOST_TEST(!c.timestamp_fallback);
  BOOST_TEST(c.values.size() == 2u);
  auto central_opt =
      load_valid(as_collection(template_input("data_IotCentralJsonPathContentTemplateValidWithOptional.json")));
  BOOST_TEST(central_opt->templates()[0].patient_id->text() == "$.messageProperties.patientId");

  auto jp = load_valid(as_collection(template_input("data_JsonPathContentTemplateValidWithOptional.json")));
  const dm::content_template& j = jp->templates()[0];
  BOOST_TEST(j.kind == dm::template_kind::json_path_content);
  BOOST_TEST(j.correlation_id->text() == "$.sessionid");
  BOOST_TEST(j.patient_id->text() == "$.patient");
  BOOST_TEST(!j.encounter_id);
  BOOST_TEST(load_valid(as_collection(template_input("data_JsonPathContentTemplateValid.json")))->template_count() ==
             1u);
}

BOOST_AUTO_TEST_CASE(property_values_and_case) {
  // Property names ignore case; "required" accepts booleans, "true"/"false" in any case, numbers.
  auto m = load_valid(collection_of("CalculatedContent", R"("TYPENAME":"t","typematchexpression":"$.Body",
      "DeviceIdExpression":{"value":"$.Body.d","language":"jsonpath","comment":"extra members are ignored"},
      "timestampExpression":{"value":"Body.t","language":1},
      "values":[{"valueName":"a","valueExpression":"$.Body.a","required":"TRUE"},
                {"valueName":"b","valueExpression":"$.Body.b","required":false},
                {"valueName":"c","valueExpression":"$.Body.c","required":1}])"));
  const dm::content_template& t = m->templates()[0];
  BOOST_TEST(t.type_name == "t");
  BOOST_TEST((t.timestamp->language() == dm::expression_language::jmes_path));
  BOOST_TEST(t.values[0].required);
  BOOST_TEST(!t.values[1].required);
  BOOST_TEST(t.values[2].required);

  auto bad =
      dm::device_mapping::load(collection_of("CalculatedContent", R"("typeName":"t","typeMatchExpression":"$.Body",
      "deviceIdExpression":"$.d","timestampExpression":"$.t","defaultExpressionLanguage":"XPath",
      "values":[{"valueName":"a","valueExpression":"$.a","required":"yes","extra":1}])"));
  BOOST_TEST_INFO(join_errors(bad.errors));
  BOOST_TEST(!bad.valid());
  BOOST_TEST(find_error(bad.errors, "Error converting value \"XPath\" to type 'TemplateExpressionLanguage'."));
  BOOST_TEST(find_error(bad.errors, "Could not convert string to boolean: yes."));
  BOOST_TEST(
      find_error(bad.errors, "Could not find member 'extra' on object of type 'CalculatedFunctionValueExpression'"));

  auto json_path_object = dm::device_mapping::load(collection_of("JsonPathContent", R"("typeName":"t",
      "typeMatchExpression":{"value":"$.Body"},"deviceIdExpression":"$.d","timestampExpression":"$.t",
      "defaultExpressionLanguage":"JsonPath")"));
  BOOST_TEST(find_error(json_path_object.errors, "Error reading string. Unexpected token: StartObject."));
  BOOST_TEST(
      find_error(json_path_object.errors,
                 "Could not find member 'defaultExpressionLanguage' on object of type 'JsonPathContentTemplate'"));

  auto null_required = dm::device_mapping::load(collection_of("JsonPathContent", R"("typeName":"t",
      "typeMatchExpression":null,"deviceIdExpression":"$.d","timestampExpression":"$.t")"));
  BOOST_TEST(find_error(null_required.errors, "Required property 'TypeMatchExpression' expects a value but got null."));
}

BOOST_AUTO_TEST_CASE(calculated_content_load_failures) {
  auto no_values = dm::device_mapping::load(collection_of("CalculatedContent", R"("typeName":"t",
      "typeMatchExpression":"$.Body","deviceIdExpression":"$.d","timestampExpression":"$.t")"));
  BOOST_TEST(!no_values.valid());
  BOOST_REQUIRE_EQUAL(no_values.errors.size(), 1u);
  BOOST_TEST(no_values.errors[0].type == "NullReferenceException");
  BOOST_TEST(no_values.mapping->template_count() == 0u);

  auto blank = dm::device_mapping::load(collection_of("CalculatedContent", R"("typeName":"t",
      "typeMatchExpression":"$.Body","deviceIdExpression":" ","timestampExpression":"$.t","values":[])"));
  BOOST_TEST(!blank.valid());
  BOOST_REQUIRE_EQUAL(blank.errors.size(), 1u);
  BOOST_TEST(blank.errors[0].type == "ArgumentException");
  BOOST_TEST(blank.errors[0].property == "deviceIdExpression");

  // JSON Path parse failures surface per message upstream; here also as a load warning.
  auto bad_path = dm::device_mapping::load(collection_of("JsonPathContent", R"("typeName":"t",
      "typeMatchExpression":"$.Body[","deviceIdExpression":"$.d","timestampExpression":"$.t")"));
  BOOST_TEST(bad_path.valid());
  BOOST_REQUIRE_EQUAL(bad_path.errors.size(), 1u);
  BOOST_TEST(bad_path.errors[0].warning);
  BOOST_TEST(bad_path.errors[0].type == "TemplateExpressionException");
  auto e = failure(*bad_path.mapping, R"({"Body":{}})");
  BOOST_TEST(e.type == "TemplateExpressionException");
  BOOST_TEST(e.message.find("Unable to retrieve JsonTokens using expression $.Body[") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(odd_mappings_load_with_errors_not_crashes) {
  const char* texts[] = {
      "",
      "null",
      "{}",
      "[1]",
      "{\"templateType\":5,\"template\":[]}",
      "{\"templateType\":\"CollectionContent\",\"template\":null}",
      R"({"templateType":"CollectionContent","template":[null,1,"x",{},{"templateType":"JsonPathContent"},
         {"templateType":"JsonPathContent","template":{"values":[null,1,{"valueName":{}},{"valueExpression":[]}]}},
         {"templateType":"CalculatedContent","template":{"typeName":[],"typeMatchExpression":5,
           "deviceIdExpression":{"language":"JmesPath"},"timestampExpression":{"value":null},"values":{}}},
         {"templateType":"CalculatedContent","template":{"typeName":"t","typeMatchExpression":"$",
           "deviceIdExpression":{"value":"a","language":7},"timestampExpression":["x"],"values":[null],
           "defaultExpressionLanguage":null}}]})",
  };
  for (const char* text : texts) {
    BOOST_TEST_CONTEXT(text) {
      auto r = dm::device_mapping::load(text);
      BOOST_TEST(r.mapping);
      BOOST_TEST(!r.valid());
      for (const auto& e : r.errors) BOOST_TEST(!e.message.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(odd_envelopes) {
  auto m = load_valid(R"({"templateType":"CollectionContent","template":[{"templateType":"CalculatedContent",
      "template":{"typeName":"t","typeMatchExpression":"$..[?(@x)]","deviceIdExpression":"$.matchedToken.d",
      "timestampExpression":"$.matchedToken.t","values":[]}}]})");
  json::arena scratch;
  std::vector<mapping::measurement> out;
  auto r = m->normalize(json::value::integer(5), scratch, out);
  BOOST_TEST(!r);
  BOOST_TEST(out.empty());
  BOOST_TEST(measurements(*m, R"({"Body":null,"Properties":{},"SystemProperties":{}})").empty());
  // Deep nesting (the reader caps depth at 64 like Newtonsoft): every container is scanned.
  std::string deep(50, '[');
  deep += "{\"x\":1,\"d\":\"dev\",\"t\":\"2020-01-01T00:00:00Z\"}";
  deep += std::string(50, ']');
  auto ms = measurements(*m, "{\"Body\":" + deep + "}");
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].device_id == "dev");
}

BOOST_AUTO_TEST_SUITE_END()
