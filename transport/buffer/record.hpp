// The on-disk format of the durable buffer (sans-io: pure functions over bytes, tested without
// files). All integers are little-endian.
//
//   segment file  = segment header, then records back to back
//   segment header (16 bytes) = "IOMTSEG1" | first_seq u64
//   record        = payload_len u32 | crc u32 | seq u64 | payload (payload_len bytes)
//   crc           = CRC-32C over payload, then payload_len and seq (as stored); so a flipped bit in
//                   any field, a torn write or a zero-filled tail fails the check
//   seq           = 64-bit, strictly increasing along the log (gap-free unless a corrupt region was
//                   cut out at recovery); the segment file is named by its first record's seq
//
//   payload (one transport::event), version 2, written since issue 12 (v = LEB128 varint)
//     = version u8 (2) | flags u8 | enqueued_time.ticks zigzag v | body_len v | body
//       | [properties_len v | properties]              unless flags bit 2 (properties are "{}")
//       | [system properties]                          flags bits 3-4: 0 "{}" (nothing stored),
//                                                      1 text (len v | text), 2 compact form
//                                                      (compact_properties.hpp)
//       | [partition_key_len v | partition_key]        unless flags bit 5 (no partition key)
//       | [origin]                                     when flags bit 6 (since issue 13)
//     origin (where the event came from, for the event trace) = origin u8
//       | [partition v]                                origin bit 0: the partition it was routed to
//       | [request id]                                 origin bits 1-2: 0 none, 1 text (len v | text),
//                                                      2 a lower-case GUID in 16 bytes
//       | [batch_index + 1 v]                          with a request id (0: a single send)
//     Flags bit 6 is set only when the event has a partition or a request id. A record without it
//     is byte for byte what earlier version-2 writers wrote; a record with it is refused by them
//     (they check the flags): a downgrade must drain the buffer first (docs/configuration.md).
//     flags bits 0-1: enqueued_time.zone. A tiny HTTP batch item takes about 30 bytes instead of
//     about 130 in version 1 (whose fixed u32 lengths and per-event SystemProperties text were
//     most of it).
//   payload version 1 (still read: an upgraded service drains the buffer it already has)
//     = version u8 (1) | enqueued_time.zone u8 | enqueued_time.ticks i64
//       | body_len u32 | body | properties_len u32 | properties
//       | system_properties_len u32 | system_properties | partition_key_len u32 | partition_key
#pragma once

#include "transport/event.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::transport::buffer {

inline constexpr std::string_view segment_magic = "IOMTSEG1";
inline constexpr std::size_t segment_header_bytes = 16;
inline constexpr std::size_t record_header_bytes = 16;
// A length above this is corruption, not a record (HTTP bodies are at most a few MiB).
inline constexpr std::size_t max_payload_bytes = 256u << 20;

// ---- segment header -------------------------------------------------------------------------
void append_segment_header(std::string& out, std::uint64_t first_seq);
// True when `bytes` starts with a valid header; its first_seq in `first_seq`.
bool parse_segment_header(std::string_view bytes, std::uint64_t& first_seq);

// ---- records ---------------------------------------------------------------------------------
// A whole record in one step (tests, the replay inbox).
void append_record(std::string& out, std::uint64_t seq, std::string_view payload);

// Two-step encoding for the log writer: appenders encode into the next batch with a provisional
// header (the payload's CRC in the crc field, seq 0); the writer thread assigns the sequence and
// finishes the CRC with seal_record (12 bytes of CRC work per record).
void begin_record(std::string& out, std::size_t& header_at);  // reserves the header
void end_record(std::string& out, std::size_t header_at);     // fills length and payload CRC
void seal_record(char* header, std::uint64_t seq) noexcept;   // sets seq, final CRC
std::uint32_t record_payload_length(const char* header) noexcept;

struct record_view {
  std::uint64_t seq = 0;
  std::string_view payload;
};

enum class scan_stop {
  end,           // every byte was a valid record
  incomplete,    // the bytes end inside a record (a torn tail, or only a read-chunk boundary)
  bad_length,    // the length field is zero or above max_payload_bytes
  bad_crc,       // the CRC does not match
  bad_sequence,  // seq not above the previous one (or below the required minimum)
};
const char* to_string(scan_stop s);

struct scan_result {
  std::size_t valid_bytes = 0;  // bytes of the valid records from the start of `bytes`
  std::size_t records = 0;
  std::uint64_t first_seq = 0;  // of the first valid record (records > 0)
  std::uint64_t last_seq = 0;   // of the last valid record (records > 0)
  scan_stop stop = scan_stop::end;
  std::size_t need_bytes = 0;  // incomplete: total bytes the cut record needs from valid_bytes on
};

// Checks records from the start of `bytes`; stops at the first one that is cut or invalid.
// `min_seq`: the first record's seq must be >= it (each later one above its predecessor).
// Valid records are appended to `out` when given (views into `bytes`).
scan_result scan_records(std::string_view bytes, std::uint64_t min_seq, std::vector<record_view>* out = nullptr,
                         std::size_t max_records = static_cast<std::size_t>(-1));

// ---- event payloads --------------------------------------------------------------------------
// Size of encode_event's payload (exact: the log writer reserves it before encoding).
std::size_t encoded_size(const event& e, bool origin = true);
// Appends the version-2 payload; with `origin` false, without the origin (the partition and
// request id: the dead-letter store keeps the layout earlier versions read).
void encode_event(std::string& out, const event& e, bool origin = true);
// Appends the version-1 payload: what services before issue 12 wrote, and the canonical bytes
// dead-letter ids are computed over (deadletter::event_id), so ids do not change with the format.
void encode_event_v1(std::string& out, const event& e);
// False when the payload is not a well-formed version-1 or version-2 event (`out` is then
// unspecified). Reuses the capacity of `out`'s strings, and keeps `out.request_id` when it holds
// the decoded id already (a reader passes the previous event's: the events of one request then
// share one string, as they did before the buffer).
bool decode_event(std::string_view payload, event& out);

}  // namespace iomt::transport::buffer
