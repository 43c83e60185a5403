// The dead-letter decorator used by sources without the durable buffer (AMQP, Event Hubs, HTTP
// with buffer.enabled: false): final failures are stored before the source hears the outcome,
// transient ones are left to the source, and a store that cannot be written refuses the outcome.
#define BOOST_TEST_MODULE transport dead letter sink
#include <boost/test/unit_test.hpp>

#include "../buffer/buffer_test_support.hpp"
#include "transport/deadletter/dead_letter_sink.hpp"

#include <optional>

using namespace iomt;
using namespace iomt::transport;
using iomt::test::make_event;

namespace {

// A downstream that fails the events whose index is listed, with the given type.
struct failing_sink final : event_sink {
  std::vector<std::pair<std::uint32_t, std::string>> fail;
  submit_status next = submit_status::accepted;
  submit_status submit(std::vector<event>&& events, completion done) override {
    if (next != submit_status::accepted) return next;
    outcome o;
    o.events = events.size();
    events.clear();  // the pipeline consumes what it is given
    for (const auto& [i, type] : fail) o.failures.push_back({i, "fhirConversion", type, type + " message"});
    o.failed = o.failures.size();
    done(o);
    return submit_status::accepted;
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

}  // namespace

BOOST_AUTO_TEST_CASE(final_failures_are_stored_with_their_original_event) {
  failing_sink down;
  down.fail = {{1, "FhirResourceNotFoundException"}, {3, "HttpRequestException"}};
  memory_store store;
  deadletter::dead_letter_sink s(down, store, {"HttpRequestException"});
  std::optional<outcome> got;
  BOOST_TEST((s.submit(events(4), [&](const outcome& o) { got = o; }) == submit_status::accepted));
  BOOST_REQUIRE(got);
  BOOST_TEST(!got->refused);
  BOOST_TEST(got->failures.size() == 2u);  // the source still sees both (it redelivers the transient one)
  BOOST_REQUIRE(store.kept.size() == 1u);  // only the final failure is a dead letter
  BOOST_TEST(store.kept[0].first.body == make_event(1).body);
  BOOST_TEST(store.kept[0].second.type == "FhirResourceNotFoundException");
  BOOST_TEST(store.syncs == 1);
  BOOST_TEST(s.stats().dead_lettered.load() == 1u);
}

BOOST_AUTO_TEST_CASE(no_failure_no_store_write) {
  failing_sink down;
  memory_store store;
  deadletter::dead_letter_sink s(down, store, {});
  int calls = 0;
  BOOST_TEST((s.submit(events(3), [&](const outcome& o) { calls += o.refused ? 100 : 1; }) == submit_status::accepted));
  BOOST_TEST(calls == 1);
  BOOST_TEST(store.kept.empty());
  BOOST_TEST(store.syncs == 0);
}

BOOST_AUTO_TEST_CASE(a_store_that_cannot_be_written_refuses_the_outcome) {
  failing_sink down;
  down.fail = {{0, "InvalidDataFormatException"}};
  memory_store store;
  store.broken = true;
  deadletter::dead_letter_sink s(down, store, {});
  std::optional<outcome> got;
  s.submit(events(2), [&](const outcome& o) { got = o; });
  BOOST_REQUIRE(got);
  BOOST_TEST(got->refused);  // the source must not acknowledge: the event is nowhere safe
  BOOST_TEST(got->error.find("No space left on device") != std::string::npos, got->error);
  BOOST_TEST(s.stats().write_errors.load() == 1u);
}

BOOST_AUTO_TEST_CASE(busy_passes_through_without_calling_done) {
  failing_sink down;
  down.next = submit_status::busy;
  memory_store store;
  deadletter::dead_letter_sink s(down, store, {});
  bool called = false;
  BOOST_TEST((s.submit(events(1), [&](const outcome&) { called = true; }) == submit_status::busy));
  BOOST_TEST(!called);
}

BOOST_AUTO_TEST_CASE(each_stored_event_is_counted_by_its_failure) {
  failing_sink down;
  down.fail = {{0, "FhirResourceNotFoundException"}, {1, "HttpRequestException"}, {2, "InvalidDataFormatException"}};
  memory_store store;
  std::vector<std::string> counted;
  deadletter::dead_letter_sink s(down, store, {"HttpRequestException"}, {},
                                 [&](const deadletter::failure& f) { counted.push_back(f.stage + "/" + f.type); });
  s.submit(events(3), [](const outcome&) {});
  BOOST_TEST(counted == (std::vector<std::string>{"fhirConversion/FhirResourceNotFoundException",
                                                  "fhirConversion/InvalidDataFormatException"}),
             boost::test_tools::per_element());
  // Nothing is counted when the store fails.
  store.broken = true;
  counted.clear();
  s.submit(events(3), [](const outcome&) {});
  BOOST_TEST(counted.empty());
}
