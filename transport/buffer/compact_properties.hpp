// SystemProperties in a few bytes (sans-io), for the version-2 event payload (record.hpp).
//
// HTTP ingest gives every event its own SystemProperties object, e.g.
//   {"x-opt-sequence-number":41,"x-opt-offset":"5120","x-opt-enqueued-time":"2024-05-01T10:00:00.123Z"}
// (transport/http/event_properties.hpp): about 100 bytes, more than a tiny event's body. Stored as
// text it made the buffer 10x the size of a batch of tiny events. The compact form keeps the
// exact text but stores each member as
//   key   = u8 code of a known name (kNames in the .cpp; 0: varint length + key token as sent)
//   value = u8 tag: 0 raw JSON token (varint length + bytes) | 1 integer (zigzag varint)
//           | 2 string of decimal digits (varint) | 3 the event's enqueued time as
//           "yyyy-MM-ddTHH:mm:ss[.FFF]Z" (nothing stored)
// after a varint member count. Only text that decodes back byte for byte is compacted (encode
// checks); anything else (whitespace, other shapes) is stored as text by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iomt::transport::buffer {

// Appends the compact form of `json` to `out` and returns true; false (`out` unchanged) when
// `json` is not a compact JSON object this form reproduces exactly.
bool compact_properties_encode(std::string_view json, std::int64_t enqueued_ticks, std::string& out);

// Reads one compact form from the front of `in` (consumed) and appends its JSON text to `out`;
// false when the bytes are malformed.
bool compact_properties_decode(std::string_view& in, std::int64_t enqueued_ticks, std::string& out);

// "yyyy-MM-ddTHH:mm:ss[.FFF]Z" of a UTC tick count (x-opt-enqueued-time's format).
std::string enqueued_time_text(std::int64_t ticks);

}  // namespace iomt::transport::buffer
