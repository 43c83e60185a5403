// Link credit policy (credit.hpp), settlement decisions (settlement.hpp), broker URLs (source.hpp)
// and the metric families (source_metrics.hpp) as /metrics shows them: pure functions.
#define BOOST_TEST_MODULE transport_amqp_credit
#include <boost/test/unit_test.hpp>

#include "transport/amqp/credit.hpp"
#include "transport/amqp/settlement.hpp"
#include "transport/amqp/source.hpp"
#include "transport/amqp/source_metrics.hpp"

#include <prometheus/text_serializer.h>

#include <ostream>
#include <vector>

namespace iomt::transport::amqp {
std::ostream& operator<<(std::ostream& os, disposition d) { return os << to_string(d); }
}  // namespace iomt::transport::amqp

using namespace iomt::transport;
using namespace iomt::transport::amqp;

namespace {
std::string metrics_text(const std::vector<std::pair<std::string_view, source_stats>>& sources) {
  return prometheus::TextSerializer().Serialize(source_families(sources));
}
}  // namespace

BOOST_AUTO_TEST_CASE(credit_keeps_unsettled_plus_credit_within_the_bound) {
  const credit_policy p{100};
  BOOST_TEST(credit_to_grant(p, 0, 0, false) == 100u);  // fresh link: the whole window
  BOOST_TEST(credit_to_grant(p, 90, 0, false) == 0u);   // 10 missing: not worth a frame yet
  BOOST_TEST(credit_to_grant(p, 70, 0, false) == 30u);  // a quarter missing: top up
  BOOST_TEST(credit_to_grant(p, 0, 100, false) == 0u);  // bound reached: nothing
  BOOST_TEST(credit_to_grant(p, 0, 99, false) == 1u);   // dry link: even 1 is granted
  BOOST_TEST(credit_to_grant(p, 10, 95, false) == 0u);  // already beyond (credit granted earlier)
  BOOST_TEST(credit_to_grant(p, 0, 0, true) == 0u);     // paused (pipeline busy, stopping)
  for (std::uint32_t c = 0; c <= 100; ++c)
    for (std::size_t u = 0; u <= 120; ++u)
      BOOST_TEST_REQUIRE(c + u + credit_to_grant(p, c, u, false) <= std::max<std::size_t>(100, c + u));
}

BOOST_AUTO_TEST_CASE(credit_with_tiny_bounds) {
  BOOST_TEST(credit_to_grant(credit_policy{1}, 0, 0, false) == 1u);
  BOOST_TEST(credit_to_grant(credit_policy{1}, 0, 1, false) == 0u);
  BOOST_TEST(credit_to_grant(credit_policy{0}, 0, 0, false) == 0u);
}

BOOST_AUTO_TEST_CASE(completion_accepts_every_event_including_failed_ones) {
  // Failed events were reported (logs, metrics, dead-letter store): redelivering would fail again.
  outcome o;
  o.events = 3;
  o.failed = 2;
  std::vector<disposition> plan(3, disposition::rejected);
  plan_settlement(o, plan);
  for (auto d : plan) BOOST_TEST(d == disposition::accepted);
  BOOST_TEST(std::string(to_string(disposition::modified_failed)) == "modified");
}

BOOST_AUTO_TEST_CASE(settlement_follows_the_failure_class_not_the_type_name) {
  // Issue 12: the class travels with the error; the type is only what users read.
  outcome o;
  o.events = 4;
  auto fail = [&](std::uint32_t i, const char* type, failure_class c) {
    event_failure f;
    f.index = i;
    f.type = type;
    f.cls = c;
    o.failures.push_back(f);
  };
  fail(0, "FhirClientException", failure_class::throttled);   // 429: redelivered
  fail(1, "FhirClientException", failure_class::permanent);   // 400: accepted (dead-lettered)
  fail(2, "HttpRequestException", failure_class::permanent);  // whatever the name says
  fail(3, "AuthenticationFailedException", failure_class::blocked);
  o.failed = 4;
  std::vector<disposition> plan(4, disposition::rejected);
  plan_settlement(o, plan);
  BOOST_TEST(plan[0] == disposition::modified_failed);
  BOOST_TEST(plan[1] == disposition::accepted);
  BOOST_TEST(plan[2] == disposition::accepted);
  BOOST_TEST(plan[3] == disposition::modified_failed);
  o.refused = true;
  plan_settlement(o, plan);
  for (auto d : plan) BOOST_TEST(d == disposition::modified_failed);
}

BOOST_AUTO_TEST_CASE(broker_urls) {
  auto u = parse_broker_url("amqps://broker.example.org");
  BOOST_REQUIRE(u);
  BOOST_TEST(u->tls);
  BOOST_TEST(u->host == "broker.example.org");
  BOOST_TEST(u->port == "5671");
  auto p = parse_broker_url("amqp://iomt:p%40ss@127.0.0.1:5999/");
  BOOST_REQUIRE(p);
  BOOST_TEST(!p->tls);
  BOOST_TEST(p->port == "5999");
  BOOST_TEST(p->user == "iomt");
  BOOST_TEST(p->password == "p@ss");
  auto v6 = parse_broker_url("amqps://[::1]:5671");
  BOOST_REQUIRE(v6);
  BOOST_TEST(v6->host == "::1");
  BOOST_TEST(!parse_broker_url("http://broker:5671"));
  BOOST_TEST(!parse_broker_url("amqps://"));
  BOOST_TEST(!parse_broker_url("not a url"));
}

BOOST_AUTO_TEST_CASE(metrics_text_is_prometheus_exposition) {
  source_stats a;
  a.received = 10;
  a.accepted = 7;
  a.released = 1;
  a.unsettled = 2;
  a.connected = 1;
  a.failures_by_kind[static_cast<int>(errc::authentication_failed)] = 3;
  source_stats b;
  const std::string t = metrics_text({{"amqp", a}, {"eventhubs", b}});
  BOOST_TEST(t.find("# TYPE iomtflow_amqp_received_total counter\n") != std::string::npos);
  BOOST_TEST(t.find("iomtflow_amqp_received_total{source=\"amqp\"} 10\n") != std::string::npos);
  BOOST_TEST(t.find("iomtflow_amqp_received_total{source=\"eventhubs\"} 0\n") != std::string::npos);
  BOOST_TEST(t.find("iomtflow_amqp_settled_total{source=\"amqp\",outcome=\"accepted\"} 7\n") != std::string::npos);
  BOOST_TEST(t.find("iomtflow_amqp_unsettled{source=\"amqp\"} 2\n") != std::string::npos);
  BOOST_TEST(t.find("iomtflow_amqp_connection_failures_total{source=\"amqp\",kind=\"authentication_failed\"} 3\n") !=
             std::string::npos);
  // One HELP/TYPE per family, whatever the number of sources.
  std::size_t n = 0;
  for (auto pos = t.find("# TYPE iomtflow_amqp_settled_total"); pos != std::string::npos;
       pos = t.find("# TYPE iomtflow_amqp_settled_total", pos + 1))
    ++n;
  BOOST_TEST(n == 1u);
  BOOST_TEST(metrics_text({}).empty());
}
