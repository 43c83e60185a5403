// The fork-join pool behind parallel normalization (issue 11): every index runs exactly once,
// several callers at a time, and run() returns only when all of its calls have.
#include <boost/test/unit_test.hpp>

#include "pipeline/fork_join.hpp"

#include <atomic>
#include <thread>
#include <vector>

using iomt::pipeline::fork_join_pool;

BOOST_AUTO_TEST_SUITE(fork_join)

BOOST_AUTO_TEST_CASE(every_index_runs_exactly_once) {
  for (std::size_t workers : {0u, 1u, 3u}) {
    fork_join_pool pool(workers);
    for (std::size_t n : {0u, 1u, 2u, 17u, 1000u}) {
      std::vector<std::atomic<int>> hits(n);
      pool.run(n, [&](std::size_t i) { hits[i].fetch_add(1); });
      for (std::size_t i = 0; i < n; ++i) BOOST_TEST_REQUIRE(hits[i].load() == 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(concurrent_callers_each_get_all_their_work_done) {
  fork_join_pool pool(2);
  constexpr std::size_t callers = 4, n = 500, rounds = 50;
  std::vector<std::thread> ts;
  std::atomic<std::size_t> wrong{0};
  for (std::size_t c = 0; c < callers; ++c)
    ts.emplace_back([&] {
      for (std::size_t r = 0; r < rounds; ++r) {
        std::vector<std::atomic<int>> hits(n);
        pool.run(n, [&](std::size_t i) { hits[i].fetch_add(1); });
        for (std::size_t i = 0; i < n; ++i)
          if (hits[i].load() != 1) wrong.fetch_add(1);
      }
    });
  for (auto& t : ts) t.join();
  BOOST_TEST(wrong.load() == 0u);
}

BOOST_AUTO_TEST_CASE(work_is_shared_with_the_workers) {
  fork_join_pool pool(1);
  std::atomic<bool> other_thread{false};
  const auto me = std::this_thread::get_id();
  std::atomic<int> started{0};
  // Two long items: while the caller does one, the worker must take the other.
  pool.run(2, [&](std::size_t) {
    if (std::this_thread::get_id() != me) other_thread = true;
    started.fetch_add(1);
    while (started.load() < 2) std::this_thread::yield();
  });
  BOOST_TEST(other_thread.load());
}

BOOST_AUTO_TEST_SUITE_END()
