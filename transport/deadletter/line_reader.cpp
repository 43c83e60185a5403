#include "transport/deadletter/line_reader.hpp"

namespace iomt::transport::deadletter {

buffer::result<bool> line_reader::next(std::string_view& line, std::uint64_t& offset) {
  std::size_t search = pos_;
  for (;;) {
    const std::size_t nl = buf_.find('\n', search);
    if (nl != std::string::npos) {
      const std::size_t start = pos_;
      pos_ = nl + 1;
      search = pos_;
      if (nl == start) continue;  // an empty line
      line = std::string_view(buf_).substr(start, nl - start);
      offset = buf_offset_ + start;
      return true;
    }
    if (eof_) {
      if (pos_ >= buf_.size()) return false;
      line = std::string_view(buf_).substr(pos_);
      offset = buf_offset_ + pos_;
      pos_ = buf_.size();
      return true;
    }
    // Keep the unfinished line, read the next chunk after it.
    buf_.erase(0, pos_);
    buf_offset_ += pos_;
    pos_ = 0;
    search = buf_.size();
    const std::size_t have = buf_.size();
    buf_.resize(have + chunk_);
    std::size_t got = 0;
    if (auto e = io_.pread_all(file_, buf_.data() + have, chunk_, buf_offset_ + have, got)) return *e;
    buf_.resize(have + got);
    if (got < chunk_) eof_ = true;
  }
}

}  // namespace iomt::transport::deadletter
