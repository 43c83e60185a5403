// The AMQP 1.0 source against the real broker (RabbitMQ 3.10 + rabbitmq_amqp1_0, TLS, SASL PLAIN):
// end-to-end delivery with settlement, back-pressure, several links, a broker restart mid-stream,
// and the clear errors for a wrong password, an untrusted certificate and a missing queue.
// Uses AMQP_* (scripts/test) or starts its own broker; the restart test always uses its own.
#define BOOST_TEST_MODULE amqp_integration
#include <boost/test/unit_test.hpp>

#include "integration/amqp/amqp_support.hpp"

using namespace iomt::test::amqp;
using namespace std::chrono_literals;
namespace ta = iomt::transport::amqp;
namespace tr = iomt::transport;

namespace {
own_broker_cleanup cleanup_at_exit;

void declare_and_empty(const broker_env& b, const std::string& q) {
  send(b, q, 0, "declare");
  drain(b, {q}, 500ms);
}
}  // namespace

BOOST_AUTO_TEST_CASE(messages_arrive_and_are_settled_after_completion) {
  const auto& b = shared_broker();
  const std::string q = "amqp-it-basic";
  declare_and_empty(b, q);
  send(b, q, 2000, "basic");

  async_sink sink(50ms);
  auto opts = source_for(b, {q});
  opts.consumer.credit.max_unsettled = 300;
  ta::source src(opts, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return sink.completed() >= 2000; }, 60s));
  BOOST_REQUIRE(wait_for([&] { return src.stats().accepted >= 2000; }, 10s));
  auto st = src.stats();
  BOOST_TEST(st.received == 2000u);
  BOOST_TEST(st.accepted == 2000u);
  BOOST_TEST(st.released == 0u);
  BOOST_TEST(st.unsettled == 0u);
  BOOST_TEST(st.connected == 1u);
  BOOST_TEST(sink.unique_ids().size() == 2000u);
  // What the templates see survives the broker: properties and annotations.
  const tr::event e = sink.first_event();
  BOOST_TEST(e.body.find(R"("seq":)") != std::string::npos);
  BOOST_TEST(e.properties == R"({"iothub-creation-time-utc":"2024-05-01T10:00:00Z"})");
  BOOST_TEST(e.system_properties.find(R"("iothub-connection-device-id":"dev-)") != std::string::npos);
  src.stop();
  BOOST_TEST(drain(b, {q}) == 0u);  // everything was accepted: nothing left in the queue
}

BOOST_AUTO_TEST_CASE(unsettled_are_redelivered_when_the_source_stops_early) {
  // Completions that never come (a pipeline that is stuck): stop() waits drain_timeout, closes,
  // and the broker keeps every message.
  const auto& b = shared_broker();
  const std::string q = "amqp-it-stuck";
  declare_and_empty(b, q);
  send(b, q, 200, "stuck");
  async_sink sink(1h);
  auto opts = source_for(b, {q});
  opts.drain_timeout = 1s;
  {
    ta::source src(opts, sink);
    src.start();
    BOOST_REQUIRE(wait_for([&] { return sink.submitted() == 200; }, 30s));
    src.stop();
    BOOST_TEST(src.stats().accepted == 0u);
  }
  BOOST_TEST(drain(b, {q}) == 200u);
}

BOOST_AUTO_TEST_CASE(busy_pipeline_is_retried_and_nothing_is_lost) {
  const auto& b = shared_broker();
  const std::string q = "amqp-it-busy";
  declare_and_empty(b, q);
  send(b, q, 500, "busy");
  async_sink sink(10ms);
  std::atomic<int> calls{0};
  sink.answer = [&] { return ++calls % 3 == 0 ? tr::submit_status::accepted : tr::submit_status::busy; };
  auto opts = source_for(b, {q});
  opts.consumer.credit.max_unsettled = 50;
  opts.consumer.max_batch_events = 20;
  ta::source src(opts, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().accepted >= 500; }, 60s));
  BOOST_TEST(src.stats().busy > 0u);
  BOOST_TEST(sink.unique_ids().size() == 500u);
  BOOST_TEST(sink.total_ids() == 500u);  // busy batches are retried, not re-received
  src.stop();
}

BOOST_AUTO_TEST_CASE(shutting_down_pipeline_releases_deliveries) {
  const auto& b = shared_broker();
  const std::string q = "amqp-it-shutdown";
  declare_and_empty(b, q);
  send(b, q, 100, "shutdown");
  async_sink sink(0ms);
  sink.answer = [] { return tr::submit_status::shutting_down; };
  ta::source src(source_for(b, {q}), sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().released >= 1; }, 30s));
  src.stop();
  BOOST_TEST(src.stats().accepted == 0u);
  BOOST_TEST(drain(b, {q}) == 100u);
}

BOOST_AUTO_TEST_CASE(several_links_on_one_connection) {
  const auto& b = shared_broker();
  std::vector<std::string> qs{"amqp-it-multi-a", "amqp-it-multi-b", "amqp-it-multi-c"};
  for (const auto& q : qs) {
    declare_and_empty(b, q);
    send(b, q, 300, q);
  }
  async_sink sink(5ms);
  auto opts = source_for(b, qs);
  opts.connections = 2;
  opts.threads = 2;
  ta::source src(opts, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().accepted >= 900; }, 60s));
  BOOST_TEST(sink.unique_ids().size() == 900u);
  BOOST_TEST(src.ready());
  src.stop();
}

BOOST_AUTO_TEST_CASE(wrong_password_is_reported_and_retried) {
  const auto& b = shared_broker();
  async_sink sink;
  log_lines log;
  auto opts = source_for(b, {"amqp-it-basic"});
  opts.password = "not-the-password";
  ta::source src(opts, sink, log.hook());
  src.start();
  // RabbitMQ answers a failed SASL login after ~3 s.
  BOOST_REQUIRE(wait_for([&] { return src.stats().failures >= 2; }, 30s));
  src.stop();
  const auto st = src.stats();
  BOOST_TEST(st.failures_by_kind[static_cast<int>(ta::errc::authentication_failed)] >= 2u);
  BOOST_TEST_MESSAGE("wrong password: " << st.last_error);
  BOOST_TEST(st.last_error.find("authentication failed") == 0, st.last_error);
  BOOST_TEST(log.contains("connection failed: authentication failed"), log.all());
  BOOST_TEST(log.contains("reconnecting in"));
  BOOST_TEST(!src.ready());
}

BOOST_AUTO_TEST_CASE(untrusted_certificate_is_reported_and_retried) {
  const auto& b = shared_broker();
  async_sink sink;
  log_lines log;
  auto opts = source_for(b, {"amqp-it-basic"});
  opts.tls.ca_file.clear();  // the system trust store does not know the test CA
  ta::source src(opts, sink, log.hook());
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().failures >= 2; }, 20s));
  src.stop();
  const auto st = src.stats();
  BOOST_TEST(st.failures_by_kind[static_cast<int>(ta::errc::certificate_verify_failed)] >= 2u);
  BOOST_TEST_MESSAGE("untrusted CA: " << st.last_error);
  BOOST_TEST(st.last_error.find("certificate verify failed") == 0, st.last_error);
  BOOST_TEST(log.contains("certificate verify failed"), log.all());
}

BOOST_AUTO_TEST_CASE(certificate_for_another_name_is_refused) {
  const auto& b = shared_broker();
  async_sink sink;
  auto opts = source_for(b, {"amqp-it-basic"});
  opts.tls.server_name = "broker.example.org";  // the certificate names localhost / 127.0.0.1
  ta::source src(opts, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().failures >= 1; }, 20s));
  src.stop();
  BOOST_TEST_MESSAGE("wrong name: " << src.stats().last_error);
  BOOST_TEST(src.stats().last_error.find("certificate verify failed") == 0, src.stats().last_error);
  BOOST_TEST(src.stats().last_error.find("broker.example.org") != std::string::npos, src.stats().last_error);
}

BOOST_AUTO_TEST_CASE(missing_queue_is_a_clear_link_error) {
  const auto& b = shared_broker();
  async_sink sink;
  auto opts = source_for(b, {"amqp-it-no-such-queue"});
  ta::source src(opts, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().failures >= 2; }, 20s));
  src.stop();
  const auto err = src.stats().last_error;
  BOOST_TEST_MESSAGE("missing queue: " << err);
  BOOST_TEST(err.find("link refused") == 0, err);
  BOOST_TEST(err.find("not-found") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(broker_restart_mid_stream_loses_nothing) {
  // Its own broker: the test stops and starts it.
  broker_env b = start_own_broker(5698);
  const std::string q = "amqp-it-restart";
  declare_and_empty(b, q);
  const std::size_t n = 4000;
  send(b, q, n, "restart");

  async_sink sink(100ms);
  log_lines log;
  auto opts = source_for(b, {q});
  opts.consumer.credit.max_unsettled = 200;
  opts.consumer.max_batch_events = 50;
  ta::source src(opts, sink, log.hook());
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().accepted >= 500; }, 60s));
  BOOST_TEST_MESSAGE("restarting the broker after " << src.stats().accepted << " accepted");
  stop_broker(b);
  BOOST_REQUIRE(wait_for([&] { return !src.ready(); }, 20s));
  const auto accepted_at_stop = src.stats().accepted;
  BOOST_TEST(accepted_at_stop < n);
  b = start_own_broker(5698);
  BOOST_REQUIRE(wait_for([&] { return sink.unique_ids().size() >= n; }, 120s));
  // The broker may still hold redeliveries of messages seen before (deliveries in flight at the
  // stop, and acknowledgements it had not made durable yet): keep consuming until nothing new
  // arrives for 2 s and everything received is settled.
  std::size_t seen = 0;
  auto quiet_since = std::chrono::steady_clock::now();
  BOOST_REQUIRE(wait_for(
      [&] {
        const std::size_t total = sink.total_ids();
        if (total != seen) {
          seen = total;
          quiet_since = std::chrono::steady_clock::now();
        }
        return src.stats().unsettled == 0 && sink.completed() == total &&
               std::chrono::steady_clock::now() - quiet_since > 2s;
      },
      60s));
  src.stop();
  BOOST_TEST(sink.unique_ids().size() == n);
  BOOST_TEST_MESSAGE("received " << sink.total_ids() << " deliveries for " << n << " messages (" << sink.total_ids() - n
                                 << " redelivered after the restart)");
  BOOST_TEST(src.stats().attempts >= 2u);
  BOOST_TEST(log.contains("reconnecting in"), log.all());
  BOOST_TEST(drain(b, {q}) == 0u);
  stop_broker(b);
}
