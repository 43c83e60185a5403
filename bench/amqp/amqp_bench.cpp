// bench/amqp: AMQP ingest -> FHIR rate of iomtflow vs the raw drain rate of the same broker by a
// bare Proton receiver (iomt issue 5). Also the AMQP load generator (`send`). bench/amqp/run
// drives it with real peers and adds the FHIR server's write ceiling.
//
//   amqp [all] --url amqps://127.0.0.1:5671 --ca CA --user U --password P --queue Q
//              [--count 50000] [--devices 100] [--fhir URL | --null-sink] [--shards 2]
//              [--credit 5000] [--batch 500] [--connections 1] [--bundles | --no-bundles]
//              [--fhir-connections 8] [--bundle-size 50] [--timeout 300]
//   amqp send  ... --count N        fill the queue (at-least-once, 1000 unsettled)
//   amqp drain ... --count N        the bare receiver only
//   amqp ingest ... --count N       iomtflow's source only
//   amqp config ...                 the pipeline config `ingest` runs with, as key=value
//                                   (shards, fhir.max_connections, fhir.bundle_max_entries, ...)
//   amqp print [--count 1] [--devices 100]   the message bodies `send` sends, one per line
//
// `all`: fill N, drain N with the bare receiver (broker_ceiling = N / its time), fill N again,
// then ingest N through transport/amqp -> the pipeline (parse, normalize, group) -> the FHIR server
// (in-process, the same code `iomtflow run` wires; --null-sink completes at once instead):
// ingest = N / (first delivery .. last delivery accepted after its Observations were written).
// fhir.bundles is left to the service's default unless --bundles / --no-bundles.
// Messages are the e2e Quantity workload (bench/e2e/quantity-*.json): one Observation each.
// Each step fails (exit 1) when it does not complete its N messages within --timeout s.
// After each consuming step the rest of the queue is drained and counted (drain_left,
// ingest_left): the rates count only what the broker saw consumed.
// Last line: `amqp-run: ingest=<N>/s observations=<N>/s broker_ceiling=<N>/s messages=<N>
// drained=<N> drain_left=<N> accepted=<N> ingest_left=<N> created=<N> updated=<N> seconds=<S>`
// (bench/amqp/run checks these counts and prints the `amqp:` line). Figures only: nothing here
// passes or fails on time.
#include "bench/amqp/bare_receiver.hpp"
#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "pipeline/config.hpp"
#include "pipeline/fhir_writer.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/pipeline.hpp"
#include "transport/amqp/sender.hpp"
#include "transport/amqp/source.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace ta = iomt::transport::amqp;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string mode = "all";
  std::string url = "amqps://127.0.0.1:5671", ca, user = "iomt", password = "iomt-secret", queue = "amqp-bench";
  std::string fhir;
  bool null_sink = false;
  std::string bundles;  // "true" | "false" | "" (the service's default)
  std::size_t count = 50000, devices = 100;
  std::uint32_t shards = 2, credit = 5000, batch = 500, connections = 1;
  std::uint32_t fhir_connections = 8;
  std::size_t bundle_size = 50;
  double timeout = 300;  // s per step
  std::string mappings_dir;
};

// What one ingest step did.
struct ingest_result {
  std::size_t accepted = 0;
  double seconds = 0;
  double created = 0, updated = 0;  // FhirResourceSaved in the ingest interval
};

std::string env_or(const char* k, std::string d) {
  const char* v = std::getenv(k);
  return v && *v ? v : d;
}

std::string read_text(const std::string& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("cannot read " + p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The e2e Quantity message: one reading per device per second, so each becomes one Observation.
std::string body(std::size_t i, std::size_t devices) {
  const std::size_t dev = i % devices, tick = i / devices;
  char ts[64];
  std::snprintf(ts, sizeof ts, "2024-05-01T%02zu:%02zu:%02zuZ", (tick / 3600) % 24, (tick / 60) % 60, tick % 60);
  return R"({"device_id":"amqp-bench-dev-)" + std::to_string(dev) + R"(","patient_id":"amqp-bench-pat-)" +
         std::to_string(dev) + R"(","hr":)" + std::to_string(60 + i % 40) + R"(,"utctimestamp":")" + ts + R"("})";
}

// The pipeline config of `ingest` (the same keys as iomtflow.yaml).
std::string pipeline_yaml(const options& o) {
  std::ostringstream yaml;
  yaml << "source: {http: {enabled: false, auth: none}}\n"
       << "mapping: {device: " << o.mappings_dir << "/quantity-device.json, fhir: " << o.mappings_dir
       << "/quantity-fhir.json}\n"
       << "pipeline: {shards: " << o.shards << ", flush_interval: 200ms}\n"
       << "fhir: {url: '" << (o.fhir.empty() ? "http://127.0.0.1:1/fhir" : o.fhir)
       << "', identity: Create, max_connections: " << o.fhir_connections << ", bundle_max_entries: " << o.bundle_size
       << (o.bundles.empty() ? "" : ", bundles: " + o.bundles) << "}\n"
       << "log: {level: warn}\n";
  return yaml.str();
}

iomt::pipeline::service_config parse_pipeline_config(const options& o) {
  auto parsed = iomt::pipeline::parse_config(pipeline_yaml(o), ".");
  if (!parsed) throw std::runtime_error("config: " + parsed.error().field + ": " + parsed.error().message);
  return *parsed;
}

double fill(const options& o) {
  ta::sender_options so;
  so.url = o.url;
  so.user = o.user;
  so.password = o.password;
  so.tls.ca_file = o.ca;
  so.tls.server_name = "localhost";
  so.address = "/queue/" + o.queue;  // declares the durable queue when missing
  auto s = ta::blocking_sender::connect(so);
  if (!s) throw std::runtime_error("send: " + s.error().message());
  std::vector<std::string> msgs;
  msgs.reserve(o.count);
  for (std::size_t i = 0; i < o.count; ++i) {
    ta::outgoing_message m;
    m.body = body(i, o.devices);
    m.content_type = "application/json";
    msgs.push_back(ta::encode_message(m));
  }
  const auto t0 = clock_type::now();
  // blocking_sender::send has no time limit of its own: a watchdog ends the process instead.
  std::atomic<bool> sent{false};
  std::thread watchdog([&] {
    while (!sent && seconds_since(t0) < o.timeout) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!sent) {
      std::cerr << "amqp: send: " << o.count << " messages not sent within " << o.timeout << " s\n";
      std::_Exit(1);
    }
  });
  auto r = (*s)->send(msgs);
  sent = true;
  watchdog.join();
  if (!r) throw std::runtime_error("send: " + r.error().message());
  const double secs = seconds_since(t0);
  std::cerr << "send: " << o.count << " messages in " << secs << " s ("
            << static_cast<long>(static_cast<double>(o.count) / secs) << "/s)\n";
  return static_cast<double>(o.count) / secs;
}

double drain(const options& o, std::size_t* received = nullptr, const char* what = "drain (bare Proton receiver)") {
  // The same credit window as iomtflow's source (--credit), so both drain under the same flow control.
  iomt::bench::bare_receiver_options bo{
      o.url, o.ca, o.user, o.password, "/amq/queue/" + o.queue, o.count, static_cast<int>(o.credit)};
  auto r = iomt::bench::bare_drain(bo);
  if (!r) throw std::runtime_error("drain: " + r.error());
  if (received) *received = r->received;
  std::cerr << what << ": " << r->received << " messages in " << r->seconds << " s ("
            << static_cast<long>(static_cast<double>(r->received) / r->seconds) << "/s)\n";
  return static_cast<double>(r->received) / r->seconds;
}

// Completes at once (transport overhead only).
class null_sink final : public iomt::transport::event_sink {
public:
  iomt::transport::submit_status submit(std::vector<iomt::transport::event>&& events,
                                        iomt::transport::completion done) override {
    iomt::transport::outcome out;
    out.events = events.size();
    done(out);
    return iomt::transport::submit_status::accepted;
  }
};

ingest_result ingest(const options& o) {
  std::unique_ptr<iomt::transport::event_sink> own_sink;
  std::unique_ptr<iomt::pipeline::metrics> metrics;
  std::unique_ptr<iomt::pipeline::pipeline> pipe;
  std::shared_ptr<const iomt::mapping::device::device_mapping> device;
  std::shared_ptr<const iomt::mapping::fhir::fhir_mapping> fhir_map;
  iomt::transport::event_sink* sink = nullptr;
  iomt::pipeline::service_config cfg;
  if (o.null_sink) {
    own_sink = std::make_unique<null_sink>();
    sink = own_sink.get();
  } else {
    // The same wiring as `iomtflow run` (pipeline/commands/run_command.cpp), in-process.
    cfg = parse_pipeline_config(o);
    auto d = iomt::mapping::device::device_mapping::load(read_text(cfg.mapping.device_mapping));
    auto f = iomt::mapping::fhir::fhir_mapping::load(read_text(cfg.mapping.fhir_mapping));
    if (!d.valid() || !f.valid()) throw std::runtime_error("the bench mappings are invalid");
    device = d.mapping;
    fhir_map = f.mapping;
    metrics = std::make_unique<iomt::pipeline::metrics>(cfg.pipeline.shards);
    const auto fcfg = cfg.fhir;
    auto* m = metrics.get();
    auto fm = fhir_map;
    pipe = std::make_unique<iomt::pipeline::pipeline>(
        cfg.pipeline, device, fhir_map, *metrics,
        [fcfg, m, fm](boost::asio::io_context& ioc) -> std::unique_ptr<iomt::pipeline::group_writer> {
          auto w = iomt::pipeline::fhir_group_writer::create(ioc, fcfg, *fm, *m);
          if (!w) throw std::runtime_error(w.error().message);
          return std::move(*w);
        });
    pipe->start();
    sink = pipe.get();
  }

  ta::source_options so;
  so.url = o.url;
  so.user = o.user;
  so.password = o.password;
  so.tls.ca_file = o.ca;
  so.tls.server_name = "localhost";
  so.addresses = {"/amq/queue/" + o.queue};
  so.connections = o.connections;
  so.threads = o.connections;
  so.consumer.credit.max_unsettled = o.credit;
  so.consumer.max_batch_events = o.batch;
  std::atomic<bool> failed{false};
  ta::source src(so, *sink, [&](int level, const std::string& m, const std::string& d) {
    if (level >= 2) {
      std::cerr << "amqp: " << m << (d.empty() ? "" : " (" + d + ")") << "\n";
      failed = true;
    }
  });
  src.start();
  const auto started = clock_type::now();
  while (src.stats().received == 0 && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (seconds_since(started) > o.timeout) throw std::runtime_error("ingest: no delivery within the time limit");
  }
  const double saved0 = metrics ? metrics->saved_created->Value() + metrics->saved_updated->Value() : 0;
  const double created0 = metrics ? metrics->saved_created->Value() : 0;
  const auto t0 = clock_type::now();
  auto last_report = t0;
  while (src.stats().accepted < o.count && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (clock_type::now() - last_report > std::chrono::seconds(5)) {
      last_report = clock_type::now();
      const auto st = src.stats();
      std::cerr << "  ... received " << st.received << ", accepted " << st.accepted << ", busy " << st.busy
                << ", attempts " << st.attempts << "\n";
    }
    if (seconds_since(started) > o.timeout) {
      const auto st = src.stats();
      throw std::runtime_error("ingest: " + std::to_string(st.accepted) + " of " + std::to_string(o.count) +
                               " messages accepted within the time limit (" + std::to_string(o.timeout) + " s)");
    }
  }
  ingest_result res;
  res.seconds = seconds_since(t0);
  const auto st = src.stats();
  res.accepted = st.accepted;
  if (metrics) {
    res.created = metrics->saved_created->Value() - created0;
    res.updated = metrics->saved_created->Value() + metrics->saved_updated->Value() - saved0 - res.created;
  }
  src.stop();
  if (pipe) pipe->stop();
  std::cerr << "ingest (" << (o.null_sink ? "AMQP source, null sink" : "AMQP -> pipeline -> FHIR")
            << "): " << st.accepted << " messages accepted in " << res.seconds << " s ("
            << static_cast<long>(static_cast<double>(st.accepted) / res.seconds) << "/s), busy retries " << st.busy
            << ", deliveries " << st.received << ", connection attempts " << st.attempts
            << (st.last_error.empty() ? "" : ", last error: " + st.last_error) << "\n";
  if (failed) throw std::runtime_error("ingest: the AMQP source reported an error");
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  o.url = env_or("AMQP_URL", o.url);
  o.ca = env_or("AMQP_CA", "");
  o.user = env_or("AMQP_USER", o.user);
  o.password = env_or("AMQP_PASS", o.password);
  o.fhir = env_or("FHIR_URL", "");
  const char* src = std::getenv("IOMT_SOURCE_DIR");
  o.mappings_dir = std::string(src && *src ? src : ".") + "/bench/e2e";
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') o.mode = argv[i++];
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--url")
        o.url = next();
      else if (a == "--ca")
        o.ca = next();
      else if (a == "--user")
        o.user = next();
      else if (a == "--password")
        o.password = next();
      else if (a == "--queue")
        o.queue = next();
      else if (a == "--fhir")
        o.fhir = next();
      else if (a == "--null-sink")
        o.null_sink = true;
      else if (a == "--bundles")
        o.bundles = "true";
      else if (a == "--no-bundles")
        o.bundles = "false";
      else if (a == "--fhir-connections")
        o.fhir_connections = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--bundle-size")
        o.bundle_size = std::stoul(next());
      else if (a == "--timeout")
        o.timeout = std::stod(next());
      else if (a == "--count")
        o.count = std::stoul(next());
      else if (a == "--devices")
        o.devices = std::stoul(next());
      else if (a == "--shards")
        o.shards = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--credit")
        o.credit = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--batch")
        o.batch = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--connections")
        o.connections = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--mappings")
        o.mappings_dir = next();
      else {
        std::cerr << "usage: amqp [all|send|drain|ingest] --url URL --ca CA --user U --password P --queue Q "
                     "[--count N] [--devices N] [--fhir URL | --null-sink] [--shards N] [--credit N] [--batch N] "
                     "[--connections N] [--bundles | --no-bundles] [--fhir-connections N] [--bundle-size N] "
                     "[--timeout S]\n"
                     "       amqp config [...] | amqp print [--count N] [--devices N]\n";
        return 2;
      }
    } catch (const std::exception& e) {
      std::cerr << "amqp: " << e.what() << "\n";
      return 2;
    }
  }
  if (o.timeout <= 0) {
    std::cerr << "amqp: --timeout must be positive\n";
    return 2;
  }
  if (!o.null_sink && o.fhir.empty() && (o.mode == "all" || o.mode == "ingest")) {
    std::cerr << "amqp: give --fhir URL (or FHIR_URL), or --null-sink\n";
    return 2;
  }
  try {
    if (o.mode == "send") {
      fill(o);
    } else if (o.mode == "drain") {
      drain(o);
    } else if (o.mode == "ingest") {
      ingest(o);
    } else if (o.mode == "config") {
      const auto cfg = parse_pipeline_config(o);
      std::printf("shards=%u fhir.max_connections=%u fhir.bundle_max_entries=%zu fhir.bundles=%s\n",
                  cfg.pipeline.shards, cfg.fhir.max_connections, cfg.fhir.bundle_max_entries,
                  cfg.fhir.bundles == iomt::pipeline::bundles_mode::automatic ? "auto"
                  : cfg.fhir.bundles == iomt::pipeline::bundles_mode::on      ? "true"
                                                                              : "false");
    } else if (o.mode == "print") {
      for (std::size_t k = 0; k < std::max<std::size_t>(o.count, 1); ++k)
        std::printf("%s\n", body(k, o.devices).c_str());
    } else if (o.mode == "all") {
      // What a consuming step left in the queue: messages it counted but the broker did not see
      // consumed (or extra ones), found by draining what is left.
      auto leftover = [&] {
        options rest = o;
        rest.count = 100000000;
        std::size_t n = 0;
        drain(rest, &n, "left in the queue");
        return n;
      };
      if (const std::size_t stale = leftover(); stale)
        std::cerr << "amqp: " << stale << " messages of an earlier run were in the queue\n";
      fill(o);
      std::size_t drained = 0;
      const double drain_rate = drain(o, &drained);
      const std::size_t drain_left = leftover();
      fill(o);
      const ingest_result r = ingest(o);
      const std::size_t ingest_left = leftover();
      const double secs = r.seconds > 0 ? r.seconds : 1e-9;
      // Rates of what the broker saw consumed: counted minus what was left behind.
      const double broker_ceiling =
          drained
              ? drain_rate * static_cast<double>(drained - std::min(drain_left, drained)) / static_cast<double>(drained)
              : 0.0;
      const double consumed = static_cast<double>(r.accepted - std::min(ingest_left, r.accepted));
      std::printf(
          "amqp-run: ingest=%.0f/s observations=%.0f/s broker_ceiling=%.0f/s messages=%zu drained=%zu drain_left=%zu "
          "accepted=%zu ingest_left=%zu created=%.0f updated=%.0f seconds=%.3f\n",
          consumed / secs, (r.created + r.updated) / secs, broker_ceiling, o.count, drained, drain_left, r.accepted,
          ingest_left, r.created, r.updated, secs);
    } else {
      std::cerr << "amqp: unknown mode " << o.mode << "\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "amqp: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
