// A steady clock the test moves by hand. Components that wait take their clock as
// std::function<std::chrono::steady_clock::time_point()> (segment_log, durable_source,
// retrying_sink, net::http_pool); fn() is that function, and advance() moves time without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

namespace iomt::test {

struct manual_clock {
  std::atomic<std::int64_t> ms{0};  // since steady_clock's epoch
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return std::chrono::steady_clock::time_point{} + std::chrono::milliseconds(ms.load()); };
  }
  void advance(std::chrono::milliseconds d) { ms += d.count(); }
};

}  // namespace iomt::test
