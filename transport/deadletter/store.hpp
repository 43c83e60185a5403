// The dead-letter store on disk: append-only JSON-lines files (line format in entry.hpp, file
// names and retention in files.hpp) in its own directory. The service puts failed events
// (durable_source on its consumer thread, retrying_sink on the pipeline's threads);
// `iomtflow deadletter list|show|replay` reads, folds and marks replays, possibly while the
// service runs (each line is one O_APPEND write).
//
// Bounded (issue 12): the store keeps at most max_bytes and max_age of dead letters, dropping whole
// files oldest first, each drop counted (on_dropped: iomtflow_deadletter_dropped_total{reason})
// and logged per file (rate-limited by the service log); its memory does not grow with its contents (recent_ids.hpp
// instead of every id); a submission adds at most max_entries_per_submission separate entries, its other failed events
// go into grouped entries (group.hpp); the policy (policy.hpp) counts some error types without storing them.
#pragma once

#include "transport/buffer/file_io.hpp"
#include "transport/deadletter/entry.hpp"
#include "transport/deadletter/files.hpp"
#include "transport/deadletter/group.hpp"
#include "transport/deadletter/policy.hpp"
#include "transport/deadletter/recent_ids.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace iomt::transport::deadletter {

using buffer::result;
using buffer::status;

// Where the consumer hands events that cannot be processed. put() may buffer; sync() makes what
// was put durable (the consumer checkpoints past those events only after sync succeeded). After
// an error from either, the caller puts the events again (from its last successful sync).
class sink {
public:
  virtual ~sink() = default;
  virtual status put(const event& e, const failure& f) = 0;
  virtual status sync() = 0;
};

struct store_options {
  using log_fn = std::function<void(int level, const std::string& message, const std::string& detail)>;
  std::string dir;
  bool fsync = true;                         // fdatasync in sync()
  buffer::fault_injector* faults = nullptr;  // tests only
  // Bounds; 0 switches one off (the CLI opens the store without them: it never drops).
  std::uint64_t max_bytes = 0;                  // deadletter.max_bytes
  std::chrono::milliseconds max_age{0};         // deadletter.max_age
  std::uint64_t file_bytes = 0;                 // a new file past this; 0: max_bytes / 8 in [64 KiB, 64 MiB]
  std::size_t max_entries_per_submission = 10;  // deadletter.max_entries_per_submission; 0: no groups
  std::size_t max_group_bytes = 4u << 20;       // a grouped entry is written at this size (and at sync)
  std::size_t recent_ids = 32768;               // ids remembered (recent_ids.hpp)
  deadletter::policy policy = {};               // deadletter.policy
  std::chrono::milliseconds policy_log_interval{60000};
  std::function<json::date_time()> clock = {};  // empty: utc_now (tests move time by hand)
  // Events no longer (or never) kept: reason "max_bytes" | "max_age" | "policy".
  std::function<void(std::string_view reason, std::uint64_t events)> on_dropped = {};
  std::function<void(std::uint64_t bytes)> on_size = {};  // the store's bytes on disk, after each change
  // level 0 info, 1 warn, 2 error (as retrying_sink).
  log_fn log = {};
};

struct list_filter {
  std::string type;                      // exact error type; empty = any
  std::optional<json::date_time> since;  // last failure at or after
  bool pending_only = false;             // not replayed since its last failure
};

enum class load {
  no_events,      // failures, times, counts: no event bodies (a group's failures, not its events)
  single_events,  // and the event of each single entry (a group's events are left out)
  all_events,     // and every event of a group (entry::grouped)
};

struct scan_report {
  std::size_t damaged = 0;   // lines that do not parse (a torn last line after a crash)
  std::size_t orphaned = 0;  // failure lines whose event was in a file dropped earlier
  std::size_t vanished = 0;  // entries whose file was dropped while they were being read
};

class store final : public sink {
public:
  // Creates the directory when missing, lists its files (never their contents) and applies the
  // bounds at once (a lowered max_bytes takes effect at start-up).
  static result<std::unique_ptr<store>> open(const store_options& options);
  ~store() override;

  // Thread-safe. The first max_entries_per_submission puts of a thread since its last sync() are
  // entries of their own: a failure line, with the event unless its id is recent. Later ones go
  // into grouped entries (one per stage and type), written at sync() or at max_group_bytes.
  status put(const event& e, const failure& f) override;
  status put(const event& e, const failure& f, const json::date_time& now, std::string* id = nullptr);
  status sync() override;
  // Drops the files past max_age at `now`; the service calls it every minute so that an idle
  // store ages too (puts apply both bounds themselves).
  status expire(const json::date_time& now);

  // Streams the entries matching `filter`, in first-failure order, to `visit` (return false to
  // stop), with the event bodies `what` says. Memory: one summary per entry (index.hpp) plus the
  // entry being visited.
  status scan(const list_filter& filter, load what, const std::function<bool(const entry&)>& visit,
              scan_report* report = nullptr) const;
  // Every matching entry with its events (small stores, tests); `damaged` gets unparsable lines.
  result<std::vector<entry>> list(const list_filter& filter = {}, std::size_t* damaged = nullptr) const;
  // One entry with its events; reads only the lines of that id.
  result<std::optional<entry>> get(std::string_view id) const;
  status mark_replayed(std::string_view id, const json::date_time& now);
  status mark_replayed(const std::vector<std::string>& ids, const json::date_time& now);  // one fsync

  std::uint64_t put_count() const { return puts_.load(std::memory_order_relaxed); }
  std::size_t known_ids() const;  // ids in the recent set
  std::uint64_t bytes() const;    // bytes of the store's files
  std::size_t file_count() const;
  const std::string& dir() const { return options_.dir; }

private:
  struct window {  // one thread's puts since its last sync
    std::size_t entries = 0;
    std::vector<group_builder> groups;
    json::date_time time;
  };

  explicit store(const store_options& o);
  json::date_time now() const { return options_.clock ? options_.clock() : utc_now(); }
  status append_locked(const std::string& lines, const json::date_time& time, std::uint64_t events);
  status prepare_file_locked(const json::date_time& time);
  status refresh_locked();
  void enforce_locked(const json::date_time& now, std::uint64_t incoming = 0);
  std::uint64_t oldest_number_locked() const;
  std::uint64_t count_events(const std::string& path) const;
  void log(int level, const std::string& message, const std::string& detail) const {
    if (options_.log) options_.log(level, message, detail);
  }

  store_options options_;
  std::uint64_t file_bytes_;
  buffer::file_io io_;
  mutable std::mutex mu_;
  std::vector<file_info> files_;  // oldest first
  buffer::file active_;           // open for appending: the file named active_name_
  std::string active_name_;
  bool dirty_ = false;
  std::uint64_t total_bytes_ = 0;
  std::uint64_t next_number_ = 1;
  recent_ids recent_;
  std::unordered_map<std::thread::id, window> windows_;
  count_log_limiter counted_;
  std::atomic<std::uint64_t> puts_{0};
};

}  // namespace iomt::transport::deadletter
