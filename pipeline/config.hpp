// `iomtflow run --config FILE`: the service configuration (YAML). Every field, its default and
// its meaning is documented in docs/configuration.md; keep the two in step. Secrets are never in
// the file: fields ending in `_env` name the environment variable that holds them.
#pragma once

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace iomt::pipeline {

using std::chrono::milliseconds;

struct sas_key {
  std::string name;
  std::string key;  // resolved from key_env at load
};

// source.http.tls: TLS on the ingest listener (issue 15, net/tls_server.hpp).
struct tls_listener_config {
  std::string cert_file;            // PEM chain (cert-manager tls.crt); empty: plain HTTP
  std::string key_file;             // PEM key (tls.key)
  std::string client_ca_file;       // PEM CAs (ca.crt): clients must present a certificate (mTLS)
  std::string min_version = "1.2";  // 1.2 | 1.3
  bool enabled() const { return !cert_file.empty(); }
};

// source.http.jwt: bearer tokens on ingest (auth: jwt; transport/http/bearer_auth.hpp).
struct jwt_auth_config {
  std::string issuer;                  // OpenID issuer; discovery at <issuer>/.well-known/openid-configuration
  std::vector<std::string> issuers;    // further accepted `iss` values (e.g. Entra ID v1 sts.windows.net)
  std::vector<std::string> audiences;  // accepted `aud` values (required)
  std::vector<std::string> roles;      // required: any of these app roles ...
  std::vector<std::string> scopes;     // ... or any of these scopes (one list is required)
  std::vector<std::string> algorithms{"RS256", "ES256"};
  milliseconds clock_skew{60000};
  std::string jwks_uri;  // set: no discovery
  std::string ca_file;
  bool tls_verify = true;
  bool allow_insecure_issuer_url = false;  // http:// issuer / jwks_uri (tests only)
  milliseconds refresh_interval{3600000};
  milliseconds min_refresh_interval{30000};
  milliseconds timeout{10000};
};

struct http_source_config {
  bool enabled = true;
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::vector<std::string> hubs;         // accepted hub names; empty = any
  std::size_t max_body_bytes = 1 << 20;  // 1 MiB, as Event Hubs
  std::uint32_t partitions = 4;
  std::string auth = "sas";  // sas | jwt | sas,jwt | none (normalized)
  bool auth_sas = true;      // from `auth`
  bool auth_jwt = false;
  std::vector<sas_key> keys;
  jwt_auth_config jwt;
  std::uint32_t threads = 1;
  tls_listener_config tls;
  // SAS (issue 15): accepted hosts of a token's sr ("host" or "scheme://host"); empty = any host.
  std::vector<std::string> hosts;
  milliseconds max_token_lifetime{30ll * 24 * 3600 * 1000};  // se - now at most this; 0 = no bound
  // Limits that hold under abuse (issue 15, transport/http/server.hpp).
  std::size_t max_connections = 1024;        // lowered to what the file-descriptor limit allows
  milliseconds first_byte_timeout{10000};    // new connection: TLS handshake + first request byte
  milliseconds header_timeout{10000};        // first byte -> complete request head
  milliseconds body_timeout{30000};          // the whole request body
  milliseconds idle_timeout{60000};          // keep-alive: between requests
  std::size_t max_header_bytes = 16 * 1024;  // request head (431 beyond)
};

// admin: /metrics, /healthz and /readyz on their own listener (issue 15); absent: on the ingest port.
struct admin_config {
  bool enabled = false;  // on when the section is present, unless enabled: false
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 9090;
};

// source.amqp: receiver links on any AMQP 1.0 broker (docs/amqp.md, transport/amqp/source.hpp).
struct amqp_source_config {
  bool enabled = false;                // on when the section is present, unless enabled: false
  std::string url;                     // amqps://host:5671 (TLS) or amqp://host:5672
  std::vector<std::string> addresses;  // e.g. /amq/queue/device-events (RabbitMQ)
  std::string user;
  std::string password;         // from password_env
  std::string sasl_mechanisms;  // "" = PLAIN with a user, ANONYMOUS without
  std::string ca_file;
  bool tls_verify = true;
  std::string tls_server_name;  // SNI and the verified name; "" = the URL's host
  std::uint32_t connections = 1;
  std::uint32_t threads = 1;
  std::uint32_t max_unsettled = 5000;  // per link: credit only while below this
  std::size_t max_batch = 500;         // events per pipeline submission
  milliseconds idle_timeout{30000};
  milliseconds reconnect_max{30000};
  milliseconds drain_timeout{30000};
};

// source.eventhubs: Azure Event Hubs through a connection string (docs/amqp.md).
struct eventhubs_source_config {
  bool enabled = false;
  std::string connection_string;  // from connection_string_env
  std::string eventhub;           // "" = EntityPath of the connection string
  std::string consumer_group = "$Default";
  std::vector<std::string> partitions;  // explicit ownership; empty = replica_index/replica_count
  std::uint32_t replica_index = 0;      // `auto`: the StatefulSet ordinal (HOSTNAME name-N)
  std::uint32_t replica_count = 1;
  std::string start_position = "earliest";  // without a checkpoint: earliest | latest | ISO-8601 time
  std::int64_t epoch = -1;                  // epoch (owner level) receivers; -1 = off
  std::string checkpoint_store = "file";    // file | blob (Azure Blob Storage, SDK-compatible layout)
  std::string checkpoint_dir = "checkpoints";
  std::string checkpoint_blob_connection_string;  // from checkpoint_blob.connection_string_env
  std::string checkpoint_blob_container;
  std::string checkpoint_blob_ca_file;
  bool checkpoint_blob_tls_verify = true;
  milliseconds checkpoint_blob_timeout{10000};
  milliseconds checkpoint_interval{1000};
  milliseconds lag_interval{30000};  // partition lag queries ($management); 0 = off
  std::string ca_file;
  bool tls_verify = true;
  std::uint32_t connections = 1;
  std::uint32_t threads = 1;
  std::uint32_t max_unsettled = 5000;
  std::size_t max_batch = 500;
  milliseconds drain_timeout{30000};
  // Partition ownership (docs/scaling.md): static (partitions / replica_index / replica_count) or
  // dynamic (ownership records in the blob checkpoint store, balanced like the Azure SDKs).
  std::string ownership = "static";
  std::string owner_id;                  // dynamic: "" = HOSTNAME-<random>
  milliseconds balance_interval{10000};  // dynamic: load-balancing round
  milliseconds ownership_expiry{60000};  // dynamic: a record not renewed for this long is free
};

struct pipeline_config {
  std::uint32_t shards = 0;            // 0 = number of cores
  std::size_t queue_capacity = 65536;  // work items per shard
  milliseconds flush_interval{1000};
  std::size_t max_batch = 10000;            // measurements per shard flush (at most)
  std::size_t queue_measurements = 100000;  // measurements a shard holds (queued, windowed, being written)
  // Accepted for old configs: since one write plan per flush (issue 11) every device of a flush is
  // written together, fhir.max_connections requests (or Bundles) in flight per shard.
  std::uint32_t max_concurrent_devices = 16;
};

struct fhir_auth_config {
  std::string mode = "none";  // none | bearer | oauth2 | smart | workload_identity
  std::string token;          // bearer (from token_env)
  std::string token_url;      // oauth2; smart / workload_identity: optional override
  std::string client_id;      // workload_identity: default $AZURE_CLIENT_ID
  std::string client_secret;  // from client_secret_env
  std::string scope;          // workload_identity: default <fhir.url>/.default
  std::string resource;
  // Any http:// token endpoint (oauth2 / smart token_url, workload_identity authority_host): tests
  // only - the secret, assertion or federated token would travel in clear.
  bool allow_insecure_token_url = false;
  // smart (SMART Backend Services, private_key_jwt):
  std::string private_key_file;             // PEM (mounted from a Secret)
  std::string key_id;                       // "" = RFC 7638 thumbprint of the key
  std::string algorithm;                    // "" = RS384 (RSA) / ES384 (EC P-384)
  milliseconds assertion_lifetime{300000};  // at most 5 minutes
  // workload_identity (Azure): defaults from the environment the webhook sets
  std::string tenant_id;             // $AZURE_TENANT_ID
  std::string federated_token_file;  // $AZURE_FEDERATED_TOKEN_FILE
  std::string authority_host;        // $AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com/
};

// fhir.bundles: batch Bundles for a flush's requests (issue 11, docs/configuration.md).
enum class bundles_mode {
  automatic,  // `auto`: when the server's CapabilityStatement declares the batch interaction
  on,         // `true`: always (single requests only where the server refuses a Bundle)
  off,        // `false`: never; one request per search / write
};

struct fhir_config {
  std::string url;                  // base URL, e.g. http://127.0.0.1:8080/fhir (required)
  std::string identity = "Create";  // Lookup | Create | LookupWithEncounter
  std::string device_identifier_system;
  fhir_auth_config auth;
  std::string ca_file;
  bool tls_verify = true;
  milliseconds timeout{30000};
  milliseconds connect_timeout{5000};
  std::uint32_t max_connections = 8;  // per shard
  std::uint32_t max_attempts = 8;
  milliseconds retry_base_delay{200};
  milliseconds retry_max_delay{30000};
  // Events whose write failed transiently wait and are submitted again (issue 12):
  std::uint32_t poison_attempts =
      8;  // transient failures of one event while others are written -> permanent (0: never)
  milliseconds resubmit_delay{1000};               // first wait before an event is submitted again, doubled per failure
  milliseconds resubmit_max_delay{30000};          // cap of that wait
  milliseconds max_age{0};                         // 0: wait for as long as it takes; else dead-letter once older
  bundles_mode bundles = bundles_mode::automatic;  // auto | true | false
  std::size_t bundle_max_entries = 50;             // entries per Bundle (less when the server states a lower limit)
};

struct mapping_config {
  std::string device_mapping;  // path to devicecontent.json (required)
  std::string fhir_mapping;    // path to fhirmapping.json (required)
};

struct log_config {
  std::string level = "info";          // debug | info | warn | error
  std::uint32_t error_burst = 20;      // error lines per type before rate limiting
  milliseconds error_interval{10000};  // one more line per type per interval after that
};

// designer: the mapping designer in `iomtflow run`, on its own listener and thread (issue 15).
struct designer_config {
  bool enabled = false;  // serve the mapping designer at http://listen:port/designer/
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8090;
  std::string user = "designer";            // HTTP Basic; required when listen is not loopback
  std::string password;                     // from auth.password_env
  std::size_t max_body_bytes = 1 << 20;     // request body (413 beyond)
  std::size_t max_messages = 1000;          // messages in one test request
  std::size_t max_measurements = 10000;     // measurements one test request may produce
  std::size_t max_observations = 1000;      // Observations one test request may produce
  std::size_t max_answer_bytes = 8u << 20;  // JSON answer
};

// The durable local buffer between ingest and the pipeline (iomt issue 4, transport/buffer/).
struct buffer_config {
  bool enabled = true;
  std::string dir = "/var/lib/iomtflow/buffer";
  std::uint64_t max_bytes = 1ull << 30;       // 1 GiB: past it ingest answers 503 + Retry-After
  std::uint64_t segment_bytes = 64ull << 20;  // 64 MiB segment files
  std::string fsync = "always";               // always | interval | never
  milliseconds fsync_interval{1000};          // interval policy
};

struct deadletter_config {
  bool enabled = true;  // false: failed events are only logged and counted
  std::string dir = "/var/lib/iomtflow/deadletter";
  // Bounds of the store (issue 12); whole files are dropped, oldest first, each drop counted in
  // iomtflow_deadletter_dropped_total{reason}. 0 switches a bound off.
  std::uint64_t max_bytes = 1ull << 30;           // 1 GiB
  milliseconds max_age{14ll * 24 * 3600 * 1000};  // 14 days
  std::uint32_t max_entries_per_submission = 10;  // the rest of a submission's failed events: grouped
  std::map<std::string, std::string> policy;      // error type -> store | count (default store)
};

// debug.trace: the event trace behind GET /debug/events and `iomtflow trace` (issue 13,
// pipeline/trace/event_trace.hpp). Off by default: it keeps device messages in memory.
struct trace_config {
  bool enabled = false;
  std::uint64_t max_events = 1000;        // the last N events
  std::uint64_t max_bytes = 16ull << 20;  // and about this much of their text (bodies cut at a quarter)
};

struct debug_config {
  trace_config trace;
};

struct service_config {
  http_source_config http;
  amqp_source_config amqp;
  eventhubs_source_config eventhubs;
  buffer_config buffer;
  deadletter_config deadletter;
  designer_config designer;
  admin_config admin;
  pipeline_config pipeline;
  fhir_config fhir;
  mapping_config mapping;
  log_config log;
  debug_config debug;
  std::string config_dir;  // relative mapping paths are resolved against it
};

struct config_error {
  std::string field;  // e.g. "fhir.url"
  std::string message;
};
[[noreturn]] void throw_exception_from_error(const config_error& e, const boost::source_location&);

// Parses YAML text; `getenv` resolves *_env fields (injected for tests).
boost::system::result<service_config, config_error> parse_config(
    const std::string& yaml_text, const std::string& config_dir,
    const std::map<std::string, std::string>* env_override = nullptr);

boost::system::result<service_config, config_error> load_config(const std::string& path);

}  // namespace iomt::pipeline
