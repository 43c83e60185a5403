#include "mapping/device/scan_index.hpp"

#include <cstring>

namespace iomt::mapping::device {

namespace {

// A cheap key hash (first and last bytes, length); equality is always checked on the text.
inline std::uint64_t key_hash(std::string_view k) noexcept {
  const std::size_t n = k.size();
  std::uint64_t a = 0, b = 0;
  if (n >= 8) {
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + n - 8, 8);
  } else if (n >= 4) {
    std::uint32_t x = 0, y = 0;
    std::memcpy(&x, k.data(), 4);
    std::memcpy(&y, k.data() + n - 4, 4);
    a = x;
    b = y;
  } else if (n > 0) {
    a = static_cast<unsigned char>(k[0]) | (std::uint64_t{static_cast<unsigned char>(k[n / 2])} << 8) |
        (std::uint64_t{static_cast<unsigned char>(k[n - 1])} << 16);
  }
  std::uint64_t h = (a ^ ((b << 29) | (b >> 35)) ^ n) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}

struct frame {
  const json::value* container;
  std::uint32_t next;
};

}  // namespace

inline std::int32_t scan_index::find(std::string_view key) const noexcept {
  if (table_.empty()) return -1;
  const std::uint64_t h = key_hash(key);
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const entry& e = table_[i];
    if (e.slot < 0) return -1;
    if (e.hash == h && keys_[static_cast<std::size_t>(e.slot)] == key) return e.slot;
  }
}

void scan_index::rebuild() {
  std::size_t size = 8;
  while (size < keys_.size() * 4) size *= 2;
  table_.assign(size, entry{});
  const std::size_t mask = size - 1;
  for (std::size_t s = 0; s < keys_.size(); ++s) {
    const std::uint64_t h = key_hash(keys_[s]);
    std::size_t i = h & mask;
    while (table_[i].slot >= 0) i = (i + 1) & mask;
    table_[i] = entry{h, static_cast<std::int32_t>(s)};
  }
}

std::uint32_t scan_index::add_key(std::string_view key) {
  if (std::int32_t s = find(key); s >= 0) return static_cast<std::uint32_t>(s);
  keys_.emplace_back(key);
  rebuild();
  return static_cast<std::uint32_t>(keys_.size() - 1);
}

void scan_index::collect(const json::value& root, std::vector<hit>& out) const {
  if (keys_.empty() || !root.is_container()) return;
  auto visit = [&](const json::value& object) {
    const std::size_t first = out.size();
    for (const json::member& m : object.as_object()) {
      const std::int32_t s = find(m.key);
      if (s < 0) continue;
      const auto slot = static_cast<std::uint32_t>(s);
      bool seen = false;  // a repeated key: the object matches once
      for (std::size_t j = first; j < out.size() && !seen; ++j) seen = out[j].slot == slot;
      if (!seen) out.push_back({slot, &object});
    }
  };
  if (root.is_object()) visit(root);
  thread_local std::vector<frame> stack;
  stack.clear();
  stack.push_back({&root, 0});
  while (!stack.empty()) {
    frame& top = stack.back();
    const json::value& parent = *top.container;
    if (top.next >= parent.size()) {
      stack.pop_back();
      continue;
    }
    const std::uint32_t k = top.next++;
    const json::value* c = parent.is_array() ? &parent.as_array()[k] : &parent.as_object()[k].val;
    if (!c->is_container()) continue;
    if (c->is_object()) visit(*c);
    if (c->size() > 0) stack.push_back({c, 0});  // `top` is dead from here
  }
}

}  // namespace iomt::mapping::device
