// The dead-letter record (sans-io): every event that could not be processed, with why, when and
// how often, and the original event (iomt issue 4: never lose an event). Stored as JSON lines in
// the store's files (files.hpp):
//
//   {"v":1,"kind":"failure","id":ID,"time":T,"stage":S,"type":TYPE,"message":M[,"groups":[G...]],"event":EVENT}
//   {"v":1,"kind":"failure","id":ID,"time":T,"stage":S,"type":TYPE,"message":M[,"groups":[G...]]}  (id known)
//   {"v":1,"kind":"replayed","id":ID,"time":T}
//   {"v":2,"kind":"group","id":GID,"time":T,"stage":S,"type":TYPE,"message":M,"events":N,
//    "failures":[{"stage":S,"type":TYPE,"message":M[,"groups":[G...]]},...],"group":B64}
//   EVENT = {"body_base64":B64,"properties":TEXT,"system_properties":TEXT,
//            "enqueued_ticks":N,"enqueued_kind":"utc|local|unspecified","partition_key":TEXT}
//   T     = UTC, .NET round-trip format ("2024-05-01T10:00:00.1234567Z")
//   G     = a measurement group of a partially written event that failed, with its error
//           ("HeartRate 2024-05-01T10:00:00Z..11:00:00Z: <error>")
//
// ID identifies the event itself (SHA-256 of its version-1 buffer encoding, 24 hex digits): the
// same event failing again (after a replay, or sent twice) updates one entry: attempts + 1, last
// failure, last error. The event rides on the first line of an id the store writes, and again
// whenever the store no longer knows the id (recent_ids.hpp); folding takes the first.
//
// A group line holds the failed events of one submission beyond
// deadletter.max_entries_per_submission with one stage and type (group.hpp): N events in one
// entry GID, each with the index of its failure in "failures".
//
// Stored text is bounded so that an entry stays within a small constant of its event's size:
// messages at max_message_bytes, at most max_groups groups of max_group_text_bytes each, cut at a
// UTF-8 boundary with a marker of what was left out.
#pragma once

#include "transport/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::transport::deadletter {

inline constexpr std::size_t max_message_bytes = 2048;
inline constexpr std::size_t max_groups = 32;
inline constexpr std::size_t max_group_text_bytes = 512;

struct failure {
  std::string stage;  // "normalization" | "fhirConversion" | "buffer" (undecodable record)
  std::string type;   // the upstream exception name, e.g. "InvalidDataFormatException"
  std::string message;
  std::vector<std::string> groups = {};  // measurement groups of a partially written event (may be empty)
  friend bool operator==(const failure&, const failure&) = default;
};

// One event of a grouped entry and the index of its failure in entry::failures.
struct grouped_event {
  event original;
  std::uint32_t failure = 0;
};

struct entry {
  std::string id;
  failure last;   // the most recent failure
  failure first;  // the first one
  json::date_time first_failure;
  json::date_time last_failure;
  std::uint32_t attempts = 0;               // failures recorded
  std::optional<json::date_time> replayed;  // last replay
  bool group = false;                       // a grouped entry (many events)
  std::uint32_t events = 1;                 // events it holds
  event original;                           // a single entry's event
  std::vector<failure> failures;            // a group's distinct failures
  std::vector<grouped_event> grouped;       // a group's events (when loaded)
  // Failed again since its last replay (or never replayed).
  bool pending() const { return !replayed || replayed->ticks < last_failure.ticks; }
};

std::string event_id(const event& e);
// 24 hex digits of the SHA-256 of `bytes`.
std::string hex_digest(std::string_view bytes);

// "now" as a UTC .NET DateTime.
json::date_time utc_now();

// `text` cut to at most `max` bytes at a UTF-8 boundary, ending in "...[+N bytes]" when cut.
std::string cut_text(std::string_view text, std::size_t max);
// The failure as stored: message and groups bounded (above).
failure bounded(const failure& f);

// One line (no trailing newline).
std::string failure_line(std::string_view id, const json::date_time& time, const failure& f, const event* original);
std::string replayed_line(std::string_view id, const json::date_time& time);

// ---- reading ---------------------------------------------------------------------------------
enum class line_kind { failure, group, replayed };

struct parsed_line {
  line_kind kind = line_kind::failure;
  std::string id;
  json::date_time time;
  failure why;               // failure: its failure; group: its stage, type, first message
  bool has_event = false;    // failure: carries the event
  std::uint32_t events = 0;  // events it stores: 0 (a repeat, a replay mark), 1, or a group's N
  // With `full` only:
  event original;                 // failure with has_event
  std::vector<failure> failures;  // group
  std::string group_bytes;        // group: the decoded "group" bytes (group.hpp)
};

// False when the line is not one of the forms above (a torn line after a crash, damage).
// `full`: also decode the event or the group's failures and bytes.
bool parse_line(std::string_view text, bool full, parsed_line& out);

}  // namespace iomt::transport::deadletter
