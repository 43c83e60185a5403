#include "transport/buffer/file_io.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace iomt::transport::buffer {

const char* to_string(errc e) {
  switch (e) {
    case errc::io:
      return "io";
    case errc::full:
      return "full";
    case errc::too_large:
      return "too_large";
    case errc::corrupt:
      return "corrupt";
    case errc::failed:
      return "failed";
    case errc::closed:
      return "closed";
    case errc::invalid:
      return "invalid";
  }
  return "?";
}

error sys_error(int sys, const std::string& what, const std::string& path) {
  return {errc::io, sys, what + " " + path + ": " + std::strerror(sys)};
}

void throw_exception_from_error(const error& e, const boost::source_location&) { throw std::runtime_error(e.message); }

const char* to_string(io_op op) {
  switch (op) {
    case io_op::open:
      return "open";
    case io_op::create:
      return "create";
    case io_op::write:
      return "write";
    case io_op::read:
      return "read";
    case io_op::sync:
      return "sync";
    case io_op::sync_dir:
      return "sync_dir";
    case io_op::rename:
      return "rename";
    case io_op::remove:
      return "remove";
    case io_op::truncate:
      return "truncate";
    case io_op::mkdir:
      return "mkdir";
    case io_op::list:
      return "list";
    case io_op::lock:
      return "lock";
  }
  return "?";
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

file& file::operator=(file&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

void file::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

result<file> file_io::open_read(const std::string& path) const {
  if (int e = inject(io_op::open, path)) return sys_error(e, "cannot open", path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "cannot open", path);
  return file(fd, path);
}

result<file> file_io::open_append(const std::string& path, bool create) const {
  if (int e = inject(create ? io_op::create : io_op::open, path))
    return sys_error(e, create ? "cannot create" : "cannot open", path);
  const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return sys_error(errno, create ? "cannot create" : "cannot open for writing", path);
  return file(fd, path);
}

result<file> file_io::open_append_keep(const std::string& path) const {
  if (int e = inject(io_op::create, path)) return sys_error(e, "cannot open for appending", path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error(errno, "cannot open for appending", path);
  return file(fd, path);
}

status file_io::write_all(file& f, const char* data, std::size_t n) const {
  if (int e = inject(io_op::write, f.path())) return sys_error(e, "cannot write", f.path());
  while (n > 0) {
    const ssize_t w = ::write(f.fd(), data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "cannot write", f.path());
    }
    if (w == 0) return sys_error(EIO, "cannot write", f.path());
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return std::nullopt;
}

status file_io::pread_all(const file& f, char* data, std::size_t n, std::uint64_t offset, std::size_t& got) const {
  got = 0;
  if (int e = inject(io_op::read, f.path())) return sys_error(e, "cannot read", f.path());
  while (got < n) {
    const ssize_t r = ::pread(f.fd(), data + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "cannot read", f.path());
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return std::nullopt;
}

status file_io::sync(file& f) const {
  if (int e = inject(io_op::sync, f.path())) return sys_error(e, "cannot fsync", f.path());
  if (::fdatasync(f.fd()) != 0) return sys_error(errno, "cannot fsync", f.path());
  return std::nullopt;
}

status file_io::sync_dir(const std::string& dir) const {
  if (int e = inject(io_op::sync_dir, dir)) return sys_error(e, "cannot fsync directory", dir);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "cannot open directory", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems refuse fsync on a directory (EINVAL); the rename is then as durable as it gets.
  if (rc != 0 && err != EINVAL) return sys_error(err, "cannot fsync directory", dir);
  return std::nullopt;
}

status file_io::truncate(file& f, std::uint64_t size) const {
  if (int e = inject(io_op::truncate, f.path())) return sys_error(e, "cannot truncate", f.path());
  if (::ftruncate(f.fd(), static_cast<off_t>(size)) != 0) return sys_error(errno, "cannot truncate", f.path());
  return std::nullopt;
}

status file_io::truncate(const std::string& path, std::uint64_t size) const {
  if (int e = inject(io_op::truncate, path)) return sys_error(e, "cannot truncate", path);
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) return sys_error(errno, "cannot truncate", path);
  return std::nullopt;
}

status file_io::rename(const std::string& from, const std::string& to) const {
  if (int e = inject(io_op::rename, to)) return sys_error(e, "cannot rename " + from + " to", to);
  if (::rename(from.c_str(), to.c_str()) != 0) return sys_error(errno, "cannot rename " + from + " to", to);
  return std::nullopt;
}

status file_io::remove(const std::string& path) const {
  if (int e = inject(io_op::remove, path)) return sys_error(e, "cannot delete", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(errno, "cannot delete", path);
  return std::nullopt;
}

status file_io::make_dirs(const std::string& dir) const {
  if (int e = inject(io_op::mkdir, dir)) return sys_error(e, "cannot create directory", dir);
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return sys_error(ENOTDIR, "not a directory:", dir);
    return std::nullopt;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return sys_error(ec.value(), "cannot create directory", dir);
  return std::nullopt;
}

result<std::vector<dir_entry>> file_io::list(const std::string& dir) const {
  if (int e = inject(io_op::list, dir)) return sys_error(e, "cannot list directory", dir);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error(errno, "cannot list directory", dir);
  std::vector<dir_entry> out;
  while (const dirent* de = ::readdir(d)) {
    const std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    dir_entry e{name, 0, false};
    struct stat st {};
    if (::fstatat(::dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      e.regular = S_ISREG(st.st_mode);
      e.size = static_cast<std::uint64_t>(st.st_size);
    }
    out.push_back(std::move(e));
  }
  ::closedir(d);
  return out;
}

result<std::uint64_t> file_io::size(const file& f) const {
  struct stat st {};
  if (::fstat(f.fd(), &st) != 0) return sys_error(errno, "cannot stat", f.path());
  return static_cast<std::uint64_t>(st.st_size);
}

result<file> file_io::lock_dir(const std::string& dir) const {
  const std::string path = join_path(dir, "LOCK");
  if (int e = inject(io_op::lock, path)) return sys_error(e, "cannot lock", path);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && (errno == EROFS || errno == EACCES)) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // A read-only directory without a LOCK file: nothing else can write there either.
    if (errno == ENOENT || errno == EROFS || errno == EACCES)
      fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error(errno, "cannot open", path);
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return error{errc::io, err,
                   "the buffer directory " + dir + " is in use by another iomtflow process (" + path + " is locked)"};
    return sys_error(err, "cannot lock", path);
  }
  return file(fd, path);
}

status file_io::read_whole(const std::string& path, std::optional<std::string>& out) const {
  out.reset();
  if (int e = inject(io_op::read, path)) return sys_error(e, "cannot read", path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    return sys_error(errno, "cannot open", path);
  }
  file f(fd, path);
  std::string s;
  char buf[65536];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "cannot read", path);
    }
    if (r == 0) break;
    s.append(buf, static_cast<std::size_t>(r));
  }
  out = std::move(s);
  return std::nullopt;
}

status file_io::replace_atomically(const std::string& path, const std::string& bytes) const {
  const std::string tmp = path + ".tmp";
  auto f = open_append(tmp, true);
  if (!f) return f.error();
  if (auto e = write_all(*f, bytes.data(), bytes.size())) return e;
  if (auto e = sync(*f)) return e;
  f->close();
  if (auto e = rename(tmp, path)) return e;
  const auto slash = path.find_last_of('/');
  return sync_dir(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace iomt::transport::buffer
