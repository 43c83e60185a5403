// What every source (HTTP ingest, AMQP / Event Hubs, the durable buffer) hands to the pipeline:
// device events as Event Hubs would deliver them, and a completion that fires when every event of
// the submission has its final outcome (STYLE habit 4: acknowledge only what is safe).
#pragma once

#include "mapping/failure_class.hpp"
#include "mapping/json/value.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace iomt::transport {

struct event {
  std::string body;  // raw bytes as sent (parsed by the pipeline, iomt-spec §2)
  // Application properties and system properties as compact JSON objects ("{}" when none), exactly
  // what templates see under $.Properties / $.SystemProperties (no date sniffing there, §2).
  std::string properties = "{}";
  std::string system_properties = "{}";
  json::date_time enqueued_time;  // UTC; IngestionTimeUtc of its measurements (§3.4, §5)
  std::string partition_key;      // may be empty
  // The partition it was read from (Event Hubs) or routed to (HTTP ingest); -1: unknown or none
  // (AMQP queues; events read back from the durable buffer). For the event trace.
  std::int32_t partition = -1;
  // The HTTP request that brought it (HTTP ingest), for the event trace: its request id (the
  // client's x-ms-client-request-id, or one the service made; answered as x-ms-request-id), one
  // string shared by every event of the request (no copy per event), and its position in a batch
  // send (0-based; -1: a single send). Null for other sources. Both are kept through the durable
  // buffer (record.hpp).
  std::shared_ptr<const std::string> request_id;
  std::int32_t batch_index = -1;
};

using mapping::failure_class;
using mapping::is_transient;

// Why one event of a submission failed: the worst of its measurement groups' failures (a
// transient one anywhere makes the whole event transient: it is retried as a whole, re-processing
// is idempotent). Sources act on `cls` alone: permanent -> dead-letter store; otherwise the event
// waits (buffer, unsettled delivery) and is submitted again.
struct event_failure {
  std::uint32_t index = 0;  // position of the event in the submitted vector
  std::string stage;        // "normalization" | "fhirConversion"
  std::string type;         // upstream exception name, e.g. "InvalidDataFormatException"
  std::string message;
  failure_class cls = failure_class::permanent;
  // Measurement groups of the event that failed, when others of it were written (a partial write):
  // "<type> <device> <start>..<end>: <error type>: <message>", at most a few.
  std::vector<std::string> groups;
};

// Final outcome of one submission.
struct outcome {
  std::size_t events = 0;
  std::size_t failed = 0;               // events with a reported error (normalization, FHIR conversion, FHIR write)
  std::vector<event_failure> failures;  // one per failed event (failed == failures.size())
  std::size_t transient = 0;            // failures whose class is not permanent
  // Measurements of the submission written to (or already current on) the FHIR server:
  // with transient failures beside them, the server works and those failures are the events' own.
  std::uint64_t written = 0;
  // Nothing of the submission was kept (the durable buffer could not write it): the source must
  // not acknowledge (HTTP 503 + Retry-After, never 201); `error` says why.
  bool refused = false;
  std::string error;
};

enum class submit_status {
  accepted,       // `done` will be called exactly once
  busy,           // queues full: back-pressure, retry later (HTTP 503 + Retry-After); `done` not called
  shutting_down,  // draining; `done` not called
};

using completion = std::function<void(const outcome&)>;

// Implemented by the pipeline. Thread-safe; `done` may run on any thread.
class event_sink {
public:
  virtual ~event_sink() = default;
  virtual submit_status submit(std::vector<event>&& events, completion done) = 0;
  // Which bound refused the last `busy` answer, for the 503 text and /readyz ("queues full",
  // "durable buffer full", ...). Any thread.
  virtual std::string busy_reason() const { return "queues full"; }
};

}  // namespace iomt::transport
