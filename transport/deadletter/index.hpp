// Folding the store's lines into entries without keeping their events (sans-io): one small
// summary per entry (its id, times, attempts, last error type, and where its lines are), so that
// `deadletter list` over 100,000 entries holds ~100 bytes per entry instead of every event body
// (218 MB before). The entry itself is read back from its lines when it is printed (store.hpp).
//
// Folding rules (entry.hpp): the first line of an id that carries its event (or group) starts the
// entry; later failure lines of the id add an attempt and become its last failure; a replayed
// line marks it. A failure line of an id that has no entry (its event was in a file dropped by
// deadletter.max_bytes or max_age) is counted in orphaned(); a line that does not parse in
// damaged().
#pragma once

#include "transport/deadletter/entry.hpp"
#include "transport/deadletter/recent_ids.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace iomt::transport::deadletter {

// Where a line is: file (index into the list being read), byte offset and length.
struct line_ref {
  std::uint32_t file = 0;
  std::uint32_t length = 0;
  std::uint64_t offset = 0;
  friend bool operator==(const line_ref&, const line_ref&) = default;
};

struct summary {
  id96 id;
  line_ref first;  // the line with the event (or group)
  line_ref last;   // the last failure line (== first until it failed again)
  std::int64_t first_failure = 0;
  std::int64_t last_failure = 0;
  std::int64_t replayed = -1;  // ticks of the last replay mark; -1: none
  std::uint32_t attempts = 0;
  std::uint32_t events = 1;
  std::uint16_t type = 0;  // the last failure's type: index into index::type_name
  bool group = false;
  bool pending() const { return replayed < 0 || replayed < last_failure; }
};

std::string id_text(const id96& id);

class index {
public:
  // One line, found at `where`.
  void add(std::string_view line, line_ref where);

  const std::vector<summary>& entries() const { return entries_; }
  std::string_view type_name(std::uint16_t t) const { return types_[t]; }
  std::optional<std::uint16_t> find_type(std::string_view name) const;
  std::size_t damaged() const { return damaged_; }
  std::size_t orphaned() const { return orphaned_; }

private:
  std::uint16_t intern(const std::string& type);

  std::vector<summary> entries_;
  std::unordered_map<id96, std::uint32_t, id96_hash> positions_;  // id -> index into entries_
  std::vector<std::string> types_;
  std::size_t damaged_ = 0;
  std::size_t orphaned_ = 0;
  parsed_line scratch_;
};

}  // namespace iomt::transport::deadletter
