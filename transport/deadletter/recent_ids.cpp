#include "transport/deadletter/recent_ids.hpp"

#include "mapping/text/ascii.hpp"

namespace iomt::transport::deadletter {

bool parse_id(std::string_view text, id96& out) noexcept {
  if (text.size() != 24) return false;
  out = {};
  for (std::size_t i = 0; i < 24; ++i) {
    // Ids are written with lower-case hex only: an upper-case digit is not an id of ours.
    const int v = mapping::text::is_upper(text[i]) ? -1 : mapping::text::hex_value(text[i]);
    if (v < 0) return false;
    if (i < 16)
      out.hi = (out.hi << 4) | static_cast<std::uint64_t>(v);
    else
      out.lo = (out.lo << 4) | static_cast<std::uint32_t>(v);
  }
  return true;
}

bool recent_ids::contains(const id96& id, std::uint64_t oldest_file) const {
  auto it = files_.find(id);
  return it != files_.end() && it->second >= oldest_file;
}

void recent_ids::insert(const id96& id, std::uint64_t file) {
  if (capacity_ == 0) return;
  auto [it, fresh] = files_.try_emplace(id, file);
  if (!fresh) {
    it->second = file;  // keeps its place in the eviction order: the newer copy is remembered
    return;
  }
  order_.push_back(id);
  if (order_.size() > capacity_) {
    files_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace iomt::transport::deadletter
