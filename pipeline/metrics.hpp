// Prometheus metrics of the service (prometheus-cpp, text format on GET /metrics). Names follow
// Prometheus conventions and cover MedTech's metrics (iomt-spec §14): DeviceEvent ->
// iomtflow_device_events_total, NormalizedEvent -> iomtflow_normalized_events_total, DroppedEvent ->
// iomtflow_dropped_events_total, Measurement -> iomtflow_measurements_total, MeasurementGroup ->
// iomtflow_measurement_groups_total, FhirResourceSaved -> iomtflow_fhir_resources_saved_total{operation},
// error metrics -> iomtflow_errors_total{stage,type,severity}. docs/metrics.md lists them all.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::pipeline {

class metrics {
public:
  explicit metrics(std::size_t shards);

  prometheus::Registry& registry() { return *registry_; }
  // Prometheus text exposition format 0.0.4: the registry's families and every collectable's.
  std::string serialize() const;
  // A component's counters read at scrape time (transport/metrics/collector.hpp). Not thread-safe:
  // add them at start-up, before /metrics is served.
  void add_collectable(std::shared_ptr<prometheus::Collectable> c) { collectables_.push_back(std::move(c)); }

  // Set once in the constructor; the registry owns them.
  prometheus::Counter* device_events;
  prometheus::Counter* ingress_bytes;
  prometheus::Counter* normalized_events;
  prometheus::Counter* dropped_events;
  prometheus::Counter* measurements;
  prometheus::Counter* measurement_groups;
  prometheus::Counter* saved_created;
  prometheus::Counter* saved_updated;
  prometheus::Counter* saved_no_op;
  prometheus::Counter* contention;
  prometheus::Counter* backpressure;
  prometheus::Counter* flushes;
  prometheus::Histogram* normalize_seconds;
  prometheus::Histogram* flush_seconds;
  prometheus::Histogram* group_write_seconds;
  prometheus::Histogram* ingest_to_persisted_seconds;
  prometheus::Histogram* batch_size;
  prometheus::Gauge* ready;
  prometheus::Gauge* queue_capacity;        // pipeline.queue_capacity (work items per shard)
  prometheus::Gauge* waiting_events;        // transient failures waiting for a retry (issue 12)
  prometheus::Gauge* oldest_unwritten_age;  // seconds
  prometheus::Gauge* fhir_failing;          // 0 / 1

  // stage: ingest | normalization | fhir_conversion | fhir_write; type: upstream exception name.
  void error(std::string_view stage, std::string_view type, std::string_view severity = "error");
  prometheus::Gauge& queue_depth(std::size_t shard);
  prometheus::Gauge& pending_measurements(std::size_t shard);
  // FHIR request latency by method and status class ("200", "412", "network"). Resolves the
  // labelled child on every call: hot paths use a fhir_request_cache.
  void fhir_request(std::string_view method, std::string_view status, double seconds);
  // HTTP requests by route (a small fixed set) and status: lock-free once a pair was seen.
  void http_request(std::string_view route, unsigned status);
  // `n` events that took `seconds` from receipt to their final outcome: one histogram update.
  void observe_ingest_to_persisted(double seconds, std::size_t n);

  // The labelled FHIR latency children one thread (a shard's writer) uses, resolved once each.
  class fhir_request_cache {
  public:
    explicit fhir_request_cache(metrics& m) : m_(m) {}
    void observe(std::string_view method, std::string_view status, double seconds);

  private:
    metrics& m_;
    std::map<std::string, prometheus::Histogram*, std::less<>> children_;
  };
  // An event put in the dead-letter store. stage: normalization | fhir_conversion (FHIR conversion
  // and write) | buffer (an undecodable record); type: the upstream exception name.
  void dead_lettered(std::string_view stage, std::string_view type);
  // Dead-lettered events no longer (or never) kept, by reason: max_bytes | max_age (files the
  // store dropped to stay within deadletter.max_bytes / max_age) | policy (deadletter.policy: count).
  void dead_letters_dropped(std::string_view reason, std::uint64_t events);
  prometheus::Gauge* dead_letter_bytes;  // bytes of the dead-letter store's files

private:
  static constexpr std::size_t http_routes = 6;  // ingest, /metrics, /healthz, /readyz, designer, other
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<std::array<std::atomic<prometheus::Counter*>, http_routes * 600>> http_children_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Family<prometheus::Gauge>* queue_depth_;
  prometheus::Family<prometheus::Gauge>* pending_;
  prometheus::Family<prometheus::Histogram>* fhir_requests_;
  prometheus::Family<prometheus::Counter>* http_requests_;
  prometheus::Family<prometheus::Counter>* dead_letters_;
  prometheus::Family<prometheus::Counter>* dead_letters_dropped_;
};

}  // namespace iomt::pipeline
