// A bounded lock-free multi-producer multi-consumer queue (the sequence-numbered ring described by
// D. Vyukov). Stages meet at these (STYLE habit 3): try_push fails when full instead of blocking,
// so the caller pushes back to its source.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

namespace iomt::pipeline {

template <class T>
class bounded_queue {
public:
  // capacity is rounded up to a power of two.
  explicit bounded_queue(std::size_t capacity) {
    std::size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    cells_ = std::make_unique<cell[]>(cap);
    for (std::size_t i = 0; i < cap; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;
  ~bounded_queue() {
    while (try_pop()) {
    }
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Thread-safe. Returns false (and leaves `v` untouched) when full.
  bool try_push(T& v) {
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      const std::size_t seq = c.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          ::new (static_cast<void*>(c.storage)) T(std::move(v));
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // Thread-safe. nullopt when empty.
  std::optional<T> try_pop() {
    std::size_t pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      const std::size_t seq = c.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T* p = std::launder(reinterpret_cast<T*>(c.storage));
          std::optional<T> out(std::move(*p));
          p->~T();
          c.seq.store(pos + mask_ + 1, std::memory_order_release);
          return out;
        }
      } else if (diff < 0) {
        return std::nullopt;
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // Approximate number of queued items (for metrics).
  std::size_t size_approx() const noexcept {
    const std::size_t t = tail_.load(std::memory_order_relaxed), h = head_.load(std::memory_order_relaxed);
    return t >= h ? t - h : 0;
  }

private:
  struct cell {
    std::atomic<std::size_t> seq;
    alignas(T) std::byte storage[sizeof(T)];
  };
  static constexpr std::size_t line = 64;
  std::unique_ptr<cell[]> cells_;
  std::size_t mask_ = 0;
  alignas(line) std::atomic<std::size_t> tail_{0};
  alignas(line) std::atomic<std::size_t> head_{0};
};

}  // namespace iomt::pipeline
