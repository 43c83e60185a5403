// The receiving side of one AMQP 1.0 connection, sans-io: receiver links, credit, decoding
// deliveries into transport::events, submitting them to the pipeline, and settling each delivery
// only when the completion for its event has fired (STYLE habit 4). It works on an engine
// (engine.hpp); connection.hpp moves the bytes and calls in here on its strand.
//
//   deliveries --decode--> pending batch --submit--> event_sink (pipeline)
//        ^                       |  busy: keep the batch, stop granting credit, retry after a backoff
//        |  credit while         |  shutting_down: release the batch, stop
//        |  unsettled < bound    v
//        +---- settle <---- completion (any thread) -> mailbox -> drain_completions() on the strand
//
// Ordering and duplicates: dispositions go out in completion order. A connection that drops
// before a completion arrives leaves its deliveries unsettled: the broker redelivers them (the
// FHIR upsert is idempotent, iomt-spec §15), and the late completion is ignored.
//
// Thread-safety: everything runs on the connection's strand except the completion callbacks the
// sink calls, which only touch the mailbox (mutex) and post a wake-up.
#pragma once

#include "transport/amqp/credit.hpp"
#include "transport/amqp/engine.hpp"
#include "transport/amqp/error.hpp"
#include "transport/amqp/message_mapper.hpp"
#include "transport/amqp/settlement.hpp"
#include "transport/event.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

struct pn_event_t;
struct pn_link_t;
struct pn_delivery_t;
struct pn_session_t;

namespace iomt::transport::amqp {

// One receiver link to open on each connection.
struct link_spec {
  std::string address;  // source address, e.g. "/amq/queue/device-events" or "hub/ConsumerGroups/$Default/Partitions/0"
  std::string selector;     // Event Hubs: apache.org:selector-filter:string expression ("" none)
  std::int64_t epoch = -1;  // Event Hubs: com.microsoft:epoch link property (owner level); -1: none
  std::string partition;    // Event Hubs partition id (for checkpoints); "" for queues
};

struct consumer_options {
  credit_policy credit;                // per link bound of unsettled deliveries
  std::size_t max_batch_events = 500;  // per submission
  std::chrono::milliseconds busy_backoff_initial{5};
  std::chrono::milliseconds busy_backoff_max{500};
  std::string link_name_prefix = "iomtflow";
};

// Counters for metrics and tests (relaxed atomics; read from any thread).
struct consumer_stats {
  std::atomic<std::uint64_t> received{0};   // complete deliveries read
  std::atomic<std::uint64_t> submitted{0};  // events the sink accepted
  std::atomic<std::uint64_t> busy{0};       // submissions refused with busy (retried)
  std::atomic<std::uint64_t> accepted{0};   // dispositions sent, by kind
  std::atomic<std::uint64_t> released{0};
  std::atomic<std::uint64_t> modified{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> decode_errors{0};
  std::atomic<std::uint64_t> stale_completions{0};  // completions for a connection that is gone
  std::atomic<std::uint64_t> unsettled{0};          // gauge: deliveries in hand, all links
};

// Where completions from other threads wait for the strand. Shared with the completion closures,
// so it outlives the consumer.
class completion_mailbox {
public:
  struct item {
    std::uint64_t batch;
    outcome result;
  };
  // `wake` is called (under the mailbox lock) when the mailbox goes from empty to non-empty.
  void set_wake(std::function<void()> wake);
  void post(std::uint64_t batch, const outcome& o);
  std::vector<item> take();

private:
  std::mutex mu_;
  std::vector<item> items_;
  std::function<void()> wake_;
};

class consumer {
public:
  // Progress of a link: every delivery up to `position` has been completed (Event Hubs
  // checkpoints). Called on the strand.
  using progress_hook = std::function<void(const link_spec&, const stream_position&)>;

  consumer(consumer_options options, event_sink& sink);
  ~consumer();
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  const std::shared_ptr<completion_mailbox>& mailbox() const { return mailbox_; }
  void on_progress(progress_hook hook) { progress_ = std::move(hook); }
  void on_log(log_hook hook) { log_ = std::move(hook); }

  // A new connection attempt: forgets every link and in-flight batch of the previous one (their
  // deliveries died with it), opens the connection and one session.
  void begin(engine& e);
  // Attaches a receiver link on the current connection (may be called later, e.g. after Event
  // Hubs partition discovery). Returns its index.
  std::size_t open_link(const link_spec& spec);
  pn_session_t* session() const { return session_; }
  // The attempt is over: call before its engine is destroyed (drops every pointer into it).
  void end();

  // Handles `e` when it concerns this consumer's links, session or connection; returns false for
  // events of other links (Event Hubs control links).
  bool on_event(pn_event_t* e);

  // After a burst of events: submit what is pending (unless waiting for a busy retry) and top up
  // credit.
  void flush();
  // The busy backoff elapsed: submit again.
  void retry();
  // Non-empty after flush()/retry() when a submission was refused with busy: call retry() then.
  std::optional<std::chrono::milliseconds> retry_after() const { return retry_after_; }

  // Settles what the completions in the mailbox decided; grants credit again.
  void drain_completions();

  // Stop receiving: no more credit; deliveries not yet submitted and new arrivals are held
  // (unsettled) and released by close(), right before the links detach - releasing them earlier
  // would make the broker send them straight back on the credit still outstanding. In-flight
  // submissions are still settled when they complete.
  void stop_receiving();
  bool stopped() const { return stopping_; }
  // Nothing submitted is waiting for its completion.
  bool drained() const { return batches_.empty(); }
  // Releases the held deliveries and detaches the links; once the broker has answered every detach
  // (so it has processed the dispositions sent before them), ends the session and closes the
  // connection (the engine then finishes). finish_close() does the second step at once (the
  // driver's deadline when a broker does not answer).
  void close();
  void finish_close();

  // The error a link/session/connection close by the peer reported (errc::ok if none).
  const error& failure() const { return failure_; }
  // The sink said shutting_down: the source should stop.
  bool sink_closed() const { return sink_closed_; }

  const consumer_stats& stats() const { return stats_; }
  std::size_t link_count() const { return links_.size(); }
  bool all_links_attached() const;

private:
  struct tracked {
    pn_delivery_t* delivery = nullptr;  // null when the broker sent it pre-settled
    bool done = false;
    stream_position position;
  };
  struct link_state {
    link_spec spec;
    pn_link_t* link = nullptr;
    std::deque<tracked> inflight;  // arrival order; popped from the front once done
    std::uint64_t base_seq = 0;    // sequence number of inflight.front()
    std::uint64_t next_seq = 0;
    std::string partial;  // bytes of the delivery being read (may span several frames)
    bool attached = false;
    bool detached = false;          // the broker answered our detach (closing)
    bool progress_blocked = false;  // a delivery was released/modified: no checkpoint beyond it
    bool progress_dirty = false;    // the completed prefix moved since the last report
    stream_position progress;       // position of the last delivery of the completed prefix
  };
  struct ref {
    std::uint32_t link;
    std::uint64_t seq;
  };
  struct batch {
    std::vector<event> events;
    std::vector<ref> refs;
  };

  link_state* find(pn_link_t* l);
  void on_delivery(link_state& ls, std::uint32_t index, pn_delivery_t* d);
  void submit_pending();
  void settle(const ref& r, disposition how);
  void pop_done(link_state& ls);
  void report_progress();
  void hold_pending();
  void grant_credit();
  void fail(errc code, std::string detail);

  consumer_options options_;
  event_sink& sink_;
  std::shared_ptr<completion_mailbox> mailbox_ = std::make_shared<completion_mailbox>();
  progress_hook progress_;
  log_hook log_;
  consumer_stats stats_;
  message_mapper mapper_;

  engine* engine_ = nullptr;
  pn_session_t* session_ = nullptr;
  std::vector<link_state> links_;
  std::size_t last_link_ = 0;
  batch pending_;
  std::vector<ref> held_;  // stopping: unsettled, not submitted, released by close()
  std::unordered_map<std::uint64_t, std::vector<ref>> batches_;  // submitted, awaiting completion
  std::uint64_t next_batch_ = 1;
  std::vector<disposition> plan_;
  std::optional<std::chrono::milliseconds> retry_after_;
  std::chrono::milliseconds backoff_{0};
  bool paused_ = false;  // a busy submission is waiting for its retry
  bool stopping_ = false;
  bool sink_closed_ = false;
  bool closing_ = false;
  bool finished_close_ = false;
  error failure_;
};

}  // namespace iomt::transport::amqp
