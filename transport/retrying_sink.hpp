// Final outcomes for sources that keep their own copy of the events until they settle them (AMQP
// queues, Event Hubs) or that run without the durable buffer (HTTP with buffer.enabled: false):
// an event_sink in front of the pipeline that acts on each failure's class (issue 12,
// mapping/failure_class.hpp):
//   permanent  -> written to the dead-letter store (when there is one) before the source learns
//                 the outcome; a store that cannot be written refuses the outcome (AMQP modified,
//                 HTTP 503), so nothing is acknowledged that is not kept;
//   otherwise  -> the event waits here and is submitted again after a capped exponential backoff
//                 (base_delay doubling up to max_delay), for as long as it takes - or until
//                 max_age, when set, after which the failure counts as permanent. Its source
//                 meanwhile keeps the delivery unsettled, so its credit window bounds what waits
//                 and stops intake (back-pressure).
// While the FHIR server fails for everyone (transient failures and nothing written), one waiting
// submission at a time probes it. `max_wait` (HTTP without buffer) answers a submission that still
// waits after it with `refused` (503 + Retry-After: the client sends it again later). stop()
// answers every waiting submission `refused`: the source gives the events back to the broker.
//
// The source sees exactly one completion per accepted submission, whose failures are all
// permanent. Thread-safety: submit() from any thread; completions run on the pipeline's threads
// and touch only the mutex-guarded state; poll() on the timer thread (or a test's).
#pragma once

#include "transport/deadletter/store.hpp"
#include "transport/event.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace iomt::transport {

struct retrying_options {
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_delay{30'000};
  std::chrono::milliseconds max_age{0};                        // 0: never give up on a transient failure
  std::chrono::milliseconds max_wait{0};                       // 0: never answer `refused` for waiting
  std::function<std::chrono::steady_clock::time_point()> now;  // the clock (tests move it by hand)
};

struct retrying_stats {
  std::atomic<std::uint64_t> waiting_events{0};    // gauge
  std::atomic<std::int64_t> oldest_waiting_ms{0};  // gauge: 0 when nothing waits
  std::atomic<std::uint64_t> resubmitted_events{0};
  std::atomic<std::uint64_t> dead_lettered{0};  // events written to the store
  std::atomic<std::uint64_t> write_errors{0};   // submissions refused because the store failed
  std::atomic<bool> fhir_failing{false};        // gauge
};

class retrying_sink final : public event_sink {
public:
  using clock = std::chrono::steady_clock;
  using log_fn = std::function<void(int level, const std::string& message, const std::string& detail)>;
  using counted_fn = std::function<void(const deadletter::failure&)>;  // once per event durably stored

  // `store` may be null: permanent failures are then only reported to the source (and logged).
  retrying_sink(event_sink& downstream, deadletter::sink* store, retrying_options options = {}, log_fn log = {},
                counted_fn on_dead_letter = {});
  ~retrying_sink() override;

  submit_status submit(std::vector<event>&& events, completion done) override;
  std::string busy_reason() const override { return downstream_.busy_reason(); }

  void start();  // the timer thread that calls poll()
  void stop();   // idempotent

  // Submits what is due at `now`; returns when to call again (max() when nothing waits).
  clock::time_point poll(clock::time_point now);
  const retrying_stats& stats() const { return stats_; }
  // The last transient failure while the FHIR server fails for everyone, else "".
  std::string failing_reason() const;

private:
  struct pending;
  completion completion_for(std::shared_ptr<pending> p, std::vector<std::uint32_t> indexes);
  void on_outcome(const std::shared_ptr<pending>& p, const std::vector<std::uint32_t>& indexes, const outcome& o);
  void finish(const std::shared_ptr<pending>& p, bool refused, const std::string& why);
  std::chrono::milliseconds delay(std::uint32_t attempts) const;
  void update_gauges_locked(clock::time_point now);
  void wake();
  clock::time_point now() const { return options_.now ? options_.now() : clock::now(); }

  event_sink& downstream_;
  deadletter::sink* store_;
  retrying_options options_;
  log_fn log_;
  counted_fn on_dead_letter_;
  retrying_stats stats_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<pending>> waiting_;  // submissions with events waiting or in flight again
  bool stopping_ = false;
  bool failing_ = false;
  std::string failing_reason_;
  bool wake_ = false;
  std::thread thread_;
};

}  // namespace iomt::transport
