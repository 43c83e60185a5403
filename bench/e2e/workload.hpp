// Device messages and FHIR requests of the end-to-end benchmark (bench/e2e), generated
// deterministically from a sequence number so that every message is unique where it must be.
//
// Workloads (device message shape = the Azure workshop's, `{"data":[{...}]}`):
//   quantity  bench/e2e/quantity-{device,fhir}.json: one `hr` reading per message; message `seq`
//             belongs to device seq % devices at base + (seq / devices) seconds, so every message is
//             a distinct (device, second) and becomes exactly one new Observation (periodInterval 0,
//             identifiers have second precision, iomt-spec §7).
//   vitals    the workshop's devicecontent.json + fhirmapping.json (hourly SampledData, 5 s period):
//             six readings per message (hr, spo2, bloodperfusion, steps, rrate, bodytemp; no `bpw`,
//             which the workshop's FHIR mapping has no template for), device seq % devices at
//             base + (seq / devices) * 5 s, so each reading fills its own SampledData slot and an
//             hour of one device is 720 messages merged into 6 Observations.
// Every message carries its send time: "sent_ns" (unix nanoseconds) at the top level, which the
// mappings ignore.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::bench {

enum class workload_kind { quantity, vitals };

struct workload {
  workload_kind kind = workload_kind::quantity;
  std::size_t devices = 100;
  std::string prefix = "bench";         // device ids "<prefix>-d00042", patients "<prefix>-p00042"
  std::int64_t base_unix = 1704067200;  // 2024-01-01T00:00:00Z: readings start here

  // Readings (FHIR measurements) per message.
  std::size_t readings() const noexcept { return kind == workload_kind::quantity ? 1 : 6; }
  // Appends the JSON text of message `seq`.
  void append_message(std::uint64_t seq, std::int64_t sent_unix_ns, std::string& out) const;
};

std::optional<workload_kind> parse_workload(std::string_view name);

// "2024-01-01T00:00:05Z" / "20240101000005" / "2024-01-01T00:00:05.0000000Z".
void append_iso_utc(std::int64_t unix_seconds, std::string& out);
void append_compact_utc(std::int64_t unix_seconds, std::string& out);
void append_roundtrip_utc(std::int64_t unix_seconds, std::string& out);

// Appends `text` as the contents of a JSON string (quotes and backslashes escaped).
void append_json_escaped(std::string_view text, std::string& out);

// The ceiling workload: an Observation as iomtflow builds it (`iomtflow mapping test`) with id,
// identifier value and effectivePeriod replaced per request, so the bare client PUTs Observations
// of the same shape and size as iomtflow's, one per request or `count` per batch Bundle.
class observation_template {
public:
  static std::optional<observation_template> parse(std::string_view observation_json, std::string& error);

  struct rendered {
    std::string id;
    std::string identifier_value;
    std::string body;
  };
  // Observation number `seq` of a run tagged `nonce` (distinct runs never collide).
  void render(std::uint64_t seq, std::uint64_t nonce, rendered& out) const;
  // Appends a `batch` Bundle (FHIR R4 Bundle.type) of `count` entries, each `PUT Observation/<id>`
  // of Observation first_seq + i, as iomtflow's batch writes are (fhir/observation_store.cpp).
  void append_batch(std::uint64_t first_seq, std::size_t count, std::uint64_t nonce, rendered& scratch,
                    std::string& out) const;
  // Appends a `batch` Bundle of the `count` identifier searches iomtflow's create path sends for
  // the same Observations first (GET Observation?identifier=..., fhir/observation_store.cpp).
  void append_search_batch(std::uint64_t first_seq, std::size_t count, std::uint64_t nonce, rendered& scratch,
                           std::string& out) const;
  const std::string& identifier_system() const noexcept { return system_; }

private:
  // The batch Bundle of Observations first_seq.. : their PUTs, or their identifier searches.
  void append_entries(std::uint64_t first_seq, std::size_t count, std::uint64_t nonce, rendered& scratch,
                      std::string& out, bool searches) const;
  std::vector<std::string> pieces_;  // body text around the placeholders
  std::vector<int> slots_;           // placeholder kind after each piece but the last
  std::string system_;
  std::string value_prefix_;  // "{patient}.{device}.{type}."
};

// The answer to a batch Bundle: how many of its entries succeeded (Bundle.entry.response.status
// 2xx). nullopt when the body is not a Bundle with an entry array.
struct batch_answer {
  std::size_t entries = 0;
  std::size_t ok = 0;
  std::string first_failure;  // the first failing entry's response, cut to 300 characters
};
std::optional<batch_answer> read_batch_answer(std::string_view body);

}  // namespace iomt::bench
