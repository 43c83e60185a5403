// SMART Backend Services and workload identity, sans-io (fhir/smart.hpp): the discovery document,
// the client assertion as the authorization server checks it, the token request bodies, the
// federated token file re-read after rotation.
#include "fhir/smart.hpp"
#include "fhir/auth.hpp"
#include "fhir/errors.hpp"
#include "net/jose/jwt.hpp"
#include "unit/net/jose_test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <set>

#include <unistd.h>

using namespace iomt;
using namespace iomt::fhir;
using namespace iomt::test;
using jose::algorithm;

BOOST_AUTO_TEST_SUITE(smart)

BOOST_AUTO_TEST_CASE(discovery_document) {
  BOOST_TEST(smart_configuration_url("https://ehr.example/fhir/") ==
             "https://ehr.example/fhir/.well-known/smart-configuration");
  auto te = smart_token_endpoint(
      R"({"token_endpoint":"https://auth.example/token","token_endpoint_auth_methods_supported":["private_key_jwt"],)"
      R"("token_endpoint_auth_signing_alg_values_supported":["RS384","ES384"]})",
      algorithm::rs384);
  BOOST_TEST_REQUIRE(te.has_value());
  BOOST_TEST(*te == "https://auth.example/token");
  BOOST_TEST(smart_token_endpoint(R"({"token_endpoint":"https://a/t"})", algorithm::es384).has_value());
  auto no_pkj = smart_token_endpoint(
      R"({"token_endpoint":"https://a/t","token_endpoint_auth_methods_supported":["client_secret_basic"]})",
      algorithm::rs384);
  BOOST_TEST_REQUIRE(!no_pkj);
  BOOST_TEST(no_pkj.error().type == authentication_exception);
  BOOST_TEST((no_pkj.error().cls == mapping::failure_class::blocked));
  BOOST_TEST(no_pkj.error().message.find("private_key_jwt") != std::string::npos);
  auto no_alg = smart_token_endpoint(
      R"({"token_endpoint":"https://a/t","token_endpoint_auth_signing_alg_values_supported":["ES384"]})",
      algorithm::rs384);
  BOOST_TEST_REQUIRE(!no_alg);
  BOOST_TEST(no_alg.error().message.find("RS384") != std::string::npos);
  BOOST_TEST(!smart_token_endpoint("{}", algorithm::rs384));
  BOOST_TEST(!smart_token_endpoint("<html>", algorithm::rs384));
}

BOOST_AUTO_TEST_CASE(client_assertion_as_the_server_checks_it) {
  for (auto [type, alg] : {std::pair{"RSA", algorithm::rs384}, std::pair{"P-384", algorithm::es384}}) {
    const auto key = make_key(type, alg, "smart-key-1");
    const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
    auto a = smart_client_assertion(key, "iomtflow-client", "https://auth.example/token", at, std::chrono::minutes(10),
                                    "jti-1");
    BOOST_TEST_REQUIRE(a.has_value());
    // As an authorization server would: signature against the registered key, iss = sub =
    // client_id, aud = its token endpoint, exp at most 5 minutes ahead.
    jose::jwt_policy p;
    p.issuers = {"iomtflow-client"};
    p.audiences = {"https://auth.example/token"};
    p.algorithms = {alg};
    p.scopes = {"never"};
    auto r = jose::validate_jwt(*a, key_set_of(jwks_json(key)), p, 1800000000);
    BOOST_TEST_REQUIRE(!r);  // no role claims in an assertion: everything up to that check passed
    BOOST_TEST((r.error().code == jose::jwt_errc::missing_role));
    auto jws = jose::parse_compact(*a);
    BOOST_TEST(jws->alg == jose::to_string(alg));
    BOOST_TEST(jws->kid == "smart-key-1");
    BOOST_TEST((jws->header.at("typ").as_string() == "JWT"));
    const auto& c = jws->payload;
    BOOST_TEST((c.at("iss").as_string() == "iomtflow-client"));
    BOOST_TEST((c.at("sub").as_string() == "iomtflow-client"));
    BOOST_TEST((c.at("aud").as_string() == "https://auth.example/token"));
    BOOST_TEST((c.at("jti").as_string() == "jti-1"));
    BOOST_TEST(c.at("exp").as_int64() - c.at("iat").as_int64() == 300);  // capped at 5 minutes
  }
  std::set<std::string> jtis;
  for (int i = 0; i < 1000; ++i) jtis.insert(new_jti());
  BOOST_TEST(jtis.size() == 1000u);
  BOOST_TEST(jtis.begin()->size() == 32u);
}

BOOST_AUTO_TEST_CASE(token_request_bodies) {
  BOOST_TEST(smart_token_request("a.b.c", "system/Observation.write system/Patient.read") ==
             "grant_type=client_credentials&scope=system%2FObservation.write+system%2FPatient.read"
             "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
             "&client_assertion=a.b.c");
  BOOST_TEST(
      workload_identity_token_request("00000000-cid", "x.y.z", "https://f.fhir.azurehealthcareapis.com/.default") ==
      "grant_type=client_credentials&client_id=00000000-cid"
      "&scope=https%3A%2F%2Ff.fhir.azurehealthcareapis.com%2F.default"
      "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
      "&client_assertion=x.y.z");
  BOOST_TEST(entra_token_url("https://login.microsoftonline.com/", "t-1") ==
             "https://login.microsoftonline.com/t-1/oauth2/v2.0/token");
  BOOST_TEST(entra_token_url("https://login.microsoftonline.us", "t-1") ==
             "https://login.microsoftonline.us/t-1/oauth2/v2.0/token");
}

BOOST_AUTO_TEST_CASE(federated_token_file_is_read_as_it_is_now) {
  char path[] = "/tmp/iomt-federated-token-XXXXXX";
  const int fd = mkstemp(path);
  BOOST_TEST_REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "first.token.value\n";
  BOOST_TEST(read_federated_token(path).value() == "first.token.value");
  std::ofstream(path, std::ios::trunc) << "  second.token.value";  // the kubelet rotated it
  BOOST_TEST(read_federated_token(path).value() == "second.token.value");
  std::ofstream(path, std::ios::trunc) << "\n";
  BOOST_TEST(read_federated_token(path).error().message.find("is empty") != std::string::npos);
  std::remove(path);
  auto missing = read_federated_token(path);
  BOOST_TEST_REQUIRE(!missing);
  BOOST_TEST((missing.error().cls == mapping::failure_class::blocked));
  BOOST_TEST(missing.error().message.find("azure.workload.identity/use") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(authenticator_refuses_plain_http_token_endpoints) {
  boost::asio::io_context ioc;
  auth_options o;
  o.kind = auth_kind::workload_identity;
  o.client_id = "c";
  o.federated_token_file = "/var/run/secrets/azure/tokens/azure-identity-token";
  o.token_url = "http://login.example/t/oauth2/v2.0/token";
  auto a = authenticator::create(ioc.get_executor(), o);
  BOOST_TEST_REQUIRE(!a);
  BOOST_TEST(a.error().message.find("is not https") != std::string::npos);
  o.allow_http = true;
  BOOST_TEST(authenticator::create(ioc.get_executor(), o).has_value());
  o.kind = auth_kind::smart;
  o.private_key_file = "/nonexistent.pem";
  a = authenticator::create(ioc.get_executor(), o);
  BOOST_TEST_REQUIRE(!a);
  BOOST_TEST(a.error().message.find("cannot read the key file") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
