// Identity resolution steps (fhir/identity_flow.hpp, iomt-spec §11) with scripted server answers:
// which request comes next, and the MedTech errors in MedTech's order.
#include "fhir/identity_flow.hpp"
#include "fhir/errors.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

using namespace iomt::fhir;
using iomt::mapping::failure_class;
namespace http = boost::beast::http;

namespace {

using found_t = iomt::mapping::result<std::vector<boost::json::object>>;

found_t found(std::initializer_list<std::string_view> resources) {
  std::vector<boost::json::object> out;
  for (auto r : resources) out.push_back(boost::json::parse(r).as_object());
  return out;
}

// The server's copy of what the flow PUT (as the in-memory server answers).
write_fold stored(const identity_flow& f) {
  write_fold w;
  w.kind = write_kind::written;
  w.status = 201;
  w.resource = *f.request().resource;
  (*w.resource)["meta"] = boost::json::object{{"versionId", "v1"}};
  return w;
}

write_fold conflict(unsigned status) {
  write_fold w;
  w.kind = write_kind::conflict;
  w.status = status;
  return w;
}

identity_options mode(identity_mode m, std::string system = {}) {
  identity_options o;
  o.mode = m;
  o.device_identifier_system = std::move(system);
  return o;
}

constexpr std::string_view device_d1 = R"({"resourceType":"Device","id":"d1","patient":{"reference":"Patient/p1"}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(identity_flow_steps)

BOOST_AUTO_TEST_CASE(lookup_one_search) {
  const auto o = mode(identity_mode::lookup, "sys");
  const identity_request q{"dev 1", "ignored", std::nullopt};
  identity_flow f(o, q);
  BOOST_TEST(f.searching());
  BOOST_TEST(f.request().url == "Device?identifier=sys%7Cdev%201");
  f.on_search(found({device_d1}));
  BOOST_TEST_REQUIRE(f.done());
  BOOST_TEST_REQUIRE(f.result().has_value());
  BOOST_TEST(f.result()->device == "d1");
  BOOST_TEST(f.result()->patient == "p1");  // from Device.patient: the message's patient id is ignored
  BOOST_TEST(!f.result()->encounter);
}

BOOST_AUTO_TEST_CASE(lookup_errors_in_order) {
  const auto o = mode(identity_mode::lookup);
  const identity_request q{"dev-1", std::nullopt, "enc-1"};
  {
    identity_flow f(o, q);
    f.on_search(found({}));
    BOOST_TEST(f.result().error().message == "Fhir resource of type Device not found. (Device?identifier=dev-1)");
    BOOST_TEST((f.result().error().cls == failure_class::permanent));
  }
  {
    identity_flow f(o, q);
    f.on_search(found({device_d1, device_d1}));
    BOOST_TEST(metric_name(f.result().error()) == "MultipleDeviceFoundException");
  }
  {
    identity_flow f(o, q);
    f.on_search(found({R"({"resourceType":"Device","id":"d1","patient":{"reference":"https://x/Patient/1"}})"}));
    BOOST_TEST(metric_name(f.result().error()) == "PatientNotFoundException");
    BOOST_TEST(
        f.result().error().message ==
        "Fhir resource of type Patient not found. (Device/d1 has no patient reference of the form Patient/<id>)");
  }
  {
    identity_flow f(o, q);
    f.on_search(found({device_d1}));
    BOOST_TEST_REQUIRE(!f.done());
    BOOST_TEST(f.request().url == "Encounter?identifier=enc-1");
    f.on_search(found({}));
    BOOST_TEST(metric_name(f.result().error()) == "EncounterNotFoundException");
  }
  {
    identity_flow f(o, q);
    f.on_search(found({device_d1}));
    f.on_search(found({R"({"resourceType":"Encounter","id":"e1"})"}));
    BOOST_TEST(f.result()->encounter.value() == "e1");
  }
  {
    identity_flow f(o, q);  // a failed request stands as it is (its class travels with it)
    f.on_search(iomt::mapping::mapping_error{"FhirClientException", "GET ... failed: 503", failure_class::throttled});
    BOOST_TEST((f.result().error().cls == failure_class::throttled));
  }
}

BOOST_AUTO_TEST_CASE(lookup_with_encounter_needs_one) {
  const auto o = mode(identity_mode::lookup_with_encounter);
  const identity_request q{"dev-1", std::nullopt, std::string_view(" ")};
  identity_flow f(o, q);
  f.on_search(found({device_d1}));
  BOOST_TEST(metric_name(f.result().error()) == "EncounterIdentityNotDefinedException");
  // the lookup's own error comes first
  identity_flow g(o, q);
  g.on_search(found({}));
  BOOST_TEST(metric_name(g.result().error()) == "DeviceNotFoundException");
}

BOOST_AUTO_TEST_CASE(create_a_new_device_and_patient) {
  const auto o = mode(identity_mode::create);
  const identity_request q{"deviceId", "patientId", std::nullopt};
  identity_flow f(o, q);
  f.on_search(found({}));  // no device
  BOOST_TEST(f.request().url == "Patient?identifier=patientId");
  f.on_search(found({}));  // no patient
  BOOST_TEST((f.request().method == http::verb::put));
  BOOST_TEST(f.request().url == "Patient/bf7c741785b9bbaa3e63dd3637c0acb9caa211351ff2ca17d9474c20c1cdb683");
  BOOST_TEST(f.request().if_match_version.empty());
  BOOST_TEST(boost::json::serialize(f.request().resource->at("identifier")) == R"([{"value":"patientId"}])");
  f.on_write(stored(f));
  // the device of the lookup is reused: no second search
  BOOST_TEST((f.request().method == http::verb::put));
  BOOST_TEST(f.request().url == "Device/96b1d91b8c1066c6093f8699cbd01fd2e9e8956cbad873307dcbd44449aafd13");
  BOOST_TEST(boost::json::serialize(f.request().resource->at("patient")) ==
             R"({"reference":"Patient/bf7c741785b9bbaa3e63dd3637c0acb9caa211351ff2ca17d9474c20c1cdb683"})");
  f.on_write(stored(f));
  BOOST_TEST_REQUIRE(f.done());
  BOOST_TEST(f.result()->device == "96b1d91b8c1066c6093f8699cbd01fd2e9e8956cbad873307dcbd44449aafd13");
  BOOST_TEST(f.result()->patient == "bf7c741785b9bbaa3e63dd3637c0acb9caa211351ff2ca17d9474c20c1cdb683");
}

BOOST_AUTO_TEST_CASE(create_links_a_device_without_patient) {
  const auto o = mode(identity_mode::create, "s");
  const identity_request q{"dev-2", "pat-2", std::nullopt};
  identity_flow f(o, q);
  f.on_search(found(
      {R"({"resourceType":"Device","id":"d2","meta":{"versionId":"v3"},"identifier":[{"system":"s","value":"dev-2"}]})"}));
  BOOST_TEST(f.request().url == "Patient?identifier=pat-2");
  f.on_search(found({R"({"resourceType":"Patient","id":"p2"})"}));
  BOOST_TEST(f.request().url == "Device/d2");
  BOOST_TEST(f.request().if_match_version == "v3");
  BOOST_TEST(f.request().resource->at("patient").as_object().at("reference").as_string() == "Patient/p2");
  // someone changed the device meanwhile
  f.on_write(conflict(412));
  BOOST_TEST(
      f.result().error().message ==
      "PUT Device/d2 failed: 412 Precondition Failed: the device changed while it was being linked to its patient");
  BOOST_TEST((f.result().error().cls == failure_class::transient));
}

BOOST_AUTO_TEST_CASE(create_errors) {
  const auto o = mode(identity_mode::create);
  {
    const identity_request q{"dev-3", "pat-3", std::nullopt};
    identity_flow f(o, q);
    f.on_search(found({R"({"resourceType":"Device","id":"d3","patient":{"reference":"Patient/other"}})"}));
    // linked elsewhere: Lookup succeeds, the message's patient id is ignored (§11 note)
    BOOST_TEST(f.result()->patient == "other");
  }
  {
    const identity_request q{"dev-3", "pat-3", std::nullopt};
    identity_flow f(o, q);
    f.on_search(
        found({R"({"resourceType":"Device","id":"d3","patient":{"reference":"https://elsewhere/Patient/9"}})"}));
    f.on_search(found({R"({"resourceType":"Patient","id":"p3"})"}));
    BOOST_TEST(f.result().error().type == "PatientDeviceMismatchException");
    BOOST_TEST(
        f.result().error().message ==
        "Device/d3 (identifier 'dev-3') is linked to 'https://elsewhere/Patient/9', not to Patient/p3 (identifier "
        "'pat-3').");
  }
  {
    const identity_request q{"dev-4", std::string_view(" "), std::nullopt};
    identity_flow f(o, q);
    f.on_search(found({}));
    BOOST_TEST(metric_name(f.result().error()) == "PatientIdentityNotDefinedException");
  }
  {
    const identity_request q{"dev-5", "p", "enc-x"};  // an Encounter miss is not swallowed
    identity_flow f(o, q);
    f.on_search(found({device_d1}));
    f.on_search(found({}));
    BOOST_TEST(metric_name(f.result().error()) == "EncounterNotFoundException");
  }
  {
    const identity_request q{"dev-6", "pat-6", std::nullopt};
    identity_flow f(o, q);
    f.on_search(found({}));
    f.on_search(found({R"({"resourceType":"Patient","id":"a"})", R"({"resourceType":"Patient","id":"b"})"}));
    BOOST_TEST(metric_name(f.result().error()) == "MultiplePatientFoundException");
    BOOST_TEST(f.result().error().message ==
               "Multiple resources 2 of type Patient found, expected one. (Patient?identifier=pat-6)");
  }
  {
    const identity_request q{"dev-7", "pat-7", std::nullopt};
    identity_flow f(o, q);
    f.on_search(found({}));
    f.on_search(found({}));
    f.on_write(conflict(409));
    BOOST_TEST(f.result().error().message ==
               "PUT Patient/" + iomt::mapping::fhir::create_patient_id("pat-7") + " failed: version conflict");
    BOOST_TEST((f.result().error().cls == failure_class::transient));
  }
  {
    const identity_request q{"dev-8", "pat-8", std::nullopt};
    identity_flow f(o, q);
    f.on_search(found({}));
    f.on_search(found({R"({"resourceType":"Patient","id":"p8"})"}));
    write_fold refused;
    refused.kind = write_kind::failed;
    refused.error = client_error("PUT Device/x", "400 Bad Request: no");
    f.on_write(refused);
    BOOST_TEST(f.result().error().message == "PUT Device/x failed: 400 Bad Request: no");
    BOOST_TEST((f.result().error().cls == failure_class::permanent));
  }
}

BOOST_AUTO_TEST_SUITE_END()
