// What one Event Hubs connection does after the AMQP open (sans-io, a connection_handler):
//
//   1. authorize: CBS put-token on "$cbs" with a SAS token for sb://NAMESPACE/HUB (signed with the
//      connection string's key; a ready-made SharedAccessSignature is used as is);
//   2. discover: "$management" READ com.microsoft:eventhub -> partition_ids;
//   3. receive: one receiver per owned partition on HUB/ConsumerGroups/GROUP/Partitions/ID with the
//      apache.org:selector-filter:string offset filter resuming after the checkpoint
//      ("amqp.annotation.x-opt-offset > 'N'"), or the configured start position;
//   4. refresh the token at 80% of its lifetime (put-token again on the same link);
//   5. record progress (consumer.hpp progress hook) in the checkpoint store, flushed every
//      checkpoint_interval and when the connection ends;
//   6. consumer lag: every lag_interval (the first round once the receivers are attached), a
//      "$management" READ com.microsoft:partition per owned partition for its
//      last_enqueued_sequence_number; lag = that - the last completed sequence number (see
//      lag_base). A failed or unanswered READ is a value: counted, logged at most once per round,
//      the previous figure kept; it never fails the connection.
//
// Which partitions a connection reads comes from `ownership`: static (docs/amqp.md) is an explicit
// list, or partition i belongs to replica i % replica_count == replica_index (a StatefulSet
// ordinal); with dynamic ownership (eventhubs_source.hpp) each owned partition has a connection of
// its own (an explicit one-partition list) plus one discovery-only connection. Optional epoch
// receivers (always, at 0, with dynamic ownership) make the service detach a second reader.
#pragma once

#include "transport/amqp/connection.hpp"
#include "transport/amqp/consumer.hpp"
#include "transport/amqp/eventhubs/checkpoint_store.hpp"
#include "transport/amqp/eventhubs/connection_string.hpp"
#include "transport/amqp/eventhubs/request_link.hpp"

#include "transport/amqp/source.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace iomt::transport::amqp::eventhubs {

struct ownership {
  std::vector<std::string> partitions;  // explicit; empty = by replica
  std::uint32_t replica_index = 0;
  std::uint32_t replica_count = 1;
  std::uint32_t connection_index = 0;  // partitions owned by this replica are spread over connections
  std::uint32_t connection_count = 1;
  bool discover_only = false;  // dynamic ownership's control connection: partition ids, no receivers
};

// The partitions of `all` (in the service's order) this connection owns.
std::vector<std::string> owned_partitions(const std::vector<std::string>& all, const ownership& o);

// Selector for a partition: after the checkpoint, else from the start position
// ("earliest", "latest", or an enqueued time as Unix milliseconds / ISO-8601 UTC).
std::string start_selector(const std::optional<checkpoint>& c, const std::string& start_position);

// The answer to READ com.microsoft:partition (the fields the lag needs).
struct partition_info {
  std::int64_t begin_sequence_number = -1;
  std::int64_t last_enqueued_sequence_number = -1;  // -1: the partition is empty
  std::int64_t last_enqueued_time_ms = -1;          // Unix ms; -1 unknown
  bool empty = false;                               // is_partition_empty
};

// Parses the response body (a map; numbers of any integer type, the time a timestamp). Missing
// last_enqueued_sequence_number is an error (false).
bool parse_partition_info(pn_data_t* body, partition_info& out);

// The sequence number the lag counts from (docs/amqp.md "Consumer lag"): the last completed event's,
// else the checkpoint's (both in `completed`); with neither, `begin - 1` when reading from the
// earliest event, otherwise `baseline` (the last enqueued sequence number at the first answer:
// starting at "latest" or a time, what came before the start is not owed). Never below begin - 1:
// events the service already dropped (retention) cannot be read any more.
std::int64_t lag_base(std::int64_t completed, bool from_earliest, std::int64_t begin, std::int64_t baseline);
// last_enqueued - base, never negative.
std::uint64_t lag_events(std::int64_t last_enqueued, std::int64_t base);

struct handler_options {
  connection_string account;
  std::string eventhub;  // EntityPath unless set
  std::string consumer_group = "$Default";
  ownership owner;
  std::string start_position = "earliest";
  std::int64_t epoch = -1;  // com.microsoft:epoch; -1 = none
  std::chrono::seconds token_lifetime{3600};
  std::chrono::milliseconds checkpoint_interval{1000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds lag_interval{30000};  // partition READs for the lag metric; 0 = off
  // Called on the connection's strand with the partition ids of each successful discovery.
  std::function<void(const std::vector<std::string>&)> on_discovered;
  // Called on the strand when a connection ends because the service detached a receiver for a
  // reader with a higher or equal owner level (amqp:link:stolen): another processor took it.
  std::function<void()> on_link_stolen;
};

class eventhubs_handler final : public connection_handler {
public:
  using unix_clock = std::function<std::int64_t()>;  // seconds since the epoch (SAS expiry)

  eventhubs_handler(handler_options options, consumer& c, checkpoint_store& store, log_hook log,
                    unix_clock now_unix = {});

  consumer& receiver() override { return consumer_; }
  void on_open(engine& e) override;
  void on_event(pn_event_t* e) override;
  void on_timer(std::chrono::steady_clock::time_point now) override;
  void on_closed() override;
  error failure() const override { return failure_; }
  bool ready() const override;

  const std::vector<std::string>& partitions() const { return partitions_; }  // last discovery
  const std::vector<std::string>& owned() const { return owned_; }
  std::uint64_t tokens_issued() const { return tokens_; }
  const std::string& audience() const { return audience_; }
  void flush_checkpoints();

  // The owned partitions with their lag (any thread): appended to `out`.
  void partition_snapshot(std::vector<partition_stats>& out) const;
  std::uint64_t lag_query_failures() const { return lag_failures_.load(std::memory_order_relaxed); }

private:
  enum class state { idle, authorizing, discovering, receiving };
  std::string make_token();
  void put_token(std::chrono::steady_clock::time_point now);
  void discover(std::chrono::steady_clock::time_point now);
  void open_receivers(const std::vector<std::string>& ids);
  void fail(errc code, std::string detail);
  void query_lag(std::chrono::steady_clock::time_point now);
  void on_partition_answer(const std::string& id, const response& res);
  void on_completed(const std::string& id, std::int64_t sequence_number);

  struct partition_lag {  // one owned partition (guarded by lag_mu_)
    partition_stats stats;
    bool from_earliest = false;  // no checkpoint and start_position earliest
    std::int64_t begin = -1;     // begin_sequence_number at the last answer
    std::int64_t baseline = -1;  // see lag_base
    bool querying = false;       // a READ is on its way
  };
  static void update_lag(partition_lag& p);

  handler_options options_;
  consumer& consumer_;
  checkpoint_store& store_;
  log_hook log_;
  unix_clock now_unix_;
  engine* engine_ = nullptr;
  request_link cbs_{"$cbs", "iomtflow-cbs-reply"};
  request_link management_{"$management", "iomtflow-management-reply"};
  state state_ = state::idle;
  std::string audience_;
  std::string token_;
  std::chrono::steady_clock::time_point refresh_at_{};
  std::chrono::steady_clock::time_point last_flush_{};
  std::vector<std::string> partitions_, owned_;
  std::uint64_t tokens_ = 0;
  error failure_;
  mutable std::mutex lag_mu_;
  std::vector<partition_lag> lag_;  // owned_'s order; kept across connections (completed positions)
  std::chrono::steady_clock::time_point lag_due_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point receivers_opened_{};
  bool lag_first_round_ = true;  // the first round waits for the receivers to attach
  bool lag_logged_ = false;      // a failure was logged in this round
  std::atomic<std::uint64_t> lag_failures_{0};
};

}  // namespace iomt::transport::amqp::eventhubs
