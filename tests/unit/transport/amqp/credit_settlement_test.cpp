// Link credit policy (credit.hpp) and settlement decisions (settlement.hpp): pure functions.
#define BOOST_TEST_MODULE transport_amqp_credit
#include <boost/test/unit_test.hpp>

#include "transport/amqp/credit.hpp"
#include "transport/amqp/settlement.hpp"

#include <ostream>
#include <vector>

namespace iomt::transport::amqp {
std::ostream& operator<<(std::ostream& os, disposition d) { return os << to_string(d); }
}  // namespace iomt::transport::amqp

using namespace iomt::transport;
using namespace iomt::transport::amqp;

BOOST_AUTO_TEST_CASE(credit_keeps_unsettled_plus_credit_within_the_bound) {
  const credit_policy p{100};
  BOOST_TEST(credit_to_grant(p, 0, 0, false) == 100u);     // fresh link: the whole window
  BOOST_TEST(credit_to_grant(p, 90, 0, false) == 0u);      // 10 missing: not worth a frame yet
  BOOST_TEST(credit_to_grant(p, 70, 0, false) == 30u);     // a quarter missing: top up
  BOOST_TEST(credit_to_grant(p, 0, 100, false) == 0u);     // bound reached: nothing
  BOOST_TEST(credit_to_grant(p, 0, 99, false) == 1u);      // dry link: even 1 is granted
  BOOST_TEST(credit_to_grant(p, 10, 95, false) == 0u);     // already beyond (credit granted earlier)
  BOOST_TEST(credit_to_grant(p, 0, 0, true) == 0u);        // paused (pipeline busy, stopping)
  for (std::uint32_t c = 0; c <= 100; ++c)
    for (std::size_t u = 0; u <= 120; ++u) BOOST_TEST_REQUIRE(c + u + credit_to_grant(p, c, u, false) <= std::max<std::size_t>(100, c + u));
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
  plan_settlement(o, plan, default_redeliver_types());
  for (auto d : plan) BOOST_TEST(d == disposition::accepted);
  BOOST_TEST(std::string(to_string(disposition::modified_failed)) == "modified");
}
