#include "pipeline/submission.hpp"

#include "pipeline/metrics.hpp"
#include "pipeline/poison.hpp"
#include "pipeline/trace/event_trace.hpp"

#include <algorithm>

namespace iomt::pipeline {

namespace {

constexpr std::size_t max_group_text = 512;

std::string group_text(std::string_view group, const mapping::mapping_error& e) {
  std::string s(group);
  s += ": ";
  s += e.type;
  s += ": ";
  s.append(e.message, 0, std::min(e.message.size(), max_group_text));
  if (e.message.size() > max_group_text) s += "...";
  return s;
}

}  // namespace

submission::submission(std::vector<std::uint64_t> keys, transport::completion done, const submission_context& ctx)
    : keys_(std::move(keys)),
      events_(keys_.size()),
      written_(std::make_unique<std::atomic<std::uint32_t>[]>(events_)),
      done_(std::move(done)),
      ctx_(ctx) {
  for (std::size_t i = 0; i < events_; ++i) written_[i].store(0, std::memory_order_relaxed);
  if (ctx_.written_total) written_at_start_ = ctx_.written_total->load(std::memory_order_relaxed);
}

void submission::finish_unit() {
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) complete();
}

void submission::report_failure(std::size_t event, std::string_view stage, const mapping::mapping_error& e,
                                std::string_view group) {
  if (event >= events_) return;
  std::lock_guard l(failures_mu_);
  auto [it, fresh] = failures_.try_emplace(static_cast<std::uint32_t>(event));
  transport::event_failure& f = it->second;
  if (fresh || mapping::severity(e.cls) > mapping::severity(f.cls)) {
    // Worst wins: a transient failure beside a permanent one retries the whole event.
    f.index = static_cast<std::uint32_t>(event);
    f.stage = stage;
    f.type = e.type;
    f.message = e.message;
    f.cls = e.cls;
  }
  if (!group.empty() && f.groups.size() < max_groups_per_failure) f.groups.push_back(group_text(group, e));
}

void submission::complete() {
  transport::outcome o;
  o.events = events_;
  std::unordered_map<std::uint32_t, transport::event_failure> failures;
  {
    std::lock_guard l(failures_mu_);
    failures.swap(failures_);
  }
  std::uint64_t own_written = 0;
  for (std::size_t i = 0; i < events_; ++i) own_written += written_[i].load(std::memory_order_relaxed);
  o.written = own_written;
  const std::uint64_t written_during =
      ctx_.written_total ? ctx_.written_total->load(std::memory_order_relaxed) - written_at_start_ : own_written;
  const auto now = std::chrono::steady_clock::now();
  o.failures.reserve(failures.size());
  for (auto& [index, f] : failures) {
    if (ctx_.poison && mapping::counts_against_event(f.cls) && index < keys_.size()) {
      // Written while this event was attempted, by anyone but the event itself.
      const bool others = written_during > written_[index].load(std::memory_order_relaxed);
      if (ctx_.poison->failed(keys_[index], others, now)) {
        f.cls = mapping::failure_class::permanent;
        f.message += " (failed " + std::to_string(ctx_.poison->options().max_attempts) +
                     " times while the FHIR server wrote other events: dead-lettered as this event's own problem)";
      }
    } else if (ctx_.poison && !ctx_.poison->empty() && index < keys_.size() && !mapping::is_transient(f.cls)) {
      ctx_.poison->forget(keys_[index]);
    }
    if (mapping::is_transient(f.cls)) ++o.transient;
    o.failures.push_back(std::move(f));
  }
  o.failed = o.failures.size();
  std::sort(o.failures.begin(), o.failures.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  if (ctx_.poison && !ctx_.poison->empty()) {
    // Events that made it this time start from zero if they ever fail again.
    std::size_t k = 0;
    for (std::size_t i = 0; i < events_; ++i) {
      while (k < o.failures.size() && o.failures[k].index < i) ++k;
      if (k < o.failures.size() && o.failures[k].index == i) continue;
      ctx_.poison->forget(keys_[i]);
    }
  }
  if (ctx_.trace && trace_first_) {
    // The final outcome of each traced event, as the source will act on it (after poison).
    std::vector<trace::completion_update> updates(events_);
    for (std::size_t i = 0; i < events_; ++i) updates[i].id = trace_first_ + i;
    for (const auto& f : o.failures)
      if (f.index < events_) updates[f.index].failure = trace::error_brief{f.stage, f.type, f.message, f.cls};
    ctx_.trace->complete(updates);
  }
  if (ctx_.m) {
    ctx_.m->observe_ingest_to_persisted(std::chrono::duration<double>(now - received_).count(), events_);
  }
  if (done_) done_(o);
}

}  // namespace iomt::pipeline
