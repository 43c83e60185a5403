#include "transport/buffer/durable_source.hpp"

#include "transport/buffer/inbox.hpp"

#include <algorithm>
#include <future>
#include <unordered_map>

namespace iomt::transport::buffer {

namespace {

constexpr std::size_t max_detail_bytes = 1024;
constexpr auto warn_interval = std::chrono::seconds(10);

void set_refused(outcome& o, const std::string& why) {
  o.refused = true;
  o.error = why;
}

std::string brief(const deadletter::failure& f) { return f.type + ": " + f.message; }

json::date_time real_utc_now() {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  return {json::unix_epoch_ticks + ns / 100, json::date_kind::utc};
}

log_options parked_options(const segment_log& main, const durable_options& o) {
  log_options p = main.options();
  p.dir = o.parked_dir.empty() ? join_path(main.options().dir, "parked") : o.parked_dir;
  p.segment_bytes = o.parked_segment_bytes;
  // Its own bound, so that parking cannot take the whole disk; past it, events wait in place.
  p.max_bytes = std::max<std::uint64_t>(main.options().max_bytes / 4, 4 * o.parked_segment_bytes);
  return p;
}

}  // namespace

durable_source::durable_source(segment_log& log, event_sink& downstream, deadletter::sink* dead_letters,
                               durable_options options, log_hook logger)
    : log_(log),
      downstream_(downstream),
      dead_letters_(dead_letters),
      options_(std::move(options)),
      reader_(log, log.checkpoint_seq()),
      reread_(log, log.checkpoint_seq()),
      tracker_(log.checkpoint_seq()) {
  shared_->hook = std::move(logger);
  shared_->clock = options_.now;
  written_checkpoint_ = log_.checkpoint_seq();
  shared_->stats.checkpoint = written_checkpoint_;
  open_parked();
}

bool durable_source::open_parked() {
  if (parked_) return true;
  if (now() < next_parked_open_) return false;
  auto p = segment_log::open(parked_options(log_, options_));
  if (!p) {
    next_parked_open_ = now() + std::chrono::seconds(10);
    warn(1, "the parked log cannot be opened: waiting events stay in the main buffer (tried again later)",
         p.error().message);
    return false;
  }
  parked_ = std::move(*p);
  parked_run_start_ = parked_->committed_end();
  written_parked_checkpoint_ = parked_->checkpoint_seq();
  if (parked_->checkpoint_seq() < parked_run_start_)
    parked_reader_ = std::make_unique<log_reader>(*parked_, parked_->checkpoint_seq());
  return true;
}

durable_source::~durable_source() {
  stop();
  log_.on_commit({});
  if (parked_) parked_->close();
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
  shared_->last_refusal_full.store(st->code == errc::full, std::memory_order_relaxed);
  if (st->code != errc::full) warn(2, "durable buffer refuses events", st->message);
  return submit_status::busy;
}

std::string durable_source::busy_reason() const {
  std::string r = shared_->last_refusal_full.load(std::memory_order_relaxed) ? "the durable buffer is full"
                                                                             : "the durable buffer cannot be written";
  if (std::string why = failing_reason(); !why.empty()) r += " (the FHIR server is failing: " + why + ")";
  return r;
}

std::string durable_source::failing_reason() const {
  std::lock_guard l(shared_->warn_mu);
  return shared_->failing_reason;
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
  {
    std::lock_guard l(shared_->mu);
    shared_->running = true;
  }
  thread_ = std::thread([this] { run(); });
}

bool durable_source::poke(std::chrono::milliseconds timeout) {
  std::unique_lock l(shared_->mu);
  if (!shared_->running) return false;
  // The pass under way may have started before this call: wait for the one after it.
  const std::uint64_t target = shared_->passes + 2;
  shared_->wake = true;
  shared_->cv.notify_one();
  return shared_->passed_cv.wait_for(l, timeout, [&] { return !shared_->running || shared_->passes >= target; }) &&
         shared_->running;
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
    // One line per message per interval: a repeating warning is counted by the metrics, not
    // logged again (issue 12: one bad event must not fill the log).
    std::lock_guard l(warn_mu);
    const auto now = this->now();
    auto [it, fresh] = warned.try_emplace(message, now);
    if (!fresh && now - it->second < warn_interval) return;
    it->second = now;
  }
  if (detail.size() <= max_detail_bytes) return hook(level, message, detail);
  hook(
      level, message,
      detail.substr(0, max_detail_bytes) + "... (" + std::to_string(detail.size() - max_detail_bytes) + " more bytes)");
}

std::chrono::milliseconds durable_source::resubmit_delay(std::uint32_t attempts) const {
  auto d = options_.resubmit_delay;
  for (std::uint32_t i = 1; i < attempts && d < options_.resubmit_max_delay; ++i) d *= 2;
  return std::min(d, options_.resubmit_max_delay);
}

json::date_time durable_source::utc_now() const { return options_.utc_now ? options_.utc_now() : real_utc_now(); }

completion durable_source::make_completion(std::uint64_t sub) {
  return [s = shared_, sub](const outcome& o) {
    completed c{sub, o.failed, o.written, o.transient, {}};
    c.failures.reserve(o.failures.size());
    for (const auto& f : o.failures)
      c.failures.push_back({f.index, deadletter::failure{f.stage, f.type, f.message, f.groups}, f.cls});
    {
      std::lock_guard l(s->mu);
      s->done.push_back(std::move(c));
      s->wake = true;
    }
    s->cv.notify_one();
  };
}

void durable_source::run() {
  const auto now0 = now();
  next_checkpoint_ = now0 + options_.checkpoint_interval;
  next_inbox_ = now0;  // pick up replays left while the service was stopped
  while (!stopping_.load(std::memory_order_acquire)) {
    handle_completions();
    flush_dead_letters();
    load_parked();
    bool progressed = submit_waiting();
    maybe_checkpoint(false);
    if (now() >= next_inbox_) {
      poll_inbox();
      next_inbox_ = now() + options_.inbox_interval;
    }
    const auto now = this->now();
    const bool room = tracker_.events_in_flight() + waiting_.size() < options_.max_in_flight_events;
    // While the FHIR server fails for everyone, one submission at a time probes it (issue 12).
    const bool probe_ok = !failing_ || (subs_.empty() && now >= next_probe_);
    if (room && probe_ok && now >= backoff_until_ && read_and_submit()) {
      progressed = true;
      if (failing_) next_probe_ = now + probe_delay_;
    }
    shared_->stats.in_flight_events.store(tracker_.events_in_flight() + waiting_.size(), std::memory_order_relaxed);
    if (progressed) continue;
    // Idle, throttled or backing off: sleep until woken (commit, completion, stop, poke) or a
    // deadline. The deadlines are on durable_options::now; the wait itself is real time, as long
    // as the earliest deadline is away on that clock, and never longer than 100 ms.
    const auto idle_now = this->now();
    auto until = std::min({next_checkpoint_, next_inbox_, idle_now + std::chrono::milliseconds(100)});
    if (backoff_until_ > idle_now) until = std::min(until, backoff_until_);
    // Only deadlines that can make progress when they pass: a waiting event that is due but held
    // back (probe in flight, backoff) would otherwise make this wait zero and the loop spin; a
    // probe's completion wakes the loop like any completion.
    const bool probe_in_flight = failing_ && !subs_.empty();
    if (failing_ && !probe_in_flight && next_probe_ > idle_now) until = std::min(until, next_probe_);
    if (!probe_in_flight)
      for (const auto& [id, w] : waiting_)
        if (!w.in_flight && !w.dead)
          until = std::min(until, std::max({w.due, backoff_until_, failing_ ? next_probe_ : w.due}));
    const auto wait = std::max(until - idle_now, clock_type::duration::zero());
    std::unique_lock l(shared_->mu);
    ++shared_->passes;
    shared_->passed_cv.notify_all();
    shared_->cv.wait_for(l, wait, [&] { return shared_->wake; });
    shared_->wake = false;
  }
  {
    std::lock_guard l(shared_->mu);
    shared_->running = false;
  }
  shared_->passed_cv.notify_all();
  // Drain: let what is in flight finish (no new reads, no resubmissions), then checkpoint.
  // Parked events stay parked: a restart loads them again. drain_timeout is real time (not
  // durable_options::now): shutdown stays bounded whatever a test does with its clock.
  const auto deadline = clock_type::now() + options_.drain_timeout;
  auto waiting = [&] {
    if (!subs_.empty()) return true;
    for (const auto& [id, b] : batches_)
      if (!b.dead.empty()) return true;
    for (const auto& [id, w] : waiting_)
      if (w.dead) return true;
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
  shared_->stats.in_flight_events.store(tracker_.events_in_flight() + waiting_.size(), std::memory_order_relaxed);
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
    backoff_until_ = now() + std::chrono::seconds(1);
    return false;
  }
  if (!bad.empty()) {
    // CRC-valid but not an event of this version: keep the raw payload as a dead letter.
    bool ok = dead_letters_ != nullptr;
    for (const auto& b : bad) {
      if (!dead_letters_) break;
      event e;
      e.body = b.payload;
      if (dead_letters_->put(e,
                             {"buffer", "UndecodableRecordException",
                              "buffer record " + std::to_string(b.seq) + " is not an event this version can decode"}))
        ok = false;
    }
    if (ok && dead_letters_->sync()) ok = false;
    if (!ok) {
      if (dead_letters_) {
        shared_->stats.dead_letter_errors.fetch_add(1, std::memory_order_relaxed);
        reader_.seek(start);
        backoff_until_ = now() + std::chrono::seconds(1);
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
  const json::date_time oldest = events.front().enqueued_time;
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
    backoff_until_ = now() + backoff_;
    return false;
  }
  backoff_ = std::chrono::milliseconds(0);
  tracker_.add(first, end, n);
  batch_state b;
  b.start = start;
  b.seqs = std::move(seqs);
  b.pending_subs = 1;
  b.oldest = oldest;
  batches_.emplace(batch_id, std::move(b));
  shared_->stats.consumed_events.fetch_add(n, std::memory_order_relaxed);
  return true;
}

void durable_source::set_failing(bool failing, const std::string& why) {
  const auto now = this->now();
  if (failing) {
    if (!failing_) {
      probe_delay_ = options_.resubmit_delay;
      warn(2, "the FHIR server fails for every event: reading paused, probing it with backoff", why);
    } else {
      probe_delay_ = std::min(probe_delay_ * 2, options_.resubmit_max_delay);
    }
    next_probe_ = now + probe_delay_;
  } else if (failing_) {
    probe_delay_ = std::chrono::milliseconds(0);
    if (shared_->hook) shared_->hook(0, "the FHIR server writes again: reading resumed", "");
  }
  failing_ = failing;
  shared_->stats.fhir_failing.store(failing, std::memory_order_relaxed);
  std::lock_guard l(shared_->warn_mu);
  shared_->failing_reason = failing ? why.substr(0, max_detail_bytes) : std::string();
}

void durable_source::handle_completions() {
  std::vector<completed> done;
  {
    std::lock_guard l(shared_->mu);
    done.swap(shared_->done);
  }
  if (done.empty()) return;
  std::vector<std::uint64_t> ids;  // batches a completion may have finished
  for (auto& c : done) {
    auto s = subs_.find(c.sub);
    if (s == subs_.end()) continue;
    const sub_state sub = std::move(s->second);
    subs_.erase(s);
    if (c.failed > c.failures.size()) {
      shared_->stats.failed_unreported.fetch_add(c.failed - c.failures.size(), std::memory_order_relaxed);
      warn(1, "the pipeline reported failed events without details: they cannot be dead-lettered",
           std::to_string(c.failed - c.failures.size()) + " event(s)");
    }
    // The server's health, from what it did with this submission.
    if (c.written > 0) {
      set_failing(false, {});
    } else if (c.transient > 0) {
      for (const auto& f : c.failures)
        if (is_transient(f.cls)) {
          set_failing(true, brief(f.f));
          break;
        }
    }
    if (sub.waits.empty()) {
      on_batch_completion(sub.batch, c);
      ids.push_back(sub.batch);
    } else {
      on_waiting_completion(sub, c);  // finishes the batches whose last waiting event it resolves
    }
  }
  // Batches without dead letters to write can finish now (in batch order); the others after
  // flush_dead_letters(). Only the batches completed here: scanning every batch in flight on each
  // pass of the consumer loop cost 4 % of iomtflow's CPU at saturation (perf, issue 11).
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (auto id : ids) finish_if_done(id);
}

void durable_source::on_batch_completion(std::uint64_t batch_id, completed& c) {
  auto bit = batches_.find(batch_id);
  if (bit == batches_.end()) return;
  batch_state& b = bit->second;
  std::vector<failure_report> to_park;
  for (auto& f : c.failures) {
    if (f.index >= b.seqs.size()) continue;
    if (is_transient(f.cls))
      to_park.push_back(std::move(f));
    else
      b.dead.push_back(std::move(f));
  }
  --b.pending_subs;
  if (!to_park.empty()) park(b, batch_id, std::move(to_park));
}

void durable_source::park(batch_state& b, std::uint64_t batch_id, std::vector<failure_report> reports) {
  std::sort(reports.begin(), reports.end(), [](const auto& x, const auto& y) { return x.index < y.index; });
  reports.erase(
      std::unique(reports.begin(), reports.end(), [](const auto& x, const auto& y) { return x.index == y.index; }),
      reports.end());
  std::vector<std::uint32_t> indexes;
  indexes.reserve(reports.size());
  for (const auto& r : reports) indexes.push_back(r.index);
  std::vector<event> events;
  if (!reread(b, indexes, events)) {
    // Cannot read them back: the batch stays unfinished, a restart submits it again.
    ++b.pending_waits;
    return;
  }
  // Copy them into the parked log so that the main log may trim past them.
  std::uint64_t first_parked = 0;
  auto p = std::make_shared<std::promise<append_result>>();
  auto fut = p->get_future();
  if (!open_parked()) {
    // No parked log: they wait in the main buffer (below).
  } else if (auto st = parked_->append(events, [p](const append_result& r) { p->set_value(r); })) {
    warn(1, "the parked log refuses events: they wait in the main buffer (it cannot trim past them meanwhile)",
         st->message);
  } else if (append_result r = fut.get(); r.err) {
    warn(1, "the parked log refuses events: they wait in the main buffer (it cannot trim past them meanwhile)",
         r.err->message);
  } else {
    first_parked = r.first_seq;
    parked_ranges_[first_parked] = parked_range{first_parked + events.size(), events.size()};
  }
  const auto due = now() + resubmit_delay(1);
  for (std::size_t i = 0; i < events.size(); ++i) {
    waiting_event w;
    w.ev = std::move(events[i]);
    w.attempts = 1;
    w.due = due;
    w.last = std::move(reports[i].f);
    if (first_parked) {
      w.parked_seq = first_parked + i;
    } else {
      w.main_batch = batch_id;
      ++b.pending_waits;
    }
    waiting_.emplace(next_wait_++, std::move(w));
  }
  shared_->stats.parked_events.fetch_add(events.size(), std::memory_order_relaxed);
  warn(1, "events wait for the FHIR server (transient failure): they are submitted again with backoff",
       brief(waiting_.rbegin()->second.last));
}

void durable_source::on_waiting_completion(const sub_state& sub, completed& c) {
  std::vector<std::uint8_t> failed(sub.waits.size(), 0);
  const auto now = this->now();
  const json::date_time utc = utc_now();
  for (auto& f : c.failures) {
    if (f.index >= sub.waits.size()) continue;
    auto it = waiting_.find(sub.waits[f.index]);
    if (it == waiting_.end()) continue;
    failed[f.index] = 1;
    waiting_event& w = it->second;
    if (!is_transient(f.cls)) {
      w.dead = std::move(f.f);
      continue;
    }
    ++w.attempts;
    w.last = f.f;
    w.due = now + resubmit_delay(w.attempts);
    const auto age = std::chrono::milliseconds((utc.ticks - w.ev.enqueued_time.ticks) / 10'000);
    if (options_.max_age.count() > 0 && w.ev.enqueued_time.ticks > 0 && age > options_.max_age) {
      f.f.message += " (still failing after " + std::to_string(w.attempts) + " attempts and " +
                     std::to_string(age.count() / 1000) + " s, beyond max_age: dead-lettered)";
      w.dead = std::move(f.f);
    }
  }
  for (std::size_t k = 0; k < sub.waits.size(); ++k) {
    auto it = waiting_.find(sub.waits[k]);
    if (it == waiting_.end()) continue;
    it->second.in_flight = false;
    if (!failed[k]) resolve(sub.waits[k]);
  }
}

void durable_source::resolve(std::uint64_t wait_id) {
  auto it = waiting_.find(wait_id);
  if (it == waiting_.end()) return;
  const waiting_event& w = it->second;
  if (w.parked_seq) {
    auto r = parked_ranges_.upper_bound(w.parked_seq);
    if (r != parked_ranges_.begin()) {
      --r;
      if (w.parked_seq < r->second.end && --r->second.remaining == 0) parked_ranges_.erase(r);
    }
  } else if (auto b = batches_.find(w.main_batch); b != batches_.end()) {
    if (b->second.pending_waits > 0) --b->second.pending_waits;
    const std::uint64_t batch = w.main_batch;
    waiting_.erase(it);
    finish_if_done(batch);
    return;
  }
  waiting_.erase(it);
}

bool durable_source::submit_waiting() {
  if (waiting_.empty()) return false;
  const auto now = this->now();
  if (now < backoff_until_) return false;
  if (failing_ && (!subs_.empty() || now < next_probe_)) return false;  // one probe at a time
  std::vector<std::uint64_t> ids;
  std::vector<event> events;
  for (const auto& [id, w] : waiting_) {
    if (w.in_flight || w.dead || w.due > now) continue;
    ids.push_back(id);
    events.push_back(w.ev);
    if (ids.size() >= options_.batch_events) break;
  }
  if (ids.empty()) return false;
  const std::uint64_t sub = next_sub_++;
  subs_[sub] = sub_state{0, ids};
  const std::size_t n = events.size();
  const submit_status st = downstream_.submit(std::move(events), make_completion(sub));
  if (st != submit_status::accepted) {
    subs_.erase(sub);
    if (st == submit_status::shutting_down) {
      stopping_.store(true, std::memory_order_release);
      return false;
    }
    shared_->stats.downstream_busy.fetch_add(1, std::memory_order_relaxed);
    backoff_ = std::clamp(backoff_ * 2, options_.backoff_initial, options_.backoff_max);
    backoff_until_ = now + backoff_;
    return false;
  }
  for (auto id : ids) waiting_[id].in_flight = true;
  shared_->stats.redelivered_events.fetch_add(n, std::memory_order_relaxed);
  if (failing_) next_probe_ = now + probe_delay_;
  return true;
}

void durable_source::load_parked() {
  if (!parked_reader_) return;
  const auto now = this->now();
  while (tracker_.events_in_flight() + waiting_.size() < options_.max_in_flight_events) {
    std::vector<event> events;
    std::vector<std::uint64_t> seqs;
    std::vector<undecodable_record> bad;
    const std::size_t room = options_.max_in_flight_events - tracker_.events_in_flight() - waiting_.size();
    auto r = parked_reader_->read(events, seqs, std::min(room, options_.batch_events), options_.batch_bytes, &bad);
    if (!r) {
      if (r.error().code == errc::corrupt) {
        shared_->stats.corrupt_skips.fetch_add(1, std::memory_order_relaxed);
        warn(2, "parked log damaged: records skipped", r.error().message);
        continue;
      }
      warn(2, "cannot read the parked log (retrying)", r.error().message);
      return;
    }
    if (!bad.empty()) {
      shared_->stats.corrupt_skips.fetch_add(bad.size(), std::memory_order_relaxed);
      warn(2, "parked log: undecodable records skipped", std::to_string(bad.size()) + " record(s)");
    }
    // Records from this run are in memory already.
    std::size_t keep = 0;
    while (keep < seqs.size() && seqs[keep] < parked_run_start_) ++keep;
    if (keep > 0) {
      parked_ranges_[seqs.front()] = parked_range{seqs[keep - 1] + 1, keep};
      for (std::size_t i = 0; i < keep; ++i) {
        waiting_event w;
        w.ev = std::move(events[i]);
        w.parked_seq = seqs[i];
        w.due = now;
        w.last = {"fhirConversion", "ParkedEvent", "parked by an earlier run"};
        waiting_.emplace(next_wait_++, std::move(w));
      }
    }
    if (*r == 0 || keep < seqs.size() || parked_reader_->position() >= parked_run_start_) {
      // Everything earlier runs parked is in memory now.
      if (!waiting_.empty() && shared_->hook)
        shared_->hook(0, "events parked by an earlier run are submitted again",
                      std::to_string(waiting_.size()) + " event(s)");
      parked_reader_.reset();
      return;
    }
  }
}

void durable_source::flush_dead_letters() {
  if (now() < dead_letter_retry_) return;
  std::vector<std::uint64_t> touched;
  std::vector<std::uint64_t> dead_waits;
  bool any = false;
  auto fail_store = [&](const std::string& what, const std::string& message) {
    shared_->stats.dead_letter_errors.fetch_add(1, std::memory_order_relaxed);
    warn(2, what, message);
    dead_letter_retry_ = now() + std::chrono::seconds(1);
  };
  for (auto& [id, b] : batches_) {
    if (b.dead.empty()) continue;
    any = true;
    if (!dead_letters_) {
      warn(2, "failed events dropped: no dead-letter store is configured", brief(b.dead.front().f));
      b.dead.clear();
      touched.push_back(id);
      continue;
    }
    std::vector<std::uint32_t> indexes;
    for (const auto& d : b.dead) indexes.push_back(d.index);
    std::vector<event> events;
    if (!reread(b, indexes, events)) {
      dead_letter_retry_ = now() + std::chrono::seconds(1);
      return;
    }
    for (std::size_t i = 0; i < b.dead.size(); ++i) {
      if (auto e = dead_letters_->put(events[i], b.dead[i].f)) {
        // The batch stays unfinished; the entries already put are updated again next time.
        return fail_store("cannot write the dead-letter store (the events stay in the buffer; retrying)", e->message);
      }
    }
    touched.push_back(id);
  }
  for (auto& [id, w] : waiting_) {
    if (!w.dead || w.in_flight) continue;
    any = true;
    if (!dead_letters_) {
      warn(2, "failed events dropped: no dead-letter store is configured", brief(*w.dead));
    } else if (auto e = dead_letters_->put(w.ev, *w.dead)) {
      return fail_store("cannot write the dead-letter store (the events stay parked; retrying)", e->message);
    }
    dead_waits.push_back(id);
  }
  if (!any) return;
  if (dead_letters_) {
    if (auto e = dead_letters_->sync()) return fail_store("cannot sync the dead-letter store (retrying)", e->message);
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
  for (auto id : dead_waits) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) continue;
    shared_->stats.dead_lettered.fetch_add(1, std::memory_order_relaxed);
    if (options_.on_dead_letter) options_.on_dead_letter(*it->second.dead);
    resolve(id);
  }
}

void durable_source::finish_if_done(std::uint64_t id) {
  auto it = batches_.find(id);
  if (it == batches_.end() || it->second.pending_subs > 0 || !it->second.dead.empty() || it->second.pending_waits > 0)
    return;
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

std::uint64_t durable_source::parked_checkpoint() const {
  if (!parked_) return 0;
  std::uint64_t c = parked_ranges_.empty() ? parked_->committed_end() : parked_ranges_.begin()->first;
  if (parked_reader_) c = std::min(c, parked_reader_->position());
  return c;
}

void durable_source::maybe_checkpoint(bool force) {
  const auto now = this->now();
  if (!force && now < next_checkpoint_) return;
  next_checkpoint_ = now + options_.checkpoint_interval;
  update_gauges();
  const std::uint64_t pc = parked_checkpoint();
  if (parked_ && pc > written_parked_checkpoint_) {
    if (auto e = parked_->checkpoint(pc))
      warn(2, "cannot write the parked log's checkpoint (retrying)", e->message);
    else
      written_parked_checkpoint_ = pc;
  }
  const std::uint64_t c = tracker_.checkpoint(reader_.position());
  if (c <= written_checkpoint_ && !force) return;
  if (auto e = log_.checkpoint(c)) {
    warn(2, "cannot write the buffer checkpoint (retrying; a restart would re-submit more events)", e->message);
    return;
  }
  written_checkpoint_ = std::max(written_checkpoint_, c);
  shared_->stats.checkpoint.store(log_.checkpoint_seq(), std::memory_order_relaxed);
}

void durable_source::update_gauges() {
  shared_->stats.waiting_events.store(waiting_.size(), std::memory_order_relaxed);
  // The oldest event not final: the first unfinished batch (batches are read in log order), a
  // waiting event, or - when nothing is in flight but the reader lags - the next unread record.
  std::int64_t oldest = INT64_MAX;
  if (!batches_.empty() && batches_.begin()->second.oldest.ticks > 0) oldest = batches_.begin()->second.oldest.ticks;
  for (const auto& [id, w] : waiting_)
    if (w.ev.enqueued_time.ticks > 0) oldest = std::min(oldest, w.ev.enqueued_time.ticks);
  if (batches_.empty() && reader_.position() < log_.committed_end()) {
    std::vector<event> next;
    std::vector<std::uint64_t> seqs;
    reread_.seek(reader_.tell());
    if (auto r = reread_.read(next, seqs, 1, static_cast<std::size_t>(-1));
        r && *r > 0 && next.front().enqueued_time.ticks > 0)
      oldest = std::min(oldest, next.front().enqueued_time.ticks);
  }
  const std::int64_t age_ms = oldest == INT64_MAX ? 0 : std::max<std::int64_t>(0, (utc_now().ticks - oldest) / 10'000);
  shared_->stats.oldest_unwritten_ms.store(age_ms, std::memory_order_relaxed);
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
    if (shared_->hook)
      shared_->hook(0, "replayed events taken from the inbox",
                    path + ": " + std::to_string(events->size()) + " event(s)");
  }
}

}  // namespace iomt::transport::buffer
