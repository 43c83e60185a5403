// Versioned Observation upsert against the real FHIR server (iomt-spec §9, §12): create, merge
// with If-Match and opaque (UUID) versions, no-op, 412 recovery, batch Bundles (request counts).
#include "fhir/errors.hpp"
#include "fhir/identity.hpp"
#include "fhir/observation_store.hpp"
#include "fhir_test_support.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/json/dotnet.hpp"

#include <boost/test/unit_test.hpp>

#include <deque>

using namespace iomt::fhir;
using namespace iomt::fhir::test;
namespace mf = iomt::mapping::fhir;
namespace http = boost::beast::http;
using iomt::mapping::measurement;

namespace {

measurement reading(std::string type, std::string_view time, std::string name, std::string value) {
  return iomt::fhir::test::reading("dev-1", "pat-1", std::move(type), time, std::move(name), std::move(value));
}

// A client, and the Device and Patient of "dev-1" / "pat-1" created.
struct shard : client_shard {
  mf::resource_ids ids;
  shard() {
    identity_options io;
    io.mode = identity_mode::create;
    identity_resolver identity(*fhir, io);
    auto r = run(ioc, identity.resolve({"dev-1", "pat-1", std::nullopt}));
    BOOST_TEST_REQUIRE(r.has_value());
    ids = *r;
  }
  std::uint64_t requests() const { return fhir->stats().requests; }
  boost::json::object server_copy(const std::string& id) {
    auto r = call(http::verb::get, fhir_server::url() + "/Observation/" + id);
    BOOST_TEST_REQUIRE(r.status == 200u, r.status << " " << r.body);
    return r.json().as_object();
  }
  std::size_t versions(const std::string& id) { return versions_of("Observation", id); }
  std::string data_of(const std::string& id) {
    auto o = server_copy(id);
    return std::string(o["valueSampledData"].as_object()["data"].as_string());
  }
};

std::string version_of(const boost::json::object& o) {
  return std::string(o.at("meta").as_object().at("versionId").as_string());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(observation_store_suite, shard)

BOOST_AUTO_TEST_CASE(create_merge_and_no_op_for_hourly_sampled_data) {
  observation_store store(*fhir);
  flush first({reading("heartrate", "2024-01-01T10:00:00Z", "hr", "78"),
               reading("heartrate", "2024-01-01T10:00:05Z", "hr", "80")},
              ids);
  BOOST_TEST_REQUIRE(first.writes.size() == 1u);
  const std::string id = first.writes[0].id;

  auto before = requests();
  auto created = run(ioc, store.save(first.writes[0]));
  BOOST_TEST_REQUIRE(created.has_value(), (created ? "" : created.error().message));
  BOOST_TEST(to_string(created->operation) == std::string("ObservationCreated"));
  BOOST_TEST(!created->contention);
  BOOST_TEST(requests() - before == 2u);  // search + PUT
  const auto v1 = version_of(server_copy(id));
  BOOST_TEST(v1.size() == 36u);  // a UUID: opaque, never "1"
  BOOST_TEST(data_of(id).starts_with("78 80 E E"));

  // a second flush merges into the same Observation: If-Match PUT, no search (cached)
  flush second({reading("heartrate", "2024-01-01T10:00:10Z", "hr", "82")}, ids);
  BOOST_TEST_REQUIRE(second.writes[0].id == id);
  before = requests();
  auto updated = run(ioc, store.save(second.writes[0]));
  BOOST_TEST_REQUIRE(updated.has_value(), (updated ? "" : updated.error().message));
  BOOST_TEST(to_string(updated->operation) == std::string("ObservationUpdated"));
  BOOST_TEST(requests() - before == 1u);
  auto stored = server_copy(id);
  BOOST_TEST(stored["status"].as_string() == "amended");
  BOOST_TEST(version_of(stored) != v1);
  const std::string data = data_of(id);
  BOOST_TEST(data.starts_with("78 80 82 E"));
  BOOST_TEST(std::count(data.begin(), data.end(), ' ') == 719);  // 720 slots of 5 s

  // the same data again: no request at all
  before = requests();
  auto same = run(ioc, store.save(second.writes[0]));
  BOOST_TEST_REQUIRE(same.has_value());
  BOOST_TEST(to_string(same->operation) == std::string("ObservationNoOperation"));
  BOOST_TEST(requests() == before);

  // a cold cache: one search, still no PUT
  observation_store cold(*fhir);
  before = requests();
  auto cold_same = run(ioc, cold.save(second.writes[0]));
  BOOST_TEST_REQUIRE(cold_same.has_value());
  BOOST_TEST((cold_same->operation == save_operation::no_op));
  BOOST_TEST(requests() - before == 1u);
  BOOST_TEST(fhir->stats().puts == 4u);  // Patient + Device (identity), Observation create + update
  BOOST_TEST(versions(id) == 2u);
}

BOOST_AUTO_TEST_CASE(stale_version_is_re_read_and_merged_again) {
  observation_store store(*fhir);
  flush first({reading("heartrate", "2024-01-01T10:00:00Z", "hr", "78")}, ids);
  const std::string id = first.writes[0].id;
  BOOST_TEST_REQUIRE(run(ioc, store.save(first.writes[0])).has_value());

  // someone else changes it: the store's cached version is now stale
  auto theirs = server_copy(id);
  theirs["note"] = boost::json::array{boost::json::object{{"text", "edited elsewhere"}}};
  auto r = call(http::verb::put, fhir_server::url() + "/Observation/" + id, boost::json::serialize(theirs));
  BOOST_TEST_REQUIRE(r.status == 200u);

  flush second({reading("heartrate", "2024-01-01T10:00:15Z", "hr", "90")}, ids);
  const auto conflicts = fhir->stats().conflicts;
  auto saved = run(ioc, store.save(second.writes[0]));
  BOOST_TEST_REQUIRE(saved.has_value(), (saved ? "" : saved.error().message));
  BOOST_TEST((saved->operation == save_operation::updated));
  BOOST_TEST(saved->conflict_retries == 1);
  BOOST_TEST(fhir->stats().conflicts - conflicts == 1u);  // one 412
  auto stored = server_copy(id);
  BOOST_TEST(stored["note"].as_array()[0].as_object()["text"].as_string() == "edited elsewhere");
  BOOST_TEST(data_of(id).starts_with("78 E E 90 E"));
  BOOST_TEST(versions(id) == 3u);
}

BOOST_AUTO_TEST_CASE(deleted_behind_our_back_takes_the_create_path) {
  observation_store store(*fhir);
  flush first({reading("heartrate", "2024-01-01T10:00:00Z", "hr", "78")}, ids);
  const std::string id = first.writes[0].id;
  BOOST_TEST_REQUIRE(run(ioc, store.save(first.writes[0])).has_value());
  BOOST_TEST_REQUIRE(call(http::verb::delete_, fhir_server::url() + "/Observation/" + id).status == 200u);

  flush second({reading("heartrate", "2024-01-01T10:00:15Z", "hr", "90")}, ids);
  auto saved = run(ioc, store.save(second.writes[0]));
  BOOST_TEST_REQUIRE(saved.has_value(), (saved ? "" : saved.error().message));
  BOOST_TEST((saved->operation == save_operation::created));
  BOOST_TEST(saved->conflict_retries == 1);
  BOOST_TEST(data_of(id).starts_with("E E E 90 E"));
}

BOOST_AUTO_TEST_CASE(invalid_resource_reports_the_operation_outcome) {
  observation_store store(*fhir);
  invalid_source bad("bad-1");
  auto r = run(ioc, store.save({{"urn:test", "bad-1"}, "bad-1", &bad}));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().type == "FhirClientException");
  BOOST_TEST(r.error().message ==
             "PUT Observation/bad-1 failed: 400 Bad Request: Invalid additional property \"bogusElement\"");
}

BOOST_AUTO_TEST_CASE(batch_bundles_cut_the_request_count) {
  std::vector<measurement> readings;
  for (int i = 0; i < 20; ++i) {
    char t[32];
    std::snprintf(t, sizeof t, "2024-01-01T10:00:%02dZ", i);
    readings.push_back(reading("weight", t, "kg", std::to_string(70 + i) + ".5"));
  }
  flush quantities(readings, ids);
  BOOST_TEST_REQUIRE(quantities.writes.size() == 20u);

  // one request per step
  observation_store single(*fhir);
  auto before = requests();
  for (const auto& w : quantities.writes) BOOST_TEST_REQUIRE(run(ioc, single.save(w)).has_value());
  const auto single_requests = requests() - before;
  BOOST_TEST(single_requests == 40u);

  // the same 20 Observations through batch Bundles on an empty store
  fhir_server::reset();
  observation_store batched(*fhir);
  before = requests();
  auto results = run(ioc, batched.save_batch(quantities.writes));
  const auto batch_requests = requests() - before;
  BOOST_TEST_MESSAGE("20 new Quantity Observations: " << single_requests << " requests one by one, " << batch_requests
                                                      << " with batch Bundles");
  BOOST_TEST(batch_requests == 2u);  // one batch of searches + one batch of PUTs
  for (const auto& r : results) {
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST((r->operation == save_operation::created));
  }
  auto count = call(http::verb::get, fhir_server::url() + "/Observation?_summary=count");
  BOOST_TEST(count.json().as_object()["total"].as_int64() == 20);
  auto quantity = server_copy(quantities.writes[3].id)["valueQuantity"].as_object();
  BOOST_TEST(quantity["value"].to_number<double>() == 73.5);
  BOOST_TEST(quantity["unit"].as_string() == "kg");
  BOOST_TEST(quantity["code"].as_string() == "kg");

  // new values for the same instants: cached, one batch of If-Match PUTs
  for (auto& m : readings) m.properties[0].value = "99.0";
  flush changed(readings, ids);
  before = requests();
  results = run(ioc, batched.save_batch(changed.writes));
  BOOST_TEST(requests() - before == 1u);
  for (const auto& r : results) {
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST((r->operation == save_operation::updated));
  }
  BOOST_TEST(server_copy(changed.writes[7].id)["valueQuantity"].as_object()["value"].to_number<double>() == 99.0);

  // unchanged: nothing to send
  before = requests();
  results = run(ioc, batched.save_batch(changed.writes));
  BOOST_TEST(requests() == before);
  for (const auto& r : results) BOOST_TEST((r.has_value() && r->operation == save_operation::no_op));
}

BOOST_AUTO_TEST_CASE(batch_entries_that_conflict_or_fail_fall_back_one_by_one) {
  std::vector<measurement> readings;
  for (int i = 0; i < 5; ++i)
    readings.push_back(reading("weight", "2024-01-01T11:00:0" + std::to_string(i) + "Z", "kg", "60"));
  flush first(readings, ids);
  observation_store store(*fhir);
  for (const auto& r : run(ioc, store.save_batch(first.writes))) BOOST_TEST_REQUIRE(r.has_value());

  // one of them changes elsewhere -> its batch entry gets 412
  auto theirs = server_copy(first.writes[2].id);
  theirs["note"] = boost::json::array{boost::json::object{{"text", "x"}}};
  BOOST_TEST_REQUIRE(
      call(http::verb::put, fhir_server::url() + "/Observation/" + first.writes[2].id, boost::json::serialize(theirs))
          .status == 200u);
  for (auto& m : readings) m.properties[0].value = "61";
  flush second(readings, ids);
  auto before = requests();
  auto results = run(ioc, store.save_batch(second.writes));
  BOOST_TEST(requests() - before == 3u);  // batch + (search + PUT) for the stale one
  for (std::size_t i = 0; i < results.size(); ++i) {
    BOOST_TEST_REQUIRE(results[i].has_value(), (results[i] ? "" : results[i].error().message));
    BOOST_TEST((results[i]->operation == save_operation::updated));
    BOOST_TEST(results[i]->conflict_retries == (i == 2 ? 1 : 0));
  }
  BOOST_TEST(server_copy(first.writes[2].id)["note"].as_array().size() == 1u);

  // an invalid resource fails the whole Bundle on this server: one by one pins it down
  invalid_source bad("bad-2");
  for (auto& m : readings) m.properties[0].value = "62";
  flush third(readings, ids);
  std::vector<observation_write> mixed(third.writes.begin(), third.writes.end());
  mixed.push_back({{"urn:test", "bad-2"}, "bad-2", &bad});
  results = run(ioc, store.save_batch(mixed));
  for (std::size_t i = 0; i + 1 < results.size(); ++i)
    BOOST_TEST((results[i].has_value() && results[i]->operation == save_operation::updated));
  BOOST_TEST_REQUIRE(results.back().has_error());
  BOOST_TEST(results.back().error().message.find("Invalid additional property \"bogusElement\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(two_writes_of_one_observation_in_one_batch_apply_in_order) {
  flush a({reading("heartrate", "2024-01-01T10:00:00Z", "hr", "1")}, ids);
  flush b({reading("heartrate", "2024-01-01T10:00:05Z", "hr", "2")}, ids);
  BOOST_TEST_REQUIRE(a.writes[0].id == b.writes[0].id);
  observation_store store(*fhir);
  std::vector<observation_write> both{a.writes[0], b.writes[0]};
  auto results = run(ioc, store.save_batch(both));
  BOOST_TEST_REQUIRE(results[0].has_value());
  BOOST_TEST_REQUIRE(results[1].has_value());
  BOOST_TEST((results[0]->operation == save_operation::created));
  BOOST_TEST((results[1]->operation == save_operation::updated));
  BOOST_TEST(data_of(a.writes[0].id).starts_with("1 2 E"));
}

BOOST_AUTO_TEST_SUITE_END()
