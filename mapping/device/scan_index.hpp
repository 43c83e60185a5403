// One document walk for every type match of the form `$..[?(@key)]` (iomt-spec §3.4 step 2,
// §3.8). Such a match selects, in pre-order, each object among the envelope and its descendants
// that has a member called `key` (jsonpath::path::scan_exists_key). Templates commonly differ
// only in that key, so instead of one walk per template, one walk per message records which
// objects hold which of the mapping's keys; each template then reads its own matches.
#pragma once

#include "mapping/json/value.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::device {

class scan_index {
public:
  struct hit {
    std::uint32_t slot;  // key slot (see add_key)
    const json::value* object;
  };

  // Registers a key at load and returns its slot (the same slot for the same key).
  std::uint32_t add_key(std::string_view key);

  // Appends one hit per (object, registered key it holds), objects in pre-order (the order of
  // Newtonsoft's DescendantsAndSelf restricted to objects). Iterative: any depth.
  void collect(const json::value& root, std::vector<hit>& out) const;

  bool empty() const noexcept { return keys_.empty(); }

private:
  struct entry {
    std::uint64_t hash = 0;
    std::int32_t slot = -1;  // -1: empty
  };
  std::vector<std::string> keys_;
  std::vector<entry> table_;  // open addressing, power-of-two size, at most a quarter full

  std::int32_t find(std::string_view key) const noexcept;
  void rebuild();
};

}  // namespace iomt::mapping::device
