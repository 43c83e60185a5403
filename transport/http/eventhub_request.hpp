// Event Hubs REST send -> transport::event (sans-io; the server in server.hpp drives it).
//
// Two steps, so that a request is refused before its body is read:
//   check_header: route (404/400), method (405), Authorization (401), hub name (404), declared size
//                 (413), Content-Type / Content-Encoding (415)
//   to_events:    the body -> events, exactly as Event Hubs delivers them (400 malformed batch or
//                 BrokerProperties, 413 body or per-event size)
//
// Single send (any Content-Type except the batch one): body = request body bytes as sent (any
// charset; the pipeline decodes UTF-8, as MedTech does), custom headers -> Properties (strings),
// BrokerProperties header -> partition key and SystemProperties (event_properties.hpp).
// Batch send (Content-Type: application/vnd.microsoft.servicebus.json, UTF-8):
//   [{"Body":"...","UserProperties":{...},"BrokerProperties":{...},"IsBodyBase64":false}, ...]
//   Body string -> its text (base64-decoded when IsBodyBase64 is true); any other JSON value -> its
//   JSON text as sent. UserProperties -> Properties with typed values kept (number text as sent).
//   Custom headers are ignored for a batch (as Event Hubs documents). Member names match
//   case-insensitively.
// Partition: the route's id, else hash(PartitionKey or publisher id) (FNV-1a 32 mod partition
// count: stable, Event Hubs-like, not Event Hubs' own function), else round-robin per request.
// x-opt-sequence-number and x-opt-offset (byte offset of the body in the partition) come from
// per-hub, per-partition counters owned here, starting at 0 at process start.
#pragma once

#include "transport/event.hpp"
#include "transport/http/eventhub_route.hpp"
#include "transport/http/http_types.hpp"
#include "transport/http/ingest_auth.hpp"
#include "transport/http/sas.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace iomt::transport::http {

struct ingest_options {
  std::vector<std::string> hubs;              // accepted hub names (case-insensitive); empty: any name
  std::size_t max_hubs = 64;                  // distinct names remembered when any name is accepted
  std::size_t max_body_bytes = 1024 * 1024;   // request body limit (Event Hubs: 1 MiB)
  std::size_t max_event_bytes = 1024 * 1024;  // one event of a batch: body + Properties JSON
  std::uint32_t partition_count = 4;          // 1..1024
};

class hub_log;  // counters of one hub (defined in the .cpp)

// What check_header found out; passed on to to_events.
struct ingest_plan {
  eventhub_route route;
  bool batch = false;
  std::string content_type;  // as sent; empty when absent
  hub_log* hub = nullptr;
};

// Thread-safe: any number of connections may call it concurrently.
class eventhub_ingest {
public:
  // `auth`: nullopt switches authorization off (explicit local-use choice).
  eventhub_ingest(ingest_options options, std::optional<sas_verifier> auth);
  // Any authenticators (ingest_auth.hpp: SAS, bearer tokens, ...); empty switches authorization off.
  eventhub_ingest(ingest_options options, std::vector<std::shared_ptr<const ingest_authenticator>> authenticators);
  ~eventhub_ingest();
  eventhub_ingest(const eventhub_ingest&) = delete;
  eventhub_ingest& operator=(const eventhub_ingest&) = delete;

  const ingest_options& options() const noexcept { return options_; }

  // Everything decidable from the request head. `now_unix`: seconds, for the SAS expiry.
  boost::system::result<ingest_plan, http_error> check_header(const bhttp::request_header<>& header,
                                                              std::int64_t now_unix, auth_cache* cache = nullptr);

  // The complete request (head checked by check_header) -> its events. The body is moved out.
  // Sequence numbers are assigned only when the whole request is valid. Every event shares
  // `request_id` (request_id.hpp; may be null) and a batch item gets its index in the batch.
  boost::system::result<std::vector<event>, http_error> to_events(
      const ingest_plan& plan, request&& req, std::chrono::system_clock::time_point now,
      const std::shared_ptr<const std::string>& request_id = nullptr);

private:
  hub_log* find_hub(std::string_view name);

  boost::system::result<void, http_error> authenticate(std::string_view authorization, const eventhub_route& route,
                                                       std::int64_t now_unix, auth_cache* cache) const;

  ingest_options options_;
  std::vector<std::shared_ptr<const ingest_authenticator>> auth_;
  std::vector<std::unique_ptr<hub_log>> configured_;  // immutable after construction
  std::mutex dynamic_mutex_;
  std::vector<std::unique_ptr<hub_log>> dynamic_;  // any-name mode, guarded by dynamic_mutex_
};

// Content-Type, split: media type lower-cased, charset lower-cased without quotes (empty if absent).
struct media_type {
  std::string type;
  std::string charset;
};
media_type parse_media_type(std::string_view content_type);

// FNV-1a 32-bit of the key's bytes, mod `partition_count`.
std::uint32_t partition_for_key(std::string_view key, std::uint32_t partition_count) noexcept;

}  // namespace iomt::transport::http
