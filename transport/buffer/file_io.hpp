// Thin POSIX file calls for the durable buffer and the dead-letter store: every failure comes
// back as an error value naming the operation, the path and the errno text; nothing throws.
// Tests inject failures (EROFS, ENOSPC, EIO ...) at any call through a fault_injector, so every
// error path runs without root, full disks or broken hardware.
#pragma once

#include "transport/buffer/error.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iomt::transport::buffer {

[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location&);

template <class T>
using result = boost::system::result<T, error>;
using status = std::optional<error>;  // nullopt = success

enum class io_op { open, create, write, read, sync, sync_dir, rename, remove, truncate, mkdir, list, lock };
const char* to_string(io_op op);

// Returns an errno to make the operation on `path` fail (0: let it run). Called on any thread.
class fault_injector {
public:
  virtual ~fault_injector() = default;
  virtual int before(io_op op, const std::string& path) = 0;
};

// An owned file descriptor (move-only; closes on destruction).
class file {
public:
  file() = default;
  explicit file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  file(file&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  file& operator=(file&& o) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file() { close(); }

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void close() noexcept;

private:
  int fd_ = -1;
  std::string path_;
};

struct dir_entry {
  std::string name;
  std::uint64_t size = 0;
  bool regular = false;
};

// Stateless apart from the optional fault injector; cheap to copy.
class file_io {
public:
  explicit file_io(fault_injector* faults = nullptr) : faults_(faults) {}

  result<file> open_read(const std::string& path) const;
  // Write-only, appending; `create`: O_CREAT|O_TRUNC (a fresh file).
  result<file> open_append(const std::string& path, bool create) const;
  // Write-only, appending, created when missing, never truncated (JSON-lines files).
  result<file> open_append_keep(const std::string& path) const;
  status write_all(file& f, const char* data, std::size_t n) const;
  // Reads up to n bytes at `offset`; `got` < n only at end of file.
  status pread_all(const file& f, char* data, std::size_t n, std::uint64_t offset, std::size_t& got) const;
  status sync(file& f) const;  // fdatasync
  status sync_dir(const std::string& dir) const;
  status truncate(file& f, std::uint64_t size) const;
  status truncate(const std::string& path, std::uint64_t size) const;
  status rename(const std::string& from, const std::string& to) const;
  status remove(const std::string& path) const;  // a missing file is not an error
  // Creates the directory and its parents when missing; an error when it exists but is no directory.
  status make_dirs(const std::string& dir) const;
  result<std::vector<dir_entry>> list(const std::string& dir) const;
  result<std::uint64_t> size(const file& f) const;
  // Exclusive, non-blocking flock on dir/LOCK: one process per buffer directory.
  result<file> lock_dir(const std::string& dir) const;
  // Whole small file (checkpoint, dead-letter day files); nullopt in `out` when it does not exist.
  status read_whole(const std::string& path, std::optional<std::string>& out) const;
  // Writes `bytes` to path atomically: path.tmp, fsync, rename, fsync dir.
  status replace_atomically(const std::string& path, const std::string& bytes) const;

private:
  int inject(io_op op, const std::string& path) const { return faults_ ? faults_->before(op, path) : 0; }
  fault_injector* faults_;
};

std::string join_path(const std::string& dir, const std::string& name);

}  // namespace iomt::transport::buffer
