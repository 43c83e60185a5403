// The lines of one store file, read in chunks: memory stays at one chunk (or the longest line),
// whatever the file's size.
#pragma once

#include "transport/buffer/file_io.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace iomt::transport::deadletter {

class line_reader {
public:
  line_reader(const buffer::file_io& io, buffer::file f, std::size_t chunk = std::size_t{1} << 20)
      : io_(io), file_(std::move(f)), chunk_(chunk) {}

  // The next non-empty line (without its newline) and its byte offset: true; false at the end. A
  // last line without a newline (torn by a crash, or being written) is returned as well.
  buffer::result<bool> next(std::string_view& line, std::uint64_t& offset);

private:
  const buffer::file_io& io_;
  buffer::file file_;
  std::size_t chunk_;
  std::string buf_;
  std::size_t pos_ = 0;           // first unread byte of buf_
  std::uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  bool eof_ = false;
};

}  // namespace iomt::transport::deadletter
