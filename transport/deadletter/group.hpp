// Grouped dead letters (sans-io): the failed events of one submission beyond
// deadletter.max_entries_per_submission, with one stage and error type, in one entry. One HTTP
// batch of 80,000 unmappable tiny items made 80,000 entries of ~490 bytes each (38x the batch);
// grouped, an event takes its version-2 buffer encoding (~27 bytes for such an item) plus a few
// bytes, base64 in the line. Nothing is lost: `deadletter show` lists every event of a group and
// `deadletter replay` hands them all back.
//
//   group bytes = item*,  item = failure index (varint) | payload length (varint) | payload
//   payload     = the event's version-2 encoding (transport/buffer/record.hpp)
//
// Distinct failures (message, groups) are kept once each, at most max_group_failures; the events
// past that share one failure that says their messages were not kept.
#pragma once

#include "transport/deadletter/entry.hpp"
#include "transport/deadletter/recent_ids.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace iomt::transport::deadletter {

inline constexpr std::size_t max_group_failures = 64;

class group_builder {
public:
  group_builder(std::string stage, std::string type) : stage_(std::move(stage)), type_(std::move(type)) {}

  // Adds one event of this builder's stage and type; false (nothing added) when an event with
  // this id is already in (the same submission put again after an error).
  bool add(const id96& id, const event& e, const failure& f);

  bool empty() const { return count_ == 0; }
  std::uint32_t events() const { return count_; }
  std::size_t bytes() const { return bytes_.size(); }
  const std::string& stage() const { return stage_; }
  const std::string& type() const { return type_; }

  // The group line (entry.hpp, no newline) at `time`, and its id in `id`; empties the builder.
  std::string take_line(const json::date_time& time, std::string* id = nullptr);

private:
  std::string stage_, type_;
  std::vector<failure> failures_;
  std::unordered_map<std::string, std::uint32_t> failure_index_;  // message + groups -> index
  std::string bytes_;
  std::unordered_set<id96, id96_hash> ids_;
  std::uint32_t count_ = 0;
};

// The events of a group's bytes; false when they are malformed or refer past `failures`.
bool decode_group(std::string_view bytes, std::size_t failures, std::vector<grouped_event>& out);

}  // namespace iomt::transport::deadletter
