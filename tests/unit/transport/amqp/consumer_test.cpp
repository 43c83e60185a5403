// The receiving state machine (transport/amqp/consumer.hpp) against an in-memory broker
// (fake_broker.hpp): settlement only after completion, the credit bound, pipeline back-pressure,
// shutdown, undecodable messages, multi-frame messages, refused attaches, dropped connections and
// Event Hubs progress. No socket, no clock.
#define BOOST_TEST_MODULE transport_amqp_consumer
#include <boost/test/unit_test.hpp>

#include "transport/amqp/consumer.hpp"
#include "unit/transport/amqp/fake_broker.hpp"

#include <deque>
#include <ostream>

namespace iomt::transport::amqp {
std::ostream& operator<<(std::ostream& os, errc e) { return os << to_string(e); }
}  // namespace iomt::transport::amqp

using namespace iomt::transport;
using namespace iomt::transport::amqp;
using iomt::test::amqp::fake_broker;
using iomt::test::amqp::message_builder;
using iomt::test::amqp::run;

namespace {

const std::string queue = "/amq/queue/device-events";

// Holds submissions; completes them when the test says so.
class fake_sink final : public event_sink {
public:
  std::deque<submit_status> script;  // next answers (then accepted)
  std::vector<std::vector<event>> events;
  std::vector<completion> pending;
  std::size_t calls = 0;

  submit_status submit(std::vector<event>&& evs, completion done) override {
    ++calls;
    submit_status st = submit_status::accepted;
    if (!script.empty()) {
      st = script.front();
      script.pop_front();
    }
    if (st != submit_status::accepted) return st;  // leaves `evs` untouched
    events.push_back(std::move(evs));
    pending.push_back(std::move(done));
    return st;
  }
  std::size_t event_count() const {
    std::size_t n = 0;
    for (const auto& v : events) n += v.size();
    return n;
  }
  void complete(std::size_t i) {
    outcome o;
    o.events = events[i].size();
    auto done = std::move(pending[i]);
    pending[i] = nullptr;
    if (done) done(o);
  }
  void complete_all() {
    for (std::size_t i = 0; i < pending.size(); ++i) complete(i);
  }
};

void fill(fake_broker& b, std::size_t n, const std::string& address = queue) {
  for (std::size_t i = 0; i < n; ++i) {
    message_builder m;
    m.body = R"({"n":)" + std::to_string(i) + "}";
    b.queues[address].push_back(m.encode());
  }
}

struct fixture {
  consumer_options opts;
  fake_sink sink;
  fake_broker broker;
  engine_options eo;
  std::unique_ptr<engine> eng;
  std::unique_ptr<consumer> c;

  fixture() { eo.user.clear(); }
  void open(std::vector<link_spec> links = {{queue, {}, -1, {}}}) {
    eng = std::make_unique<engine>(eo);
    c = std::make_unique<consumer>(opts, sink);
    c->begin(*eng);
    for (const auto& l : links) c->open_link(l);
    go();
  }
  void go() { run(*eng, *c, broker); }
  void complete_all_and_settle() {
    sink.complete_all();
    c->drain_completions();
    go();
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(nothing_is_settled_before_the_completion, fixture) {
  fill(broker, 10);
  open();
  BOOST_TEST(c->all_links_attached());
  BOOST_TEST(sink.event_count() == 10u);
  BOOST_TEST(broker.dispositions.size() == 0u);
  BOOST_TEST(broker.unsettled() == 10u);
  BOOST_TEST(c->stats().unsettled.load() == 10u);
  BOOST_TEST(sink.events[0][0].body == R"({"n":0})");

  fixture::complete_all_and_settle();
  BOOST_TEST(broker.dispositions.size() == 10u);
  BOOST_TEST(broker.count(PN_ACCEPTED) == 10u);
  BOOST_TEST(broker.unsettled() == 0u);
  BOOST_TEST(c->stats().accepted.load() == 10u);
  BOOST_TEST(c->stats().unsettled.load() == 0u);
  BOOST_TEST(c->drained());
}

BOOST_FIXTURE_TEST_CASE(unsettled_deliveries_never_exceed_the_bound, fixture) {
  opts.credit.max_unsettled = 8;
  opts.max_batch_events = 3;
  fill(broker, 50);
  open();
  BOOST_TEST(broker.sent == 8u);
  for (int i = 0; i < 100 && broker.count(PN_ACCEPTED) < 50; ++i) complete_all_and_settle();
  BOOST_TEST(broker.count(PN_ACCEPTED) == 50u);
  BOOST_TEST(broker.max_unsettled <= 8u);
  BOOST_TEST(broker.max_unsettled >= 6u);  // the window is actually used
  BOOST_TEST(sink.event_count() == 50u);
}

BOOST_FIXTURE_TEST_CASE(busy_pipeline_stops_credit_and_retries, fixture) {
  opts.credit.max_unsettled = 10;
  opts.max_batch_events = 4;
  fill(broker, 30);
  sink.script = {submit_status::accepted, submit_status::accepted, submit_status::busy, submit_status::busy};
  open();
  BOOST_TEST(broker.sent == 10u);
  BOOST_TEST(sink.event_count() == 8u);  // two batches of 4 accepted, the third refused
  BOOST_REQUIRE(c->retry_after().has_value());
  BOOST_TEST(c->retry_after()->count() == 5);
  // The accepted ones complete: settled, but no new credit while the pipeline is busy.
  complete_all_and_settle();
  BOOST_TEST(broker.count(PN_ACCEPTED) == 8u);
  BOOST_TEST(broker.sent == 10u);
  // First retry: busy again (backoff doubles), still no credit.
  c->retry();
  go();
  BOOST_REQUIRE(c->retry_after().has_value());
  BOOST_TEST(c->retry_after()->count() == 10);
  BOOST_TEST(broker.sent == 10u);
  // Second retry succeeds: the held batch goes in and credit flows again.
  c->retry();
  go();
  BOOST_TEST(!c->retry_after().has_value());
  for (int i = 0; i < 100 && broker.count(PN_ACCEPTED) < 30; ++i) complete_all_and_settle();
  BOOST_TEST(broker.count(PN_ACCEPTED) == 30u);
  BOOST_TEST(c->stats().busy.load() == 2u);
  BOOST_TEST(broker.max_unsettled <= 10u);
}

BOOST_FIXTURE_TEST_CASE(shutting_down_pipeline_releases_and_stops, fixture) {
  fill(broker, 5);
  sink.script = {submit_status::shutting_down};
  open();
  BOOST_TEST(c->sink_closed());
  BOOST_TEST(sink.event_count() == 0u);
  BOOST_TEST(broker.unsettled() == 5u);  // held until the close, so the broker cannot resend them at once
  BOOST_TEST(c->drained());
  c->close();
  go();
  BOOST_TEST(broker.count(PN_RELEASED) == 5u);
  BOOST_TEST(broker.queues[queue].size() == 5u);  // requeued, nothing lost
}

BOOST_FIXTURE_TEST_CASE(stop_releases_what_was_not_submitted_and_settles_the_rest, fixture) {
  opts.max_batch_events = 3;
  fill(broker, 6);
  sink.script = {submit_status::accepted, submit_status::busy};
  open();
  BOOST_TEST(sink.event_count() == 3u);
  c->stop_receiving();  // the busy batch (3) is held
  go();
  BOOST_TEST(broker.count(PN_RELEASED) == 0u);
  BOOST_TEST(!c->drained());
  complete_all_and_settle();  // the submitted batch still gets its accept
  BOOST_TEST(broker.count(PN_ACCEPTED) == 3u);
  BOOST_TEST(c->drained());
  // Deliveries that arrive while stopping (on credit granted before) are held too.
  fill(broker, 2);
  broker.pump_all();
  go();
  BOOST_TEST(broker.count(PN_ACCEPTED) == 3u);
  BOOST_TEST(sink.calls == 2u);
  c->close();  // releases the 3 + 2 held ones, then detaches
  go();
  BOOST_TEST(broker.count(PN_RELEASED) == 5u);
  BOOST_TEST(broker.queues[queue].size() == 5u);
  BOOST_TEST(!c->failure());  // our own close is not a failure
  BOOST_TEST(eng->finished());
}

BOOST_FIXTURE_TEST_CASE(undecodable_message_is_rejected, fixture) {
  fill(broker, 1);
  broker.queues[queue].push_back(std::string("\x00\x53\x75\xa0\xff", 5));
  fill(broker, 1);
  open();
  BOOST_TEST(broker.count(PN_REJECTED) == 1u);
  BOOST_TEST(sink.event_count() == 2u);
  BOOST_TEST(c->stats().decode_errors.load() == 1u);
  complete_all_and_settle();
  BOOST_TEST(broker.count(PN_ACCEPTED) == 2u);
}

BOOST_FIXTURE_TEST_CASE(messages_spanning_several_frames, fixture) {
  broker.max_frame = 512;
  eo.max_frame_size = 512;
  message_builder m;
  m.body = "{\"blob\":\"" + std::string(5000, 'x') + "\"}";
  broker.queues[queue].push_back(m.encode());
  fill(broker, 3);
  open();
  BOOST_REQUIRE(sink.event_count() == 4u);
  BOOST_TEST(sink.events[0][0].body == m.body);
  complete_all_and_settle();
  BOOST_TEST(broker.count(PN_ACCEPTED) == 4u);
}

BOOST_FIXTURE_TEST_CASE(refused_attach_is_a_link_error, fixture) {
  broker.refuse.insert("/amq/queue/missing");
  open({{"/amq/queue/missing", {}, -1, {}}});
  BOOST_TEST(c->failure().code == errc::link_error);
  BOOST_TEST(c->failure().message().find("amqp:not-found") != std::string::npos);
  BOOST_TEST(c->failure().message().find("/amq/queue/missing") != std::string::npos);
  BOOST_TEST(eng->finished());
}

BOOST_FIXTURE_TEST_CASE(connection_closed_by_the_broker, fixture) {
  fill(broker, 3);
  open();
  broker.close_connection("amqp:connection:forced", "broker shutting down");
  go();
  BOOST_TEST(c->failure().code == errc::closed_by_peer);
  BOOST_TEST(c->failure().detail == "amqp:connection:forced: broker shutting down");
}

BOOST_FIXTURE_TEST_CASE(completions_after_a_dropped_connection_are_ignored, fixture) {
  fill(broker, 5);
  open();
  BOOST_TEST(sink.event_count() == 5u);
  broker.drop();
  go();
  eng->read_close();
  go();
  BOOST_TEST(eng->failure().code == errc::connection_lost);
  c->end();
  // A new attempt on a fresh engine, with a fresh broker holding the requeued messages.
  sink.complete_all();
  c->drain_completions();
  BOOST_TEST(c->stats().stale_completions.load() == 1u);
  BOOST_TEST(c->stats().accepted.load() == 0u);
}

BOOST_FIXTURE_TEST_CASE(several_links_on_one_connection, fixture) {
  fill(broker, 4, "/amq/queue/a");
  fill(broker, 6, "/amq/queue/b");
  open({{"/amq/queue/a", {}, -1, {}}, {"/amq/queue/b", {}, -1, {}}});
  BOOST_TEST(c->link_count() == 2u);
  BOOST_TEST(sink.event_count() == 10u);
  complete_all_and_settle();
  BOOST_TEST(broker.count(PN_ACCEPTED) == 10u);
}

BOOST_FIXTURE_TEST_CASE(presettled_deliveries_need_no_disposition, fixture) {
  broker.presettled = true;
  fill(broker, 4);
  open();
  BOOST_TEST(sink.event_count() == 4u);
  complete_all_and_settle();
  BOOST_TEST(broker.dispositions.size() == 0u);
  BOOST_TEST(c->stats().unsettled.load() == 0u);
}

BOOST_FIXTURE_TEST_CASE(progress_moves_only_over_completed_prefixes, fixture) {
  opts.max_batch_events = 2;
  for (int i = 0; i < 4; ++i) {
    message_builder m;
    m.sequence_number = i;
    m.offset = std::to_string(i * 100);
    broker.queues["hub/ConsumerGroups/$Default/Partitions/0"].push_back(m.encode());
  }
  std::vector<stream_position> progress;
  eng = std::make_unique<engine>(eo);
  c = std::make_unique<consumer>(opts, sink);
  c->on_progress([&](const link_spec& l, const stream_position& p) {
    BOOST_TEST(l.partition == "0");
    progress.push_back(p);
  });
  c->begin(*eng);
  c->open_link({"hub/ConsumerGroups/$Default/Partitions/0", "amqp.annotation.x-opt-offset > '-1'", 3, "0"});
  go();
  BOOST_REQUIRE(sink.pending.size() == 2u);
  sink.complete(1);  // the later batch first: no progress yet
  c->drain_completions();
  BOOST_TEST(progress.empty());
  sink.complete(0);
  c->drain_completions();
  BOOST_REQUIRE(progress.size() == 1u);
  BOOST_TEST(progress[0].sequence_number == 3);
  BOOST_TEST(progress[0].offset == 300);
}
