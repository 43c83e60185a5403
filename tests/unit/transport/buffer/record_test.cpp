// The buffer's on-disk format as pure functions: CRC-32C, record framing, the scanner that recovery
// and the reader use (torn tails at every byte, flipped bits, zero fill), event payloads.
#define BOOST_TEST_MODULE transport buffer record
#include <boost/test/unit_test.hpp>

#include "transport/buffer/checkpoint.hpp"
#include "transport/buffer/crc32c.hpp"
#include "transport/buffer/record.hpp"
#include "transport/http/event_properties.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <random>

using namespace iomt;
using namespace iomt::transport::buffer;

namespace {

transport::event make_event(int i, std::size_t body_bytes = 40) {
  transport::event e;
  e.body = "{\"deviceId\":\"dev-" + std::to_string(i) + "\",\"hr\":" + std::to_string(60 + i % 40) + "}";
  e.body.resize(std::max(e.body.size(), body_bytes), ' ');
  e.properties = "{\"p\":" + std::to_string(i) + "}";
  e.system_properties = "{\"iothub-connection-device-id\":\"dev-" + std::to_string(i) + "\"}";
  e.enqueued_time = {json::unix_epoch_ticks + i * json::ticks_per_second, json::date_kind::utc};
  e.partition_key = i % 2 ? "pk" : "";
  return e;
}

bool same(const transport::event& a, const transport::event& b) {
  return a.body == b.body && a.properties == b.properties && a.system_properties == b.system_properties &&
         a.enqueued_time == b.enqueued_time && a.partition_key == b.partition_key;
}

// Records 1..n (seq first_seq...) in one byte string.
std::string records(int n, std::uint64_t first_seq = 1) {
  std::string out, payload;
  for (int i = 0; i < n; ++i) {
    payload.clear();
    encode_event(payload, make_event(i));
    append_record(out, first_seq + static_cast<std::uint64_t>(i), payload);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(crc32c_check_values) {
  BOOST_TEST(crc32c("123456789") == 0xE3069283u);
  BOOST_TEST(crc32c("") == 0u);
  // RFC 3720 B.4: 32 bytes of zeros / of 0xFF.
  BOOST_TEST(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  BOOST_TEST(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
}

BOOST_AUTO_TEST_CASE(crc32c_hardware_and_tables_agree_and_extend) {
  std::mt19937 rng(7);
  std::string data(4099, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 1000u, 4099u}) {
    const std::string_view s(data.data(), n);
    BOOST_TEST(crc32c(s) == crc32c_extend_portable(0, s.data(), s.size()));
    for (std::size_t cut : {std::size_t{0}, n / 3, n}) {
      const std::uint32_t a = crc32c(s.substr(0, cut));
      BOOST_TEST(crc32c_extend(a, s.data() + cut, n - cut) == crc32c(s));
    }
  }
}

BOOST_AUTO_TEST_CASE(event_payload_round_trip) {
  for (int i = 0; i < 5; ++i) {
    transport::event e = make_event(i, i * 100);
    if (i == 3) e.body = std::string("\0\x01\xff binary", 10);
    std::string p;
    encode_event(p, e);
    BOOST_TEST(p.size() == encoded_size(e));
    transport::event d;
    BOOST_TEST(decode_event(p, d));
    BOOST_TEST(same(e, d));
  }
}

BOOST_AUTO_TEST_CASE(event_payload_rejects_malformed) {
  std::string p;
  encode_event(p, make_event(1));
  transport::event d;
  for (std::size_t n = 0; n < p.size(); ++n) BOOST_TEST(!decode_event(std::string_view(p).substr(0, n), d));
  BOOST_TEST(!decode_event(p + "x", d));  // trailing bytes
  std::string v3 = p;
  v3[0] = 3;  // unknown version
  BOOST_TEST(!decode_event(v3, d));
  std::string zone = p;
  zone[1] = 9;
  BOOST_TEST(!decode_event(zone, d));
  // Random bytes never crash and almost never decode.
  std::mt19937 rng(1);
  for (int k = 0; k < 2000; ++k) {
    std::string r(rng() % 64, '\0');
    for (auto& c : r) c = static_cast<char>(rng());
    (void)decode_event(r, d);
  }
}

namespace {

// An event as HTTP ingest makes it from one item of a batch (eventhub_request.cpp).
transport::event http_event(std::string body, std::int64_t seq, std::int64_t offset, std::int64_t ms) {
  using namespace std::chrono;
  const transport::http::enqueue_clock_time t{milliseconds(ms)};
  const std::string text = transport::http::format_enqueued_time(t);
  transport::http::system_fields f;
  f.sequence_number = seq;
  f.offset = offset;
  f.enqueued_time = text;
  transport::event e;
  e.body = std::move(body);
  e.system_properties = transport::http::system_properties_json(f);
  e.enqueued_time = transport::http::to_date_time(t);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(version_2_keeps_tiny_http_events_small) {
  // Issue 12: 80,000 one-byte items of a 1 MiB batch took 148 bytes each on disk.
  for (std::int64_t ms : {1714557600000, 1714557600123, 1714557600120, 1714557600100}) {
    const transport::event e = http_event("x", 123456, 9876543, ms);
    std::string v1, v2;
    encode_event_v1(v1, e);
    encode_event(v2, e);
    BOOST_TEST(v2.size() == encoded_size(e));
    BOOST_TEST(v1.size() > 120u);
    BOOST_TEST(v2.size() <= 28u, v2.size());  // + the 16-byte record header
    transport::event d;
    BOOST_REQUIRE(decode_event(v2, d));
    BOOST_TEST(same(d, e), e.system_properties << " -> " << d.system_properties);
  }
}

BOOST_AUTO_TEST_CASE(version_2_round_trips_every_shape_of_properties) {
  const std::string sys_cases[] = {
      "{}",
      "",
      "{\"x-opt-sequence-number\":-5,\"x-opt-offset\":\"007\",\"x-opt-enqueued-time\":\"2024-05-01T10:00:00Z\"}",
      "{ \"x-opt-sequence-number\": 1 }",  // whitespace: kept as text
      "{\"message-id\":\"m\\u00e9\",\"custom\":{\"a\":[1,2.5,true,null]},\"x-opt-offset\":\"18446744073709551615\"}",
      "{\"x-opt-sequence-number\":9223372036854775807,\"n\":-9223372036854775808,\"f\":1e3,\"z\":-0}",
      "{\"x-opt-offset\":\"99999999999999999999\",\"x-opt-enqueued-time\":\"2024-05-01T10:00:00.5Z\"}",
      "not json at all",
      "[1,2]",
  };
  int i = 0;
  for (const auto& sys : sys_cases) {
    for (const char* props : {"{}", "{\"a\":1}", ""}) {
      transport::event e = make_event(i++, 0);
      e.system_properties = sys;
      e.properties = props;
      e.enqueued_time = {json::unix_epoch_ticks + 1714557600 * json::ticks_per_second, json::date_kind::utc};
      std::string p;
      encode_event(p, e);
      BOOST_TEST(p.size() == encoded_size(e));
      transport::event d;
      BOOST_REQUIRE(decode_event(p, d));
      BOOST_TEST(same(d, e), sys << " / " << props);
      for (std::size_t n = 0; n < p.size(); ++n) BOOST_TEST(!decode_event(std::string_view(p).substr(0, n), d));
    }
  }
}

BOOST_AUTO_TEST_CASE(version_1_records_of_an_older_service_still_decode) {
  // Bytes as a service before issue 12 wrote them (fixed little-endian layout, record.hpp).
  std::string v1;
  v1 += '\x01';                                      // version
  v1 += '\x01';                                      // utc
  v1.append("\x00\x80\xb5\xf7\xf5\x7f\x9f\x08", 8);  // ticks 621355968000000000 (1970-01-01)
  auto put32 = [&](std::string_view s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    v1.append(reinterpret_cast<const char*>(&n), 4);
    v1.append(s);
  };
  put32("{\"hr\":80}");
  put32("{}");
  put32("{\"x-opt-sequence-number\":0}");
  put32("pk");
  transport::event d;
  BOOST_REQUIRE(decode_event(v1, d));
  BOOST_TEST(d.body == "{\"hr\":80}");
  BOOST_TEST(d.system_properties == "{\"x-opt-sequence-number\":0}");
  BOOST_TEST(d.partition_key == "pk");
  BOOST_TEST(d.enqueued_time.ticks == json::unix_epoch_ticks);
  BOOST_TEST(static_cast<int>(d.enqueued_time.zone) == static_cast<int>(json::date_kind::utc));
  // encode_event_v1 writes exactly that layout (dead-letter ids are hashed over it).
  std::string again;
  encode_event_v1(again, d);
  BOOST_TEST(again == v1);
}

BOOST_AUTO_TEST_CASE(version_2_records_of_an_older_service_without_origin_still_decode) {
  // Bytes as a service before the origin field (issue 13) wrote them: flags bits 0-5 only.
  std::string old;
  old += '\x02';                                          // version 2
  old += '\x0d';                                          // utc | properties "{}" | system properties as text
  old.append("\x80\xc0\xc4\xea\xae\xf1\xb4\xdc\x11", 9);  // zigzag ticks of 2024-05-01T10:00:00Z
  old += '\x09';
  old += "{\"hr\":80}";
  old += '\x1e';
  old += "{ \"x-opt-sequence-number\": 0 }";  // not compact: kept as text
  old += '\x02';
  old += "pk";
  transport::event d;
  d.partition = 3;  // a reused event: what the record does not say is reset
  d.request_id = std::make_shared<const std::string>("stale");
  d.batch_index = 7;
  BOOST_REQUIRE(decode_event(old, d));
  BOOST_TEST(d.body == "{\"hr\":80}");
  BOOST_TEST(d.properties == "{}");
  BOOST_TEST(d.system_properties == "{ \"x-opt-sequence-number\": 0 }");
  BOOST_TEST(d.partition_key == "pk");
  BOOST_TEST(d.enqueued_time.ticks == json::unix_epoch_ticks + 1714557600 * json::ticks_per_second);
  BOOST_TEST(d.partition == -1);
  BOOST_TEST(!d.request_id);
  BOOST_TEST(d.batch_index == -1);
  // An event without a partition or request id is still written exactly so (no flag bit 6), so
  // such records stay readable by those versions.
  std::string again;
  encode_event(again, d);
  BOOST_TEST(again == old);
}

BOOST_AUTO_TEST_CASE(origin_round_trips_partition_request_id_and_batch_index) {
  const std::string guid = "0f8fad5b-d9cb-469f-a165-70867728950e";
  struct origin_case {
    std::int32_t partition;
    std::optional<std::string> id;
    std::int32_t batch_index;
    std::size_t origin_bytes;  // what the origin adds to the record
  };
  const origin_case cases[] = {
      {2, guid, -1, 1 + 1 + 16 + 1},  // a single send: the GUID in 16 bytes
      {0, guid, 0, 1 + 1 + 16 + 1},
      {1023, guid, 79999, 1 + 2 + 16 + 3},  // the last item of a large batch
      {-1, guid, 5, 1 + 16 + 1},
      {3, std::nullopt, -1, 1 + 1},                                         // a partition only
      {1, "0F8FAD5B-D9CB-469F-A165-70867728950E", -1, 1 + 1 + 1 + 36 + 1},  // upper case: as text
      {1, "my-client/req 42", 3, 1 + 1 + 1 + 16 + 1},
      {1, std::string(128, '~'), -1, 1 + 1 + 2 + 128 + 1},
  };
  for (const auto& c : cases) {
    transport::event e = make_event(1);
    const std::size_t without = encoded_size(e);
    e.partition = c.partition;
    if (c.id) e.request_id = std::make_shared<const std::string>(*c.id);
    e.batch_index = c.batch_index;
    std::string p;
    encode_event(p, e);
    BOOST_TEST(p.size() == encoded_size(e));
    BOOST_TEST(p.size() - without == c.origin_bytes, c.id.value_or("-") << " " << c.batch_index);
    BOOST_TEST((static_cast<std::uint8_t>(p[1]) & 0x40) != 0);  // flag bit 6: older versions refuse it
    transport::event d;
    BOOST_REQUIRE(decode_event(p, d));
    BOOST_TEST(same(d, e));
    BOOST_TEST(d.partition == c.partition);
    BOOST_TEST(d.batch_index == (c.id ? c.batch_index : -1));
    BOOST_TEST((d.request_id ? *d.request_id : "-") == c.id.value_or("-"));
    for (std::size_t n = 0; n < p.size(); ++n) BOOST_TEST(!decode_event(std::string_view(p).substr(0, n), d));
    // Without the origin (the dead-letter store): the layout earlier versions read.
    std::string bare;
    encode_event(bare, e, /*origin=*/false);
    BOOST_TEST(bare.size() == without);
    BOOST_TEST(bare.size() == encoded_size(e, false));
    BOOST_TEST((static_cast<std::uint8_t>(bare[1]) & 0x40) == 0);
  }
  // Unknown origin bits are refused, not guessed at.
  transport::event e = make_event(1);
  e.partition = 1;
  std::string p;
  encode_event(p, e);
  std::string bad = p;
  bad[bad.size() - 2] = static_cast<char>(bad[bad.size() - 2] | 0x08);
  transport::event d;
  BOOST_TEST(!decode_event(bad, d));
}

BOOST_AUTO_TEST_CASE(events_of_one_request_share_their_request_id_when_decoded) {
  auto id = std::make_shared<const std::string>("0f8fad5b-d9cb-469f-a165-70867728950e");
  std::string a, b, c;
  transport::event e = make_event(1);
  e.request_id = id;
  e.batch_index = 0;
  encode_event(a, e);
  e.batch_index = 1;
  encode_event(b, e);
  e.request_id = std::make_shared<const std::string>("another request");
  encode_event(c, e);
  transport::event first, second, third;
  BOOST_REQUIRE(decode_event(a, first));
  second.request_id = first.request_id;  // what log_reader passes: the previous event's
  BOOST_REQUIRE(decode_event(b, second));
  BOOST_TEST(second.request_id.get() == first.request_id.get());  // one string, no copy
  BOOST_TEST(second.batch_index == 1);
  third.request_id = second.request_id;
  BOOST_REQUIRE(decode_event(c, third));
  BOOST_TEST(*third.request_id == "another request");
  BOOST_TEST(*first.request_id == *id);
}

BOOST_AUTO_TEST_CASE(scan_reads_every_record) {
  const std::string bytes = records(10, 100);
  std::vector<record_view> views;
  const scan_result r = scan_records(bytes, 0, &views);
  BOOST_TEST(static_cast<int>(r.stop) == static_cast<int>(scan_stop::end));
  BOOST_TEST(r.records == 10u);
  BOOST_TEST(r.valid_bytes == bytes.size());
  BOOST_TEST(r.first_seq == 100u);
  BOOST_TEST(r.last_seq == 109u);
  transport::event d;
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST(views[static_cast<std::size_t>(i)].seq == 100u + static_cast<std::uint64_t>(i));
    BOOST_TEST(decode_event(views[static_cast<std::size_t>(i)].payload, d));
    BOOST_TEST(same(d, make_event(i)));
  }
  // max_records stops early at a record boundary.
  const scan_result r3 = scan_records(bytes, 0, nullptr, 3);
  BOOST_TEST(r3.records == 3u);
  BOOST_TEST(r3.last_seq == 102u);
}

BOOST_AUTO_TEST_CASE(scan_torn_tail_at_every_byte_offset_of_the_last_record) {
  const std::string full = records(4);
  const std::size_t three = scan_records(records(3), 0).valid_bytes;
  for (std::size_t cut = three; cut < full.size(); ++cut) {
    const scan_result r = scan_records(std::string_view(full).substr(0, cut), 0);
    BOOST_TEST(r.records == 3u, "cut at " << cut);
    BOOST_TEST(r.valid_bytes == three);
    BOOST_TEST(static_cast<int>(r.stop) == static_cast<int>(cut == three ? scan_stop::end : scan_stop::incomplete));
    if (cut > three)
      BOOST_TEST(r.need_bytes == (cut - three < record_header_bytes ? record_header_bytes : full.size() - three));
  }
}

BOOST_AUTO_TEST_CASE(scan_detects_every_flipped_bit_of_a_record) {
  const std::string good = records(3);
  const std::size_t two = scan_records(records(2), 0).valid_bytes;
  for (std::size_t i = two; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      const scan_result r = scan_records(bad, 0);
      BOOST_TEST(r.records == 2u, "byte " << i << " bit " << bit);
      BOOST_TEST(r.valid_bytes == two);
      BOOST_TEST(static_cast<int>(r.stop) != static_cast<int>(scan_stop::end));
    }
  }
}

BOOST_AUTO_TEST_CASE(scan_zero_fill_and_sequence_order) {
  std::string z = records(2) + std::string(100, '\0');  // a file system may leave zeros after a crash
  scan_result r = scan_records(z, 0);
  BOOST_TEST(r.records == 2u);
  BOOST_TEST(static_cast<int>(r.stop) == static_cast<int>(scan_stop::bad_length));

  std::string payload;
  encode_event(payload, make_event(0));
  std::string out;
  append_record(out, 5, payload);
  append_record(out, 5, payload);  // not increasing
  r = scan_records(out, 0);
  BOOST_TEST(r.records == 1u);
  BOOST_TEST(static_cast<int>(r.stop) == static_cast<int>(scan_stop::bad_sequence));
  r = scan_records(out, 6);  // below the required minimum
  BOOST_TEST(r.records == 0u);
  BOOST_TEST(static_cast<int>(r.stop) == static_cast<int>(scan_stop::bad_sequence));
  // Gaps are allowed (a corrupt region cut out at recovery).
  out.clear();
  append_record(out, 5, payload);
  append_record(out, 9, payload);
  BOOST_TEST(scan_records(out, 0).records == 2u);
}

BOOST_AUTO_TEST_CASE(two_step_encoding_matches_append_record) {
  std::string payload;
  encode_event(payload, make_event(3));
  std::string a;
  append_record(a, 42, payload);
  std::string b;
  std::size_t at = 0;
  begin_record(b, at);
  encode_event(b, make_event(3));
  end_record(b, at);
  seal_record(b.data() + at, 42);
  BOOST_TEST(a == b);
  BOOST_TEST(record_payload_length(b.data()) == payload.size());
}

BOOST_AUTO_TEST_CASE(segment_header_and_names) {
  std::string h;
  append_segment_header(h, 12345);
  BOOST_TEST(h.size() == segment_header_bytes);
  std::uint64_t s = 0;
  BOOST_TEST(parse_segment_header(h, s));
  BOOST_TEST(s == 12345u);
  BOOST_TEST(!parse_segment_header(h.substr(0, 15), s));
  BOOST_TEST(!parse_segment_header("XOMTSEG1" + h.substr(8), s));

  BOOST_TEST(segment_file_name(1) == "00000000000000000001.seg");
  BOOST_TEST(*parse_segment_file_name("00000000000000000042.seg") == 42u);
  BOOST_TEST(!parse_segment_file_name("0000000000000000042.seg"));
  BOOST_TEST(!parse_segment_file_name("0000000000000000004a.seg"));
  BOOST_TEST(!parse_segment_file_name("99999999999999999999.seg"));  // > 2^64
  BOOST_TEST(!parse_segment_file_name("00000000000000000042.seg.corrupt"));
}

BOOST_AUTO_TEST_CASE(checkpoint_file_format) {
  const std::string c = encode_checkpoint(987654321);
  BOOST_TEST(c.size() == 20u);
  BOOST_TEST(*decode_checkpoint(c) == 987654321u);
  for (std::size_t i = 0; i < c.size(); ++i) {
    std::string bad = c;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    BOOST_TEST(!decode_checkpoint(bad), "byte " << i);
  }
  BOOST_TEST(!decode_checkpoint(c.substr(0, 19)));
  BOOST_TEST(!decode_checkpoint(""));
}
