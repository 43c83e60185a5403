// The Event Hubs source's inner parts, shared by eventhubs_source.cpp (static ownership) and
// eventhubs_source_dynamic.cpp (dynamic ownership). Not a public header.
#pragma once

#include "transport/amqp/eventhubs/eventhubs_source.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace iomt::transport::amqp::eventhubs {

// One AMQP connection: its receiver, its Event Hubs handler and the connection driving them.
struct eventhubs_source::worker {
  worker(const consumer_options& co, event_sink& sink, handler_options ho, checkpoint_store& store, const log_hook& log)
      : receiver(co, sink), handler(std::move(ho), receiver, store, log) {
    receiver.on_log(log);
  }
  consumer receiver;
  eventhubs_handler handler;
  std::unique_ptr<connection> conn;
};

// Dynamic ownership: a partition this replica owns (running) or is letting go (stopping: its
// connection drains; `stopped` is set on the connection's strand once it is closed).
struct eventhubs_source::owned_partition {
  enum state_t { running, stopping } state = running;
  std::unique_ptr<worker> w;
  std::string etag;                                 // of our ownership record
  std::chrono::steady_clock::time_point renewed{};  // last successful claim or renewal
  std::shared_ptr<std::atomic<bool>> stopped = std::make_shared<std::atomic<bool>>(false);
  bool reclaimed = false;  // claimed again while stopping: start a new connection once stopped
};

}  // namespace iomt::transport::amqp::eventhubs
