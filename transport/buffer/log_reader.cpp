#include "transport/buffer/log_reader.hpp"

#include "transport/buffer/record.hpp"

#include <algorithm>

namespace iomt::transport::buffer {

namespace {
constexpr std::size_t window_bytes = 1u << 20;
}

log_reader::log_reader(const segment_log& log, std::uint64_t from) : log_(log), io_(log.options().faults), pos_(from) {}

log_cursor log_reader::tell() const {
  if (f_.is_open() && offset_seq_ == pos_) return {seg_first_, offset_, pos_};
  return {0, 0, pos_};
}

void log_reader::seek(std::uint64_t seq) { seek(log_cursor{0, 0, seq}); }

void log_reader::seek(const log_cursor& c) {
  pos_ = c.seq;
  if (c.segment != 0 && c.segment == seg_first_ && f_.is_open()) {
    offset_ = c.offset;
    offset_seq_ = c.seq;
  } else if (c.segment != 0) {
    f_.close();
    seg_first_ = c.segment;
    offset_ = c.offset;
    offset_seq_ = c.seq;
    buf_.clear();
  } else {
    // Unknown place: rescan the segment from its start when going backwards.
    if (pos_ < offset_seq_) {
      offset_ = segment_header_bytes;
      offset_seq_ = seg_first_;
    }
  }
}

result<std::size_t> log_reader::read(std::vector<event>& events, std::vector<std::uint64_t>& seqs,
                                     std::size_t max_records, std::size_t max_bytes,
                                     std::vector<undecodable_record>* bad) {
  std::size_t got = 0;
  std::size_t bytes = 0;
  std::vector<record_view> views;
  while (got < max_records && bytes < max_bytes) {
    segment_info seg;
    if (!log_.locate(pos_, seg)) break;
    if (seg.first_seq != seg_first_ || !f_.is_open()) {
      const bool resume = seg.first_seq == seg_first_ && offset_ >= segment_header_bytes;  // seek(cursor)
      auto f = io_.open_read(seg.path);
      if (!f) {
        if (got > 0) break;
        return f.error();
      }
      f_ = std::move(*f);
      buf_.clear();
      if (!resume) {
        seg_first_ = seg.first_seq;
        offset_ = segment_header_bytes;
        offset_seq_ = seg.first_seq;
      }
    } else if (pos_ < offset_seq_) {
      offset_ = segment_header_bytes;
      offset_seq_ = seg.first_seq;
    }
    if (offset_ >= seg.bytes) {
      // locate() says a record >= pos_ is here, yet the cursor is at the end: rescan once.
      if (offset_ == segment_header_bytes) break;
      offset_ = segment_header_bytes;
      offset_seq_ = seg.first_seq;
      continue;
    }
    const std::uint64_t avail = seg.bytes - offset_;
    // Window: the bytes already read when they cover offset_, else a fresh read.
    std::string_view window;
    if (offset_ >= buf_start_ && offset_ < buf_start_ + buf_.size()) {
      window = std::string_view(buf_).substr(static_cast<std::size_t>(offset_ - buf_start_));
      if (window.size() > avail) window = window.substr(0, static_cast<std::size_t>(avail));
    }
    views.clear();
    scan_result r = scan_records(window, 0, &views);
    if (r.records == 0) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(avail, std::max(window_bytes, r.need_bytes)));
      buf_.resize(want);
      std::size_t n = 0;
      if (auto e = io_.pread_all(f_, buf_.data(), want, offset_, n)) {
        buf_.clear();
        if (got > 0) break;
        return *e;
      }
      buf_.resize(n);
      buf_start_ = offset_;
      window = buf_;
      views.clear();
      r = scan_records(window, 0, &views);
      if (r.records == 0 && r.stop == scan_stop::incomplete && n == want && want < avail)
        continue;  // a record larger than the window
      if (r.records == 0) {
        // Damaged bytes inside the committed part of a segment (bit rot after recovery, or the file
        // was cut behind our back): report once, skip the rest of the segment.
        if (got > 0) break;
        error e{errc::corrupt, 0,
                "buffer record damaged in " + seg.path + " at offset " + std::to_string(offset_) + " (" +
                    to_string(r.stop) + "): the records from sequence " + std::to_string(pos_) + " to " +
                    std::to_string(seg.last_seq) + " of this segment are skipped"};
        pos_ = seg.last_seq + 1;
        offset_ = seg.bytes;
        offset_seq_ = pos_;
        return e;
      }
    }
    std::size_t consumed = 0;
    bool full = false;
    for (const record_view& v : views) {
      if (v.seq >= pos_) {
        if (got >= max_records || bytes >= max_bytes) {
          full = true;
          break;
        }
        events.emplace_back();
        // The events of one request share its id (decode_event keeps it when it is the same).
        if (events.size() > 1) events.back().request_id = events[events.size() - 2].request_id;
        if (decode_event(v.payload, events.back())) {
          seqs.push_back(v.seq);
          ++got;
          bytes += v.payload.size();
        } else {
          events.pop_back();
          if (bad) bad->push_back({v.seq, std::string(v.payload)});
        }
        pos_ = v.seq + 1;
      }
      consumed += record_header_bytes + v.payload.size();
      offset_seq_ = v.seq + 1;
    }
    offset_ += consumed;
    if (full) break;
  }
  return got;
}

}  // namespace iomt::transport::buffer
