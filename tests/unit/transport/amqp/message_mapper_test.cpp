// AMQP message -> transport::event (transport/amqp/message_mapper.hpp, value_json.hpp):
// what IotJsonPathContent and JsonPathContent templates read (iomt-spec §2, §3.7).
#define BOOST_TEST_MODULE transport_amqp_message
#include <boost/test/unit_test.hpp>

#include "transport/amqp/message_mapper.hpp"
#include "transport/amqp/value_json.hpp"
#include "unit/transport/amqp/fake_broker.hpp"

#include <proton/codec.h>
#include <proton/message.h>

using namespace iomt::transport;
using namespace iomt::transport::amqp;
using iomt::test::amqp::message_builder;

namespace {

const auto fixed_now =
    std::chrono::system_clock::time_point(std::chrono::milliseconds(1714560000000));  // 2024-05-01T10:40:00Z

// Encodes a message prepared by `fill`.
template <class F>
std::string encode(F&& fill) {
  pn_message_t* m = pn_message();
  fill(m);
  std::string out(1 << 16, '\0');
  std::size_t size = out.size();
  BOOST_REQUIRE_EQUAL(pn_message_encode(m, out.data(), &size), 0);
  out.resize(size);
  pn_message_free(m);
  return out;
}

void put_sym(pn_data_t* d, std::string_view s) { pn_data_put_symbol(d, pn_bytes(s.size(), s.data())); }
void put_str(pn_data_t* d, std::string_view s) { pn_data_put_string(d, pn_bytes(s.size(), s.data())); }

}  // namespace

BOOST_AUTO_TEST_CASE(event_hubs_message_with_iot_hub_properties) {
  // What IoT Hub routes to its built-in Event Hubs endpoint: the device's JSON in a data section,
  // iothub-creation-time-utc as an application property, iothub-* and x-opt-* as annotations.
  const std::string bytes = encode([](pn_message_t* m) {
    const std::string body = R"({"heartrate":78})";
    pn_data_put_binary(pn_message_body(m), pn_bytes(body.size(), body.data()));
    pn_message_set_content_type(m, "application/json");
    pn_data_t* p = pn_message_properties(m);
    pn_data_put_map(p);
    pn_data_enter(p);
    put_str(p, "iothub-creation-time-utc");
    put_str(p, "2024-05-01T10:00:00.123Z");
    put_str(p, "count");
    pn_data_put_long(p, -5);
    put_str(p, "ok");
    pn_data_put_bool(p, true);
    pn_data_exit(p);
    pn_data_t* a = pn_message_annotations(m);
    pn_data_put_map(a);
    pn_data_enter(a);
    put_sym(a, "iothub-connection-device-id");
    put_str(a, "device-01");
    put_sym(a, "iothub-enqueuedtime");
    pn_data_put_timestamp(a, 1714557600500);  // 2024-05-01T10:00:00.5Z
    put_sym(a, "x-opt-sequence-number");
    pn_data_put_long(a, 42);
    put_sym(a, "x-opt-offset");
    put_str(a, "8192");
    put_sym(a, "x-opt-enqueued-time");
    pn_data_put_timestamp(a, 1714557601000);  // 2024-05-01T10:00:01Z
    put_sym(a, "x-opt-partition-key");
    put_str(a, "device-01");
    pn_data_exit(a);
  });
  message_mapper mapper;
  event ev;
  stream_position pos;
  BOOST_REQUIRE(mapper.map(bytes, fixed_now, ev, pos));
  BOOST_TEST(ev.body == R"({"heartrate":78})");
  BOOST_TEST(ev.properties == R"({"iothub-creation-time-utc":"2024-05-01T10:00:00.123Z","count":-5,"ok":true})");
  BOOST_TEST(ev.system_properties ==
             R"({"content-type":"application/json","iothub-connection-device-id":"device-01",)"
             R"("iothub-enqueuedtime":"2024-05-01T10:00:00.5Z","x-opt-sequence-number":42,"x-opt-offset":"8192",)"
             R"("x-opt-enqueued-time":"2024-05-01T10:00:01Z","x-opt-partition-key":"device-01"})");
  BOOST_TEST(ev.partition_key == "device-01");
  BOOST_TEST(pos.sequence_number == 42);
  BOOST_TEST(pos.offset == 8192);
  BOOST_TEST(ev.enqueued_time.ticks == date_time_from_unix_ms(1714557601000).ticks);
  BOOST_TEST(static_cast<int>(ev.enqueued_time.zone) == static_cast<int>(iomt::json::date_kind::utc));
}

BOOST_AUTO_TEST_CASE(plain_queue_message_uses_receive_time) {
  message_builder b;
  b.body = R"({"a":1})";
  b.message_id = "m-1";
  message_mapper mapper;
  event ev;
  stream_position pos;
  BOOST_REQUIRE(mapper.map(b.encode(), fixed_now, ev, pos));
  BOOST_TEST(ev.body == R"({"a":1})");
  BOOST_TEST(ev.properties == "{}");
  BOOST_TEST(ev.system_properties == R"({"message-id":"m-1"})");
  BOOST_TEST(ev.enqueued_time.ticks == date_time_from_unix_ms(1714560000000).ticks);
  BOOST_TEST(pos.sequence_number == -1);
  BOOST_TEST(pos.offset == -1);
  BOOST_TEST(ev.partition_key.empty());
}

BOOST_AUTO_TEST_CASE(iothub_enqueued_time_is_the_fallback) {
  const std::string bytes = encode([](pn_message_t* m) {
    put_str(pn_message_body(m), "x");
    pn_data_t* a = pn_message_annotations(m);
    pn_data_put_map(a);
    pn_data_enter(a);
    put_sym(a, "iothub-enqueuedtime");
    pn_data_put_timestamp(a, 1000);
    pn_data_exit(a);
  });
  message_mapper mapper;
  event ev;
  stream_position pos;
  BOOST_REQUIRE(mapper.map(bytes, fixed_now, ev, pos));
  BOOST_TEST(ev.enqueued_time.ticks == date_time_from_unix_ms(1000).ticks);
}

BOOST_AUTO_TEST_CASE(amqp_value_bodies) {
  message_mapper mapper;
  event ev;
  stream_position pos;
  // amqp-value string: its text.
  BOOST_REQUIRE(
      mapper.map(encode([](pn_message_t* m) { put_str(pn_message_body(m), R"({"s":"x"})"); }), fixed_now, ev, pos));
  BOOST_TEST(ev.body == R"({"s":"x"})");
  // amqp-value map: JSON.
  BOOST_REQUIRE(mapper.map(encode([](pn_message_t* m) {
                             pn_data_t* d = pn_message_body(m);
                             pn_data_put_map(d);
                             pn_data_enter(d);
                             put_str(d, "hr");
                             pn_data_put_int(d, 80);
                             put_sym(d, "list");
                             pn_data_put_list(d);
                             pn_data_enter(d);
                             pn_data_put_double(d, 1.5);
                             pn_data_put_null(d);
                             pn_data_exit(d);
                             pn_data_exit(d);
                           }),
                           fixed_now, ev, pos));
  BOOST_TEST(ev.body == R"({"hr":80,"list":[1.5,null]})");
  // No body at all.
  BOOST_REQUIRE(mapper.map(encode([](pn_message_t*) {}), fixed_now, ev, pos));
  BOOST_TEST(ev.body.empty());
}

BOOST_AUTO_TEST_CASE(value_types_as_json) {
  const std::string bytes = encode([](pn_message_t* m) {
    put_str(pn_message_body(m), "{}");
    pn_data_t* p = pn_message_properties(m);
    pn_data_put_map(p);
    pn_data_enter(p);
    put_str(p, "u");
    pn_uuid_t u{};
    for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<char>(i * 17);
    pn_data_put_uuid(p, u);
    put_str(p, "bin");
    pn_data_put_binary(p, pn_bytes(3, "abc"));
    put_str(p, "ts");
    pn_data_put_timestamp(p, 1714557600123);
    put_str(p, "nan");
    pn_data_put_double(p, std::numeric_limits<double>::quiet_NaN());
    put_str(p, "f");
    pn_data_put_float(p, 0.5f);
    put_str(p, "ul");
    pn_data_put_ulong(p, 18446744073709551615ull);
    put_str(p, "c");
    pn_data_put_char(p, 0x20AC);  // euro sign
    put_str(p, "quote\"key");
    put_str(p, "line\nbreak");
    pn_data_exit(p);
  });
  message_mapper mapper;
  event ev;
  stream_position pos;
  BOOST_REQUIRE(mapper.map(bytes, fixed_now, ev, pos));
  BOOST_TEST(ev.properties ==
             R"({"u":"00112233-4455-6677-8899-aabbccddeeff","bin":"YWJj","ts":"2024-05-01T10:00:00.123Z","nan":"NaN",)"
             R"("f":0.5,"ul":18446744073709551615,"c":"€","quote\"key":"line\nbreak"})");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_cut_not_crashed) {
  const std::string bytes = encode([](pn_message_t* m) {
    put_str(pn_message_body(m), "{}");
    pn_data_t* p = pn_message_properties(m);
    pn_data_put_map(p);
    pn_data_enter(p);
    put_str(p, "deep");
    for (int i = 0; i < 400; ++i) {
      pn_data_put_list(p);
      pn_data_enter(p);
    }
    pn_data_put_int(p, 1);
    for (int i = 0; i < 400; ++i) pn_data_exit(p);
    pn_data_exit(p);
  });
  message_mapper mapper;
  event ev;
  stream_position pos;
  BOOST_REQUIRE(mapper.map(bytes, fixed_now, ev, pos));
  BOOST_TEST(ev.properties.find("null") != std::string::npos);
  BOOST_TEST(ev.properties.find('1') == std::string::npos);
  // Balanced brackets: still one JSON value.
  BOOST_TEST(std::count(ev.properties.begin(), ev.properties.end(), '[') ==
             std::count(ev.properties.begin(), ev.properties.end(), ']'));
}

BOOST_AUTO_TEST_CASE(garbage_is_an_error_not_a_crash) {
  message_mapper mapper;
  event ev;
  stream_position pos;
  for (std::string_view bad : {std::string_view("\xff\xff\xff\xff", 4), std::string_view("\x00\x53\x75\xa0\xff", 5),
                               std::string_view("\x00\x53", 2)}) {
    auto r = mapper.map(bad, fixed_now, ev, pos);
    BOOST_TEST(!r);
    if (!r) BOOST_TEST(r.error().message.find("not a valid AMQP message") == 0);
  }
  // The mapper stays usable.
  message_builder b;
  BOOST_TEST(static_cast<bool>(mapper.map(b.encode(), fixed_now, ev, pos)));
}

BOOST_AUTO_TEST_CASE(timestamps_format_like_event_hubs_http) {
  BOOST_TEST(format_timestamp(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(format_timestamp(1714557600100) == "2024-05-01T10:00:00.1Z");
}
