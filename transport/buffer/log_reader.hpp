// Sequential reader of the durable buffer (the consumer side): committed records in sequence
// order from a position on, decoded into events. One reader per thread; any number per log.
// Reads go through pread on its own descriptor, a window of a few MiB at a time (page cache).
#pragma once

#include "transport/buffer/segment_log.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace iomt::transport::buffer {

// Where a record lives: its segment (first seq), the byte offset of a record boundary there, and
// the position (the seq wanted next). Lets a reader come back to a batch without a rescan.
struct log_cursor {
  std::uint64_t segment = 0;  // 0: unknown (scan the segment from its start)
  std::uint64_t offset = 0;
  std::uint64_t seq = 0;
};

// A record whose CRC is right but whose payload is no event this version can decode.
struct undecodable_record {
  std::uint64_t seq = 0;
  std::string payload;
};

class log_reader {
public:
  log_reader(const segment_log& log, std::uint64_t from);

  // Appends committed events with seq >= position() (and their seqs) in order, at most
  // `max_records`, stopping once `max_bytes` of payload are read. Returns how many; 0 when nothing
  // more is committed. errc::corrupt: a record failed its check (bit rot after recovery): the rest
  // of that segment is skipped (position() moves past it) and the error says what was lost; call
  // again. Undecodable payloads go to `bad` (or are skipped when null).
  result<std::size_t> read(std::vector<event>& events, std::vector<std::uint64_t>& seqs, std::size_t max_records,
                           std::size_t max_bytes, std::vector<undecodable_record>* bad = nullptr);

  std::uint64_t position() const { return pos_; }
  log_cursor tell() const;
  void seek(std::uint64_t seq);
  void seek(const log_cursor& c);

private:
  const segment_log& log_;
  file_io io_;
  std::uint64_t pos_;
  file f_;
  std::uint64_t seg_first_ = 0;   // segment of f_ (0: none)
  std::uint64_t offset_ = 0;      // next record boundary to look at in f_
  std::uint64_t offset_seq_ = 0;  // every record at/after offset_ has seq >= this
  std::string buf_;               // window of f_ starting at buf_start_
  std::uint64_t buf_start_ = 0;
};

}  // namespace iomt::transport::buffer
