// Identity resolution against the real FHIR server (iomt-spec §11, iomt-expected D1-D4).
#include "fhir/errors.hpp"
#include "fhir/identity.hpp"
#include "fhir_test_support.hpp"

#include <boost/test/unit_test.hpp>

using namespace iomt::fhir;
using namespace iomt::fhir::test;
namespace http = boost::beast::http;

namespace {

struct shard : client_shard {
  iomt::mapping::result<iomt::mapping::fhir::resource_ids> resolve(identity_resolver& r, identity_request q) {
    return run(ioc, r.resolve(q));
  }
  void put(const std::string& path, const std::string& body) {
    auto r = call(http::verb::put, fhir_server::url() + "/" + path, body);
    BOOST_TEST_REQUIRE(r.status / 100 == 2u, r.status << " " << r.body);
  }
  boost::json::object get(const std::string& path) {
    auto r = call(http::verb::get, fhir_server::url() + "/" + path);
    BOOST_TEST_REQUIRE(r.status == 200u, r.status << " " << r.body);
    return r.json().as_object();
  }
};

identity_options mode(identity_mode m, std::string system = {}) {
  identity_options o;
  o.mode = m;
  o.device_identifier_system = std::move(system);
  return o;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(identity, shard)

BOOST_AUTO_TEST_CASE(create_then_lookup) {
  identity_resolver create(*fhir, mode(identity_mode::create));
  auto ids = resolve(create, {"deviceId", "patientId", std::nullopt});
  BOOST_TEST_REQUIRE(ids.has_value(), (ids ? "" : ids.error().message));
  // iomt-expected D2
  BOOST_TEST(ids->device == "96b1d91b8c1066c6093f8699cbd01fd2e9e8956cbad873307dcbd44449aafd13");
  BOOST_TEST(ids->patient == "bf7c741785b9bbaa3e63dd3637c0acb9caa211351ff2ca17d9474c20c1cdb683");
  BOOST_TEST(!ids->encounter);
  auto device = get("Device/" + ids->device);
  BOOST_TEST(boost::json::serialize(device["identifier"]) == R"([{"value":"deviceId"}])");
  BOOST_TEST(device["patient"].as_object()["reference"].as_string() == "Patient/" + ids->patient);
  auto patient = get("Patient/" + ids->patient);
  BOOST_TEST(boost::json::serialize(patient["identifier"]) == R"([{"value":"patientId"}])");

  // cached per DeviceId: no request
  const auto before = fhir->stats().requests;
  auto again = resolve(create, {"deviceId", "otherPatient", std::nullopt});
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->patient == ids->patient);
  BOOST_TEST(fhir->stats().requests == before);

  // Lookup finds it with one search, the message's patient id ignored
  identity_resolver lookup(*fhir, mode(identity_mode::lookup));
  auto found = resolve(lookup, {"deviceId", std::nullopt, std::nullopt});
  BOOST_TEST_REQUIRE(found.has_value());
  BOOST_TEST(found->device == ids->device);
  BOOST_TEST(found->patient == ids->patient);
  BOOST_TEST(fhir->stats().requests == before + 1);
}

BOOST_AUTO_TEST_CASE(create_with_a_device_identifier_system) {
  identity_resolver create(*fhir, mode(identity_mode::create, "mySystem"));
  auto ids = resolve(create, {"deviceId", "patientId", std::nullopt});
  BOOST_TEST_REQUIRE(ids.has_value());
  BOOST_TEST(ids->device == "fd6eb28968a94406c73e4c3b6f05a142f71e3a1a27f3cf9435019cae48069afa");
  auto device = get("Device/" + ids->device);
  BOOST_TEST(boost::json::serialize(device["identifier"]) == R"([{"system":"mySystem","value":"deviceId"}])");
  // a lookup without the system does not see it... with it, it does
  identity_resolver lookup(*fhir, mode(identity_mode::lookup, "mySystem"));
  BOOST_TEST(resolve(lookup, {"deviceId", std::nullopt, std::nullopt}).has_value());
  identity_resolver other(*fhir, mode(identity_mode::lookup, "otherSystem"));
  BOOST_TEST(resolve(other, {"deviceId", std::nullopt, std::nullopt}).has_error());
}

BOOST_AUTO_TEST_CASE(lookup_miss_is_device_not_found) {
  identity_resolver lookup(*fhir, mode(identity_mode::lookup));
  auto r = resolve(lookup, {"missing device", "p", std::nullopt});
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().type == "FhirResourceNotFoundException");
  BOOST_TEST(metric_name(r.error()) == "DeviceNotFoundException");
  BOOST_TEST(r.error().message == "Fhir resource of type Device not found. (Device?identifier=missing device)");
  BOOST_TEST(lookup.cache_size() == 0u);  // nothing cached on failure
}

BOOST_AUTO_TEST_CASE(device_without_patient) {
  put("Device/d2", R"({"resourceType":"Device","id":"d2","identifier":[{"value":"dev-2"}]})");
  identity_resolver lookup(*fhir, mode(identity_mode::lookup));
  auto r = resolve(lookup, {"dev-2", "pat-2", std::nullopt});
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(metric_name(r.error()) == "PatientNotFoundException");

  // Create links the existing device to the ensured patient (PUT with If-Match)
  identity_resolver create(*fhir, mode(identity_mode::create));
  auto ids = resolve(create, {"dev-2", "pat-2", std::nullopt});
  BOOST_TEST_REQUIRE(ids.has_value(), (ids ? "" : ids.error().message));
  BOOST_TEST(ids->device == "d2");
  auto device = get("Device/d2");
  BOOST_TEST(device["patient"].as_object()["reference"].as_string() == "Patient/" + ids->patient);
  auto history = get("Device/d2/_history");
  BOOST_TEST(history["entry"].as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(device_linked_elsewhere_is_a_mismatch) {
  put("Device/d3",
      R"({"resourceType":"Device","id":"d3","identifier":[{"value":"dev-3"}],"patient":{"reference":"https://elsewhere/fhir/Patient/9"}})");
  identity_resolver create(*fhir, mode(identity_mode::create));
  auto r = resolve(create, {"dev-3", "pat-3", std::nullopt});
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().type == "PatientDeviceMismatchException");
  BOOST_TEST(r.error().message.find("https://elsewhere/fhir/Patient/9") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(create_needs_a_patient_id) {
  identity_resolver create(*fhir, mode(identity_mode::create));
  auto r = resolve(create, {"dev-4", " ", std::nullopt});
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(metric_name(r.error()) == "PatientIdentityNotDefinedException");
}

BOOST_AUTO_TEST_CASE(encounters) {
  put("Patient/p5", R"({"resourceType":"Patient","id":"p5"})");
  put("Device/d5",
      R"({"resourceType":"Device","id":"d5","identifier":[{"system":"s","value":"dev-5"}],"patient":{"reference":"Patient/p5"}})");
  put("Encounter/e5",
      R"({"resourceType":"Encounter","id":"e5","status":"finished","class":{"code":"AMB"},"identifier":[{"system":"any","value":"enc-5"}]})");
  identity_resolver lookup(*fhir, mode(identity_mode::lookup, "s"));
  auto ids = resolve(lookup, {"dev-5", std::nullopt, "enc-5"});
  BOOST_TEST_REQUIRE(ids.has_value(), (ids ? "" : ids.error().message));
  BOOST_TEST(ids->patient == "p5");
  BOOST_TEST(ids->device == "d5");
  BOOST_TEST(ids->encounter.value() == "e5");

  identity_resolver lookup2(*fhir, mode(identity_mode::lookup, "s"));
  auto miss = resolve(lookup2, {"dev-5", std::nullopt, "enc-x"});
  BOOST_TEST_REQUIRE(miss.has_error());
  BOOST_TEST(metric_name(miss.error()) == "EncounterNotFoundException");

  identity_resolver with_encounter(*fhir, mode(identity_mode::lookup_with_encounter, "s"));
  auto blank = resolve(with_encounter, {"dev-5", std::nullopt, std::nullopt});
  BOOST_TEST_REQUIRE(blank.has_error());
  BOOST_TEST(metric_name(blank.error()) == "EncounterIdentityNotDefinedException");
  BOOST_TEST(resolve(with_encounter, {"dev-5", std::nullopt, "enc-5"}).has_value());

  // Create: an Encounter miss is not swallowed
  identity_resolver create(*fhir, mode(identity_mode::create, "s"));
  auto c = resolve(create, {"dev-5", "p", "enc-x"});
  BOOST_TEST_REQUIRE(c.has_error());
  BOOST_TEST(metric_name(c.error()) == "EncounterNotFoundException");
}

BOOST_AUTO_TEST_CASE(two_devices_with_one_identifier) {
  put("Device/a", R"({"resourceType":"Device","id":"a","identifier":[{"value":"dup"}]})");
  put("Device/b", R"({"resourceType":"Device","id":"b","identifier":[{"value":"dup"}]})");
  identity_resolver lookup(*fhir, mode(identity_mode::lookup));
  auto r = resolve(lookup, {"dup", std::nullopt, std::nullopt});
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().type == "MultipleResourceFoundException");
  BOOST_TEST(metric_name(r.error()) == "MultipleDeviceFoundException");
}

// Commas (FHIR OR), spaces, &, #, + and non-ASCII survive the query string. (`|` and `\` inside
// values are escaped as FHIR says, but the test server cannot match those.)
BOOST_AUTO_TEST_CASE(identifiers_with_search_special_characters) {
  identity_resolver create(*fhir, mode(identity_mode::create, "urn:sys"));
  auto ids = resolve(create, {"a,b c&d$f#h+\xC3\xA9", "p q,r", std::nullopt});
  BOOST_TEST_REQUIRE(ids.has_value(), (ids ? "" : ids.error().message));
  identity_resolver lookup(*fhir, mode(identity_mode::lookup, "urn:sys"));
  auto found = resolve(lookup, {"a,b c&d$f#h+\xC3\xA9", std::nullopt, std::nullopt});
  BOOST_TEST_REQUIRE(found.has_value(), (found ? "" : found.error().message));
  BOOST_TEST(found->device == ids->device);
}

BOOST_AUTO_TEST_SUITE_END()
