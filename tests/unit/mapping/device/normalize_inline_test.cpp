// Inline templates from the upstream template unit tests (expected A7-A13) and the extraction
// rules of iomt-spec §3.4-§3.5 / §13.1.
#include "device_test_support.hpp"

#include <initializer_list>

using namespace iomt;
using namespace iomt::test;
using namespace iomt::test::device;

namespace {

// A CollectionContent of the given {templateType, template} containers.
std::string collection(std::initializer_list<std::string> containers) {
  std::string s = "{\"templateType\":\"CollectionContent\",\"template\":[";
  bool first = true;
  for (const auto& c : containers) {
    if (!first) s += ',';
    s += c;
    first = false;
  }
  return s + "]}";
}

std::string calculated(const std::string& body) {
  return "{\"templateType\":\"CalculatedContent\",\"template\":{" + body + "}}";
}
std::string json_path(const std::string& body) {
  return "{\"templateType\":\"JsonPathContent\",\"template\":{" + body + "}}";
}

std::shared_ptr<const dm::device_mapping> one(const std::string& container) {
  return load_valid(collection({container}));
}

const std::string t0 = "2024-05-06T07:08:09.1234567Z";
const std::string date = "\"date\":\"" + t0 + "\"";

// GetMultiValueTemplates: JSONPath and JMESPath variants.
std::vector<std::shared_ptr<const dm::device_mapping>> multi_value_templates() {
  return {one(calculated(R"("typeName":"hrStepCombo","typeMatchExpression":"$..[?(@heartrate || @steps)]",
        "deviceIdExpression":"$.device","timestampExpression":"$.date",
        "values":[{"valueName":"hr","valueExpression":"$.heartrate"},{"valueName":"steps","valueExpression":"$.steps"}])")),
          one(calculated(R"("defaultExpressionLanguage":"JmesPath","typeName":"hrStepCombo",
        "typeMatchExpression":"to_array(@)[?heartrate || steps]","deviceIdExpression":"device","timestampExpression":"date",
        "values":[{"valueName":"hr","valueExpression":"heartrate"},{"valueName":"steps","valueExpression":"steps"}])"))};
}

// GetMultiValueRequiredTemplates (+ the JsonPathContent variant of JsonPathContentTemplateTests).
std::vector<std::shared_ptr<const dm::device_mapping>> multi_value_required_templates() {
  return {one(calculated(R"("typeName":"bloodpressure","typeMatchExpression":"$..[?(@systolic)]",
        "deviceIdExpression":"$.matchedToken.device","timestampExpression":"$.matchedToken.date",
        "values":[{"valueName":"systolic","valueExpression":"$.matchedToken.systolic","required":true},
                  {"valueName":"diastolic","valueExpression":"$.matchedToken.diastolic","required":true}])")),
          one(calculated(R"("defaultExpressionLanguage":"JmesPath","typeName":"bloodpressure",
        "typeMatchExpression":"Body[?systolic]","deviceIdExpression":"matchedToken.device",
        "timestampExpression":"matchedToken.date",
        "values":[{"valueName":"systolic","valueExpression":"matchedToken.systolic","required":true},
                  {"valueName":"diastolic","valueExpression":"matchedToken.diastolic","required":true}])")),
          one(json_path(R"("typeName":"bloodpressure","typeMatchExpression":"$..[?(@systolic)]",
        "deviceIdExpression":"$.device","timestampExpression":"$.date",
        "values":[{"valueName":"systolic","valueExpression":"$.systolic","required":true},
                  {"valueName":"diastolic","valueExpression":"$.diastolic","required":true}])"))};
}

// GetSingleValueTemplates.
std::vector<std::shared_ptr<const dm::device_mapping>> single_value_templates() {
  return {one(calculated(R"("defaultExpressionLanguage":"JmesPath","typeName":"heartrate",
        "typeMatchExpression":"to_array(@)[?heartrate]","deviceIdExpression":"device","timestampExpression":"date",
        "values":[{"valueName":"hr","valueExpression":"heartrate"}])")),
          one(calculated(R"("typeName":"heartrate","typeMatchExpression":"$..[?(@heartrate)]",
        "deviceIdExpression":"$.device","timestampExpression":"$.date",
        "values":[{"valueName":"hr","valueExpression":"$.heartrate"}])")),
          one(json_path(R"("typeName":"heartrate","typeMatchExpression":"$..[?(@heartrate)]",
        "deviceIdExpression":"$.device","timestampExpression":"$.date",
        "values":[{"valueName":"hr","valueExpression":"$.heartrate"}])"))};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(inline_templates)

BOOST_AUTO_TEST_CASE(a7_multi_value_optional_values) {
  for (const auto& m : multi_value_templates()) {
    auto ms = measurements(*m, "{\"heartrate\":\"60\",\"device\":\"abc\"," + date + "}");
    BOOST_REQUIRE_EQUAL(ms.size(), 1u);
    BOOST_TEST(ms[0].type == "hrStepCombo");
    BOOST_TEST(ms[0].device_id == "abc");
    BOOST_TEST(iso(ms[0].occurrence_time) == t0);
    BOOST_TEST(!ms[0].patient_id);
    BOOST_TEST(!ms[0].encounter_id);
    BOOST_TEST(!ms[0].correlation_id);
    BOOST_TEST(props(ms[0]) == "hr=60");

    auto all = measurements(*m, "{\"heartrate\":\"60\",\"steps\":\"2\",\"device\":\"abc\"," + date + "}");
    BOOST_REQUIRE_EQUAL(all.size(), 1u);
    BOOST_TEST(props(all[0]) == "hr=60|steps=2");
  }
}

BOOST_AUTO_TEST_CASE(a8_required_values) {
  const std::string d = "\"device\":\"abc\"," + date;
  for (const auto& m : multi_value_required_templates()) {
    auto e1 = failure(*m, "{\"Body\":[{\"systolic\":\"120\"," + d + "}]}");
    BOOST_TEST(e1.type == "IncompatibleDataException");
    BOOST_TEST(starts_with(e1.message, "Unable to extract required value for [diastolic]"));
    auto e2 = failure(*m, "{\"Body\":[{\"systolic\":\"120\",\"diastolic\":null," + d + "}]}");
    BOOST_TEST(e2.type == "IncompatibleDataException");
    auto e3 = failure(*m, "{\"Body\":[{\"systolic\":\"120\",\"diastolic\":\"\"," + d + "}]}");
    BOOST_TEST(e3.type == "IncompatibleDataException");
    BOOST_TEST(
        e3.message ==
        "Unable to extract required value for [diastolic]\n1:One or more errors occurred. (A null or empty value "
        "was supplied for the required field [diastolic])\n2:A null or empty value was supplied for the "
        "required field [diastolic]");
    auto e4 = failure(*m, "{\"Body\":[{\"systolic\":\"120\",\"diastolic\":\"  \"," + d + "}]}");
    BOOST_TEST(e4.type == "IncompatibleDataException");

    auto ok = measurements(*m, "{\"Body\":[{\"systolic\":\"120\",\"diastolic\":\"80\"," + d +
                                   "},{\"systolic\":\"122\",\"diastolic\":\"82\",\"device\":\"abc\",\"date\":"
                                   "\"2024-05-06T07:07:09Z\"}]}");
    BOOST_REQUIRE_EQUAL(ok.size(), 2u);
    BOOST_TEST(props(ok[0]) == "systolic=120|diastolic=80");
    BOOST_TEST(iso(ok[0].occurrence_time) == t0);
    BOOST_TEST(props(ok[1]) == "systolic=122|diastolic=82");
    BOOST_TEST(iso(ok[1].occurrence_time) == "2024-05-06T07:07:09Z");
  }
}

BOOST_AUTO_TEST_CASE(a8_parent_scope) {
  // GetParentScopeAndMultiValueRequiredTemplates: device id from the envelope, the rest from the match.
  for (const std::string dev : {"$.Properties.deviceId", "Properties.deviceId"}) {
    const bool jmes = dev[0] != '$';
    const std::string p = jmes ? "matchedToken." : "$.matchedToken.";
    auto m = one(calculated(std::string(jmes ? "\"defaultExpressionLanguage\":\"JmesPath\"," : "") +
                            "\"typeName\":\"bloodpressure\",\"typeMatchExpression\":\"" +
                            (jmes ? "Body[?systolic]" : "$..[?(@systolic)]") + "\",\"deviceIdExpression\":\"" + dev +
                            "\",\"timestampExpression\":\"" + p +
                            "date\",\"values\":[{\"valueName\":\"systolic\","
                            "\"valueExpression\":\"" +
                            p +
                            "systolic\",\"required\":true},{\"valueName\":\"diastolic\","
                            "\"valueExpression\":\"" +
                            p + "diastolic\",\"required\":true}]"));
    auto ms = measurements(*m,
                           "{\"Properties\":{\"deviceId\":\"parentScopedDeviceId\"},\"Body\":[{\"systolic\":\"120\","
                           "\"diastolic\":\"80\"," +
                               date + "},{\"systolic\":\"122\",\"diastolic\":\"82\"," + date + "}]}");
    BOOST_REQUIRE_EQUAL(ms.size(), 2u);
    BOOST_TEST(ms[0].device_id == "parentScopedDeviceId");
    BOOST_TEST(props(ms[1]) == "systolic=122|diastolic=82");
  }
}

BOOST_AUTO_TEST_CASE(a9_required_field_messages) {
  const std::string token = "{\"heartrate\":\"60\",\"device\":\"abc\"," + date + "}";
  const std::string base = R"("typeName":"heartrate","typeMatchExpression":"$..[?(@heartrate)]")";
  {
    auto m = one(calculated(base + R"(,"deviceIdExpression":"$.device","timestampExpression":"$.date",
        "values":[{"valueName":"hr","valueExpression":"$.missingField","required":true}])"));
    auto e = failure(*m, token);
    BOOST_TEST(e.type == "IncompatibleDataException");
    BOOST_TEST(e.message == "Unable to extract required value for [hr] using $.missingField");
  }
  {
    auto m = one(calculated(base + R"(,"deviceIdExpression":"$.device","timestampExpression":"$.date",
        "correlationIdExpression":"$.missingsession","values":[])"));
    auto e = failure(*m, token);
    BOOST_TEST(starts_with(e.message, "Unable to extract required value for [CorrelationIdExpression]"));
  }
  {
    auto m = one(calculated(base + R"(,"deviceIdExpression":"$.badDeviceExpression","timestampExpression":"$.date",
        "values":[])"));
    auto e = failure(*m, token);
    BOOST_TEST(e.type == "IncompatibleDataException");
    BOOST_TEST(e.message == "Unable to extract required value for [DeviceIdExpression] using $.badDeviceExpression");
  }
  {
    // JsonPathContentTemplateTests.GivenTemplateWithCorrelationIdAndIdMissing
    auto m = one(json_path(base + R"(,"deviceIdExpression":"$.device","timestampExpression":"$.date",
        "correlationIdExpression":"$.session","values":[{"valueName":"hr","valueExpression":"$.heartrate"}])"));
    auto e = failure(*m, token);
    BOOST_TEST(e.message == "Unable to extract required value for [CorrelationIdExpression] using $.session");
    auto ok = measurements(*m, "{\"heartrate\":\"60\",\"device\":\"abc\",\"session\":\"s-1\"," + date + "}");
    BOOST_REQUIRE_EQUAL(ok.size(), 1u);
    BOOST_TEST(ok[0].correlation_id.value_or("") == "s-1");
  }
  // Blank JsonPath-family expressions count as absent: a load warning, then per message errors.
  for (const char* blank : {"", "  "}) {
    auto r = dm::device_mapping::load(
        collection({json_path(std::string(R"("typeName":"heartrate","typeMatchExpression":")") + blank +
                              R"(","deviceIdExpression":"$.device","timestampExpression":"$.date")")}));
    BOOST_TEST(r.valid());
    BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
    BOOST_TEST(r.errors[0].warning);
    auto e = failure(*r.mapping, token);
    BOOST_TEST(e.type == "IncompatibleDataException");
    BOOST_TEST(e.message == "An expression must be set for [TypeMatchExpression]");
  }
  const std::pair<std::string, std::string> blanks[] = {
      {R"("deviceIdExpression":"","timestampExpression":"$.date")", "DeviceIdExpression"},
      {R"("deviceIdExpression":"$.device","timestampExpression":" ")", "TimestampExpression"}};
  for (const auto& [fields, name] : blanks) {
    auto r = dm::device_mapping::load(collection({json_path(base + "," + fields)}));
    BOOST_TEST(r.valid());
    auto e = failure(*r.mapping, token);
    BOOST_TEST(e.type == "IncompatibleDataException");
    BOOST_TEST(e.message == "An expression must be set for [" + name + "]");
  }
}

BOOST_AUTO_TEST_CASE(a10_null_timestamp) {
  for (const auto& m : single_value_templates()) {
    auto e = failure(*m, "{\"heartrate\":\"60\",\"device\":\"abc\",\"date\":null}");
    BOOST_TEST(e.type == "IncompatibleDataException");
    BOOST_TEST(starts_with(e.message, "Unable to extract required value for [TimestampExpression]"));
  }
}

BOOST_AUTO_TEST_CASE(a11_non_matching_messages_yield_nothing) {
  auto compound = {one(calculated(R"("typeName":"heartrate","typeMatchExpression":"$..[?(@heartrate && @date)]",
        "deviceIdExpression":"$.device","timestampExpression":"$.date",
        "values":[{"valueName":"hr","valueExpression":"$.heartrate","required":true}])")),
                   one(calculated(R"("typeName":"heartrate","defaultExpressionLanguage":"JmesPath",
        "typeMatchExpression":"to_array(@)[?heartrate && date]","deviceIdExpression":"matchedToken.device",
        "timestampExpression":"matchedToken.date",
        "values":[{"valueName":"hr","valueExpression":"matchedToken.heartrate","required":true}])")),
                   one(json_path(R"("typeName":"heartrate","typeMatchExpression":"$..[?(@heartrate && @date)]",
        "deviceIdExpression":"$.device","timestampExpression":"$.date",
        "values":[{"valueName":"hr","valueExpression":"$.heartrate","required":true}])"))};
  for (const auto& m : compound) {
    BOOST_TEST(measurements(*m, "{\"heartrate\":\"60\",\"device\":\"abc\",\"mdate\":\"" + t0 + "\"}").empty());
    auto ok = measurements(*m, "{\"heartrate\":\"60\",\"device\":\"abc\"," + date + "}");
    BOOST_REQUIRE_EQUAL(ok.size(), 1u);
    BOOST_TEST(props(ok[0]) == "hr=60");
  }
  for (const auto& m : single_value_templates())
    BOOST_TEST(measurements(*m, "{\"foo\":\"60\",\"device\":\"abc\"," + date + "}").empty());
}

BOOST_AUTO_TEST_CASE(a12_property_names_with_spaces) {
  const std::string body = R"("typeName":"space","typeMatchExpression":"$..[?(@['My Property'])]",
      "deviceIdExpression":"$.['My Property']","timestampExpression":"$.Time",
      "values":[{"valueName":"prop","valueExpression":"$.['My Property']"}])";
  for (const auto& m : {one(calculated(body)), one(json_path(body))}) {
    auto ms = measurements(*m, "{\"My Property\":\"data\",\"Time\":\"" + t0 + "\"}");
    BOOST_REQUIRE_EQUAL(ms.size(), 1u);
    BOOST_TEST(ms[0].type == "space");
    BOOST_TEST(ms[0].device_id == "data");
    BOOST_TEST(iso(ms[0].occurrence_time) == t0);
    BOOST_TEST(props(ms[0]) == "prop=data");
  }
}

BOOST_AUTO_TEST_CASE(a13_optional_patient_and_encounter) {
  auto templates = {one(calculated(R"("typeName":"heartrate","typeMatchExpression":"$..[?(@heartrate)]",
        "deviceIdExpression":"$.device","timestampExpression":"$.date","patientIdExpression":"$.pid",
        "encounterIdExpression":"$.eid","values":[{"valueName":"hr","valueExpression":"$.heartrate"}])")),
                    one(calculated(R"("defaultExpressionLanguage":"JmesPath","typeName":"heartrate",
        "typeMatchExpression":"to_array(@)[?heartrate]","deviceIdExpression":"device","timestampExpression":"date",
        "patientIdExpression":"pid","encounterIdExpression":"eid","values":[{"valueName":"hr","valueExpression":"heartrate"}])"))};
  for (const auto& m : templates) {
    auto ms =
        measurements(*m, "{\"heartrate\":\"60\",\"device\":\"abc\"," + date + ",\"pid\":\"123\",\"eid\":\"789\"}");
    BOOST_REQUIRE_EQUAL(ms.size(), 1u);
    BOOST_TEST(ms[0].patient_id.value_or("") == "123");
    BOOST_TEST(ms[0].encounter_id.value_or("") == "789");
    BOOST_TEST(!ms[0].correlation_id);
    BOOST_TEST(props(ms[0]) == "hr=60");
    // Absent optional ids stay null.
    auto none = measurements(*m, "{\"heartrate\":\"60\",\"device\":\"abc\"," + date + "}");
    BOOST_TEST(!none[0].patient_id);
    BOOST_TEST(!none[0].encounter_id);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(extraction_rules)

BOOST_AUTO_TEST_CASE(value_strings_follow_dotnet_conversion) {
  auto m = one(calculated(R"("typeName":"t","typeMatchExpression":"$.Body","deviceIdExpression":"$.Body.d",
      "timestampExpression":"$.Body.t","values":[{"valueName":"i","valueExpression":"$.matchedToken.i"},
      {"valueName":"f","valueExpression":"$.matchedToken.f"},{"valueName":"b","valueExpression":"$.matchedToken.b"},
      {"valueName":"date","valueExpression":"$.matchedToken.t"},{"valueName":"e","valueExpression":"$.matchedToken.e"},
      {"valueName":"w","valueExpression":"$.matchedToken.w"},{"valueName":"n","valueExpression":"$.matchedToken.n"},
      {"valueName":"o","valueExpression":"$.matchedToken.o"},{"valueName":"dup","valueExpression":"$.matchedToken.i"}])"));
  auto ms = measurements(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56.789Z","i":80,"f":20.0,"b":true,
      "e":"","w":"  ","n":null,"o":{"x":1}}})");
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  // Empty and whitespace strings are kept when not required; null and objects are omitted.
  BOOST_TEST(props(ms[0]) == "i=80|f=20|b=True|date=10/22/2020 01:34:56|e=|w=  |dup=80");
}

BOOST_AUTO_TEST_CASE(timestamps_from_strings_and_conversion_errors) {
  auto m = one(json_path(R"("typeName":"t","typeMatchExpression":"$.Body","deviceIdExpression":"$.d",
      "timestampExpression":"$.t")"));
  auto ok = measurements(*m, R"({"Body":{"d":"dev","t":"2020-10-22 01:34:56"}})");
  BOOST_REQUIRE_EQUAL(ok.size(), 1u);
  BOOST_TEST(iso(ok[0].occurrence_time).rfind("2020-10-22T01:34:56", 0) == 0u);
  auto e = failure(*m, R"({"Body":{"d":"dev","t":1603330496}})");
  BOOST_TEST(e.type == "IncompatibleDataException");
  BOOST_TEST(
      e.message ==
      "Unable to extract required value for [TimestampExpression]\n1:One or more errors occurred. (Encountered an "
      "error while extracting value for [TimestampExpression] using expression $.t)\n2:Encountered an error while "
      "extracting value for [TimestampExpression] using expression $.t\n3:Invalid cast from 'Int64' to 'DateTime'.");
  // An object device id fails the required device id; an object optional value is dropped silently.
  auto e2 = failure(*m, R"({"Body":{"d":{"a":1},"t":"2020-10-22T01:34:56Z"}})");
  BOOST_TEST(starts_with(e2.message, "Unable to extract required value for [DeviceIdExpression]\n1:"));
}

BOOST_AUTO_TEST_CASE(json_path_multiple_tokens_fail_even_optional_fields) {
  auto m = one(json_path(R"("typeName":"t","typeMatchExpression":"$.Body","deviceIdExpression":"$.d",
      "timestampExpression":"$.t","patientIdExpression":"$.p[*]")"));
  auto e = failure(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56Z","p":["a","b"]}})");
  BOOST_TEST(e.type == "TemplateExpressionException");
  BOOST_TEST(e.message.find("Unable to retrieve JsonToken using expression $.p[*]") != std::string::npos);
  auto one_p = measurements(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56Z","p":["a"]}})");
  BOOST_TEST(one_p[0].patient_id.value_or("") == "a");
}

BOOST_AUTO_TEST_CASE(jmes_path_projection_single_token_is_an_array) {
  auto m = one(calculated(R"("defaultExpressionLanguage":"JmesPath","typeName":"t","typeMatchExpression":"Body",
      "deviceIdExpression":"Body.d","timestampExpression":"Body.t",
      "values":[{"valueName":"v","valueExpression":"Body.items[*].v"}])"));
  // One element: an array token, which fails string conversion: the optional value is omitted.
  auto ms = measurements(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56Z","items":[{"v":1}]}})");
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(props(ms[0]) == "");
  auto e = failure(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56Z","items":[{"v":1},{"v":2}]}})");
  BOOST_TEST(e.type == "TemplateExpressionException");
  BOOST_TEST(e.message.find("Multiple tokens were returned using expression Body.items[*].v") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(partial_output_before_an_error) {
  // §13.1: measurements made before the failing match stay in the output.
  auto m = load_valid(collection(
      {json_path(
           R"("typeName":"a","typeMatchExpression":"$.Body[*]","deviceIdExpression":"$.d","timestampExpression":"$.t")"),
       json_path(
           R"("typeName":"b","typeMatchExpression":"$.Body[*]","deviceIdExpression":"$.d","timestampExpression":"$.t")")}));
  auto o = run(*m, R"({"Body":[{"d":"x","t":"2020-10-22T01:34:56Z"},{"d":"y"}]})");
  BOOST_REQUIRE(o.error);
  BOOST_TEST(o.error->type == "IncompatibleDataException");
  BOOST_REQUIRE_EQUAL(o.measurements.size(), 1u);
  BOOST_TEST(o.measurements[0].type == "a");
  BOOST_TEST(o.measurements[0].device_id == "x");
}

BOOST_AUTO_TEST_CASE(matched_token_replaces_an_existing_member) {
  auto m = one(calculated(R"("typeName":"t","typeMatchExpression":"$.Body.m","deviceIdExpression":"$.matchedToken.d",
      "timestampExpression":"$.matchedToken.t","values":[{"valueName":"n","valueExpression":"$.n"}])"));
  auto ms =
      measurements(*m, R"({"matchedToken":{"d":"old"},"n":"7","Body":{"m":{"d":"new","t":"2020-10-22T01:34:56Z"}}})");
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(ms[0].device_id == "new");
  BOOST_TEST(props(ms[0]) == "n=7");
}

BOOST_AUTO_TEST_CASE(custom_function_errors_keep_their_exception) {
  auto m = one(calculated(R"J("defaultExpressionLanguage":"JmesPath","typeName":"t","typeMatchExpression":"Body",
      "deviceIdExpression":"Body.d","timestampExpression":"Body.t",
      "values":[{"valueName":"v","valueExpression":"divide(Body.a, Body.b)"}])J"));
  auto ok = measurements(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56Z","a":10,"b":4}})");
  BOOST_TEST(props(ok[0]) == "v=2");
  auto e = failure(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56Z","a":10,"b":0}})");
  BOOST_TEST(e.type == "DivideByZeroException");
  auto e2 = failure(*m, R"({"Body":{"d":"dev","t":"2020-10-22T01:34:56Z","a":"x","b":1}})");
  BOOST_TEST(e2.type == "Exception");
  BOOST_TEST(starts_with(e2.message, "Error: invalid-type, function divide expects argument"));
}

BOOST_AUTO_TEST_CASE(duplicate_value_names_and_empty_mapping) {
  auto empty = load_valid(template_input("data_CollectionContentTemplateEmptyWithType.json"));
  BOOST_TEST(empty->template_count() == 0u);
  BOOST_TEST(measurements(*empty, R"({"Body":{}})").empty());
}

BOOST_AUTO_TEST_SUITE_END()
