// bench/record_codec: the CPU cost of the durable buffer's event payload (transport/buffer/record.hpp)
// per event, encode (encode_event once, as segment_log::append does) and decode (as
// log_reader does, passing the previous event's request id), for small HTTP events with or without
// their origin (issue 13: the partition, a GUID request id shared by 10 events, the batch index).
//
//   record_codec [--events N] [--origin on|off] [--only encode|decode]
//
// Wall-clock figures on a shared machine are noisy; for a steady figure count instructions:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null build/ci/bench/record_codec --events 100000 ...
// ("Collected" minus a run with --events 0, divided by N).
// Last line: record_codec: origin=<on|off> bytes_per_event=<B> encode_ns=<ns> decode_ns=<ns>
#include "transport/buffer/record.hpp"
#include "transport/http/request_id.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace buf = iomt::transport::buffer;
using clock_type = std::chrono::steady_clock;

double ns_per(clock_type::duration d, std::size_t n) {
  return n ? std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(n) : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 1'000'000;
  bool origin = true, encode = true, decode = true;
  auto usage = [] {
    std::fprintf(stderr, "usage: record_codec [--events N] [--origin on|off] [--only encode|decode]\n");
    return 2;
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[i + 1];
    if (a == "--events") {
      n = std::strtoull(v, nullptr, 10);
    } else if (a == "--origin" && (std::strcmp(v, "on") == 0 || std::strcmp(v, "off") == 0)) {
      origin = std::strcmp(v, "on") == 0;
    } else if (a == "--only" && (std::strcmp(v, "encode") == 0 || std::strcmp(v, "decode") == 0)) {
      encode = std::strcmp(v, "encode") == 0;
      decode = !encode;
    } else {
      return usage();
    }
  }
  // 1,000 events as HTTP ingest makes them: requests of 10 (batch sends).
  std::vector<iomt::transport::event> events(1000);
  std::shared_ptr<const std::string> id;
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    e.body =
        "{\"deviceId\":\"device-" + std::to_string(i % 200) + "\",\"heartRate\":" + std::to_string(60 + i % 60) + "}";
    e.system_properties = "{\"x-opt-sequence-number\":" + std::to_string(i) + ",\"x-opt-offset\":\"" +
                          std::to_string(i * 80) + "\",\"x-opt-enqueued-time\":\"2024-05-01T10:00:00.123Z\"}";
    e.enqueued_time = {iomt::json::unix_epoch_ticks + 1714557600123LL * iomt::json::ticks_per_millisecond,
                       iomt::json::date_kind::utc};
    if (!origin) continue;
    if (i % 10 == 0) id = std::make_shared<const std::string>(iomt::transport::http::new_request_id());
    e.partition = static_cast<std::int32_t>(i % 4);
    e.request_id = id;
    e.batch_index = static_cast<std::int32_t>(i % 10);
  }
  std::vector<std::string> payloads(events.size());
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    buf::encode_event(payloads[i], events[i]);
    bytes += payloads[i].size();
  }

  clock_type::duration enc{}, dec{};
  if (encode) {
    std::string out;
    out.reserve(1 << 20);
    std::size_t encoded = 0;
    const auto t0 = clock_type::now();
    for (std::size_t k = 0; k < n; ++k) {
      if (out.size() > (1u << 19)) {
        encoded += out.size();
        out.clear();
      }
      buf::encode_event(out, events[k % events.size()]);
    }
    enc = clock_type::now() - t0;
    if (encoded + out.size() == 0 && n) return 1;
  }
  if (decode) {
    iomt::transport::event previous;
    const auto t0 = clock_type::now();
    for (std::size_t k = 0; k < n; ++k) {
      iomt::transport::event d;
      d.request_id = previous.request_id;  // what log_reader passes
      if (!buf::decode_event(payloads[k % payloads.size()], d)) return 1;
      previous = std::move(d);
    }
    dec = clock_type::now() - t0;
  }
  std::printf("record_codec: origin=%s bytes_per_event=%.1f encode_ns=%.1f decode_ns=%.1f\n", origin ? "on" : "off",
              static_cast<double>(bytes) / static_cast<double>(events.size()), ns_per(enc, encode ? n : 0),
              ns_per(dec, decode ? n : 0));
  return 0;
}
