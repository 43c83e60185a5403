// Observation create and merge (iomt-spec §8-§10): expected C3-C7, C10-C12, C14, D2, E4.
#include "fhir_test_support.hpp"

namespace mf = iomt::mapping::fhir;
namespace bj = boost::json;
using namespace iomt;
using namespace iomt::test;
using namespace iomt::test::fhir;

namespace {

constexpr std::string_view svc = mf::service_system;
const json::date_time issued_at = utc(at(2023, 4, 5, 21, 2, 59, 1650841));
const mf::resource_ids ids{"patientId", "deviceId", std::nullopt};

// A group built by hand: boundary and property values (strings owned by the fixture).
struct group_fixture {
  std::vector<std::unique_ptr<std::string>> texts;
  mf::observation_group g;
  group_fixture(std::string name, std::int64_t start, std::int64_t end, std::string segment = "seg") {
    g.name = std::move(name);
    g.start = utc(start);
    g.end = utc(end);
    g.id_segment = std::move(segment);
  }
  group_fixture& add(const std::string& property, std::int64_t t, std::string v) {
    texts.push_back(std::make_unique<std::string>(std::move(v)));
    auto it = std::find_if(g.properties.begin(), g.properties.end(), [&](const auto& p) { return p.name == property; });
    if (it == g.properties.end()) {
      texts.push_back(std::make_unique<std::string>(property));
      g.properties.push_back({*texts.back(), {}});
      it = std::prev(g.properties.end());
      it->values.push_back({t, *texts[texts.size() - 2]});
    } else {
      it->values.push_back({t, *texts.back()});
    }
    return *this;
  }
};

mf::fhir_code code(std::optional<std::string> c, std::optional<std::string> d, std::optional<std::string> s) {
  return {std::move(c), std::move(s), std::move(d)};
}

mf::value_template string_value(std::string name) {
  mf::value_template v;
  v.kind = mf::value_kind::string;
  v.value_name = std::move(name);
  return v;
}
mf::value_template quantity_value(std::string name) {
  mf::value_template v;
  v.kind = mf::value_kind::quantity;
  v.value_name = std::move(name);
  v.unit = "mmHg";
  v.system = "http://unitsofmeasure.org";
  v.code = "mm[Hg]";
  return v;
}
mf::value_template sampled_value(std::string name, std::int64_t period, std::string unit) {
  mf::value_template v;
  v.kind = mf::value_kind::sampled_data;
  v.value_name = std::move(name);
  v.default_period = period;
  v.default_period_ms = static_cast<double>(period);
  v.unit = std::move(unit);
  return v;
}

bj::object parse_object(std::string_view text) { return bj::parse(text).as_object(); }

std::string str(const bj::value& v) { return std::string(v.as_string()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(fhir_observation)

// C3: codes, text, status, period, issued.
BOOST_AUTO_TEST_CASE(c3_create_codes_status_period) {
  group_fixture f("code", at(2019, 1, 1), at(2019, 1, 2));
  f.add("p1", at(2019, 1, 1), "v1");
  mf::code_value_template t;
  t.type_name = "code";
  t.codes = {code("code", "a", "b")};
  t.value = string_value("p1");
  auto obs = mf::create_observation(f.g, t, ids, issued_at);
  BOOST_TEST_REQUIRE(obs.has_value());
  BOOST_TEST(to_json(obs->at("code")) == R"({"coding":[{"system":"b","code":"code","display":"a"},{"system":")" +
                                             std::string(svc) + R"(","code":"code","display":"code"}],"text":"code"})");
  BOOST_TEST(str(obs->at("status")) == "final");
  BOOST_TEST(str(obs->at("issued")) == "2023-04-05T21:02:59.1650841+00:00");
  BOOST_TEST(to_json(obs->at("effectivePeriod")) ==
             R"({"start":"2019-01-01T00:00:00.0000000Z","end":"2019-01-02T00:00:00.0000000Z"})");
  BOOST_TEST(str(obs->at("valueString")) == "v1");

  mf::code_value_template empty;
  auto e = mf::create_observation(f.g, empty, ids, issued_at);
  BOOST_TEST(e->at("code").at("coding").as_array().size() == 1u);
  BOOST_TEST(!e->contains("valueString"));
  BOOST_TEST(!e->contains("component"));
  BOOST_TEST(!e->contains("category"));
}

BOOST_AUTO_TEST_CASE(c3_element_order_and_full_text) {
  group_fixture f("heartrate", at(2019, 2, 1, 22, 46, 1, 8750000), at(2019, 2, 1, 22, 46, 1, 8750000),
                  "20190201224601Z.20190201224601Z");
  f.add("hr", at(2019, 2, 1, 22, 46, 1, 8750000), "78.0");
  mf::code_value_template t;
  t.type_name = "heartrate";
  t.codes = {code("8867-4", "Heart rate", "http://loinc.org")};
  t.value = quantity_value("hr");
  t.value->unit = "count/min";
  t.value->system.reset();
  t.value->code.reset();
  mf::resource_ids with_encounter{"p1", "d1", "e1"};
  auto obs = mf::create_observation(f.g, t, with_encounter, issued_at);
  const std::string expected_value = "p1.d1.heartrate.20190201224601Z.20190201224601Z";
  const std::string id = mf::sha256_hex(std::string(svc) + "_" + expected_value);
  BOOST_TEST(
      to_json(*obs) ==
      R"({"resourceType":"Observation","id":")" + id + R"(","identifier":[{"system":")" + std::string(svc) +
          R"(","value":")" + expected_value +
          R"("}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"},{"system":")" +
          std::string(svc) +
          R"(","code":"heartrate","display":"heartrate"}],"text":"heartrate"},"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},"effectivePeriod":{"start":"2019-02-01T22:46:01.8750000Z","end":"2019-02-01T22:46:01.8750000Z"},"issued":"2023-04-05T21:02:59.1650841+00:00","valueQuantity":{"value":78.0,"unit":"count/min"},"device":{"reference":"Device/d1"}})");
}

// C4: components.
BOOST_AUTO_TEST_CASE(c4_create_components) {
  group_fixture f("code", at(2019, 1, 1), at(2019, 1, 2));
  f.add("p1", at(2019, 1, 1), "v1").add("p2", at(2019, 1, 1), "v2");
  mf::code_value_template t;
  t.type_name = "code";
  t.components = std::vector<mf::component_template>{{{code("code2", "c", "d")}, string_value("p2")},
                                                     {{code("code3", "e", "f")}, string_value("p3")}};
  auto obs = mf::create_observation(f.g, t, ids, issued_at);
  BOOST_TEST(!obs->contains("valueString"));
  const auto& comps = obs->at("component").as_array();
  BOOST_TEST_REQUIRE(comps.size() == 1u);
  BOOST_TEST(to_json(comps[0]) == R"({"code":{"coding":[{"system":"d","code":"code2","display":"c"},{"system":")" +
                                      std::string(svc) +
                                      R"(","code":"p2","display":"p2"}],"text":"p2"},"valueString":"v2"})");
  // A component without value fails as upstream (NullReferenceException).
  t.components->push_back({{}, std::nullopt});
  auto bad = mf::create_observation(f.g, t, ids, issued_at);
  BOOST_TEST_REQUIRE(!bad);
  BOOST_TEST(bad.error().type == "NullReferenceException");
}

// C5: category.
BOOST_AUTO_TEST_CASE(c5_category_create_and_merge) {
  group_fixture f("code", at(2019, 1, 1), at(2019, 1, 2));
  mf::code_value_template t;
  t.type_name = "code";
  t.category = std::vector<mf::fhir_codeable_concept>{
      {"category with two codes", std::vector<mf::fhir_code>{code("a", "b", "c"), code("d", "e", "f")}},
      {"category with one code", std::vector<mf::fhir_code>{code("y", std::nullopt, "z")}},
      {"category with no codes", std::nullopt}};
  auto obs = mf::create_observation(f.g, t, ids, issued_at);
  BOOST_TEST(
      to_json(obs->at("category")) ==
      R"([{"coding":[{"system":"c","code":"a","display":"b"},{"system":"f","code":"d","display":"e"}],"text":"category with two codes"},)"
      R"({"coding":[{"system":"z","code":"y"}],"text":"category with one code"},{"text":"category with no codes"}])");

  bj::object existing = *obs;
  existing["category"] = bj::array{bj::object{{"text", "old"}}};
  auto merged = mf::merge_observation(existing, f.g, t);
  BOOST_TEST(merged->observation.at("category") == obs->at("category"));
  BOOST_TEST(merged->changed);
  BOOST_TEST(str(merged->observation.at("status")) == "amended");

  mf::code_value_template no_category = t;
  no_category.category = std::vector<mf::fhir_codeable_concept>{};
  auto removed = mf::merge_observation(existing, f.g, no_category);
  BOOST_TEST(!removed->observation.contains("category"));
  BOOST_TEST(removed->changed);
}

// C6: merging components.
BOOST_AUTO_TEST_CASE(c6_merge_components) {
  group_fixture f("code", at(2019, 1, 1), at(2019, 1, 2));
  f.add("p2", at(2019, 1, 1), "7").add("p3", at(2019, 1, 1), "8");
  mf::code_value_template t;
  t.type_name = "code";
  t.components = std::vector<mf::component_template>{{{code("code2", "c", "d")}, quantity_value("p2")},
                                                     {{code("code3", "e", "f")}, quantity_value("p3")}};
  bj::object existing = parse_object(
      R"({"resourceType":"Observation","id":"x","status":"final","effectivePeriod":{"start":"2019-01-01T00:00:00.0000000Z","end":"2019-01-02T00:00:00.0000000Z"},)"
      R"("component":[{"code":{"coding":[{"system":")" +
      std::string(svc) + R"(","code":"p2"}]},"valueQuantity":{"value":1}}]})");
  auto merged = mf::merge_observation(existing, f.g, t);
  BOOST_TEST_REQUIRE(merged.has_value());
  const auto& comps = merged->observation.at("component").as_array();
  BOOST_TEST_REQUIRE(comps.size() == 2u);
  BOOST_TEST(comps[0].at("valueQuantity").at("value").as_int64() == 7);
  BOOST_TEST(to_json(comps[1].at("code")) == R"({"coding":[{"system":"f","code":"code3","display":"e"},{"system":")" +
                                                 std::string(svc) + R"(","code":"p3","display":"p3"}],"text":"p3"})");
  BOOST_TEST(comps[1].at("valueQuantity").at("value").as_int64() == 8);
  BOOST_TEST(merged->changed);

  // Existing observation without components: appended.
  existing.erase("component");
  auto appended = mf::merge_observation(existing, f.g, t);
  BOOST_TEST(appended->observation.at("component").as_array().size() == 2u);
}

// C7: effective period.
BOOST_AUTO_TEST_CASE(c7_merge_effective_period) {
  mf::code_value_template t;
  t.type_name = "code";
  t.value = quantity_value("p");
  auto existing_with = [](const char* start, const char* end) {
    return parse_object(
        std::string(R"({"resourceType":"Observation","status":"final","effectivePeriod":{"start":")") + start +
        R"(","end":")" + end +
        R"("},"valueQuantity":{"value":5,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}})");
  };
  group_fixture outside("code", at(2019, 1, 1), at(2019, 1, 4));
  outside.add("p", at(2019, 1, 2), "5");
  auto widened = mf::merge_observation(existing_with("2019-01-02T00:00:00Z", "2019-01-03T00:00:00Z"), outside.g, t);
  BOOST_TEST(to_json(widened->observation.at("effectivePeriod")) ==
             R"({"start":"2019-01-01T00:00:00.0000000Z","end":"2019-01-04T00:00:00.0000000Z"})");
  BOOST_TEST(widened->changed);

  group_fixture inside("code", at(2019, 1, 1), at(2019, 1, 2));
  inside.add("p", at(2019, 1, 1), "5");
  const bj::object same = existing_with("2018-12-31T00:00:00.0000000Z", "2019-01-03T00:00:00.0000000Z");
  auto unchanged = mf::merge_observation(same, inside.g, t);
  BOOST_TEST(to_json(unchanged->observation.at("effectivePeriod")) ==
             R"({"start":"2018-12-31T00:00:00.0000000Z","end":"2019-01-03T00:00:00.0000000Z"})");
  BOOST_TEST(!unchanged->changed);  // ObservationNoOperation
  BOOST_TEST(str(unchanged->observation.at("status")) == "final");

  // effectiveDateTime (also partial dates and offsets) is read as UTC and replaced by a Period.
  bj::object dt = same;
  dt.erase("effectivePeriod");
  dt["effectiveDateTime"] = "2019-01-03T01:00:00+01:00";
  auto from_dt = mf::merge_observation(dt, inside.g, t);
  BOOST_TEST(!from_dt->observation.contains("effectiveDateTime"));
  BOOST_TEST(to_json(from_dt->observation.at("effectivePeriod")) ==
             R"({"start":"2019-01-01T00:00:00.0000000Z","end":"2019-01-03T00:00:00.0000000Z"})");
  dt["effectiveDateTime"] = "2019-01";
  BOOST_TEST(mf::merge_observation(dt, inside.g, t).has_value());

  bj::object timing = same;
  timing.erase("effectivePeriod");
  timing["effectiveTiming"] = bj::object{};
  auto unsupported = mf::merge_observation(timing, inside.g, t);
  BOOST_TEST_REQUIRE(!unsupported);
  BOOST_TEST(unsupported.error().type == "NotSupportedException");
  BOOST_TEST(unsupported.error().message == "Observation effective type of Hl7.Fhir.Model.Timing is not supported.");
  timing.erase("effectiveTiming");
  BOOST_TEST(mf::merge_observation(timing, inside.g, t).error().type == "ArgumentNullException");
}

// C10: SampledData value processor.
BOOST_AUTO_TEST_CASE(c10_sampled_data_create) {
  const std::int64_t s = at(2019, 1, 1);
  group_fixture f("code", s, s + 99 * ms);
  f.add("p", s, "1").add("p", s + 20 * ms, "2").add("p", s + 95 * ms, "3");
  mf::code_value_template t;
  t.type_name = "code";
  t.value = sampled_value("p", 10, "myUnits");
  auto obs = mf::create_observation(f.g, t, ids, issued_at);
  BOOST_TEST(to_json(obs->at("valueSampledData")) ==
             R"({"origin":{"value":0,"unit":"myUnits"},"period":10,"dimensions":1,"data":"1 E 2 E E E E E E 3"})");
  t.value->default_period = 0.5;
  t.value->default_period_ms = 0.5;
  group_fixture g2("code", s, s + 2 * ms - tick);
  g2.add("p", s + ms, "9");
  BOOST_TEST(to_json(mf::create_observation(g2.g, t, ids, issued_at)->at("valueSampledData")) ==
             R"({"origin":{"value":0,"unit":"myUnits"},"period":0.5,"dimensions":1,"data":"E E 9 E"})");
  t.value->default_period = nullptr;
  t.value->default_period_ms.reset();
  BOOST_TEST(mf::create_observation(g2.g, t, ids, issued_at).error().type == "ArgumentNullException");
}

BOOST_AUTO_TEST_CASE(c10_sampled_data_merge) {
  const std::int64_t s = at(2019, 1, 1, 12);
  mf::code_value_template t;
  t.type_name = "code";
  t.value = sampled_value("p", 100, "u");
  auto existing = [&](const std::string& start, const std::string& end, const std::string& data) {
    return parse_object(
        R"({"resourceType":"Observation","status":"final","effectivePeriod":{"start":")" + start + R"(","end":")" +
        end + R"("},"valueSampledData":{"origin":{"value":0,"unit":"u"},"period":100,"dimensions":1,"data":")" + data +
        R"("}})");
  };
  auto data_of = [](const mf::merge_outcome& m) { return str(m.observation.at("valueSampledData").at("data")); };
  const std::string os = "2019-01-01T12:00:00.5000000Z", oe = "2019-01-01T12:00:00.9999999Z";  // 5 slots
  const bj::object ex = existing(os, oe, "1 2 3 4 5");

  // Group inside the existing period: new value replaces slot 2.
  group_fixture inside("code", s + 600 * ms, s + 800 * ms);
  inside.add("p", s + 700 * ms, "9");
  BOOST_TEST(data_of(*mf::merge_observation(ex, inside.g, t)) == "1 2 9 4 5");
  // Group before the existing period: stream extended at the front.
  group_fixture prior("code", s + 200 * ms, s + 300 * ms);
  prior.add("p", s + 200 * ms, "7");
  auto p = mf::merge_observation(ex, prior.g, t);
  BOOST_TEST(data_of(*p) == "7 E E 1 2 3 4 5");
  BOOST_TEST(str(p->observation.at("effectivePeriod").at("start")) == "2019-01-01T12:00:00.2000000Z");
  // Group after the existing period.
  group_fixture after("code", s + 1200 * ms, s + 1299 * ms);
  after.add("p", s + 1250 * ms, "8");
  BOOST_TEST(data_of(*mf::merge_observation(ex, after.g, t)) == "1 2 3 4 5 E E 8");
  // Group wider on both sides.
  group_fixture wider("code", s + 400 * ms, s + 1100 * ms);
  wider.add("p", s + 400 * ms, "6");
  BOOST_TEST(data_of(*mf::merge_observation(ex, wider.g, t)) == "6 1 2 3 4 5 E E");
  // Same data again: no-op.
  group_fixture same("code", s + 500 * ms, s + 600 * ms);
  same.add("p", s + 500 * ms, "1");
  BOOST_TEST(!mf::merge_observation(ex, same.g, t)->changed);

  // Existing value of another type, or 2 dimensions -> NotSupportedException.
  bj::object other = ex;
  other.erase("valueSampledData");
  other["valueDateTime"] = "2019-01-01";
  auto e1 = mf::merge_observation(other, inside.g, t);
  BOOST_TEST(e1.error().type == "NotSupportedException");
  BOOST_TEST(e1.error().message ==
             "Element existingValue expected to be of type Hl7.Fhir.Model.SampledData. Actual type is "
             "Hl7.Fhir.Model.FhirDateTime.");
  bj::object dims = ex;
  dims["valueSampledData"].as_object()["dimensions"] = 2;
  BOOST_TEST(mf::merge_observation(dims, inside.g, t).error().message ==
             "Existing Hl7.Fhir.Model.SampledData value has more than 1 dimension.");
  bj::object none = ex;
  none.erase("valueSampledData");
  BOOST_TEST(mf::merge_observation(none, inside.g, t).error().message.find("Actual type is null.") !=
             std::string::npos);
}

// C11: Quantity / String / CodeableConcept.
BOOST_AUTO_TEST_CASE(c11_quantity) {
  mf::code_value_template t;
  t.type_name = "q";
  t.value = quantity_value("p");
  auto create = [&](std::vector<std::string> vs) {
    group_fixture f("q", at(2019, 1, 1), at(2019, 1, 1, 1));
    std::int64_t k = 0;
    for (auto& v : vs) f.add("p", at(2019, 1, 1) + (k++) * sec, v);
    if (vs.empty()) f.g.properties.push_back({"p", {}});
    return mf::create_observation(f.g, t, ids, issued_at);
  };
  BOOST_TEST(to_json(create({"22.4"})->at("valueQuantity")) ==
             R"({"value":22.4,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"})");
  BOOST_TEST(to_json(create({" 1,234.50 "})->at("valueQuantity").at("value")) == "1234.5");
  BOOST_TEST(to_json(create({"78"})->at("valueQuantity").at("value")) == "78");
  BOOST_TEST(to_json(create({"78.0"})->at("valueQuantity").at("value")) == "78.0");
  BOOST_TEST(to_json(create({"5-"})->at("valueQuantity").at("value")) == "-5");
  for (const char* bad : {"NaN", "1E-05", "", "abc", "- 5", ",5"}) {
    auto r = create({bad});
    BOOST_TEST_REQUIRE(!r);
    BOOST_TEST(r.error().type == "InvalidQuantityFhirValueException");
    BOOST_TEST(r.error().message == "Error encountered processing value: " + std::string(bad) + ".");
  }
  auto two = create({"1", "2"});
  BOOST_TEST(two.error().message == "Expected 1 value. Received 2.");
  auto zero = create({});
  BOOST_TEST(zero.error().message == "Expected 1 value. Received 0.");

  // Merge replaces the old Quantity; onto another type -> NotSupportedException.
  group_fixture f("q", at(2019, 1, 1), at(2019, 1, 1));
  f.add("p", at(2019, 1, 1), "3");
  bj::object ex = parse_object(
      R"({"resourceType":"Observation","status":"final","effectiveDateTime":"2019-01-01T00:00:00Z","valueQuantity":{"value":1}})");
  auto m = mf::merge_observation(ex, f.g, t);
  BOOST_TEST(to_json(m->observation.at("valueQuantity")) ==
             R"({"value":3,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"})");
  ex.erase("valueQuantity");
  ex["valueDateTime"] = "2019-01-01";
  BOOST_TEST(mf::merge_observation(ex, f.g, t).error().type == "NotSupportedException");
}

BOOST_AUTO_TEST_CASE(c11_string_and_codeable_concept) {
  group_fixture f("s", at(2019, 1, 1), at(2019, 1, 1));
  f.add("p", at(2019, 1, 1), "my string value");
  mf::code_value_template t;
  t.type_name = "s";
  t.value = string_value("p");
  BOOST_TEST(str(mf::create_observation(f.g, t, ids, issued_at)->at("valueString")) == "my string value");
  bj::object ex = parse_object(
      R"({"resourceType":"Observation","status":"final","effectivePeriod":{"start":"2019-01-01T00:00:00.0000000Z","end":"2019-01-01T00:00:00.0000000Z"},"valueString":"old"})");
  BOOST_TEST(str(mf::merge_observation(ex, f.g, t)->observation.at("valueString")) == "my string value");
  group_fixture two("s", at(2019, 1, 1), at(2019, 1, 2));
  two.add("p", at(2019, 1, 1), "a").add("p", at(2019, 1, 1, 1), "b");
  BOOST_TEST(mf::create_observation(two.g, t, ids, issued_at).error().type == "InvalidOperationException");

  mf::code_value_template cc;
  cc.type_name = "s";
  cc.value = mf::value_template{};
  cc.value->kind = mf::value_kind::codeable_concept;
  cc.value->value_name = "p";
  cc.value->text = "myText";
  cc.value->codes = std::vector<mf::fhir_code>{code("c1", "d1", "s1"), code("c2", "d2", "s2")};
  BOOST_TEST(
      to_json(mf::create_observation(f.g, cc, ids, issued_at)->at("valueCodeableConcept")) ==
      R"({"coding":[{"system":"s1","code":"c1","display":"d1"},{"system":"s2","code":"c2","display":"d2"}],"text":"myText"})");
  ex.erase("valueString");
  ex["valueCodeableConcept"] = bj::object{{"text", "old"}};
  BOOST_TEST(str(mf::merge_observation(ex, f.g, cc)->observation.at("valueCodeableConcept").at("text")) == "myText");
  cc.value->codes.reset();
  BOOST_TEST(mf::create_observation(f.g, cc, ids, issued_at).error().type == "NullReferenceException");
  // A CodeableConcept value is only emitted when its valueName property is present.
  cc.value->codes = std::vector<mf::fhir_code>{};
  cc.value->value_name = "absent";
  BOOST_TEST(!mf::create_observation(f.g, cc, ids, issued_at)->contains("valueCodeableConcept"));
}

// C12: references and identifier.
BOOST_AUTO_TEST_CASE(c12_references_and_identifier) {
  group_fixture f("", at(2019, 1, 1), at(2019, 1, 1), "");
  mf::code_value_template t;
  const mf::resource_ids all{"patientId", "deviceId", "encounterId"};
  auto obs = mf::create_observation(f.g, t, all, issued_at);
  BOOST_TEST(str(obs->at("subject").at("reference")) == "Patient/patientId");
  BOOST_TEST(str(obs->at("device").at("reference")) == "Device/deviceId");
  BOOST_TEST(str(obs->at("encounter").at("reference")) == "Encounter/encounterId");
  BOOST_TEST(
      to_json(obs->at("identifier")) ==
      R"([{"system":"https://azure.microsoft.com/en-us/services/iomt-fhir-connector/","value":"patientId.deviceId.."}])");
  const auto identifier = mf::make_identifier(all, f.g);
  BOOST_TEST(str(obs->at("id")) == mf::observation_id(identifier));
  BOOST_TEST(str(obs->at("id")).size() == 64u);
  // GenerateObservationId example.
  group_fixture h("heartrate", at(2019, 1, 1), at(2019, 1, 1, 1) - tick, "20190101000000Z.20190101005959Z");
  BOOST_TEST(mf::make_identifier({"patientId", "deviceId", {}}, h.g).value ==
             "patientId.deviceId.heartrate.20190101000000Z.20190101005959Z");
  BOOST_TEST(mf::create_observation(f.g, t, {" ", "d", {}}, issued_at).error().type == "ArgumentException");
}

// C14: SampledData merge used by the save path.
BOOST_AUTO_TEST_CASE(c14_sampled_data_update) {
  const std::int64_t s = at(2019, 1, 1);
  bj::object ex = parse_object(
      R"({"resourceType":"Observation","id":"abc","meta":{"versionId":"1"},"status":"final","effectivePeriod":{"start":"2019-01-01T00:00:00.0000000Z","end":"2019-01-01T00:00:09.9999999Z"},)"
      R"("valueSampledData":{"origin":{"value":0,"unit":"count/min"},"period":1000,"dimensions":1,"data":"1 E E E E E E E E E"}})");
  mf::code_value_template t;
  t.type_name = "steps";
  t.value = sampled_value("steps", 1000, "count/min");
  group_fixture f("steps", s + sec, s + sec);
  f.add("steps", s + sec, "1");
  auto m = mf::merge_observation(ex, f.g, t);
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m->changed);
  BOOST_TEST(str(m->observation.at("status")) == "amended");
  BOOST_TEST(str(m->observation.at("valueSampledData").at("data")) == "1 1 E E E E E E E E");
  // meta and id kept; element order per FHIR.
  BOOST_TEST(to_json(m->observation)
                 .find(R"({"resourceType":"Observation","id":"abc","meta":{"versionId":"1"},"status":"amended",)") ==
             0u);
}

// §15.4: correlation groups render raw times (Local kind -> "+00:00"); merges re-render with Z.
BOOST_AUTO_TEST_CASE(correlation_period_kinds) {
  const std::int64_t t0 = at(2021, 7, 13, 17, 28, 1);
  std::vector<mapping::measurement> ms = {make_measurement("bp", "d", t0, {{"s", "1"}}),
                                          make_measurement("bp", "d", t0 + minute, {{"s", "2"}})};
  ms[0].occurrence_time.zone = json::date_kind::local;
  auto groups = mf::make_observation_groups(group_of(ms, "sess"), mf::period_interval::correlation_id);
  mf::code_value_template t;
  t.type_name = "bp";
  t.period_interval = -1;
  auto obs = mf::create_observation((*groups)[0], t, ids, issued_at);
  BOOST_TEST(to_json(obs->at("effectivePeriod")) ==
             R"({"start":"2021-07-13T17:28:01.0000000+00:00","end":"2021-07-13T17:29:01.0000000Z"})");
  auto merged = mf::merge_observation(*obs, (*groups)[0], t);
  BOOST_TEST(to_json(merged->observation.at("effectivePeriod")) ==
             R"({"start":"2021-07-13T17:28:01.0000000Z","end":"2021-07-13T17:29:01.0000000Z"})");
  BOOST_TEST(merged->changed);
}

// D2: Create-mode ids.
BOOST_AUTO_TEST_CASE(d2_create_mode_ids) {
  BOOST_TEST(mf::create_device_id("", "deviceId") ==
             "96b1d91b8c1066c6093f8699cbd01fd2e9e8956cbad873307dcbd44449aafd13");
  BOOST_TEST(mf::create_patient_id("patientId") == "bf7c741785b9bbaa3e63dd3637c0acb9caa211351ff2ca17d9474c20c1cdb683");
  BOOST_TEST(mf::create_device_id("mySystem", "deviceId") ==
             "fd6eb28968a94406c73e4c3b6f05a142f71e3a1a27f3cf9435019cae48069afa");
}

// E4: validator messages and the HR+BP example.
BOOST_AUTO_TEST_CASE(e4_missing_fhir_template) {
  auto fhir = load_ok(validation_input("data_CollectionFhirTemplateMissingTypeInvalid.json"));
  const std::vector<mf::device_template_summary> device = {
      {"heartrate", std::vector<std::string>{"hr"}, 0, {}, {}},
      {"bloodpressure", std::vector<std::string>{"systolic", "diastolic"}, 1, {}, {}}};
  auto warnings = mf::check_compatibility(device, *fhir.mapping);
  BOOST_TEST_REQUIRE(warnings.size() == 1u, all_messages(warnings));
  BOOST_TEST(warnings[0].warning);
  BOOST_TEST(warnings[0].message ==
             "No matching Fhir Template exists for Device Mapping [bloodpressure]. Ensure case matches. Available Fhir "
             "Templates: [heartrate ,bloodpressureBadTypeName].");
  BOOST_TEST(mf::no_fhir_template_message("bloodpressure")
                 .find("No Fhir Template exists with the type name [bloodpressure]") == 0u);
  BOOST_TEST(!fhir.mapping->get("bloodpressure"));

  auto bad_value = load_ok(validation_input("data_CollectionFhirTemplateIncorrectValueNameInvalid.json"));
  auto w2 = mf::check_compatibility(device, *bad_value.mapping);
  BOOST_TEST_REQUIRE(w2.size() == 1u, all_messages(w2));
  BOOST_TEST(
      w2[0].message ==
      "The value [systolic] in Device Mapping [bloodpressure] is not represented within the Fhir Template of type "
      "[bloodpressure]. Available values are: [diastolic ,systolicBadValueName]. No value will appear inside of "
      "Observations.");
}

BOOST_AUTO_TEST_CASE(e4_hr_and_bp_observation) {
  auto fhir = load_ok(validation_input("data_CollectionFhirTemplateValid.json"));
  const std::vector<mf::device_template_summary> device = {
      {"heartrate", std::vector<std::string>{"hr"}, 0, {}, {}},
      {"bloodpressure", std::vector<std::string>{"systolic", "diastolic"}, 1, {}, {}}};
  BOOST_TEST(mf::check_compatibility(device, *fhir.mapping).empty());

  const std::int64_t now = at(2024, 2, 3, 4, 5, 6, 7890123);
  std::vector<mapping::measurement> batch = {
      make_measurement("bloodpressure", "abc", now, {{"systolic", "60"}, {"diastolic", "80"}}, "patient123")};
  auto groups = mf::group_measurements(batch);
  BOOST_TEST_REQUIRE(groups.size() == 1u);
  BOOST_TEST(*groups[0].patient_id == "patient123");
  BOOST_TEST(!groups[0].correlation_id);
  auto tpl = fhir.mapping->get(groups[0].measure_type);
  BOOST_TEST_REQUIRE(tpl.has_value());
  auto ogs = mf::make_observation_groups(groups[0], **tpl);
  BOOST_TEST_REQUIRE(ogs->size() == 1u);
  mf::resource_ids rid{mf::create_patient_id("patient123"), mf::create_device_id("", "abc"), std::nullopt};
  auto obs = mf::create_observation((*ogs)[0], **tpl, rid, issued_at);
  BOOST_TEST_REQUIRE(obs.has_value());
  BOOST_TEST(str(obs->at("code").at("text")) == "bloodpressure");
  const auto& comps = obs->at("component").as_array();
  BOOST_TEST_REQUIRE(comps.size() == 2u);
  BOOST_TEST(str(comps[0].at("code").at("text")) == "diastolic");
  BOOST_TEST(str(comps[1].at("code").at("text")) == "systolic");
  const std::string dia = str(comps[0].at("valueSampledData").at("data"));
  const std::string sys = str(comps[1].at("valueSampledData").at("data"));
  BOOST_TEST(dia.find("80") != std::string::npos);
  BOOST_TEST(sys.find("60") != std::string::npos);
  // Hourly, 1000 ms: 3600 slots, the value in the slot of 04:05:06.
  BOOST_TEST(dia.size() == 3600u * 2 - 1 + 1);
  BOOST_TEST(dia.substr(2 * 306, 3) == "80 ");
  // Merging the same measurement again changes nothing.
  BOOST_TEST(!mf::merge_observation(*obs, (*ogs)[0], **tpl)->changed);
}

BOOST_AUTO_TEST_SUITE_END()
