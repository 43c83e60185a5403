// A bounded string-keyed cache with expiry, for identities (iomt-spec §11: sliding 2 h, 5000
// entries) and Observations (§12: absolute 1 h, 5000 entries). Sans-io: the caller passes the
// time, so tests move it by hand. Full -> the least recently used entry goes. Not thread-safe:
// one per shard.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace iomt::fhir {

template <class Value, class Clock = std::chrono::steady_clock>
class ttl_cache {
public:
  using time_point = typename Clock::time_point;
  using duration = typename Clock::duration;

  // sliding = true: every hit extends the expiry by ttl (MemoryCache SlidingExpiration);
  // false: entries expire ttl after they were put (AbsoluteExpirationRelativeToNow).
  ttl_cache(std::size_t capacity, duration ttl, bool sliding) : capacity_(capacity), ttl_(ttl), sliding_(sliding) {}
  ttl_cache(const ttl_cache&) = delete;
  ttl_cache& operator=(const ttl_cache&) = delete;

  // The live value for key, or nullptr (an expired entry is dropped). The pointer is valid until
  // the next put/erase.
  Value* find(std::string_view key, time_point now) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    auto node = it->second;
    if (now >= node->expires) {
      index_.erase(it);
      lru_.erase(node);
      return nullptr;
    }
    if (sliding_) node->expires = now + ttl_;
    lru_.splice(lru_.begin(), lru_, node);
    return &node->value;
  }

  void put(std::string key, Value value, time_point now) {
    if (capacity_ == 0) return;
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->value = std::move(value);
      it->second->expires = now + ttl_;
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    if (lru_.size() >= capacity_) {
      index_.erase(std::string_view(lru_.back().key));
      lru_.pop_back();
    }
    lru_.push_front(entry{std::move(key), std::move(value), now + ttl_});
    index_.emplace(std::string_view(lru_.front().key), lru_.begin());
  }

  void erase(std::string_view key) {
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.erase(it->second);
      index_.erase(it);
    }
  }

  void clear() {
    index_.clear();
    lru_.clear();
  }

  std::size_t size() const noexcept { return lru_.size(); }

private:
  struct entry {
    std::string key;  // owned here; index_ keys view it (list nodes never move)
    Value value;
    time_point expires;
  };
  std::size_t capacity_;
  duration ttl_;
  bool sliding_;
  std::list<entry> lru_;  // front = most recently used
  std::unordered_map<std::string_view, typename std::list<entry>::iterator> index_;
};

}  // namespace iomt::fhir
