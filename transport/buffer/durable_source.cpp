#include "transport/buffer/durable_source.hpp"

#include "transport/buffer/inbox.hpp"

#include <algorithm>
#include <future>
#include <unordered_map>

namespace iomt::transport::buffer {

namespace {

using clock_type = std::chrono::steady_clock;

void copy_failures(const outcome& o, std::vector<durable_source::failure_report>& out) {
  for (const auto& f : o.failures)
    out.push_back({static_cast<std::uint32_t>(f.index), deadletter::failure{f.stage, f.type, f.message}});
}

void set_refused(outcome& o, const std::string& why) {
  o.refused = true;
  o.error = why;
}

}  // namespace

durable_source::durable_source(segment_log& log, event_sink& downstream, deadletter::sink* dead_letters, durable_options options,
                               log_hook logger)
    : log_(log),
      downstream_(downstream),
      dead_letters_(dead_letters),
      options_(std::move(options)),
      reader_(log, log.checkpoint_seq()),
      reread_(log, log.checkpoint_seq()),
      tracker_(log.checkpoint_seq()) {
  shared_->hook = std::move(logger);
  written_checkpoint_ = log_.checkpoint_seq();
  shared_->stats.checkpoint = written_checkpoint_;
}

durable_source::~durable_source() {
  stop();
  log_.on_commit({});
}

submit_status durable_source::submit(std::vector<event>&& events, completion done) {
  if (stopping_.load(std::memory_order_acquire)) return submit_status::shutting_down;
  const std::size_t n = events.size();
  auto st = log_.append(events, [s = shared_, n, done = std::move(done)](const append_result& r) {
    outcome o;
    o.events = n;
    if (r.err) {
      set_refused(o, r.err->message);
      s->stats.failed_appends.fetch_add(1, std::memory_order_relaxed);
      s->warn(2, "events not stored in the durable buffer: the source is told to retry", r.err->message);
    } else {
      s->stats.accepted_events.fetch_add(n, std::memory_order_relaxed);
    }
    if (done) done(o);
  });
  if (!st) return submit_status::accepted;
  if (st->code == errc::closed) return submit_status::shutting_down;
  shared_->stats.refused_submits.fetch_add(1, std::memory_order_relaxed);
  if (st->code != errc::full) warn(2, "durable buffer refuses events", st->message);
  return submit_status::busy;
}

void durable_source::start() {
  if (started_.exchange(true)) return;
  std::weak_ptr<shared> w = shared_;
  log_.on_commit([w] {
    if (auto s = w.lock()) {
      {
        std::lock_guard l(s->mu);
        s->wake = true;
      }
      s->cv.notify_one();
    }
  });
  thread_ = std::thread([this] { run(); });
}

void durable_source::stop() {
  stopping_.store(true, std::memory_order_release);
  {
    std::lock_guard l(shared_->mu);
    shared_->wake = true;
  }
  shared_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t durable_source::lag() const {
  const std::uint64_t end = log_.committed_end();
  const std::uint64_t c = shared_->stats.checkpoint.load(std::memory_order_relaxed);
  return end > c ? end - c : 0;
}

void durable_source::shared::warn(int level, const std::string& message, const std::string& detail) {
  if (!hook) return;
  {
    // The same text again within 10 s is counted by the metrics, not logged again.
    std::lock_guard l(warn_mu);
    const auto now = clock_type::now();
    if (detail == last_warning && now - last_warning_time < std::chrono::seconds(10)) return;
    last_warning = detail;
    last_warning_time = now;
  }
  hook(level, message, detail);
}

bool durable_source::is_transient(const std::string& type) const {
  return std::find(options_.redeliver_types.begin(), options_.redeliver_types.end(), type) != options_.redeliver_types.end();
}

completion durable_source::make_completion(std::uint64_t sub) {
  return [s = shared_, sub](const outcome& o) {
    completed c{sub, o.failed, {}};
    copy_failures(o, c.failures);
    {
      std::lock_guard l(s->mu);
      s->done.push_back(std::move(c));
      s->wake = true;
    }
    s->cv.notify_one();
  };
}

void durable_source::run() {
  const auto now0 = clock_type::now();
  next_checkpoint_ = now0 + options_.checkpoint_interval;
  next_inbox_ = now0;  // pick up replays left while the service was stopped
  while (!stopping_.load(std::memory_order_acquire)) {
    handle_completions();
    flush_dead_letters();
    handle_redeliveries();
    maybe_checkpoint(false);
    if (clock_type::now() >= next_inbox_) {
      poll_inbox();
      next_inbox_ = clock_type::now() + options_.inbox_interval;
    }
    bool progressed = false;
    const auto now = clock_type::now();
    if (tracker_.events_in_flight() < options_.max_in_flight_events && now >= backoff_until_) progressed = read_and_submit();
    shared_->stats.in_flight_events.store(tracker_.events_in_flight(), std::memory_order_relaxed);
    if (progressed) continue;
    // Idle, throttled or backing off: sleep until woken (commit, completion, stop) or a deadline.
    auto until = std::min({next_checkpoint_, next_inbox_, clock_type::now() + std::chrono::milliseconds(100)});
    if (backoff_until_ > clock_type::now()) until = std::min(until, backoff_until_);
    for (const auto& r : redeliveries_) until = std::min(until, r.due);
    std::unique_lock l(shared_->mu);
    shared_->cv.wait_until(l, until, [&] { return shared_->wake; });
    shared_->wake = false;
  }
  // Drain: let what is in flight finish (no new reads, no redeliveries), then checkpoint.
  const auto deadline = clock_type::now() + options_.drain_timeout;
  // Batches waiting only for a redelivery stay unfinished: a restart submits them again.
  auto waiting = [&] {
    if (!subs_.empty()) return true;
    for (const auto& [id, b] : batches_)
      if (!b.dead.empty()) return true;
    return false;
  };
  while (waiting() && clock_type::now() < deadline) {
    {
      std::unique_lock l(shared_->mu);
      shared_->cv.wait_until(l, std::min(deadline, clock_type::now() + std::chrono::milliseconds(50)),
                             [&] { return !shared_->done.empty(); });
    }
    handle_completions();
    flush_dead_letters();
  }
  maybe_checkpoint(true);
  shared_->stats.in_flight_events.store(tracker_.events_in_flight(), std::memory_order_relaxed);
}

bool durable_source::read_and_submit() {
  const log_cursor start = reader_.tell();
  const std::uint64_t first = reader_.position();
  std::vector<event> events;
  std::vector<std::uint64_t> seqs;
  std::vector<undecodable_record> bad;
  auto r = reader_.read(events, seqs, options_.batch_events, options_.batch_bytes, &bad);
  if (!r) {
    if (r.error().code == errc::corrupt) {
      shared_->stats.corrupt_skips.fetch_add(1, std::memory_order_relaxed);
      warn(2, "durable buffer damaged: records skipped", r.error().message);
      return true;
    }
    warn(2, "cannot read the durable buffer", r.error().message);
    backoff_until_ = clock_type::now() + std::chrono::seconds(1);
    return false;
  }
  if (!bad.empty()) {
    // CRC-valid but not an event of this version: keep the raw payload as a dead letter.
    bool ok = dead_letters_ != nullptr;
    for (const auto& b : bad) {
      if (!dead_letters_) break;
      event e;
      e.body = b.payload;
      if (dead_letters_->put(e, {"buffer", "UndecodableRecordException",
                                 "buffer record " + std::to_string(b.seq) + " is not an event this version can decode"}))
        ok = false;
    }
    if (ok && dead_letters_->sync()) ok = false;
    if (!ok) {
      if (dead_letters_) {
        shared_->stats.dead_letter_errors.fetch_add(1, std::memory_order_relaxed);
        reader_.seek(start);
        backoff_until_ = clock_type::now() + std::chrono::seconds(1);
        return false;
      }
      warn(2, "undecodable buffer records dropped (no dead-letter store)", std::to_string(bad.size()) + " record(s)");
    }
    shared_->stats.dead_lettered.fetch_add(bad.size(), std::memory_order_relaxed);
    if (options_.on_dead_letter && dead_letters_)
      for (std::size_t i = 0; i < bad.size(); ++i)
        options_.on_dead_letter({"buffer", "UndecodableRecordException", "undecodable buffer record"});
  }
  if (*r == 0) return !bad.empty();

  const std::uint64_t end = reader_.position();
  const std::size_t n = events.size();
  const std::uint64_t batch_id = tracker_.next_id();
  const std::uint64_t sub = next_sub_++;
  subs_[sub] = sub_state{batch_id, {}};
  const submit_status st = downstream_.submit(std::move(events), make_completion(sub));
  if (st != submit_status::accepted) {
    subs_.erase(sub);
    reader_.seek(start);
    if (st == submit_status::shutting_down) {
      stopping_.store(true, std::memory_order_release);
      return false;
    }
    shared_->stats.downstream_busy.fetch_add(1, std::memory_order_relaxed);
    backoff_ = std::clamp(backoff_ * 2, options_.backoff_initial, options_.backoff_max);
    backoff_until_ = clock_type::now() + backoff_;
    return false;
  }
  backoff_ = std::chrono::milliseconds(0);
  tracker_.add(first, end, n);
  batch_state b;
  b.start = start;
  b.seqs = std::move(seqs);
  b.pending_subs = 1;
  batches_.emplace(batch_id, std::move(b));
  shared_->stats.consumed_events.fetch_add(n, std::memory_order_relaxed);
  return true;
}

void durable_source::handle_completions() {
  std::vector<completed> done;
  {
    std::lock_guard l(shared_->mu);
    done.swap(shared_->done);
  }
  for (auto& c : done) {
    auto s = subs_.find(c.sub);
    if (s == subs_.end()) continue;
    const sub_state sub = std::move(s->second);
    subs_.erase(s);
    auto bit = batches_.find(sub.batch);
    if (bit == batches_.end()) continue;
    batch_state& b = bit->second;
    if (c.failed > c.failures.size()) {
      shared_->stats.failed_unreported.fetch_add(c.failed - c.failures.size(), std::memory_order_relaxed);
      warn(1, "the pipeline reported failed events without details: they cannot be dead-lettered",
           std::to_string(c.failed - c.failures.size()) + " event(s)");
    }
    std::vector<std::uint32_t> again;
    std::vector<failure_report> again_reasons;
    for (auto& f : c.failures) {
      const std::size_t count = sub.indexes.empty() ? b.seqs.size() : sub.indexes.size();
      if (f.index >= count) continue;
      const std::uint32_t index = sub.indexes.empty() ? f.index : sub.indexes[f.index];
      if (is_transient(f.f.type) && b.redeliveries < options_.max_redeliveries) {
        again.push_back(index);
        again_reasons.push_back({index, f.f});
      } else {
        if (is_transient(f.f.type)) f.f.message += " (gave up after " + std::to_string(b.redeliveries) + " redeliveries)";
        b.dead.push_back({index, std::move(f.f)});
      }
    }
    if (!again.empty()) {
      std::sort(again.begin(), again.end());
      again.erase(std::unique(again.begin(), again.end()), again.end());
      auto delay = options_.redeliver_delay;
      for (std::uint32_t i = 0; i < b.redeliveries && delay < options_.redeliver_max_delay; ++i) delay *= 2;
      delay = std::min(delay, options_.redeliver_max_delay);
      ++b.redeliveries;
      ++b.pending_subs;
      redeliveries_.push_back({clock_type::now() + delay, sub.batch, std::move(again)});
      warn(1, "events will be submitted again (transient failure)", again_reasons.front().f.type + ": " + again_reasons.front().f.message);
    }
    --b.pending_subs;
  }
  // Batches without dead letters to write can finish now; the others after flush_dead_letters().
  std::vector<std::uint64_t> ids;
  for (const auto& [id, b] : batches_)
    if (b.pending_subs == 0 && b.dead.empty()) ids.push_back(id);
  for (auto id : ids) finish_if_done(id);
}

void durable_source::flush_dead_letters() {
  if (clock_type::now() < dead_letter_retry_) return;
  std::vector<std::uint64_t> touched;
  bool any = false;
  for (auto& [id, b] : batches_) {
    if (b.dead.empty()) continue;
    any = true;
    if (!dead_letters_) {
      warn(2, "failed events dropped: no dead-letter store is configured", b.dead.front().f.type + ": " + b.dead.front().f.message);
      b.dead.clear();
      touched.push_back(id);
      continue;
    }
    std::vector<std::uint32_t> indexes;
    for (const auto& d : b.dead) indexes.push_back(d.index);
    std::vector<event> events;
    if (!reread(b, indexes, events)) {
      dead_letter_retry_ = clock_type::now() + std::chrono::seconds(1);
      return;
    }
    for (std::size_t i = 0; i < b.dead.size(); ++i) {
      if (auto e = dead_letters_->put(events[i], b.dead[i].f)) {
        shared_->stats.dead_letter_errors.fetch_add(1, std::memory_order_relaxed);
        warn(2, "cannot write the dead-letter store (the events stay in the buffer; retrying)", e->message);
        dead_letter_retry_ = clock_type::now() + std::chrono::seconds(1);
        return;  // the batch stays unfinished; the entries already put are updated again next time
      }
    }
    touched.push_back(id);
  }
  if (!any) return;
  if (dead_letters_) {
    if (auto e = dead_letters_->sync()) {
      shared_->stats.dead_letter_errors.fetch_add(1, std::memory_order_relaxed);
      warn(2, "cannot sync the dead-letter store (retrying)", e->message);
      dead_letter_retry_ = clock_type::now() + std::chrono::seconds(1);
      return;
    }
  }
  for (auto id : touched) {
    auto it = batches_.find(id);
    if (it == batches_.end()) continue;
    shared_->stats.dead_lettered.fetch_add(it->second.dead.size(), std::memory_order_relaxed);
    if (options_.on_dead_letter)
      for (const auto& d : it->second.dead) options_.on_dead_letter(d.f);
    it->second.dead.clear();
    finish_if_done(id);
  }
}

void durable_source::finish_if_done(std::uint64_t id) {
  auto it = batches_.find(id);
  if (it == batches_.end() || it->second.pending_subs > 0 || !it->second.dead.empty()) return;
  tracker_.finish(id);
  batches_.erase(it);
}

bool durable_source::reread(const batch_state& b, const std::vector<std::uint32_t>& indexes, std::vector<event>& out) {
  out.clear();
  if (indexes.empty()) return true;
  std::uint32_t max_index = 0;
  for (auto i : indexes) max_index = std::max(max_index, i);
  if (max_index >= b.seqs.size()) return false;
  reread_.seek(b.start);
  std::vector<event> events;
  std::vector<std::uint64_t> seqs;
  const std::uint64_t last = b.seqs[max_index];
  while (reread_.position() <= last) {
    auto r = reread_.read(events, seqs, b.seqs.size(), static_cast<std::size_t>(-1));
    if (!r) {
      warn(2, "cannot read failed events back from the durable buffer", r.error().message);
      return false;
    }
    if (*r == 0) break;
  }
  std::unordered_map<std::uint64_t, std::size_t> at;
  for (std::size_t i = 0; i < seqs.size(); ++i) at.emplace(seqs[i], i);
  for (auto i : indexes) {
    auto it = at.find(b.seqs[i]);
    if (it == at.end()) {
      warn(2, "a failed event is no longer in the durable buffer", "sequence " + std::to_string(b.seqs[i]));
      return false;
    }
    out.push_back(events[it->second]);
  }
  return true;
}

void durable_source::handle_redeliveries() {
  const auto now = clock_type::now();
  for (std::size_t k = 0; k < redeliveries_.size();) {
    redelivery& r = redeliveries_[k];
    if (r.due > now) {
      ++k;
      continue;
    }
    auto bit = batches_.find(r.batch);
    if (bit == batches_.end()) {
      redeliveries_.erase(redeliveries_.begin() + static_cast<std::ptrdiff_t>(k));
      continue;
    }
    std::vector<event> events;
    if (!reread(bit->second, r.indexes, events)) {
      r.due = now + std::chrono::seconds(1);
      ++k;
      continue;
    }
    const std::uint64_t sub = next_sub_++;
    subs_[sub] = sub_state{r.batch, r.indexes};
    const std::size_t n = events.size();
    const submit_status st = downstream_.submit(std::move(events), make_completion(sub));
    if (st != submit_status::accepted) {
      subs_.erase(sub);
      shared_->stats.downstream_busy.fetch_add(1, std::memory_order_relaxed);
      r.due = now + std::max(options_.backoff_max, std::chrono::milliseconds(100));
      ++k;
      continue;
    }
    shared_->stats.redelivered_events.fetch_add(n, std::memory_order_relaxed);
    redeliveries_.erase(redeliveries_.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

void durable_source::maybe_checkpoint(bool force) {
  const auto now = clock_type::now();
  if (!force && now < next_checkpoint_) return;
  next_checkpoint_ = now + options_.checkpoint_interval;
  const std::uint64_t c = tracker_.checkpoint(reader_.position());
  if (c <= written_checkpoint_ && !force) return;
  if (auto e = log_.checkpoint(c)) {
    warn(2, "cannot write the buffer checkpoint (retrying; a restart would re-submit more events)", e->message);
    return;
  }
  written_checkpoint_ = std::max(written_checkpoint_, c);
  shared_->stats.checkpoint.store(log_.checkpoint_seq(), std::memory_order_relaxed);
}

void durable_source::poll_inbox() {
  file_io io(log_.options().faults);
  auto files = list_inbox(io, log_.options().dir);
  if (!files) {
    warn(1, "cannot list the replay inbox", files.error().message);
    return;
  }
  for (const auto& path : *files) {
    auto events = read_inbox(io, path);
    if (!events) {
      warn(2, "replay file skipped", events.error().message);
      io.rename(path, path + ".bad");
      continue;
    }
    if (!events->empty()) {
      auto p = std::make_shared<std::promise<status>>();
      auto f = p->get_future();
      auto st = log_.append(*events, [p](const append_result& r) { p->set_value(r.err); });
      if (!st) st = f.get();
      if (st) {
        if (st->code != errc::full) warn(1, "cannot take the replay file into the buffer yet", st->message);
        return;  // retried at the next poll
      }
    }
    shared_->stats.replayed_events.fetch_add(events->size(), std::memory_order_relaxed);
    if (auto e = io.remove(path)) warn(1, "replay file taken but not deleted (it will be replayed again)", e->message);
    if (shared_->hook) shared_->hook(0, "replayed events taken from the inbox", path + ": " + std::to_string(events->size()) + " event(s)");
  }
}

}  // namespace iomt::transport::buffer
