#include "pipeline/config.hpp"

#include <yaml-cpp/yaml.h>

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
      fail(join(path, key), std::string("expected ") + type_name<T>() + " (line " + std::to_string(v.Mark().line + 1) + ")");
    }
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

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

private:
  template <class T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    if constexpr (std::is_same_v<T, milliseconds>) return "a duration such as 500ms, 1s, 2m";
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
    double ms = unit == "ms" ? v : unit == "s" || unit.empty() ? v * 1000 : unit == "m" ? v * 60000 : unit == "h" ? v * 3600000 : -1;
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

boost::system::result<service_config, config_error> parse_config(const std::string& yaml_text, const std::string& config_dir,
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
    r.check_keys(root, "", {"source", "mapping", "pipeline", "fhir", "log", "designer"});

    // source.http
    const YAML::Node source = root["source"];
    r.check_keys(source, "source", {"http"});
    if (source) {
      const YAML::Node h = source["http"];
      r.check_keys(h, "source.http", {"enabled", "listen", "port", "hubs", "max_body_bytes", "partitions", "auth", "keys", "threads"});
      if (h) {
        r.get(h, "source.http", "enabled", c.http.enabled);
        r.get(h, "source.http", "listen", c.http.listen_address);
        r.get(h, "source.http", "port", c.http.port);
        r.get(h, "source.http", "hubs", c.http.hubs);
        r.get(h, "source.http", "max_body_bytes", c.http.max_body_bytes);
        r.get(h, "source.http", "partitions", c.http.partitions);
        r.get(h, "source.http", "auth", c.http.auth);
        r.get(h, "source.http", "threads", c.http.threads);
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
    if (c.http.auth != "sas" && c.http.auth != "none") r.fail("source.http.auth", "expected sas or none");
    if (c.http.auth == "sas" && c.http.enabled && c.http.keys.empty())
      r.fail("source.http.keys", "auth is sas but no keys are configured (or set auth: none for local use)");
    if (c.http.partitions == 0) r.fail("source.http.partitions", "must be at least 1");
    if (c.http.threads == 0) r.fail("source.http.threads", "must be at least 1");

    const YAML::Node m = root["mapping"];
    r.check_keys(m, "mapping", {"device", "fhir"});
    if (m) {
      r.get(m, "mapping", "device", c.mapping.device_mapping);
      r.get(m, "mapping", "fhir", c.mapping.fhir_mapping);
    }
    if (c.mapping.device_mapping.empty()) r.fail("mapping.device", "required: path to the device mapping (devicecontent.json)");
    if (c.mapping.fhir_mapping.empty()) r.fail("mapping.fhir", "required: path to the FHIR destination mapping (fhirmapping.json)");
    c.mapping.device_mapping = resolve(config_dir, c.mapping.device_mapping);
    c.mapping.fhir_mapping = resolve(config_dir, c.mapping.fhir_mapping);

    const YAML::Node p = root["pipeline"];
    r.check_keys(p, "pipeline", {"shards", "queue_capacity", "flush_interval", "max_batch", "max_concurrent_devices"});
    if (p) {
      r.get(p, "pipeline", "shards", c.pipeline.shards);
      r.get(p, "pipeline", "queue_capacity", c.pipeline.queue_capacity);
      r.get(p, "pipeline", "flush_interval", c.pipeline.flush_interval);
      r.get(p, "pipeline", "max_batch", c.pipeline.max_batch);
      r.get(p, "pipeline", "max_concurrent_devices", c.pipeline.max_concurrent_devices);
    }
    if (c.pipeline.shards == 0) c.pipeline.shards = std::max(1u, std::thread::hardware_concurrency());
    if (c.pipeline.queue_capacity < 16) r.fail("pipeline.queue_capacity", "must be at least 16");
    if (c.pipeline.max_batch == 0) r.fail("pipeline.max_batch", "must be at least 1");
    if (c.pipeline.flush_interval.count() <= 0) r.fail("pipeline.flush_interval", "must be positive");
    if (c.pipeline.max_concurrent_devices == 0) r.fail("pipeline.max_concurrent_devices", "must be at least 1");

    const YAML::Node f = root["fhir"];
    r.check_keys(f, "fhir", {"url", "identity", "device_identifier_system", "auth", "ca_file", "tls_verify", "timeout",
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
      r.get(f, "fhir", "bundles", c.fhir.bundles);
      r.get(f, "fhir", "bundle_max_entries", c.fhir.bundle_max_entries);
      if (const YAML::Node rt = f["retry"]) {
        r.check_keys(rt, "fhir.retry", {"max_attempts", "base_delay", "max_delay"});
        r.get(rt, "fhir.retry", "max_attempts", c.fhir.max_attempts);
        r.get(rt, "fhir.retry", "base_delay", c.fhir.retry_base_delay);
        r.get(rt, "fhir.retry", "max_delay", c.fhir.retry_max_delay);
      }
      if (const YAML::Node a = f["auth"]) {
        r.check_keys(a, "fhir.auth", {"mode", "token_env", "token_url", "client_id", "client_secret_env", "scope", "resource"});
        r.get(a, "fhir.auth", "mode", c.fhir.auth.mode);
        c.fhir.auth.token = r.secret(a, "fhir.auth", "token_env");
        r.get(a, "fhir.auth", "token_url", c.fhir.auth.token_url);
        r.get(a, "fhir.auth", "client_id", c.fhir.auth.client_id);
        c.fhir.auth.client_secret = r.secret(a, "fhir.auth", "client_secret_env");
        r.get(a, "fhir.auth", "scope", c.fhir.auth.scope);
        r.get(a, "fhir.auth", "resource", c.fhir.auth.resource);
      }
    }
    if (c.fhir.url.empty()) r.fail("fhir.url", "required: the FHIR server's base URL");
    if (c.fhir.url.rfind("http://", 0) != 0 && c.fhir.url.rfind("https://", 0) != 0)
      r.fail("fhir.url", "must start with http:// or https://");
    while (!c.fhir.url.empty() && c.fhir.url.back() == '/') c.fhir.url.pop_back();
    if (c.fhir.identity != "Create" && c.fhir.identity != "Lookup" && c.fhir.identity != "LookupWithEncounter") {
      // Case-insensitive as ResourceIdentity:ResourceIdentityServiceType (iomt-spec §11).
      std::string lower;
      for (char ch : c.fhir.identity) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == "create") c.fhir.identity = "Create";
      else if (lower == "lookup") c.fhir.identity = "Lookup";
      else if (lower == "lookupwithencounter") c.fhir.identity = "LookupWithEncounter";
      else r.fail("fhir.identity", "expected Lookup, Create or LookupWithEncounter");
    }
    const std::string& am = c.fhir.auth.mode;
    if (am != "none" && am != "bearer" && am != "oauth2") r.fail("fhir.auth.mode", "expected none, bearer or oauth2");
    if (am == "bearer" && c.fhir.auth.token.empty()) r.fail("fhir.auth.token_env", "required for bearer auth");
    if (am == "oauth2") {
      if (c.fhir.auth.token_url.empty()) r.fail("fhir.auth.token_url", "required for oauth2 auth");
      if (c.fhir.auth.client_id.empty()) r.fail("fhir.auth.client_id", "required for oauth2 auth");
      if (c.fhir.auth.client_secret.empty()) r.fail("fhir.auth.client_secret_env", "required for oauth2 auth");
    }
    if (c.fhir.max_connections == 0) r.fail("fhir.max_connections", "must be at least 1");
    if (c.fhir.max_attempts == 0) r.fail("fhir.retry.max_attempts", "must be at least 1");
    c.fhir.ca_file = resolve(config_dir, c.fhir.ca_file);

    const YAML::Node dz = root["designer"];
    r.check_keys(dz, "designer", {"enabled"});
    if (dz) r.get(dz, "designer", "enabled", c.designer.enabled);

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
