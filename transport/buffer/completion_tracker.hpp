// Out-of-order completions -> the consumer checkpoint (sans-io, STYLE habit 4). The consumer reads
// the log in order and submits it downstream in batches; batches finish in any order (shards,
// FHIR latency). The checkpoint is the lowest sequence not yet final: the first unfinished
// batch's first sequence, or the read position when every batch is finished.
// Single-threaded (the consumer thread owns it).
#pragma once

#include <cstdint>
#include <deque>

namespace iomt::transport::buffer {

class completion_tracker {
public:
  explicit completion_tracker(std::uint64_t start = 1) : start_(start) {}

  // The id the next add() returns (completions may name it before add() runs).
  std::uint64_t next_id() const { return base_id_ + batches_.size(); }
  // Registers the next batch in read order: sequences [first_seq, end_seq), `events` of them.
  std::uint64_t add(std::uint64_t first_seq, std::uint64_t end_seq, std::size_t events);
  // Marks a batch final. Unknown or repeated ids are ignored (returns false).
  bool finish(std::uint64_t id);

  // Lowest sequence not final, given the reader's position (sequence it will read next).
  std::uint64_t checkpoint(std::uint64_t read_position) const;
  std::size_t batches_in_flight() const { return batches_.size() - done_count_; }
  std::size_t events_in_flight() const { return events_in_flight_; }

private:
  struct entry {
    std::uint64_t first_seq;
    std::uint64_t end_seq;
    std::size_t events;
    bool done;
  };
  std::deque<entry> batches_;       // from the oldest unfinished (front) on
  std::uint64_t base_id_ = 0;       // id of batches_.front()
  std::uint64_t start_;             // checkpoint when nothing was ever added
  std::uint64_t finished_end_ = 0;  // end_seq of the last batch popped
  std::size_t done_count_ = 0;      // finished entries still queued behind an unfinished one
  std::size_t events_in_flight_ = 0;
};

}  // namespace iomt::transport::buffer
