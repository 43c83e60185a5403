#include "pipeline/shard.hpp"

#include "fhir/errors.hpp"
#include "mapping/json/dotnet.hpp"
#include "pipeline/log.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/trace/event_trace.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <unordered_map>

namespace iomt::pipeline {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

// "HeartRate of device d1, 3 measurements 2024-05-01T10:00:00Z..2024-05-01T10:02:00Z" (dead letters
// of partially written events name their failed groups).
std::string describe(const mapping::fhir::measurement_group& g) {
  std::string s = g.measure_type.substr(0, 100) + " of device " + g.device_id.substr(0, 100);
  if (g.data.empty()) return s;
  auto lo = g.data.front()->occurrence_time, hi = lo;
  for (const auto* m : g.data) {
    if (m->occurrence_time.ticks < lo.ticks) lo = m->occurrence_time;
    if (m->occurrence_time.ticks > hi.ticks) hi = m->occurrence_time;
  }
  s += ", " + std::to_string(g.data.size()) + (g.data.size() == 1 ? " measurement " : " measurements ");
  s += json::format_iso({lo.ticks, json::date_kind::utc});
  if (hi.ticks != lo.ticks) s += ".." + json::format_iso({hi.ticks, json::date_kind::utc});
  return s;
}

}  // namespace

shard::shard(std::size_t index, const pipeline_config& cfg, metrics& m, writer_factory make_writer,
             std::atomic<std::uint64_t>& written_total)
    : index_(index),
      cfg_(cfg),
      metrics_(m),
      make_writer_(std::move(make_writer)),
      written_total_(written_total),
      queue_depth_gauge_(&m.queue_depth(index)),
      pending_gauge_(&m.pending_measurements(index)),
      queue_(cfg.queue_capacity) {}

shard::~shard() {
  if (thread_.joinable()) stop();
}

bool shard::try_reserve(std::size_t measurements) {
  std::size_t h = held_.load(std::memory_order_relaxed);
  do {
    if ((h > 0 && h + measurements > cfg_.queue_measurements) || stopping_.load(std::memory_order_relaxed))
      return false;
  } while (!held_.compare_exchange_weak(h, h + measurements, std::memory_order_acq_rel));
  std::size_t r = reserved_.load(std::memory_order_relaxed);
  do {
    if (r >= queue_.capacity() || stopping_.load(std::memory_order_relaxed)) {
      held_.fetch_sub(measurements, std::memory_order_acq_rel);
      return false;
    }
  } while (!reserved_.compare_exchange_weak(r, r + 1, std::memory_order_acq_rel));
  return true;
}

void shard::cancel_reservation(std::size_t measurements) {
  reserved_.fetch_sub(1, std::memory_order_acq_rel);
  held_.fetch_sub(measurements, std::memory_order_acq_rel);
}

void shard::push(work_item&& item) {
  // Cannot fail: queued items never exceed reservations, and reservations never exceed capacity.
  item.queued_at = clock_type::now();
  while (!queue_.try_push(item)) std::this_thread::yield();
  wake();
}

void shard::wake() {
  if (!wake_pending_.exchange(true, std::memory_order_acq_rel))
    asio::post(ioc_, [this] {
      wake_pending_.store(false, std::memory_order_release);
      timer_.cancel();
    });
}

void shard::start() {
  writer_ = make_writer_(ioc_);
  if (trace_) writer_->set_details(true);
  asio::co_spawn(ioc_, run(), [this](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("shard", "shard loop failed", {{"shard", std::to_string(index_)}, {"error", ex.what()}});
      }
    }
    ioc_.stop();
  });
  thread_ = std::thread([this] { ioc_.run(); });
}

void shard::begin_drain() {
  stopping_.store(true, std::memory_order_release);
  wake();
}

void shard::stop() {
  stopping_.store(true, std::memory_order_release);
  wake();
  if (thread_.joinable()) thread_.join();
}

void shard::drain() {
  while (auto item = queue_.try_pop()) {
    reserved_.fetch_sub(1, std::memory_order_acq_rel);
    // The window is as old as its first measurement's arrival: items that queued up during a long
    // flush are due at once, instead of waiting another full flush interval (bench/e2e).
    if (window_.empty()) window_start_ = item->queued_at;
    for (std::size_t i = 0; i < item->measurements.size(); ++i) {
      window_.push_back(std::move(item->measurements[i]));
      window_acks_.push_back(std::move(item->acks[i]));
    }
  }
  queue_depth_gauge_->Set(static_cast<double>(queue_.size_approx()));
  pending_gauge_->Set(static_cast<double>(window_.size() + in_flight_));
}

std::size_t flush_now(const window_rule& rule, std::size_t windowed, std::chrono::steady_clock::time_point window_start,
                      std::chrono::steady_clock::time_point now, bool stopping) {
  if (windowed == 0) return 0;
  const std::size_t cap = std::max<std::size_t>(rule.max_batch, 1);
  if (stopping || windowed >= cap || now - window_start >= rule.interval) return std::min(windowed, cap);
  return 0;
}

asio::awaitable<void> shard::run() {
  const window_rule rule{std::chrono::duration_cast<clock_type::duration>(cfg_.flush_interval), cfg_.max_batch};
  for (;;) {
    drain();
    const bool stopping = stopping_.load(std::memory_order_acquire);
    if (!window_.empty()) {
      if (const std::size_t take = flush_now(rule, window_.size(), window_start_, clock_type::now(), stopping)) {
        std::vector<mapping::measurement> ms;
        std::vector<ack_ref> acks;
        if (take == window_.size()) {
          ms.swap(window_);
          acks.swap(window_acks_);
        } else {
          const auto n = static_cast<std::ptrdiff_t>(take);
          ms.assign(std::make_move_iterator(window_.begin()), std::make_move_iterator(window_.begin() + n));
          acks.assign(std::make_move_iterator(window_acks_.begin()), std::make_move_iterator(window_acks_.begin() + n));
          window_.erase(window_.begin(), window_.begin() + n);
          window_acks_.erase(window_acks_.begin(), window_acks_.begin() + n);
        }
        const std::size_t flushed = ms.size();
        co_await flush(std::move(ms), std::move(acks));
        held_.fetch_sub(flushed, std::memory_order_acq_rel);
        continue;
      }
      timer_.expires_at(window_start_ + rule.interval);
    } else {
      if (stopping && reserved_.load(std::memory_order_acquire) == 0) break;
      timer_.expires_after(stopping ? std::chrono::milliseconds(10) : std::chrono::hours(1));
    }
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  done_ = true;
}

asio::awaitable<void> shard::flush(std::vector<mapping::measurement> ms, std::vector<ack_ref> acks) {
  const auto t0 = clock_type::now();
  in_flight_ = ms.size();
  metrics_.flushes->Increment();
  metrics_.batch_size->Observe(static_cast<double>(ms.size()));
  const std::vector<mapping::fhir::measurement_group> groups = mapping::fhir::group_measurements(ms);
  std::vector<std::uint8_t> acked(ms.size(), 0);
  std::vector<std::uint8_t> grouped(ms.size(), 0);  // kept by the timestamp dedupe (§5.3)
  for (const auto& g : groups)
    for (const mapping::measurement* m : g.data) grouped[static_cast<std::size_t>(m - ms.data())] = 1;

  // One write plan for the whole flush (issue 11): the writer sends the flush's requests together
  // (batch Bundles where the server takes them) and keeps each device's groups in order (§5.5).
  std::vector<const mapping::fhir::measurement_group*> to_write;
  to_write.reserve(groups.size());
  for (const auto& g : groups) to_write.push_back(&g);
  std::vector<group_result> results;
  std::string writer_error;
  const auto tw = clock_type::now();
  try {
    results = co_await writer_->write_all(to_write);
  } catch (const std::exception& e) {
    writer_error = e.what();
  } catch (...) {
    writer_error = "a non-standard exception";
  }
  if (writer_error.empty() && results.size() != to_write.size())
    writer_error = std::to_string(results.size()) + " results for " + std::to_string(to_write.size()) + " groups";
  if (!writer_error.empty()) {
    // A bug, not the data's fault: every group of the flush is failed below, transiently, so the
    // events wait and are retried (issue 12).
    results.clear();
    log::error("shard", "the FHIR writer failed: this flush's groups are retried",
               {{"shard", std::to_string(index_)}, {"error", writer_error}});
  }
  const double write_seconds = std::chrono::duration<double>(clock_type::now() - tw).count();
  if (trace_ && !results.empty()) trace_groups(to_write, results, ms, acks);

  for (std::size_t k = 0; k < results.size(); ++k) {
    const mapping::fhir::measurement_group* g = to_write[k];
    const group_result& r = results[k];
    metrics_.group_write_seconds->Observe(write_seconds);  // the group's outcome is known when the flush's is
    metrics_.measurement_groups->Increment();
    metrics_.measurements->Increment(static_cast<double>(g->data.size()));
    metrics_.saved_created->Increment(static_cast<double>(r.created));
    metrics_.saved_updated->Increment(static_cast<double>(r.updated));
    metrics_.saved_no_op->Increment(static_cast<double>(r.no_op));
    metrics_.contention->Increment(static_cast<double>(r.contention));
    std::string where;
    for (const auto& e : r.errors) {
      // FHIR request failures (4xx, retries exhausted, auth) are "fhir_write"; the rest is conversion.
      const bool write_error = e.type == fhir::fhir_client_exception || e.type == fhir::http_request_exception ||
                               e.type == fhir::authentication_exception || e.type == "UnhandledException";
      metrics_.error(write_error ? "fhir_write" : "fhir_conversion", fhir::metric_name(e),
                     mapping::is_transient(e.cls) ? "warning" : "error");
      log::error(e.type, "measurement group not written",
                 {{"stage", "fhirConversion"},
                  {"type", e.type},
                  {"class", std::string(mapping::to_string(e.cls))},
                  {"message", e.message},
                  {"device", g->device_id},
                  {"measureType", g->measure_type}});
    }
    if (r.failed()) where = describe(*g);
    if (!r.failed()) written_total_.fetch_add(g->data.size(), std::memory_order_relaxed);
    for (const mapping::measurement* m : g->data) {
      const auto i = static_cast<std::size_t>(m - ms.data());
      if (r.failed()) {
        for (const auto& e : r.errors) acks[i].sub->report_failure(acks[i].event, "fhirConversion", e, where);
      } else {
        acks[i].sub->report_written(acks[i].event, 1);
      }
      acked[i] = 1;
      acks[i].sub->finish_unit();
    }
    in_flight_ -= std::min(in_flight_, g->data.size());
  }

  // Measurements dropped by the timestamp dedupe (§5.3) were superseded, not failed. Grouped ones
  // without a result (the writer threw) failed transiently: their events are retried (issue 12).
  const mapping::mapping_error unfinished{"UnhandledException", "the FHIR writer failed: " + writer_error,
                                          mapping::failure_class::transient};
  for (std::size_t i = 0; i < ms.size(); ++i) {
    if (acked[i]) continue;
    if (grouped[i]) acks[i].sub->report_failure(acks[i].event, "fhirConversion", unfinished);
    acks[i].sub->finish_unit();
  }
  in_flight_ = 0;
  metrics_.flush_seconds->Observe(std::chrono::duration<double>(clock_type::now() - t0).count());
}

// The event trace (issue 13): each traced event whose measurements joined a group gets the
// group's path: its Patient / Device, every Observation and operation, or the errors. One lock
// of the trace per flush.
void shard::trace_groups(std::span<const mapping::fhir::measurement_group* const> groups,
                         std::span<const group_result> results, const std::vector<mapping::measurement>& ms,
                         const std::vector<ack_ref>& acks) {
  std::vector<trace::group_update> updates;
  std::vector<std::uint64_t> ids;
  for (std::size_t k = 0; k < results.size(); ++k) {
    const mapping::fhir::measurement_group& g = *groups[k];
    ids.clear();
    for (const mapping::measurement* m : g.data) {
      const ack_ref& a = acks[static_cast<std::size_t>(m - ms.data())];
      const std::uint64_t id = a.sub->trace_id(a.event);
      if (id && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    if (ids.empty()) continue;
    const group_result& r = results[k];
    trace::group_brief b;
    b.type = g.measure_type;
    b.device_id = g.device_id;
    b.measurements = static_cast<std::uint32_t>(g.data.size());
    if (!g.data.empty()) {
      b.start_ticks = b.end_ticks = g.data.front()->occurrence_time.ticks;
      for (const auto* m : g.data) {
        b.start_ticks = std::min(b.start_ticks, m->occurrence_time.ticks);
        b.end_ticks = std::max(b.end_ticks, m->occurrence_time.ticks);
      }
    }
    if (r.ids) {
      b.patient = r.ids->patient;
      b.device = r.ids->device;
      b.encounter = r.ids->encounter;
    }
    for (const auto& o : r.observations) b.observations.push_back({o.id, std::string(o.operation)});
    for (const auto& e : r.errors) b.errors.push_back({"fhirConversion", e.type, e.message, e.cls});
    for (std::size_t i = 0; i + 1 < ids.size(); ++i) updates.push_back({ids[i], b});
    updates.push_back({ids.back(), std::move(b)});
  }
  trace_->add_groups(updates);
}

}  // namespace iomt::pipeline
