// FHIR mapping loading and validation (iomt-spec §6, expected C1, C2).
#include "fhir_test_support.hpp"

namespace mf = iomt::mapping::fhir;
using namespace iomt::test;
using namespace iomt::test::fhir;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

const iomt::mapping::template_error* find_error(const mf::load_result& r, const std::string& text) {
  for (const auto& e : r.errors)
    if (contains(e.message, text)) return &e;
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fhir_template_load)

// C1: CodeValueFhir parsing.
BOOST_AUTO_TEST_CASE(c1_sampled_data_template) {
  auto r = load_ok(as_collection(fhir_template_input("data_CodeValueFhirTemplate_SampledData.json")));
  const mf::code_value_template* t = r.mapping->find("heartrate");
  BOOST_TEST_REQUIRE(t);
  BOOST_TEST(t->type_name == "heartrate");
  BOOST_TEST(t->period_interval == 60);
  BOOST_TEST_REQUIRE(t->value.has_value());
  BOOST_TEST((t->value->kind == mf::value_kind::sampled_data));
  BOOST_TEST(*t->value->default_period_ms == 5000.0);
  BOOST_TEST(t->value->default_period.as_int64() == 5000);
  BOOST_TEST(*t->value->unit == "bpm");
  BOOST_TEST(*t->value->value_name == "hr");
  BOOST_TEST_REQUIRE(t->codes.size() == 1u);
  BOOST_TEST(*t->codes[0].code == "8867-4");
  BOOST_TEST(*t->codes[0].system == "http://loinc.org");
  BOOST_TEST(*t->codes[0].display == "Heart rate");
}

BOOST_AUTO_TEST_CASE(c1_components_and_quantity_templates) {
  auto r = load_ok(as_collection(fhir_template_input("data_CodeValueFhirTemplate_Components.json")));
  const mf::code_value_template* t = r.mapping->find("bloodpressure");
  BOOST_TEST_REQUIRE(t);
  BOOST_TEST(t->period_interval == 60);
  BOOST_TEST(!t->value.has_value());
  BOOST_TEST_REQUIRE(t->components->size() == 2u);
  const auto& dia = (*t->components)[0];
  BOOST_TEST(*dia.codes[0].code == "8867-4");
  BOOST_TEST(*dia.codes[0].display == "Diastolic blood pressure");
  BOOST_TEST(*dia.value->value_name == "diastolic");
  BOOST_TEST((dia.value->kind == mf::value_kind::sampled_data));
  BOOST_TEST(*dia.value->default_period_ms == 5000.0);
  BOOST_TEST(*dia.value->unit == "mmHg");
  BOOST_TEST(*(*t->components)[1].codes[0].code == "8480-6");

  auto q = load_ok(as_collection(fhir_template_input("data_CodeValueFhirTemplate_Quantity.json")));
  const auto& qc = (*q.mapping->find("bloodpressure")->components)[0];
  BOOST_TEST((qc.value->kind == mf::value_kind::quantity));
  BOOST_TEST(*qc.value->system == "http://unitsofmeasure.org");
  BOOST_TEST(*qc.value->code == "mm[Hg]");
  BOOST_TEST(*qc.value->unit == "mmHg");
}

BOOST_AUTO_TEST_CASE(c1_codeable_concept_and_string_templates) {
  auto r = load_ok(as_collection(fhir_template_input("data_CodeValueFhirTemplate_CodeableConceptData.json")));
  const mf::code_value_template* t = r.mapping->find("ALARMEVENT");  // lookup is case-insensitive
  BOOST_TEST_REQUIRE(t);
  BOOST_TEST(t->type_name == "alarmevent");
  BOOST_TEST(t->period_interval == 0);
  BOOST_TEST((t->value->kind == mf::value_kind::codeable_concept));
  BOOST_TEST(*t->value->text == "Alarm!");
  BOOST_TEST_REQUIRE(t->value->codes->size() == 1u);
  BOOST_TEST(*(*t->value->codes)[0].code == "alarmevent");
  BOOST_TEST(*(*t->value->codes)[0].system == "https://www.contso.com/events/v1");
  BOOST_TEST(*(*t->value->codes)[0].display == "Alarm Event");

  auto s = load_ok(as_collection(fhir_template_input("data_CodeValueFhirTemplate_String.json")));
  const mf::code_value_template* st = s.mapping->find("stringDetail");
  BOOST_TEST((st->value->kind == mf::value_kind::string));
  BOOST_TEST(*st->value->value_name == "reasonText");
  BOOST_TEST(st->period_interval == 0);

  auto cs =
      load_ok(as_collection(fhir_template_input("data_CodeValueFhirTemplate_CodeableConceptAndStringComponent.json")));
  const mf::code_value_template* ct = cs.mapping->find("alarmEvent");
  BOOST_TEST((ct->value->kind == mf::value_kind::codeable_concept));
  BOOST_TEST_REQUIRE(ct->components->size() == 1u);
  BOOST_TEST(((*ct->components)[0].value->kind == mf::value_kind::string));
  BOOST_TEST(*(*ct->components)[0].value->value_name == "reason");
}

BOOST_AUTO_TEST_CASE(c1_missing_fields) {
  auto r = mf::fhir_mapping::load(
      as_collection(fhir_template_input("data_CodeValueFhirTemplateInvalid_MissingFields.json")));
  BOOST_TEST(!r.valid());
  BOOST_TEST(find_error(r, "Required property 'TypeName' not found in JSON."));
  auto c = mf::fhir_mapping::load(
      as_collection(fhir_template_input("data_CodeValueFhirTemplateInvalid_MissingCodeField.json")));
  BOOST_TEST(!c.valid());
  const auto* e = find_error(c, "Required property 'Codes' not found in JSON.");
  BOOST_TEST_REQUIRE(e);
  BOOST_TEST(e->template_index == 0);
  BOOST_TEST(e->type == "JsonSerializationException");
}

// C2: CollectionFhir validation.
BOOST_AUTO_TEST_CASE(c2_invalid_collection) {
  auto r = mf::fhir_mapping::load(fhir_template_input("data_CollectionFhirTemplateInvalid.json"));
  BOOST_TEST(!r.valid());
  const std::string all = all_messages(r.errors);
  BOOST_TEST(contains(all, "Required property 'TypeName' not found in JSON."), all);
  BOOST_TEST(contains(all, "Duplicate template defined for type name: 'steps'"), all);
  BOOST_TEST(contains(all, "Property ValueType is missing."), all);
  BOOST_TEST(contains(all, "Empty type name is not allowed."), all);
  const auto* missing = find_error(r, "Required property 'TypeName'");
  BOOST_TEST(missing->template_index == 0);
  BOOST_TEST(missing->pos.line == 6u);  // the template object's '{'
  const auto* dup = find_error(r, "Duplicate template");
  BOOST_TEST(dup->template_index == 3);
  // The template with the broken value is still registered (valid elements are kept).
  BOOST_TEST(r.mapping->find("steps"));
  BOOST_TEST(r.mapping->type_names().size() == 1u);
}

BOOST_AUTO_TEST_CASE(c2_valid_and_empty_collections) {
  load_ok(fhir_template_input("data_CollectionFhirTemplateEmptyWithType.json"));
  auto v = load_ok(fhir_template_input("data_CollectionFhirTemplateValid.json"));
  BOOST_TEST(v.mapping->type_names().size() >= 4u);
  BOOST_TEST(v.mapping->find("HeartRate"));

  auto e = mf::fhir_mapping::load(fhir_template_input("data_CollectionFhirTemplateEmpty.json"));
  BOOST_TEST(!e.valid());
  BOOST_TEST(find_error(e, "Expected TemplateType value CollectionFhirTemplate, actual ."));
  auto bad = mf::fhir_mapping::load(template_input("data_InvalidJson.txt"));
  BOOST_TEST(!bad.valid());
  BOOST_TEST(bad.mapping);
}

BOOST_AUTO_TEST_CASE(c2_mixed_validity) {
  auto r = mf::fhir_mapping::load(fhir_template_input("data_CollectionFhirTemplateMixedValidity.json"));
  BOOST_TEST(!r.valid());
  const mf::code_value_template* t = r.mapping->find("bloodpressure");
  BOOST_TEST_REQUIRE(t);
  BOOST_TEST(t->period_interval == 60);
}

BOOST_AUTO_TEST_CASE(c2_wrong_types) {
  auto r = mf::fhir_mapping::load(fhir_template_input("data_InvalidTemplateType.json"));
  BOOST_TEST(!r.valid());
  BOOST_TEST(find_error(r, "Expected TemplateType value CollectionFhirTemplate, actual templateType."));
  auto n = mf::fhir_mapping::load(fhir_template_input("data_InvalidCollectionFhirTemplateWithNoTemplateArray.json"));
  BOOST_TEST(
      find_error(n, "Expected an array for the template property value for template type CollectionFhirTemplate."));
  auto m = mf::fhir_mapping::load(fhir_template_input("data_CollectionFhirTemplateMultipleMocks.json"));
  BOOST_TEST(find_error(m, "Expected TemplateType value CodeValueFhirTemplate, actual mockA."));
  BOOST_TEST(find_error(m, "Expected TemplateType value CodeValueFhirTemplate, actual mockB."));
  // Validator: a bare CodeValueFhir given as the FHIR mapping -> error at line 2.
  auto bare = mf::fhir_mapping::load(validation_input("data_CodeValueFhirTemplateInvalid_MissingFields.json"));
  const auto* e = find_error(bare, "Expected TemplateType value CollectionFhirTemplate, actual CodeValueFhir.");
  BOOST_TEST_REQUIRE(e);
  BOOST_TEST(e->pos.line == 2u);
}

BOOST_AUTO_TEST_CASE(unknown_members_and_case_insensitive_names) {
  const std::string text = R"({"TemplateType":"collectionfhirtemplate","Template":[
 {"TEMPLATETYPE":"codeValueFhir","template":{
   "TYPENAME":"hr","Codes":[{"code":"1","bogus":2}],"foo":1,
   "category":[{"text":"t","extra":1}],
   "components":[{"codes":[],"value":{"valueType":"quantity","valueName":"x","ignored":true},"nope":0}],
   "value":{"valueType":"sampledData","valueName":"hr","defaultPeriod":"1,000.5","whatever":[1]}}}]})";
  auto r = mf::fhir_mapping::load(text);
  BOOST_TEST(!r.valid());
  const auto* foo = find_error(r, "Could not find member 'foo' on object of type 'CodeValueFhirTemplate'");
  BOOST_TEST_REQUIRE(foo);
  BOOST_TEST(foo->pos.line == 3u);
  BOOST_TEST(foo->property == "foo");
  BOOST_TEST(find_error(r, "Could not find member 'bogus' on object of type 'FhirCode'"));
  BOOST_TEST(find_error(r, "Could not find member 'extra' on object of type 'FhirCodeableConcept'"));
  BOOST_TEST(find_error(r, "Could not find member 'nope' on object of type 'CodeValueMapping'"));
  BOOST_TEST(r.errors.size() == 4u, all_messages(r.errors));
  const mf::code_value_template* t = r.mapping->find("HR");
  BOOST_TEST_REQUIRE(t);
  BOOST_TEST(*t->value->default_period_ms == 1000.5);
}

BOOST_AUTO_TEST_CASE(value_type_discriminator) {
  auto load_value = [](const std::string& value_json) {
    return mf::fhir_mapping::load(R"({"templateType":"CollectionFhir","template":[{"templateType":"CodeValueFhir",
      "template":{"typeName":"t","codes":[],"value":)" +
                                  value_json + "}}]}");
  };
  BOOST_TEST(load_value(R"({"ValueType":"String","valueName":"v"})").valid());
  BOOST_TEST(load_value(R"({"valueType":"STRING","valueName":"v"})").valid());
  auto wrong_case = load_value(R"({"VALUETYPE":"String","valueName":"v"})");
  BOOST_TEST(find_error(wrong_case, "Property ValueType is missing."));
  auto unknown = load_value(R"({"valueType":"Ratio"})");
  BOOST_TEST_REQUIRE(!unknown.errors.empty());
  BOOST_TEST(unknown.errors[0].type == "NotImplementedException");
  BOOST_TEST(unknown.errors[0].message == "Ratio");
  auto null_value = load_value("null");
  BOOST_TEST(find_error(null_value, "Cannot access child value on Newtonsoft.Json.Linq.JValue."));
  auto bad_period = load_value(R"({"valueType":"SampledData","defaultPeriod":"abc"})");
  BOOST_TEST(find_error(bad_period, "Could not convert string to decimal: abc."));
}

BOOST_AUTO_TEST_CASE(period_interval_forms) {
  auto interval = [](const std::string& v) -> std::optional<std::int32_t> {
    auto r = mf::fhir_mapping::load(R"({"templateType":"CollectionFhir","template":[{"templateType":"CodeValueFhir",
      "template":{"typeName":"t","codes":[],"periodInterval":)" +
                                    v + "}}]}");
    if (!r.valid()) return std::nullopt;
    return r.mapping->find("t")->period_interval;
  };
  BOOST_TEST(*interval("60") == 60);
  BOOST_TEST(*interval("\"hourly\"") == 60);
  BOOST_TEST(*interval("\"Daily\"") == 1440);
  BOOST_TEST(*interval("\"correlationid\"") == -1);
  BOOST_TEST(*interval("\" 1440 \"") == 1440);
  BOOST_TEST(*interval("\"-1\"") == -1);
  BOOST_TEST(*interval("5") == 5);            // loads; fails when grouping (NotSupportedException)
  BOOST_TEST(*interval("4294967356") == 60);  // Enum.ToObject truncation
  BOOST_TEST(!interval("\"weekly\""));
  BOOST_TEST(!interval("60.5"));
  BOOST_TEST(!interval("true"));
  auto r = mf::fhir_mapping::load(R"({"templateType":"CollectionFhir","template":[{"templateType":"CodeValueFhir",
      "template":{"typeName":"t","codes":[],"periodInterval":"weekly"}}]})");
  BOOST_TEST(find_error(
      r,
      "Error converting value \"weekly\" to type 'Microsoft.Health.Fhir.Ingest.Template.ObservationPeriodInterval'."));
}

BOOST_AUTO_TEST_CASE(template_not_found) {
  auto r = load_ok(fhir_template_input("data_CollectionFhirTemplateValid.json"));
  auto miss = r.mapping->get("bodyweight");
  BOOST_TEST_REQUIRE(!miss);
  BOOST_TEST(miss.error().type == "TemplateNotFoundException");
  BOOST_TEST(contains(miss.error().message, "bodyweight"));
  BOOST_TEST(contains(miss.error().message, "FhirDataMappingException"));
  BOOST_TEST(*r.mapping->get("STEPS") == r.mapping->find("steps"));
}

BOOST_AUTO_TEST_CASE(hostile_inputs_do_not_crash) {
  for (const char* text : {"", "null", "[]", "42", "{\"templateType\":\"CollectionFhir\",\"template\":[null,1,[],{}]}",
                           "{\"templateType\":\"CollectionFhir\",\"template\":[{\"templateType\":\"CodeValueFhir\","
                           "\"template\":{\"typeName\":[],\"codes\":{},\"category\":7,\"components\":[null,3]}}]}"}) {
    auto r = mf::fhir_mapping::load(text);
    BOOST_TEST(!r.valid(), text);
    BOOST_TEST(r.mapping);
  }
}

BOOST_AUTO_TEST_SUITE_END()
