#include "pipeline/submission.hpp"

#include "pipeline/metrics.hpp"

#include <algorithm>

namespace iomt::pipeline {

submission::submission(std::size_t events, transport::completion done, metrics* m)
    : failed_(std::make_unique<std::atomic<std::uint8_t>[]>(events)), events_(events), done_(std::move(done)), metrics_(m) {
  for (std::size_t i = 0; i < events; ++i) failed_[i].store(0, std::memory_order_relaxed);
}

void submission::finish_unit(std::size_t event, bool failed) {
  if (failed && event < events_) failed_[event].store(1, std::memory_order_relaxed);
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) complete();
}

void submission::report_failure(std::size_t event, std::string_view stage, std::string_view type, std::string_view message) {
  if (event >= events_ || failed_[event].exchange(1, std::memory_order_relaxed) != 0) return;  // the first error only
  std::lock_guard l(failures_mu_);
  failures_.push_back({static_cast<std::uint32_t>(event), std::string(stage), std::string(type), std::string(message)});
}

void submission::complete() {
  transport::outcome o;
  o.events = events_;
  for (std::size_t i = 0; i < events_; ++i) o.failed += failed_[i].load(std::memory_order_relaxed);
  {
    std::lock_guard l(failures_mu_);
    o.failures = std::move(failures_);
  }
  std::sort(o.failures.begin(), o.failures.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  if (metrics_) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - received_).count();
    for (std::size_t i = 0; i < events_; ++i) metrics_->ingest_to_persisted_seconds->Observe(s);
  }
  if (done_) done_(o);
}

}  // namespace iomt::pipeline
