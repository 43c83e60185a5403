// One shard: a thread, an io_context, a bounded input queue, a time/size window and a FHIR
// group writer (shared-nothing, STYLE: Seastar). Ingest threads push routed measurements; the
// shard drains them into its window and flushes it every flush_interval (or when max_batch is
// reached): group (§5), then write each device's groups in order, devices concurrently.
#pragma once

#include "mapping/measurement.hpp"
#include "pipeline/bounded_queue.hpp"
#include "pipeline/config.hpp"
#include "pipeline/group_writer.hpp"
#include "pipeline/submission.hpp"

#include <prometheus/gauge.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

namespace iomt::pipeline {

class metrics;

// Measurements of one submission for one shard.
struct work_item {
  std::vector<mapping::measurement> measurements;
  std::vector<ack_ref> acks;                          // parallel to measurements
  std::chrono::steady_clock::time_point queued_at{};  // set by shard::push
};

// The window rule, without a clock (STYLE habit 1; tests pass `now`): how many of the `windowed`
// measurements that began arriving at `window_start` to flush at `now` (0: none yet, wait until
// window_start + interval). A window is due when it is as old as the interval, holds max_batch
// measurements or the shard is stopping; a flush takes at most max_batch (issue 11), and what is
// left is due at once after it.
struct window_rule {
  std::chrono::steady_clock::duration interval{};
  std::size_t max_batch = 1;
};
std::size_t flush_now(const window_rule& rule, std::size_t windowed, std::chrono::steady_clock::time_point window_start,
                      std::chrono::steady_clock::time_point now, bool stopping);

class shard {
public:
  using writer_factory = std::function<std::unique_ptr<group_writer>(boost::asio::io_context&)>;

  // `written_total`: the pipeline's count of measurements written (poison.hpp), bumped here.
  shard(std::size_t index, const pipeline_config& cfg, metrics& m, writer_factory make_writer,
        std::atomic<std::uint64_t>& written_total);
  ~shard();

  // Producer side (any thread). Reserve first; a reservation guarantees the push succeeds. The
  // shard holds at most queue_capacity work items and queue_measurements measurements (queued,
  // windowed or being written); an item alone may exceed the latter when the shard is empty.
  bool try_reserve(std::size_t measurements);
  void cancel_reservation(std::size_t measurements);
  bool saturated() const {
    return reserved_.load(std::memory_order_relaxed) >= queue_.capacity() ||
           held_.load(std::memory_order_relaxed) >= cfg_.queue_measurements;
  }
  void push(work_item&& item);  // requires a reservation

  // The event trace is on: the writer reports resource ids and Observations, flushes attach them
  // to the traced events. Call before start().
  void set_trace(trace::event_trace* t) noexcept { trace_ = t; }

  void start();
  // Refuses new work and flushes the window now instead of at the end of the flush interval.
  // Non-blocking; any thread.
  void begin_drain();
  // Flushes what is left, waits for in-flight writes, stops the thread. Call once.
  void stop();
  boost::asio::io_context& context() { return ioc_; }

private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> flush(std::vector<mapping::measurement> ms, std::vector<ack_ref> acks);
  void trace_groups(std::span<const mapping::fhir::measurement_group* const> groups,
                    std::span<const group_result> results, const std::vector<mapping::measurement>& ms,
                    const std::vector<ack_ref>& acks);
  void drain();
  void wake();

  std::size_t index_;
  pipeline_config cfg_;
  metrics& metrics_;
  writer_factory make_writer_;
  std::atomic<std::uint64_t>& written_total_;
  prometheus::Gauge* queue_depth_gauge_;  // this shard's children, resolved once
  prometheus::Gauge* pending_gauge_;
  boost::asio::io_context ioc_{1};
  std::unique_ptr<group_writer> writer_;
  trace::event_trace* trace_ = nullptr;
  bounded_queue<work_item> queue_;
  std::atomic<std::size_t> reserved_{0};  // work items reserved or queued
  std::atomic<std::size_t> held_{0};      // measurements reserved, queued, windowed or being written
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> stopping_{false};
  // Shard-local state (only touched on the shard thread).
  std::vector<mapping::measurement> window_;
  std::vector<ack_ref> window_acks_;
  std::chrono::steady_clock::time_point window_start_;
  std::size_t in_flight_ = 0;  // measurements being written
  boost::asio::steady_timer timer_{ioc_};
  bool done_ = false;
  std::thread thread_;
};

}  // namespace iomt::pipeline
