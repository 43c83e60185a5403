// The streaming pipeline behind `iomtflow run`: sources submit device events; ingest threads
// parse and normalize them (the caller's thread, iomt-spec §2-§4) and route measurements by device
// id to N shards; each shard windows, groups and writes to FHIR (shard.hpp). Submissions complete
// when every event has its final outcome; full shard queues refuse new work (back-pressure).
// Identifiers and values no FHIR server can take are refused here, at normalization (limits below).
#pragma once

#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "pipeline/config.hpp"
#include "pipeline/fork_join.hpp"
#include "pipeline/poison.hpp"
#include "pipeline/shard.hpp"
#include "transport/event.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::pipeline {

class metrics;

// Normalization limits (issue 12): a measurement whose DeviceId, PatientId, EncounterId or
// CorrelationId is longer than max_identifier_bytes, or whose value is longer than
// max_value_bytes, fails its event permanently (InvalidDataFormatException) instead of reaching
// the FHIR server, where it would fail every attempt (URL and resource size limits).
inline constexpr std::size_t max_identifier_bytes = 1024;
inline constexpr std::size_t max_value_bytes = 64 * 1024;

class pipeline final : public transport::event_sink {
public:
  pipeline(const pipeline_config& cfg, std::shared_ptr<const mapping::device::device_mapping> device,
           std::shared_ptr<const mapping::fhir::fhir_mapping> fhir, metrics& m, shard::writer_factory make_writer,
           poison_options poison = {});
  ~pipeline() override;

  // debug.trace (issue 13): every accepted event is recorded with its path. Call before start();
  // `t` must outlive the pipeline.
  void set_trace(trace::event_trace* t);

  void start();
  // Refuses new submissions and makes every shard flush now (SIGTERM: in-flight HTTP requests then
  // complete without waiting for the flush interval). Non-blocking.
  void begin_drain();
  // Refuses new submissions, flushes every shard, waits for in-flight writes. Idempotent.
  void stop();

  // Thread-safe: parses and normalizes on the calling thread and the pool (as many threads as
  // shards), then routes in event order.
  transport::submit_status submit(std::vector<transport::event>&& events, transport::completion done) override {
    return submit(std::move(events), std::move(done), "unknown");
  }
  // The same, naming the source for the event trace ("http", "amqp", ...; see source_sink).
  transport::submit_status submit(std::vector<transport::event>&& events, transport::completion done,
                                  std::string_view source);

  std::size_t shard_count() const { return shards_.size(); }
  // A shard holds as much as it may: submissions are refused (busy) until it writes some.
  bool saturated() const;
  std::string busy_reason() const override { return "the pipeline's queues are full"; }
  // Shard of a device id (stable; the same device always lands on the same shard).
  std::size_t shard_of(std::string_view device_id) const;

private:
  pipeline_config cfg_;
  std::shared_ptr<const mapping::device::device_mapping> device_;
  std::shared_ptr<const mapping::fhir::fhir_mapping> fhir_;
  metrics& metrics_;
  std::atomic<std::uint64_t> written_total_{0};  // measurements written by every shard (poison.hpp)
  poison_detector poison_;
  submission_context context_;
  fork_join_pool pool_;  // parse + normalize: shards - 1 workers and the submitting thread
  std::vector<std::unique_ptr<shard>> shards_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  bool started_ = false;
  trace::event_trace* trace_ = nullptr;
};

// The pipeline as one source sees it: submissions are traced under the source's name.
class source_sink final : public transport::event_sink {
public:
  source_sink(pipeline& p, std::string source) : pipeline_(p), source_(std::move(source)) {}
  transport::submit_status submit(std::vector<transport::event>&& events, transport::completion done) override {
    return pipeline_.submit(std::move(events), std::move(done), source_);
  }
  std::string busy_reason() const override { return pipeline_.busy_reason(); }

private:
  pipeline& pipeline_;
  std::string source_;
};

}  // namespace iomt::pipeline
