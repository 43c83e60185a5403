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

struct http_source_config {
  bool enabled = true;
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::vector<std::string> hubs;            // accepted hub names; empty = any
  std::size_t max_body_bytes = 1 << 20;     // 1 MiB, as Event Hubs
  std::uint32_t partitions = 4;
  std::string auth = "sas";                 // sas | none
  std::vector<sas_key> keys;
  std::uint32_t threads = 1;
};

struct pipeline_config {
  std::uint32_t shards = 0;                 // 0 = number of cores
  std::size_t queue_capacity = 65536;       // work items per shard
  milliseconds flush_interval{1000};
  std::size_t max_batch = 10000;            // measurements per shard flush
  std::uint32_t max_concurrent_devices = 16;  // FHIR writes in flight per shard
};

struct fhir_auth_config {
  std::string mode = "none";                // none | bearer | oauth2
  std::string token;                        // bearer (from token_env)
  std::string token_url;                    // oauth2
  std::string client_id;
  std::string client_secret;                // from client_secret_env
  std::string scope;
  std::string resource;
};

struct fhir_config {
  std::string url;                          // base URL, e.g. http://127.0.0.1:8080/fhir (required)
  std::string identity = "Create";          // Lookup | Create | LookupWithEncounter
  std::string device_identifier_system;
  fhir_auth_config auth;
  std::string ca_file;
  bool tls_verify = true;
  milliseconds timeout{30000};
  milliseconds connect_timeout{5000};
  std::uint32_t max_connections = 8;        // per shard
  std::uint32_t max_attempts = 8;
  milliseconds retry_base_delay{200};
  milliseconds retry_max_delay{30000};
  bool bundles = false;                     // batch Bundles where the server supports them
  std::size_t bundle_max_entries = 50;
};

struct mapping_config {
  std::string device_mapping;               // path to devicecontent.json (required)
  std::string fhir_mapping;                 // path to fhirmapping.json (required)
};

struct log_config {
  std::string level = "info";               // debug | info | warn | error
  std::uint32_t error_burst = 20;           // error lines per type before rate limiting
  milliseconds error_interval{10000};       // one more line per type per interval after that
};

struct designer_config {
  bool enabled = false;                     // serve the mapping designer under /designer/ in `iomtflow run`
};

struct service_config {
  http_source_config http;
  designer_config designer;
  pipeline_config pipeline;
  fhir_config fhir;
  mapping_config mapping;
  log_config log;
  std::string config_dir;                   // relative mapping paths are resolved against it
};

struct config_error {
  std::string field;    // e.g. "fhir.url"
  std::string message;
};
[[noreturn]] void throw_exception_from_error(const config_error& e, const boost::source_location&);

// Parses YAML text; `getenv` resolves *_env fields (injected for tests).
boost::system::result<service_config, config_error> parse_config(
    const std::string& yaml_text, const std::string& config_dir,
    const std::map<std::string, std::string>* env_override = nullptr);

boost::system::result<service_config, config_error> load_config(const std::string& path);

}  // namespace iomt::pipeline
