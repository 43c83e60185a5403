// durable_source between a fake pipeline and a real log: acknowledge-when-durable, in-order
// consumption, busy retries, out-of-order completions -> checkpoint, restart from the checkpoint,
// refusals, the replay inbox; failed events dead-lettered with their original content, transient
// failures re-submitted.
// Where a test asserts that something did NOT happen (no resubmission yet, no checkpoint past an
// open batch, reading paused), it runs on a manual clock and calls poke(): the consumer has then
// made a full pass after the last change, so the assertion cannot pass merely because the thread
// was slow.
#define BOOST_TEST_MODULE transport buffer durable source
#include <boost/test/unit_test.hpp>

#include "buffer_test_support.hpp"
#include "manual_clock.hpp"
#include "transport/buffer/completion_tracker.hpp"
#include "transport/buffer/durable_source.hpp"
#include "transport/buffer/inbox.hpp"

#include <condition_variable>
#include <deque>

using namespace iomt;
using namespace iomt::transport::buffer;
using namespace std::chrono_literals;
using iomt::test::make_event;
using iomt::test::manual_clock;
using iomt::test::temp_dir;

namespace {

// Records submissions; the test completes them when and how it likes.
class fake_pipeline final : public transport::event_sink {
public:
  struct sub {
    std::vector<transport::event> events;
    transport::completion done;
    bool completed = false;
  };
  transport::submit_status submit(std::vector<transport::event>&& events, transport::completion done) override {
    std::lock_guard l(mu_);
    if (shutting_down) return transport::submit_status::shutting_down;
    if (busy_next > 0) {
      --busy_next;
      ++busy_answers;
      return transport::submit_status::busy;
    }
    subs_.push_back({std::move(events), std::move(done), false});
    cv_.notify_all();
    if (auto_complete) {
      auto& s = subs_.back();
      s.completed = true;
      transport::outcome o;
      o.events = s.events.size();
      auto d = s.done;
      d(o);
    }
    return transport::submit_status::accepted;
  }
  bool wait_subs(std::size_t n, std::chrono::milliseconds t = 5s) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, t, [&] { return subs_.size() >= n; });
  }
  std::size_t count() {
    std::lock_guard l(mu_);
    return subs_.size();
  }
  std::vector<transport::event> events_of(std::size_t i) {
    std::lock_guard l(mu_);
    return subs_.at(i).events;
  }
  void complete(std::size_t i, transport::outcome o = {}) {
    transport::completion d;
    {
      std::lock_guard l(mu_);
      auto& s = subs_.at(i);
      BOOST_REQUIRE(!s.completed);
      s.completed = true;
      o.events = s.events.size();
      d = s.done;
    }
    d(o);
  }
  std::size_t total_events() {
    std::lock_guard l(mu_);
    std::size_t n = 0;
    for (const auto& s : subs_) n += s.events.size();
    return n;
  }
  std::vector<std::string> bodies() {
    std::lock_guard l(mu_);
    std::vector<std::string> out;
    for (const auto& s : subs_)
      for (const auto& e : s.events) out.push_back(e.body);
    return out;
  }

  int busy_next = 0;
  int busy_answers = 0;
  bool shutting_down = false;
  bool auto_complete = false;

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<sub> subs_;
};

// In-memory dead-letter sink; can be told to fail.
class memory_sink final : public transport::deadletter::sink {
public:
  status put(const transport::event& e, const transport::deadletter::failure& f) override {
    std::lock_guard l(mu);
    if (fail_puts > 0) {
      --fail_puts;
      return error{errc::io, ENOSPC, "cannot write deadletter: No space left on device"};
    }
    staged.push_back({e, f});
    return std::nullopt;
  }
  status sync() override {
    std::lock_guard l(mu);
    for (auto& s : staged) kept.push_back(std::move(s));
    staged.clear();
    return std::nullopt;
  }
  std::size_t size() {
    std::lock_guard l(mu);
    return kept.size();
  }
  std::mutex mu;
  int fail_puts = 0;
  std::vector<std::pair<transport::event, transport::deadletter::failure>> staged, kept;
};

struct waiter {
  std::mutex m;
  std::condition_variable cv;
  std::vector<transport::outcome> outcomes;
  transport::completion done() {
    return [this](const transport::outcome& o) {
      std::lock_guard l(m);
      outcomes.push_back(o);
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds d = 5s) {
    std::unique_lock l(m);
    return cv.wait_for(l, d, [&] { return outcomes.size() >= n; });
  }
};

bool refused(const transport::outcome& o) { return o.refused; }

template <class F>
bool eventually(F f, std::chrono::milliseconds t = 5s) {
  const auto end = std::chrono::steady_clock::now() + t;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return f();
}

durable_options fast_options() {
  durable_options o;
  o.batch_events = 4;
  o.checkpoint_interval = 5ms;
  o.inbox_interval = 10ms;
  o.backoff_initial = 1ms;
  o.backoff_max = 5ms;
  o.resubmit_delay = 5ms;
  o.resubmit_max_delay = 20ms;
  o.drain_timeout = 200ms;
  return o;
}

std::unique_ptr<segment_log> open_log(const temp_dir& d, std::uint64_t max_bytes = 1 << 30) {
  log_options o;
  o.dir = d.str();
  o.fsync = fsync_policy::never;
  o.max_bytes = max_bytes;
  auto l = segment_log::open(o);
  BOOST_REQUIRE_MESSAGE(l, (l ? "" : l.error().message));
  return std::move(*l);
}

std::vector<transport::event> events(int from, int n) {
  std::vector<transport::event> v;
  for (int i = from; i < from + n; ++i) v.push_back(make_event(i));
  return v;
}

// Fixture: a source over a fresh log and a fake pipeline, on a clock the test moves by hand.
// Members in construction order (the waiter before the log: completions may run until the log is
// closed; the source last: stopped first).
struct clocked {
  temp_dir d;
  waiter w;
  std::unique_ptr<segment_log> log = open_log(d);
  fake_pipeline pipe;
  memory_sink sink;
  manual_clock clock;
  durable_options opts = fast_options();
  std::unique_ptr<durable_source> started;

  // Stores `evs` (acknowledged once durable), then starts a source with `opts` on `clock`.
  durable_source& start(std::vector<transport::event> evs, transport::deadletter::sink* dead_letters = nullptr) {
    opts.now = clock.fn();
    started = std::make_unique<durable_source>(*log, pipe, dead_letters, opts);
    started->submit(std::move(evs), w.done());
    BOOST_REQUIRE(w.wait_for(1));
    started->start();
    return *started;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(tracker_checkpoint_is_the_lowest_unfinished_sequence) {
  completion_tracker t(1);
  BOOST_TEST(t.checkpoint(1) == 1u);
  const auto a = t.add(1, 5, 4);
  const auto b = t.add(5, 9, 4);
  const auto c = t.add(9, 12, 3);
  BOOST_TEST(t.events_in_flight() == 11u);
  BOOST_TEST(t.finish(c));
  BOOST_TEST(t.checkpoint(12) == 1u);
  BOOST_TEST(t.finish(a));
  BOOST_TEST(t.checkpoint(12) == 5u);
  BOOST_TEST(!t.finish(a));  // twice
  BOOST_TEST(!t.finish(99));
  BOOST_TEST(t.batches_in_flight() == 1u);
  BOOST_TEST(t.finish(b));
  BOOST_TEST(t.checkpoint(12) == 12u);
  BOOST_TEST(t.events_in_flight() == 0u);
  BOOST_TEST(t.next_id() == 3u);
}

BOOST_AUTO_TEST_CASE(acknowledged_when_durable_then_consumed_in_order) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  auto log = open_log(d);
  fake_pipeline pipe;
  durable_source src(*log, pipe, nullptr, fast_options());
  // Acknowledged before the pipeline has seen anything (the consumer is not started yet).
  BOOST_TEST(static_cast<int>(src.submit(events(0, 3), w.done())) ==
             static_cast<int>(transport::submit_status::accepted));
  BOOST_REQUIRE(w.wait_for(1));
  BOOST_TEST(w.outcomes[0].events == 3u);
  BOOST_TEST(w.outcomes[0].failed == 0u);
  BOOST_TEST(pipe.count() == 0u);
  BOOST_TEST(static_cast<int>(src.submit(events(3, 7), w.done())) ==
             static_cast<int>(transport::submit_status::accepted));
  BOOST_REQUIRE(w.wait_for(2));
  src.start();
  BOOST_REQUIRE(pipe.wait_subs(3));  // 10 events in batches of 4
  const auto bodies = pipe.bodies();
  BOOST_REQUIRE(bodies.size() == 10u);
  for (int i = 0; i < 10; ++i) BOOST_TEST(bodies[static_cast<std::size_t>(i)] == make_event(i).body);
  BOOST_TEST(src.stats().accepted_events == 10u);
  BOOST_TEST(eventually([&] { return src.stats().consumed_events == 10u; }));
  src.stop();
}

BOOST_FIXTURE_TEST_CASE(out_of_order_completions_move_the_checkpoint, clocked) {
  auto& src = start(events(0, 12));  // seqs 1..12 -> batches [1,5) [5,9) [9,13)
  BOOST_REQUIRE(pipe.wait_subs(3));
  BOOST_TEST(log->checkpoint_seq() == 1u);
  // Each step: complete, let the checkpoint interval pass, poke (one full pass of the consumer,
  // completions first, the checkpoint after them): what the checkpoint says then is final.
  auto settle = [&] {
    clock.advance(opts.checkpoint_interval);
    BOOST_REQUIRE(src.poke());
  };
  pipe.complete(2);
  settle();
  // The consumer took the completion (its in-flight count fell) but batch 1 is still open: the
  // checkpoint may not pass it (the checkpoint arithmetic itself: completion_tracker's tests).
  BOOST_TEST(src.stats().in_flight_events == 8u);
  BOOST_TEST(log->checkpoint_seq() == 1u);
  pipe.complete(0);
  settle();
  BOOST_TEST(log->checkpoint_seq() == 5u);
  pipe.complete(1);
  settle();
  BOOST_TEST(log->checkpoint_seq() == 13u);
  BOOST_TEST(src.lag() == 0u);
  src.stop();
}

BOOST_AUTO_TEST_CASE(downstream_busy_is_retried_without_loss_or_duplicates) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  auto log = open_log(d);
  fake_pipeline pipe;
  pipe.busy_next = 5;
  pipe.auto_complete = true;
  durable_source src(*log, pipe, nullptr, fast_options());
  src.start();
  for (int i = 0; i < 10; ++i) src.submit(events(i * 3, 3), w.done());
  BOOST_REQUIRE(w.wait_for(10));
  BOOST_TEST(eventually([&] { return pipe.total_events() == 30u; }));
  BOOST_TEST(eventually([&] { return log->checkpoint_seq() == 31u; }));
  const auto bodies = pipe.bodies();
  BOOST_REQUIRE(bodies.size() == 30u);
  for (int i = 0; i < 30; ++i) BOOST_TEST(bodies[static_cast<std::size_t>(i)] == make_event(i).body);
  BOOST_TEST(pipe.busy_answers == 5);
  BOOST_TEST(src.stats().downstream_busy == 5u);
  src.stop();
}

BOOST_AUTO_TEST_CASE(restart_resubmits_everything_after_the_checkpoint) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  {
    auto log = open_log(d);
    fake_pipeline pipe;
    durable_source src(*log, pipe, nullptr, fast_options());
    src.submit(events(0, 12), w.done());
    BOOST_REQUIRE(w.wait_for(1));
    src.start();
    BOOST_REQUIRE(pipe.wait_subs(3));
    pipe.complete(0);
    pipe.complete(2);  // [9,13) done but behind the open [5,9)
    BOOST_TEST(eventually([&] { return log->checkpoint_seq() == 5u; }));
    src.stop();  // drain times out for batch 2
    BOOST_TEST(log->checkpoint_seq() == 5u);
  }
  auto log = open_log(d);
  BOOST_TEST(log->checkpoint_seq() == 5u);
  fake_pipeline pipe;
  pipe.auto_complete = true;
  durable_source src(*log, pipe, nullptr, fast_options());
  src.start();
  BOOST_TEST(eventually([&] { return pipe.total_events() == 8u; }));
  const auto bodies = pipe.bodies();
  BOOST_REQUIRE(bodies.size() == 8u);
  BOOST_TEST(bodies.front() == make_event(4).body);  // seq 5 = event 4
  BOOST_TEST(eventually([&] { return log->checkpoint_seq() == 13u; }));
  src.stop();
}

BOOST_AUTO_TEST_CASE(full_buffer_answers_busy) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  auto log = open_log(d, 8 * 1024);
  fake_pipeline pipe;  // never started: nothing is consumed
  durable_source src(*log, pipe, nullptr, fast_options());
  transport::submit_status st = transport::submit_status::accepted;
  int n = 0;
  while (st == transport::submit_status::accepted && n < 1000) st = src.submit({make_event(n++, 300)}, w.done());
  BOOST_TEST(static_cast<int>(st) == static_cast<int>(transport::submit_status::busy));
  BOOST_TEST(src.stats().refused_submits == 1u);
  src.stop();
  BOOST_TEST(static_cast<int>(src.submit(events(0, 1), w.done())) ==
             static_cast<int>(transport::submit_status::shutting_down));
}

BOOST_AUTO_TEST_CASE(disk_error_is_never_acknowledged) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  test::faults f;
  std::vector<std::string> logged;
  std::mutex lm;
  log_options o;
  o.dir = d.str();
  o.faults = &f;
  o.retry_after_error = 10s;
  auto log = std::move(*segment_log::open(o));
  fake_pipeline pipe;
  durable_source src(*log, pipe, nullptr, fast_options(), [&](int, const std::string& m, const std::string& detail) {
    std::lock_guard l(lm);
    logged.push_back(m + ": " + detail);
  });
  f.set(transport::buffer::io_op::write, ENOSPC, 1);
  BOOST_REQUIRE(static_cast<int>(src.submit(events(0, 2), w.done())) ==
                static_cast<int>(transport::submit_status::accepted));
  BOOST_REQUIRE(w.wait_for(1));
  BOOST_TEST(refused(w.outcomes[0]));  // 503, never 201
  // While the error is fresh: refused at once (503 + Retry-After).
  BOOST_TEST(static_cast<int>(src.submit(events(2, 1), w.done())) == static_cast<int>(transport::submit_status::busy));
  std::lock_guard l(lm);
  BOOST_REQUIRE(!logged.empty());
  BOOST_TEST(logged.front().find("No space left on device") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(replay_inbox_is_taken_into_the_log) {
  temp_dir d;
  auto log = open_log(d);
  const auto path = write_inbox(file_io{}, d.str(), events(100, 3));
  BOOST_REQUIRE(path);
  fake_pipeline pipe;
  pipe.auto_complete = true;
  durable_source src(*log, pipe, nullptr, fast_options());
  src.start();
  BOOST_TEST(eventually([&] { return pipe.total_events() == 3u; }));
  BOOST_TEST(pipe.bodies().front() == make_event(100).body);
  BOOST_TEST(eventually([&] { return !std::filesystem::exists(*path); }));
  BOOST_TEST(src.stats().replayed_events == 3u);
  src.stop();
}

namespace {
// Failures as the pipeline reports them; HttpRequestException stands for a transient one here.
transport::outcome failed_outcome(std::vector<std::pair<std::uint32_t, std::string>> idx_type,
                                  std::uint64_t written = 0) {
  transport::outcome o;
  for (auto& [i, t] : idx_type) {
    transport::event_failure f;
    f.index = i;
    f.stage = t == "InvalidDataFormatException" ? "normalization" : "fhirConversion";
    f.type = t;
    f.message = "because " + t;
    f.cls = t == "HttpRequestException" ? transport::failure_class::transient : transport::failure_class::permanent;
    if (transport::is_transient(f.cls)) ++o.transient;
    o.failures.push_back(std::move(f));
    ++o.failed;
  }
  o.written = written;
  return o;
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(failed_events_are_dead_lettered_before_the_checkpoint_passes_them, clocked) {
  sink.fail_puts = 2;  // the store is full at first: the batch must stay unfinished
  auto& src = start(events(0, 4), &sink);
  BOOST_REQUIRE(pipe.wait_subs(1));
  pipe.complete(0, failed_outcome({{1, "InvalidDataFormatException"}, {3, "PatientDeviceMismatchException"}}));
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(src.stats().dead_letter_errors == 1u);
  // The store is retried a second later; meanwhile checkpoints are due and written.
  clock.advance(999ms);
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(src.stats().dead_letter_errors == 1u);
  BOOST_TEST(log->checkpoint_seq() == 1u);  // not past events whose dead letter is not written
  clock.advance(1ms);
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(src.stats().dead_letter_errors == 2u);  // the second refusal
  BOOST_TEST(sink.size() == 0u);
  clock.advance(1s);
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(sink.size() == 2u);
  BOOST_TEST(log->checkpoint_seq() == 5u);
  std::lock_guard l(sink.mu);
  BOOST_TEST(sink.kept[0].first.body == make_event(1).body);  // the original event, read back from the log
  BOOST_TEST(sink.kept[0].second.type == "InvalidDataFormatException");
  BOOST_TEST(sink.kept[0].second.stage == "normalization");
  BOOST_TEST(sink.kept[1].first.body == make_event(3).body);
  BOOST_TEST(src.stats().dead_lettered == 2u);
}

// Issue 12: a transient failure never dead-letters by default; the event is parked, so the main
// log's checkpoint passes it at once, and it is submitted again until it is written.
BOOST_AUTO_TEST_CASE(transient_failures_are_parked_and_resubmitted_until_written) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  auto log = open_log(d);
  fake_pipeline pipe;
  memory_sink sink;
  durable_source src(*log, pipe, &sink, fast_options());
  src.submit(events(0, 3), w.done());
  BOOST_REQUIRE(w.wait_for(1));
  src.start();
  BOOST_REQUIRE(pipe.wait_subs(1));
  pipe.complete(0, failed_outcome({{2, "HttpRequestException"}}, 2));
  // Parked: the main log is final up to its end, the parked log holds event 2.
  BOOST_TEST(eventually([&] { return log->checkpoint_seq() == 4u; }));
  BOOST_TEST(src.parked_log()->committed_end() == 2u);
  BOOST_REQUIRE(pipe.wait_subs(2));
  BOOST_REQUIRE(pipe.events_of(1).size() == 1u);
  BOOST_TEST(pipe.events_of(1)[0].body == make_event(2).body);
  // Failing again and again (the server fails for everyone): never dead-lettered.
  for (std::size_t k = 1; k <= 4; ++k) {
    pipe.complete(k, failed_outcome({{0, "HttpRequestException"}}));
    BOOST_REQUIRE(pipe.wait_subs(k + 2));
  }
  BOOST_TEST(src.stats().fhir_failing);
  BOOST_TEST(src.failing_reason().find("HttpRequestException") != std::string::npos);
  BOOST_TEST(src.stats().waiting_events == 1u);
  BOOST_TEST(sink.size() == 0u);
  pipe.complete(5, failed_outcome({}, 1));  // written
  BOOST_TEST(eventually([&] { return src.parked_log()->checkpoint_seq() == 2u; }));
  BOOST_TEST(eventually([&] { return src.stats().waiting_events == 0u; }));
  BOOST_TEST(!src.stats().fhir_failing);
  BOOST_TEST(sink.size() == 0u);
  BOOST_TEST(src.stats().redelivered_events == 5u);
  BOOST_TEST(src.stats().parked_events == 1u);
}

BOOST_AUTO_TEST_CASE(parked_events_survive_a_restart) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  auto log = open_log(d);
  {
    fake_pipeline pipe;
    durable_source src(*log, pipe, nullptr, fast_options());
    src.submit(events(0, 2), w.done());
    BOOST_REQUIRE(w.wait_for(1));
    src.start();
    BOOST_REQUIRE(pipe.wait_subs(1));
    pipe.complete(0, failed_outcome({{0, "HttpRequestException"}, {1, "HttpRequestException"}}));
    BOOST_TEST(eventually([&] { return log->checkpoint_seq() == 3u; }));
    BOOST_REQUIRE(pipe.wait_subs(2));  // resubmitted once; the process "dies" with it in flight
    src.stop();
  }
  fake_pipeline pipe;
  pipe.auto_complete = true;
  durable_source again(*log, pipe, nullptr, fast_options());
  again.start();
  BOOST_TEST(eventually([&] { return pipe.total_events() == 2u; }));
  BOOST_TEST(pipe.bodies()[0] == make_event(0).body);
  BOOST_TEST(pipe.bodies()[1] == make_event(1).body);
  BOOST_TEST(eventually([&] { return again.parked_log()->checkpoint_seq() == 3u; }));
  again.stop();
}

BOOST_AUTO_TEST_CASE(transient_failures_beyond_max_age_are_dead_lettered) {
  temp_dir d;
  waiter w;
  auto log = open_log(d);
  fake_pipeline pipe;
  memory_sink sink;
  auto opts = fast_options();
  opts.max_age = std::chrono::hours(1);
  std::atomic<std::int64_t> now_ticks{json::unix_epoch_ticks};
  opts.utc_now = [&] { return json::date_time{now_ticks.load(), json::date_kind::utc}; };
  durable_source src(*log, pipe, &sink, opts);
  std::vector<transport::event> evs = events(0, 1);
  evs[0].enqueued_time = {json::unix_epoch_ticks, json::date_kind::utc};
  src.submit(std::move(evs), w.done());
  BOOST_REQUIRE(w.wait_for(1));
  src.start();
  BOOST_REQUIRE(pipe.wait_subs(1));
  pipe.complete(0, failed_outcome({{0, "HttpRequestException"}}));
  BOOST_REQUIRE(pipe.wait_subs(2));
  now_ticks += 2LL * 3600 * 10'000'000;  // two hours later
  pipe.complete(1, failed_outcome({{0, "HttpRequestException"}}));
  BOOST_TEST(eventually([&] { return sink.size() == 1u; }));
  BOOST_TEST(eventually([&] { return src.parked_log()->checkpoint_seq() == 2u; }));
  std::lock_guard l(sink.mu);
  BOOST_TEST(sink.kept[0].second.message.find("beyond max_age") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(while_the_server_fails_for_everyone_reading_pauses, clocked) {
  opts.batch_events = 1;
  auto& src = start(events(0, 3));   // the clock is never moved: no probe, no resubmission
  BOOST_REQUIRE(pipe.wait_subs(3));  // one event per batch, all three read
  pipe.complete(0, failed_outcome({{0, "HttpRequestException"}}));
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(src.stats().fhir_failing.load());
  src.submit(events(10, 1), w.done());  // more arrives while the server fails
  BOOST_REQUIRE(w.wait_for(2));
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(pipe.count() == 3u);           // durable, but not read while the server fails
  pipe.complete(1, failed_outcome({}, 1));  // another batch was written: the server works again
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(!src.stats().fhir_failing.load());
  BOOST_REQUIRE(pipe.count() == 4u);  // reading resumed
  BOOST_TEST(pipe.events_of(3)[0].body == make_event(10).body);
  src.stop();
}

BOOST_AUTO_TEST_CASE(a_full_buffer_says_so) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  auto log = open_log(d, 64 * 1024);
  fake_pipeline pipe;
  durable_source src(*log, pipe, nullptr, fast_options());
  transport::submit_status st = transport::submit_status::accepted;
  for (int i = 0; i < 10000 && st == transport::submit_status::accepted; ++i) st = src.submit(events(i, 1), w.done());
  BOOST_TEST(static_cast<int>(st) == static_cast<int>(transport::submit_status::busy));
  BOOST_TEST(src.busy_reason() == "the durable buffer is full");
}

BOOST_AUTO_TEST_CASE(refused_outcome_carries_the_error) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  test::faults f;
  log_options o;
  o.dir = d.str();
  o.faults = &f;
  auto log = std::move(*segment_log::open(o));
  fake_pipeline pipe;
  durable_source src(*log, pipe, nullptr, fast_options());
  f.set(transport::buffer::io_op::write, EROFS, 1);
  src.submit(events(0, 1), w.done());
  BOOST_REQUIRE(w.wait_for(1));
  BOOST_TEST(w.outcomes[0].refused);
  BOOST_TEST(w.outcomes[0].error.find("Read-only file system") != std::string::npos);
}

// A transiently failed event is submitted again only once its delay has passed, and the delay
// doubles per failure up to resubmit_max_delay (1 s, 2 s, 4 s, 8 s, 8 s). The clock is moved by
// hand to 1 ms before each deadline (nothing may happen) and then onto it (the resubmission).
BOOST_FIXTURE_TEST_CASE(a_waiting_event_is_resubmitted_after_its_delay_which_doubles_up_to_the_cap, clocked) {
  opts.resubmit_delay = 1s;
  opts.resubmit_max_delay = 8s;
  auto& src = start(events(0, 1));
  BOOST_REQUIRE(pipe.wait_subs(1));
  pipe.complete(0, failed_outcome({{0, "HttpRequestException"}}));
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(src.stats().parked_events == 1u);
  std::size_t subs = 1;
  for (const auto delay : {1s, 2s, 4s, 8s, 8s}) {
    BOOST_TEST_CONTEXT("delay " << delay.count() << " s after " << subs << " submission(s)") {
      clock.advance(delay - 1ms);
      BOOST_REQUIRE(src.poke());
      BOOST_TEST(pipe.count() == subs);  // not before its delay
      clock.advance(1ms);
      BOOST_REQUIRE(src.poke());
      BOOST_REQUIRE(pipe.count() == subs + 1);  // once the clock reaches it
      BOOST_TEST(pipe.events_of(subs).at(0).body == make_event(0).body);
      pipe.complete(subs, failed_outcome({{0, "HttpRequestException"}}));
      BOOST_REQUIRE(src.poke());  // taken at this time: the next delay counts from here
      ++subs;
    }
  }
  BOOST_TEST(src.stats().redelivered_events == 5u);
  BOOST_TEST(src.stats().fhir_failing.load());
  clock.advance(8s);
  BOOST_REQUIRE(src.poke());
  BOOST_REQUIRE(pipe.count() == subs + 1);
  pipe.complete(subs, failed_outcome({}, 1));  // written at last
  clock.advance(opts.checkpoint_interval);
  BOOST_REQUIRE(src.poke());
  BOOST_TEST(!src.stats().fhir_failing.load());
  BOOST_TEST(src.stats().waiting_events == 0u);
  BOOST_TEST(src.parked_log()->checkpoint_seq() == 2u);
  src.stop();
}

// Downstream busy: the next read waits backoff_initial, doubling per refusal up to backoff_max.
BOOST_FIXTURE_TEST_CASE(downstream_busy_backs_off_exponentially_up_to_the_cap, clocked) {
  pipe.busy_next = 4;
  opts.backoff_initial = 100ms;
  opts.backoff_max = 300ms;
  auto& src = start(events(0, 2));
  BOOST_TEST(eventually([&] { return src.stats().downstream_busy == 1u; }));  // the first read: busy
  int busy = 1;
  for (const auto delay : {100ms, 200ms, 300ms, 300ms}) {
    BOOST_TEST_CONTEXT("backoff " << delay.count() << " ms after " << busy << " refusal(s)") {
      clock.advance(delay - 1ms);
      BOOST_REQUIRE(src.poke());
      BOOST_TEST(src.stats().downstream_busy == static_cast<std::uint64_t>(busy));  // still backing off
      clock.advance(1ms);
      BOOST_REQUIRE(src.poke());
      ++busy;
      if (busy <= 4) BOOST_TEST(src.stats().downstream_busy == static_cast<std::uint64_t>(busy));
    }
  }
  BOOST_TEST(pipe.busy_answers == 4);
  BOOST_REQUIRE(pipe.count() == 1u);  // the fifth try is taken
  BOOST_TEST(pipe.events_of(0).size() == 2u);
  pipe.complete(0);
  src.stop();
}

// Issue 13: where an event came from (the partition HTTP ingest routed it to, its request id and
// batch item) comes out of the buffer as it went in, also out of the parked log; the events of one
// request share one id string again.
BOOST_AUTO_TEST_CASE(where_an_event_came_from_survives_the_buffer_and_the_parked_log) {
  temp_dir d;
  waiter w;  // before the log: completions may run until the log is closed
  auto log = open_log(d);
  memory_sink sink;
  const auto batch_id = std::make_shared<const std::string>("0f8fad5b-d9cb-469f-a165-70867728950e");
  {
    fake_pipeline pipe;
    durable_source src(*log, pipe, &sink, fast_options());
    auto batch = events(0, 3);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i].partition = 2;
      batch[i].request_id = batch_id;
      batch[i].batch_index = static_cast<std::int32_t>(i);
    }
    auto single = events(3, 1);
    single[0].partition = 0;
    single[0].request_id = std::make_shared<const std::string>("gateway-7/req-0042");
    src.submit(std::move(batch), w.done());
    src.submit(std::move(single), w.done());
    src.submit(events(4, 1), w.done());  // no origin (a replayed dead letter)
    BOOST_REQUIRE(w.wait_for(3));
    src.start();
    BOOST_REQUIRE(pipe.wait_subs(2));  // batches of 4
    const auto first = pipe.events_of(0);
    BOOST_REQUIRE(first.size() == 4u);
    for (int i = 0; i < 3; ++i) {
      const auto& e = first[static_cast<std::size_t>(i)];
      BOOST_REQUIRE(e.request_id);
      BOOST_TEST(*e.request_id == *batch_id);
      BOOST_TEST(e.request_id.get() == first[0].request_id.get());  // one string for the request
      BOOST_TEST(e.batch_index == i);
      BOOST_TEST(e.partition == 2);
    }
    BOOST_REQUIRE(first[3].request_id);
    BOOST_TEST(*first[3].request_id == "gateway-7/req-0042");
    BOOST_TEST(first[3].batch_index == -1);
    BOOST_TEST(first[3].partition == 0);
    const auto second = pipe.events_of(1);
    BOOST_REQUIRE(second.size() == 1u);
    BOOST_TEST(!second[0].request_id);
    BOOST_TEST(second[0].partition == -1);
    // A transient failure parks the second batch item; it comes back with its origin.
    pipe.complete(0, failed_outcome({{1, "HttpRequestException"}}, 3));
    pipe.complete(1);
    BOOST_REQUIRE(pipe.wait_subs(3));
    const auto again = pipe.events_of(2);
    BOOST_REQUIRE(again.size() == 1u);
    BOOST_TEST(again[0].body == make_event(1).body);
    BOOST_REQUIRE(again[0].request_id);
    BOOST_TEST(*again[0].request_id == *batch_id);
    BOOST_TEST(again[0].batch_index == 1);
    BOOST_TEST(again[0].partition == 2);
    src.stop();  // the process "dies" with it in flight: a restart reads it from the parked log
  }
  fake_pipeline after;
  after.auto_complete = true;
  durable_source restarted(*log, after, &sink, fast_options());
  restarted.start();
  BOOST_REQUIRE(after.wait_subs(1));
  const auto loaded = after.events_of(0);
  BOOST_REQUIRE(loaded.size() == 1u);
  BOOST_TEST(loaded[0].body == make_event(1).body);
  BOOST_REQUIRE(loaded[0].request_id);
  BOOST_TEST(*loaded[0].request_id == *batch_id);
  BOOST_TEST(loaded[0].batch_index == 1);
  BOOST_TEST(loaded[0].partition == 2);
  BOOST_TEST(eventually([&] { return restarted.stats().waiting_events == 0u; }));
  restarted.stop();
}
