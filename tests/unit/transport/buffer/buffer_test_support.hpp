// Helpers of the buffer suites: temporary directories, events, waiting for append completions,
// and a fault injector that fails chosen file operations with a chosen errno.
#pragma once

#include "transport/buffer/file_io.hpp"
#include "transport/buffer/segment_log.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace iomt::test {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "iomt-buffer-XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    path = t;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

inline transport::event make_event(int i, std::size_t body_bytes = 0) {
  transport::event e;
  e.body = "{\"deviceId\":\"device-" + std::to_string(i % 7) + "\",\"heartRate\":" + std::to_string(60 + i % 50) +
           ",\"seq\":" + std::to_string(i) + "}";
  if (body_bytes > e.body.size()) e.body.append(body_bytes - e.body.size(), ' ');
  e.properties = "{\"n\":" + std::to_string(i) + "}";
  e.enqueued_time = {json::unix_epoch_ticks + static_cast<std::int64_t>(i) * json::ticks_per_second,
                     json::date_kind::utc};
  return e;
}

inline bool same_event(const transport::event& a, const transport::event& b) {
  return a.body == b.body && a.properties == b.properties && a.system_properties == b.system_properties &&
         a.enqueued_time == b.enqueued_time && a.partition_key == b.partition_key;
}

// Appends and waits for the completion. nullopt in `refused` when queued.
struct append_outcome {
  transport::buffer::status refused;
  transport::buffer::append_result done;
};
inline append_outcome append_wait(transport::buffer::segment_log& log, std::vector<transport::event> events) {
  auto p = std::make_shared<std::promise<transport::buffer::append_result>>();
  auto f = p->get_future();
  append_outcome out;
  out.refused = log.append(events, [p](const transport::buffer::append_result& r) { p->set_value(r); });
  if (!out.refused) out.done = f.get();
  return out;
}

// Fails operations whose path contains `match` (empty: any) with `sys`, `count` times (-1: always).
class faults final : public transport::buffer::fault_injector {
public:
  void set(transport::buffer::io_op op, int sys, int count = -1, std::string match = {}) {
    std::lock_guard l(mu_);
    rules_.push_back({op, sys, count, std::move(match)});
  }
  void clear() {
    std::lock_guard l(mu_);
    rules_.clear();
  }
  int before(transport::buffer::io_op op, const std::string& path) override {
    std::lock_guard l(mu_);
    for (auto& r : rules_) {
      if (r.op != op || r.count == 0) continue;
      if (!r.match.empty() && path.find(r.match) == std::string::npos) continue;
      if (r.count > 0) --r.count;
      ++hits;
      return r.sys;
    }
    return 0;
  }
  std::atomic<int> hits{0};

private:
  struct rule {
    transport::buffer::io_op op;
    int sys;
    int count;
    std::string match;
  };
  std::mutex mu_;
  std::vector<rule> rules_;
};

}  // namespace iomt::test
