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
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, identity: Guess}\nsource: {http: {auth: none}}",
       "fhir.identity"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, timeoutt: 1s}\nsource: {http: {auth: none}}",
       "fhir.timeoutt"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: sas}}", "source.http.keys"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: none}}\npipeline: {flush_interval: "
       "soon}",
       "pipeline.flush_interval"},
      {"mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: bearer, token_env: NOPE_NOT_SET}}\nsource: "
       "{http: {auth: none}}",
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
  std::map<std::string, std::string> env{
      {"EH",
       "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=a2V5;EntityPath=devicedata"},
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
  BOOST_TEST(c->eventhubs.ownership == "static");

  auto d = parse_config(R"(
mapping: {device: d, fhir: f}
fhir: {url: http://x/fhir}
source:
  http: {auth: none}
  eventhubs:
    connection_string_env: EH
    ownership: dynamic
    owner_id: pod-a
    balance_interval: 2s
    ownership_expiry: 15s
    checkpoint_store: blob
    checkpoint_blob: {connection_string_env: ST, container: checkpoints}
)",
                        "/data", &env);
  BOOST_REQUIRE_MESSAGE(d, (d ? "" : d.error().field + ": " + d.error().message));
  BOOST_TEST(d->eventhubs.ownership == "dynamic");
  BOOST_TEST(d->eventhubs.owner_id == "pod-a");
  BOOST_TEST(d->eventhubs.balance_interval.count() == 2000);
  BOOST_TEST(d->eventhubs.ownership_expiry.count() == 15000);

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
      // Dynamic ownership (docs/scaling.md): its records live in Blob Storage, and the static keys
      // are refused by name.
      {"source: {http: {auth: none}, eventhubs: {connection_string_env: EH, ownership: sticky}}",
       "source.eventhubs.ownership"},
      {"source: {http: {auth: none}, eventhubs: {connection_string_env: EH, ownership: dynamic}}",
       "source.eventhubs.checkpoint_store"},
      {"source: {http: {auth: none}, eventhubs: {connection_string_env: EH, ownership: dynamic, replica_count: 4, "
       "checkpoint_store: blob, checkpoint_blob: {connection_string_env: ST, container: c1c}}}",
       "source.eventhubs.replica_count"},
      {"source: {http: {auth: none}, eventhubs: {connection_string_env: EH, ownership: dynamic, balance_interval: 60s, "
       "checkpoint_store: blob, checkpoint_blob: {connection_string_env: ST, container: c1c}}}",
       "source.eventhubs.ownership_expiry"},
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

// Issue 15: TLS, limits, SAS bounds, the admin port, the designer's listener, token URLs.
BOOST_AUTO_TEST_CASE(ingest_hardening_options) {
  std::map<std::string, std::string> env{{"SAS", "k"}, {"CS", "s"}, {"DP", "pw"}};
  auto c = parse_config(R"(
mapping: {device: d, fhir: f}
source:
  http:
    keys: [{name: send, key_env: SAS}]
    tls: {cert_file: tls/tls.crt, key_file: /etc/tls/tls.key, client_ca_file: tls/ca.crt, min_version: "1.3"}
    hosts: [ingest.example.org, "https://other.example.org"]
    max_token_lifetime: 1d
    max_connections: 500
    first_byte_timeout: 5s
    header_timeout: 4s
    body_timeout: 20s
    idle_timeout: 30s
    max_header_bytes: 8192
admin: {listen: 0.0.0.0, port: 9090}
designer: {enabled: true, listen: 0.0.0.0, port: 8091, auth: {user: me, password_env: DP}, max_measurements: 50}
fhir: {url: https://f/fhir, auth: {mode: oauth2, token_url: https://t/token, client_id: me, client_secret_env: CS}}
)",
                        "/etc/iomtflow", &env);
  BOOST_REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().field + ": " + c.error().message));
  BOOST_TEST(c->http.tls.cert_file == "/etc/iomtflow/tls/tls.crt");
  BOOST_TEST(c->http.tls.key_file == "/etc/tls/tls.key");
  BOOST_TEST(c->http.tls.client_ca_file == "/etc/iomtflow/tls/ca.crt");
  BOOST_TEST(c->http.tls.min_version == "1.3");
  BOOST_TEST(c->http.hosts.size() == 2u);
  BOOST_TEST(c->http.max_token_lifetime.count() == 86400000);
  BOOST_TEST(c->http.max_connections == 500u);
  BOOST_TEST(c->http.first_byte_timeout.count() == 5000);
  BOOST_TEST(c->http.header_timeout.count() == 4000);
  BOOST_TEST(c->http.body_timeout.count() == 20000);
  BOOST_TEST(c->http.idle_timeout.count() == 30000);
  BOOST_TEST(c->admin.enabled);
  BOOST_TEST(c->admin.port == 9090);
  BOOST_TEST(c->designer.password == "pw");
  BOOST_TEST(c->designer.max_measurements == 50u);

  auto d = parse_config(minimal, ".");
  BOOST_REQUIRE(d);
  BOOST_TEST(!d->http.tls.enabled());
  BOOST_TEST(!d->admin.enabled);
  BOOST_TEST(d->http.max_token_lifetime.count() == 30ll * 86400000);
  BOOST_TEST(d->designer.listen_address == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(insecure_choices_are_refused) {
  std::map<std::string, std::string> env{{"CS", "s"}};
  struct {
    const char* yaml;
    const char* field;
  } cases[] = {
      {"mapping: {device: d, fhir: f}\nsource: {http: {auth: none}}\n"
       "fhir: {url: https://f, auth: {mode: oauth2, token_url: http://t/token, client_id: c, client_secret_env: CS}}",
       "fhir.auth.token_url"},
      {"mapping: {device: d, fhir: f}\nsource: {http: {auth: none}}\nfhir: {url: https://f}\n"
       "designer: {enabled: true, listen: 0.0.0.0}",
       "designer.auth.password_env"},
      {"mapping: {device: d, fhir: f}\nsource: {http: {auth: none, tls: {cert_file: c.pem}}}\nfhir: {url: https://f}",
       "source.http.tls.key_file"},
      {"mapping: {device: d, fhir: f}\nsource: {http: {auth: none, tls: {cert_file: c, key_file: k, min_version: "
       "\"1.1\"}}}\nfhir: {url: https://f}",
       "source.http.tls.min_version"},
      {"mapping: {device: d, fhir: f}\nsource: {http: {auth: none, header_timeout: 0s}}\nfhir: {url: https://f}",
       "source.http.header_timeout"},
      {"mapping: {device: d, fhir: f}\nsource: {http: {auth: none, port: 9000}}\nfhir: {url: https://f}\n"
       "admin: {listen: 0.0.0.0, port: 9000}",
       "admin.port"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.yaml) {
      auto r = parse_config(c.yaml, ".", &env);
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().field == c.field);
    }
  }
  // Allowed explicitly (tests).
  auto ok = parse_config(
      "mapping: {device: d, fhir: f}\nsource: {http: {auth: none}}\nfhir: {url: https://f, auth: {mode: oauth2, "
      "token_url: http://t/token, client_id: c, client_secret_env: CS, allow_insecure_token_url: true}}",
      ".", &env);
  BOOST_TEST(bool(ok));
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
  // One rule for every http:// URL a credential or key travels over, each with its test-only
  // switch: fhir.auth.allow_insecure_token_url (oauth2, smart, workload_identity) and
  // source.http.jwt.allow_insecure_issuer_url (issuer, jwks_uri).
  auto ok = parse_config(
      "mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: smart, client_id: me, private_key_file: k, "
      "token_url: 'http://t/token', allow_insecure_token_url: true}}\nsource: {http: {auth: jwt, jwt: {issuer: "
      "'http://i', audiences: [a], roles: [r], allow_insecure_issuer_url: true}}}",
      ".", &no_env);
  BOOST_REQUIRE_MESSAGE(ok.has_value(), (ok ? std::string() : ok.error().field + ": " + ok.error().message));
  BOOST_TEST(ok->fhir.auth.allow_insecure_token_url);
  BOOST_TEST(ok->http.jwt.allow_insecure_issuer_url);
  auto wi = parse_config(
      "mapping: {device: d, fhir: f}\nfhir: {url: http://x, auth: {mode: workload_identity, client_id: c, tenant_id: "
      "t, federated_token_file: f, authority_host: 'http://login'}}\nsource: {http: {auth: none}}",
      ".", &no_env);
  BOOST_REQUIRE(!wi);
  BOOST_TEST(wi.error().field == "fhir.auth.authority_host");
}
