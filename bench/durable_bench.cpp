// bench/durable: durable ingest into the segment log (transport/buffer) with group commit from
// several threads, and in the same run the raw sequential write + fdatasync rate of the same disk
// for the same bytes at the same fsync cadence (one write + one fdatasync per group commit the log
// made). The ratio says what the log costs on top of the disk; the disk is the ceiling.
//
//   durable [--dir DIR] [--events N] [--event-bytes B] [--per-append K] [--threads T]
//           [--inflight F] [--fsync always|interval|never] [--origin on|off]
//
// DIR is where the buffer would live (default: a fresh folder under $TMPDIR); it is emptied after.
// Each of T threads keeps F appends of K events in flight, like T*F HTTP clients waiting for 201.
// --origin on (the default) gives each event what HTTP ingest gives it since issue 13: the partition
// and the request's id (a GUID shared by the request's events) with the event's batch index; off:
// events as before, for comparing the record size and rate.
// Last line: durable: ingest=<events/s> disk_ceiling=<events/s> ratio=<ingest/ceiling>
#include "transport/buffer/segment_log.hpp"
#include "transport/http/request_id.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;
namespace buf = iomt::transport::buffer;

struct options {
  std::string dir;
  std::size_t events = 400'000;
  std::size_t event_bytes = 300;  // a typical device message with its properties
  std::size_t per_append = 10;    // events per HTTP request
  unsigned threads = 4;
  unsigned inflight = 32;  // outstanding appends per thread
  buf::fsync_policy fsync = buf::fsync_policy::always;
  bool origin = true;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = value();
    if (!v) return false;
    if (a == "--dir")
      o.dir = v;
    else if (a == "--events")
      o.events = std::strtoull(v, nullptr, 10);
    else if (a == "--event-bytes")
      o.event_bytes = std::strtoull(v, nullptr, 10);
    else if (a == "--per-append")
      o.per_append = std::max<std::size_t>(1, std::strtoull(v, nullptr, 10));
    else if (a == "--threads")
      o.threads = std::max(1u, static_cast<unsigned>(std::strtoul(v, nullptr, 10)));
    else if (a == "--inflight")
      o.inflight = std::max(1u, static_cast<unsigned>(std::strtoul(v, nullptr, 10)));
    else if (a == "--fsync") {
      if (!buf::parse_fsync_policy(v, o.fsync)) return false;
    } else if (a == "--origin") {
      if (std::strcmp(v, "on") != 0 && std::strcmp(v, "off") != 0) return false;
      o.origin = std::strcmp(v, "on") == 0;
    } else
      return false;
  }
  return true;
}

iomt::transport::event make_event(std::size_t i, std::size_t bytes) {
  iomt::transport::event e;
  e.body = "{\"deviceId\":\"device-" + std::to_string(i % 200) + "\",\"heartRate\":" + std::to_string(60 + i % 60) +
           ",\"endDate\":\"2024-05-01T10:00:" + std::to_string(10 + i % 50) + ".0000000Z\"";
  if (e.body.size() + 1 < bytes) e.body += ",\"pad\":\"" + std::string(bytes - e.body.size() - 10, 'x') + "\"";
  e.body += "}";
  e.properties = "{\"source\":\"bench\"}";
  e.enqueued_time = {iomt::json::unix_epoch_ticks + static_cast<std::int64_t>(i) * iomt::json::ticks_per_millisecond,
                     iomt::json::date_kind::utc};
  return e;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(
        stderr,
        "usage: durable [--dir DIR] [--events N] [--event-bytes B] [--per-append K] [--threads T] [--inflight F] "
        "[--fsync always|interval|never] [--origin on|off]\n");
    return 2;
  }
  bool made_dir = false;
  if (o.dir.empty()) {
    std::string t = (std::filesystem::temp_directory_path() / "iomt-durable-bench-XXXXXX").string();
    if (!::mkdtemp(t.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    o.dir = t;
    made_dir = true;
  }
  const std::string log_dir = o.dir + "/buffer";
  std::filesystem::remove_all(log_dir);

  // ---- 1. durable ingest ---------------------------------------------------------------------
  buf::log_options lo;
  lo.dir = log_dir;
  lo.fsync = o.fsync;
  lo.max_bytes = 64ull << 30;
  auto opened = buf::segment_log::open(lo);
  if (!opened) {
    std::fprintf(stderr, "error: %s\n", opened.error().message.c_str());
    return 1;
  }
  buf::segment_log& log = **opened;
  const std::size_t appends = (o.events + o.per_append - 1) / o.per_append;
  // Pre-built requests (the bench measures the log, not event construction).
  std::vector<std::vector<iomt::transport::event>> requests(std::min<std::size_t>(appends, 1024));
  std::size_t k = 0;
  for (auto& r : requests) {
    const auto request_id = std::make_shared<const std::string>(iomt::transport::http::new_request_id());
    for (std::size_t i = 0; i < o.per_append; ++i) {
      r.push_back(make_event(k++, o.event_bytes));
      if (!o.origin) continue;
      r.back().partition = static_cast<std::int32_t>(k % 4);
      r.back().request_id = request_id;
      if (o.per_append > 1) r.back().batch_index = static_cast<std::int32_t>(i);
    }
  }

  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> failed{0};
  std::mutex lat_mu;
  std::vector<double> latencies;
  latencies.reserve(appends);
  const auto t0 = clock_type::now();
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < o.threads; ++t)
    ts.emplace_back([&] {
      std::mutex m;
      std::condition_variable cv;
      unsigned outstanding = 0;
      std::vector<double> mine;
      for (;;) {
        const std::size_t a = next.fetch_add(1);
        if (a >= appends) break;
        {
          std::unique_lock l(m);
          cv.wait(l, [&] { return outstanding < o.inflight; });
          ++outstanding;
        }
        const auto start = clock_type::now();
        auto done = [&, start](const buf::append_result& r) {
          const double s = std::chrono::duration<double>(clock_type::now() - start).count();
          if (r.err) failed.fetch_add(1);
          std::lock_guard l(m);
          mine.push_back(s);
          --outstanding;
          cv.notify_one();
        };
        for (;;) {
          auto refused = log.append(requests[a % requests.size()], done);
          if (!refused) break;
          if (refused->code != buf::errc::full) {
            std::fprintf(stderr, "error: %s\n", refused->message.c_str());
            std::exit(1);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      std::unique_lock l(m);
      cv.wait(l, [&] { return outstanding == 0; });
      std::lock_guard g(lat_mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  for (auto& t : ts) t.join();
  const double ingest_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const buf::log_stats st = log.stats();
  log.close();
  if (failed) {
    std::fprintf(stderr, "error: %zu append(s) failed\n", failed.load());
    return 1;
  }
  const std::uint64_t bytes = st.appended_bytes;
  const double events = static_cast<double>(appends * o.per_append);
  const double ingest_rate = events / ingest_s;
  const double p50 = percentile(latencies, 0.50) * 1e3, p99 = percentile(latencies, 0.99) * 1e3;
  std::printf(
      "durable ingest: %zu events of ~%zu B in %zu appends of %zu, %u threads x %u in flight, fsync %s, origin %s "
      "(%.1f B per record)\n",
      appends * o.per_append, o.event_bytes, appends, o.per_append, o.threads, o.inflight, buf::to_string(o.fsync),
      o.origin ? "on" : "off", static_cast<double>(bytes) / events);
  std::printf(
      "  %.3f s: %.0f events/s, %.1f MB/s on disk, %llu group commits (%.1f appends each), %llu fsyncs, "
      "append latency p50 %.2f ms p99 %.2f ms\n",
      ingest_s, ingest_rate, static_cast<double>(bytes) / ingest_s / 1e6, static_cast<unsigned long long>(st.batches),
      static_cast<double>(appends) / static_cast<double>(std::max<std::uint64_t>(1, st.batches)),
      static_cast<unsigned long long>(st.fsyncs), p50, p99);

  // ---- 2. the disk's ceiling: same bytes, same cadence, plain write + fdatasync ---------------
  std::filesystem::remove_all(log_dir);
  const std::string raw_path = o.dir + "/raw-ceiling.bin";
  const int fd = ::open(raw_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(raw_path.c_str());
    return 1;
  }
  const std::uint64_t syncs = o.fsync == buf::fsync_policy::never ? 0 : std::max<std::uint64_t>(1, st.fsyncs);
  const std::uint64_t chunks = std::max<std::uint64_t>(1, o.fsync == buf::fsync_policy::always ? syncs : st.batches);
  const std::size_t chunk = static_cast<std::size_t>((bytes + chunks - 1) / chunks);
  std::string data(chunk, 'r');
  const std::uint64_t sync_every = syncs == 0 ? 0 : std::max<std::uint64_t>(1, chunks / syncs);
  const auto t1 = clock_type::now();
  std::uint64_t written = 0;
  for (std::uint64_t c = 0; c < chunks && written < bytes; ++c) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, bytes - written));
    std::size_t off = 0;
    while (off < n) {
      const ssize_t w = ::write(fd, data.data() + off, n - off);
      if (w < 0) {
        std::perror("write");
        return 1;
      }
      off += static_cast<std::size_t>(w);
    }
    written += n;
    if (sync_every && (c + 1) % sync_every == 0 && ::fdatasync(fd) != 0) {
      std::perror("fdatasync");
      return 1;
    }
  }
  ::close(fd);
  const double raw_s = std::chrono::duration<double>(clock_type::now() - t1).count();
  std::filesystem::remove(raw_path);
  if (made_dir) std::filesystem::remove_all(o.dir);
  const double ceiling = events / raw_s;
  std::printf(
      "disk ceiling: %llu bytes in %llu writes of %zu B with %llu fdatasync: %.3f s, %.1f MB/s = %.0f events/s\n",
      static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(chunks), chunk,
      static_cast<unsigned long long>(syncs), raw_s, static_cast<double>(bytes) / raw_s / 1e6, ceiling);
  std::printf("durable: ingest=%.0f/s disk_ceiling=%.0f/s ratio=%.2f\n", ingest_rate, ceiling, ingest_rate / ceiling);
  return 0;
}
