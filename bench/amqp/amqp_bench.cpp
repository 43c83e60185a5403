// bench/amqp: AMQP ingest -> FHIR rate of iomtflow vs the raw drain rate of the same broker by a
// bare Proton receiver (iomt issue 5). Also the AMQP load generator (`send`).
//
//   amqp [all] --url amqps://127.0.0.1:5671 --ca CA --user U --password P --queue Q
//              [--count 50000] [--devices 100] [--fhir URL | --null-sink] [--shards 2]
//              [--credit 5000] [--batch 500] [--connections 1] [--bundles]
//   amqp send  ... --count N        fill the queue (at-least-once, 1000 unsettled)
//   amqp drain ... --count N        the bare receiver only
//   amqp ingest ... --count N       iomtflow's source only
//
// `all`: fill N, drain N with the bare receiver (broker_ceiling = N / its time), fill N again,
// then ingest N through transport/amqp -> the pipeline (parse, normalize, group) -> the FHIR server
// (in-process, the same code `iomtflow run` wires; --null-sink completes at once instead):
// ingest = N / (first delivery .. last delivery accepted after its Observations were written).
// Messages are the e2e Quantity workload (bench/e2e/quantity-*.json): one Observation each.
// Last line: `amqp: ingest=<N>/s broker_ceiling=<N>/s ratio=<R>`. Figures only: nothing here
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
  bool bundles = false;
  std::size_t count = 50000, devices = 100;
  std::uint32_t shards = 2, credit = 5000, batch = 500, connections = 1;
  std::string mappings_dir;
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
  auto r = (*s)->send(msgs);
  if (!r) throw std::runtime_error("send: " + r.error().message());
  const double secs = seconds_since(t0);
  std::cerr << "send: " << o.count << " messages in " << secs << " s ("
            << static_cast<long>(static_cast<double>(o.count) / secs) << "/s)\n";
  return static_cast<double>(o.count) / secs;
}

double drain(const options& o) {
  iomt::bench::bare_receiver_options bo{o.url, o.ca, o.user, o.password, "/amq/queue/" + o.queue, o.count, 1000};
  auto r = iomt::bench::bare_drain(bo);
  if (!r) throw std::runtime_error("drain: " + r.error());
  std::cerr << "drain (bare Proton receiver): " << r->received << " messages in " << r->seconds << " s ("
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

double ingest(const options& o) {
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
    std::ostringstream yaml;
    yaml << "source: {http: {enabled: false, auth: none}}\n"
         << "mapping: {device: " << o.mappings_dir << "/quantity-device.json, fhir: " << o.mappings_dir
         << "/quantity-fhir.json}\n"
         << "pipeline: {shards: " << o.shards << ", flush_interval: 200ms}\n"
         << "fhir: {url: '" << o.fhir << "', identity: Create, bundles: " << (o.bundles ? "true" : "false") << "}\n"
         << "log: {level: warn}\n";
    auto parsed = iomt::pipeline::parse_config(yaml.str(), ".");
    if (!parsed) throw std::runtime_error("config: " + parsed.error().field + ": " + parsed.error().message);
    cfg = *parsed;
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
  while (src.stats().received == 0 && !failed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
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
    if (seconds_since(t0) > 600) throw std::runtime_error("ingest did not finish within 10 minutes");
  }
  const double secs = seconds_since(t0);
  const auto st = src.stats();
  src.stop();
  if (pipe) pipe->stop();
  std::cerr << "ingest (" << (o.null_sink ? "AMQP source, null sink" : "AMQP -> pipeline -> FHIR")
            << "): " << st.accepted << " messages accepted in " << secs << " s ("
            << static_cast<long>(static_cast<double>(st.accepted) / secs) << "/s), busy retries " << st.busy
            << ", deliveries " << st.received << ", connection attempts " << st.attempts
            << (st.last_error.empty() ? "" : ", last error: " + st.last_error) << "\n";
  return static_cast<double>(st.accepted) / secs;
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
        o.bundles = true;
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
                     "[--connections N] [--bundles]\n";
        return 2;
      }
    } catch (const std::exception& e) {
      std::cerr << "amqp: " << e.what() << "\n";
      return 2;
    }
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
    } else if (o.mode == "all") {
      fill(o);
      const double ceiling = drain(o);
      fill(o);
      const double rate = ingest(o);
      std::printf("amqp: ingest=%ld/s broker_ceiling=%ld/s ratio=%.2f\n", static_cast<long>(rate),
                  static_cast<long>(ceiling), ceiling > 0 ? rate / ceiling : 0.0);
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
