#include "transport/buffer/segment_log.hpp"

#include "transport/buffer/checkpoint.hpp"
#include "transport/buffer/record.hpp"

#include <algorithm>

namespace iomt::transport::buffer {

namespace {

using clock_type = std::chrono::steady_clock;

}  // namespace

const char* to_string(fsync_policy p) {
  switch (p) {
    case fsync_policy::always:
      return "always";
    case fsync_policy::interval:
      return "interval";
    case fsync_policy::never:
      return "never";
  }
  return "?";
}

bool parse_fsync_policy(std::string_view text, fsync_policy& out) {
  if (text == "always")
    out = fsync_policy::always;
  else if (text == "interval")
    out = fsync_policy::interval;
  else if (text == "never")
    out = fsync_policy::never;
  else
    return false;
  return true;
}

result<std::unique_ptr<segment_log>> segment_log::open(const log_options& o) {
  if (o.dir.empty()) return error{errc::invalid, 0, "buffer.dir: required: the directory of the durable buffer"};
  if (o.segment_bytes <= segment_header_bytes + record_header_bytes)
    return error{errc::invalid, 0, "buffer.segment_bytes: too small (" + std::to_string(o.segment_bytes) + ")"};
  if (o.max_bytes < 4 * (segment_header_bytes + record_header_bytes))
    return error{errc::invalid, 0, "buffer.max_bytes: too small (" + std::to_string(o.max_bytes) + ")"};
  file_io io(o.faults);
  if (o.create_dir) {
    if (auto e = io.make_dirs(o.dir)) return error{e->code, e->sys, "buffer directory: " + e->message};
  }
  auto lock = io.lock_dir(o.dir);
  if (!lock) return error{lock.error().code, lock.error().sys, "buffer directory: " + lock.error().message};
  auto rec = recover(io, o.dir);
  if (!rec) return error{rec.error().code, rec.error().sys, "buffer recovery: " + rec.error().message};
  std::unique_ptr<segment_log> log(new segment_log(o, io, std::move(*lock), std::move(*rec)));
  return log;
}

segment_log::segment_log(const log_options& options, file_io io, file lock, recovered_log recovered)
    : options_(options),
      io_(io),
      lock_(std::move(lock)),
      report_(std::move(recovered.report)),
      segment_bytes_(std::max<std::uint64_t>(std::min(options.segment_bytes, options.max_bytes / 4),
                                             segment_header_bytes + record_header_bytes + 1)),
      segments_(std::move(recovered.segments)) {
  for (const auto& s : segments_) disk_bytes_ += s.bytes;
  next_seq_ = report_.next_seq;
  committed_end_ = next_seq_;
  checkpoint_ = report_.checkpoint;
  // Start a fresh segment now, so an unwritable directory shows at start-up, not at the first event.
  if (auto e = roll()) {
    write_error_ = *e;
    write_error_until_ = now() + options_.retry_after_error;
    report_.warnings.push_back("cannot write: " + e->message);
  }
  writer_ = std::thread([this] { writer_loop(); });
}

segment_log::~segment_log() { close(); }

void segment_log::close() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  writer_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard l(mu_);
    closed_ = true;
  }
  commit_cv_.notify_all();
  active_.close();
  lock_.close();
}

status segment_log::append(std::span<const event> events, append_done done) {
  if (events.empty()) {
    if (done) done(append_result{});
    return std::nullopt;
  }
  // The records are encoded once, here, outside the lock (the compact system properties are the
  // costly part); under the lock they are only copied into the writer's next batch.
  thread_local std::string encoded;
  encoded.clear();
  struct release_if_large {
    ~release_if_large() {
      if (encoded.capacity() > (std::size_t{4} << 20)) std::string().swap(encoded);
    }
  } release;
  for (const event& e : events) {
    std::size_t at = 0;
    begin_record(encoded, at);
    encode_event(encoded, e);
    const std::size_t size = encoded.size() - at - record_header_bytes;
    if (size > max_payload_bytes)
      return error{errc::too_large, 0,
                   "an event of " + std::to_string(size) + " bytes is larger than a buffer record may be"};
    end_record(encoded, at);
  }
  const std::uint64_t n = encoded.size();
  bool wake = false;
  {
    std::lock_guard l(mu_);
    if (stopping_) return error{errc::closed, 0, "the buffer is closing"};
    if (failed_) return failed_;
    if (write_error_ && now() < write_error_until_) return write_error_;
    if (n > options_.max_bytes / 2)
      return error{errc::too_large, 0,
                   "an append of " + std::to_string(n) + " bytes can never fit the buffer bound of " +
                       std::to_string(options_.max_bytes) + " bytes (buffer.max_bytes)"};
    if (disk_bytes_ + inflight_bytes_ + pending_bytes_ + n > options_.max_bytes) {
      ++stats_.refused_full;
      return error{errc::full, 0,
                   "the durable buffer is full (" + std::to_string(disk_bytes_ + inflight_bytes_ + pending_bytes_) +
                       " of " + std::to_string(options_.max_bytes) + " bytes): retry later"};
    }
    // Copied into the writer's next batch (the payload CRC was computed above, the writer only
    // finishes it with the sequence).
    wake = pending_.chunks.empty();
    const std::size_t offset = pending_.buf.size();
    pending_.buf += encoded;
    pending_.chunks.push_back({offset, static_cast<std::size_t>(n), events.size(), std::move(done)});
    pending_bytes_ += n;
  }
  if (wake) writer_cv_.notify_one();
  return std::nullopt;
}

void segment_log::writer_loop() {
  batch local;
  std::vector<append_result> results;
  std::unique_lock l(mu_);
  for (;;) {
    if (pending_.chunks.empty()) {
      if (stopping_) break;
      if (options_.fsync == fsync_policy::interval && dirty_) {
        const auto deadline = last_sync_ + options_.fsync_interval;
        if (writer_cv_.wait_until(l, deadline) == std::cv_status::timeout && pending_.chunks.empty()) {
          l.unlock();
          auto e = sync_active();
          l.lock();
          if (e && !failed_)
            failed_ = error{errc::failed, e->sys, e->message + " (the buffer refuses writes until restarted)"};
        }
      } else {
        writer_cv_.wait(l);
      }
      continue;
    }
    std::swap(local, pending_);
    inflight_bytes_ = pending_bytes_;
    pending_bytes_ = 0;
    l.unlock();
    write_batch(local, results);
    std::function<void()> notify;
    {
      std::lock_guard g(mu_);
      notify = on_commit_;
    }
    for (std::size_t i = 0; i < local.chunks.size(); ++i)
      if (local.chunks[i].done) local.chunks[i].done(results[i]);
    if (notify) notify();
    local.chunks.clear();
    local.buf.clear();
    if (local.buf.capacity() > (16u << 20)) std::string().swap(local.buf);
    l.lock();
  }
  l.unlock();
  if (options_.fsync != fsync_policy::never) sync_active();
}

void segment_log::write_batch(batch& b, std::vector<append_result>& results) {
  const std::size_t n = b.chunks.size();
  results.assign(n, append_result{});
  for (std::size_t i = 0; i < n; ++i) results[i].count = b.chunks[i].count;
  status err;
  std::size_t written = 0;  // chunks written
  std::uint64_t written_bytes = 0;
  std::size_t i = 0;
  while (i < n) {
    if (failed_) {
      err = failed_;
      break;
    }
    if (!active_.is_open() || (active_records_ > 0 && active_bytes_ + b.chunks[i].bytes > segment_bytes_)) {
      if ((err = roll())) break;
    }
    // A run: the chunks that fit this segment (at least one), written with one write().
    std::size_t j = i;
    std::uint64_t run = 0;
    std::size_t records = 0;
    do {
      run += b.chunks[j].bytes;
      records += b.chunks[j].count;
      ++j;
    } while (j < n && active_bytes_ + run + b.chunks[j].bytes <= segment_bytes_);
    std::uint64_t seq = next_seq_;
    for (std::size_t k = i; k < j; ++k) {
      results[k].first_seq = seq;
      char* p = b.buf.data() + b.chunks[k].offset;
      for (std::size_t r = 0; r < b.chunks[k].count; ++r) {
        seal_record(p, seq++);
        p += record_header_bytes + record_payload_length(p);
      }
    }
    if ((err = io_.write_all(active_, b.buf.data() + b.chunks[i].offset, static_cast<std::size_t>(run)))) {
      // Undo a partial write so the segment ends at a record boundary; the sequences are reused.
      if (auto t = io_.truncate(active_, active_bytes_)) {
        std::lock_guard l(mu_);
        failed_ = error{errc::failed, t->sys,
                        err->message + "; then " + t->message + " (the buffer refuses writes until restarted)"};
      }
      break;
    }
    active_bytes_ += run;
    active_records_ += records;
    active_last_seq_ = seq - 1;
    next_seq_ = seq;
    dirty_ = true;
    written = j;
    written_bytes += run;
    i = j;
  }
  if (written > 0 && !failed_) {
    const bool due =
        options_.fsync == fsync_policy::always ||
        (options_.fsync == fsync_policy::interval && clock_type::now() - last_sync_ >= options_.fsync_interval);
    if (due) {
      if (auto e = sync_active()) {
        std::lock_guard l(mu_);
        failed_ = error{errc::failed, e->sys, e->message + " (the buffer refuses writes until restarted)"};
      }
    }
  }
  if (failed_ && options_.fsync == fsync_policy::always) {
    // Never a false success: what was written but not synced is reported failed.
    written = 0;
    err = failed_;
  }
  for (std::size_t k = written; k < n; ++k) {
    if (err)
      results[k].err = err;
    else
      results[k].err = error{errc::io, 0, "not written"};
  }

  std::lock_guard l(mu_);
  if (!segments_.empty() && active_.is_open()) {
    segment_info& s = segments_.back();
    s.bytes = active_bytes_;
    s.records = active_records_;
    s.last_seq = active_last_seq_;
  }
  disk_bytes_ += written_bytes;
  inflight_bytes_ = 0;
  committed_end_ = next_seq_;
  ++stats_.batches;
  for (std::size_t k = 0; k < written; ++k) stats_.appended_records += b.chunks[k].count;
  stats_.appended_bytes += written_bytes;
  if (err && err->code == errc::io) {
    ++stats_.write_errors;
    write_error_ = err;
    write_error_until_ = now() + options_.retry_after_error;
  } else if (!err) {
    write_error_.reset();
  }
  commit_cv_.notify_all();
}

status segment_log::sync_active() {
  if (!active_.is_open() || !dirty_) return std::nullopt;
  if (auto e = io_.sync(active_)) return e;
  dirty_ = false;
  last_sync_ = clock_type::now();
  std::lock_guard l(mu_);
  ++stats_.fsyncs;
  return std::nullopt;
}

status segment_log::roll() {
  if (active_.is_open()) {
    if (options_.fsync != fsync_policy::never) {
      if (auto e = sync_active()) {
        std::lock_guard l(mu_);
        failed_ = error{errc::failed, e->sys, e->message + " (the buffer refuses writes until restarted)"};
        return failed_;
      }
    }
    std::lock_guard l(mu_);
    segment_info& s = segments_.back();
    s.bytes = active_bytes_;
    s.records = active_records_;
    s.last_seq = active_last_seq_;
  }
  active_.close();
  const std::string path = join_path(options_.dir, segment_file_name(next_seq_));
  auto f = io_.open_append(path, true);
  if (!f) return f.error();
  std::string header;
  append_segment_header(header, next_seq_);
  status e = io_.write_all(*f, header.data(), header.size());
  if (!e && options_.fsync != fsync_policy::never) {
    e = io_.sync(*f);
    if (!e) e = io_.sync_dir(options_.dir);
  }
  if (e) {
    f->close();
    io_.remove(path);
    return e;
  }
  active_ = std::move(*f);
  active_bytes_ = segment_header_bytes;
  active_records_ = 0;
  active_last_seq_ = next_seq_ - 1;
  dirty_ = false;
  std::lock_guard l(mu_);
  // An empty recovered segment of the same name (its removal failed) was just replaced by this file.
  if (!segments_.empty() && segments_.back().first_seq == next_seq_) {
    disk_bytes_ -= segments_.back().bytes;
    segments_.pop_back();
  }
  segments_.push_back({next_seq_, path, segment_header_bytes, 0, next_seq_ - 1});
  disk_bytes_ += segment_header_bytes;
  return std::nullopt;
}

status segment_log::checkpoint(std::uint64_t seq) {
  std::lock_guard cl(checkpoint_mu_);
  bool write = false;
  {
    std::lock_guard l(mu_);
    seq = std::min(seq, committed_end_);
    if (seq < checkpoint_) return std::nullopt;
    write = seq > checkpoint_;
  }
  if (write) {
    if (auto e =
            io_.replace_atomically(join_path(options_.dir, std::string(checkpoint_file_name)), encode_checkpoint(seq)))
      return e;
  }
  std::vector<std::string> doomed;
  {
    std::lock_guard l(mu_);
    checkpoint_ = seq;
    const std::size_t n = segments_before(segments_, seq);
    for (std::size_t i = 0; i < n; ++i) {
      disk_bytes_ -= segments_[i].bytes;
      doomed.push_back(std::move(segments_[i].path));
    }
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  status first;
  for (const auto& p : doomed)
    if (auto e = io_.remove(p); e && !first) first = e;
  return first;
}

std::uint64_t segment_log::checkpoint_seq() const {
  std::lock_guard l(mu_);
  return checkpoint_;
}

std::uint64_t segment_log::committed_end() const {
  std::lock_guard l(mu_);
  return committed_end_;
}

bool segment_log::wait_committed(std::uint64_t seq, std::chrono::milliseconds timeout) const {
  std::unique_lock l(mu_);
  commit_cv_.wait_for(l, timeout, [&] { return committed_end_ > seq || closed_; });
  return committed_end_ > seq;
}

void segment_log::on_commit(std::function<void()> f) {
  std::lock_guard l(mu_);
  on_commit_ = std::move(f);
}

log_stats segment_log::stats() const {
  std::lock_guard l(mu_);
  log_stats s = stats_;
  s.disk_bytes = disk_bytes_;
  s.max_bytes = options_.max_bytes;
  s.segments = segments_.size();
  s.committed_end = committed_end_;
  s.checkpoint = checkpoint_;
  return s;
}

status segment_log::write_error() const {
  std::lock_guard l(mu_);
  if (failed_) return failed_;
  if (write_error_ && now() < write_error_until_) return write_error_;
  return std::nullopt;
}

bool segment_log::locate(std::uint64_t seq, segment_info& out) const {
  std::lock_guard l(mu_);
  auto it =
      std::partition_point(segments_.begin(), segments_.end(), [&](const segment_info& s) { return s.last_seq < seq; });
  while (it != segments_.end() && it->records == 0) ++it;
  if (it == segments_.end()) return false;
  out = *it;
  return true;
}

}  // namespace iomt::transport::buffer
