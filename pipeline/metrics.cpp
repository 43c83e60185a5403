#include "pipeline/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace iomt::pipeline {

namespace {
using prometheus::Histogram;

const Histogram::BucketBoundaries latency_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                  0.5,    1,     2,      3,     5,    10,    30,   60};
const Histogram::BucketBoundaries size_buckets{1, 10, 50, 100, 500, 1000, 5000, 10000, 50000};
}  // namespace

metrics::metrics(std::size_t shards)
    : registry_(std::make_shared<prometheus::Registry>()),
      http_children_(std::make_unique<std::array<std::atomic<prometheus::Counter*>, http_routes * 600>>()) {
  for (auto& c : *http_children_) c.store(nullptr, std::memory_order_relaxed);
  auto& r = *registry_;
  auto counter = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(r);
  };
  auto histogram = [&](const char* name, const char* help) {
    return &prometheus::BuildHistogram().Name(name).Help(help).Register(r);
  };
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(r);
  };

  device_events = &counter("iomtflow_device_events_total", "Device events received (MedTech DeviceEvent)")->Add({});
  ingress_bytes = &counter("iomtflow_device_ingress_bytes_total",
                           "Bytes of device event bodies received (MedTech DeviceIngressSizeBytes)")
                       ->Add({});
  normalized_events = &counter("iomtflow_normalized_events_total",
                               "Measurements produced by the device mapping (MedTech NormalizedEvent)")
                           ->Add({});
  dropped_events = &counter("iomtflow_dropped_events_total",
                            "Events that produced no measurement without an error (MedTech DroppedEvent)")
                        ->Add({});
  measurements = &counter("iomtflow_measurements_total",
                          "Measurements in converted measurement groups, after dedupe (MedTech Measurement)")
                      ->Add({});
  measurement_groups =
      &counter("iomtflow_measurement_groups_total", "Measurement groups converted (MedTech MeasurementGroup)")->Add({});
  auto* saved =
      counter("iomtflow_fhir_resources_saved_total", "Observations saved by operation (MedTech FhirResourceSaved)");
  saved_created = &saved->Add({{"resource", "Observation"}, {"operation", "created"}});
  saved_updated = &saved->Add({{"resource", "Observation"}, {"operation", "updated"}});
  saved_no_op = &saved->Add({{"resource", "Observation"}, {"operation", "no_op"}});
  contention = &counter("iomtflow_fhir_resource_contention_total",
                        "Creates whose resource had been written concurrently (MedTech FHIRResourceContention)")
                    ->Add({});
  backpressure = &counter("iomtflow_backpressure_rejections_total",
                          "Submissions refused because pipeline queues were full (HTTP 503)")
                      ->Add({});
  flushes = &counter("iomtflow_flushes_total", "Shard window flushes")->Add({});
  auto* stage = histogram("iomtflow_stage_duration_seconds", "Time spent in a pipeline stage");
  normalize_seconds = &stage->Add({{"stage", "normalize"}}, latency_buckets);
  flush_seconds = &stage->Add({{"stage", "flush"}}, latency_buckets);
  group_write_seconds = &stage->Add({{"stage", "fhir_write"}}, latency_buckets);
  ingest_to_persisted_seconds =
      &histogram("iomtflow_ingest_to_persisted_seconds",
                 "From event receipt to its final outcome (Observations written or error reported)")
           ->Add({}, latency_buckets);
  batch_size = &histogram("iomtflow_flush_batch_measurements", "Measurements per shard flush")->Add({}, size_buckets);
  ready =
      &gauge("iomtflow_ready", "1 when the FHIR server is reachable and authorized and the source is ready")->Add({});
  queue_capacity =
      &gauge("iomtflow_queue_capacity", "Work items a shard's input queue holds (pipeline.queue_capacity)")->Add({});
  waiting_events =
      &gauge("iomtflow_waiting_events", "Events whose FHIR write failed transiently, waiting to be submitted again")
           ->Add({});
  oldest_unwritten_age = &gauge("iomtflow_oldest_unwritten_event_age_seconds",
                                "Age of the oldest accepted event whose outcome is not final yet (0: none)")
                              ->Add({});
  fhir_failing = &gauge("iomtflow_fhir_failing",
                        "1 while the FHIR server fails for every event (transient failures, nothing written)")
                      ->Add({});
  errors_ =
      counter("iomtflow_errors_total", "Errors by stage, upstream error type and severity (MedTech error metrics)");
  queue_depth_ = gauge("iomtflow_queue_depth", "Work items waiting in a shard's input queue");
  pending_ = gauge("iomtflow_pending_measurements", "Measurements held in a shard's window or in flight to FHIR");
  fhir_requests_ =
      histogram("iomtflow_fhir_request_duration_seconds", "FHIR server request latency by method and status");
  http_requests_ = counter("iomtflow_http_requests_total", "HTTP requests served, by route and status");
  dead_letters_ =
      counter("iomtflow_deadletter_events_total", "Events put in the dead-letter store, by stage and error type");
  dead_letters_dropped_ = counter("iomtflow_deadletter_dropped_total",
                                  "Dead-lettered events not kept, by reason: max_bytes, max_age, policy");
  for (const char* reason : {"max_bytes", "max_age", "policy"}) dead_letters_dropped_->Add({{"reason", reason}});
  dead_letter_bytes = &gauge("iomtflow_deadletter_bytes", "Bytes of the dead-letter store's files")->Add({});
  // Create every shard's series up front so dashboards see zeros, not absent data.
  for (std::size_t i = 0; i < shards; ++i) {
    queue_depth(i);
    pending_measurements(i);
  }
}

std::string metrics::serialize() const {
  auto families = registry_->Collect();
  for (const auto& c : collectables_)
    for (auto& f : c->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

void metrics::dead_lettered(std::string_view stage, std::string_view type) {
  // The store keeps MedTech's stage names; the label uses this file's (as iomtflow_errors_total).
  const std::string label = stage == "fhirConversion" ? "fhir_conversion" : std::string(stage);
  dead_letters_->Add({{"stage", label}, {"type", std::string(type)}}).Increment();
}

void metrics::dead_letters_dropped(std::string_view reason, std::uint64_t events) {
  dead_letters_dropped_->Add({{"reason", std::string(reason)}}).Increment(static_cast<double>(events));
}

void metrics::error(std::string_view stage, std::string_view type, std::string_view severity) {
  errors_->Add({{"stage", std::string(stage)}, {"type", std::string(type)}, {"severity", std::string(severity)}})
      .Increment();
}

prometheus::Gauge& metrics::queue_depth(std::size_t shard) {
  return queue_depth_->Add({{"shard", std::to_string(shard)}});
}

prometheus::Gauge& metrics::pending_measurements(std::size_t shard) {
  return pending_->Add({{"shard", std::to_string(shard)}});
}

void metrics::fhir_request(std::string_view method, std::string_view status, double seconds) {
  fhir_requests_->Add({{"method", std::string(method)}, {"status", std::string(status)}}, latency_buckets)
      .Observe(seconds);
}

void metrics::http_request(std::string_view route, unsigned status) {
  static constexpr std::array<std::string_view, http_routes - 1> routes{"ingest", "/metrics", "/healthz", "/readyz",
                                                                        "designer"};
  std::size_t r = 0;
  while (r < routes.size() && routes[r] != route) ++r;
  if (r == routes.size() || status >= 600) {  // not one of ours: the slow path
    http_requests_->Add({{"route", std::string(route)}, {"status", std::to_string(status)}}).Increment();
    return;
  }
  auto& slot = (*http_children_)[r * 600 + status];
  prometheus::Counter* c = slot.load(std::memory_order_acquire);
  if (!c) {
    c = &http_requests_->Add({{"route", std::string(route)}, {"status", std::to_string(status)}});
    slot.store(c, std::memory_order_release);  // Add returns the same child for the same labels
  }
  c->Increment();
}

void metrics::observe_ingest_to_persisted(double seconds, std::size_t n) {
  if (n == 0) return;
  if (n == 1) return ingest_to_persisted_seconds->Observe(seconds);
  // One locked update for the whole submission instead of one per event.
  std::vector<double> increments(latency_buckets.size() + 1, 0.0);
  std::size_t b = 0;
  while (b < latency_buckets.size() && seconds > latency_buckets[b]) ++b;
  increments[b] = static_cast<double>(n);
  ingest_to_persisted_seconds->ObserveMultiple(increments, seconds * static_cast<double>(n));
}

void metrics::fhir_request_cache::observe(std::string_view method, std::string_view status, double seconds) {
  std::string k(method);
  k += '|';
  k += status;
  auto it = children_.find(k);
  if (it == children_.end())
    it = children_
             .emplace(k, &m_.fhir_requests_->Add({{"method", std::string(method)}, {"status", std::string(status)}},
                                                 latency_buckets))
             .first;
  it->second->Observe(seconds);
}

}  // namespace iomt::pipeline
