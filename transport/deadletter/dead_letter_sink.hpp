// Dead-lettering for sources that keep their own copy of the events (AMQP queues, Event Hubs) or
// that run without the durable buffer: an event_sink in front of the pipeline that writes every
// event whose failure is final (not one of `transient_types`) to the dead-letter store before the
// source learns the outcome (iomt issue 4: never lose an event). A source acknowledges a failed
// event only after it is in the store; when the store cannot be written the outcome is `refused`,
// so the source does not acknowledge (AMQP: modified -> redelivered; HTTP: 503).
//
// The decorator keeps a copy of each submission until its outcome arrives (the pipeline consumes
// the events it is given). Thread-safety: submit() from any thread; the completion runs on the
// pipeline's thread and writes the store there (failures are rare; the store is thread-safe).
#pragma once

#include "transport/deadletter/store.hpp"
#include "transport/event.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace iomt::transport::deadletter {

struct dead_letter_sink_stats {
  std::atomic<std::uint64_t> dead_lettered{0};  // events written to the store
  std::atomic<std::uint64_t> write_errors{0};   // submissions refused because the store failed
};

class dead_letter_sink final : public event_sink {
public:
  using log_fn = std::function<void(int level, const std::string& message, const std::string& detail)>;
  using counted_fn = std::function<void(const failure&)>;  // once per event durably stored
  dead_letter_sink(event_sink& downstream, sink& store, std::vector<std::string> transient_types, log_fn log = {},
                   counted_fn on_dead_letter = {});

  submit_status submit(std::vector<event>&& events, completion done) override;
  const dead_letter_sink_stats& stats() const { return stats_; }

private:
  event_sink& downstream_;
  sink& store_;
  std::vector<std::string> transient_;
  log_fn log_;
  counted_fn on_dead_letter_;
  dead_letter_sink_stats stats_;
};

}  // namespace iomt::transport::deadletter
