// The shard's flush window (pipeline/shard.hpp flush_now), with the clock passed in: due by age,
// by size or when stopping; never more than max_batch per flush (issue 11, issue 16 item 5).
#include <boost/test/unit_test.hpp>

#include "pipeline/shard.hpp"

#include <chrono>

using namespace std::chrono_literals;
using iomt::pipeline::flush_now;
using iomt::pipeline::window_rule;
using tp = std::chrono::steady_clock::time_point;

BOOST_AUTO_TEST_SUITE(window_rule_suite)

BOOST_AUTO_TEST_CASE(an_empty_window_is_never_due) {
  const window_rule rule{1s, 10};
  BOOST_TEST(flush_now(rule, 0, tp{}, tp{} + 1h, false) == 0u);
  BOOST_TEST(flush_now(rule, 0, tp{}, tp{}, true) == 0u);
}

BOOST_AUTO_TEST_CASE(due_when_as_old_as_the_interval) {
  const window_rule rule{1s, 10};
  const tp start = tp{} + 5s;
  BOOST_TEST(flush_now(rule, 3, start, start, false) == 0u);
  BOOST_TEST(flush_now(rule, 3, start, start + 999ms, false) == 0u);
  BOOST_TEST(flush_now(rule, 3, start, start + 1s, false) == 3u);
  BOOST_TEST(flush_now(rule, 3, start, start + 1h, false) == 3u);
}

BOOST_AUTO_TEST_CASE(due_at_once_when_full_and_capped_at_max_batch) {
  const window_rule rule{1s, 10};
  const tp start = tp{} + 5s;
  BOOST_TEST(flush_now(rule, 9, start, start, false) == 0u);
  BOOST_TEST(flush_now(rule, 10, start, start, false) == 10u);
  BOOST_TEST(flush_now(rule, 25, start, start, false) == 10u);  // the rest is due after it
  BOOST_TEST(flush_now(rule, 25, start, start + 2s, false) == 10u);
}

BOOST_AUTO_TEST_CASE(stopping_flushes_now_still_capped) {
  const window_rule rule{1s, 10};
  BOOST_TEST(flush_now(rule, 4, tp{}, tp{}, true) == 4u);
  BOOST_TEST(flush_now(rule, 40, tp{}, tp{}, true) == 10u);
}

BOOST_AUTO_TEST_CASE(a_zero_max_batch_still_flushes_one_at_a_time) {
  const window_rule rule{1s, 0};
  BOOST_TEST(flush_now(rule, 5, tp{}, tp{}, false) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
