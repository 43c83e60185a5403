// Acknowledgement bookkeeping (STYLE habit 4): a submission completes when every event has its
// final outcome: normalization failed, or every measurement made from it is written or reported.
#pragma once

#include "transport/event.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace iomt::pipeline {

class metrics;

class submission {
public:
  submission(std::size_t events, transport::completion done, metrics* m);
  submission(const submission&) = delete;
  submission& operator=(const submission&) = delete;

  // Adds outstanding units (one per routed measurement) before they are handed to shards.
  void add_units(std::size_t n) { pending_.fetch_add(n, std::memory_order_relaxed); }
  // A unit reached its final outcome; the last one completes the submission. Thread-safe.
  void finish_unit(std::size_t event, bool failed);
  void mark_failed(std::size_t event) { failed_[event].store(1, std::memory_order_relaxed); }
  // The event failed: its first report is kept for the outcome (outcome::failures), which the
  // durable buffer hands to the dead-letter store. Call before finish_unit. Thread-safe.
  void report_failure(std::size_t event, std::string_view stage, std::string_view type, std::string_view message);

private:
  void complete();

  std::atomic<std::size_t> pending_{1};  // +1 held by the submitter until routing is done
  std::unique_ptr<std::atomic<std::uint8_t>[]> failed_;
  std::mutex failures_mu_;
  std::vector<transport::event_failure> failures_;  // first report per event (rare: a mutex)
  std::size_t events_;
  transport::completion done_;
  metrics* metrics_;
  std::chrono::steady_clock::time_point received_ = std::chrono::steady_clock::now();
};

// Which submission/event a measurement came from.
struct ack_ref {
  std::shared_ptr<submission> sub;
  std::uint32_t event = 0;
};

}  // namespace iomt::pipeline
