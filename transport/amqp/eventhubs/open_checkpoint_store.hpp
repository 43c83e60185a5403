// Choosing the Event Hubs checkpoint store (source.eventhubs.checkpoint_store): a local file (the
// default, checkpoint_store.hpp) or Azure Blob Storage (blob_checkpoint_store.hpp); and
// background_flush_store, which moves a store's blocking flush() off the AMQP threads.
#pragma once

#include "transport/amqp/eventhubs/blob_checkpoint_store.hpp"
#include "transport/amqp/eventhubs/checkpoint_store.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace iomt::transport::amqp::eventhubs {

enum class checkpoint_kind { file, blob };

struct checkpoint_options {
  checkpoint_kind kind = checkpoint_kind::file;
  std::string file_dir = ".";  // file: DIR/<namespace>_<hub>_<group>.json
  blob_store_options blob;     // blob: connection string / SAS URL, container, HTTP timeouts and TLS
};

// "file" | "blob" (nullopt otherwise), for configuration.
std::optional<checkpoint_kind> parse_checkpoint_kind(std::string_view text);

// Opens the chosen store for (namespace, hub, consumer group). Never throws.
std::pair<std::unique_ptr<checkpoint_store>, error> open_checkpoint_store(const checkpoint_options& options,
                                                                          const std::string& ns, const std::string& hub,
                                                                          const std::string& group);

// Wraps a store whose flush() blocks (network): flush() only wakes a thread of its own that
// flushes the inner store, and returns the newest error that thread saw (once). get()/update() go
// straight through. The destructor finishes a pending flush and joins the thread; call the inner
// store's flush() afterwards for a final synchronous write.
class background_flush_store final : public checkpoint_store {
public:
  explicit background_flush_store(checkpoint_store& inner);
  ~background_flush_store() override;
  background_flush_store(const background_flush_store&) = delete;
  background_flush_store& operator=(const background_flush_store&) = delete;

  std::optional<checkpoint> get(const std::string& partition) override { return inner_.get(partition); }
  void update(const std::string& partition, const checkpoint& c) override { inner_.update(partition, c); }
  error flush() override;

private:
  void run();
  checkpoint_store& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false, stopping_ = false;
  error last_;
  std::thread thread_;
};

}  // namespace iomt::transport::amqp::eventhubs
