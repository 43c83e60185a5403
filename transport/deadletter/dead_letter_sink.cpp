#include "transport/deadletter/dead_letter_sink.hpp"

#include <algorithm>
#include <memory>

namespace iomt::transport::deadletter {

dead_letter_sink::dead_letter_sink(event_sink& downstream, sink& store, std::vector<std::string> transient_types, log_fn log,
                                   counted_fn on_dead_letter)
    : downstream_(downstream),
      store_(store),
      transient_(std::move(transient_types)),
      log_(std::move(log)),
      on_dead_letter_(std::move(on_dead_letter)) {}

submit_status dead_letter_sink::submit(std::vector<event>&& events, completion done) {
  auto copy = std::make_shared<const std::vector<event>>(events);
  return downstream_.submit(std::move(events), [this, copy, done = std::move(done)](const outcome& o) {
    std::vector<failure> stored;
    std::string error;
    for (const auto& f : o.failures) {
      if (f.index >= copy->size()) continue;
      if (std::find(transient_.begin(), transient_.end(), f.type) != transient_.end()) continue;
      failure why{f.stage, f.type, f.message};
      if (auto e = store_.put((*copy)[f.index], why)) {
        error = e->message;
        break;
      }
      stored.push_back(std::move(why));
    }
    if (error.empty() && !stored.empty()) {
      if (auto e = store_.sync()) error = e->message;
    }
    if (error.empty()) {
      stats_.dead_lettered.fetch_add(stored.size(), std::memory_order_relaxed);
      if (on_dead_letter_)
        for (const auto& f : stored) on_dead_letter_(f);
      done(o);
      return;
    }
    // The failed events are not safely kept: the source must not acknowledge the submission.
    stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
    if (log_) log_(2, "cannot write the dead-letter store: the submission is not acknowledged", error);
    outcome refused = o;
    refused.refused = true;
    refused.error = "dead-letter store: " + error;
    done(refused);
  });
}

}  // namespace iomt::transport::deadletter
