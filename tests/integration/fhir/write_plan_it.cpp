// One write plan per flush against the real FHIR server (issue 11): identity resolution and the
// Observation writes of a whole flush in batch Bundles (identity_resolver::resolve_all,
// observation_store::save_all through a batch_exchange). The same resources as single requests,
// request counts, the entry limit, several groups of one Observation in one flush, 412 and invalid
// entries, MedTech's identity errors, unsupported Bundles and per-entry 503s.
#include "fhir/batch_exchange.hpp"
#include "fhir/errors.hpp"
#include "fhir/identity.hpp"
#include "fhir/observation_store.hpp"
#include "fhir_test_support.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/json/dotnet.hpp"
#include "test_servers.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <deque>
#include <map>

using namespace iomt::fhir;
using namespace iomt::fhir::test;
using namespace std::chrono_literals;
namespace mf = iomt::mapping::fhir;
using iomt::mapping::measurement;

namespace {

identity_options create_mode() {
  identity_options o;
  o.mode = identity_mode::create;
  return o;
}

// `devices` devices with a patient each: two weight readings (two Observations) and one heart
// rate (one hourly SampledData Observation) per device.
std::vector<measurement> readings_of(int devices) {
  std::vector<measurement> out;
  for (int d = 0; d < devices; ++d) {
    const std::string dev = "dev-" + std::to_string(d), pat = "pat-" + std::to_string(d);
    out.push_back(reading(dev, pat, "weight", "2024-01-01T10:00:00Z", "kg", std::to_string(60 + d) + ".5"));
    out.push_back(reading(dev, pat, "weight", "2024-01-01T10:00:01Z", "kg", std::to_string(61 + d) + ".0"));
    out.push_back(reading(dev, pat, "heartrate", "2024-01-01T10:00:05Z", "hr", std::to_string(70 + d)));
  }
  return out;
}

// Every resource of a type on the server, by id, without meta (versions and times differ).
std::map<std::string, std::string> resources_of(const std::string& type) {
  auto r = call(http::verb::get, fhir_server::url() + "/" + type + "?_count=1000");
  BOOST_TEST_REQUIRE(r.status == 200u);
  std::map<std::string, std::string> out;
  auto bundle = r.json().as_object();
  if (auto* e = bundle.if_contains("entry"))
    for (auto& entry : e->as_array()) {
      auto res = entry.as_object().at("resource").as_object();
      res.erase("meta");
      out[std::string(res.at("id").as_string())] = boost::json::serialize(res);
    }
  return out;
}

// A client with a quick retry policy.
struct plan_shard : client_shard {
  plan_shard() : client_shard(retry_options{5ms, 50ms, 4, 5'000ms}) {}
  std::size_t versions(const std::string& type, const std::string& id) { return versions_of(type, id); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(write_plan_suite, plan_shard)

BOOST_AUTO_TEST_CASE(the_server_declares_batch) {
  auto caps = run(ioc, fhir->capabilities());
  BOOST_TEST_REQUIRE(caps.has_value());
  BOOST_TEST(caps->batch);
  BOOST_TEST(!caps->max_bundle_entries);  // stated by no extension
}

// 12 new devices in Create mode, 36 new Observations: six Bundles in all, and the very resources
// one request at a time would have written.
BOOST_AUTO_TEST_CASE(a_flush_of_new_devices_in_six_bundles_with_the_same_resources) {
  // One request at a time, group after group (the single path).
  std::map<std::string, std::string> single_obs, single_devices, single_patients;
  {
    flush f(readings_of(12));
    identity_resolver identity(*fhir, create_mode());
    std::vector<iomt::mapping::result<mf::resource_ids>> resolved;
    for (const auto& q : f.requests) resolved.push_back(run(ioc, identity.resolve(q)));
    f.add_writes(resolved);
    BOOST_TEST_REQUIRE(f.writes.size() == 36u);
    observation_store store(*fhir);
    for (const auto& w : f.writes) {
      auto r = run(ioc, store.save(w));
      BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    }
    single_obs = resources_of("Observation");
    single_devices = resources_of("Device");
    single_patients = resources_of("Patient");
    BOOST_TEST_REQUIRE(single_obs.size() == 36u);
    BOOST_TEST_REQUIRE(single_devices.size() == 12u);
    BOOST_TEST_REQUIRE(single_patients.size() == 12u);
  }
  fhir_server::reset();

  // The write plan: the same flush in batch Bundles.
  flush f(readings_of(12));
  identity_resolver identity(*fhir, create_mode());
  batch_exchange exchange(*fhir, exchange_options{.bundles = true, .max_entries = 50, .max_in_flight = 8});
  const auto before = fhir->stats().requests;
  auto resolved = run(ioc, identity.resolve_all(f.requests, exchange));
  // Device searches, Patient searches, Patient creates, Device creates: one Bundle each.
  BOOST_TEST(fhir->stats().requests - before == 4u);
  BOOST_TEST(identity.cache_size() == 12u);
  f.add_writes(resolved);
  observation_store store(*fhir);
  auto results = run(ioc, store.save_all(f.writes, exchange));
  for (const auto& r : results) {
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST((r->operation == save_operation::created));
  }
  const auto requests = fhir->stats().requests - before;
  BOOST_TEST_MESSAGE("12 new devices, 36 new Observations: " << requests << " requests with the write plan");
  BOOST_TEST(requests == 6u);  // + the Observation searches and the Observation PUTs
  BOOST_TEST(fhir->stats().posts == exchange.stats().bundles);
  BOOST_TEST(exchange.stats().singles == 0u);

  BOOST_TEST(resources_of("Observation") == single_obs);  // byte for byte, but meta
  BOOST_TEST(resources_of("Device") == single_devices);
  BOOST_TEST(resources_of("Patient") == single_patients);

  // The next flush of the same devices, new values at the same instants: identities and
  // Observations are cached, so one Bundle of 36 PUTs with If-Match.
  std::vector<measurement> changed = readings_of(12);
  for (auto& m : changed) m.properties[0].value += "1";
  flush next(std::move(changed));
  const auto again = fhir->stats().requests;
  next.add_writes(run(ioc, identity.resolve_all(next.requests, exchange)));
  BOOST_TEST(fhir->stats().requests == again);
  results = run(ioc, store.save_all(next.writes, exchange));
  for (const auto& r : results) {
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST((r->operation == save_operation::updated));
  }
  BOOST_TEST(fhir->stats().requests - again == 1u);
}

BOOST_AUTO_TEST_CASE(entry_limit_and_two_groups_of_one_observation) {
  identity_resolver identity(*fhir, create_mode());
  std::vector<measurement> ms;
  for (int i = 0; i < 10; ++i) {
    char t[32];
    std::snprintf(t, sizeof t, "2024-01-01T10:00:%02dZ", i);
    ms.push_back(reading("dev-a", "pat-a", "weight", t, "kg", std::to_string(70 + i)));
  }
  ms.push_back(reading("dev-a", "pat-a", "heartrate", "2024-01-01T10:00:00Z", "hr", "1"));
  // The same device and type under another patient id: a second measurement group whose identity
  // comes from the device's cache, so it lands in the same hourly Observation.
  ms.push_back(reading("dev-a", "pat-other", "heartrate", "2024-01-01T10:00:05Z", "hr", "2"));
  flush f(std::move(ms));
  BOOST_TEST_REQUIRE(f.groups.size() == 3u);
  batch_exchange exchange(*fhir, exchange_options{.bundles = true, .max_entries = 4, .max_in_flight = 2});
  auto resolved = run(ioc, identity.resolve_all(f.requests, exchange));
  BOOST_TEST(resolved[2]->patient == resolved[1]->patient);  // the first group's identity, as upstream
  f.add_writes(resolved);
  BOOST_TEST_REQUIRE(f.writes.size() == 12u);
  BOOST_TEST_REQUIRE(f.writes[10].id == f.writes[11].id);

  observation_store store(*fhir);
  const auto bundles_before = exchange.stats().bundles;
  auto results = run(ioc, store.save_all(f.writes, exchange));
  // 11 Observations: 3 Bundles of searches (4 + 4 + 3) and 3 of PUTs, never more than 4 entries.
  BOOST_TEST(exchange.stats().bundles - bundles_before == 6u);
  for (std::size_t i = 0; i < 11; ++i) {
    BOOST_TEST_REQUIRE(results[i].has_value(), (results[i] ? "" : results[i].error().message));
    BOOST_TEST((results[i]->operation == save_operation::created));
  }
  BOOST_TEST_REQUIRE(results[11].has_value());
  BOOST_TEST((results[11]->operation == save_operation::updated));  // merged after the first, in order
  auto hr = call(http::verb::get, fhir_server::url() + "/Observation/" + f.writes[10].id).json().as_object();
  BOOST_TEST(std::string(hr["valueSampledData"].as_object()["data"].as_string()).starts_with("1 2 E"));
  BOOST_TEST(hr["status"].as_string() == "amended");           // as if written twice
  BOOST_TEST(versions("Observation", f.writes[10].id) == 1u);  // but written once
}

// A flush larger than the exchange holds in flight is written in slices (bounded memory), each
// its searches then its writes.
BOOST_AUTO_TEST_CASE(large_flushes_go_in_slices) {
  identity_resolver identity(*fhir, create_mode());
  std::vector<measurement> ms;
  for (int i = 0; i < 120; ++i) {
    char t[32];
    std::snprintf(t, sizeof t, "2024-01-01T10:%02d:%02dZ", i / 60, i % 60);
    ms.push_back(reading("dev-s", "pat-s", "weight", t, "kg", std::to_string(50 + i)));
  }
  flush f(std::move(ms));
  batch_exchange exchange(*fhir, exchange_options{.bundles = true, .max_entries = 10, .max_in_flight = 1});
  f.add_writes(run(ioc, identity.resolve_all(f.requests, exchange)));
  BOOST_TEST_REQUIRE(f.writes.size() == 120u);
  observation_store store(*fhir);
  const auto bundles_before = exchange.stats().bundles;
  auto results = run(ioc, store.save_all(f.writes, exchange));
  for (const auto& r : results) {
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST((r->operation == save_operation::created));
  }
  // slices of 50 (at least 50 per Bundle slot x 1 in flight): 50 + 50 + 20 Observations, each
  // slice its searches and its PUTs in Bundles of 10
  BOOST_TEST(exchange.stats().bundles - bundles_before == 24u);
  BOOST_TEST(resources_of("Observation").size() == 120u);
}

BOOST_AUTO_TEST_CASE(conflicting_and_invalid_entries) {
  identity_resolver identity(*fhir, create_mode());
  batch_exchange exchange(*fhir, exchange_options{.bundles = true, .max_entries = 50, .max_in_flight = 8});
  std::vector<measurement> ms;
  for (int i = 0; i < 5; ++i)
    ms.push_back(reading("dev-c", "pat-c", "weight", "2024-01-01T11:00:0" + std::to_string(i) + "Z", "kg", "60"));
  flush first(ms);
  first.add_writes(run(ioc, identity.resolve_all(first.requests, exchange)));
  observation_store store(*fhir);
  for (const auto& r : run(ioc, store.save_all(first.writes, exchange))) BOOST_TEST_REQUIRE(r.has_value());

  // one of them changes elsewhere: its entry of the next Bundle is answered 412
  const std::string changed = first.writes[2].id;
  auto theirs = call(http::verb::get, fhir_server::url() + "/Observation/" + changed).json().as_object();
  theirs["note"] = boost::json::array{boost::json::object{{"text", "edited elsewhere"}}};
  BOOST_TEST_REQUIRE(
      call(http::verb::put, fhir_server::url() + "/Observation/" + changed, boost::json::serialize(theirs)).status ==
      200u);
  for (auto& m : ms) m.properties[0].value = "61";
  flush second(ms);
  second.add_writes(run(ioc, identity.resolve_all(second.requests, exchange)));
  const auto before = fhir->stats().requests;
  const auto conflicts = fhir->stats().conflicts;
  auto results = run(ioc, store.save_all(second.writes, exchange));
  BOOST_TEST(fhir->stats().requests - before == 3u);  // the Bundle + (search + PUT) of the stale one
  BOOST_TEST(exchange.stats().entry_retries == 0u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    BOOST_TEST_REQUIRE(results[i].has_value(), (results[i] ? "" : results[i].error().message));
    BOOST_TEST((results[i]->operation == save_operation::updated));
    BOOST_TEST(results[i]->conflict_retries == (i == 2 ? 1 : 0));
  }
  BOOST_TEST(fhir->stats().conflicts == conflicts);  // a 412 inside a Bundle is not an HTTP answer
  auto stored = call(http::verb::get, fhir_server::url() + "/Observation/" + changed).json().as_object();
  BOOST_TEST(stored["note"].as_array().size() == 1u);  // re-read and merged again: their edit stays
  BOOST_TEST(stored["valueQuantity"].as_object()["value"].to_number<double>() == 61.0);

  // an invalid resource: this server refuses the whole Bundle (400), so its entries go one by one
  // and the error lands on the invalid write alone
  invalid_source bad("bad-1");
  for (auto& m : ms) m.properties[0].value = "62";
  flush third(ms);
  third.add_writes(run(ioc, identity.resolve_all(third.requests, exchange)));
  std::vector<observation_write> mixed(third.writes.begin(), third.writes.end());
  mixed.insert(mixed.begin() + 1, observation_write{{"urn:test", "bad-1"}, "bad-1", &bad});
  const auto fallbacks = exchange.stats().fallbacks;
  results = run(ioc, store.save_all(mixed, exchange));
  BOOST_TEST(exchange.stats().fallbacks - fallbacks == 1u);
  BOOST_TEST(exchange.bundles());  // refused for its content, not unsupported: Bundles stay on
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i == 1) continue;
    BOOST_TEST((results[i].has_value() && results[i]->operation == save_operation::updated));
  }
  BOOST_TEST_REQUIRE(results[1].has_error());
  BOOST_TEST(results[1].error().message ==
             "PUT Observation/bad-1 failed: 400 Bad Request: Invalid additional property \"bogusElement\"");
  BOOST_TEST((results[1].error().cls == iomt::mapping::failure_class::permanent));
}

BOOST_AUTO_TEST_CASE(identity_errors_through_bundles_are_medtechs_in_order) {
  call(http::verb::put, fhir_server::url() + "/Patient/p-ok", R"({"resourceType":"Patient","id":"p-ok"})");
  call(http::verb::put, fhir_server::url() + "/Device/d-ok",
       R"({"resourceType":"Device","id":"d-ok","identifier":[{"value":"ok"}],"patient":{"reference":"Patient/p-ok"}})");
  call(http::verb::put, fhir_server::url() + "/Device/d-np",
       R"({"resourceType":"Device","id":"d-np","identifier":[{"value":"no-patient"}]})");
  call(http::verb::put, fhir_server::url() + "/Device/a",
       R"({"resourceType":"Device","id":"a","identifier":[{"value":"dup"}]})");
  call(http::verb::put, fhir_server::url() + "/Device/b",
       R"({"resourceType":"Device","id":"b","identifier":[{"value":"dup"}]})");
  const std::vector<identity_request> requests{{"missing", "p", std::nullopt},      {"no-patient", "p", std::nullopt},
                                               {"dup", std::nullopt, std::nullopt}, {"ok", std::nullopt, std::nullopt},
                                               {"missing", "p", std::nullopt},  // same again: same error, no request
                                               {"ok", std::nullopt, std::nullopt}};
  identity_options lookup;
  lookup.mode = identity_mode::lookup;

  identity_resolver one_by_one(*fhir, lookup);
  std::vector<iomt::mapping::result<mf::resource_ids>> expected;
  for (const auto& q : requests) expected.push_back(run(ioc, one_by_one.resolve(q)));

  identity_resolver batched(*fhir, lookup);
  batch_exchange exchange(*fhir, exchange_options{.bundles = true, .max_entries = 50, .max_in_flight = 8});
  const auto before = fhir->stats().requests;
  auto got = run(ioc, batched.resolve_all(requests, exchange));
  BOOST_TEST(fhir->stats().requests - before == 1u);  // four distinct Device searches, one Bundle
  BOOST_TEST_REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    BOOST_TEST_REQUIRE(got[i].has_value() == expected[i].has_value(), i);
    if (got[i]) {
      BOOST_TEST(got[i]->device == expected[i]->device);
      BOOST_TEST(got[i]->patient == expected[i]->patient);
    } else {
      BOOST_TEST(got[i].error().type == expected[i].error().type, i);
      BOOST_TEST(got[i].error().message == expected[i].error().message, i);
      BOOST_TEST((got[i].error().cls == expected[i].error().cls), i);
    }
  }
  BOOST_TEST(metric_name(got[0].error()) == "DeviceNotFoundException");
  BOOST_TEST(metric_name(got[1].error()) == "PatientNotFoundException");
  BOOST_TEST(metric_name(got[2].error()) == "MultipleDeviceFoundException");
  BOOST_TEST(got[3]->patient == "p-ok");
  BOOST_TEST(batched.cache_size() == 1u);  // nothing cached on failure
}

// A server without batch support (405 to POST [base]): Bundles go off, the same writes go alone.
BOOST_AUTO_TEST_CASE(unsupported_bundles_fall_back_to_single_requests) {
  const std::string upstream = fhir_server::url();
  const std::string origin = upstream.substr(0, upstream.find('/', upstream.find("://") + 3));
  std::atomic<int> refused{0};
  test_http_server no_batch([&](const request_t& req) -> std::optional<response_t> {
    if (req.method() == http::verb::post && req.target() == "/fhir") {
      ++refused;
      return make_response(
          405, R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported"}]})");
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (req.count(http::field::if_match)) headers.emplace_back("If-Match", std::string(req[http::field::if_match]));
    reply r = call(req.method(), origin + std::string(req.target()), req.body(), headers);
    response_t res = make_response(r.status, r.body);
    if (!r.etag.empty()) res.set(http::field::etag, r.etag);
    return res;
  });
  auto proxied = make("http://127.0.0.1:" + std::to_string(no_batch.port()) + "/fhir");
  identity_resolver identity(*proxied, create_mode());
  batch_exchange exchange(*proxied, exchange_options{.bundles = true, .max_entries = 50, .max_in_flight = 4});
  flush f(readings_of(3));
  auto resolved = run(ioc, identity.resolve_all(f.requests, exchange));
  BOOST_TEST(!exchange.bundles());
  BOOST_TEST(refused.load() == 1);  // asked once, then single requests
  f.add_writes(resolved);
  observation_store store(*proxied);
  for (const auto& r : run(ioc, store.save_all(f.writes, exchange))) {
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST((r->operation == save_operation::created));
  }
  BOOST_TEST(refused.load() == 1);
  BOOST_TEST(resources_of("Observation").size() == 9u);
}

// Entries answered 503 inside a processed Bundle are sent again (here alone: only one is left);
// an answer that cannot be read fails every entry, transiently.
BOOST_AUTO_TEST_CASE(entries_answered_503_are_sent_again) {
  std::atomic<int> posts{0}, gets{0};
  test_http_server fake([&](const request_t& req) -> std::optional<response_t> {
    if (req.method() == http::verb::post) {
      if (++posts == 1)
        return make_response(200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
          {"resource":{"resourceType":"Bundle","type":"searchset","total":0},"response":{"status":"200 OK"}},
          {"response":{"status":"503 Service Unavailable"}},
          {"resource":{"resourceType":"Bundle","type":"searchset","total":0},"response":{"status":"200 OK"}}]})");
      return make_response(200, "not json");
    }
    ++gets;
    return make_response(200, R"({"resourceType":"Bundle","type":"searchset","total":1,"entry":[
      {"resource":{"resourceType":"Observation","id":"found"}}]})");
  });
  auto c = make("http://127.0.0.1:" + std::to_string(fake.port()) + "/fhir");
  batch_exchange exchange(*c, exchange_options{.bundles = true, .max_entries = 50, .max_in_flight = 2});
  std::vector<plan_request> rs(3);
  for (int i = 0; i < 3; ++i) rs[i].url = "Observation?identifier=" + std::to_string(i);
  auto answers = run(ioc, exchange.send(rs));
  BOOST_TEST(posts.load() == 1);
  BOOST_TEST(gets.load() == 1);  // the 503 entry, sent again alone
  BOOST_TEST(exchange.stats().entry_retries == 1u);
  for (const auto& a : answers) BOOST_TEST(a.status == 200u);
  auto again = run(ioc, exchange.complete_search(rs[1], answers[1]));
  BOOST_TEST_REQUIRE(again.found.has_value());
  BOOST_TEST(again.found->size() == 1u);

  answers = run(ioc, exchange.send(rs));  // the fake now answers garbage
  for (const auto& a : answers) {
    BOOST_TEST_REQUIRE(a.failure.has_value());
    BOOST_TEST((a.failure->cls == iomt::mapping::failure_class::transient));
    BOOST_TEST(a.failure->message ==
               "POST [base] (batch) failed: the batch response cannot be read: not a JSON object");
  }
}

BOOST_AUTO_TEST_SUITE_END()
