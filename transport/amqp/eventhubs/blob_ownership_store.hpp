// Partition ownership records in Azure Blob Storage, in the layout of the Azure SDKs'
// BlobCheckpointStore (azure-sdk-for-js eventhubs-checkpointstore-blob, azure-sdk-for-net
// BlobCheckpointStore), so iomtflow replicas and SDK processors share a consumer group
// (docs/scaling.md):
//
//   blob      "{namespace}/{eventhub}/{consumergroup}/ownership/{partition}" (namespace, hub and
//             group lower-case), empty body, in the checkpoint container
//   metadata  x-ms-meta-ownerid: the processor's id ("" = released)
//   expiry    the blob's Last-Modified: the balancer (partition_balancer.hpp) treats a record
//             older than the expiry as free
//
// list() reads the prefix (List Blobs, include=metadata). claim() writes one record with a
// conditional Put Blob: If-Match: <the ETag listed> when the record exists, If-None-Match: * when
// it does not; a 412 (or 409 / 404) means another processor wrote it first: a conflict, not an
// error. release() is a claim with owner "" (what the SDKs write when a processor stops).
//
// Blocking HTTP with the timeouts of blob::client_options. Not thread-safe: one caller (the
// Event Hubs source's balancing thread).
#pragma once

#include "transport/amqp/eventhubs/blob_checkpoint_store.hpp"
#include "transport/amqp/eventhubs/partition_balancer.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <vector>

namespace iomt::transport::amqp::eventhubs {

struct claim_outcome {
  bool claimed = false;   // written: `record` holds the new ETag and Last-Modified
  bool conflict = false;  // another writer got there first (412/409/404)
  ownership_record record;
  error failure;  // neither: storage unreachable, refused, ...
};

class blob_ownership_store {
public:
  // Connects (nothing is sent yet). Never throws.
  static std::pair<std::unique_ptr<blob_ownership_store>, error> open(const blob_store_options& options, std::string ns,
                                                                      std::string hub, std::string group);
  // Every ownership record of (ns, hub, group). A missing container is created (no records).
  // Records without `ownerid` metadata are listed as released ("").
  boost::system::result<std::vector<ownership_record>, error> list();
  // Writes `owner` into the record of `partition`, conditional on `etag` (see above).
  claim_outcome claim(const std::string& partition, const std::string& owner, const std::string& etag);
  claim_outcome release(const std::string& partition, const std::string& etag) { return claim(partition, "", etag); }

  std::string blob_name(const std::string& partition) const;
  const std::string& container() const { return container_; }

private:
  blob_ownership_store(std::unique_ptr<blob::client> http, std::string container, std::string ns, std::string hub,
                       std::string group);
  std::unique_ptr<blob::client> http_;
  std::string container_, ns_, hub_, group_;
};

}  // namespace iomt::transport::amqp::eventhubs
