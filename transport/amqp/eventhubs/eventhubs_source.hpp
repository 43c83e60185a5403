// The Event Hubs source of `iomtflow run` (source.eventhubs): an Event Hubs namespace (or any
// endpoint speaking its AMQP dialect) read through a connection string, with CBS authorization,
// partition discovery, per-partition receivers resuming from checkpoints (a local file, or Azure
// Blob Storage in the Azure SDKs' layout), and partition ownership (docs/scaling.md):
//
//   static   an explicit list, or partition i % replica_count == replica_index (a StatefulSet
//            ordinal); `connections` AMQP connections share the owned partitions, fixed at start;
//   dynamic  ownership records in the blob checkpoint store, balanced with every other processor
//            of the consumer group (iomtflow replicas and Azure SDK processors alike) by the SDKs'
//            rule (partition_balancer.hpp, blob_ownership_store.hpp). A balancing thread lists the
//            records every balance_interval, renews this replica's, claims free or expired
//            partitions and steals from the most loaded; one AMQP connection per owned partition
//            (plus one for discovery), so a partition is taken up or given back without
//            disturbing the others. A partition another processor took is stopped: its receiver
//            drains (completions settle, the completed prefix is checkpointed), then it is let go.
//            stop() drains every partition, writes the final checkpoints and releases the records
//            (owner "") so the others claim them at their next round.
//
// Same delivery semantics as the queue source (consumer.hpp).
// Thread-safety: start()/stop() from one controlling thread; stats() from any thread.
#pragma once

#include "transport/amqp/eventhubs/blob_ownership_store.hpp"
#include "transport/amqp/eventhubs/eventhubs_handler.hpp"
#include "transport/amqp/eventhubs/open_checkpoint_store.hpp"
#include "transport/amqp/source.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace iomt::transport::amqp::eventhubs {

enum class ownership_mode { fixed, dynamic };  // `ownership: static | dynamic`
// "static" | "dynamic" (nullopt otherwise), for configuration.
std::optional<ownership_mode> parse_ownership_mode(std::string_view text);

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
  tls_options tls;                                // CA file for private endpoints; `enabled` from the string
  std::string sasl_mechanisms = "ANONYMOUS";      // CBS carries the authorization
  std::uint32_t connections = 1;                  // owned partitions are spread over these
  std::uint32_t threads = 1;
  consumer_options consumer;
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds reconnect_initial{200};
  std::chrono::milliseconds reconnect_max{30000};
  std::chrono::milliseconds drain_timeout{30000};
  std::string container_id = "iomtflow";
  // Ownership (docs/scaling.md). dynamic needs the blob checkpoint store; partitions /
  // replica_index / replica_count / connections are static-only.
  ownership_mode ownership = ownership_mode::fixed;
  std::string owner_id;  // dynamic: this processor's id in the records; "" = HOSTNAME-<random>
  std::chrono::milliseconds balance_interval{10000};  // the SDKs' load-balancing update interval
  std::chrono::milliseconds ownership_expiry{60000};  // the SDKs' partition ownership expiration
  std::size_t max_steals = 1;                         // steals per balancing round
};

// What dynamic ownership did, for metrics (relaxed atomics).
struct ownership_counters {
  std::atomic<std::uint64_t> claims{0};      // free or expired partitions claimed
  std::atomic<std::uint64_t> renewals{0};    // own records rewritten
  std::atomic<std::uint64_t> steals{0};      // taken from a more loaded processor
  std::atomic<std::uint64_t> releases{0};    // given back at shutdown (owner "")
  std::atomic<std::uint64_t> lost{0};        // taken by another processor, or not renewed in time
  std::atomic<std::uint64_t> conflicts{0};   // a conditional write lost the race (412/409)
  std::atomic<std::uint64_t> failures{0};    // storage errors (list or write)
  std::atomic<std::uint64_t> rounds{0};      // balancing rounds completed
  std::atomic<std::uint64_t> processors{0};  // gauge: active processors in the last round
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
  void stop();                 // drains, settles, writes the final checkpoints
  source_stats stats() const;  // with the owned partitions and their lag (sorted by id)
  bool ready() const;
  std::vector<std::string> owned_partitions() const;         // after discovery (all connections)
  const std::string& owner_id() const { return owner_id_; }  // dynamic ownership
  const ownership_counters& ownership_stats() const { return counters_; }

private:
  struct worker;
  struct owned_partition;
  std::unique_ptr<worker> make_worker(std::vector<std::string> partitions, bool discover_only, std::string name);
  // Dynamic ownership (eventhubs_source_dynamic.cpp).
  void open_dynamic();
  void balance_loop();
  void balance_round();
  void stop_partition(const std::string& id, owned_partition& p, const std::string& why);
  void reap_stopped();
  void stop_unrenewed(std::chrono::steady_clock::time_point now);
  void retire(std::unique_ptr<worker> w);
  void stop_dynamic();
  eventhubs_source_options options_;
  event_sink& sink_;
  log_hook log_;
  std::unique_ptr<checkpoint_store> store_;
  std::unique_ptr<background_flush_store> async_store_;  // blob: flushes off the AMQP threads
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::io_context> io_;
  bool started_ = false, stopped_ = false;
  // The parts each connection is made of.
  connection_string account_;
  std::string hub_;
  tls_options tls_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  checkpoint_store* handler_store_ = nullptr;
  std::uint32_t next_worker_ = 0;
  // Dynamic ownership: the discovery connection, the owned partitions (their connections), the
  // records, the balancing thread. dyn_mu_ guards partitions_, owned_, retired_, retired_stats_.
  std::string owner_id_;
  blob_checkpoint_store* blob_store_ = nullptr;
  std::unique_ptr<blob_ownership_store> records_;
  std::unique_ptr<worker> discovery_;
  mutable std::mutex dyn_mu_;
  std::vector<std::string> partitions_;
  std::map<std::string, std::unique_ptr<owned_partition>> owned_;
  std::vector<std::unique_ptr<worker>> retired_;
  source_stats retired_stats_;  // counters of connections let go (counters never go back)
  std::thread balancer_;
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::atomic<bool> balancer_stop_{false};
  std::atomic<bool> reap_due_{false};
  std::atomic<bool> round_ok_{false};
  bool list_failing_ = false;
  ownership_counters counters_;
};

}  // namespace iomt::transport::amqp::eventhubs
