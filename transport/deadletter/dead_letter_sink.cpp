#include "transport/deadletter/dead_letter_sink.hpp"

#include <algorithm>
#include <memory>

namespace iomt::transport::deadletter {

dead_letter_sink::dead_letter_sink(event_sink& downstream, sink& store, std::vector<std::string> transient_types, log_fn log)
    : downstream_(downstream), store_(store), transient_(std::move(transient_types)), log_(std::move(log)) {}

submit_status dead_letter_sink::submit(std::vector<event>&& events, completion done) {
  auto copy = std::make_shared<const std::vector<event>>(events);
  return downstream_.submit(std::move(events), [this, copy, done = std::move(done)](const outcome& o) {
    bool wrote = false;
    std::string error;
    std::uint64_t count = 0;
    for (const auto& f : o.failures) {
      if (f.index >= copy->size()) continue;
      if (std::find(transient_.begin(), transient_.end(), f.type) != transient_.end()) continue;
      if (auto e = store_.put((*copy)[f.index], failure{f.stage, f.type, f.message})) {
        error = e->message;
        break;
      }
      wrote = true;
      ++count;
    }
    if (error.empty() && wrote) {
      if (auto e = store_.sync()) error = e->message;
    }
    if (error.empty()) {
      stats_.dead_lettered.fetch_add(count, std::memory_order_relaxed);
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
