// A small fork-join pool: run(n, fn) calls fn(i) for every i in [0, n) on the pool's threads and
// the calling thread, and returns when all calls returned. Parsing and normalization of one
// submission use it so that they run on as many threads as there are shards, also when the
// durable buffer's single consumer thread submits (issue 11). Several callers may run jobs at the
// same time; each job is shared by whichever threads are free.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace iomt::pipeline {

class fork_join_pool {
public:
  explicit fork_join_pool(std::size_t threads);  // workers besides the callers (0: run inline)
  ~fork_join_pool();
  fork_join_pool(const fork_join_pool&) = delete;
  fork_join_pool& operator=(const fork_join_pool&) = delete;

  // fn must not throw. Thread-safe.
  void run(std::size_t n, const std::function<void(std::size_t)>& fn);
  std::size_t workers() const { return threads_.size(); }

private:
  struct job {
    const std::function<void(std::size_t)>* fn;
    std::size_t n;
    std::atomic<std::size_t> next{0};
    std::size_t active = 0;  // workers inside it (under mu_)
  };
  void worker();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<job*> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace iomt::pipeline
