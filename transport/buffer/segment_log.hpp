// The durable buffer: an append-only log of device events in segment files on local disk
// (format: record.hpp; opening after a crash: recovery.hpp; the consumer checkpoint: checkpoint.hpp).
//
// Appends from any number of threads are queued and written by ONE writer thread in batches
// (group commit): each batch is one write() per segment and, with fsync `always`, one fdatasync
// before any of its appenders is told "durable". Sequences are assigned by the writer in log
// order, 64-bit, strictly increasing.
//
// fsync policy:
//   always   - fdatasync before acknowledging each batch: an acknowledged event survives a crash
//              of the process AND of the machine (power loss).
//   interval - acknowledge after write(); fdatasync every fsync_interval: survives a process crash
//              (kill -9); a machine crash may lose the last interval.
//   never    - acknowledge after write(); the OS writes back when it likes.
//
// Back-pressure: the segment files' total size is bounded by max_bytes; an append that would
// cross it is refused at once (errc::full: HTTP 503 + Retry-After) until the consumer checkpoint
// lets whole segments be deleted. Disk errors (EROFS, ENOSPC, EIO ...) fail the appends concerned
// with the errno text and path, never a false success; for retry_after_error afterwards appends are
// refused at once with the same error, then one batch probes the disk again. A failed fdatasync
// makes the log refuse every write until it is reopened (the page cache can no longer be trusted).
#pragma once

#include "transport/buffer/file_io.hpp"
#include "transport/buffer/recovery.hpp"
#include "transport/event.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace iomt::transport::buffer {

enum class fsync_policy { always, interval, never };
const char* to_string(fsync_policy p);
bool parse_fsync_policy(std::string_view text, fsync_policy& out);  // "always" | "interval" | "never"

struct log_options {
  std::string dir;                            // created when missing (create_dir)
  std::uint64_t max_bytes = 1ull << 30;       // bound on the segment files' total size
  std::uint64_t segment_bytes = 64ull << 20;  // roll past this; clamped to max_bytes / 4
  fsync_policy fsync = fsync_policy::always;
  std::chrono::milliseconds fsync_interval{1000};     // `interval` policy
  std::chrono::milliseconds retry_after_error{1000};  // refuse at once for this long after a disk error
  bool create_dir = true;
  fault_injector* faults = nullptr;  // tests only
  // The clock of the retry_after_error window (tests move it by hand; default steady_clock).
  std::function<std::chrono::steady_clock::time_point()> now;
};

struct append_result {
  std::uint64_t first_seq = 0;  // sequence of the first event (count > 0, no error)
  std::size_t count = 0;
  status err;  // nullopt: durable per the fsync policy
};
using append_done = std::function<void(const append_result&)>;

struct log_stats {
  std::uint64_t disk_bytes = 0;  // segment files
  std::uint64_t max_bytes = 0;
  std::uint64_t segments = 0;
  std::uint64_t committed_end = 0;  // sequences below are readable
  std::uint64_t checkpoint = 0;
  std::uint64_t appended_records = 0;
  std::uint64_t appended_bytes = 0;
  std::uint64_t batches = 0;  // writer batches (group commits)
  std::uint64_t fsyncs = 0;
  std::uint64_t refused_full = 0;
  std::uint64_t write_errors = 0;
};

class log_reader;

class segment_log {
public:
  // Creates the directory when missing, takes its lock, recovers (recovery.hpp), starts the writer.
  // Fails when the directory cannot be created, listed, read or locked. A directory that cannot be
  // written opens: appends then fail with the error (and `write_error()` reports it).
  static result<std::unique_ptr<segment_log>> open(const log_options& options);
  ~segment_log();
  segment_log(const segment_log&) = delete;
  segment_log& operator=(const segment_log&) = delete;

  // Thread-safe. Queues the events for the writer. nullopt: `done` runs exactly once, on the writer
  // thread, when they are durable or failed. An error: refused now (full, too_large, failed,
  // closed, or the recent disk error); `done` is not called.
  status append(std::span<const event> events, append_done done);

  // Everything below `seq` is final: writes the checkpoint file atomically, then deletes the
  // segments wholly before it. A value below the current checkpoint is ignored. One caller at a time.
  status checkpoint(std::uint64_t seq);
  std::uint64_t checkpoint_seq() const;

  std::uint64_t committed_end() const;
  // Waits until a record with seq >= `seq` is readable, the timeout passes or the log closes.
  bool wait_committed(std::uint64_t seq, std::chrono::milliseconds timeout) const;
  // Called on the writer thread after each batch is readable (the consumer's wake-up).
  void on_commit(std::function<void()> f);

  // Stops accepting, writes what is queued, syncs, stops the writer. Idempotent.
  void close();

  const recovery_report& recovery() const { return report_; }
  const log_options& options() const { return options_; }
  std::uint64_t segment_bytes() const { return segment_bytes_; }
  log_stats stats() const;
  // The last disk error while appends are being refused because of it; nullopt when writing works.
  status write_error() const;

private:
  friend class log_reader;
  struct chunk {
    std::size_t offset = 0;
    std::size_t bytes = 0;
    std::size_t count = 0;
    append_done done;
  };
  struct batch {
    std::string buf;
    std::vector<chunk> chunks;
  };

  segment_log(const log_options& options, file_io io, file lock, recovered_log recovered);
  void writer_loop();
  void write_batch(batch& b, std::vector<append_result>& results);
  status roll();
  status sync_active();
  // The first segment holding a record with seq >= `seq` (for readers); false when none.
  bool locate(std::uint64_t seq, segment_info& out) const;
  std::chrono::steady_clock::time_point now() const {
    return options_.now ? options_.now() : std::chrono::steady_clock::now();
  }

  log_options options_;
  file_io io_;
  file lock_;
  recovery_report report_;
  std::uint64_t segment_bytes_;

  mutable std::mutex mu_;
  mutable std::condition_variable writer_cv_;
  mutable std::condition_variable commit_cv_;
  std::vector<segment_info> segments_;  // last = active segment (the writer appends there)
  batch pending_;
  std::uint64_t pending_bytes_ = 0;
  std::uint64_t inflight_bytes_ = 0;  // the batch being written
  std::uint64_t disk_bytes_ = 0;
  std::uint64_t committed_end_ = 1;
  std::uint64_t checkpoint_ = 0;
  bool stopping_ = false;
  bool closed_ = false;
  std::optional<error> failed_;       // sticky (fsync failure)
  std::optional<error> write_error_;  // recent disk error
  std::chrono::steady_clock::time_point write_error_until_{};
  std::function<void()> on_commit_;
  log_stats stats_;

  // Writer thread only.
  file active_;
  std::uint64_t active_bytes_ = 0;
  std::uint64_t active_records_ = 0;
  std::uint64_t active_last_seq_ = 0;
  std::uint64_t next_seq_ = 1;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_sync_ = std::chrono::steady_clock::now();

  std::mutex checkpoint_mu_;
  std::thread writer_;
};

}  // namespace iomt::transport::buffer
