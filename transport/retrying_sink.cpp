#include "transport/retrying_sink.hpp"

#include <algorithm>
#include <numeric>

namespace iomt::transport {

struct retrying_sink::pending {
  std::vector<event> events;  // copies: the pipeline consumes what it is given
  completion done;
  std::vector<event_failure> final_failures;  // permanent, indexed into `events`
  std::vector<std::uint32_t> again;           // waiting, indexes into `events`
  std::string last_reason;                    // the last transient failure
  std::uint64_t written = 0;
  std::uint32_t attempts = 0;
  clock::time_point first{};
  clock::time_point due{};
  bool in_flight = true;
  bool queued = false;  // in waiting_
  bool finished = false;
};

retrying_sink::retrying_sink(event_sink& downstream, deadletter::sink* store, retrying_options options, log_fn log,
                             counted_fn on_dead_letter)
    : downstream_(downstream),
      store_(store),
      options_(options),
      log_(std::move(log)),
      on_dead_letter_(std::move(on_dead_letter)) {}

retrying_sink::~retrying_sink() { stop(); }

submit_status retrying_sink::submit(std::vector<event>&& events, completion done) {
  auto p = std::make_shared<pending>();
  p->events = events;
  p->done = std::move(done);
  p->first = now();
  std::vector<std::uint32_t> all(events.size());
  std::iota(all.begin(), all.end(), 0u);
  return downstream_.submit(std::move(events), completion_for(p, std::move(all)));
}

completion retrying_sink::completion_for(std::shared_ptr<pending> p, std::vector<std::uint32_t> indexes) {
  return [this, p = std::move(p), indexes = std::move(indexes)](const outcome& o) { on_outcome(p, indexes, o); };
}

std::chrono::milliseconds retrying_sink::delay(std::uint32_t attempts) const {
  auto d = options_.base_delay;
  for (std::uint32_t i = 1; i < attempts && d < options_.max_delay; ++i) d *= 2;
  return std::min(d, options_.max_delay);
}

void retrying_sink::on_outcome(const std::shared_ptr<pending>& p, const std::vector<std::uint32_t>& indexes,
                               const outcome& o) {
  if (o.refused) return finish(p, true, o.error);
  const auto t = now();
  bool final = false;
  std::string refuse;
  {
    std::lock_guard l(mu_);
    p->in_flight = false;
    p->written += o.written;
    p->again.clear();
    const bool too_old = options_.max_age.count() > 0 && t - p->first > options_.max_age;
    for (const auto& f : o.failures) {
      if (f.index >= indexes.size()) continue;
      event_failure g = f;
      g.index = indexes[f.index];
      if (!is_transient(g.cls)) {
        p->final_failures.push_back(std::move(g));
      } else if (too_old) {
        g.cls = failure_class::permanent;
        g.message += " (still failing after " + std::to_string(p->attempts + 1) + " attempts, beyond max_age)";
        p->final_failures.push_back(std::move(g));
      } else {
        p->last_reason = g.type + ": " + g.message;
        p->again.push_back(g.index);
      }
    }
    // The server's health, from what it did with this submission.
    if (o.written > 0) {
      if (failing_ && log_) log_(0, "the FHIR server writes again: waiting events are submitted", "");
      failing_ = false;
      failing_reason_.clear();
    } else if (o.transient > 0 && !p->again.empty()) {
      if (!failing_ && log_)
        log_(2, "the FHIR server fails for every event: events wait, probing it with backoff", p->last_reason);
      failing_ = true;
      failing_reason_ = p->last_reason.substr(0, 1024);
    }
    stats_.fhir_failing.store(failing_, std::memory_order_relaxed);
    if (p->again.empty()) {
      final = true;
    } else if (stopping_) {
      refuse = "shutting down while events wait for the FHIR server: " + p->last_reason;
    } else if (options_.max_wait.count() > 0 && t - p->first >= options_.max_wait) {
      refuse = "the FHIR server is failing: " + p->last_reason;
    } else {
      ++p->attempts;
      p->due = t + delay(p->attempts);
      if (!p->queued) {
        p->queued = true;
        waiting_.push_back(p);
      }
      wake_ = true;
    }
    update_gauges_locked(t);
  }
  cv_.notify_all();
  if (final) finish(p, false, {});
  if (!refuse.empty()) finish(p, true, refuse);
}

void retrying_sink::finish(const std::shared_ptr<pending>& p, bool refused, const std::string& why) {
  {
    std::lock_guard l(mu_);
    if (p->finished) return;
    p->finished = true;
    if (p->queued) {
      std::erase(waiting_, p);
      p->queued = false;
    }
    update_gauges_locked(now());
  }
  outcome out;
  out.events = p->events.size();
  out.written = p->written;
  if (refused) {
    out.refused = true;
    out.error = why;
    if (p->done) p->done(out);
    return;
  }
  auto& failures = p->final_failures;
  std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  std::string error;
  if (store_ && !failures.empty()) {
    for (const auto& f : failures) {
      if (auto e = store_->put(p->events[f.index], deadletter::failure{f.stage, f.type, f.message, f.groups})) {
        error = e->message;
        break;
      }
    }
    if (error.empty())
      if (auto e = store_->sync()) error = e->message;
    if (!error.empty()) {
      // The failed events are not safely kept: the source must not acknowledge the submission.
      stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
      if (log_) log_(2, "cannot write the dead-letter store: the submission is not acknowledged", error);
      out.refused = true;
      out.error = "dead-letter store: " + error;
      if (p->done) p->done(out);
      return;
    }
    stats_.dead_lettered.fetch_add(failures.size(), std::memory_order_relaxed);
    if (on_dead_letter_)
      for (const auto& f : failures) on_dead_letter_(deadletter::failure{f.stage, f.type, f.message});
  }
  out.failed = failures.size();
  out.failures = std::move(failures);
  if (p->done) p->done(out);
}

retrying_sink::clock::time_point retrying_sink::poll(clock::time_point now) {
  std::vector<std::shared_ptr<pending>> due;
  std::vector<std::shared_ptr<pending>> refuse;
  auto next = clock::time_point::max();
  {
    std::lock_guard l(mu_);
    bool probing = false;  // while the server fails for everyone: one submission in flight at a time
    for (const auto& p : waiting_) probing = probing || p->in_flight;
    for (const auto& p : waiting_) {
      if (p->in_flight) continue;
      if (stopping_) {
        refuse.push_back(p);
        continue;
      }
      if (p->due > now || (failing_ && (probing || !due.empty()))) {
        next = std::min(next, std::max(p->due, now + (failing_ ? options_.base_delay : std::chrono::milliseconds(0))));
        continue;
      }
      p->in_flight = true;
      due.push_back(p);
    }
    update_gauges_locked(now);
  }
  for (const auto& p : refuse)
    finish(p, true, "shutting down while events wait for the FHIR server: " + p->last_reason);
  for (const auto& p : due) {
    std::vector<event> events;
    events.reserve(p->again.size());
    for (auto i : p->again) events.push_back(p->events[i]);
    const std::size_t n = events.size();
    const submit_status st = downstream_.submit(std::move(events), completion_for(p, p->again));
    if (st == submit_status::accepted) {
      stats_.resubmitted_events.fetch_add(n, std::memory_order_relaxed);
    } else if (st == submit_status::shutting_down) {
      finish(p, true, "shutting down while events wait for the FHIR server: " + p->last_reason);
    } else {
      std::lock_guard l(mu_);
      p->in_flight = false;
      p->due = now + std::min(options_.base_delay, std::chrono::milliseconds(1000));
      next = std::min(next, p->due);
    }
  }
  return next;
}

void retrying_sink::update_gauges_locked(clock::time_point now) {
  std::uint64_t n = 0;
  auto oldest = now;
  for (const auto& p : waiting_) {
    n += p->again.size();
    oldest = std::min(oldest, p->first);
  }
  stats_.waiting_events.store(n, std::memory_order_relaxed);
  stats_.oldest_waiting_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(now - oldest).count(),
                                 std::memory_order_relaxed);
}

std::string retrying_sink::failing_reason() const {
  std::lock_guard l(mu_);
  return failing_ ? failing_reason_ : std::string();
}

void retrying_sink::wake() {
  {
    std::lock_guard l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void retrying_sink::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    for (;;) {
      const auto next = poll(now());
      std::unique_lock l(mu_);
      if (stopping_) break;
      cv_.wait_until(l, std::min(next, clock::now() + std::chrono::seconds(1)), [&] { return wake_ || stopping_; });
      wake_ = false;
      if (stopping_) break;
    }
  });
}

void retrying_sink::stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  poll(now());  // what waits is answered `refused`: the source gives it back
}

}  // namespace iomt::transport
