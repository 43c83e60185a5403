#include "transport/buffer/completion_tracker.hpp"

#include <algorithm>

namespace iomt::transport::buffer {

std::uint64_t completion_tracker::add(std::uint64_t first_seq, std::uint64_t end_seq, std::size_t events) {
  batches_.push_back({first_seq, end_seq, events, false});
  events_in_flight_ += events;
  return base_id_ + batches_.size() - 1;
}

bool completion_tracker::finish(std::uint64_t id) {
  if (id < base_id_ || id >= base_id_ + batches_.size()) return false;
  entry& e = batches_[static_cast<std::size_t>(id - base_id_)];
  if (e.done) return false;
  e.done = true;
  ++done_count_;
  events_in_flight_ -= e.events;
  while (!batches_.empty() && batches_.front().done) {
    finished_end_ = batches_.front().end_seq;
    batches_.pop_front();
    --done_count_;
    ++base_id_;
  }
  return true;
}

std::uint64_t completion_tracker::checkpoint(std::uint64_t read_position) const {
  if (!batches_.empty()) return batches_.front().first_seq;
  return std::max({read_position, finished_end_, start_});
}

}  // namespace iomt::transport::buffer
