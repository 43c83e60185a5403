#include <boost/test/unit_test.hpp>

#include "pipeline/bounded_queue.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using iomt::pipeline::bounded_queue;

BOOST_AUTO_TEST_CASE(fifo_and_full) {
  bounded_queue<std::string> q(4);
  BOOST_TEST(q.capacity() == 4u);
  for (int i = 0; i < 4; ++i) {
    std::string s = std::to_string(i);
    BOOST_TEST(q.try_push(s));
  }
  std::string extra = "x";
  BOOST_TEST(!q.try_push(extra));
  BOOST_TEST(extra == "x");  // untouched when refused
  for (int i = 0; i < 4; ++i) BOOST_TEST(*q.try_pop() == std::to_string(i));
  BOOST_TEST(!q.try_pop());
}

BOOST_AUTO_TEST_CASE(many_producers_one_consumer_lose_nothing) {
  bounded_queue<int> q(64);
  constexpr int producers = 4, per = 20000;
  std::atomic<long long> sum{0};
  std::atomic<int> received{0};
  std::thread consumer([&] {
    while (received < producers * per) {
      if (auto v = q.try_pop()) {
        sum += *v;
        ++received;
      }
    }
  });
  std::vector<std::thread> ps;
  for (int p = 0; p < producers; ++p)
    ps.emplace_back([&] {
      for (int i = 1; i <= per; ++i) {
        int v = i;
        while (!q.try_push(v)) std::this_thread::yield();
      }
    });
  for (auto& t : ps) t.join();
  consumer.join();
  BOOST_TEST(sum.load() == static_cast<long long>(producers) * per * (per + 1) / 2);
}
