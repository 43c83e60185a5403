// The event trace (issue 13 item 5, "where is my data?"): the last events the service received,
// each with its path: where it came from (source, partition, partition key, the HTTP request id,
// Event Hubs system properties),
// the measurements normalization made of it, the measurement groups they joined, the Patient and
// Device the identity step resolved, every Observation written (id and created/updated/no-op) or
// the error with its failure class, and the event's final outcome.
//
// A bounded store, no I/O and no clock (the caller passes the receive time): at most max_events
// records and about max_bytes of their text (bodies, properties, errors; a body longer than
// max_bytes / 4 is cut and flagged). The oldest records are evicted first; a record evicted while
// its event is still in flight simply receives no more updates (updates address records by id).
//
// Cost: the pipeline checks `enabled()` (a plain bool) before building anything, so a service
// without debug.trace.enabled does no work for it. When on, records are built outside the lock by
// the submitting thread and added with one lock per submission; shards attach group outcomes with
// one lock per flush, completions with one lock per submission. Thread-safe: every member may be
// called from any thread.
#pragma once

#include "mapping/failure_class.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::pipeline::trace {

struct trace_options {
  bool enabled = false;               // debug.trace.enabled
  std::size_t max_events = 1000;      // debug.trace.max_events
  std::size_t max_bytes = 16u << 20;  // debug.trace.max_bytes (16 MiB)
};

// What one measurement of the event was (the first max_measurements of an event are kept).
struct measurement_brief {
  std::string type;
  std::string device_id;
  std::optional<std::string> patient_id;
  std::optional<std::string> encounter_id;
  std::int64_t occurrence_ticks = 0;  // .NET ticks, UTC (json::date_time)
  std::uint32_t values = 0;           // properties (values) of the measurement
};

// A failure as the pipeline saw it: the upstream exception name, its message and failure class
// (mapping/failure_class.hpp).
struct error_brief {
  std::string stage;  // "normalization" | "fhirConversion"
  std::string type;
  std::string message;
  mapping::failure_class cls = mapping::failure_class::permanent;
};

struct observation_brief {
  std::string id;         // Observation/<id> on the FHIR server
  std::string operation;  // "created" | "updated" | "no-op"
};

// One measurement group (iomt-spec §5) the event's measurements joined, and its write.
struct group_brief {
  std::string type;
  std::string device_id;
  std::uint32_t measurements = 0;  // of the whole group (other events' too)
  std::int64_t start_ticks = 0;    // occurrence times of the group's measurements
  std::int64_t end_ticks = 0;
  std::string patient;  // resolved resource ids (§11), "" when identity failed
  std::string device;
  std::optional<std::string> encounter;
  std::vector<observation_brief> observations;
  std::vector<error_brief> errors;
};

enum class event_status : std::uint8_t {
  pending,          // in flight: not every measurement has its final outcome yet
  written,          // every measurement written or already current on the server
  no_measurements,  // normalization made nothing of it (no template matched: upstream drops it)
  failed,           // see `outcome`: permanent -> dead-letter store; otherwise retried by the source
};
std::string_view to_string(event_status s) noexcept;

struct event_record {
  std::uint64_t id = 0;               // assigned by the store, increasing
  std::int64_t received_unix_ms = 0;  // when the pipeline took the event
  std::string source;                 // "http", "http (durable buffer)", "amqp", "eventhubs", "replay", ...
  std::string partition_key;
  std::int32_t partition = -1;  // Event Hubs partition read from / HTTP partition routed to
  // HTTP ingest: the request's id (x-ms-request-id; one string shared by the request's events)
  // and the event's index in a batch send (-1: a single send). Null for other sources.
  std::shared_ptr<const std::string> request_id;
  std::int32_t batch_index = -1;
  std::string properties = "{}";         // compact JSON, as templates see $.Properties
  std::string system_properties = "{}";  // compact JSON: x-opt-sequence-number, x-opt-offset, ...
  std::string body;
  std::uint64_t body_bytes = 0;  // the whole body's size (body may be cut)
  bool body_truncated = false;
  std::vector<std::string> devices;  // distinct device ids of its measurements, in order
  std::uint32_t measurement_count = 0;
  std::vector<measurement_brief> measurements;  // the first max_measurements
  std::vector<group_brief> groups;              // the first max_groups
  std::uint32_t groups_omitted = 0;
  std::vector<error_brief> errors;  // normalization / conversion / write errors, the first max_errors
  event_status status = event_status::pending;
  std::optional<error_brief> outcome;  // the failure the source acts on (worst class wins)
  std::size_t bytes = 0;               // accounted size (store internal)

  static constexpr std::size_t max_measurements = 20;
  static constexpr std::size_t max_groups = 32;
  static constexpr std::size_t max_errors = 16;
  static constexpr std::size_t max_devices = 16;
};

// Group outcomes from a shard flush, addressed to a record by id.
struct group_update {
  std::uint64_t id = 0;
  group_brief group;
};

// The final outcome of an event (submission completion). Without a failure the event is
// `written`, or `no_measurements` when its record counted none.
struct completion_update {
  std::uint64_t id = 0;
  std::optional<error_brief> failure;
};

struct trace_stats {
  std::size_t events = 0;
  std::size_t bytes = 0;
  std::uint64_t recorded = 0;  // records ever added
  std::uint64_t evicted = 0;
};

class event_trace {
public:
  explicit event_trace(trace_options options);
  event_trace(const event_trace&) = delete;
  event_trace& operator=(const event_trace&) = delete;

  bool enabled() const noexcept { return options_.enabled; }
  const trace_options& options() const noexcept { return options_; }

  // Bodies longer than this are cut (body_truncated) when a record is added.
  std::size_t max_body_bytes() const noexcept { return options_.max_bytes / 4; }

  // Adds the records in order and assigns their ids; returns the first id (0: the store is off,
  // nothing added). Evicts the oldest records past the bounds.
  std::uint64_t add(std::span<event_record> records);
  // Attaches group outcomes (and their errors) to their records; unknown ids are ignored.
  void add_groups(std::span<group_update> updates);
  // Errors found outside a group (normalization, SampledData values) for a record.
  void add_error(std::uint64_t id, error_brief error);
  // Final outcomes.
  void complete(std::span<const completion_update> updates);

  // Newest first: at most `limit` records whose devices (or partition key) include `device`
  // ("" = any) and, when `request` is not "", that came with that HTTP request id. Copies, so the
  // caller serializes outside the lock.
  std::vector<event_record> query(std::string_view device, std::size_t limit, std::string_view request = {}) const;
  // One record by id, when still held.
  std::optional<event_record> find(std::uint64_t id) const;
  trace_stats stats() const;

  // The size a record is accounted with (exposed for tests).
  static std::size_t size_of(const event_record& r) noexcept;

private:
  event_record* locate(std::uint64_t id);  // requires mutex_
  void evict();                            // requires mutex_

  trace_options options_;
  mutable std::mutex mutex_;
  std::deque<event_record> records_;  // ids front()..back() consecutive
  std::uint64_t next_id_ = 1;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace iomt::pipeline::trace
