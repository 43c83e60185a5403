// The dead-letter store on disk: one append-only JSON-lines file per UTC day
// (deadletter-YYYY-MM-DD.jsonl, line format in entry.hpp) in its own directory. The service puts
// failed events (durable_source, on its consumer thread); `iomtflow deadletter list|show|replay`
// reads, folds and marks replays, possibly while the service runs (each line is one O_APPEND write).
#pragma once

#include "transport/buffer/file_io.hpp"
#include "transport/deadletter/entry.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace iomt::transport::deadletter {

using buffer::result;
using buffer::status;

// Where the consumer hands events that cannot be processed. put() may buffer; sync() makes what
// was put durable (the consumer checkpoints past those events only after sync succeeded).
class sink {
public:
  virtual ~sink() = default;
  virtual status put(const event& e, const failure& f) = 0;
  virtual status sync() = 0;
};

struct store_options {
  std::string dir;
  bool fsync = true;                            // fdatasync in sync()
  buffer::fault_injector* faults = nullptr;     // tests only
};

struct list_filter {
  std::string type;                             // exact error type; empty = any
  std::optional<json::date_time> since;         // last failure at or after
  bool pending_only = false;                    // not replayed since its last failure
};

class store final : public sink {
public:
  // Creates the directory when missing and loads the ids already stored.
  static result<std::unique_ptr<store>> open(const store_options& options);

  // Thread-safe. Appends a failure line (with the event the first time its id is seen).
  status put(const event& e, const failure& f) override;
  status put(const event& e, const failure& f, const json::date_time& now, std::string* id = nullptr);
  status sync() override;

  // Reads every day file (entries in first-failure order); `damaged` gets the unparsable lines.
  result<std::vector<entry>> list(const list_filter& filter = {}, std::size_t* damaged = nullptr) const;
  result<std::optional<entry>> get(std::string_view id) const;
  status mark_replayed(std::string_view id, const json::date_time& now);

  std::uint64_t put_count() const { return puts_.load(std::memory_order_relaxed); }
  std::size_t known_ids() const;
  const std::string& dir() const { return options_.dir; }

private:
  explicit store(const store_options& o) : options_(o), io_(o.faults) {}
  status append_line(const std::string& line, const json::date_time& time);

  store_options options_;
  buffer::file_io io_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> ids_;
  buffer::file day_file_;
  std::string day_;       // YYYY-MM-DD of day_file_
  bool dirty_ = false;
  std::atomic<std::uint64_t> puts_{0};
};

// "deadletter-YYYY-MM-DD.jsonl" of a time.
std::string day_file_name(const json::date_time& t);

}  // namespace iomt::transport::deadletter
