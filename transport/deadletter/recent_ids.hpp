// The ids of recently stored events (sans-io, bounded), replacing the set of every id in the store
// that grew with it (60 -> 116 MB at 100,000 entries). A failure line carries the event only the
// first time its id is seen; the store asks this set, and when an id is not (or no longer) here
// the event is simply written again: folding keeps one entry per id either way (entry.hpp).
//
// Each id remembers the number of the file its event went to, so that once that file is dropped
// (deadletter.max_bytes / max_age) the id counts as unknown again and the next failure of the
// event carries it anew. Oldest ids are forgotten first (insertion order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>

namespace iomt::transport::deadletter {

// An event id (24 hex digits, 96 bits) as two integers.
struct id96 {
  std::uint64_t hi = 0;
  std::uint32_t lo = 0;
  friend bool operator==(const id96&, const id96&) = default;
};
struct id96_hash {
  std::size_t operator()(const id96& k) const noexcept {
    return static_cast<std::size_t>(k.hi ^ (k.lo * 0x9e3779b97f4a7c15ull));
  }
};
// False when `text` is not 24 lowercase hex digits.
bool parse_id(std::string_view text, id96& out) noexcept;

class recent_ids {
public:
  explicit recent_ids(std::size_t capacity) : capacity_(capacity) {}

  // True when `id` was stored in file number `oldest_file` or later.
  bool contains(const id96& id, std::uint64_t oldest_file) const;
  // Remembers that `id`'s event went to file number `file` (forgets the oldest id when full).
  void insert(const id96& id, std::uint64_t file);
  std::size_t size() const { return files_.size(); }
  std::size_t capacity() const { return capacity_; }

private:
  std::size_t capacity_;
  std::unordered_map<id96, std::uint64_t, id96_hash> files_;  // id -> file number
  std::deque<id96> order_;                                    // insertion order, for eviction
};

}  // namespace iomt::transport::deadletter
