// Internal to the readers: duplicate property names while building one object.
//
// Newtonsoft's JObject loading uses DuplicatePropertyNameHandling.Replace (iomt-spec §2): a repeated
// name replaces the earlier property in place, so the last value wins at the first key's position.
// Small objects are searched linearly; past a threshold a hash index keeps huge objects linear-time
// (a fuzzer must not be able to make the reader quadratic).
#pragma once

#include "mapping/json/value.hpp"

#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>

namespace iomt::json::detail {

class member_index {
public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // Position of `key` among `members` (the object's members so far), or npos.
  std::size_t find(std::span<const member> members, std::string_view key) {
    if (map_) {
      auto it = map_->find(key);
      return it == map_->end() ? npos : it->second;
    }
    for (std::size_t i = 0; i < members.size(); ++i)
      if (members[i].key.size() == key.size() && members[i].key == key) return i;
    return npos;
  }

  // Call after appending a member at position `members.size() - 1`.
  void added(std::span<const member> members) {
    if (map_) {
      map_->emplace(members.back().key, members.size() - 1);
    } else if (members.size() > linear_limit) {
      map_ = std::make_unique<std::unordered_map<std::string_view, std::size_t>>();
      map_->reserve(members.size() * 2);
      for (std::size_t i = 0; i < members.size(); ++i) map_->emplace(members[i].key, i);
    }
  }

private:
  static constexpr std::size_t linear_limit = 24;
  std::unique_ptr<std::unordered_map<std::string_view, std::size_t>> map_;
};

}  // namespace iomt::json::detail
