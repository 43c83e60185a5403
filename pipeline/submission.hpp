// Acknowledgement bookkeeping (STYLE habit 4): a submission completes when every event has its
// final outcome: normalization failed, or every measurement made from it is written or failed.
//
// An event's outcome is the worst of its measurement groups' (issue 12): it is final when each
// group is written or failed permanently; if any group failed transiently the whole event is
// reported transient and retried by its source (re-processing is idempotent, iomt-spec §15). The
// order in which shards report does not matter. At completion, transient failures that repeat
// for one event while other events are written are handed to the poison detector (poison.hpp),
// which may make them permanent.
#pragma once

#include "mapping/error.hpp"
#include "transport/event.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace iomt::pipeline {

class metrics;
class poison_detector;
namespace trace {
class event_trace;
}

// What every submission of one pipeline shares.
struct submission_context {
  metrics* m = nullptr;
  const std::atomic<std::uint64_t>* written_total = nullptr;  // measurements written by every shard
  poison_detector* poison = nullptr;
  trace::event_trace* trace = nullptr;  // debug.trace on: the events' paths (trace/event_trace.hpp)
};

class submission {
public:
  // `keys`: one poison_detector key per event (event_key()).
  submission(std::vector<std::uint64_t> keys, transport::completion done, const submission_context& ctx);
  submission(const submission&) = delete;
  submission& operator=(const submission&) = delete;

  // Adds outstanding units (one per routed measurement) before they are handed to shards.
  void add_units(std::size_t n) { pending_.fetch_add(n, std::memory_order_relaxed); }
  // A unit reached its final outcome; the last one completes the submission. Thread-safe.
  void finish_unit();
  // (Part of) an event failed. `group` describes the measurement group ("" = the whole event).
  // Call before the unit's finish_unit. Thread-safe.
  void report_failure(std::size_t event, std::string_view stage, const mapping::mapping_error& e,
                      std::string_view group = {});
  // `n` measurements of the event were written (or were current already). Thread-safe.
  void report_written(std::size_t event, std::size_t n) {
    if (event < events_) written_[event].fetch_add(static_cast<std::uint32_t>(n), std::memory_order_relaxed);
  }

  // The event trace's id of each event: first_id + index (the store numbers a submission's
  // records consecutively). Set before the measurements are handed to shards; 0: not traced.
  void set_trace(std::uint64_t first_id) noexcept { trace_first_ = first_id; }
  std::uint64_t trace_id(std::size_t event) const noexcept { return trace_first_ ? trace_first_ + event : 0; }

  static constexpr std::size_t max_groups_per_failure = 8;

private:
  void complete();

  std::atomic<std::size_t> pending_{1};  // +1 held by the submitter until routing is done
  std::vector<std::uint64_t> keys_;
  std::size_t events_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> written_;  // measurements written, per event
  std::mutex failures_mu_;
  std::unordered_map<std::uint32_t, transport::event_failure> failures_;  // per failed event (rare)
  transport::completion done_;
  submission_context ctx_;
  std::uint64_t written_at_start_ = 0;
  std::uint64_t trace_first_ = 0;
  std::chrono::steady_clock::time_point received_ = std::chrono::steady_clock::now();
};

// Which submission/event a measurement came from.
struct ack_ref {
  std::shared_ptr<submission> sub;
  std::uint32_t event = 0;
};

}  // namespace iomt::pipeline
