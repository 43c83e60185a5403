#include "transport/deadletter/index.hpp"

#include <algorithm>

namespace iomt::transport::deadletter {

std::string id_text(const id96& id) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(24, '0');
  for (int i = 0; i < 16; ++i) s[static_cast<std::size_t>(i)] = hex[(id.hi >> (60 - 4 * i)) & 15];
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(16 + i)] = hex[(id.lo >> (28 - 4 * i)) & 15];
  return s;
}

std::optional<std::uint16_t> index::find_type(std::string_view name) const {
  for (std::size_t i = 0; i < types_.size(); ++i)
    if (types_[i] == name) return static_cast<std::uint16_t>(i);
  return std::nullopt;
}

std::uint16_t index::intern(const std::string& type) {
  // Error types are a small fixed set (MedTech exception names); past 65,535 distinct ones (damage
  // or a foreign file) the rest share the last slot rather than grow without bound.
  for (std::size_t i = 0; i < types_.size(); ++i)
    if (types_[i] == type) return static_cast<std::uint16_t>(i);
  if (types_.size() < 65535) types_.push_back(type);
  return static_cast<std::uint16_t>(types_.size() - 1);
}

void index::add(std::string_view line, line_ref where) {
  parsed_line& p = scratch_;
  id96 id;
  if (!parse_line(line, false, p) || !parse_id(p.id, id)) {
    ++damaged_;
    return;
  }
  auto it = positions_.find(id);
  if (p.kind == line_kind::replayed) {
    if (it != positions_.end()) {
      summary& s = entries_[it->second];
      s.replayed = std::max(s.replayed, p.time.ticks);
    }
    return;
  }
  if (it == positions_.end()) {
    if (p.events == 0) {
      ++orphaned_;
      return;
    }
    summary s;
    s.id = id;
    s.first = s.last = where;
    s.first_failure = s.last_failure = p.time.ticks;
    s.attempts = 1;
    s.events = p.events;
    s.group = p.kind == line_kind::group;
    s.type = intern(p.why.type);
    positions_.emplace(id, static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back(s);
    return;
  }
  summary& s = entries_[it->second];
  s.last = where;
  s.last_failure = p.time.ticks;
  s.type = intern(p.why.type);
  ++s.attempts;
}

}  // namespace iomt::transport::deadletter
