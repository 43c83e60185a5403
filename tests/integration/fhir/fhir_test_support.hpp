// Integration test support for fhir/: the real in-memory FHIR server (started and stopped by the
// project's scripts/peers/start-fhir-server.sh, or FHIR_URL from the environment), a blocking
// HTTP helper to look at the server behind the client's back, a runner for coroutines, and the
// Observation fixture of the observation_store and write_plan suites (a two-template mapping,
// readings, a flush of writes, a client per test).
#pragma once

#include "fhir/client.hpp"
#include "fhir/http_pool.hpp"
#include "fhir/identity.hpp"
#include "fhir/observation_store.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/json/dotnet.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <deque>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace iomt::fhir::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Runs one coroutine to completion on `ioc` (the test's shard) and returns its value.
template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T v) {
    failure = e;
    if (!e) out.emplace(std::move(v));
  });
  ioc.restart();
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  if (!out) throw std::runtime_error("coroutine did not complete");
  return std::move(*out);
}

// co_spawn completion for coroutines a test starts and does not wait on (sessions of the test
// servers, concurrent requests): an exception is printed, never dropped; the test's assertions
// then fail on what the coroutine did not do.
inline auto log_exception(std::string what) {
  return [what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << what << ": exception: " << x.what() << '\n';
    } catch (...) {
      std::cerr << what << ": a non-standard exception\n";
    }
  };
}

inline unsigned short free_port() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

struct reply {
  unsigned status = 0;
  std::string body;
  std::string etag;
  boost::json::value json() const { return boost::json::parse(body); }
};

// Blocking request to an absolute URL (test-side inspection, not the code under test).
inline reply call(http::verb method, const std::string& url, const std::string& body = {},
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  const auto scheme_end = url.find("://");
  const auto path_start = url.find('/', scheme_end + 3);
  auto ep = endpoint::parse(url.substr(0, path_start));
  if (!ep) throw std::runtime_error(ep.error().message);
  const std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  asio::ip::tcp::resolver r(ioc);
  s.connect(r.resolve(ep->host, std::to_string(ep->port)));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, ep->host_header);
  req.set(http::field::accept, "application/fhir+json");
  if (!body.empty()) req.set(http::field::content_type, "application/fhir+json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  beast::error_code ignored;
  s.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return {res.result_int(), res.body(), std::string(res[http::field::etag])};
}

// The FHIR server for the whole test module (Boost.Test global fixture).
class fhir_server {
public:
  fhir_server() {
    if (const char* env = std::getenv("FHIR_URL"); env && *env) {
      url_() = env;
      return;
    }
    const char* src = std::getenv("IOMT_SOURCE_DIR");
    const std::filesystem::path scripts = std::filesystem::path(src && *src ? src : ".") / "scripts/peers";
    const unsigned short port = free_port();
    char tmpl[] = "/tmp/iomt-fhir-it-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    stop_script_ = (scripts / "stop-services.sh").string();
    // If this process dies without running the destructor, a detached watchdog stops the server.
    const std::string watchdog = "nohup bash -c 'while kill -0 " + std::to_string(getpid()) +
                                 " 2>/dev/null; do sleep 1; done; \"" + stop_script_ + "\" \"" + dir_.string() +
                                 "\"; rm -rf \"" + dir_.string() + "\"' >/dev/null 2>&1 &";
    [[maybe_unused]] int watchdog_rc = std::system(watchdog.c_str());
    const std::string cmd = "'" + (scripts / "start-fhir-server.sh").string() + "' --port " + std::to_string(port) +
                            " --dir '" + dir_.string() + "' >'" + (dir_ / "start.log").string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::string log;
      if (FILE* f = std::fopen((dir_ / "start.log").c_str(), "r")) {
        char b[4096];
        std::size_t n;
        while ((n = std::fread(b, 1, sizeof b, f)) > 0) log.append(b, n);
        std::fclose(f);
      }
      throw std::runtime_error("could not start the FHIR server (" + cmd + "):\n" + log);
    }
    url_() = "http://127.0.0.1:" + std::to_string(port) + "/fhir";
  }
  ~fhir_server() {
    if (dir_.empty()) return;
    const std::string cmd = "'" + stop_script_ + "' '" + dir_.string() + "' >/dev/null 2>&1";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  fhir_server(const fhir_server&) = delete;
  fhir_server& operator=(const fhir_server&) = delete;

  static const std::string& url() { return url_(); }

  // POST {base}/$reset: an empty store for the next test.
  static void reset() {
    auto r = call(http::verb::post, url() + "/$reset");
    if (r.status != 200) throw std::runtime_error("$reset failed: " + std::to_string(r.status) + " " + r.body);
  }

private:
  static std::string& url_() {
    static std::string u;
    return u;
  }
  std::filesystem::path dir_;
  std::string stop_script_;
};

// Per-test fixture: an empty server.
struct empty_server {
  empty_server() { fhir_server::reset(); }
};

// Per-test fixture: an empty server and a client of it on the test's own io_context (its shard).
struct client_shard : empty_server {
  asio::io_context ioc;
  std::unique_ptr<client> fhir;
  explicit client_shard(std::optional<retry_options> retry = std::nullopt) : retry_(retry) {
    fhir = make(fhir_server::url());
  }
  // Another client on this shard (a proxy in front of the server, say), with the same retry policy.
  std::unique_ptr<client> make(std::string url) {
    client_options o;
    o.base_url = std::move(url);
    if (retry_) o.retry = *retry_;
    auto c = client::create(ioc.get_executor(), std::move(o));
    BOOST_TEST_REQUIRE(c.has_value(), (c ? "" : c.error().message));
    return std::move(*c);
  }

private:
  std::optional<retry_options> retry_;
};

// How many versions of {type}/{id} the server keeps (_history).
inline std::size_t versions_of(const std::string& type, const std::string& id) {
  auto r = call(http::verb::get, fhir_server::url() + "/" + type + "/" + id + "/_history");
  BOOST_TEST_REQUIRE(r.status == 200u);
  return r.json().as_object()["entry"].as_array().size();
}

// ---- Observations from measurements: the observation_store and write_plan suites --------------

// Heart rate as hourly SampledData, body weight as one Quantity per reading.
inline constexpr std::string_view test_mapping_json = R"({"templateType":"CollectionFhir","template":[
 {"templateType":"CodeValueFhir","template":{"codes":[{"code":"8867-4","system":"http://loinc.org","display":"Heart rate"}],
   "periodInterval":60,"typeName":"heartrate",
   "value":{"defaultPeriod":5000,"unit":"count/min","valueName":"hr","valueType":"SampledData"}}},
 {"templateType":"CodeValueFhir","template":{"codes":[{"code":"29463-7","system":"http://loinc.org","display":"Body weight"}],
   "periodInterval":0,"typeName":"weight",
   "value":{"unit":"kg","valueName":"kg","valueType":"Quantity","system":"http://unitsofmeasure.org","code":"kg"}}}]})";

inline const iomt::mapping::fhir::fhir_mapping& test_mapping() {
  static const auto loaded = iomt::mapping::fhir::fhir_mapping::load(test_mapping_json);
  BOOST_TEST_REQUIRE(loaded.valid());
  return *loaded.mapping;
}

inline iomt::json::date_time at(std::string_view iso) { return iomt::json::parse_datetime(iso).value(); }

inline iomt::mapping::measurement reading(std::string device, std::string patient, std::string type,
                                          std::string_view time, std::string name, std::string value) {
  iomt::mapping::measurement m;
  m.type = std::move(type);
  m.device_id = std::move(device);
  m.patient_id = std::move(patient);
  m.occurrence_time = at(time);
  m.properties.push_back({std::move(name), std::move(value)});
  return m;
}

// A flush: its measurement groups, their identity requests and (once resolved) their writes;
// owns everything the observation sources point into.
struct flush {
  std::vector<iomt::mapping::measurement> batch;
  std::vector<iomt::mapping::fhir::measurement_group> groups;
  std::vector<identity_request> requests;
  std::deque<iomt::mapping::fhir::resource_ids> ids;
  std::deque<iomt::mapping::fhir::observation_group> observation_groups;
  std::deque<template_source> sources;
  std::vector<observation_write> writes;

  explicit flush(std::vector<iomt::mapping::measurement> b) : batch(std::move(b)) {
    groups = iomt::mapping::fhir::group_measurements(batch);
    for (const auto& g : groups)
      requests.push_back(
          {g.device_id, g.patient_id ? std::optional<std::string_view>(*g.patient_id) : std::nullopt, std::nullopt});
  }
  // Every group of one device and patient, resolved already.
  flush(std::vector<iomt::mapping::measurement> b, const iomt::mapping::fhir::resource_ids& resolved)
      : flush(std::move(b)) {
    add_writes(std::vector<iomt::mapping::result<iomt::mapping::fhir::resource_ids>>(groups.size(), resolved));
  }
  flush(const flush&) = delete;

  void add_writes(const std::vector<iomt::mapping::result<iomt::mapping::fhir::resource_ids>>& resolved) {
    BOOST_TEST_REQUIRE(resolved.size() == groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i) {
      BOOST_TEST_REQUIRE(resolved[i].has_value(), (resolved[i] ? "" : resolved[i].error().message));
      ids.push_back(*resolved[i]);
      const iomt::mapping::fhir::code_value_template* tpl = test_mapping().find(groups[i].measure_type);
      BOOST_TEST_REQUIRE(tpl != nullptr);
      auto ogs = iomt::mapping::fhir::make_observation_groups(groups[i], *tpl);
      BOOST_TEST_REQUIRE(ogs.has_value());
      for (auto& og : *ogs) {
        observation_groups.push_back(std::move(og));
        sources.emplace_back(observation_groups.back(), *tpl, ids.back(), at("2024-01-01T12:00:00Z"));
        auto identifier = iomt::mapping::fhir::make_identifier(ids.back(), observation_groups.back());
        std::string id = iomt::mapping::fhir::observation_id(identifier);
        writes.push_back({std::move(identifier), std::move(id), &sources.back()});
      }
    }
  }
};

// An Observation source whose create() gives an invalid resource (unknown element).
class invalid_source final : public observation_source {
public:
  explicit invalid_source(std::string id) : id_(std::move(id)) {}
  iomt::mapping::result<boost::json::object> create() const override {
    return boost::json::object{{"resourceType", "Observation"},
                               {"id", id_},
                               {"status", "final"},
                               {"code", boost::json::object{{"text", "x"}}},
                               {"bogusElement", 1}};
  }
  iomt::mapping::result<iomt::mapping::fhir::merge_outcome> merge(const boost::json::object& existing) const override {
    return iomt::mapping::fhir::merge_outcome{existing, false};
  }

private:
  std::string id_;
};

}  // namespace iomt::fhir::test
