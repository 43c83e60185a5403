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
//      checkpoint_interval and when the connection ends.
//
// Partition ownership is static (docs/amqp.md): an explicit list, or partition i belongs to replica
// i % replica_count == replica_index (a StatefulSet ordinal); optional epoch receivers make the
// service detach a second reader of the same partition.
#pragma once

#include "transport/amqp/connection.hpp"
#include "transport/amqp/consumer.hpp"
#include "transport/amqp/eventhubs/checkpoint_store.hpp"
#include "transport/amqp/eventhubs/connection_string.hpp"
#include "transport/amqp/eventhubs/request_link.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace iomt::transport::amqp::eventhubs {

struct ownership {
  std::vector<std::string> partitions;  // explicit; empty = by replica
  std::uint32_t replica_index = 0;
  std::uint32_t replica_count = 1;
  std::uint32_t connection_index = 0;  // partitions owned by this replica are spread over connections
  std::uint32_t connection_count = 1;
};

// The partitions of `all` (in the service's order) this connection owns.
std::vector<std::string> owned_partitions(const std::vector<std::string>& all, const ownership& o);

// Selector for a partition: after the checkpoint, else from the start position
// ("earliest", "latest", or an enqueued time as Unix milliseconds / ISO-8601 UTC).
std::string start_selector(const std::optional<checkpoint>& c, const std::string& start_position);

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

private:
  enum class state { idle, authorizing, discovering, receiving };
  std::string make_token();
  void put_token(std::chrono::steady_clock::time_point now);
  void discover(std::chrono::steady_clock::time_point now);
  void open_receivers(const std::vector<std::string>& ids);
  void fail(errc code, std::string detail);

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
};

}  // namespace iomt::transport::amqp::eventhubs
