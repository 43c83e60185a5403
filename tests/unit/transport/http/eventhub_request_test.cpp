// Event Hubs REST send -> events (transport/http/eventhub_request.hpp, event_properties.hpp,
// eventhub_route.hpp). Sans-io: requests are built in memory.
#include <boost/test/unit_test.hpp>

#include "transport/http/event_properties.hpp"
#include "transport/http/eventhub_request.hpp"

#include <initializer_list>
#include <utility>

using namespace iomt::transport;
using namespace iomt::transport::http;
using namespace std::chrono;

namespace {

constexpr std::int64_t now_unix = 1714566896;  // 2024-05-01T12:34:56Z
const system_clock::time_point now = system_clock::time_point{seconds{now_unix}} + milliseconds{789};

request make_request(bhttp::verb method, std::string_view target, std::string body = {},
                     std::initializer_list<std::pair<std::string_view, std::string_view>> headers = {}) {
  request req{method, target, 11};
  for (auto [name, value] : headers) req.insert(name, value);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

struct outcome_t {
  boost::system::result<ingest_plan, http_error> plan;
  boost::system::result<std::vector<event>, http_error> events = http_error{};
};

// check_header then to_events, like the server does.
outcome_t ingest(eventhub_ingest& in, request req, std::int64_t at = now_unix) {
  outcome_t out{in.check_header(req, at)};
  if (out.plan) out.events = in.to_events(*out.plan, std::move(req), now);
  return out;
}

unsigned status_of(const outcome_t& o) {
  if (!o.plan) {
    BOOST_TEST_MESSAGE("head: " << o.plan.error().message);
    return static_cast<unsigned>(o.plan.error().status);
  }
  if (!o.events) {
    BOOST_TEST_MESSAGE("body: " << o.events.error().message);
    return static_cast<unsigned>(o.events.error().status);
  }
  return 201;
}

const std::vector<event>& events_of(const outcome_t& o) {
  BOOST_REQUIRE_EQUAL(status_of(o), 201u);
  return *o.events;
}

constexpr std::string_view batch_type = "application/vnd.microsoft.servicebus.json";

template <class F>
ingest_options options(F&& set) {
  ingest_options o;
  set(o);
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routes)

BOOST_AUTO_TEST_CASE(send_routes) {
  auto r = parse_eventhub_route("/devicedata/messages");
  BOOST_REQUIRE(r);
  BOOST_TEST(r->hub == "devicedata");
  BOOST_TEST((r->kind == route_kind::hub));
  BOOST_TEST(r->entity_path() == "devicedata");

  r = parse_eventhub_route("/DeviceData/Messages?timeout=60&api-version=2014-01");
  BOOST_REQUIRE(r);
  BOOST_TEST(r->hub == "DeviceData");

  r = parse_eventhub_route("/devicedata/partitions/3/messages/");
  BOOST_REQUIRE(r);
  BOOST_TEST((r->kind == route_kind::partition));
  BOOST_TEST(r->id == "3");
  BOOST_TEST(r->entity_path() == "devicedata/partitions/3");

  r = parse_eventhub_route("/devicedata/PUBLISHERS/dev%2001/messages");
  BOOST_REQUIRE(r);
  BOOST_TEST((r->kind == route_kind::publisher));
  BOOST_TEST(r->id == "dev 01");
}

BOOST_AUTO_TEST_CASE(not_send_routes) {
  for (std::string_view t : {"/", "/devicedata", "/devicedata/", "/devicedata/messages/x", "/a/b/messages",
                             "/devicedata/partitions/messages", "//messages", "/a/partitions//messages",
                             "/a/b/c/d/messages", "/a/partitions/1/messages//"}) {
    auto r = parse_eventhub_route(t);
    BOOST_TEST_REQUIRE(!r, t);
    BOOST_TEST((r.error().status == bhttp::status::not_found), t);
  }
  auto bad = parse_eventhub_route("/a%zz/messages");
  BOOST_REQUIRE(!bad);
  BOOST_TEST((bad.error().status == bhttp::status::bad_request));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(head_checks)

BOOST_AUTO_TEST_CASE(method_auth_hub_size_type) {
  const std::string key = "k3y";
  eventhub_ingest in({.hubs = {"devicedata"}, .max_body_bytes = 100}, sas_verifier{sas_options{{{"send", key}}, {}}});
  const std::string token = make_sas_token("https://ns.servicebus.windows.net/devicedata", "send", key, now_unix + 60);
  const std::string_view auth = token;

  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::get, "/devicedata/messages"))) == 405u);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", "{}"))) == 401u);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", "{}",
                                               {{"Authorization", "SharedAccessSignature sr=x&sig=y"}}))) == 401u);
  // A token for another hub.
  const std::string other = make_sas_token("https://ns.servicebus.windows.net/other", "send", key, now_unix + 60);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", "{}",
                                               {{"Authorization", other}}))) == 401u);
  // Expired.
  BOOST_TEST(
      status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", "{}", {{"Authorization", auth}}),
                       now_unix + 60)) == 401u);
  // OK.
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", "{}",
                                               {{"Authorization", auth}}))) == 201u);
  // Unknown hub (authorized by a namespace-level token).
  const std::string ns = make_sas_token("https://ns.servicebus.windows.net/", "send", key, now_unix + 60);
  auto unknown = ingest(in, make_request(bhttp::verb::post, "/otherhub/messages", "{}", {{"Authorization", ns}}));
  BOOST_TEST(status_of(unknown) == 404u);
  BOOST_TEST(unknown.plan.error().message.find("'devicedata'") != std::string::npos);
  // Declared body over the limit: 413 from the head alone.
  auto big = make_request(bhttp::verb::post, "/devicedata/messages", std::string(101, 'x'), {{"Authorization", auth}});
  BOOST_TEST(status_of(ingest(in, big)) == 413u);
  // Batch in another charset; compressed bodies.
  BOOST_TEST(status_of(ingest(
                 in, make_request(bhttp::verb::post, "/devicedata/messages", "[]",
                                  {{"Authorization", auth},
                                   {"Content-Type", "application/vnd.microsoft.servicebus.json; charset=utf-16"}}))) ==
             415u);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", "x",
                                               {{"Authorization", auth}, {"Content-Encoding", "gzip"}}))) == 415u);
  // Partition id out of range.
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/partitions/4/messages", "{}",
                                               {{"Authorization", auth}}))) == 400u);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/partitions/x/messages", "{}",
                                               {{"Authorization", auth}}))) == 400u);
}

BOOST_AUTO_TEST_CASE(connection_cache_skips_the_hmac_but_not_the_expiry) {
  eventhub_ingest in({}, sas_verifier{sas_options{{{"send", "k"}}, {}}});
  const std::string token = make_sas_token("sb://ns/devicedata", "send", "k", now_unix + 10);
  auth_cache cache;
  auto req = make_request(bhttp::verb::post, "/devicedata/messages", "x", {{"Authorization", token}});
  BOOST_TEST(bool(in.check_header(req, now_unix, &cache)));
  BOOST_TEST(cache.authorization == token);
  BOOST_TEST(bool(in.check_header(req, now_unix, &cache)));
  BOOST_TEST(!in.check_header(req, now_unix + 10, &cache));
  auto other_hub = make_request(bhttp::verb::post, "/otherhub/messages", "x", {{"Authorization", token}});
  BOOST_TEST(!in.check_header(other_hub, now_unix, &cache));
}

BOOST_AUTO_TEST_CASE(any_hub_name_is_accepted_up_to_a_limit) {
  eventhub_ingest in(options([](auto& o) { o.max_hubs = 2; }), std::nullopt);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/a/messages", "x"))) == 201u);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/B/messages", "x"))) == 201u);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/b/messages", "x"))) == 201u);  // same hub
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/c/messages", "x"))) == 404u);
}

BOOST_AUTO_TEST_CASE(media_types) {
  auto m = parse_media_type(" Application/VND.microsoft.servicebus.JSON ; Charset=\"UTF-8\" ");
  BOOST_TEST(m.type == "application/vnd.microsoft.servicebus.json");
  BOOST_TEST(m.charset == "utf-8");
  m = parse_media_type("application/atom+xml;type=entry;charset=utf-8");
  BOOST_TEST(m.type == "application/atom+xml");
  BOOST_TEST(m.charset == "utf-8");
  BOOST_TEST(parse_media_type("").type == "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(single_send)

BOOST_AUTO_TEST_CASE(body_headers_and_system_properties) {
  eventhub_ingest in({}, std::nullopt);
  const std::string body = "{ // workshop messages have comments\n \"HeartRate\": \"78\", }";
  auto o = ingest(in, make_request(bhttp::verb::post, "/devicedata/messages?timeout=60&api-version=2014-01", body,
                                   {{"Host", "ns.servicebus.windows.net"},
                                    {"Content-Type", "application/atom+xml;type=entry;charset=utf-8"},
                                    {"User-Agent", "PostmanRuntime/7.36.0"},
                                    {"Postman-Token", "abc"},
                                    {"deviceId", "dev-01"},
                                    {"X-Custom", "a \"quoted\" value"},
                                    {"deviceid", "dev-02"},
                                    {"BrokerProperties",
                                     R"({"PartitionKey":"dev-01","Label":"vitals","MessageId":42,"TimeToLive":90})"}}));
  const auto& events = events_of(o);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  const event& e = events[0];
  BOOST_TEST(e.body == body);
  BOOST_TEST(e.properties == R"({"deviceId":"dev-02","X-Custom":"a \"quoted\" value"})");
  BOOST_TEST(e.system_properties ==
             R"({"message-id":"42","subject":"vitals","content-type":"application/atom+xml;type=entry;charset=utf-8",)"
             R"("x-opt-sequence-number":0,"x-opt-offset":"0","x-opt-enqueued-time":"2024-05-01T12:34:56.789Z",)"
             R"("x-opt-partition-key":"dev-01"})");
  BOOST_TEST(e.partition_key == "dev-01");
  BOOST_TEST(e.enqueued_time.ticks == iomt::json::unix_epoch_ticks + (now_unix * 1000 + 789) * 10'000);
  BOOST_TEST((e.enqueued_time.zone == iomt::json::date_kind::utc));
}

BOOST_AUTO_TEST_CASE(no_headers_no_properties) {
  eventhub_ingest in({}, std::nullopt);
  auto o = ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", ""));
  const auto& e = events_of(o).at(0);
  BOOST_TEST(e.body.empty());
  BOOST_TEST(e.properties == "{}");
  BOOST_TEST(e.system_properties ==
             R"({"x-opt-sequence-number":0,"x-opt-offset":"0","x-opt-enqueued-time":"2024-05-01T12:34:56.789Z"})");
  BOOST_TEST(e.partition_key.empty());
}

BOOST_AUTO_TEST_CASE(sequence_numbers_and_offsets_per_partition) {
  eventhub_ingest in(options([](auto& o) { o.partition_count = 2; }), std::nullopt);
  auto send = [&](std::string_view target, std::string body) {
    auto o = ingest(in, make_request(bhttp::verb::post, target, std::move(body)));
    return events_of(o).at(0).system_properties;
  };
  BOOST_TEST(send("/h/partitions/1/messages", "abc").find(R"("x-opt-sequence-number":0,"x-opt-offset":"0")") !=
             std::string::npos);
  BOOST_TEST(send("/h/partitions/1/messages", "defg").find(R"("x-opt-sequence-number":1,"x-opt-offset":"3")") !=
             std::string::npos);
  BOOST_TEST(send("/h/partitions/1/messages", "x").find(R"("x-opt-sequence-number":2,"x-opt-offset":"7")") !=
             std::string::npos);
  BOOST_TEST(send("/h/partitions/0/messages", "x").find(R"("x-opt-sequence-number":0,"x-opt-offset":"0")") !=
             std::string::npos);
  // Another hub has its own counters.
  BOOST_TEST(send("/other/partitions/1/messages", "x").find(R"("x-opt-sequence-number":0,)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(round_robin_without_a_key) {
  eventhub_ingest in(options([](auto& o) { o.partition_count = 2; }), std::nullopt);
  // Two sends without key land on partitions 0 and 1: both get sequence number 0.
  for (int i = 0; i < 2; ++i) {
    auto o = ingest(in, make_request(bhttp::verb::post, "/h/messages", "x"));
    BOOST_TEST(events_of(o).at(0).system_properties.find(R"("x-opt-sequence-number":0,)") != std::string::npos);
  }
  auto o = ingest(in, make_request(bhttp::verb::post, "/h/messages", "x"));
  BOOST_TEST(events_of(o).at(0).system_properties.find(R"("x-opt-sequence-number":1,)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(partition_key_hash_is_stable) {
  BOOST_TEST(partition_for_key("", 4) == 2166136261u % 4);
  BOOST_TEST(partition_for_key("a", 4) == 0xE40C292Cu % 4);  // FNV-1a 32 of "a"
  BOOST_TEST(partition_for_key("dev-01", 1) == 0u);
}

BOOST_AUTO_TEST_CASE(publisher_route) {
  eventhub_ingest in({}, std::nullopt);
  auto o = ingest(in, make_request(bhttp::verb::post, "/devicedata/publishers/dev-07/messages", "x"));
  const auto& e = events_of(o).at(0);
  BOOST_TEST(e.partition_key == "dev-07");
  BOOST_TEST(e.system_properties.find(R"("x-opt-publisher":"dev-07")") != std::string::npos);
  BOOST_TEST(e.system_properties.find("x-opt-partition-key") == std::string::npos);
}

// Issue 15: a publisher id is compared exactly once decoded; one with a '/' names no publisher.
BOOST_AUTO_TEST_CASE(publisher_ids_with_a_slash_are_refused) {
  eventhub_ingest in({}, std::nullopt);
  auto o = ingest(in, make_request(bhttp::verb::post, "/devicedata/publishers/x%2F..%2Fadmin/messages", "x"));
  BOOST_TEST(status_of(o) == 400u);
  BOOST_TEST(o.plan.error().message.find("'x/../admin'") != std::string::npos, o.plan.error().message);
  BOOST_TEST(status_of(ingest(in, make_request(bhttp::verb::post, "/devicedata/publishers/a%5Cb/messages", "x"))) ==
             400u);
  // With SAS: a token for publisher x covers x only, in its exact case.
  eventhub_ingest sas({}, sas_verifier{sas_options{{{"send", "k"}}, {}}});
  const std::string token = make_sas_token("https://ns/devicedata/publishers/x", "send", "k", now_unix + 60);
  auto to = [&](std::string_view target) {
    return status_of(ingest(sas, make_request(bhttp::verb::post, target, "x", {{"Authorization", token}})));
  };
  BOOST_TEST(to("/devicedata/publishers/x/messages") == 201u);
  BOOST_TEST(to("/devicedata/publishers/X/messages") == 401u);
  BOOST_TEST(to("/DeviceData/Publishers/x/messages") == 201u);
}

BOOST_AUTO_TEST_CASE(broker_properties_errors) {
  eventhub_ingest in({}, std::nullopt);
  auto send = [&](std::string_view target, std::string_view bp) {
    return status_of(ingest(in, make_request(bhttp::verb::post, target, "x", {{"BrokerProperties", bp}})));
  };
  BOOST_TEST(send("/h/messages", "{not json") == 400u);
  BOOST_TEST(send("/h/messages", "[1]") == 400u);
  BOOST_TEST(send("/h/messages", R"({"PartitionKey":{"a":1}})") == 400u);
  BOOST_TEST(send("/h/messages", R"({"PartitionKey":"a","SessionId":"b"})") == 400u);
  BOOST_TEST(send("/h/messages", R"({"PartitionKey":"a","SessionId":"a"})") == 201u);
  BOOST_TEST(send("/h/partitions/0/messages", R"({"PartitionKey":"a"})") == 400u);
  BOOST_TEST(send("/h/partitions/0/messages", R"({"Label":"a"})") == 201u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(batch_send)

BOOST_AUTO_TEST_CASE(items_become_events) {
  eventhub_ingest in(options([](auto& o) { o.partition_count = 1; }), std::nullopt);
  const std::string body =
      "\xEF\xBB\xBF[ {\"Body\":\"{\\\"HeartRate\\\":78}\", \"UserProperties\" : { \"deviceId\" : \"dev-01\", \"n\" : "
      "1.50,"
      " \"big\": 123456789012345678901234567890, \"ok\": true, \"nested\": {\"a\": [1, 2]} },"
      " \"BrokerProperties\":{\"PartitionKey\":\"dev-01\",\"CorrelationId\":\"c1\"}},"
      " {\"body\": {\"HeartRate\": 80,  \"t\": \"2024-01-01T00:00:00Z\"}},"
      " {\"Body\":\"aGVsbG8=\",\"IsBodyBase64\":true,\"UserProperties\":null},"
      " {\"Body\":\"\\u00e9\\n\"} ]";
  auto o = ingest(in, make_request(bhttp::verb::post, "/devicedata/messages", body,
                                   {{"Content-Type", "application/vnd.microsoft.servicebus.json; charset=utf-8"},
                                    {"deviceId", "header-ignored-for-batches"}}));
  const auto& events = events_of(o);
  BOOST_REQUIRE_EQUAL(events.size(), 4u);
  BOOST_TEST(events[0].body == R"({"HeartRate":78})");
  BOOST_TEST(events[0].properties ==
             R"({"deviceId":"dev-01","n":1.50,"big":123456789012345678901234567890,"ok":true,"nested":{"a":[1,2]}})");
  BOOST_TEST(events[0].partition_key == "dev-01");
  BOOST_TEST(events[0].system_properties ==
             R"({"correlation-id":"c1","x-opt-sequence-number":0,"x-opt-offset":"0",)"
             R"("x-opt-enqueued-time":"2024-05-01T12:34:56.789Z","x-opt-partition-key":"dev-01"})");
  BOOST_TEST(events[1].body == R"({"HeartRate": 80,  "t": "2024-01-01T00:00:00Z"})");  // JSON text as sent
  BOOST_TEST(events[1].properties == "{}");
  BOOST_TEST(events[1].system_properties.find(R"("x-opt-sequence-number":1,"x-opt-offset":"16")") != std::string::npos);
  BOOST_TEST(events[2].body == "hello");
  BOOST_TEST(events[2].properties == "{}");
  BOOST_TEST(events[3].body == "\xC3\xA9\n");
  for (const auto& e : events) BOOST_TEST(e.enqueued_time.ticks == events[0].enqueued_time.ticks);
}

BOOST_AUTO_TEST_CASE(malformed_batches_are_400_with_a_reason) {
  eventhub_ingest in({}, std::nullopt);
  auto send = [&](std::string body) {
    auto o =
        ingest(in, make_request(bhttp::verb::post, "/h/messages", std::move(body), {{"Content-Type", batch_type}}));
    return std::make_pair(status_of(o), o.events ? std::string() : o.events.error().message);
  };
  auto [s1, m1] = send("[{\"Body\":\"a\"},]");
  BOOST_TEST(s1 == 400u);
  BOOST_TEST(m1.find("not valid JSON") != std::string::npos);
  BOOST_TEST(m1.find("at byte 14") != std::string::npos);
  BOOST_TEST(send("{\"Body\":\"a\"}").first == 400u);
  BOOST_TEST(send("[]").first == 400u);
  auto [s2, m2] = send("[{\"Body\":\"a\"}, 5]");
  BOOST_TEST(s2 == 400u);
  BOOST_TEST(m2.find("batch item [1]") != std::string::npos);
  BOOST_TEST(send("[{\"UserProperties\":{}}]").first == 400u);
  BOOST_TEST(send("[{\"Body\":\"a\",\"UserProperties\":[1]}]").first == 400u);
  BOOST_TEST(send("[{\"Body\":\"a\",\"BrokerProperties\":\"x\"}]").first == 400u);
  BOOST_TEST(send("[{\"Body\":\"a\",\"IsBodyBase64\":1}]").first == 400u);
  BOOST_TEST(send("[{\"Body\":\"!!\",\"IsBodyBase64\":true}]").first == 400u);
  BOOST_TEST(send("[{\"Body\":{},\"IsBodyBase64\":true}]").first == 400u);
  BOOST_TEST(send(std::string(1000, '[')).first == 400u);  // too deep, not a crash
  // Nothing was assigned by the rejected batches: the next valid one starts at sequence number 0
  // on its partition.
  auto o = ingest(in, make_request(bhttp::verb::post, "/h/partitions/2/messages", "[{\"Body\":\"a\"}]",
                                   {{"Content-Type", batch_type}}));
  BOOST_TEST(events_of(o).at(0).system_properties.find(R"("x-opt-sequence-number":0,)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(per_event_and_body_limits) {
  eventhub_ingest in(options([](auto& o) {
                       o.max_body_bytes = 200;
                       o.max_event_bytes = 50;
                     }),
                     std::nullopt);
  auto send = [&](std::string body) {
    return status_of(
        ingest(in, make_request(bhttp::verb::post, "/h/messages", std::move(body), {{"Content-Type", batch_type}})));
  };
  BOOST_TEST(send("[{\"Body\":\"" + std::string(40, 'x') + "\"}]") == 201u);   // 40 + "{}"
  BOOST_TEST(send("[{\"Body\":\"" + std::string(49, 'x') + "\"}]") == 413u);   // 49 + "{}" > 50
  BOOST_TEST(send("[{\"Body\":\"" + std::string(190, 'x') + "\"}]") == 413u);  // body over 200
  // A chunked body (no Content-Length) over the limit is caught by to_events too.
  request req{bhttp::verb::post, "/h/messages", 11};
  req.body() = std::string(201, 'x');
  auto plan = in.check_header(req, now_unix);
  BOOST_REQUIRE(plan);
  auto events = in.to_events(*plan, std::move(req), now);
  BOOST_REQUIRE(!events);
  BOOST_TEST((events.error().status == bhttp::status::payload_too_large));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(formatting)

BOOST_AUTO_TEST_CASE(enqueued_time_text) {
  const auto t = sys_time<milliseconds>{seconds{now_unix}};
  BOOST_TEST(format_enqueued_time(t) == "2024-05-01T12:34:56Z");
  BOOST_TEST(format_enqueued_time(t + milliseconds{500}) == "2024-05-01T12:34:56.5Z");
  BOOST_TEST(format_enqueued_time(t + milliseconds{50}) == "2024-05-01T12:34:56.05Z");
  BOOST_TEST(format_enqueued_time(t + milliseconds{7}) == "2024-05-01T12:34:56.007Z");
  BOOST_TEST(format_enqueued_time(sys_time<milliseconds>{}) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(standard_headers_are_not_properties) {
  for (std::string_view h : {"host", "CONTENT-TYPE", "Authorization", "BrokerProperties", "Expect", "Transfer-Encoding",
                             "Connection", "User-Agent", "Accept", "Accept-Encoding", "Content-Length"})
    BOOST_TEST(is_standard_header(h), h);
  for (std::string_view h : {"deviceId", "X-Custom", "Label", "PartitionKey"}) BOOST_TEST(!is_standard_header(h), h);
}

BOOST_AUTO_TEST_CASE(non_utf8_header_values_become_valid_json) {
  bhttp::fields f;
  f.insert("X-Name", "Jos\xE9");  // ISO-8859-1
  BOOST_TEST(header_properties(f) == "{\"X-Name\":\"Jos\xC3\xA9\"}");
}

BOOST_AUTO_TEST_SUITE_END()
