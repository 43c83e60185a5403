// `iomtflow trace --config FILE [--device ID] [--request ID] [--limit N] [--json] [--url URL] [--key-name NAME]`:
// the path of a device's recent events through the running service (issue 13, "where is my
// data?"), from its GET /debug/events (debug.trace.enabled). The address and the SAS key come from
// the same config the service runs with: source.http.listen/port, source.http.keys (the key from
// its key_env variable); only those fields are read, so other secrets need not be set. The token
// is namespace-level (sr = http://host:port), valid for five minutes, and never printed.
#include "net/http_pool.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/commands.hpp"
#include "pipeline/trace/trace_text.hpp"
#include "transport/http/encoding.hpp"
#include "transport/http/sas.hpp"

#include <yaml-cpp/yaml.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

namespace iomt::cli {

namespace {

constexpr const char* trace_usage =
    "usage: iomtflow trace --config FILE [--device ID] [--request ID] [--limit N] [--json] [--url URL]\n"
    "                      [--key-name NAME]\n"
    "  prints the path of the device's last events through the running service: where each came from,\n"
    "  its measurements, groups, Patient/Device, every Observation written (created/updated/no-op) or\n"
    "  the error. Needs debug.trace.enabled: true in the service's config.\n"
    "  --device: events with a measurement of this device id (or this partition key); none: every device\n"
    "  --request: the events of this HTTP request (the x-ms-request-id its sender was answered)\n"
    "  --limit: newest N events (1..1000, default 10)\n"
    "  --url: the service's base URL (default: http://<source.http.listen>:<source.http.port>)\n"
    "  --key-name: which of source.http.keys signs the request (default: the first)\n"
    "  --json: the service's JSON answer as it is (each event's body in full)\n";

struct target {
  std::string url;
  std::string key_name;
  std::string key;  // "" with source.http.auth: none
  bool auth = true;
};

// source.http.listen/port/auth/keys of a service config.
bool target_from_config(const std::string& path, const std::optional<std::string>& key_name, target& out,
                        std::string& err) {
  try {
    const YAML::Node root = YAML::LoadFile(path);
    const YAML::Node h = root["source"] ? root["source"]["http"] : YAML::Node();
    std::string listen = "0.0.0.0";
    unsigned port = 8080;
    std::string auth = "sas";
    if (h && h["listen"]) listen = h["listen"].as<std::string>();
    if (h && h["port"]) port = h["port"].as<unsigned>();
    if (h && h["auth"]) auth = h["auth"].as<std::string>();
    // A wildcard listen address is reached on the loopback interface.
    if (listen == "0.0.0.0" || listen.empty()) listen = "127.0.0.1";
    if (listen == "::") listen = "::1";
    const bool v6 = listen.find(':') != std::string::npos;
    out.url = "http://" + (v6 ? "[" + listen + "]" : listen) + ":" + std::to_string(port);
    out.auth = auth != "none";
    if (!out.auth) return true;
    const YAML::Node keys = h ? h["keys"] : YAML::Node();
    if (!keys || !keys.IsSequence() || keys.size() == 0) {
      err = "config " + path + ": source.http.keys is empty: the service takes SAS tokens signed with those keys";
      return false;
    }
    for (const auto& k : keys) {
      const std::string name = k["name"] ? k["name"].as<std::string>() : "";
      if (key_name && name != *key_name) continue;
      const std::string var = k["key_env"] ? k["key_env"].as<std::string>() : "";
      const char* value = var.empty() ? nullptr : std::getenv(var.c_str());
      if (!value || !*value) {
        err = "the SAS key '" + name + "' is read from the environment variable " + (var.empty() ? "(none)" : var) +
              ", which is not set here (set it as for `iomtflow run`)";
        return false;
      }
      out.key_name = name;
      out.key = value;
      return true;
    }
    err = "config " + path + ": no key named '" + key_name.value_or("") + "' in source.http.keys";
    return false;
  } catch (const std::exception& e) {
    err = "config " + path + ": " + e.what();
    return false;
  }
}

}  // namespace

int trace(int argc, char** argv, int first) {
  args a(argc, argv, first, {"json"});
  if (!a.ok() || a.unknown({"config", "device", "request", "limit", "json", "url", "key-name"}) ||
      !a.positionals().empty() || !a.get("config")) {
    std::cerr << trace_usage;
    if (!a.ok())
      std::cerr << "error: " << a.error() << '\n';
    else if (auto u = a.unknown({"config", "device", "request", "limit", "json", "url", "key-name"}))
      std::cerr << "error: unknown option --" << *u << '\n';
    else if (!a.get("config"))
      std::cerr << "error: --config is required\n";
    return 2;
  }
  const std::string config = *a.get("config");
  target t;
  std::string err;
  if (!target_from_config(config, a.get("key-name"), t, err)) {
    std::cerr << "error: " << err << '\n';
    return 2;
  }
  if (auto u = a.get("url")) {
    t.url = *u;
    while (!t.url.empty() && t.url.back() == '/') t.url.pop_back();
  }
  auto origin = net::endpoint::parse(t.url);
  if (!origin) {
    std::cerr << "error: --url: " << origin.error().message << '\n';
    return 2;
  }
  std::string query = "?limit=" + transport::http::url_encode(a.get("limit").value_or("10"));
  if (auto d = a.get("device")) query += "&device=" + transport::http::url_encode(*d);
  if (auto r = a.get("request")) query += "&request=" + transport::http::url_encode(*r);
  std::string authorization;
  if (t.auth) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    // Namespace-level: sr is the origin without a path (trace/trace_json.hpp, debug_events_resource).
    authorization =
        transport::http::make_sas_token(t.url.substr(0, t.url.find('/', 8)), t.key_name, t.key, now.count() + 300);
  }

  boost::asio::io_context ioc;
  net::pool_options po;
  po.max_connections = 1;
  po.request_timeout = std::chrono::seconds(30);
  auto pool = net::http_pool::create(ioc.get_executor(), *origin, po);
  if (!pool) {
    std::cerr << "error: " << pool.error().message << '\n';
    return 2;
  }
  std::optional<net::http_result> answer;
  const std::string path = origin->base_path + "/debug/events" + query;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        std::vector<net::header_field> headers{{"Accept", "application/json"}};
        if (!authorization.empty()) headers.push_back({"Authorization", authorization});
        answer = co_await (*pool)->request(boost::beast::http::verb::get, path, {}, headers);
      },
      boost::asio::detached);
  ioc.run();
  if (!answer || !*answer) {
    std::cerr << "error: cannot reach the service at " << t.url << ": "
              << (answer ? answer->error().message : std::string("no answer")) << '\n';
    return 1;
  }
  const auto& res = answer->value();
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(res.body(), ec);
  if (res.result_int() != 200) {
    std::string message = res.body().substr(0, 500);
    if (!ec && body.is_object())
      if (auto* m = body.as_object().if_contains("message"); m && m->is_string()) message = m->as_string().c_str();
    std::cerr << "error: " << t.url << "/debug/events answered " << res.result_int() << ": " << message << '\n';
    if (res.result_int() == 404)
      std::cerr << "hint: set debug.trace.enabled: true in the service's config and restart it\n";
    return 1;
  }
  if (ec) {
    std::cerr << "error: the answer of " << t.url << "/debug/events is not JSON: " << ec.message() << '\n';
    return 1;
  }
  if (a.has("json")) {
    std::cout << res.body();
    return 0;
  }
  pipeline::trace::text_options to;
  to.config_path = config;
  std::cout << pipeline::trace::describe_events(body, to);
  return 0;
}

}  // namespace iomt::cli
