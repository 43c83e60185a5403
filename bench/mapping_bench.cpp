// iomtflow-bench-mapping: one core, the workshop mapping, generated device messages of realistic
// size. Measures in one run (a) simdjson parse only (the floor), (b) parse + normalize,
// (c) parse + normalize + group + Observation build, and prints messages/s and ratios to (a).
//
//   iomtflow-bench-mapping [--messages N] [--rounds R] [--batch B] [--device-mapping D] [--fhir-mapping F]
//
// Without mapping arguments the workshop mappings are read from $IOMT_SHARED_DIR (../shared).
#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/json/envelope.hpp"
#include "mapping/json/reader.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/offline_batch.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

// Workshop-shaped messages (Challenge-09 sample types): VITALS (10 fields), BP, WEIGHT; 200 devices.
std::vector<std::string> generate(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> hr(55, 140), spo2(88, 100), sys(100, 190), dia(60, 110), steps(0, 40);
  std::uniform_real_distribution<double> perf(0.5, 2.5), temp(33.0, 38.5), weight(45.0, 140.0);
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int device = static_cast<int>(i % 200);
    const int sec = static_cast<int>(i / 200);  // one message per device per second
    const std::string ts =
        "2020-10-22T" + two(1 + sec / 3600 % 20) + ":" + two(sec / 60 % 60) + ":" + two(sec % 60) + "+00:00";
    const std::string patient = "\"patient_id\": \"Patient" + std::to_string(device) + "\"";
    std::string m;
    switch (i % 10) {
      case 8:
        m = "{\n  \"type\": \"BP\",\n  \"data\": [{" + patient + ", \"device_id\": \"BP" + std::to_string(device) +
            "\", \"sys\": \"" + std::to_string(sys(rng)) + "\", \"dia\": \"" + std::to_string(dia(rng)) +
            "\", \"utctimestamp\": \"" + ts + "\"}]\n}";
        break;
      case 9:
        m = "{\n  \"type\": \"WEIGHT\",\n  \"data\": [{" + patient + ", \"device_id\": \"WT" + std::to_string(device) +
            "\", \"weight\": \"" + std::to_string(weight(rng)).substr(0, 5) +
            "\", \"unit\": \"kg\", \"utctimestamp\": \"" + ts + "\"}]\n}";
        break;
      default:
        m = "{\n  \"type\": \"VITALS\",\n  \"data\": [{" + patient + ",\n    \"device_id\": \"MSFT" +
            std::to_string(device) + "\",\n    \"utctimestamp\": \"" + ts +
            "\",\n    \"spo2\": " + std::to_string(spo2(rng)) + ",\n    \"hr\": " + std::to_string(hr(rng)) +
            ",\n    \"bloodperfusion\": " + std::to_string(perf(rng)) +
            ",\n    \"steps\": " + std::to_string(steps(rng)) + ",\n    \"bpw\": " + std::to_string(perf(rng)) +
            ",\n    \"rrate\": " + std::to_string(hr(rng) / 5) + ",\n    \"bodytemp\": " + std::to_string(temp(rng)) +
            "\n  }]\n}";
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string read_or_die(const std::string& path) {
  std::string err;
  auto text = iomt::cli::read_input(path, err);
  if (!text) {
    std::cerr << "iomtflow-bench-mapping: " << err << '\n';
    std::exit(2);
  }
  return *text;
}

template <class F>
double best_rate(std::size_t messages, int rounds, F&& run) {
  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = clock_type::now();
    run();
    double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    best = std::max(best, static_cast<double>(messages) / s);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  iomt::cli::args a(argc, argv, 1, {});
  const std::size_t n = std::stoul(a.get("messages").value_or("200000"));
  const int rounds = std::stoi(a.get("rounds").value_or("3"));
  const std::size_t batch = std::stoul(a.get("batch").value_or("1000"));
  const char* env = std::getenv("IOMT_SHARED_DIR");
  const std::string shared = env && *env ? env : "../shared";
  const std::string workshop =
      shared + "/vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData/Answers/";
  const auto dmap = iomt::mapping::device::device_mapping::load(
      read_or_die(a.get("device-mapping").value_or(workshop + "devicecontent.json")));
  const auto fmap = iomt::mapping::fhir::fhir_mapping::load(
      read_or_die(a.get("fhir-mapping").value_or(workshop + "fhirmapping.json")));
  if (!dmap.valid() || !fmap.valid()) {
    std::cerr << "iomtflow-bench-mapping: invalid mappings\n";
    return 2;
  }
  const auto messages = generate(n, 42);
  std::size_t bytes = 0;
  for (const auto& m : messages) bytes += m.size();
  std::printf("messages: %zu, mean size %zu bytes, %d rounds (best of), batch %zu, one core\n", n, bytes / n, rounds,
              batch);

  // (a) simdjson DOM parse only: the floor.
  simdjson::dom::parser sj;
  std::size_t sink = 0;
  const double parse = best_rate(n, rounds, [&] {
    for (const auto& m : messages) {
      auto doc = sj.parse(m.data(), m.size());
      sink += doc.error() ? 0 : 1;
    }
  });

  // (b) parse into tokens + envelope + normalize.
  iomt::json::body_reader reader;
  iomt::json::arena arena;
  std::vector<iomt::mapping::measurement> ms;
  std::size_t produced = 0, failed = 0;
  const double normalize = best_rate(n, rounds, [&] {
    produced = failed = 0;
    for (const auto& m : messages) {
      arena.reset();
      ms.clear();
      auto body = reader.read(m, arena);
      if (!body) {
        ++failed;
        continue;
      }
      auto env_v = iomt::json::make_envelope(*body, {}, {}, arena);
      if (!dmap.mapping->normalize(env_v, arena, ms)) ++failed;
      produced += ms.size();
    }
  });

  // (c) + group + Observation build/merge, in batches (what one shard does per flush).
  std::size_t observations = 0, conversion_errors = 0;
  const double transform = best_rate(n, rounds, [&] {
    observations = conversion_errors = 0;
    iomt::pipeline::offline_batch fhir_batch(*fmap.mapping,
                                             {"", {iomt::json::unix_epoch_ticks, iomt::json::date_kind::utc}});
    std::vector<iomt::pipeline::stage_error> errors;
    ms.clear();
    for (std::size_t i = 0; i < messages.size(); ++i) {
      arena.reset();
      auto body = reader.read(messages[i], arena);
      if (body) (void)dmap.mapping->normalize(iomt::json::make_envelope(*body, {}, {}, arena), arena, ms);
      if ((i + 1) % batch == 0 || i + 1 == messages.size()) {
        fhir_batch.convert(ms, errors);
        ms.clear();
      }
    }
    observations = fhir_batch.store().all_of("Observation").size();
    conversion_errors = errors.size();
  });

  std::printf("(a) parse only (simdjson DOM)            %12.0f msg/s  %6.1f MB/s  1.00x\n", parse,
              parse * static_cast<double>(bytes) / static_cast<double>(n) / 1e6);
  std::printf(
      "(b) parse + normalize                    %12.0f msg/s  %6.2fx of (a)  (%zu measurements/round, %zu errors)\n",
      normalize, normalize / parse, produced, failed);
  std::printf("(c) parse + normalize + group + build    %12.0f msg/s  %6.2fx of (a)  (%zu Observations, %zu errors)\n",
              transform, transform / parse, observations, conversion_errors);
  if (sink == 0) std::printf("(no document parsed)\n");
  std::printf("mapping: parse=%.0f/s normalize=%.0f/s transform=%.0f/s\n", parse, normalize, transform);
  return 0;
}
