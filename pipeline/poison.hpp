// Tells a poison event from an outage (issue 12, sans-io). A transient failure (network error,
// timeout, 5xx) that repeats for one event while the FHIR server writes other events is that
// event's own problem: after `max_attempts` such attempts it is made permanent and dead-lettered
// with its history. Attempts during which nothing else was written (the server is failing for
// everyone) and throttling or credential failures never count: those events wait for as long as
// it takes.
//
// Keyed by a hash of the event's content, so it works whichever source re-submits the event
// (durable buffer, AMQP redelivery, replay). Bounded: at most `capacity` events are remembered;
// an event not seen for `forget_after` starts again from zero. Thread-safe (a mutex: it is only
// touched for failed events, and for successful ones while it holds any).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace iomt::pipeline {

struct poison_options {
  std::uint32_t max_attempts = 8;  // 0: never make a transient failure permanent
  std::size_t capacity = 65'536;
  std::chrono::seconds forget_after{3600};
};

class poison_detector {
public:
  using clock = std::chrono::steady_clock;
  explicit poison_detector(poison_options o = {}) : options_(o) {}

  // One transient failure of the event `key`; `others_written`: other events' measurements were
  // written while it was being attempted. Returns true when the event is now to be treated as
  // poison (and forgets it, so a replay after a fix starts from zero).
  bool failed(std::uint64_t key, bool others_written, clock::time_point now);
  // The event `key` succeeded (or failed permanently): forget it.
  void forget(std::uint64_t key);
  // The attempts counted for `key` (tests, messages).
  std::uint32_t attempts(std::uint64_t key) const;
  bool empty() const { return size_.load(std::memory_order_relaxed) == 0; }
  const poison_options& options() const { return options_; }

private:
  struct entry {
    std::uint32_t attempts = 0;
    clock::time_point last{};
  };
  void evict(clock::time_point now);

  poison_options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, entry> entries_;
  std::atomic<std::size_t> size_{0};
};

// The key of an event: a 64-bit hash of its body, properties and system properties.
std::uint64_t event_key(std::string_view body, std::string_view properties, std::string_view system_properties);

}  // namespace iomt::pipeline
