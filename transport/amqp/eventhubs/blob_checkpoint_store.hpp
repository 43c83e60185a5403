// Event Hubs checkpoints in Azure Blob Storage, in the layout of the Azure SDKs' BlobCheckpointStore
// so a consumer can move between them (docs/amqp.md "Checkpoints in Azure Blob Storage"):
//
//   container  CONTAINER (created when missing)
//   blob       lower-case("{namespace}/{eventhub}/{consumergroup}/checkpoint/{partition}"), empty body
//   metadata   x-ms-meta-offset: "8192", x-ms-meta-sequencenumber: "42"
//
// open() lists the prefix once (List Blobs, include=metadata) and keeps every checkpoint with its
// ETag; get() answers from memory. flush() writes each partition updated since the last flush
// with a conditional Put Blob: If-Match: <the ETag we read or wrote>, or If-None-Match: * for a
// blob we have not seen. So two replicas that fight over a partition are detected: the loser gets
// 412 (or 409 for a first write) and from then on flush() reports "ownership lost" for that
// partition and never overwrites the other replica's progress. When a write's answer was lost
// (timeout), the next 412 is checked with a HEAD: if the blob holds what we wrote, we continue.
//
// flush() does blocking HTTP (timeouts in blob::client_options); the Event Hubs source calls it
// from a background thread (background_flush_store), never from an AMQP thread.
// Thread-safety: all members may be called from any thread; flushes are serialized.
#pragma once

#include "transport/amqp/eventhubs/blob_client.hpp"
#include "transport/amqp/eventhubs/checkpoint_store.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace iomt::transport::amqp::eventhubs {

struct blob_store_options {
  // A storage connection string (AccountKey or SharedAccessSignature, or UseDevelopmentStorage=true)
  // or a SAS URL (https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=...&sig=...).
  std::string connection_string;
  std::string container;  // may come from a container SAS URL
  blob::client_options http;
};

class blob_checkpoint_store final : public checkpoint_store {
public:
  // Connects, creates the container when missing, and reads the checkpoints of (ns, hub, group).
  // Never throws; a wrong key is an `authentication_failed` error naming the container and status.
  static std::pair<std::unique_ptr<blob_checkpoint_store>, error> open(blob_store_options options, std::string ns,
                                                                       std::string hub, std::string group);
  std::optional<checkpoint> get(const std::string& partition) override;
  void update(const std::string& partition, const checkpoint& c) override;
  error flush() override;

  const std::string& container() const { return container_; }
  std::string blob_name(const std::string& partition) const;
  // Partitions whose blob another writer changed (412/409): not written any more.
  std::vector<std::string> lost_partitions() const;

  // Dynamic ownership (docs/scaling.md): partitions change hands, and the ownership records, not
  // the checkpoint ETags, say who reads what. Then a conflicting write is not "ownership lost":
  // the blob is read again and our position is written over it only when it is further along
  // (checkpoints never move back, whoever wrote them); nothing is latched. Set before use.
  void set_shared(bool shared) { shared_ = shared; }
  // Reads the partition's checkpoint blob again (HEAD) before a new owner resumes from it: its
  // position (when further along than what this store holds) and its ETag. Blocking HTTP.
  error refresh(const std::string& partition);

private:
  struct entry {
    checkpoint value;
    std::string etag;  // of the blob as we last read or wrote it; empty: not seen
    bool dirty = false;
    bool lost = false;
    std::string lost_reason;
    std::optional<checkpoint> unconfirmed;  // a write whose answer never came
  };
  blob_checkpoint_store(std::unique_ptr<blob::client> http, std::string container, std::string ns, std::string hub,
                        std::string group);
  error load();
  error create_container();
  error write(const std::string& partition, const checkpoint& c, std::string etag, std::string& new_etag,
              bool& conflict);
  std::string describe(const std::string& partition) const;

  std::unique_ptr<blob::client> http_;
  std::string container_, ns_, hub_, group_;
  mutable std::mutex mu_;  // partitions_
  std::mutex flush_mu_;    // http_ and flushes
  std::map<std::string, entry> partitions_;
  bool shared_ = false;
};

}  // namespace iomt::transport::amqp::eventhubs
