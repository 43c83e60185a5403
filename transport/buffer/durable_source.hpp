// The durable buffer between a source and the pipeline (iomt issue 4, STYLE habit 4).
//
//   HTTP ingest --submit--> durable_source --append--> segment_log (disk, group commit)
//                              |  completion (201) as soon as the events are durable
//                              v
//                     consumer thread: log_reader from the checkpoint on --submit--> pipeline
//                              ^  completions (any order) -> completion_tracker -> checkpoint
//
// submit() (the event_sink HTTP ingest talks to) appends and completes once the events are durable
// per the fsync policy; a full buffer or a disk error refuses at once (busy: 503 + Retry-After) and
// an asynchronous disk error completes with `refused` (503, never 201).
//
// The consumer reads batches in log order and submits them downstream, retrying `busy` with
// exponential backoff. It checkpoints the lowest sequence whose batch is not final, so a restart
// resumes there and re-submits what came after it (the FHIR upsert is idempotent, iomt-spec §15).
// Failed events reported by the pipeline (outcome::failures) are dead-lettered - the original event
// is read back from the log - before their batch counts as final; failures of a transient type
// (FHIR unreachable after the writer's own retries) are re-submitted with backoff instead, up to
// max_redeliveries, then dead-lettered. Replayed dead letters arrive through the inbox (inbox.hpp).
//
// Thread-safety: submit() from any thread; start()/stop() from one controlling thread.
#pragma once

#include "transport/buffer/completion_tracker.hpp"
#include "transport/buffer/log_reader.hpp"
#include "transport/buffer/segment_log.hpp"
#include "transport/deadletter/store.hpp"
#include "transport/event.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace iomt::transport::buffer {

struct durable_options {
  std::size_t batch_events = 1000;                    // per downstream submission
  std::size_t batch_bytes = 4u << 20;                 // payload bytes per downstream submission
  std::size_t max_in_flight_events = 50'000;          // submitted downstream, not yet final
  std::chrono::milliseconds backoff_initial{5};       // downstream busy
  std::chrono::milliseconds backoff_max{1000};
  std::chrono::milliseconds checkpoint_interval{250};
  std::chrono::milliseconds inbox_interval{1000};
  std::chrono::milliseconds drain_timeout{30'000};    // stop(): wait this long for in-flight batches
  // Failure types re-submitted instead of dead-lettered (the FHIR server unreachable or
  // overloaded beyond the writer's own retries).
  std::vector<std::string> redeliver_types{"HttpRequestException", "AuthenticationFailedException", "FhirServerUnavailableException"};
  std::uint32_t max_redeliveries = 30;
  std::chrono::milliseconds redeliver_delay{1000};    // doubled per redelivery of the same batch
  std::chrono::milliseconds redeliver_max_delay{30'000};
  // Called (on the consumer thread) for every event once it is durably in the dead-letter store,
  // with its failure: metrics by stage and type.
  std::function<void(const deadletter::failure&)> on_dead_letter;
};

// Counters for /metrics (read with relaxed loads; monotonic unless noted).
struct durable_stats {
  std::atomic<std::uint64_t> accepted_events{0};      // durable, acknowledged to the source
  std::atomic<std::uint64_t> refused_submits{0};      // buffer full or disk error (503)
  std::atomic<std::uint64_t> failed_appends{0};       // asynchronous disk errors (503)
  std::atomic<std::uint64_t> consumed_events{0};      // submitted downstream (first time)
  std::atomic<std::uint64_t> downstream_busy{0};      // downstream refusals (retried)
  std::atomic<std::uint64_t> redelivered_events{0};
  std::atomic<std::uint64_t> dead_lettered{0};
  std::atomic<std::uint64_t> dead_letter_errors{0};   // the store could not be written (retried)
  std::atomic<std::uint64_t> failed_unreported{0};    // failed events the sink reported without details
  std::atomic<std::uint64_t> corrupt_skips{0};        // damaged regions skipped by the reader
  std::atomic<std::uint64_t> replayed_events{0};      // taken from the replay inbox
  std::atomic<std::uint64_t> in_flight_events{0};     // gauge
  std::atomic<std::uint64_t> checkpoint{0};           // gauge
};

// The transport library has no logger: the service passes one (level 0 info, 1 warn, 2 error).
using log_hook = std::function<void(int level, const std::string& message, const std::string& detail)>;

class durable_source final : public event_sink {
public:
  // `dead_letters` may be null (failed events are then logged and counted only).
  durable_source(segment_log& log, event_sink& downstream, deadletter::sink* dead_letters, durable_options options = {},
                 log_hook logger = {});
  ~durable_source() override;

  submit_status submit(std::vector<event>&& events, completion done) override;

  void start();
  // Refuses new submissions, stops reading, waits up to drain_timeout for in-flight batches, writes
  // the final checkpoint. Idempotent. Stop the sources before, the downstream pipeline after.
  void stop();

  const durable_stats& stats() const { return shared_->stats; }
  std::uint64_t lag() const;  // records in the log not yet final (committed_end - checkpoint)

private:
public:
  struct failure_report {
    std::uint32_t index;  // into the downstream submission (then into the batch)
    deadletter::failure f;
  };

private:
  struct completed {
    std::uint64_t sub;
    std::size_t failed;
    std::vector<failure_report> failures;
  };
  // Outlives *this while the pipeline or the log writer still hold completions.
  struct shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<completed> done;
    bool wake = false;
    durable_stats stats;
    log_hook hook;
    std::mutex warn_mu;
    std::string last_warning;
    std::chrono::steady_clock::time_point last_warning_time{};
    void warn(int level, const std::string& message, const std::string& detail);
  };
  struct batch_state {
    log_cursor start;
    std::vector<std::uint64_t> seqs;           // seq of each event, in submission order
    std::size_t pending_subs = 0;              // downstream submissions not completed
    std::uint32_t redeliveries = 0;
    std::vector<failure_report> dead;          // waiting to be written to the dead-letter store
    bool finished = false;
  };
  struct sub_state {
    std::uint64_t batch;
    std::vector<std::uint32_t> indexes;        // into the batch; empty = all of it
  };
  struct redelivery {
    std::chrono::steady_clock::time_point due;
    std::uint64_t batch;
    std::vector<std::uint32_t> indexes;
  };

  void run();
  bool read_and_submit();
  void handle_completions();
  void flush_dead_letters();
  void handle_redeliveries();
  void maybe_checkpoint(bool force);
  void poll_inbox();
  void finish_if_done(std::uint64_t batch);
  // Events of `batch` at `indexes` read back from the log.
  bool reread(const batch_state& b, const std::vector<std::uint32_t>& indexes, std::vector<event>& out);
  completion make_completion(std::uint64_t sub);
  void warn(int level, const std::string& message, const std::string& detail) { shared_->warn(level, message, detail); }
  bool is_transient(const std::string& type) const;

  segment_log& log_;
  event_sink& downstream_;
  deadletter::sink* dead_letters_;
  durable_options options_;
  std::shared_ptr<shared> shared_ = std::make_shared<shared>();
  std::atomic<bool> stopping_{false};
  std::atomic<bool> started_{false};
  std::thread thread_;

  // Consumer thread only.
  log_reader reader_;
  log_reader reread_;
  completion_tracker tracker_;
  std::map<std::uint64_t, batch_state> batches_;
  std::map<std::uint64_t, sub_state> subs_;
  std::vector<redelivery> redeliveries_;
  std::uint64_t next_sub_ = 0;
  std::uint64_t written_checkpoint_ = 0;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point backoff_until_{};
  std::chrono::steady_clock::time_point next_checkpoint_{};
  std::chrono::steady_clock::time_point next_inbox_{};
  std::chrono::steady_clock::time_point dead_letter_retry_{};
};

}  // namespace iomt::transport::buffer
