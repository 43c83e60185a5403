// Search plumbing (fhir/search.hpp), references (D4), errors and the TTL cache.
#include "fhir/search.hpp"
#include "fhir/errors.hpp"
#include "fhir/http_pool.hpp"
#include "fhir/reference.hpp"
#include "fhir/ttl_cache.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace iomt::fhir;
using namespace std::chrono_literals;

namespace {

boost::json::object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(search)

BOOST_AUTO_TEST_CASE(identifier_queries) {
  BOOST_TEST(identifier_query("Device", "", "deviceId") == "Device?identifier=deviceId");
  BOOST_TEST(identifier_query("Device", "mySystem", "deviceId") == "Device?identifier=mySystem%7CdeviceId");
  BOOST_TEST(identifier_query("Observation", "https://azure.microsoft.com/en-us/services/iomt-fhir-connector/",
                              "p.d.heartrate.20190201224601Z.20190201224601Z") ==
             "Observation?identifier=https://azure.microsoft.com/en-us/services/iomt-fhir-connector/%7C"
             "p.d.heartrate.20190201224601Z.20190201224601Z");
  // FHIR escaping of , | \ then percent-encoding; spaces, & and # never break the target
  BOOST_TEST(encode_search_token("a,b c&d") == "a%5C%2Cb%20c%26d");
  BOOST_TEST(encode_search_token("x|y$z\\") == "x%5C%7Cy%24z%5C%5C");
  BOOST_TEST(encode_search_token("#?+=") == "%23%3F%2B%3D");
  BOOST_TEST(encode_search_token("\xC3\xA9") == "%C3%A9");
}

BOOST_AUTO_TEST_CASE(search_bundles) {
  auto p = parse_search_bundle(
      R"({"resourceType":"Bundle","type":"searchset","total":3,"link":[{"relation":"self","url":"x"},{"relation":"next","url":"http://h:1/fhir/Device?identifier=a&_offset=2"}],
          "entry":[{"resource":{"resourceType":"Device","id":"1"}},{"search":{}},{"resource":{"resourceType":"Device","id":"2"}}]})");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->resources.size() == 2u);
  BOOST_TEST(p->total.value() == 3);
  BOOST_TEST(p->next.value() == "http://h:1/fhir/Device?identifier=a&_offset=2");
  BOOST_TEST(target_of_url(*p->next) == "/fhir/Device?identifier=a&_offset=2");
  BOOST_TEST(target_of_url("/fhir/Device?x=1") == "/fhir/Device?x=1");

  p = parse_search_bundle(R"({"resourceType":"Bundle","type":"searchset","total":0})");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->resources.empty());
  BOOST_TEST(!p->next);

  BOOST_TEST(parse_search_bundle(R"({"resourceType":"OperationOutcome"})").has_error());
  BOOST_TEST(parse_search_bundle("[1,2]").has_error());
  BOOST_TEST(parse_search_bundle("{").has_error());
}

BOOST_AUTO_TEST_CASE(exact_identifier_matches_only) {
  const std::string sys = "https://azure.microsoft.com/en-us/services/iomt-fhir-connector/";
  const std::string value = std::string(140, 'a') + ".x";
  std::vector<boost::json::object> found{
      obj(R"({"id":"1","identifier":[{"system":")" + sys + R"(","value":")" + std::string(140, 'a') + R"(.y"}]})"),
      obj(R"({"id":"2","identifier":[{"value":"other"},{"system":")" + sys + R"(","value":")" + value + R"("}]})"),
      obj(R"({"id":"3","identifier":[{"system":"other","value":")" + value + R"("}]})"),
      obj(R"({"id":"4","identifier":[{"system":")" + sys + R"(","value":")" + std::string(140, 'A') + R"(.X"}]})"),
      obj(R"({"id":"5"})"),
      obj(R"({"id":"6","identifier":"bad"})"),
  };
  keep_exact_matches(found, sys, value);
  BOOST_REQUIRE(found.size() == 1u);
  BOOST_TEST(string_member(found[0], "id") == "2");
  BOOST_TEST(has_identifier(obj(R"({"identifier":[{"value":"v"}]})"), "", "v"));
  BOOST_TEST(!has_identifier(obj(R"({"identifier":[{"system":"s","value":"v"}]})"), "", "v"));
}

BOOST_AUTO_TEST_CASE(versions_are_opaque) {
  BOOST_TEST(version_id(obj(R"({"meta":{"versionId":"4e1e0c1a-7d6f-4a43-9f3e-1c2d3e4f5a6b"}})")) ==
             "4e1e0c1a-7d6f-4a43-9f3e-1c2d3e4f5a6b");
  BOOST_TEST(version_id(obj(R"({"meta":{}})")) == "");
  BOOST_TEST(version_id(obj(R"({"meta":3})")) == "");
  BOOST_TEST(weak_etag("2") == "W/\"2\"");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reference)

// iomt-expected D4
BOOST_AUTO_TEST_CASE(patient_references) {
  BOOST_TEST(reference_id("Patient/123", "Patient").value() == "123");
  BOOST_TEST(reference_id("patient/a-b_c.d~e#f", "Patient").value() == "a-b_c.d~e#f");
  BOOST_TEST(!reference_id("Not a reference in the form of: /ResourceName/Identifier", "Patient"));
  BOOST_TEST(!reference_id("Patient/123?_id=123", "Patient"));
  BOOST_TEST(!reference_id("http://server/fhir/Patient/123", "Patient"));
  BOOST_TEST(!reference_id("Patient/", "Patient"));
  BOOST_TEST(!reference_id("Device/1", "Patient"));
  BOOST_TEST(!reference_id("", "Patient"));
  BOOST_TEST(make_reference("Patient", "x") == "Patient/x");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(metric_names_follow_upstream) {
  BOOST_TEST(metric_name(not_found("Device")) == "DeviceNotFoundException");
  BOOST_TEST(not_found("Device").message == "Fhir resource of type Device not found.");
  BOOST_TEST(not_found("Encounter", "(x)").message == "Fhir resource of type Encounter not found. (x)");
  BOOST_TEST(metric_name(identity_not_defined("Patient")) == "PatientIdentityNotDefinedException");
  BOOST_TEST(metric_name(multiple_found("Device", 2)) == "MultipleDeviceFoundException");
  BOOST_TEST(multiple_found("Observation", 3).message ==
             "Multiple resources 3 of type Observation found, expected one.");
  BOOST_TEST(metric_name(patient_device_mismatch("m")) == "PatientDeviceMismatchException");
  BOOST_TEST(metric_name(client_error("PUT Observation/1", "400 Bad Request")) == "FhirClientException");
  BOOST_TEST(client_error("PUT Observation/1", "400 Bad Request").message ==
             "PUT Observation/1 failed: 400 Bad Request");
  BOOST_TEST(error_resource_type(not_found("Patient")) == "Patient");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cache)

BOOST_AUTO_TEST_CASE(sliding_and_absolute_expiry) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::time_point{} + 100h;
  ttl_cache<int> sliding(10, 2h, true);
  sliding.put("d", 1, t0);
  BOOST_TEST(*sliding.find("d", t0 + 1h) == 1);
  BOOST_TEST(*sliding.find("d", t0 + 2h + 30min) == 1);  // extended by the hit at 1 h
  BOOST_TEST(!sliding.find("d", t0 + 5h));
  BOOST_TEST(sliding.size() == 0u);

  ttl_cache<int> absolute(10, 1h, false);
  absolute.put("o", 1, t0);
  BOOST_TEST(*absolute.find("o", t0 + 59min) == 1);
  BOOST_TEST(!absolute.find("o", t0 + 60min));
}

BOOST_AUTO_TEST_CASE(capacity_evicts_least_recently_used) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::time_point{} + 100h;
  ttl_cache<std::string> c(2, 1h, false);
  c.put("a", "1", t0);
  c.put("b", "2", t0);
  BOOST_TEST(c.find("a", t0) != nullptr);  // a is now the most recent
  c.put("c", "3", t0);
  BOOST_TEST(c.find("b", t0) == nullptr);
  BOOST_TEST(*c.find("a", t0) == "1");
  BOOST_TEST(*c.find("c", t0) == "3");
  c.put("a", "9", t0);  // replace
  BOOST_TEST(*c.find("a", t0) == "9");
  BOOST_TEST(c.size() == 2u);
  c.erase("a");
  BOOST_TEST(c.find("a", t0) == nullptr);
  ttl_cache<int> off(0, 1h, false);
  off.put("x", 1, t0);
  BOOST_TEST(off.find("x", t0) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(endpoints)

BOOST_AUTO_TEST_CASE(base_urls) {
  auto e = endpoint::parse("http://127.0.0.1:8080/fhir/");
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(!e->tls);
  BOOST_TEST(e->host == "127.0.0.1");
  BOOST_TEST(e->port == 8080);
  BOOST_TEST(e->host_header == "127.0.0.1:8080");
  BOOST_TEST(e->base_path == "/fhir");
  e = endpoint::parse("HTTPS://example.fhir.azurehealthcareapis.com");
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->tls);
  BOOST_TEST(e->port == 443);
  BOOST_TEST(e->host_header == "example.fhir.azurehealthcareapis.com");
  BOOST_TEST(e->base_path == "");
  e = endpoint::parse("https://[::1]:8443/r4");
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->host == "::1");
  BOOST_TEST(e->host_header == "[::1]:8443");
  BOOST_TEST(endpoint::parse("ftp://x/").has_error());
  BOOST_TEST(endpoint::parse("not a url").has_error());
  BOOST_TEST(endpoint::parse("http:///fhir").has_error());
}

BOOST_AUTO_TEST_SUITE_END()
