// The durable buffer between a source and the pipeline (iomt issues 4 and 12, STYLE habit 4).
//
//   HTTP ingest --submit--> durable_source --append--> segment_log (disk, group commit)
//                              |  completion (201) as soon as the events are durable
//                              v
//                     consumer thread: log_reader from the checkpoint on --submit--> pipeline
//                              ^  completions (any order) -> completion_tracker -> checkpoint
//                              |
//                     parked log (<dir>/parked): events whose write failed transiently
//
// submit() (the event_sink HTTP ingest talks to) appends and completes once the events are durable
// per the fsync policy; a full buffer or a disk error refuses at once (busy: 503 + Retry-After,
// busy_reason() says which bound) and an asynchronous disk error completes with `refused`.
//
// The consumer reads batches in log order and submits them downstream, retrying `busy` with
// exponential backoff. It checkpoints the lowest sequence whose batch is not final, so a restart
// resumes there and re-submits what came after it (the FHIR upsert is idempotent, iomt-spec §15).
// Outcomes are acted on by their failure class alone (mapping/failure_class.hpp):
//   permanent -> the original event is read back from the log and dead-lettered, then final;
//   otherwise -> the event is PARKED: copied into the parked log (durable), which makes it final
//                for the main log, so the main log trims behind it and disk use stays
//                proportional to what really waits. Parked events stay in memory and are
//                submitted again after a capped exponential backoff (resubmit_delay doubling up to
//                resubmit_max_delay) for as long as it takes - or until `max_age`, when set, after
//                which they are dead-lettered. Each becomes final in the parked log once written
//                or failed permanently. A restart loads the parked log's unfinished events again.
// While the FHIR server is failing for everyone (transient failures and nothing written) the
// consumer stops reading: one submission at a time probes the server after the backoff, so the
// pipeline holds only what waits and the buffer's size bound pushes back at ingest (503).
// Replayed dead letters arrive through the inbox (inbox.hpp).
//
// Thread-safety: submit() from any thread; start()/stop() from one controlling thread; stats()
// and busy_reason() from any thread.
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
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace iomt::transport::buffer {

struct durable_options {
  std::size_t batch_events = 1000;               // per downstream submission
  std::size_t batch_bytes = 4u << 20;            // payload bytes per downstream submission
  std::size_t max_in_flight_events = 50'000;     // submitted downstream or parked, not yet final
  std::chrono::milliseconds backoff_initial{5};  // downstream busy
  std::chrono::milliseconds backoff_max{1000};
  std::chrono::milliseconds checkpoint_interval{250};
  std::chrono::milliseconds inbox_interval{1000};
  std::chrono::milliseconds drain_timeout{30'000};  // stop(): wait this long for in-flight batches
  // Parked events (transient failures, issue 12).
  std::string parked_dir;                           // "" = <log dir>/parked
  std::uint64_t parked_segment_bytes = 4ull << 20;  // small segments: trimmed soon after they empty
  std::chrono::milliseconds resubmit_delay{1000};   // first wait, doubled per failure of the event
  std::chrono::milliseconds resubmit_max_delay{30'000};
  std::chrono::milliseconds max_age{0};  // 0: wait for as long as it takes
  // Called (on the consumer thread) for every event once it is durably in the dead-letter store,
  // with its failure: metrics by stage and type.
  std::function<void(const deadletter::failure&)> on_dead_letter;
  // UTC now (tests move it by hand); ages are measured from the events' enqueued time.
  std::function<json::date_time()> utc_now;
  // The clock of every wait the consumer decides itself: resubmission of waiting events, the
  // downstream-busy backoff, the probe of a failing server, checkpoint and inbox cadence, the
  // dead-letter and parked-log retries, the warning rate limit. Empty: steady_clock. A test that
  // moves it by hand calls poke() after each move. stop()'s drain_timeout stays on the real
  // clock, so that a stopped hand-moved clock cannot hold up shutdown.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// Counters for /metrics (read with relaxed loads; monotonic unless noted).
struct durable_stats {
  std::atomic<std::uint64_t> accepted_events{0};     // durable, acknowledged to the source
  std::atomic<std::uint64_t> refused_submits{0};     // buffer full or disk error (503)
  std::atomic<std::uint64_t> failed_appends{0};      // asynchronous disk errors (503)
  std::atomic<std::uint64_t> consumed_events{0};     // submitted downstream (first time)
  std::atomic<std::uint64_t> downstream_busy{0};     // downstream refusals (retried)
  std::atomic<std::uint64_t> redelivered_events{0};  // waiting events submitted again
  std::atomic<std::uint64_t> parked_events{0};       // events that started waiting (transient failure)
  std::atomic<std::uint64_t> dead_lettered{0};
  std::atomic<std::uint64_t> dead_letter_errors{0};  // the store could not be written (retried)
  std::atomic<std::uint64_t> failed_unreported{0};   // failed events the sink reported without details
  std::atomic<std::uint64_t> corrupt_skips{0};       // damaged regions skipped by the reader
  std::atomic<std::uint64_t> replayed_events{0};     // taken from the replay inbox
  std::atomic<std::uint64_t> in_flight_events{0};    // gauge
  std::atomic<std::uint64_t> waiting_events{0};      // gauge: events waiting to be submitted again
  std::atomic<std::int64_t> oldest_unwritten_ms{0};  // gauge: age of the oldest event not final (0: none)
  std::atomic<bool> fhir_failing{false};             // gauge: transient failures and nothing written
  std::atomic<std::uint64_t> checkpoint{0};          // gauge
};

// The transport library has no logger: the service passes one (level 0 info, 1 warn, 2 error).
using log_hook = std::function<void(int level, const std::string& message, const std::string& detail)>;

class durable_source final : public event_sink {
public:
  // `dead_letters` may be null (failed events are then logged and counted only). When the parked
  // log cannot be opened (read-only or full disk), events wait in the main log instead and the
  // parked log is tried again later.
  durable_source(segment_log& log, event_sink& downstream, deadletter::sink* dead_letters, durable_options options = {},
                 log_hook logger = {});
  ~durable_source() override;

  submit_status submit(std::vector<event>&& events, completion done) override;
  std::string busy_reason() const override;

  void start();
  // Wakes the consumer thread so that it looks at the clock again, and returns once it has made
  // one full pass after the call (false: it has not within `timeout`, or it is not running).
  // For tests that move durable_options::now by hand: after poke() the consumer has acted on
  // everything that was due, so "nothing was submitted" is a fact, not a race. The consumer
  // also wakes on its own at least every 100 ms, so production never needs it.
  bool poke(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Refuses new submissions, stops reading, waits up to drain_timeout for in-flight batches, writes
  // the final checkpoint. Idempotent. Stop the sources before, the downstream pipeline after.
  void stop();

  const durable_stats& stats() const { return shared_->stats; }
  std::uint64_t lag() const;  // records in the log not yet final (committed_end - checkpoint)
  // Why the FHIR server is considered failing (the last transient failure); "" when it is not.
  std::string failing_reason() const;
  const segment_log* parked_log() const { return parked_.get(); }

  struct failure_report {
    std::uint32_t index;  // into the downstream submission (then into the batch)
    deadletter::failure f;
    failure_class cls = failure_class::permanent;
  };

private:
  using clock_type = std::chrono::steady_clock;
  struct completed {
    std::uint64_t sub;
    std::size_t failed;
    std::uint64_t written;
    std::size_t transient;
    std::vector<failure_report> failures;
  };
  // Outlives *this while the pipeline or the log writer still hold completions.
  struct shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<completed> done;
    bool wake = false;
    std::condition_variable passed_cv;              // poke(): the consumer finished a pass
    std::uint64_t passes = 0;                       // under mu: the consumer's waits (each ends a pass)
    bool running = false;                           // under mu: the consumer loop runs (not draining)
    std::function<clock_type::time_point()> clock;  // durable_options::now
    durable_stats stats;
    log_hook hook;
    std::mutex warn_mu;
    std::map<std::string, clock_type::time_point> warned;  // message -> last time logged
    std::string failing_reason;                            // under warn_mu
    std::atomic<bool> last_refusal_full{false};
    void warn(int level, const std::string& message, const std::string& detail);
    clock_type::time_point now() const { return clock ? clock() : clock_type::now(); }
  };
  struct batch_state {
    log_cursor start;
    std::vector<std::uint64_t> seqs;   // seq of each event, in submission order
    std::size_t pending_subs = 0;      // downstream submissions not completed
    std::size_t pending_waits = 0;     // waiting events that could not be parked
    std::vector<failure_report> dead;  // waiting to be written to the dead-letter store
    json::date_time oldest{};          // enqueued time of its first event
  };
  // An event waiting to be submitted again.
  struct waiting_event {
    event ev;
    std::uint64_t parked_seq = 0;  // its record in the parked log; 0: not parked (pins main_batch)
    std::uint64_t main_batch = 0;  // when not parked
    std::uint32_t attempts = 0;    // transient failures seen by this process
    clock_type::time_point due{};
    bool in_flight = false;
    std::optional<deadletter::failure> dead;  // final failure waiting for the dead-letter store
    deadletter::failure last;                 // the last transient failure
  };
  struct sub_state {
    std::uint64_t batch = 0;           // a main batch ...
    std::vector<std::uint64_t> waits;  // ... or, when not empty, these waiting events again
  };
  struct parked_range {
    std::uint64_t end = 0;
    std::size_t remaining = 0;
  };

  void run();
  bool read_and_submit();
  void handle_completions();
  void on_batch_completion(std::uint64_t batch_id, completed& c);
  void on_waiting_completion(const sub_state& sub, completed& c);
  void flush_dead_letters();
  bool submit_waiting();
  void park(batch_state& b, std::uint64_t batch_id, std::vector<failure_report> reports);
  void resolve(std::uint64_t wait_id);
  void load_parked();
  void maybe_checkpoint(bool force);
  void update_gauges();
  void poll_inbox();
  void finish_if_done(std::uint64_t batch);
  void set_failing(bool failing, const std::string& why);
  bool reread(const batch_state& b, const std::vector<std::uint32_t>& indexes, std::vector<event>& out);
  completion make_completion(std::uint64_t sub);
  void warn(int level, const std::string& message, const std::string& detail) { shared_->warn(level, message, detail); }
  std::chrono::milliseconds resubmit_delay(std::uint32_t attempts) const;
  json::date_time utc_now() const;
  clock_type::time_point now() const { return shared_->now(); }
  std::uint64_t parked_checkpoint() const;
  bool open_parked();

  segment_log& log_;
  std::unique_ptr<segment_log> parked_;
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
  std::map<std::uint64_t, waiting_event> waiting_;
  std::map<std::uint64_t, parked_range> parked_ranges_;  // first parked seq -> range
  std::unique_ptr<log_reader> parked_reader_;            // loads what earlier runs parked
  std::uint64_t parked_run_start_ = 0;                   // parked seqs below were parked by earlier runs
  std::uint64_t next_wait_ = 1;
  std::uint64_t next_sub_ = 0;
  std::uint64_t written_checkpoint_ = 0;
  std::uint64_t written_parked_checkpoint_ = 0;
  clock_type::time_point next_parked_open_{};
  bool failing_ = false;
  std::chrono::milliseconds probe_delay_{0};
  clock_type::time_point next_probe_{};
  std::chrono::milliseconds backoff_{0};
  clock_type::time_point backoff_until_{};
  clock_type::time_point next_checkpoint_{};
  clock_type::time_point next_inbox_{};
  clock_type::time_point dead_letter_retry_{};
};

}  // namespace iomt::transport::buffer
