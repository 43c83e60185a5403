// The retrying sink in front of the pipeline for sources that keep their own copy (AMQP, Event
// Hubs, HTTP without the buffer; issue 12): permanent failures are stored before the source hears
// the outcome, transient ones wait and are submitted again until written, a store that cannot be
// written refuses the outcome, stop() hands waiting events back. Time is driven by hand: poll(t).
#define BOOST_TEST_MODULE transport retrying sink
#include <boost/test/unit_test.hpp>

#include "buffer/buffer_test_support.hpp"
#include "transport/retrying_sink.hpp"

#include <deque>
#include <optional>

using namespace iomt;
using namespace iomt::transport;
using namespace std::chrono_literals;
using iomt::test::make_event;

namespace {

using clock_type = retrying_sink::clock;

// A downstream that keeps the submissions; the test answers them as it likes.
struct scripted_sink final : event_sink {
  struct sub {
    std::vector<event> events;
    completion done;
  };
  std::deque<sub> subs;
  submit_status next = submit_status::accepted;
  submit_status submit(std::vector<event>&& events, completion done) override {
    if (next != submit_status::accepted) return next;
    subs.push_back({std::move(events), std::move(done)});
    return submit_status::accepted;
  }
  // Answers submission `i`: failures by index and class, `written` measurements.
  void answer(std::size_t i, std::vector<std::pair<std::uint32_t, failure_class>> fails, std::uint64_t written = 0,
              const char* type = "FhirClientException") {
    outcome o;
    o.events = subs.at(i).events.size();
    o.written = written;
    for (auto [idx, c] : fails) {
      event_failure f;
      f.index = idx;
      f.stage = "fhirConversion";
      f.type = type;
      f.message = std::string(type) + " message";
      f.cls = c;
      if (is_transient(c)) ++o.transient;
      o.failures.push_back(f);
    }
    o.failed = o.failures.size();
    subs.at(i).done(o);
  }
};

// An in-memory store that can be told to fail.
struct memory_store final : deadletter::sink {
  std::vector<std::pair<event, deadletter::failure>> kept;
  bool broken = false;
  int syncs = 0;
  deadletter::status put(const event& e, const deadletter::failure& f) override {
    if (broken) return buffer::error{buffer::errc::io, 28, "No space left on device"};
    kept.emplace_back(e, f);
    return std::nullopt;
  }
  deadletter::status sync() override {
    ++syncs;
    return std::nullopt;
  }
};

std::vector<event> events(int n) {
  std::vector<event> v;
  for (int i = 0; i < n; ++i) v.push_back(make_event(i));
  return v;
}

retrying_options fast() {
  retrying_options o;
  o.base_delay = 10ms;
  o.max_delay = 40ms;
  return o;
}

constexpr auto permanent = failure_class::permanent;
constexpr auto transient = failure_class::transient;
constexpr auto throttled = failure_class::throttled;

}  // namespace

BOOST_AUTO_TEST_CASE(permanent_failures_are_stored_transient_ones_wait_until_written) {
  scripted_sink down;
  memory_store store;
  retrying_sink s(down, &store, fast());
  std::optional<outcome> got;
  BOOST_TEST((s.submit(events(4), [&](const outcome& o) { got = o; }) == submit_status::accepted));
  down.answer(0, {{1, permanent}, {3, throttled}}, 2);
  BOOST_TEST(!got);  // event 3 waits: nothing is settled yet
  BOOST_TEST(s.stats().waiting_events.load() == 1u);
  const auto t0 = clock_type::now();
  s.poll(t0);  // not due yet
  BOOST_TEST(down.subs.size() == 1u);
  s.poll(t0 + 1s);
  BOOST_REQUIRE(down.subs.size() == 2u);
  BOOST_REQUIRE(down.subs[1].events.size() == 1u);
  BOOST_TEST(down.subs[1].events[0].body == make_event(3).body);
  down.answer(1, {}, 1);
  BOOST_REQUIRE(got);
  BOOST_TEST(!got->refused);
  BOOST_REQUIRE(got->failures.size() == 1u);  // only the permanent one reaches the source
  BOOST_TEST(got->failures[0].index == 1u);
  BOOST_TEST(got->written == 3u);
  BOOST_REQUIRE(store.kept.size() == 1u);
  BOOST_TEST(store.kept[0].first.body == make_event(1).body);
  BOOST_TEST(store.syncs == 1);
  BOOST_TEST(s.stats().dead_lettered.load() == 1u);
  BOOST_TEST(s.stats().waiting_events.load() == 0u);
}

BOOST_AUTO_TEST_CASE(an_outage_is_waited_out_with_capped_backoff_and_one_probe_at_a_time) {
  scripted_sink down;
  memory_store store;
  retrying_sink s(down, &store, fast());
  int done = 0;
  s.submit(events(2), [&](const outcome&) { ++done; });
  s.submit(events(1), [&](const outcome&) { ++done; });
  down.answer(0, {{0, transient}, {1, transient}});
  down.answer(1, {{0, transient}});
  BOOST_TEST(s.stats().fhir_failing.load());
  BOOST_TEST(s.failing_reason().find("FhirClientException") != std::string::npos);
  auto t = clock_type::now() + 1s;
  for (std::size_t round = 0; round < 20; ++round) {
    const std::size_t before = down.subs.size();
    s.poll(t);
    BOOST_REQUIRE(down.subs.size() == before + 1);  // one probe at a time while failing
    down.answer(before, {{0, transient}});          // still failing
    t += 1s;
  }
  BOOST_TEST(done == 0);  // never given up, never dead-lettered
  BOOST_TEST(store.kept.empty());
  // The server recovers: what waits is written.
  for (std::size_t k = 0; k < 5 && done < 2; ++k) {
    const std::size_t before = down.subs.size();
    s.poll(t);
    for (std::size_t i = before; i < down.subs.size(); ++i) down.answer(i, {}, down.subs[i].events.size());
    t += 1s;
  }
  BOOST_TEST(done == 2);
  BOOST_TEST(!s.stats().fhir_failing.load());
  BOOST_TEST(store.kept.empty());
}

BOOST_AUTO_TEST_CASE(max_age_turns_a_transient_failure_permanent) {
  scripted_sink down;
  memory_store store;
  auto o = fast();
  o.max_age = 1h;
  auto t = clock_type::now();
  o.now = [&] { return t; };
  retrying_sink s(down, &store, o);
  std::optional<outcome> got;
  s.submit(events(1), [&](const outcome& r) { got = r; });
  down.answer(0, {{0, transient}});
  BOOST_TEST(!got);  // young enough: it waits
  t += 2h;
  s.poll(t);
  down.answer(1, {{0, transient}});
  BOOST_REQUIRE(got);
  BOOST_REQUIRE(got->failures.size() == 1u);
  BOOST_TEST((got->failures[0].cls == permanent));
  BOOST_REQUIRE(store.kept.size() == 1u);
  BOOST_TEST(store.kept[0].second.message.find("beyond max_age") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(max_wait_answers_refused_so_the_sender_retries) {
  scripted_sink down;
  auto o = fast();
  o.max_wait = 20s;
  auto t = clock_type::now();
  o.now = [&] { return t; };
  retrying_sink s(down, nullptr, o);
  std::optional<outcome> got;
  s.submit(events(1), [&](const outcome& r) { got = r; });
  t += 30s;
  down.answer(0, {{0, throttled}});
  BOOST_REQUIRE(got);
  BOOST_TEST(got->refused);
  BOOST_TEST(got->error.find("FHIR server is failing") != std::string::npos, got->error);
}

BOOST_AUTO_TEST_CASE(stop_hands_waiting_events_back_to_the_source) {
  scripted_sink down;
  retrying_sink s(down, nullptr, fast());
  std::optional<outcome> got;
  s.submit(events(2), [&](const outcome& r) { got = r; });
  down.answer(0, {{1, transient}}, 1);
  BOOST_TEST(!got);
  s.stop();
  BOOST_REQUIRE(got);
  BOOST_TEST(got->refused);  // AMQP: modified -> redelivered later; nothing lost
}

BOOST_AUTO_TEST_CASE(no_failure_no_store_write) {
  scripted_sink down;
  memory_store store;
  retrying_sink s(down, &store, fast());
  int calls = 0;
  BOOST_TEST((s.submit(events(3), [&](const outcome& o) { calls += o.refused ? 100 : 1; }) == submit_status::accepted));
  down.answer(0, {}, 3);
  BOOST_TEST(calls == 1);
  BOOST_TEST(store.kept.empty());
  BOOST_TEST(store.syncs == 0);
}

BOOST_AUTO_TEST_CASE(a_store_that_cannot_be_written_refuses_the_outcome) {
  scripted_sink down;
  memory_store store;
  store.broken = true;
  retrying_sink s(down, &store, fast());
  std::optional<outcome> got;
  s.submit(events(2), [&](const outcome& o) { got = o; });
  down.answer(0, {{0, permanent}}, 0, "InvalidDataFormatException");
  BOOST_REQUIRE(got);
  BOOST_TEST(got->refused);  // the source must not acknowledge: the event is nowhere safe
  BOOST_TEST(got->error.find("No space left on device") != std::string::npos, got->error);
  BOOST_TEST(s.stats().write_errors.load() == 1u);
}

BOOST_AUTO_TEST_CASE(busy_passes_through_without_calling_done) {
  scripted_sink down;
  down.next = submit_status::busy;
  memory_store store;
  retrying_sink s(down, &store, fast());
  bool called = false;
  BOOST_TEST((s.submit(events(1), [&](const outcome&) { called = true; }) == submit_status::busy));
  BOOST_TEST(!called);
}

BOOST_AUTO_TEST_CASE(each_stored_event_is_counted_by_its_failure) {
  scripted_sink down;
  memory_store store;
  std::vector<std::string> counted;
  retrying_sink s(down, &store, fast(), {},
                  [&](const deadletter::failure& f) { counted.push_back(f.stage + "/" + f.type); });
  s.submit(events(3), [](const outcome&) {});
  down.answer(0, {{0, permanent}, {2, permanent}}, 0, "FhirResourceNotFoundException");
  BOOST_TEST(counted == (std::vector<std::string>{"fhirConversion/FhirResourceNotFoundException",
                                                  "fhirConversion/FhirResourceNotFoundException"}),
             boost::test_tools::per_element());
  // Nothing is counted when the store fails.
  store.broken = true;
  counted.clear();
  s.submit(events(3), [](const outcome&) {});
  down.answer(1, {{1, permanent}});
  BOOST_TEST(counted.empty());
}
