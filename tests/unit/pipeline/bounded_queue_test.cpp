#include <boost/test/unit_test.hpp>

#include "pipeline/bounded_queue.hpp"

#include <atomic>
#include <cstdio>
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

// Many producers and many consumers racing on a small ring (full and empty all the time): every
// item comes out exactly once - none lost, none duplicated, none corrupted - and each consumer
// sees each producer's items in the order they were pushed (the ring is linearizable FIFO).
BOOST_AUTO_TEST_CASE(many_producers_many_consumers_every_item_exactly_once) {
  constexpr int producers = 4, consumers = 4, per = 25000;
  bounded_queue<std::string> q(8);
  // Long enough to live on the heap: a double move or a lost destructor shows up in sanitizers.
  auto item = [](int p, int i) { return "producer-" + std::to_string(p) + "-item-" + std::to_string(i) + "-padding"; };
  std::atomic<int> taken{0};
  std::atomic<bool> go{false};
  std::atomic<int> bad_pushes{0};
  std::vector<std::vector<std::pair<int, int>>> seen(consumers);  // per consumer: (producer, index)
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&, c] {
      while (!go) std::this_thread::yield();
      while (taken.load() < producers * per) {
        auto v = q.try_pop();
        if (!v) {
          std::this_thread::yield();
          continue;
        }
        taken.fetch_add(1);
        int p = -1, i = -1;
        if (std::sscanf(v->c_str(), "producer-%d-item-%d-padding", &p, &i) != 2 || *v != item(p, i)) p = i = -1;
        seen[c].emplace_back(p, i);
        std::this_thread::yield();  // let the other consumers in: they must all take part
      }
    });
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < per; ++i) {
        std::string v = item(p, i);
        while (!q.try_push(v)) std::this_thread::yield();
        if (!v.empty() && v != item(p, i)) ++bad_pushes;  // moved from when pushed (Boost.Test is not thread-safe)
      }
    });
  go = true;
  for (auto& t : threads) t.join();

  std::vector<std::vector<int>> count(producers, std::vector<int>(per, 0));
  int corrupt = 0, out_of_order = 0, consumers_with_items = 0;
  for (const auto& s : seen) {
    std::vector<int> last(producers, -1);
    for (auto [p, i] : s) {
      if (p < 0 || p >= producers || i < 0 || i >= per) {
        ++corrupt;
        continue;
      }
      ++count[p][i];
      if (i <= last[p]) ++out_of_order;
      last[p] = i;
    }
    if (!s.empty()) ++consumers_with_items;
  }
  int lost = 0, duplicated = 0;
  for (const auto& per_producer : count)
    for (int n : per_producer) {
      if (n == 0) ++lost;
      if (n > 1) ++duplicated;
    }
  BOOST_TEST(corrupt == 0);
  BOOST_TEST(lost == 0);
  BOOST_TEST(duplicated == 0);
  BOOST_TEST(out_of_order == 0);
  BOOST_TEST(taken.load() == producers * per);
  BOOST_TEST(!q.try_pop());
  BOOST_TEST(bad_pushes.load() == 0);
  BOOST_TEST(consumers_with_items == consumers);  // it really was many consumers
}
