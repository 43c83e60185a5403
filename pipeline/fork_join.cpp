#include "pipeline/fork_join.hpp"

#include <algorithm>

namespace iomt::pipeline {

fork_join_pool::fork_join_pool(std::size_t threads) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { worker(); });
}

fork_join_pool::~fork_join_pool() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void fork_join_pool::run(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  if (threads_.empty() || n == 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  job j{&fn, n};
  {
    std::lock_guard l(mu_);
    jobs_.push_back(&j);
  }
  work_cv_.notify_all();
  for (std::size_t i; (i = j.next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
  // Every index is claimed: no new worker may join; wait for those inside to finish theirs.
  std::unique_lock l(mu_);
  if (auto it = std::find(jobs_.begin(), jobs_.end(), &j); it != jobs_.end()) jobs_.erase(it);
  idle_cv_.wait(l, [&] { return j.active == 0; });
}

void fork_join_pool::worker() {
  std::unique_lock l(mu_);
  for (;;) {
    work_cv_.wait(l, [&] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    job* j = jobs_.front();
    ++j->active;
    l.unlock();
    for (std::size_t i; (i = j->next.fetch_add(1, std::memory_order_relaxed)) < j->n;) (*j->fn)(i);
    l.lock();
    // Exhausted: nobody needs to look at it again (its caller may already have removed it).
    if (auto it = std::find(jobs_.begin(), jobs_.end(), j); it != jobs_.end()) jobs_.erase(it);
    if (--j->active == 0) idle_cv_.notify_all();
  }
}

}  // namespace iomt::pipeline
