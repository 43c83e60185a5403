// The event trace (issue 13 item 5): the bounded store (count and byte bounds, eviction order,
// per-device query, concurrent use as the pipeline uses it), its JSON and HTTP answer, the text of
// `iomtflow trace`, the config keys, and the pipeline recording a real path with a writer that
// reports identities and Observations.
#include <boost/test/unit_test.hpp>

#include "pipeline/config.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/trace/event_trace.hpp"
#include "pipeline/trace/trace_json.hpp"
#include "pipeline/trace/trace_text.hpp"
#include "test_support.hpp"
#include "transport/http/sas.hpp"

#include <boost/json.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

using namespace iomt;
using namespace iomt::pipeline::trace;
using namespace std::chrono_literals;

namespace {

event_record record(std::string device, std::string body = "{}") {
  event_record r;
  r.source = "http";
  r.body = std::move(body);
  r.devices.push_back(device);
  r.measurement_count = 1;
  r.measurements.push_back({"HeartRate", std::move(device), std::nullopt, std::nullopt, 0, 1});
  return r;
}

std::uint64_t add_one(event_trace& t, event_record r) {
  std::vector<event_record> v;
  v.push_back(std::move(r));
  return t.add(v);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_trace_store)

BOOST_AUTO_TEST_CASE(off_records_nothing) {
  event_trace t({.enabled = false});
  BOOST_TEST(add_one(t, record("d1")) == 0u);
  BOOST_TEST(t.query("", 10).empty());
  BOOST_TEST(t.stats().recorded == 0u);
}

BOOST_AUTO_TEST_CASE(count_bound_evicts_the_oldest_first) {
  event_trace t({.enabled = true, .max_events = 3, .max_bytes = 1u << 20});
  for (int i = 0; i < 5; ++i) BOOST_TEST(add_one(t, record("d" + std::to_string(i))) == std::uint64_t(i + 1));
  const auto st = t.stats();
  BOOST_TEST(st.events == 3u);
  BOOST_TEST(st.evicted == 2u);
  BOOST_TEST(st.recorded == 5u);
  const auto all = t.query("", 10);
  BOOST_REQUIRE(all.size() == 3u);
  // Newest first; 1 and 2 are gone.
  BOOST_TEST(all[0].id == 5u);
  BOOST_TEST(all[1].id == 4u);
  BOOST_TEST(all[2].id == 3u);
  BOOST_TEST(!t.find(2));
  BOOST_TEST(t.find(3).has_value());
}

BOOST_AUTO_TEST_CASE(byte_bound_evicts_until_under_it) {
  const std::size_t body = 10'000;
  event_trace t({.enabled = true, .max_events = 1000, .max_bytes = 64 * 1024});
  for (int i = 0; i < 20; ++i) add_one(t, record("d", std::string(body, 'x')));
  const auto st = t.stats();
  BOOST_TEST(st.bytes <= 64u * 1024u);
  BOOST_TEST(st.events >= 5u);  // 6 records of ~10 KB fit in 64 KiB
  BOOST_TEST(st.events <= 6u);
  BOOST_TEST(st.evicted == 20u - st.events);
  // The survivors are the newest, in order.
  const auto all = t.query("", 100);
  for (std::size_t i = 0; i < all.size(); ++i) BOOST_TEST(all[i].id == 20u - i);
  std::size_t sum = 0;
  for (const auto& r : all) sum += r.bytes;
  BOOST_TEST(sum == st.bytes);
}

BOOST_AUTO_TEST_CASE(a_long_body_is_cut_to_a_quarter_and_flagged) {
  event_trace t({.enabled = true, .max_events = 10, .max_bytes = 64 * 1024});
  const std::uint64_t id = add_one(t, record("d", std::string(100'000, 'b')));
  auto r = t.find(id);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body.size() == 16u * 1024u);
  BOOST_TEST(r->body_truncated);
  BOOST_TEST(r->body_bytes == 100'000u);
  BOOST_TEST(t.stats().bytes <= 64u * 1024u);
}

BOOST_AUTO_TEST_CASE(updates_grow_a_record_and_may_evict_older_ones) {
  event_trace t({.enabled = true, .max_events = 10, .max_bytes = 64 * 1024});
  const std::uint64_t a = add_one(t, record("d1", std::string(20'000, 'a')));
  const std::uint64_t b = add_one(t, record("d2", std::string(20'000, 'b')));
  std::vector<group_update> ups(1);
  ups[0].id = b;
  ups[0].group.type = "HeartRate";
  ups[0].group.errors.push_back(
      {"fhirConversion", "FhirClientException", std::string(40'000, 'e'), mapping::failure_class::permanent});
  t.add_groups(ups);
  BOOST_TEST(!t.find(a));  // evicted to make room
  auto rb = t.find(b);
  BOOST_REQUIRE(rb.has_value());
  BOOST_TEST(rb->groups.size() == 1u);
  BOOST_TEST(t.stats().bytes == rb->bytes);
  // Updates for evicted or unknown ids are ignored.
  ups[0].id = a;
  t.add_groups(ups);
  completion_update c{999, std::nullopt};
  t.complete(std::span<const completion_update>(&c, 1));
  BOOST_TEST(t.stats().events == 1u);
}

BOOST_AUTO_TEST_CASE(groups_per_record_are_capped) {
  event_trace t({.enabled = true, .max_events = 10, .max_bytes = 1u << 20});
  const std::uint64_t id = add_one(t, record("d1"));
  std::vector<group_update> ups(event_record::max_groups + 5);
  for (auto& u : ups) u.id = id;
  t.add_groups(ups);
  auto r = t.find(id);
  BOOST_TEST(r->groups.size() == event_record::max_groups);
  BOOST_TEST(r->groups_omitted == 5u);
}

BOOST_AUTO_TEST_CASE(query_by_device_or_partition_key_newest_first_with_limit) {
  event_trace t({.enabled = true, .max_events = 100, .max_bytes = 1u << 20});
  for (int i = 0; i < 10; ++i) add_one(t, record(i % 2 ? "odd" : "even"));
  event_record keyed = record("x");
  keyed.devices.clear();  // normalization failed: no device, but the partition key names it
  keyed.partition_key = "odd";
  add_one(t, std::move(keyed));
  auto odd = t.query("odd", 100);
  BOOST_REQUIRE(odd.size() == 6u);
  BOOST_TEST(odd[0].id == 11u);
  BOOST_TEST(odd[1].id == 10u);
  BOOST_TEST(odd[5].id == 2u);
  BOOST_TEST(t.query("odd", 2).size() == 2u);
  BOOST_TEST(t.query("none", 10).empty());
  BOOST_TEST(t.query("", 0).empty());
}

BOOST_AUTO_TEST_CASE(completion_sets_the_status) {
  event_trace t({.enabled = true, .max_events = 10, .max_bytes = 1u << 20});
  std::vector<event_record> recs;
  recs.push_back(record("d1"));
  recs.push_back(record("d2"));
  recs.push_back(record("d3"));
  recs[2].measurement_count = 0;
  const std::uint64_t first = t.add(recs);
  BOOST_TEST((t.find(first)->status == event_status::pending));
  std::vector<completion_update> done{{first, std::nullopt},
                                      {first + 1, error_brief{"fhirConversion", "PatientDeviceMismatchException", "m",
                                                              mapping::failure_class::permanent}},
                                      {first + 2, std::nullopt}};
  t.complete(done);
  BOOST_TEST((t.find(first)->status == event_status::written));
  BOOST_TEST((t.find(first + 1)->status == event_status::failed));
  BOOST_TEST(t.find(first + 1)->outcome->type == "PatientDeviceMismatchException");
  BOOST_TEST((t.find(first + 2)->status == event_status::no_measurements));
}

// As the pipeline uses it: submitting threads add batches, shard threads attach groups and
// complete, a reader queries; the bounds and the accounting hold throughout.
BOOST_AUTO_TEST_CASE(concurrent_use_keeps_the_bounds) {
  event_trace t({.enabled = true, .max_events = 200, .max_bytes = 256 * 1024});
  std::atomic<bool> stop{false}, reading{false};
  std::atomic<std::uint64_t> added{0};
  // Boost.Test assertions are not thread-safe: the reader counts violations, checked below. It
  // starts first and queries at least once, so the writers run against a reader.
  std::size_t queries = 0, violations = 0;
  std::thread reader([&] {
    do {
      for (const auto& r : t.query("dev1", 50))
        if (r.devices.front() != "dev1") ++violations;
      const auto st = t.stats();
      if (st.events > 200u || st.bytes > 256u * 1024u) ++violations;
      ++queries;
      reading = true;
    } while (!stop);
  });
  while (!reading) std::this_thread::yield();
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 500; ++i) {
        std::vector<event_record> batch;
        for (int k = 0; k < 4; ++k) batch.push_back(record("dev" + std::to_string(w), std::string(100 + i, 'x')));
        const std::uint64_t first = t.add(batch);
        added += batch.size();
        std::vector<group_update> g(2);
        g[0].id = first;
        g[1].id = first + 3;
        g[0].group.observations.push_back({"obs-" + std::to_string(i), "created"});
        t.add_groups(g);
        std::vector<completion_update> c{{first, std::nullopt}, {first + 1, std::nullopt}};
        t.complete(c);
      }
    });
  for (auto& w : writers) w.join();
  stop = true;
  reader.join();
  const auto st = t.stats();
  BOOST_TEST(st.recorded == added.load());
  BOOST_TEST(st.recorded == st.events + st.evicted);
  std::size_t sum = 0;
  const auto all = t.query("", 1000);
  for (const auto& r : all) sum += r.bytes;
  BOOST_TEST(sum == st.bytes);
  for (std::size_t i = 1; i < all.size(); ++i) BOOST_TEST(all[i - 1].id == all[i].id + 1);  // contiguous
  BOOST_TEST(queries > 0u);
  BOOST_TEST(violations == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(event_trace_http)

namespace {

transport::http::request get(std::string target, std::string authorization = {}) {
  transport::http::request req{boost::beast::http::verb::get, target, 11};
  if (!authorization.empty()) req.set(boost::beast::http::field::authorization, authorization);
  return req;
}

boost::json::object body_of(const transport::http::response& res) { return boost::json::parse(res.body()).as_object(); }

}  // namespace

BOOST_AUTO_TEST_CASE(json_of_a_record) {
  event_record r = record("d1", "{\"hr\": 72}");
  r.system_properties = R"({"x-opt-sequence-number":5,"x-opt-offset":"640"})";
  r.partition_key = "d1";
  group_brief g;
  g.type = "HeartRate";
  g.device_id = "d1";
  g.measurements = 1;
  g.patient = "p-1";
  g.device = "dev-1";
  g.observations.push_back({"obs-1", "created"});
  r.groups.push_back(g);
  r.status = event_status::written;
  const auto o = to_json(r);
  BOOST_TEST(o.at("body").as_string() == "{\"hr\": 72}");
  BOOST_TEST(o.at("systemProperties").at("x-opt-sequence-number").as_int64() == 5);
  BOOST_TEST(o.at("status").as_string() == "written");
  BOOST_TEST(o.at("groups").at(0).at("patient").as_string() == "Patient/p-1");
  BOOST_TEST(o.at("groups").at(0).at("observations").at(0).at("operation").as_string() == "created");
  // Not UTF-8: base64, so the answer stays JSON.
  event_record bin = record("d1", std::string("\xff\xfe", 2));
  const auto b = to_json(bin);
  BOOST_TEST(!b.contains("body"));
  BOOST_TEST(b.at("bodyBase64").as_string() == "//4=");
  BOOST_TEST(!o.contains("request"));  // not from HTTP ingest
  BOOST_TEST(!o.contains("partition"));
}

BOOST_AUTO_TEST_CASE(json_and_text_of_the_http_request_that_brought_an_event) {
  event_record single = record("d1");
  single.id = 1;
  single.partition = 2;
  single.request_id = std::make_shared<const std::string>("0f8fad5b-d9cb-469f-a165-70867728950e");
  event_record item = record("d2");
  item.id = 2;
  item.partition = 0;
  item.request_id = std::make_shared<const std::string>("gateway-7/req 0042");
  item.batch_index = 3;
  const auto a = to_json(single);
  BOOST_TEST(a.at("partition").as_int64() == 2);
  BOOST_TEST(a.at("request").at("id").as_string() == "0f8fad5b-d9cb-469f-a165-70867728950e");
  BOOST_TEST(!a.at("request").as_object().contains("index"));  // a single send
  const auto b = to_json(item);
  BOOST_TEST(b.at("request").at("id").as_string() == "gateway-7/req 0042");
  BOOST_TEST(b.at("request").at("index").as_int64() == 3);
  const std::string text = describe_events(boost::json::object{{"events", boost::json::array{b, a}}});
  BOOST_TEST(text.find("from http partition 0") != std::string::npos, text);
  BOOST_TEST(text.find("  request: gateway-7/req 0042, batch item 3\n") != std::string::npos, text);
  BOOST_TEST(text.find("  request: 0f8fad5b-d9cb-469f-a165-70867728950e\n") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(query_parameters) {
  auto q = parse_events_query("device=dev%2001&limit=5&other=x");
  BOOST_REQUIRE(q);
  BOOST_TEST(q->device == "dev 01");
  BOOST_TEST(q->limit == 5u);
  BOOST_TEST(!parse_events_query("limit=0"));
  BOOST_TEST(!parse_events_query("limit=1001"));
  BOOST_TEST(!parse_events_query("limit=ten"));
  BOOST_TEST(!parse_events_query("device=%zz"));
  BOOST_TEST(parse_events_query("")->limit == 20u);
  BOOST_TEST(parse_events_query("request=gateway-7%2Freq%200042")->request == "gateway-7/req 0042");
  BOOST_TEST(parse_events_query("")->request.empty());
}

BOOST_AUTO_TEST_CASE(query_by_http_request_id) {
  event_trace t({.enabled = true, .max_events = 10, .max_bytes = 1u << 20});
  const auto batch = std::make_shared<const std::string>("req-a");
  for (int i = 0; i < 3; ++i) {
    event_record r = record(i == 2 ? "d2" : "d1");
    r.request_id = batch;
    r.batch_index = i;
    add_one(t, std::move(r));
  }
  event_record other = record("d1");
  other.request_id = std::make_shared<const std::string>("req-b");
  add_one(t, std::move(other));
  add_one(t, record("d1"));  // not from HTTP ingest
  auto of_a = t.query("", 10, "req-a");
  BOOST_REQUIRE(of_a.size() == 3u);
  BOOST_TEST(of_a[0].batch_index == 2);                 // newest first
  BOOST_TEST(t.query("d1", 10, "req-a").size() == 2u);  // both filters
  BOOST_TEST(t.query("", 10, "req-b").size() == 1u);
  BOOST_TEST(t.query("", 10, "req-c").empty());
  BOOST_TEST(t.query("", 10).size() == 5u);
  const auto res = debug_events_response(get("/debug/events?request=req-a&limit=2"), &t, nullptr, 0);
  BOOST_TEST(res.result_int() == 200u);
  const auto body = body_of(res);
  BOOST_TEST(body.at("request").as_string() == "req-a");
  BOOST_TEST(body.at("events").as_array().size() == 2u);
  BOOST_TEST(describe_events(boost::json::object{{"request", "req-z"}, {"events", boost::json::array{}}})
                 .find("no traced event of request 'req-z'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(off_is_404_and_auth_is_the_ingest_sas) {
  event_trace off({.enabled = false});
  BOOST_TEST(debug_events_response(get("/debug/events"), &off, nullptr, 0).result_int() == 404u);
  BOOST_TEST(debug_events_response(get("/debug/events"), nullptr, nullptr, 0).result_int() == 404u);

  event_trace t({.enabled = true, .max_events = 10, .max_bytes = 1u << 20});
  add_one(t, record("d1"));
  add_one(t, record("d2"));
  transport::http::sas_options so;
  so.keys.push_back({"send", "c2VjcmV0"});
  transport::http::sas_verifier sas(so);
  const std::int64_t now = 1'700'000'000;
  // No token, a hub-level token, an expired one, a wrong key: 401.
  BOOST_TEST(debug_events_response(get("/debug/events"), &t, &sas, now).result_int() == 401u);
  const auto hub = transport::http::make_sas_token("http://127.0.0.1:8080/devicedata", "send", "c2VjcmV0", now + 60);
  BOOST_TEST(debug_events_response(get("/debug/events", hub), &t, &sas, now).result_int() == 401u);
  const auto old = transport::http::make_sas_token("http://127.0.0.1:8080", "send", "c2VjcmV0", now - 1);
  BOOST_TEST(debug_events_response(get("/debug/events", old), &t, &sas, now).result_int() == 401u);
  const auto wrong = transport::http::make_sas_token("http://127.0.0.1:8080", "send", "b3RoZXI=", now + 60);
  const auto refused = debug_events_response(get("/debug/events", wrong), &t, &sas, now);
  BOOST_TEST(refused.result_int() == 401u);
  BOOST_TEST(refused.body().find("b3RoZXI") == std::string::npos);  // never echoes secrets
  // A namespace-level token: 200, newest first, filtered.
  const auto ns = transport::http::make_sas_token("http://127.0.0.1:8080", "send", "c2VjcmV0", now + 60);
  const auto res = debug_events_response(get("/debug/events?device=d1&limit=5", ns), &t, &sas, now);
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(res[boost::beast::http::field::cache_control] == "no-store");
  const auto body = body_of(res);
  BOOST_TEST(body.at("events").as_array().size() == 1u);
  BOOST_TEST(body.at("events").at(0).at("devices").at(0).as_string() == "d1");
  BOOST_TEST(body.at("stats").at("events").to_number<std::uint64_t>() == 2u);
  // Without auth configured (source.http.auth: none) and a bad query.
  BOOST_TEST(debug_events_response(get("/debug/events"), &t, nullptr, now).result_int() == 200u);
  BOOST_TEST(debug_events_response(get("/debug/events?limit=x"), &t, nullptr, now).result_int() == 400u);
}

BOOST_AUTO_TEST_CASE(text_for_people) {
  event_record ok = record("d1", "{\"hr\":72}");
  ok.id = 2;
  group_brief g;
  g.type = "HeartRate";
  g.device_id = "d1";
  g.measurements = 1;
  g.patient = "p-1";
  g.device = "dev-1";
  g.observations.push_back({"obs-1", "updated"});
  ok.groups.push_back(g);
  ok.status = event_status::written;
  event_record bad = record("d1", "{\"hr\":\"x\"}");
  bad.id = 3;
  bad.status = event_status::failed;
  bad.outcome = error_brief{"fhirConversion", "TemplateNotFoundException", "no template for HeartRat",
                            mapping::failure_class::permanent};
  boost::json::object answer{{"events", boost::json::array{to_json(bad), to_json(ok)}}};
  text_options to;
  to.config_path = "svc.yaml";
  const std::string text = describe_events(answer, to);
  BOOST_TEST(text.find("event 3") < text.find("event 2"));
  BOOST_TEST(text.find("Observation/obs-1  updated") != std::string::npos);
  BOOST_TEST(text.find("identity: Patient/p-1  Device/dev-1") != std::string::npos);
  BOOST_TEST(text.find("permanent: TemplateNotFoundException: no template for HeartRat") != std::string::npos);
  BOOST_TEST(text.find("iomtflow deadletter replay --type TemplateNotFoundException --config svc.yaml") !=
             std::string::npos);
  BOOST_TEST(describe_events(boost::json::object{{"device", "zz"}, {"events", boost::json::array{}}})
                 .find("no traced event of device 'zz'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(trace_config_keys) {
  const char* base = "mapping: {device: d, fhir: f}\nfhir: {url: http://x}\nsource: {http: {auth: none}}\n";
  auto c = pipeline::parse_config(base, ".");
  BOOST_REQUIRE(c);
  BOOST_TEST(!c->debug.trace.enabled);
  BOOST_TEST(c->debug.trace.max_events == 1000u);
  c = pipeline::parse_config(std::string(base) + "debug: {trace: {enabled: true, max_events: 50, max_bytes: 1MiB}}\n",
                             ".");
  BOOST_REQUIRE(c);
  BOOST_TEST(c->debug.trace.enabled);
  BOOST_TEST(c->debug.trace.max_events == 50u);
  BOOST_TEST(c->debug.trace.max_bytes == 1u << 20);
  auto bad = pipeline::parse_config(std::string(base) + "debug: {trace: {enabled: true, max_event: 5}}\n", ".");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().field == "debug.trace.max_event");
  bad = pipeline::parse_config(std::string(base) + "debug: {trace: {max_events: 0}}\n", ".");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().field == "debug.trace.max_events");
  bad = pipeline::parse_config(std::string(base) + "debug: {trace: {max_bytes: 1KiB}}\n", ".");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().field == "debug.trace.max_bytes");
}

// The pipeline records the path: normalization, groups, identities and Observations (from a
// writer that reports them as the FHIR writer does), the failure of an event without a FHIR
// template, and the final status.
namespace {

class detail_writer final : public pipeline::group_writer {
public:
  boost::asio::awaitable<pipeline::group_result> write(const mapping::fhir::measurement_group& g) override {
    pipeline::group_result r;
    if (g.measure_type == "BloodPulseWave") {
      r.errors.push_back({"TemplateNotFoundException", "no FHIR template for BloodPulseWave"});
      co_return r;
    }
    r.created = 1;
    if (details_) {
      r.ids = mapping::fhir::resource_ids{"patient-" + g.device_id, "device-" + g.device_id, std::nullopt};
      r.observations.push_back({"obs-" + g.measure_type, "created"});
    }
    co_return r;
  }
};

struct outcomes {
  std::mutex m;
  std::condition_variable cv;
  int done = 0;
  transport::completion fn() {
    return [this](const transport::outcome&) {
      std::lock_guard l(m);
      ++done;
      cv.notify_all();
    };
  }
  bool wait(int n) {
    std::unique_lock l(m);
    return cv.wait_for(l, 30s, [&] { return done >= n; });
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(pipeline_records_each_events_path) {
  auto device =
      mapping::device::device_mapping::load(test::read_file(test::workshop_dir() / "Answers/devicecontent.json"))
          .mapping;
  auto fhir =
      mapping::fhir::fhir_mapping::load(test::read_file(test::workshop_dir() / "Answers/fhirmapping.json")).mapping;
  pipeline::metrics m(1);
  pipeline::pipeline_config cfg;
  cfg.shards = 1;
  cfg.flush_interval = 20ms;
  pipeline::pipeline p(cfg, device, fhir, m,
                       [](boost::asio::io_context&) { return std::make_unique<detail_writer>(); });
  event_trace t({.enabled = true, .max_events = 100, .max_bytes = 1u << 20});
  p.set_trace(&t);
  p.start();
  std::vector<transport::event> evs;
  // As HTTP ingest hands over one batch send: one request id for all, each its index.
  const auto request_id = std::make_shared<const std::string>("req-1");
  for (auto& [label, text] : test::workshop_messages()) {
    transport::event e;
    e.body = text;
    e.partition_key = label;
    e.enqueued_time = {json::unix_epoch_ticks, json::date_kind::utc};
    e.partition = 1;
    e.request_id = request_id;
    e.batch_index = static_cast<std::int32_t>(evs.size());
    evs.push_back(std::move(e));
  }
  transport::event not_json;
  not_json.body = "not json {";
  evs.push_back(std::move(not_json));
  outcomes o;
  BOOST_TEST((p.submit(std::move(evs), o.fn(), "http") == transport::submit_status::accepted));
  BOOST_REQUIRE(o.wait(1));
  p.stop();

  const auto all = t.query("", 10);
  BOOST_REQUIRE(all.size() == 4u);
  // Newest first: the not-JSON event failed at normalization, permanently.
  BOOST_TEST(all[0].source == "http");
  BOOST_TEST((all[0].status == event_status::failed));
  BOOST_REQUIRE(all[0].errors.size() == 1u);
  BOOST_TEST(all[0].errors[0].type == "InvalidDataFormatException");
  BOOST_TEST(all[0].outcome->stage == "normalization");
  BOOST_TEST(all[0].body == "not json {");
  std::size_t written = 0, failed = 0;
  for (std::size_t i = 1; i < all.size(); ++i) {
    const auto& r = all[i];
    BOOST_TEST(!r.body.empty());
    BOOST_TEST(r.measurement_count > 0u);
    BOOST_TEST(!r.groups.empty());
    for (const auto& g : r.groups) {
      if (g.errors.empty()) {
        BOOST_TEST(g.patient == "patient-" + g.device_id);
        BOOST_REQUIRE(g.observations.size() == 1u);
        BOOST_TEST(g.observations[0].id == "obs-" + g.type);
      } else {
        BOOST_TEST(g.errors[0].type == "TemplateNotFoundException");
      }
    }
    if (r.status == event_status::written) ++written;
    if (r.status == event_status::failed) {
      ++failed;
      BOOST_TEST(r.outcome->type == "TemplateNotFoundException");
    }
  }
  // VITALS carries BloodPulseWave (no FHIR template): that event fails, the other two are written.
  BOOST_TEST(written == 2u);
  BOOST_TEST(failed == 1u);
  // By device: the devices the workshop's messages name.
  for (const auto& d : all[1].devices) BOOST_TEST(!t.query(d, 10).empty());
  // Received: the request they came with (the same string, not a copy per event) and the index.
  for (std::size_t i = 1; i < all.size(); ++i) {
    BOOST_TEST(all[i].request_id.get() == request_id.get());
    BOOST_TEST(all[i].batch_index == static_cast<std::int32_t>(all.size() - 1 - i));
    BOOST_TEST(all[i].partition == 1);
  }
  BOOST_TEST(!all[0].request_id);
}
