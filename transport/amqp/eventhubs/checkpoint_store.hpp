// Where an Event Hubs consumer records how far each partition has been processed (iomt-spec §15:
// at-least-once; a restart resumes after the checkpoint and replays what came later). The default
// store is one local JSON file per (namespace, hub, consumer group), written atomically:
//
//   {"namespace":"ns.servicebus.windows.net","eventhub":"devicedata","consumer_group":"$Default",
//    "partitions":{"0":{"offset":"8192","sequence_number":42},"1":{...}}}
//
// Azure Blob Storage (shared by several replicas) implements the same interface: blob_checkpoint_store.hpp.
// Thread-safety: all members may be called from any thread.
#pragma once

#include "transport/amqp/error.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace iomt::transport::amqp::eventhubs {

struct checkpoint {
  std::int64_t offset = -1;           // x-opt-offset of the last completed event
  std::int64_t sequence_number = -1;  // x-opt-sequence-number of the last completed event
};

class checkpoint_store {
public:
  virtual ~checkpoint_store() = default;
  virtual std::optional<checkpoint> get(const std::string& partition) = 0;
  // Records progress in memory; flush() persists it.
  virtual void update(const std::string& partition, const checkpoint& c) = 0;
  virtual error flush() = 0;
};

class file_checkpoint_store final : public checkpoint_store {
public:
  // Loads `path` if it exists (a file for another hub/group is an error). Never throws.
  static std::pair<std::unique_ptr<file_checkpoint_store>, error> open(std::string path, std::string ns,
                                                                       std::string hub, std::string group);
  std::optional<checkpoint> get(const std::string& partition) override;
  void update(const std::string& partition, const checkpoint& c) override;
  error flush() override;
  const std::string& path() const { return path_; }

private:
  file_checkpoint_store(std::string path, std::string ns, std::string hub, std::string group);
  std::string path_, ns_, hub_, group_;
  std::mutex mu_;
  std::map<std::string, checkpoint> partitions_;
  bool dirty_ = false;
};

// The default file name: DIR/<namespace>_<hub>_<group>.json (characters other than
// A-Z a-z 0-9 . - _ $ become '_').
std::string checkpoint_file(const std::string& dir, const std::string& ns, const std::string& hub,
                            const std::string& group);

}  // namespace iomt::transport::amqp::eventhubs
