#include "pipeline/poison.hpp"

#include <functional>
#include <string_view>

namespace iomt::pipeline {

bool poison_detector::failed(std::uint64_t key, bool others_written, clock::time_point now) {
  if (options_.max_attempts == 0) return false;
  std::lock_guard l(mu_);
  auto [it, fresh] = entries_.try_emplace(key);
  entry& e = it->second;
  if (!fresh && now - e.last > options_.forget_after) e.attempts = 0;
  e.last = now;
  if (others_written) ++e.attempts;
  if (e.attempts >= options_.max_attempts) {
    entries_.erase(it);
    size_.store(entries_.size(), std::memory_order_relaxed);
    return true;
  }
  if (fresh && entries_.size() > options_.capacity) evict(now);
  size_.store(entries_.size(), std::memory_order_relaxed);
  return false;
}

void poison_detector::forget(std::uint64_t key) {
  std::lock_guard l(mu_);
  entries_.erase(key);
  size_.store(entries_.size(), std::memory_order_relaxed);
}

std::uint32_t poison_detector::attempts(std::uint64_t key) const {
  std::lock_guard l(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.attempts;
}

void poison_detector::evict(clock::time_point now) {
  // First what was not seen for forget_after; if that is not enough, the half seen longest ago.
  std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.last > options_.forget_after; });
  if (entries_.size() <= options_.capacity) return;
  const auto horizon = now - options_.forget_after / 2;
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.last < horizon; });
  if (entries_.size() > options_.capacity) entries_.clear();  // a storm of distinct failures: start over
}

std::uint64_t event_key(std::string_view body, std::string_view properties, std::string_view system_properties) {
  const std::hash<std::string_view> h;
  std::uint64_t k = h(body);
  k ^= h(properties) + 0x9e3779b97f4a7c15ull + (k << 6) + (k >> 2);
  k ^= h(system_properties) + 0x9e3779b97f4a7c15ull + (k << 6) + (k >> 2);
  return k;
}

}  // namespace iomt::pipeline
