#include "pipeline/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace iomt::pipeline {

void throw_exception_from_error(const config_error& e, const boost::source_location&) {
  throw std::runtime_error("config: " + e.field + ": " + e.message);
}

namespace {

struct bad_field {
  config_error error;
};

class reader {
public:
  reader(const std::map<std::string, std::string>* env) : env_(env) {}

  // Rejects keys that are not in `known` (a typo must not silently fall back to a default).
  void check_keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& known) {
    if (!n) return;
    if (!n.IsMap()) fail(path, "expected a mapping");
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>();
      if (!known.count(k)) fail(join(path, k), "unknown field");
    }
  }

  template <class T>
  void get(const YAML::Node& n, const std::string& path, const char* key, T& out) {
    const YAML::Node v = n[key];
    if (!v || v.IsNull()) return;
    try {
      if constexpr (std::is_same_v<T, milliseconds>) {
        out = duration(v.as<std::string>(), join(path, key));
      } else {
        out = v.as<T>();
      }
    } catch (const YAML::Exception&) {
      fail(join(path, key),
           std::string("expected ") + type_name<T>() + " (line " + std::to_string(v.Mark().line + 1) + ")");
    }
  }

  // Bytes: an integer, or with a unit: 512KiB, 64MiB, 1GiB (also KB/MB/GB as powers of 1000).
  void get_size(const YAML::Node& n, const std::string& path, const char* key, std::uint64_t& out) {
    const YAML::Node v = n[key];
    if (!v || v.IsNull()) return;
    const std::string s = v.as<std::string>();
    std::size_t pos = 0;
    unsigned long long num = 0;
    try {
      num = std::stoull(s, &pos);
    } catch (...) {
      fail(join(path, key), "expected a size such as 1073741824, 64MiB or 1GiB, got '" + s + "'");
    }
    std::string unit = s.substr(pos);
    while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    const std::uint64_t mul = unit.empty() || unit == "B" ? 1
                              : unit == "KiB"             ? 1ull << 10
                              : unit == "MiB"             ? 1ull << 20
                              : unit == "GiB"             ? 1ull << 30
                              : unit == "TiB"             ? 1ull << 40
                              : unit == "KB"              ? 1000ull
                              : unit == "MB"              ? 1000'000ull
                              : unit == "GB"              ? 1000'000'000ull
                                                          : 0;
    if (mul == 0) fail(join(path, key), "unknown size unit '" + unit + "' (use B, KiB, MiB, GiB, KB, MB, GB)");
    out = num * mul;
  }

  std::string secret(const YAML::Node& n, const std::string& path, const char* key) {
    std::string var;
    get(n, path, key, var);
    if (var.empty()) return {};
    if (env_) {
      auto it = env_->find(var);
      if (it != env_->end()) return it->second;
    } else if (const char* v = std::getenv(var.c_str())) {
      return v;
    }
    fail(join(path, key), "environment variable " + var + " is not set");
  }

  [[noreturn]] void fail(const std::string& field, const std::string& msg) { throw bad_field{{field, msg}}; }

  // An environment variable (the injected map in tests); "" when unset.
  std::string env(const std::string& name) const {
    if (env_) {
      auto it = env_->find(name);
      return it == env_->end() ? std::string() : it->second;
    }
    const char* v = std::getenv(name.c_str());
    return v ? v : "";
  }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

private:
  template <class T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    if constexpr (std::is_same_v<T, milliseconds>) return "a duration such as 500ms, 1s, 2m, 14d";
    if constexpr (std::is_integral_v<T>) return "a non-negative integer";
    return "a value";
  }

  milliseconds duration(const std::string& s, const std::string& field) {
    std::size_t pos = 0;
    double v = 0;
    try {
      v = std::stod(s, &pos);
    } catch (...) {
      fail(field, "expected a duration such as 500ms, 1s, 2m, got '" + s + "'");
    }
    std::string unit = s.substr(pos);
    double ms = unit == "ms"                  ? v
                : unit == "s" || unit.empty() ? v * 1000
                : unit == "m"                 ? v * 60000
                : unit == "h"                 ? v * 3600000
                : unit == "d"                 ? v * 86400000
                                              : -1;
    if (ms < 0 || v < 0) fail(field, "expected a duration such as 500ms, 1s, 2m, got '" + s + "'");
    return milliseconds(static_cast<long long>(ms));
  }

  const std::map<std::string, std::string>* env_;
};

std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || dir.empty()) return p;
  return dir + "/" + p;
}

}  // namespace

boost::system::result<service_config, config_error> parse_config(const std::string& yaml_text,
                                                                 const std::string& config_dir,
                                                                 const std::map<std::string, std::string>* env) {
  service_config c;
  c.config_dir = config_dir;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return config_error{"(file)", std::string("not valid YAML: ") + e.what()};
  }
  reader r(env);
  try {
    if (!root.IsMap()) r.fail("(file)", "expected a YAML mapping at the top level");
    r.check_keys(
        root, "",
        {"source", "mapping", "pipeline", "fhir", "log", "designer", "admin", "buffer", "deadletter", "debug"});

    // source.http
    const YAML::Node source = root["source"];
    r.check_keys(source, "source", {"http", "amqp", "eventhubs"});
    if (source) {
      const YAML::Node h = source["http"];
      r.check_keys(h, "source.http",
                   {"enabled", "listen", "port", "hubs", "max_body_bytes", "partitions", "auth", "keys", "threads",
                    "tls", "hosts", "max_token_lifetime", "max_connections", "first_byte_timeout", "header_timeout",
                    "body_timeout", "idle_timeout", "max_header_bytes", "jwt"});
      if (h) {
        r.get(h, "source.http", "enabled", c.http.enabled);
        r.get(h, "source.http", "listen", c.http.listen_address);
        r.get(h, "source.http", "port", c.http.port);
        r.get(h, "source.http", "hubs", c.http.hubs);
        r.get(h, "source.http", "max_body_bytes", c.http.max_body_bytes);
        r.get(h, "source.http", "partitions", c.http.partitions);
        // auth: one word, "sas, jwt", or a list [sas, jwt].
        if (const YAML::Node a = h["auth"]; a && !a.IsNull()) {
          std::vector<std::string> words;
          if (a.IsSequence()) {
            r.get(h, "source.http", "auth", words);
          } else {
            std::string text;
            r.get(h, "source.http", "auth", text);
            std::string word;
            for (char ch : text + ",") {
              if (ch == ',' || ch == ' ') {
                if (!word.empty()) words.push_back(word);
                word.clear();
              } else {
                word += ch;
              }
            }
          }
          c.http.auth_sas = c.http.auth_jwt = false;
          bool none = false;
          for (const auto& w : words) {
            if (w == "sas")
              c.http.auth_sas = true;
            else if (w == "jwt")
              c.http.auth_jwt = true;
            else if (w == "none")
              none = true;
            else
              r.fail("source.http.auth", "expected sas, jwt, \"sas, jwt\" or none, got '" + w + "'");
          }
          if (none && (c.http.auth_sas || c.http.auth_jwt))
            r.fail("source.http.auth", "none cannot be combined with sas or jwt");
          if (!none && !c.http.auth_sas && !c.http.auth_jwt)
            r.fail("source.http.auth", "expected sas, jwt, \"sas, jwt\" or none");
          c.http.auth = none                                 ? "none"
                        : c.http.auth_sas && c.http.auth_jwt ? "sas,jwt"
                        : c.http.auth_sas                    ? "sas"
                                                             : "jwt";
        }
        if (const YAML::Node j = h["jwt"]) {
          const std::string q = "source.http.jwt";
          r.check_keys(
              j, q,
              {"issuer", "issuers", "audiences", "roles", "scopes", "algorithms", "clock_skew", "jwks_uri", "ca_file",
               "tls_verify", "allow_insecure_issuer_url", "refresh_interval", "min_refresh_interval", "timeout"});
          auto& jc = c.http.jwt;
          r.get(j, q, "issuer", jc.issuer);
          r.get(j, q, "issuers", jc.issuers);
          r.get(j, q, "audiences", jc.audiences);
          r.get(j, q, "roles", jc.roles);
          r.get(j, q, "scopes", jc.scopes);
          r.get(j, q, "algorithms", jc.algorithms);
          r.get(j, q, "clock_skew", jc.clock_skew);
          r.get(j, q, "jwks_uri", jc.jwks_uri);
          r.get(j, q, "ca_file", jc.ca_file);
          r.get(j, q, "tls_verify", jc.tls_verify);
          r.get(j, q, "allow_insecure_issuer_url", jc.allow_insecure_issuer_url);
          r.get(j, q, "refresh_interval", jc.refresh_interval);
          r.get(j, q, "min_refresh_interval", jc.min_refresh_interval);
          r.get(j, q, "timeout", jc.timeout);
          jc.ca_file = resolve(config_dir, jc.ca_file);
        }
        r.get(h, "source.http", "threads", c.http.threads);
        r.get(h, "source.http", "hosts", c.http.hosts);
        r.get(h, "source.http", "max_token_lifetime", c.http.max_token_lifetime);
        r.get(h, "source.http", "max_connections", c.http.max_connections);
        r.get(h, "source.http", "first_byte_timeout", c.http.first_byte_timeout);
        r.get(h, "source.http", "header_timeout", c.http.header_timeout);
        r.get(h, "source.http", "body_timeout", c.http.body_timeout);
        r.get(h, "source.http", "idle_timeout", c.http.idle_timeout);
        r.get(h, "source.http", "max_header_bytes", c.http.max_header_bytes);
        if (const YAML::Node t = h["tls"]; t && !t.IsNull()) {
          const std::string q = "source.http.tls";
          r.check_keys(t, q, {"cert_file", "key_file", "client_ca_file", "min_version"});
          r.get(t, q, "cert_file", c.http.tls.cert_file);
          r.get(t, q, "key_file", c.http.tls.key_file);
          r.get(t, q, "client_ca_file", c.http.tls.client_ca_file);
          r.get(t, q, "min_version", c.http.tls.min_version);
          if (c.http.tls.cert_file.empty()) r.fail(q + ".cert_file", "required: the PEM certificate chain (tls.crt)");
          if (c.http.tls.key_file.empty()) r.fail(q + ".key_file", "required: the PEM private key (tls.key)");
          if (c.http.tls.min_version != "1.2" && c.http.tls.min_version != "1.3")
            r.fail(q + ".min_version", "expected 1.2 or 1.3");
          c.http.tls.cert_file = resolve(config_dir, c.http.tls.cert_file);
          c.http.tls.key_file = resolve(config_dir, c.http.tls.key_file);
          c.http.tls.client_ca_file = resolve(config_dir, c.http.tls.client_ca_file);
        }
        if (const YAML::Node keys = h["keys"]) {
          if (!keys.IsSequence()) r.fail("source.http.keys", "expected a list of {name, key_env}");
          for (std::size_t i = 0; i < keys.size(); ++i) {
            const std::string p = "source.http.keys[" + std::to_string(i) + "]";
            r.check_keys(keys[i], p, {"name", "key_env"});
            sas_key k;
            r.get(keys[i], p, "name", k.name);
            k.key = r.secret(keys[i], p, "key_env");
            if (k.name.empty()) r.fail(p + ".name", "required");
            if (k.key.empty()) r.fail(p + ".key_env", "required (the environment variable holding the SAS key)");
            c.http.keys.push_back(std::move(k));
          }
        }
      }
    }
    // source.amqp (docs/amqp.md)
    if (const YAML::Node a = source ? source["amqp"] : YAML::Node()) {
      const std::string p = "source.amqp";
      r.check_keys(a, p,
                   {"enabled", "url", "addresses", "user", "password_env", "sasl_mechanisms", "ca_file", "tls_verify",
                    "tls_server_name", "connections", "threads", "max_unsettled", "max_batch", "idle_timeout",
                    "reconnect_max", "drain_timeout"});
      c.amqp.enabled = true;
      r.get(a, p, "enabled", c.amqp.enabled);
      r.get(a, p, "url", c.amqp.url);
      r.get(a, p, "addresses", c.amqp.addresses);
      r.get(a, p, "user", c.amqp.user);
      c.amqp.password = r.secret(a, p, "password_env");
      r.get(a, p, "sasl_mechanisms", c.amqp.sasl_mechanisms);
      r.get(a, p, "ca_file", c.amqp.ca_file);
      r.get(a, p, "tls_verify", c.amqp.tls_verify);
      r.get(a, p, "tls_server_name", c.amqp.tls_server_name);
      r.get(a, p, "connections", c.amqp.connections);
      r.get(a, p, "threads", c.amqp.threads);
      r.get(a, p, "max_unsettled", c.amqp.max_unsettled);
      r.get(a, p, "max_batch", c.amqp.max_batch);
      r.get(a, p, "idle_timeout", c.amqp.idle_timeout);
      r.get(a, p, "reconnect_max", c.amqp.reconnect_max);
      r.get(a, p, "drain_timeout", c.amqp.drain_timeout);
    }
    if (c.amqp.enabled) {
      if (c.amqp.url.rfind("amqps://", 0) != 0 && c.amqp.url.rfind("amqp://", 0) != 0)
        r.fail("source.amqp.url", "required: amqps://host:5671 (TLS) or amqp://host:5672");
      if (c.amqp.addresses.empty())
        r.fail("source.amqp.addresses", "required: the queues to receive from, e.g. [/amq/queue/device-events]");
      if (c.amqp.connections == 0) r.fail("source.amqp.connections", "must be at least 1");
      if (c.amqp.threads == 0) r.fail("source.amqp.threads", "must be at least 1");
      if (c.amqp.max_unsettled == 0) r.fail("source.amqp.max_unsettled", "must be at least 1");
      if (c.amqp.max_batch == 0) r.fail("source.amqp.max_batch", "must be at least 1");
      c.amqp.ca_file = resolve(config_dir, c.amqp.ca_file);
    }

    // source.eventhubs (docs/amqp.md)
    if (const YAML::Node e = source ? source["eventhubs"] : YAML::Node()) {
      const std::string p = "source.eventhubs";
      r.check_keys(e, p,
                   {"enabled",
                    "connection_string_env",
                    "eventhub",
                    "consumer_group",
                    "partitions",
                    "replica_index",
                    "replica_count",
                    "start_position",
                    "epoch",
                    "checkpoint_store",
                    "checkpoint_dir",
                    "checkpoint_blob",
                    "checkpoint_interval",
                    "lag_interval",
                    "ca_file",
                    "tls_verify",
                    "connections",
                    "threads",
                    "max_unsettled",
                    "max_batch",
                    "drain_timeout",
                    "ownership",
                    "owner_id",
                    "balance_interval",
                    "ownership_expiry"});
      c.eventhubs.enabled = true;
      r.get(e, p, "enabled", c.eventhubs.enabled);
      c.eventhubs.connection_string = r.secret(e, p, "connection_string_env");
      r.get(e, p, "eventhub", c.eventhubs.eventhub);
      r.get(e, p, "consumer_group", c.eventhubs.consumer_group);
      r.get(e, p, "partitions", c.eventhubs.partitions);
      std::string replica = "0";
      r.get(e, p, "replica_index", replica);
      if (replica == "auto") {
        // A StatefulSet pod is named NAME-ORDINAL, and so is its HOSTNAME.
        const std::string host = r.env("HOSTNAME");
        const auto dash = host.rfind('-');
        replica = dash == std::string::npos ? "" : host.substr(dash + 1);
        if (replica.empty() || replica.find_first_not_of("0123456789") != std::string::npos)
          r.fail(p + ".replica_index",
                 "auto: HOSTNAME '" + host + "' does not end in -ORDINAL (a StatefulSet pod name)");
      }
      if (replica.empty() || replica.find_first_not_of("0123456789") != std::string::npos || replica.size() > 9)
        r.fail(p + ".replica_index", "expected a number or auto");
      c.eventhubs.replica_index = static_cast<std::uint32_t>(std::stoul(replica));
      r.get(e, p, "replica_count", c.eventhubs.replica_count);
      r.get(e, p, "start_position", c.eventhubs.start_position);
      r.get(e, p, "epoch", c.eventhubs.epoch);
      r.get(e, p, "checkpoint_store", c.eventhubs.checkpoint_store);
      r.get(e, p, "checkpoint_dir", c.eventhubs.checkpoint_dir);
      if (const YAML::Node cb = e["checkpoint_blob"]) {
        const std::string q = p + ".checkpoint_blob";
        r.check_keys(cb, q, {"connection_string_env", "container", "ca_file", "tls_verify", "timeout"});
        c.eventhubs.checkpoint_blob_connection_string = r.secret(cb, q, "connection_string_env");
        r.get(cb, q, "container", c.eventhubs.checkpoint_blob_container);
        r.get(cb, q, "ca_file", c.eventhubs.checkpoint_blob_ca_file);
        r.get(cb, q, "tls_verify", c.eventhubs.checkpoint_blob_tls_verify);
        r.get(cb, q, "timeout", c.eventhubs.checkpoint_blob_timeout);
      }
      r.get(e, p, "checkpoint_interval", c.eventhubs.checkpoint_interval);
      r.get(e, p, "lag_interval", c.eventhubs.lag_interval);
      r.get(e, p, "ca_file", c.eventhubs.ca_file);
      r.get(e, p, "tls_verify", c.eventhubs.tls_verify);
      r.get(e, p, "connections", c.eventhubs.connections);
      r.get(e, p, "threads", c.eventhubs.threads);
      r.get(e, p, "max_unsettled", c.eventhubs.max_unsettled);
      r.get(e, p, "max_batch", c.eventhubs.max_batch);
      r.get(e, p, "drain_timeout", c.eventhubs.drain_timeout);
      r.get(e, p, "ownership", c.eventhubs.ownership);
      r.get(e, p, "owner_id", c.eventhubs.owner_id);
      r.get(e, p, "balance_interval", c.eventhubs.balance_interval);
      r.get(e, p, "ownership_expiry", c.eventhubs.ownership_expiry);
      if (c.eventhubs.ownership == "dynamic") {
        // Static assignment and dynamic balancing exclude each other: say which key to drop.
        for (const char* k : {"partitions", "replica_index", "replica_count", "connections"})
          if (e[k])
            r.fail(p + "." + k,
                   "is for ownership: static; with ownership: dynamic the replicas balance the partitions themselves");
      }
    }
    if (c.eventhubs.enabled) {
      if (c.eventhubs.connection_string.empty())
        r.fail("source.eventhubs.connection_string_env",
               "required: the environment variable holding the Event Hubs connection string");
      if (c.eventhubs.replica_count == 0) r.fail("source.eventhubs.replica_count", "must be at least 1");
      if (c.eventhubs.replica_index >= c.eventhubs.replica_count)
        r.fail("source.eventhubs.replica_index",
               "must be below replica_count (" + std::to_string(c.eventhubs.replica_count) + ")");
      if (c.eventhubs.connections == 0) r.fail("source.eventhubs.connections", "must be at least 1");
      if (c.eventhubs.threads == 0) r.fail("source.eventhubs.threads", "must be at least 1");
      if (c.eventhubs.max_unsettled == 0) r.fail("source.eventhubs.max_unsettled", "must be at least 1");
      if (c.eventhubs.max_batch == 0) r.fail("source.eventhubs.max_batch", "must be at least 1");
      c.eventhubs.ca_file = resolve(config_dir, c.eventhubs.ca_file);
      c.eventhubs.checkpoint_dir = resolve(config_dir, c.eventhubs.checkpoint_dir);
      if (c.eventhubs.checkpoint_store != "file" && c.eventhubs.checkpoint_store != "blob")
        r.fail("source.eventhubs.checkpoint_store", "expected file or blob");
      if (c.eventhubs.checkpoint_store == "blob" && c.eventhubs.checkpoint_blob_connection_string.empty())
        r.fail("source.eventhubs.checkpoint_blob.connection_string_env",
               "required with checkpoint_store: blob (a storage connection string or a SAS URL)");
      if (c.eventhubs.checkpoint_blob_timeout.count() <= 0)
        r.fail("source.eventhubs.checkpoint_blob.timeout", "must be positive");
      c.eventhubs.checkpoint_blob_ca_file = resolve(config_dir, c.eventhubs.checkpoint_blob_ca_file);
      if (c.eventhubs.ownership != "static" && c.eventhubs.ownership != "dynamic")
        r.fail("source.eventhubs.ownership", "expected static or dynamic");
      if (c.eventhubs.ownership == "dynamic") {
        if (c.eventhubs.checkpoint_store != "blob")
          r.fail("source.eventhubs.checkpoint_store",
                 "ownership: dynamic keeps its ownership records next to the checkpoints in Blob Storage: set "
                 "checkpoint_store: blob");
        if (c.eventhubs.balance_interval.count() <= 0) r.fail("source.eventhubs.balance_interval", "must be positive");
        if (c.eventhubs.ownership_expiry <= c.eventhubs.balance_interval)
          r.fail("source.eventhubs.ownership_expiry", "must be longer than balance_interval (the SDKs: 60s and 10s)");
      }
    }

    if (c.http.auth_sas && c.http.enabled && c.http.keys.empty())
      r.fail("source.http.keys", "auth is sas but no keys are configured (or set auth: none for local use)");
    if (c.http.auth_jwt && c.http.enabled) {
      const auto& jc = c.http.jwt;
      const std::string q = "source.http.jwt";
      if (jc.issuer.empty())
        r.fail(q + ".issuer",
               "required with auth: jwt (the OpenID issuer, e.g. https://login.microsoftonline.com/<tenant>/v2.0)");
      for (const std::string* url : {&jc.issuer, &jc.jwks_uri}) {
        if (url->empty()) continue;
        const bool https = url->rfind("https://", 0) == 0;
        if (!https && !(jc.allow_insecure_issuer_url && url->rfind("http://", 0) == 0))
          r.fail(q + (url == &jc.issuer ? ".issuer" : ".jwks_uri"),
                 "must be an https:// URL: the signing keys must come over TLS (for tests only, set "
                 "source.http.jwt.allow_insecure_issuer_url: true)");
      }
      if (jc.audiences.empty())
        r.fail(q + ".audiences", "required: the accepted token audiences (aud), e.g. [api://iomtflow]");
      if (jc.roles.empty() && jc.scopes.empty())
        r.fail(q + ".roles", "required: the app roles (or scopes) a sender's token must carry, e.g. [IomtFlow.Send]");
      if (jc.algorithms.empty()) r.fail(q + ".algorithms", "at least one of RS256, ES256, RS384, ES384");
      for (const auto& a : jc.algorithms)
        if (a != "RS256" && a != "ES256" && a != "RS384" && a != "ES384")
          r.fail(q + ".algorithms", "'" + a + "' is not accepted: RS256, ES256, RS384 or ES384 (never none or HMAC)");
      if (jc.clock_skew > milliseconds(300000)) r.fail(q + ".clock_skew", "at most 5m");
      if (jc.min_refresh_interval.count() <= 0) r.fail(q + ".min_refresh_interval", "must be positive");
      if (jc.refresh_interval < jc.min_refresh_interval)
        r.fail(q + ".refresh_interval", "must be at least min_refresh_interval");
      if (jc.timeout.count() <= 0) r.fail(q + ".timeout", "must be positive");
    }
    if (c.http.partitions == 0) r.fail("source.http.partitions", "must be at least 1");
    if (c.http.threads == 0) r.fail("source.http.threads", "must be at least 1");
    if (c.http.max_connections == 0) r.fail("source.http.max_connections", "must be at least 1");
    if (c.http.max_token_lifetime.count() < 0) r.fail("source.http.max_token_lifetime", "must not be negative");
    for (const auto& [field, value] : {std::pair{"first_byte_timeout", c.http.first_byte_timeout},
                                       {"header_timeout", c.http.header_timeout},
                                       {"body_timeout", c.http.body_timeout},
                                       {"idle_timeout", c.http.idle_timeout}})
      if (value.count() <= 0) r.fail(std::string("source.http.") + field, "must be positive");
    if (c.http.max_header_bytes < 1024) r.fail("source.http.max_header_bytes", "must be at least 1024");
    for (const auto& host : c.http.hosts)
      if (host.empty() || (host.find('/') != std::string::npos && host.find("://") == std::string::npos))
        r.fail("source.http.hosts",
               "expected host names such as ingest.example.org or https://ingest.example.org, got '" + host + "'");

    // admin: /metrics, /healthz, /readyz on their own port (issue 15)
    if (const YAML::Node ad = root["admin"]; ad && !ad.IsNull()) {
      r.check_keys(ad, "admin", {"enabled", "listen", "port"});
      c.admin.enabled = true;
      r.get(ad, "admin", "enabled", c.admin.enabled);
      r.get(ad, "admin", "listen", c.admin.listen_address);
      r.get(ad, "admin", "port", c.admin.port);
      if (c.admin.enabled && c.http.enabled && c.admin.port != 0 && c.admin.port == c.http.port &&
          c.admin.listen_address == c.http.listen_address)
        r.fail("admin.port", "is the ingest port: choose another one (or leave admin out to serve both on one port)");
    }

    const YAML::Node m = root["mapping"];
    r.check_keys(m, "mapping", {"device", "fhir"});
    if (m) {
      r.get(m, "mapping", "device", c.mapping.device_mapping);
      r.get(m, "mapping", "fhir", c.mapping.fhir_mapping);
    }
    if (c.mapping.device_mapping.empty())
      r.fail("mapping.device", "required: path to the device mapping (devicecontent.json)");
    if (c.mapping.fhir_mapping.empty())
      r.fail("mapping.fhir", "required: path to the FHIR destination mapping (fhirmapping.json)");
    c.mapping.device_mapping = resolve(config_dir, c.mapping.device_mapping);
    c.mapping.fhir_mapping = resolve(config_dir, c.mapping.fhir_mapping);

    const YAML::Node p = root["pipeline"];
    r.check_keys(
        p, "pipeline",
        {"shards", "queue_capacity", "queue_measurements", "flush_interval", "max_batch", "max_concurrent_devices"});
    if (p) {
      r.get(p, "pipeline", "shards", c.pipeline.shards);
      r.get(p, "pipeline", "queue_capacity", c.pipeline.queue_capacity);
      r.get(p, "pipeline", "queue_measurements", c.pipeline.queue_measurements);
      r.get(p, "pipeline", "flush_interval", c.pipeline.flush_interval);
      r.get(p, "pipeline", "max_batch", c.pipeline.max_batch);
      r.get(p, "pipeline", "max_concurrent_devices", c.pipeline.max_concurrent_devices);
    }
    if (c.pipeline.shards == 0) c.pipeline.shards = std::max(1u, std::thread::hardware_concurrency());
    if (c.pipeline.queue_capacity < 16) r.fail("pipeline.queue_capacity", "must be at least 16");
    if (c.pipeline.max_batch == 0) r.fail("pipeline.max_batch", "must be at least 1");
    if (c.pipeline.queue_measurements < c.pipeline.max_batch)
      r.fail("pipeline.queue_measurements", "must be at least pipeline.max_batch");
    if (c.pipeline.flush_interval.count() <= 0) r.fail("pipeline.flush_interval", "must be positive");
    if (c.pipeline.max_concurrent_devices == 0) r.fail("pipeline.max_concurrent_devices", "must be at least 1");

    const YAML::Node f = root["fhir"];
    r.check_keys(f, "fhir",
                 {"url", "identity", "device_identifier_system", "auth", "ca_file", "tls_verify", "timeout",
                  "connect_timeout", "max_connections", "retry", "bundles", "bundle_max_entries"});
    if (f) {
      r.get(f, "fhir", "url", c.fhir.url);
      r.get(f, "fhir", "identity", c.fhir.identity);
      r.get(f, "fhir", "device_identifier_system", c.fhir.device_identifier_system);
      r.get(f, "fhir", "ca_file", c.fhir.ca_file);
      r.get(f, "fhir", "tls_verify", c.fhir.tls_verify);
      r.get(f, "fhir", "timeout", c.fhir.timeout);
      r.get(f, "fhir", "connect_timeout", c.fhir.connect_timeout);
      r.get(f, "fhir", "max_connections", c.fhir.max_connections);
      if (const YAML::Node b = f["bundles"]; b && !b.IsNull()) {
        std::string text;
        if (b.IsScalar()) text = b.as<std::string>();
        for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        bool on = false;
        if (text == "auto")
          c.fhir.bundles = bundles_mode::automatic;
        else if (b.IsScalar() && YAML::convert<bool>::decode(b, on))  // true/false (and yes/no, on/off)
          c.fhir.bundles = on ? bundles_mode::on : bundles_mode::off;
        else
          r.fail("fhir.bundles", "expected auto, true or false (line " + std::to_string(b.Mark().line + 1) + ")");
      }
      r.get(f, "fhir", "bundle_max_entries", c.fhir.bundle_max_entries);
      if (const YAML::Node rt = f["retry"]) {
        r.check_keys(rt, "fhir.retry",
                     {"max_attempts", "base_delay", "max_delay", "poison_attempts", "resubmit_delay",
                      "resubmit_max_delay", "max_age"});
        r.get(rt, "fhir.retry", "max_attempts", c.fhir.max_attempts);
        r.get(rt, "fhir.retry", "base_delay", c.fhir.retry_base_delay);
        r.get(rt, "fhir.retry", "max_delay", c.fhir.retry_max_delay);
        r.get(rt, "fhir.retry", "poison_attempts", c.fhir.poison_attempts);
        r.get(rt, "fhir.retry", "resubmit_delay", c.fhir.resubmit_delay);
        r.get(rt, "fhir.retry", "resubmit_max_delay", c.fhir.resubmit_max_delay);
        r.get(rt, "fhir.retry", "max_age", c.fhir.max_age);
      }
      if (const YAML::Node a = f["auth"]) {
        r.check_keys(a, "fhir.auth",
                     {"mode", "token_env", "token_url", "client_id", "client_secret_env", "scope", "resource",
                      "private_key_file", "key_id", "algorithm", "assertion_lifetime", "tenant_id",
                      "federated_token_file", "authority_host", "allow_insecure_token_url"});
        r.get(a, "fhir.auth", "allow_insecure_token_url", c.fhir.auth.allow_insecure_token_url);
        r.get(a, "fhir.auth", "mode", c.fhir.auth.mode);
        c.fhir.auth.token = r.secret(a, "fhir.auth", "token_env");
        r.get(a, "fhir.auth", "token_url", c.fhir.auth.token_url);
        r.get(a, "fhir.auth", "client_id", c.fhir.auth.client_id);
        c.fhir.auth.client_secret = r.secret(a, "fhir.auth", "client_secret_env");
        r.get(a, "fhir.auth", "scope", c.fhir.auth.scope);
        r.get(a, "fhir.auth", "resource", c.fhir.auth.resource);
        r.get(a, "fhir.auth", "private_key_file", c.fhir.auth.private_key_file);
        r.get(a, "fhir.auth", "key_id", c.fhir.auth.key_id);
        r.get(a, "fhir.auth", "algorithm", c.fhir.auth.algorithm);
        r.get(a, "fhir.auth", "assertion_lifetime", c.fhir.auth.assertion_lifetime);
        r.get(a, "fhir.auth", "tenant_id", c.fhir.auth.tenant_id);
        r.get(a, "fhir.auth", "federated_token_file", c.fhir.auth.federated_token_file);
        r.get(a, "fhir.auth", "authority_host", c.fhir.auth.authority_host);
      }
    }
    if (c.fhir.url.empty()) r.fail("fhir.url", "required: the FHIR server's base URL");
    if (c.fhir.url.rfind("http://", 0) != 0 && c.fhir.url.rfind("https://", 0) != 0)
      r.fail("fhir.url", "must start with http:// or https://");
    while (!c.fhir.url.empty() && c.fhir.url.back() == '/') c.fhir.url.pop_back();
    if (c.fhir.auth.mode == "workload_identity" && c.fhir.auth.scope.empty())
      c.fhir.auth.scope = c.fhir.url + "/.default";
    if (c.fhir.identity != "Create" && c.fhir.identity != "Lookup" && c.fhir.identity != "LookupWithEncounter") {
      // Case-insensitive as ResourceIdentity:ResourceIdentityServiceType (iomt-spec §11).
      std::string lower;
      for (char ch : c.fhir.identity) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == "create")
        c.fhir.identity = "Create";
      else if (lower == "lookup")
        c.fhir.identity = "Lookup";
      else if (lower == "lookupwithencounter")
        c.fhir.identity = "LookupWithEncounter";
      else
        r.fail("fhir.identity", "expected Lookup, Create or LookupWithEncounter");
    }
    const std::string& am = c.fhir.auth.mode;
    if (am != "none" && am != "bearer" && am != "oauth2" && am != "smart" && am != "workload_identity")
      r.fail("fhir.auth.mode", "expected none, bearer, oauth2, smart or workload_identity");
    auto& fa = c.fhir.auth;
    if (am == "smart") {
      // SMART Backend Services (fhir/smart.hpp).
      if (fa.client_id.empty())
        r.fail("fhir.auth.client_id", "required for smart auth (the client id registered with the server)");
      if (fa.private_key_file.empty())
        r.fail("fhir.auth.private_key_file",
               "required for smart auth (PEM private key, RSA for RS384 or EC P-384 for ES384)");
      fa.private_key_file = resolve(config_dir, fa.private_key_file);
      if (!fa.algorithm.empty() && fa.algorithm != "RS384" && fa.algorithm != "ES384" && fa.algorithm != "RS256" &&
          fa.algorithm != "ES256")
        r.fail("fhir.auth.algorithm", "expected RS384 or ES384 (or RS256 / ES256)");
      if (fa.assertion_lifetime.count() <= 0 || fa.assertion_lifetime > milliseconds(300000))
        r.fail("fhir.auth.assertion_lifetime", "must be positive and at most 5m (SMART Backend Services)");
    }
    if (am == "workload_identity") {
      // Azure workload identity: what the webhook injects into the pod, unless set here.
      if (fa.client_id.empty()) fa.client_id = r.env("AZURE_CLIENT_ID");
      if (fa.tenant_id.empty()) fa.tenant_id = r.env("AZURE_TENANT_ID");
      if (fa.federated_token_file.empty()) fa.federated_token_file = r.env("AZURE_FEDERATED_TOKEN_FILE");
      if (fa.authority_host.empty()) fa.authority_host = r.env("AZURE_AUTHORITY_HOST");
      if (fa.authority_host.empty()) fa.authority_host = "https://login.microsoftonline.com/";
      if (fa.client_id.empty()) r.fail("fhir.auth.client_id", "required for workload_identity (or AZURE_CLIENT_ID)");
      if (fa.federated_token_file.empty())
        r.fail("fhir.auth.federated_token_file", "required for workload_identity (or AZURE_FEDERATED_TOKEN_FILE)");
      if (fa.tenant_id.empty() && fa.token_url.empty())
        r.fail("fhir.auth.tenant_id", "required for workload_identity (or AZURE_TENANT_ID)");
      if (fa.token_url.empty() && fa.authority_host.rfind("https://", 0) != 0 &&
          !(fa.allow_insecure_token_url && fa.authority_host.rfind("http://", 0) == 0))
        r.fail("fhir.auth.authority_host",
               "must be an https:// URL: the federated token would travel in clear (for tests only, set "
               "fhir.auth.allow_insecure_token_url: true)");
      fa.federated_token_file = resolve(config_dir, fa.federated_token_file);
    }
    if (am == "bearer" && c.fhir.auth.token.empty()) r.fail("fhir.auth.token_env", "required for bearer auth");
    if (am == "oauth2") {
      if (c.fhir.auth.token_url.empty()) r.fail("fhir.auth.token_url", "required for oauth2 auth");
      if (c.fhir.auth.client_id.empty()) r.fail("fhir.auth.client_id", "required for oauth2 auth");
      if (c.fhir.auth.client_secret.empty()) r.fail("fhir.auth.client_secret_env", "required for oauth2 auth");
    }
    // The client secret, SMART assertion or federated token travels to the token endpoint: never in
    // clear (issue 15). One rule for every mode; a discovered SMART endpoint is checked at run time.
    if (!c.fhir.auth.token_url.empty()) {
      std::string scheme = c.fhir.auth.token_url.substr(0, c.fhir.auth.token_url.find("://"));
      for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (scheme == "http" && !c.fhir.auth.allow_insecure_token_url)
        r.fail("fhir.auth.token_url",
               "is http://: the credentials would travel in clear; use https:// (or, for tests only, set "
               "fhir.auth.allow_insecure_token_url: true)");
      if (scheme != "http" && scheme != "https") r.fail("fhir.auth.token_url", "must start with https://");
    }
    if (c.fhir.max_connections == 0) r.fail("fhir.max_connections", "must be at least 1");
    if (c.fhir.bundle_max_entries == 0) r.fail("fhir.bundle_max_entries", "must be at least 1");
    if (c.fhir.max_attempts == 0) r.fail("fhir.retry.max_attempts", "must be at least 1");
    if (c.fhir.resubmit_delay.count() <= 0) r.fail("fhir.retry.resubmit_delay", "must be positive");
    if (c.fhir.resubmit_max_delay < c.fhir.resubmit_delay)
      r.fail("fhir.retry.resubmit_max_delay", "must be at least resubmit_delay");
    c.fhir.ca_file = resolve(config_dir, c.fhir.ca_file);

    const YAML::Node dz = root["designer"];
    r.check_keys(dz, "designer",
                 {"enabled", "listen", "port", "auth", "max_body_bytes", "max_messages", "max_measurements",
                  "max_observations", "max_answer_bytes"});
    if (dz) {
      r.get(dz, "designer", "enabled", c.designer.enabled);
      r.get(dz, "designer", "listen", c.designer.listen_address);
      r.get(dz, "designer", "port", c.designer.port);
      if (const YAML::Node da = dz["auth"]; da && !da.IsNull()) {
        r.check_keys(da, "designer.auth", {"user", "password_env"});
        r.get(da, "designer.auth", "user", c.designer.user);
        c.designer.password = r.secret(da, "designer.auth", "password_env");
      }
      r.get(dz, "designer", "max_body_bytes", c.designer.max_body_bytes);
      r.get(dz, "designer", "max_messages", c.designer.max_messages);
      r.get(dz, "designer", "max_measurements", c.designer.max_measurements);
      r.get(dz, "designer", "max_observations", c.designer.max_observations);
      r.get(dz, "designer", "max_answer_bytes", c.designer.max_answer_bytes);
    }
    if (c.designer.enabled) {
      // Loopback: 127.0.0.0/8, ::1, localhost. Anywhere else the designer needs a password.
      const std::string& l = c.designer.listen_address;
      const bool loopback = l == "localhost" || l == "::1" || l.rfind("127.", 0) == 0;
      if (!loopback && c.designer.password.empty())
        r.fail("designer.auth.password_env",
               "required when designer.listen is not a loopback address (" + l +
                   "): the designer runs any mapping on any input, so it needs HTTP Basic authentication");
      if (c.designer.user.empty() || c.designer.user.find(':') != std::string::npos)
        r.fail("designer.auth.user", "must be non-empty and without ':'");
      for (const auto& [field, value] : {std::pair{"max_body_bytes", c.designer.max_body_bytes},
                                         {"max_messages", c.designer.max_messages},
                                         {"max_measurements", c.designer.max_measurements},
                                         {"max_observations", c.designer.max_observations},
                                         {"max_answer_bytes", c.designer.max_answer_bytes}})
        if (value == 0) r.fail(std::string("designer.") + field, "must be at least 1");
      if (c.http.enabled && c.designer.port != 0 && c.designer.port == c.http.port)
        r.fail("designer.port", "is the ingest port: the designer has its own listener");
    }

    // debug.trace (issue 13): the event trace.
    const YAML::Node dbg = root["debug"];
    r.check_keys(dbg, "debug", {"trace"});
    if (dbg && dbg["trace"]) {
      const YAML::Node t = dbg["trace"];
      r.check_keys(t, "debug.trace", {"enabled", "max_events", "max_bytes"});
      r.get(t, "debug.trace", "enabled", c.debug.trace.enabled);
      r.get(t, "debug.trace", "max_events", c.debug.trace.max_events);
      r.get_size(t, "debug.trace", "max_bytes", c.debug.trace.max_bytes);
    }
    if (c.debug.trace.max_events < 1 || c.debug.trace.max_events > 1'000'000)
      r.fail("debug.trace.max_events", "must be from 1 to 1000000");
    if (c.debug.trace.max_bytes < (64u << 10)) r.fail("debug.trace.max_bytes", "must be at least 64KiB");

    const YAML::Node b = root["buffer"];
    r.check_keys(b, "buffer", {"enabled", "dir", "max_bytes", "segment_bytes", "fsync", "fsync_interval"});
    if (b) {
      r.get(b, "buffer", "enabled", c.buffer.enabled);
      r.get(b, "buffer", "dir", c.buffer.dir);
      r.get_size(b, "buffer", "max_bytes", c.buffer.max_bytes);
      r.get_size(b, "buffer", "segment_bytes", c.buffer.segment_bytes);
      r.get(b, "buffer", "fsync", c.buffer.fsync);
      r.get(b, "buffer", "fsync_interval", c.buffer.fsync_interval);
    }
    if (c.buffer.fsync != "always" && c.buffer.fsync != "interval" && c.buffer.fsync != "never")
      r.fail("buffer.fsync", "expected always, interval or never");
    if (c.buffer.dir.empty()) r.fail("buffer.dir", "required: the directory of the durable buffer");
    if (c.buffer.max_bytes < (1u << 20)) r.fail("buffer.max_bytes", "must be at least 1MiB");
    if (c.buffer.segment_bytes < (64u << 10)) r.fail("buffer.segment_bytes", "must be at least 64KiB");
    if (c.buffer.fsync_interval.count() <= 0) r.fail("buffer.fsync_interval", "must be positive");
    c.buffer.dir = resolve(config_dir, c.buffer.dir);
    const YAML::Node dl = root["deadletter"];
    r.check_keys(dl, "deadletter", {"enabled", "dir", "max_bytes", "max_age", "max_entries_per_submission", "policy"});
    if (dl) {
      r.get(dl, "deadletter", "enabled", c.deadletter.enabled);
      r.get(dl, "deadletter", "dir", c.deadletter.dir);
      r.get_size(dl, "deadletter", "max_bytes", c.deadletter.max_bytes);
      r.get(dl, "deadletter", "max_age", c.deadletter.max_age);
      r.get(dl, "deadletter", "max_entries_per_submission", c.deadletter.max_entries_per_submission);
      if (const YAML::Node pol = dl["policy"]; pol && !pol.IsNull()) {
        if (!pol.IsMap()) r.fail("deadletter.policy", "expected a mapping of error types to store or count");
        for (const auto& kv : pol) {
          const std::string type = kv.first.as<std::string>();
          const std::string what = kv.second.IsScalar() ? kv.second.as<std::string>() : std::string();
          if (type.empty()) r.fail("deadletter.policy", "an error type is empty");
          if (what != "store" && what != "count") r.fail("deadletter.policy." + type, "expected store or count");
          c.deadletter.policy[type] = what;
        }
      }
    }
    if (c.deadletter.max_bytes != 0 && c.deadletter.max_bytes < (1u << 20))
      r.fail("deadletter.max_bytes", "must be at least 1MiB (or 0: no bound)");
    if (c.deadletter.max_age.count() < 0 || (c.deadletter.max_age.count() != 0 && c.deadletter.max_age.count() < 60000))
      r.fail("deadletter.max_age", "must be at least 1m (or 0: no bound)");
    if (c.deadletter.max_entries_per_submission == 0)
      r.fail("deadletter.max_entries_per_submission", "must be at least 1");
    if (c.buffer.enabled && !c.deadletter.enabled)
      r.fail("deadletter.enabled", "the durable buffer needs the dead-letter store (set buffer.enabled: false too)");
    if (c.deadletter.enabled && c.deadletter.dir.empty())
      r.fail("deadletter.dir", "required: the directory of the dead-letter store");
    c.deadletter.dir = resolve(config_dir, c.deadletter.dir);

    const YAML::Node l = root["log"];
    r.check_keys(l, "log", {"level", "error_burst", "error_interval"});
    if (l) {
      r.get(l, "log", "level", c.log.level);
      r.get(l, "log", "error_burst", c.log.error_burst);
      r.get(l, "log", "error_interval", c.log.error_interval);
    }
    if (c.log.level != "debug" && c.log.level != "info" && c.log.level != "warn" && c.log.level != "error")
      r.fail("log.level", "expected debug, info, warn or error");
  } catch (const bad_field& b) {
    return b.error;
  }
  return c;
}

boost::system::result<service_config, config_error> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return config_error{"--config", "cannot read " + path};
  std::ostringstream s;
  s << in.rdbuf();
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  return parse_config(s.str(), dir);
}

}  // namespace iomt::pipeline
