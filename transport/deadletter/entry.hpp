// The dead-letter record (sans-io): every event that could not be processed, with why, when and
// how often, and the original event (iomt issue 4: never lose an event). Stored as JSON lines,
// one append-only file per UTC day (store.hpp):
//
//   {"v":1,"kind":"failure","id":ID,"time":T,"stage":S,"type":TYPE,"message":M,"event":EVENT}
//   {"v":1,"kind":"failure","id":ID,"time":T,"stage":S,"type":TYPE,"message":M}   (id seen before)
//   {"v":1,"kind":"replayed","id":ID,"time":T}
//   EVENT = {"body_base64":B64,"properties":TEXT,"system_properties":TEXT,
//            "enqueued_ticks":N,"enqueued_kind":"utc|local|unspecified","partition_key":TEXT}
//   T     = UTC, .NET round-trip format ("2024-05-01T10:00:00.1234567Z")
//
// ID identifies the event itself (SHA-256 of its content, 24 hex digits): the same event failing
// again (after a replay, or sent twice) updates one entry: attempts + 1, last failure, last error.
#pragma once

#include "transport/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace iomt::transport::deadletter {

struct failure {
  std::string stage;    // "normalization" | "fhirConversion" | "buffer" (undecodable record)
  std::string type;     // the upstream exception name, e.g. "InvalidDataFormatException"
  std::string message;
};

struct entry {
  std::string id;
  failure last;                         // the most recent failure
  failure first;                        // the first one
  json::date_time first_failure;
  json::date_time last_failure;
  std::uint32_t attempts = 0;           // failures recorded
  std::optional<json::date_time> replayed;  // last replay
  event original;
  // Failed again since its last replay (or never replayed).
  bool pending() const { return !replayed || replayed->ticks < last_failure.ticks; }
};

std::string event_id(const event& e);

// "now" as a UTC .NET DateTime.
json::date_time utc_now();

// One line (no trailing newline).
std::string failure_line(std::string_view id, const json::date_time& time, const failure& f, const event* original);
std::string replayed_line(std::string_view id, const json::date_time& time);

// Folds the lines of day files (in time order) into entries, in first-failure order. Lines that
// do not parse (a torn last line after a crash) are counted in `damaged`.
class folder {
public:
  void add_line(std::string_view line);
  void add_text(std::string_view text);  // several lines
  std::vector<entry> take();
  std::size_t damaged() const { return damaged_; }

private:
  std::vector<entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;  // id -> position in entries_
  std::size_t damaged_ = 0;
};

}  // namespace iomt::transport::deadletter
