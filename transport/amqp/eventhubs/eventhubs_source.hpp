// The Event Hubs source of `iomtflow run` (source.eventhubs): an Event Hubs namespace (or any
// endpoint speaking its AMQP dialect) read through a connection string, with CBS authorization,
// partition discovery, per-partition receivers resuming from checkpoints (a local file, or Azure
// Blob Storage in the Azure SDKs' layout), and static
// partition ownership (docs/amqp.md). Same delivery semantics as the queue source (consumer.hpp).
//
// Thread-safety: start()/stop() from one controlling thread; stats() from any thread.
#pragma once

#include "transport/amqp/eventhubs/eventhubs_handler.hpp"
#include "transport/amqp/eventhubs/open_checkpoint_store.hpp"
#include "transport/amqp/source.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace iomt::transport::amqp::eventhubs {

struct eventhubs_source_options {
  std::string connection_string;  // Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=...
  std::string eventhub;           // overrides EntityPath
  std::string consumer_group = "$Default";
  std::vector<std::string> partitions;  // explicit ownership; empty = replica_index/replica_count
  std::uint32_t replica_index = 0;
  std::uint32_t replica_count = 1;
  std::string start_position = "earliest";  // without a checkpoint: earliest | latest | time
  std::int64_t epoch = -1;
  checkpoint_kind checkpoint_store_kind = checkpoint_kind::file;  // file (default) | blob
  std::string checkpoint_dir = ".";                               // local checkpoint files
  blob_store_options checkpoint_blob;  // Azure Blob Storage: connection string or SAS URL, container
  std::chrono::milliseconds checkpoint_interval{1000};
  std::chrono::seconds token_lifetime{3600};
  std::chrono::milliseconds lag_interval{30000};  // partition READs for the lag metric; 0 = off
  tls_options tls;                            // CA file for private endpoints; `enabled` from the string
  std::string sasl_mechanisms = "ANONYMOUS";  // CBS carries the authorization
  std::uint32_t connections = 1;              // owned partitions are spread over these
  std::uint32_t threads = 1;
  consumer_options consumer;
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds reconnect_initial{200};
  std::chrono::milliseconds reconnect_max{30000};
  std::chrono::milliseconds drain_timeout{30000};
  std::string container_id = "iomtflow";
};

class eventhubs_source {
public:
  // Throws std::runtime_error for a bad connection string, CA file or checkpoint file, or when the
  // checkpoint blob container cannot be read (wrong key, unreachable storage).
  eventhubs_source(eventhubs_source_options options, event_sink& sink, log_hook log = {});
  ~eventhubs_source();
  eventhubs_source(const eventhubs_source&) = delete;
  eventhubs_source& operator=(const eventhubs_source&) = delete;

  void start();
  void stop();  // drains, settles, writes the final checkpoints
  source_stats stats() const;  // with the owned partitions and their lag (sorted by id)
  bool ready() const;
  std::vector<std::string> owned_partitions() const;  // after discovery (all connections)

private:
  struct worker;
  eventhubs_source_options options_;
  event_sink& sink_;
  log_hook log_;
  std::unique_ptr<checkpoint_store> store_;
  std::unique_ptr<background_flush_store> async_store_;  // blob: flushes off the AMQP threads
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::io_context> io_;
  bool started_ = false, stopped_ = false;
};

}  // namespace iomt::transport::amqp::eventhubs
