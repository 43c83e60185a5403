// What an Event Hubs consumer sees besides the body (sans-io): application Properties from custom
// HTTP headers or a batch item's UserProperties, BrokerProperties, and the SystemProperties the
// service adds (iomt-spec §2: templates read them under $.Properties and $.SystemProperties).
//
// SystemProperties, in this order, as Azure.Messaging.EventHubs exposes them (AMQP properties
// section first, then the broker's message annotations):
//   message-id, to, subject (BrokerProperties.Label), reply-to, correlation-id, content-type
//   (single send: the Content-Type header, per the Service Bus REST mapping table), group-id
//   (SessionId), reply-to-group-id (ReplyToSessionId),
//   x-opt-sequence-number (int64), x-opt-offset (string), x-opt-enqueued-time, x-opt-publisher
//   (publisher route), x-opt-partition-key (when a PartitionKey was given).
// x-opt-enqueued-time: the SDK gives a DateTime; since iomtflow hands SystemProperties over as JSON
// text that is not date-sniffed (§2), it is an ISO-8601 UTC string with the fraction trimmed the way
// Newtonsoft writes a DateTime: "2024-05-01T12:34:56.789Z" (".789" dropped when zero).
#pragma once

#include "mapping/json/value.hpp"
#include "transport/http/http_types.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iomt::transport::http {

using enqueue_clock_time = std::chrono::sys_time<std::chrono::milliseconds>;

// The BrokeredMessage properties Event Hubs takes from a send (Service Bus REST "Message headers
// and properties"); others (TimeToLive, ScheduledEnqueueTimeUtc, ForcePersistence, ...) are accepted
// and ignored, as the service does.
struct broker_properties {
  std::optional<std::string> partition_key;
  std::optional<std::string> session_id;
  std::optional<std::string> message_id;
  std::optional<std::string> correlation_id;
  std::optional<std::string> label;
  std::optional<std::string> to;
  std::optional<std::string> reply_to;
  std::optional<std::string> reply_to_session_id;
};

// Parses a BrokerProperties JSON object (the single-send header, `where` = "BrokerProperties header",
// or a batch item's member). Strings are taken as they are, numbers and booleans as their JSON text,
// null as absent; objects and arrays are errors (400). SessionId and PartitionKey, when both set,
// must be equal (Service Bus rule).
boost::system::result<broker_properties, http_error> parse_broker_properties(std::string_view json,
                                                                             std::string_view where);

// Is this header part of HTTP or of the send protocol (Host, Content-Type, Authorization,
// BrokerProperties, Expect, ...), rather than a custom property? Case-insensitive.
bool is_standard_header(std::string_view name) noexcept;

// Custom headers of a single send -> the Properties JSON object: names as sent, string values;
// a repeated header keeps its last value (at the first name's position).
std::string header_properties(const bhttp::fields& fields);

struct system_fields {
  const broker_properties* broker = nullptr;
  std::string_view content_type;  // empty: none
  std::string_view publisher;     // empty: not a publisher send
  std::int64_t sequence_number = 0;
  std::int64_t offset = 0;
  std::string_view enqueued_time;  // format_enqueued_time(...)
};

// The SystemProperties JSON object (order above).
std::string system_properties_json(const system_fields& fields);

// "yyyy-MM-ddTHH:mm:ss[.FFF]Z".
std::string format_enqueued_time(enqueue_clock_time t);

// The same instant as a .NET UTC DateTime (event::enqueued_time).
json::date_time to_date_time(enqueue_clock_time t) noexcept;

}  // namespace iomt::transport::http
