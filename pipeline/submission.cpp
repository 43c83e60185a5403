#include "pipeline/submission.hpp"

#include "pipeline/metrics.hpp"

namespace iomt::pipeline {

submission::submission(std::size_t events, transport::completion done, metrics* m)
    : failed_(std::make_unique<std::atomic<std::uint8_t>[]>(events)), events_(events), done_(std::move(done)), metrics_(m) {
  for (std::size_t i = 0; i < events; ++i) failed_[i].store(0, std::memory_order_relaxed);
}

void submission::finish_unit(std::size_t event, bool failed) {
  if (failed && event < events_) failed_[event].store(1, std::memory_order_relaxed);
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) complete();
}

void submission::complete() {
  transport::outcome o;
  o.events = events_;
  for (std::size_t i = 0; i < events_; ++i) o.failed += failed_[i].load(std::memory_order_relaxed);
  if (metrics_) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - received_).count();
    for (std::size_t i = 0; i < events_; ++i) metrics_->ingest_to_persisted_seconds->Observe(s);
  }
  if (done_) done_(o);
}

}  // namespace iomt::pipeline
