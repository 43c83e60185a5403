// The files of the dead-letter store (sans-io): their names, their order, and which to drop.
//
//   deadletter-YYYYMMDDTHHMMSSZ-NNNNNN.jsonl  since issue 12: started at that UTC second, file
//                                             number NNNNNN (increasing; six digits or more)
//   deadletter-YYYY-MM-DD.jsonl               one file per UTC day, written before issue 12: still
//                                             read, dropped like the others, never written again
//
// A file holds the lines of one UTC day only: the store starts a new file at each new day and
// when the current one reaches its size (store_options::file_bytes), so the bounds drop whole
// files, oldest first, with one unlink each (deadletter.max_bytes, deadletter.max_age).
#pragma once

#include "mapping/json/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::transport::deadletter {

struct file_info {
  std::string name;
  std::uint64_t number = 0;  // 0: a day file (they sort first)
  std::int64_t start = 0;    // ticks: the time in the name, or the day's start
  std::uint64_t bytes = 0;
  std::int64_t events = -1;  // events stored in it when known (written by this process), else -1
};

// nullopt when `name` is not a file of the store.
std::optional<file_info> parse_file_name(std::string_view name);
// "deadletter-YYYYMMDDTHHMMSSZ-NNNNNN.jsonl".
std::string file_name(std::int64_t start_ticks, std::uint64_t number);
// "deadletter-YYYY-MM-DD.jsonl" (the format before issue 12).
std::string day_file_name(const json::date_time& t);
// Start of the UTC day of `ticks`.
std::int64_t day_start(std::int64_t ticks);

// Oldest first: day files by day, then the others by number.
void sort_files(std::vector<file_info>& files);

// No line of files[i] is newer than this (ticks): the end of its day, or the next file's start.
std::int64_t newest_possible(const std::vector<file_info>& files, std::size_t i);

enum class drop_reason { max_bytes, max_age };
const char* to_string(drop_reason r);  // "max_bytes" | "max_age" (the metric's label)

struct planned_drop {
  std::size_t index = 0;  // into the sorted files
  drop_reason why = drop_reason::max_bytes;
};

// The files to drop now, oldest first: each whose lines are all older than now - max_age, then
// more while the total plus `incoming` (bytes about to be written) is above max_bytes (never the
// newest file: it is being written). 0 switches a bound off.
std::vector<planned_drop> plan_drops(const std::vector<file_info>& files, std::uint64_t max_bytes,
                                     std::int64_t max_age_ticks, std::int64_t now, std::uint64_t incoming = 0);

}  // namespace iomt::transport::deadletter
