// Errors of the durable buffer (transport/buffer/): one enum for the folder (STYLE habit 5), and
// an error value that carries the errno text and the path so an operator can act on it
// ("cannot create segment /var/lib/iomtflow/buffer/00000000000000000001.seg: Read-only file system").
#pragma once

#include <string>
#include <system_error>

namespace iomt::transport::buffer {

enum class errc {
  io = 1,     // a system call failed (`sys` holds errno: EROFS, ENOSPC, EACCES, EIO, ...)
  full,       // the size bound (buffer.max_bytes) is reached: back-pressure, retry later
  too_large,  // one append is larger than the whole size bound: it can never fit
  corrupt,    // bytes on disk failed their checks (CRC, length, sequence, header)
  failed,     // an earlier fsync failed: the log refuses writes until it is reopened
  closed,     // the log is closing or closed
  invalid,    // bad options or arguments
};

const char* to_string(errc e);

struct error {
  errc code = errc::io;
  int sys = 0;          // errno when code == io (0 otherwise)
  std::string message;  // full text: what, path, errno text
};

// "<what> <path>: <strerror(sys)>" with code io.
error sys_error(int sys, const std::string& what, const std::string& path);

}  // namespace iomt::transport::buffer
