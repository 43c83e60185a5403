#include "pipeline/pipeline.hpp"

#include "mapping/device/partition_hash.hpp"
#include "mapping/fhir/value_check.hpp"
#include "mapping/json/envelope.hpp"
#include "mapping/json/reader.hpp"
#include "pipeline/log.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/trace/event_trace.hpp"

#include <algorithm>
#include <chrono>
#include <span>

namespace iomt::pipeline {

namespace {

// Per ingest thread: a reused reader (warm simdjson buffers) and arena (STYLE: simdjson).
struct ingest_scratch {
  json::body_reader reader;
  json::arena arena;
  std::vector<mapping::measurement> measurements;
};
ingest_scratch& scratch() {
  thread_local ingest_scratch s;
  return s;
}

// Empty when the measurement is within the limits, else why not.
std::string over_limit(const mapping::measurement& m) {
  auto id = [](const char* name, std::size_t size) {
    return std::string(name) + " is " + std::to_string(size) + " bytes long; at most " +
           std::to_string(max_identifier_bytes) + " are accepted (no FHIR server takes such an identifier)";
  };
  if (m.device_id.size() > max_identifier_bytes) return id("DeviceId", m.device_id.size());
  if (m.patient_id && m.patient_id->size() > max_identifier_bytes) return id("PatientId", m.patient_id->size());
  if (m.encounter_id && m.encounter_id->size() > max_identifier_bytes) return id("EncounterId", m.encounter_id->size());
  if (m.correlation_id && m.correlation_id->size() > max_identifier_bytes)
    return id("CorrelationId", m.correlation_id->size());
  for (const auto& p : m.properties)
    if (p.value.size() > max_value_bytes)
      return "the value of '" + p.name.substr(0, 100) + "' is " + std::to_string(p.value.size()) +
             " bytes long; at most " + std::to_string(max_value_bytes) + " are accepted";
  return {};
}

}  // namespace

pipeline::pipeline(const pipeline_config& cfg, std::shared_ptr<const mapping::device::device_mapping> device,
                   std::shared_ptr<const mapping::fhir::fhir_mapping> fhir, metrics& m,
                   shard::writer_factory make_writer, poison_options poison)
    : cfg_(cfg),
      device_(std::move(device)),
      fhir_(std::move(fhir)),
      metrics_(m),
      poison_(poison),
      pool_(cfg.shards > 1 ? cfg.shards - 1 : 0) {
  context_ = {&metrics_, &written_total_, &poison_};
  for (std::uint32_t i = 0; i < cfg_.shards; ++i)
    shards_.push_back(std::make_unique<shard>(i, cfg_, m, make_writer, written_total_));
}

pipeline::~pipeline() { stop(); }

void pipeline::set_trace(trace::event_trace* t) {
  trace_ = t && t->enabled() ? t : nullptr;
  context_.trace = trace_;
  for (auto& s : shards_) s->set_trace(trace_);
}

void pipeline::start() {
  for (auto& s : shards_) s->start();
  started_ = true;
}

void pipeline::begin_drain() {
  draining_.store(true, std::memory_order_release);
  for (auto& s : shards_) s->begin_drain();
}

void pipeline::stop() {
  if (stopping_.exchange(true)) return;
  if (!started_) return;
  // Reverse order of start (STYLE: Seastar).
  for (auto it = shards_.rbegin(); it != shards_.rend(); ++it) (*it)->stop();
}

bool pipeline::saturated() const {
  for (const auto& sh : shards_)
    if (sh->saturated()) return true;
  return false;
}

// Upstream's partition hash over the shard count (mapping/device/partition_hash.hpp): stable across
// runs and replicas, the one partitioner of the project.
std::size_t pipeline::shard_of(std::string_view device_id) const {
  return mapping::device::shard_index(device_id, shards_.size());
}

namespace {

// What one chunk of a submission's events became (normalized on some pool thread).
struct chunk_result {
  std::vector<mapping::measurement> measurements;  // in event order
  std::vector<std::uint32_t> event_of;             // parallel: the event index of each
  struct failure {
    std::uint32_t event;
    std::string type;
    std::string message;
    const char* stage;  // "normalization" | "fhirConversion"
  };
  std::vector<failure> failures;
  std::uint64_t bytes = 0;
  std::size_t dropped = 0;
  std::size_t normalized = 0;
};

// The event trace's records of a submission (issue 13), built on the submitting thread outside the
// trace's lock, before routing moves the measurements to the shards; the bodies join them once the
// submission is accepted.
std::vector<trace::event_record> trace_records(std::size_t n, std::span<const chunk_result> results,
                                               std::string_view source) {
  using namespace std::chrono;
  const std::int64_t now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  std::vector<trace::event_record> recs(n);
  for (auto& r : recs) {
    r.received_unix_ms = now_ms;
    r.source = source;
  }
  for (const auto& c : results) {
    for (std::size_t i = 0; i < c.measurements.size(); ++i) {
      const mapping::measurement& m = c.measurements[i];
      trace::event_record& r = recs[c.event_of[i]];
      ++r.measurement_count;
      if (r.measurements.size() < trace::event_record::max_measurements)
        r.measurements.push_back({m.type, m.device_id, m.patient_id, m.encounter_id, m.occurrence_time.ticks,
                                  static_cast<std::uint32_t>(m.properties.size())});
      if (r.devices.size() < trace::event_record::max_devices &&
          std::find(r.devices.begin(), r.devices.end(), m.device_id) == r.devices.end())
        r.devices.push_back(m.device_id);
    }
    for (const auto& f : c.failures) {
      trace::event_record& r = recs[f.event];
      if (r.errors.size() < trace::event_record::max_errors)
        r.errors.push_back({f.stage, f.type, f.message, mapping::failure_class::permanent});
    }
  }
  return recs;
}

constexpr std::size_t chunk_events = 64;  // events per task: large enough to amortize, small enough to balance

void normalize_chunk(const mapping::device::device_mapping& device, const mapping::fhir::fhir_mapping& fhir,
                     std::span<const transport::event> events, std::size_t first, chunk_result& out) {
  ingest_scratch& s = scratch();
  for (std::size_t k = 0; k < events.size(); ++k) {
    const transport::event& ev = events[k];
    const auto e = static_cast<std::uint32_t>(first + k);
    out.bytes += ev.body.size();
    s.arena.reset();
    s.measurements.clear();
    auto fail = [&](std::string type, std::string message, const char* stage = "normalization") {
      out.failures.push_back({e, std::move(type), std::move(message), stage});
    };
    auto body = s.reader.read(ev.body, s.arena);
    if (!body) {
      fail("InvalidDataFormatException", "Invalid event message. Cannot be parsed into a JSON object.");
      continue;
    }
    // Properties are not date-sniffed (iomt-spec §2).
    auto props = s.reader.read(ev.properties, s.arena, {.sniff_dates = false});
    auto sys = s.reader.read(ev.system_properties, s.arena, {.sniff_dates = false});
    const json::value env =
        json::make_envelope(*body, props ? *props : json::value{}, sys ? *sys : json::value{}, s.arena);
    auto r = device.normalize(env, s.arena, s.measurements);
    // Partial output of a failing event is still sent (managed service behaviour, §13.1).
    if (!r) fail(r.error().type, r.error().message);
    if (s.measurements.empty() && r) ++out.dropped;
    out.normalized += s.measurements.size();
    for (auto& m : s.measurements) {
      if (std::string why = over_limit(m); !why.empty()) {
        fail("InvalidDataFormatException", "Measurement of type '" + m.type.substr(0, 100) + "' refused: " + why);
        continue;
      }
      // A SampledData value that is not a FHIR decimal fails its measurement only (issue 13).
      if (auto tpl = fhir.get(m.type); tpl)
        if (auto bad = mapping::fhir::check_sampled_data_values(**tpl, m)) {
          fail(bad->type, bad->message, "fhirConversion");
          continue;
        }
      m.ingestion_time = ev.enqueued_time;
      out.measurements.push_back(std::move(m));
      out.event_of.push_back(e);
    }
  }
}

}  // namespace

transport::submit_status pipeline::submit(std::vector<transport::event>&& events, transport::completion done,
                                          std::string_view source) {
  if (stopping_.load(std::memory_order_acquire) || draining_.load(std::memory_order_acquire))
    return transport::submit_status::shutting_down;
  // Refuse before doing any work when a shard is already full (the usual back-pressure case).
  for (const auto& sh : shards_)
    if (sh->saturated()) {
      metrics_.backpressure->Increment();
      return transport::submit_status::busy;
    }
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t n = events.size();
  // Parse and normalize in chunks on the pool (issue 11); route afterwards in event order, so one
  // device's measurements keep their order.
  const std::size_t chunks = (n + chunk_events - 1) / chunk_events;
  std::vector<chunk_result> results(chunks);
  std::vector<std::uint64_t> keys(n);
  pool_.run(chunks, [&](std::size_t c) {
    const std::size_t first = c * chunk_events;
    const std::size_t count = std::min(chunk_events, n - first);
    for (std::size_t e = first; e < first + count; ++e)
      keys[e] = event_key(events[e].body, events[e].properties, events[e].system_properties);
    normalize_chunk(*device_, *fhir_, std::span<const transport::event>(events).subspan(first, count), first,
                    results[c]);
  });
  auto sub = std::make_shared<submission>(std::move(keys), std::move(done), context_);
  std::vector<trace::event_record> traced;
  if (trace_) traced = trace_records(n, results, source);
  std::vector<work_item> per_shard(shards_.size());
  std::uint64_t bytes = 0;
  std::size_t dropped = 0, normalized = 0;
  for (auto& r : results) {
    bytes += r.bytes;
    dropped += r.dropped;
    normalized += r.normalized;
    for (std::size_t i = 0; i < r.measurements.size(); ++i) {
      work_item& w = per_shard[shard_of(r.measurements[i].device_id)];
      w.measurements.push_back(std::move(r.measurements[i]));
      w.acks.push_back({sub, r.event_of[i]});
    }
  }
  metrics_.normalize_seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  // Reserve a queue slot on every target shard first, so a refusal leaves nothing half-submitted.
  std::size_t reserved = 0;
  for (; reserved < shards_.size(); ++reserved) {
    if (per_shard[reserved].measurements.empty()) continue;
    if (!shards_[reserved]->try_reserve(per_shard[reserved].measurements.size())) break;
  }
  if (reserved < shards_.size()) {
    for (std::size_t i = 0; i < reserved; ++i)
      if (!per_shard[i].measurements.empty()) shards_[i]->cancel_reservation(per_shard[i].measurements.size());
    metrics_.backpressure->Increment();
    return stopping_ ? transport::submit_status::shutting_down : transport::submit_status::busy;
  }
  // Counted once the submission is accepted: a busy answer is submitted again and would count twice.
  metrics_.device_events->Increment(static_cast<double>(n));
  metrics_.ingress_bytes->Increment(static_cast<double>(bytes));
  if (dropped) metrics_.dropped_events->Increment(static_cast<double>(dropped));
  metrics_.normalized_events->Increment(static_cast<double>(normalized));
  std::size_t units = 0;
  for (const auto& w : per_shard) units += w.measurements.size();
  sub->add_units(units);
  if (trace_) {
    // Accepted: the events are the pipeline's now; their text moves into the trace (no copy).
    for (std::size_t i = 0; i < n; ++i) {
      traced[i].body = std::move(events[i].body);
      traced[i].properties = std::move(events[i].properties);
      traced[i].system_properties = std::move(events[i].system_properties);
      traced[i].partition_key = std::move(events[i].partition_key);
      traced[i].partition = events[i].partition;
      traced[i].request_id = std::move(events[i].request_id);
      traced[i].batch_index = events[i].batch_index;
    }
    sub->set_trace(trace_->add(traced));
  }
  for (std::size_t i = 0; i < shards_.size(); ++i)
    if (!per_shard[i].measurements.empty()) shards_[i]->push(std::move(per_shard[i]));
  // Failures too are reported once accepted (the submitter's unit keeps the submission open).
  for (auto& r : results)
    for (auto& f : r.failures) {
      const bool conversion = std::string_view(f.stage) == "fhirConversion";
      metrics_.error(conversion ? "fhir_conversion" : "normalization", f.type);
      log::error(f.type, conversion ? "measurement not converted" : "device event not normalized",
                 {{"stage", f.stage}, {"type", f.type}, {"message", f.message}});
      sub->report_failure(f.event, f.stage, mapping::mapping_error{std::move(f.type), std::move(f.message)});
    }
  sub->finish_unit();  // the submitter's own unit
  return transport::submit_status::accepted;
}

}  // namespace iomt::pipeline
