// What the queue source (source.hpp) and the Event Hubs source (eventhubs/eventhubs_source.hpp)
// share: one io_context run by N threads, a set of workers (each a connection + its consumer),
// the same start/stop sequence and the same statistics. Workers are any type with `conn`
// (std::unique_ptr<connection>) and `receiver` (consumer).
#pragma once

#include "transport/amqp/connection.hpp"
#include "transport/amqp/consumer.hpp"
#include "transport/amqp/source.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace iomt::transport::amqp::runtime {

template <class Workers>
void start(Workers& workers, boost::asio::io_context& io, std::uint32_t threads, std::vector<std::thread>& out) {
  for (auto& w : workers) w->conn->start();
  for (std::uint32_t i = 0; i < threads; ++i)
    out.emplace_back([&io] {
      auto guard = boost::asio::make_work_guard(io);
      io.run();
    });
}

// Each connection drains (in-flight submissions complete and are settled, up to drain_timeout)
// and closes; then the threads end.
template <class Workers>
void stop(Workers& workers, boost::asio::io_context& io, std::vector<std::thread>& threads,
          std::chrono::milliseconds drain_timeout) {
  std::vector<std::future<void>> done;
  for (auto& w : workers) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    w->conn->stop([p] { p->set_value(); });
  }
  const auto deadline = std::chrono::steady_clock::now() + drain_timeout + std::chrono::seconds(10);
  for (auto& f : done) f.wait_until(deadline);
  io.stop();
  for (auto& t : threads) t.join();
  threads.clear();
}

inline void add(source_stats& s, const consumer_stats& c, const connection& conn) {
  constexpr auto relaxed = std::memory_order_relaxed;
  s.received += c.received.load(relaxed);
  s.submitted += c.submitted.load(relaxed);
  s.busy += c.busy.load(relaxed);
  s.accepted += c.accepted.load(relaxed);
  s.released += c.released.load(relaxed);
  s.modified += c.modified.load(relaxed);
  s.rejected += c.rejected.load(relaxed);
  s.decode_errors += c.decode_errors.load(relaxed);
  s.unsettled += c.unsettled.load(relaxed);
  const auto& k = conn.stats();
  s.attempts += k.attempts.load(relaxed);
  s.failures += k.failures.load(relaxed);
  for (int i = 0; i < 16; ++i) s.failures_by_kind[i] += k.failures_by_kind[i].load(relaxed);
  if (k.connected.load(relaxed)) ++s.connected;
  if (auto e = conn.last_error(); !e.empty()) s.last_error = e;
}

template <class Workers>
bool all_connected(const Workers& workers) {
  for (const auto& w : workers)
    if (!w->conn->stats().connected.load(std::memory_order_relaxed)) return false;
  return !workers.empty();
}

}  // namespace iomt::transport::amqp::runtime
