#define BOOST_TEST_MODULE pipeline
#include <boost/test/unit_test.hpp>

#include "pipeline/config.hpp"

using namespace iomt::pipeline;

namespace {
const char* minimal = R"(
mapping: {device: d.json, fhir: f.json}
fhir: {url: "http://127.0.0.1:8080/fhir/"}
source: {http: {auth: none}}
)";
}

BOOST_AUTO_TEST_CASE(defaults_and_relative_paths) {
  auto c = parse_config(minimal, "/etc/iomtflow");
  BOOST_REQUIRE(c);
  BOOST_TEST(c->mapping.device_mapping == "/etc/iomtflow/d.json");
  BOOST_TEST(c->fhir.url == "http://127.0.0.1:8080/fhir");  // trailing slash dropped
  BOOST_TEST(c->fhir.identity == "Create");
  BOOST_TEST(c->pipeline.flush_interval.count() == 1000);
  BOOST_TEST(c->pipeline.shards >= 1u);
  BOOST_TEST(c->http.max_body_bytes == 1048576u);
}

BOOST_AUTO_TEST_CASE(errors_name_the_field) {
  struct {
    const char* yaml;
    const char* field;
  } cases[] = {
      {"mapping: {fhir: f.json}\nfhir: {url: http://x}\nsource: {http: {auth: none}}", "mapping.device"},
      {"mapping: {device: d, fhir: f}\nsource: {http: {auth: none}}", "fhir.url"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: ftp://x}\nsource: {http: {auth: none}}", "fhir.url"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, identity: Guess}\nsource: {http: {auth: none}}", "fhir.identity"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, timeoutt: 1s}\nsource: {http: {auth: none}}", "fhir.timeoutt"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: sas}}", "source.http.keys"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: none}}\npipeline: {flush_interval: soon}",
       "pipeline.flush_interval"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: bearer, token_env: NOPE_NOT_SET}}\nsource: {http: {auth: none}}",
       "fhir.auth.token_env"},
      {"mapping: [", "(file)"},
  };
  std::map<std::string, std::string> env;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.yaml) {
      auto r = parse_config(c.yaml, ".", &env);
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().field == c.field);
    }
  }
}

BOOST_AUTO_TEST_CASE(secrets_come_from_environment) {
  std::map<std::string, std::string> env{{"SAS", "secret-key"}, {"CS", "client-secret"}};
  auto c = parse_config(R"(
mapping: {device: d, fhir: f}
source: {http: {keys: [{name: send, key_env: SAS}]}}
fhir: {url: https://f/fhir, auth: {mode: oauth2, token_url: https://t/token, client_id: me, client_secret_env: CS}}
pipeline: {flush_interval: 250ms, shards: 3}
)",
                        ".", &env);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->http.keys.at(0).key == "secret-key");
  BOOST_TEST(c->fhir.auth.client_secret == "client-secret");
  BOOST_TEST(c->pipeline.flush_interval.count() == 250);
  BOOST_TEST(c->pipeline.shards == 3u);
}
