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

BOOST_AUTO_TEST_CASE(buffer_deadletter_and_sources) {
  std::map<std::string, std::string> env{{"EH", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=a2V5;EntityPath=devicedata"},
                                         {"ST", "UseDevelopmentStorage=true"},
                                         {"AP", "amqp-password"},
                                         {"HOSTNAME", "iomtflow-2"}};
  auto c = parse_config(R"(
mapping: {device: d, fhir: f}
fhir: {url: http://x/fhir}
source:
  http: {auth: none}
  amqp: {url: "amqps://broker:5671", addresses: [/amq/queue/q], user: iomt, password_env: AP}
  eventhubs:
    connection_string_env: EH
    replica_index: auto
    replica_count: 4
    checkpoint_store: blob
    checkpoint_blob: {connection_string_env: ST, container: checkpoints, timeout: 5s}
buffer: {dir: buf, max_bytes: 64MiB, fsync: interval}
deadletter: {dir: dl}
)",
                        "/data", &env);
  BOOST_REQUIRE_MESSAGE(c, (c ? "" : c.error().field + ": " + c.error().message));
  BOOST_TEST(c->buffer.enabled);
  BOOST_TEST(c->buffer.dir == "/data/buf");
  BOOST_TEST(c->buffer.max_bytes == 64u << 20);
  BOOST_TEST(c->deadletter.enabled);
  BOOST_TEST(c->deadletter.dir == "/data/dl");
  BOOST_TEST(c->amqp.enabled);
  BOOST_TEST(c->amqp.password == "amqp-password");
  BOOST_TEST(c->eventhubs.enabled);
  BOOST_TEST(c->eventhubs.replica_index == 2u);  // the StatefulSet ordinal
  BOOST_TEST(c->eventhubs.checkpoint_store == "blob");
  BOOST_TEST(c->eventhubs.checkpoint_blob_connection_string == "UseDevelopmentStorage=true");
  BOOST_TEST(c->eventhubs.checkpoint_blob_container == "checkpoints");
  BOOST_TEST(c->eventhubs.checkpoint_blob_timeout.count() == 5000);

  struct {
    const char* yaml;
    const char* field;
  } bad[] = {
      {"buffer: {fsync: sometimes}", "buffer.fsync"},
      {"deadletter: {enabled: false}", "deadletter.enabled"},  // the buffer needs it
      {"source: {http: {auth: none}, eventhubs: {connection_string_env: EH, checkpoint_store: s3}}",
       "source.eventhubs.checkpoint_store"},
      {"source: {http: {auth: none}, eventhubs: {connection_string_env: EH, checkpoint_store: blob}}",
       "source.eventhubs.checkpoint_blob.connection_string_env"},
      {"source: {http: {auth: none}, eventhubs: {connection_string_env: EH, replica_index: 4, replica_count: 4}}",
       "source.eventhubs.replica_index"},
  };
  for (const auto& b : bad) {
    BOOST_TEST_CONTEXT(b.yaml) {
      std::string yaml = std::string("mapping: {device: d, fhir: f}\nfhir: {url: http://x}\n") + b.yaml;
      if (std::string(b.yaml).find("source:") == std::string::npos) yaml += "\nsource: {http: {auth: none}}";
      auto r = parse_config(yaml, ".", &env);
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().field == b.field, r.error().field << ": " << r.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(deadletter_bounds_and_policy) {
  const std::string base = "mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: none}}\n";
  auto c = parse_config(base, ".");
  BOOST_REQUIRE(c);
  BOOST_TEST(c->deadletter.max_bytes == 1ull << 30);  // an operator's defaults: 1 GiB, 14 days
  BOOST_TEST(c->deadletter.max_age.count() == 14ll * 86400 * 1000);
  BOOST_TEST(c->deadletter.max_entries_per_submission == 10u);
  BOOST_TEST(c->deadletter.policy.empty());
  c = parse_config(base + R"(deadletter:
  max_bytes: 2MiB
  max_age: 36h
  max_entries_per_submission: 10
  policy: {TemplateNotFoundException: count, InvalidDataFormatException: store}
)",
                   ".");
  BOOST_REQUIRE_MESSAGE(c, (c ? "" : c.error().field + ": " + c.error().message));
  BOOST_TEST(c->deadletter.max_bytes == 2u << 20);
  BOOST_TEST(c->deadletter.max_age.count() == 36ll * 3600 * 1000);
  BOOST_TEST(c->deadletter.max_entries_per_submission == 10u);
  BOOST_TEST(c->deadletter.policy.at("TemplateNotFoundException") == "count");
  BOOST_TEST(c->deadletter.policy.at("InvalidDataFormatException") == "store");
  c = parse_config(base + "deadletter: {max_bytes: 0, max_age: 0, max_entries_per_submission: 1}\n", ".");
  BOOST_REQUIRE(c);  // 0: no bound
  BOOST_TEST(c->deadletter.max_bytes == 0u);
  c = parse_config(base + "deadletter: {max_age: 7d}\n", ".");
  BOOST_REQUIRE(c);
  BOOST_TEST(c->deadletter.max_age.count() == 7ll * 86400 * 1000);

  struct {
    const char* yaml;
    const char* field;
  } bad[] = {
      {"deadletter: {max_bytes: 100KiB}", "deadletter.max_bytes"},
      {"deadletter: {max_bytes: lots}", "deadletter.max_bytes"},
      {"deadletter: {max_age: 30s}", "deadletter.max_age"},
      {"deadletter: {max_age: forever}", "deadletter.max_age"},
      {"deadletter: {max_entries_per_submission: 0}", "deadletter.max_entries_per_submission"},
      {"deadletter: {policy: [count]}", "deadletter.policy"},
      {"deadletter: {policy: {TemplateNotFoundException: drop}}", "deadletter.policy.TemplateNotFoundException"},
      {"deadletter: {max_size: 1GiB}", "deadletter.max_size"},
  };
  for (const auto& b : bad) {
    BOOST_TEST_CONTEXT(b.yaml) {
      auto r = parse_config(base + b.yaml, ".");
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().field == b.field, r.error().field << ": " << r.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(fhir_bundles_auto_true_false) {
  const std::string base = "mapping: {device: d, fhir: f}\nsource: {http: {auth: none}}\n";
  auto c = parse_config(base + "fhir: {url: http://x}\n", ".");
  BOOST_REQUIRE(c);
  BOOST_TEST((c->fhir.bundles == bundles_mode::automatic));  // the default: as the CapabilityStatement says
  BOOST_TEST(c->fhir.bundle_max_entries == 50u);
  for (const auto& [text, mode] : std::vector<std::pair<std::string, bundles_mode>>{{"auto", bundles_mode::automatic},
                                                                                    {"AUTO", bundles_mode::automatic},
                                                                                    {"true", bundles_mode::on},
                                                                                    {"false", bundles_mode::off},
                                                                                    {"\"true\"", bundles_mode::on},
                                                                                    {"no", bundles_mode::off}}) {
    c = parse_config(base + "fhir: {url: http://x, bundles: " + text + ", bundle_max_entries: 500}\n", ".");
    BOOST_REQUIRE_MESSAGE(c, text);
    BOOST_TEST((c->fhir.bundles == mode), text);
    BOOST_TEST(c->fhir.bundle_max_entries == 500u);
  }
  for (const char* bad : {"bundles: sometimes", "bundles: [true]", "bundle_max_entries: 0"}) {
    c = parse_config(base + "fhir: {url: http://x, " + bad + "}\n", ".");
    BOOST_REQUIRE_MESSAGE(!c, bad);
    BOOST_TEST(c.error().field.starts_with("fhir.bundle"), bad);
  }
}

// Issue 15: auth: jwt on ingest, SMART Backend Services and workload identity to FHIR.
BOOST_AUTO_TEST_CASE(jwt_smart_and_workload_identity) {
  std::map<std::string, std::string> env{
      {"SAS", "k"},
      {"AZURE_CLIENT_ID", "cid"},
      {"AZURE_TENANT_ID", "tid"},
      {"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token"}};
  auto c = parse_config(R"(
mapping: {device: d, fhir: f}
source:
  http:
    auth: "sas, jwt"
    keys: [{name: send, key_env: SAS}]
    jwt: {issuer: "https://login.example/t/v2.0", audiences: [api://iomtflow], roles: [IomtFlow.Send], min_refresh_interval: 5s}
fhir: {url: "https://f.fhir.azurehealthcareapis.com/", auth: {mode: workload_identity}}
)",
                        "/etc/iomtflow", &env);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->http.auth == "sas,jwt");
  BOOST_TEST(c->http.auth_sas);
  BOOST_TEST(c->http.auth_jwt);
  BOOST_TEST(c->http.jwt.min_refresh_interval.count() == 5000);
  BOOST_TEST(c->fhir.auth.client_id == "cid");
  BOOST_TEST(c->fhir.auth.tenant_id == "tid");
  BOOST_TEST(c->fhir.auth.authority_host == "https://login.microsoftonline.com/");
  BOOST_TEST(c->fhir.auth.scope == "https://f.fhir.azurehealthcareapis.com/.default");

  auto s = parse_config(R"(
mapping: {device: d, fhir: f}
source: {http: {auth: [jwt], jwt: {issuer: "https://i", audiences: [a], scopes: [Telemetry.Send]}}}
fhir: {url: http://x/fhir, auth: {mode: smart, client_id: me, private_key_file: keys/smart.pem, scope: system/Observation.write}}
)",
                        "/etc/iomtflow", &env);
  BOOST_REQUIRE(s);
  BOOST_TEST(s->http.auth == "jwt");
  BOOST_TEST(!s->http.auth_sas);
  BOOST_TEST(s->fhir.auth.private_key_file == "/etc/iomtflow/keys/smart.pem");

  struct {
    const char* yaml;
    const char* field;
  } cases[] = {
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: jwt}}", "source.http.jwt.issuer"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: jwt, jwt: {issuer: 'http://i', "
       "audiences: [a], roles: [r]}}}",
       "source.http.jwt.issuer"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: jwt, jwt: {issuer: 'https://i', "
       "roles: [r]}}}",
       "source.http.jwt.audiences"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: jwt, jwt: {issuer: 'https://i', "
       "audiences: [a]}}}",
       "source.http.jwt.roles"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: jwt, jwt: {issuer: 'https://i', "
       "audiences: [a], roles: [r], algorithms: [HS256]}}}",
       "source.http.jwt.algorithms"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: 'none, jwt'}}", "source.http.auth"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: basic}}", "source.http.auth"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: smart, client_id: me}}\nsource: {http: "
       "{auth: "
       "none}}",
       "fhir.auth.private_key_file"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: smart, client_id: me, private_key_file: k, "
       "assertion_lifetime: 10m}}\nsource: {http: {auth: none}}",
       "fhir.auth.assertion_lifetime"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: smart, client_id: me, private_key_file: k, "
       "token_url: 'http://t/token'}}\nsource: {http: {auth: none}}",
       "fhir.auth.token_url"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: workload_identity}}\nsource: {http: {auth: "
       "none}}",
       "fhir.auth.client_id"},
  };
  std::map<std::string, std::string> no_env;
  for (const auto& t : cases) {
    BOOST_TEST_CONTEXT(t.yaml) {
      auto r = parse_config(t.yaml, ".", &no_env);
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().field == t.field);
    }
  }
}
