// One AMQP 1.0 message -> one transport::event, the way the Event Hubs SDK presents it to MedTech
// (iomt-spec §2, §3.7). Sans-io: bytes in, event out.
//
//   Body              the data section's bytes; an amqp-value string/symbol/binary as its bytes;
//                     any other amqp-value / amqp-sequence as JSON (value_json.hpp); none -> empty.
//   Properties        application-properties -> JSON object, in wire order (e.g. IoT Hub's
//                     "iothub-creation-time-utc", which IotJsonPathContent reads, §3.7).
//   SystemProperties  the properties section (message-id, user-id, to, subject, reply-to,
//                     correlation-id, content-type, content-encoding, absolute-expiry-time,
//                     creation-time, group-id, group-sequence, reply-to-group-id; only those
//                     set), then every message annotation in wire order: Event Hubs' x-opt-*
//                     (sequence number, offset, enqueued time, partition key, publisher) and IoT
//                     Hub's iothub-* (connection-device-id, enqueuedtime, message-source, ...).
//   enqueued time     x-opt-enqueued-time, else iothub-enqueuedtime, else the receive time.
//   partition key     x-opt-partition-key (or empty).
//
// Decoding is strict (Proton's pn_message_decode accepts garbage silently): the payload must be a
// sequence of described sections that decode completely, or the message is refused.
//
// Thread-safety: one mapper per connection (it reuses its decoders).
#pragma once

#include "transport/event.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

struct pn_data_t;

namespace iomt::transport::amqp {

// Position of a message in an Event Hubs partition (both -1 when the broker does not say).
struct stream_position {
  std::int64_t sequence_number = -1;  // x-opt-sequence-number
  std::int64_t offset = -1;           // x-opt-offset (a decimal string on the wire)
};

struct decode_error {
  std::string message;  // e.g. "not an AMQP message: ..."
};

class message_mapper {
public:
  message_mapper();
  ~message_mapper();
  message_mapper(const message_mapper&) = delete;
  message_mapper& operator=(const message_mapper&) = delete;

  // Decodes `bytes` (a complete transfer payload) into `out`. `received` is the fallback enqueued
  // time. Never throws on bad input.
  boost::system::result<void, decode_error> map(std::string_view bytes, std::chrono::system_clock::time_point received,
                                                event& out, stream_position& position);

private:
  // One decoder per section kind, reused (AMQP 1.0 §3.2).
  pn_data_t* section_;      // scratch: the section being decoded
  pn_data_t* annotations_;  // message-annotations
  pn_data_t* properties_;   // properties
  pn_data_t* app_;          // application-properties
};

// .NET UTC DateTime of a Unix millisecond timestamp.
json::date_time date_time_from_unix_ms(std::int64_t ms) noexcept;

}  // namespace iomt::transport::amqp
