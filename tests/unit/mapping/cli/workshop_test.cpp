// The workshop's sample messages through the workshop mappings, end to end (issue: mapping engine).
#define BOOST_TEST_MODULE mapping_cli
#include <boost/test/unit_test.hpp>

#include "pipeline/commands/mapping_session.hpp"
#include "test_support.hpp"

#include <boost/json.hpp>

using namespace iomt;

namespace {

pipeline::mapping_session workshop_session() {
  return pipeline::mapping_session::load(test::read_file(test::workshop_dir() / "Answers/devicecontent.json"),
                                         test::read_file(test::workshop_dir() / "Answers/fhirmapping.json"));
}

std::vector<pipeline::message_input> workshop_inputs(const char* file = "Three-Sample-Message-Types.json") {
  std::vector<pipeline::message_input> in;
  for (auto& [label, text] : test::workshop_messages(file)) in.push_back({label, text});
  return in;
}

const boost::json::object* find_observation(const boost::json::array& obs, std::string_view code) {
  for (const auto& o : obs)
    if (o.at("code").at("text").as_string() == code) return &o.as_object();
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_CASE(workshop_mappings_are_valid) {
  auto s = workshop_session();
  BOOST_TEST(s.valid());
  BOOST_TEST(s.device().template_count() == 10u);
  // BloodPulseWave has a device template but no FHIR template: a warning, not an error (validator E4).
  bool warned = false;
  for (const auto& e : s.device_errors())
    if (e.warning && e.message.find("[BloodPulseWave]") != std::string::npos) warned = true;
  BOOST_TEST(warned);
}

BOOST_AUTO_TEST_CASE(workshop_samples_give_measurements_and_observations) {
  for (const char* file : {"Three-Sample-Message-Types.json", "Three-Sample-Message-Types-with-labels.json"}) {
    BOOST_TEST_CONTEXT(file) {
      auto s = workshop_session();
      pipeline::test_options opt;
      opt.issued = json::date_time{637'400'000'000'000'000, json::date_kind::utc};
      auto out = s.run_test(workshop_inputs(file), opt).value();
      const auto& ms = out.at("measurements").as_array();
      const auto& obs = out.at("observations").as_array();
      const auto& errors = out.at("errors").as_array();
      // VITALS -> 7 types, BP -> 2, WEIGHT -> 1.
      BOOST_TEST(ms.size() == 10u);
      BOOST_TEST(ms[0].at("type").as_string() == "heartrate");
      BOOST_TEST(ms[0].at("deviceId").as_string() == "MSFT00001");
      BOOST_TEST(ms[0].at("patientId").as_string() == "PatientMary");
      BOOST_TEST(ms[0].at("occurrenceTimeUtc").as_string() == "2020-10-22T01:34:56Z");
      BOOST_TEST(ms[0].at("properties").at(0).at("value").as_string() == "80");
      // The float keeps .NET's shortest round-trip text.
      bool perfusion = false;
      for (const auto& m : ms)
        if (m.at("type").as_string() == "BloodPerfusion")
          perfusion = m.at("properties").at(0).at("value").as_string() == "1.1399999856948853";
      BOOST_TEST(perfusion);
      // 9 of the 10 types have a FHIR template; BloodPulseWave fails with TemplateNotFoundException.
      BOOST_TEST(obs.size() == 9u);
      BOOST_REQUIRE(errors.size() == 1u);
      BOOST_TEST(errors[0].at("stage").as_string() == "fhirConversion");
      BOOST_TEST(errors[0].at("type").as_string() == "TemplateNotFoundException");

      const auto* hr = find_observation(obs, "heartrate");
      BOOST_REQUIRE(hr);
      BOOST_TEST(hr->at("status").as_string() == "final");
      BOOST_TEST(hr->at("effectivePeriod").at("start").as_string() == "2020-10-22T01:00:00.0000000Z");
      BOOST_TEST(hr->at("effectivePeriod").at("end").as_string() == "2020-10-22T01:59:59.9999999Z");
      const auto& sd = hr->at("valueSampledData");
      std::string data(sd.at("data").as_string());
      // 720 slots of 5 s; 01:34:56 falls into slot 419.
      std::vector<std::string> tokens;
      std::istringstream split(data);
      for (std::string t; split >> t;) tokens.push_back(t);
      BOOST_TEST(tokens.size() == 720u);
      BOOST_TEST(tokens[419] == "80");
      BOOST_TEST(std::count(tokens.begin(), tokens.end(), "E") == 719);
      // Identifier and id (iomt-spec §8.1, §10).
      const std::string patient = hr->at("subject").at("reference").as_string().subview(8);
      const std::string device = hr->at("device").at("reference").as_string().subview(7);
      BOOST_TEST(hr->at("identifier").at(0).at("value").as_string() ==
                 patient + "." + device + ".heartrate.20201022010000Z.20201022015959Z");
      BOOST_TEST(hr->at("id").as_string().size() == 64u);
    }
  }
}
