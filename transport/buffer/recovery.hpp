// Opening a buffer directory after a clean stop or a crash (sans-io core + file driver):
//   1. list the segment files (NNNNNNNNNNNNNNNNNNNN.seg, named by their first sequence), in order;
//   2. verify every record (length, CRC-32C, increasing sequence); a segment whose bytes stop being
//      valid is cut at the end of its last valid record: a torn tail after a crash, or corruption.
//      Every cut is REPORTED (segment, offset, bytes dropped, reason) and the dropped bytes are
//      copied to dropped/<segment>.<offset> first, so nothing disappears without a trace;
//   3. read the checkpoint (checkpoint.hpp) and delete the segments wholly before it.
// A read-only directory still opens (reading works); the cut is then only applied in memory and
// the report says the truncation failed.
#pragma once

#include "transport/buffer/file_io.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace iomt::transport::buffer {

struct segment_info {
  std::uint64_t first_seq = 0;  // from the file name
  std::string path;
  std::uint64_t bytes = 0;  // valid bytes: header + whole valid records
  std::uint64_t records = 0;
  std::uint64_t last_seq = 0;  // of the last record; first_seq - 1 when the segment is empty
};

struct tail_repair {
  std::string segment;       // path of the segment file
  std::uint64_t offset = 0;  // end of its last valid record: the file is cut there
  std::uint64_t bytes_dropped = 0;
  std::string reason;      // "incomplete record (torn write)", "CRC mismatch", ...
  std::string saved_to;    // copy of the dropped bytes ("" when it could not be written)
  bool truncated = false;  // false: the file could not be cut (e.g. read-only); ignored in memory
};

struct recovery_report {
  std::size_t segments = 0;          // segment files in use
  std::uint64_t records = 0;         // valid records in them (including those before the checkpoint)
  std::uint64_t bytes = 0;           // their valid bytes
  std::uint64_t checkpoint = 0;      // the consumer resumes here
  std::uint64_t next_seq = 1;        // the next append gets this sequence
  std::size_t segments_deleted = 0;  // wholly before the checkpoint
  std::vector<tail_repair> repairs;
  std::vector<std::string> warnings;  // e.g. an unreadable checkpoint (resuming from the oldest record)

  std::uint64_t bytes_dropped() const;
  bool clean() const { return repairs.empty() && warnings.empty(); }
  std::string summary() const;  // one line for the log
};

struct recovered_log {
  std::vector<segment_info> segments;  // in sequence order
  recovery_report report;
};

// Steps 1-3 over `dir` (which must exist). Fails only when the directory cannot be listed or a
// segment cannot be read.
result<recovered_log> recover(const file_io& io, const std::string& dir);

// Leading segments wholly before `checkpoint` (every record seq < checkpoint), never the last one.
std::size_t segments_before(const std::vector<segment_info>& segments, std::uint64_t checkpoint);

}  // namespace iomt::transport::buffer
