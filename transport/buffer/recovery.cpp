#include "transport/buffer/recovery.hpp"

#include "transport/buffer/checkpoint.hpp"
#include "transport/buffer/record.hpp"

#include <algorithm>

namespace iomt::transport::buffer {

namespace {

constexpr std::size_t read_chunk = 4u << 20;

struct file_scan {
  bool header_ok = false;
  std::uint64_t header_seq = 0;
  std::uint64_t file_bytes = 0;
  std::uint64_t valid_bytes = 0;
  std::uint64_t records = 0;
  std::uint64_t last_seq = 0;
  scan_stop stop = scan_stop::end;
};

// Streams one segment file through scan_records in chunks.
result<file_scan> scan_file(const file_io& io, const std::string& path, std::uint64_t min_seq) {
  auto f = io.open_read(path);
  if (!f) return f.error();
  auto size = io.size(*f);
  if (!size) return size.error();
  file_scan s;
  s.file_bytes = *size;
  std::string buf(segment_header_bytes, '\0');
  std::size_t got = 0;
  if (auto e = io.pread_all(*f, buf.data(), buf.size(), 0, got)) return *e;
  if (got < segment_header_bytes || !parse_segment_header(buf, s.header_seq)) return s;
  s.header_ok = true;
  s.valid_bytes = segment_header_bytes;
  std::uint64_t next_min = min_seq;
  std::string chunk;
  std::size_t want = read_chunk;
  while (s.valid_bytes < s.file_bytes) {
    const std::uint64_t left = s.file_bytes - s.valid_bytes;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, want));
    chunk.resize(n);
    if (auto e = io.pread_all(*f, chunk.data(), n, s.valid_bytes, got)) return *e;
    chunk.resize(got);
    const scan_result r = scan_records(chunk, next_min);
    if (r.records > 0) {
      s.records += r.records;
      s.last_seq = r.last_seq;
      next_min = r.last_seq + 1;
    }
    s.valid_bytes += r.valid_bytes;
    if (r.stop == scan_stop::end) continue;
    if (r.stop == scan_stop::incomplete && got == n && n < left) {
      // Only the chunk boundary cut the record: read on (a larger chunk when one record needs it).
      want = std::max(read_chunk, r.need_bytes);
      continue;
    }
    s.stop = r.stop;
    break;
  }
  if (s.valid_bytes < s.file_bytes && s.stop == scan_stop::end) s.stop = scan_stop::incomplete;
  return s;
}

// Copies bytes [from, end) of `path` to dir/dropped/<name>.<from> (best effort).
std::string save_dropped(const file_io& io, const std::string& dir, const std::string& path, const std::string& name,
                         std::uint64_t from, std::uint64_t to, std::vector<std::string>& warnings) {
  const std::string dropped_dir = join_path(dir, "dropped");
  const std::string target = join_path(dropped_dir, name + "." + std::to_string(from));
  auto fail = [&](const error& e) {
    warnings.push_back("could not keep a copy of the dropped bytes: " + e.message);
    return std::string();
  };
  if (auto e = io.make_dirs(dropped_dir)) return fail(*e);
  auto in = io.open_read(path);
  if (!in) return fail(in.error());
  auto out = io.open_append(target, true);
  if (!out) return fail(out.error());
  std::string buf;
  for (std::uint64_t at = from; at < to;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(to - at, read_chunk));
    buf.resize(n);
    std::size_t got = 0;
    if (auto e = io.pread_all(*in, buf.data(), n, at, got)) return fail(*e);
    if (got == 0) break;
    if (auto e = io.write_all(*out, buf.data(), got)) return fail(*e);
    at += got;
  }
  if (auto e = io.sync(*out)) return fail(*e);
  return target;
}

}  // namespace

std::uint64_t recovery_report::bytes_dropped() const {
  std::uint64_t n = 0;
  for (const auto& r : repairs) n += r.bytes_dropped;
  return n;
}

std::string recovery_report::summary() const {
  std::string s = std::to_string(segments) + " segment(s), " + std::to_string(records) + " record(s), checkpoint " +
                  std::to_string(checkpoint) + ", next sequence " + std::to_string(next_seq);
  if (segments_deleted) s += ", " + std::to_string(segments_deleted) + " consumed segment(s) deleted";
  for (const auto& r : repairs) {
    s += "; cut " + r.segment + " at offset " + std::to_string(r.offset) + ": " + std::to_string(r.bytes_dropped) +
         " byte(s) dropped (" + r.reason + ")";
    if (!r.saved_to.empty()) s += ", kept in " + r.saved_to;
    if (!r.truncated) s += ", file NOT truncated";
  }
  for (const auto& w : warnings) s += "; " + w;
  return s;
}

std::size_t segments_before(const std::vector<segment_info>& segments, std::uint64_t checkpoint) {
  std::size_t n = 0;
  // Segment i holds seqs below segments[i+1].first_seq, so it is consumed when that is <= checkpoint.
  while (n + 1 < segments.size() && segments[n + 1].first_seq <= checkpoint && segments[n].last_seq < checkpoint) ++n;
  return n;
}

result<recovered_log> recover(const file_io& io, const std::string& dir) {
  recovered_log out;
  recovery_report& rep = out.report;

  auto entries = io.list(dir);
  if (!entries) return entries.error();
  std::vector<std::pair<std::uint64_t, dir_entry>> segs;
  for (auto& e : *entries)
    if (auto seq = parse_segment_file_name(e.name); seq && e.regular) segs.emplace_back(*seq, std::move(e));
  std::sort(segs.begin(), segs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  // The checkpoint first: it is needed to know what may be deleted.
  std::uint64_t checkpoint = 0;
  {
    const std::string path = join_path(dir, std::string(checkpoint_file_name));
    std::optional<std::string> bytes;
    if (auto e = io.read_whole(path, bytes)) return *e;
    if (bytes) {
      if (auto c = decode_checkpoint(*bytes))
        checkpoint = *c;
      else
        rep.warnings.push_back(
            "the checkpoint file " + path +
            " is damaged: resuming from the oldest record (events may be processed twice; upserts are idempotent)");
    }
  }

  std::uint64_t next_min = 1;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::uint64_t name_seq = segs[i].first;
    const std::string path = join_path(dir, segs[i].second.name);
    const bool last = i + 1 == segs.size();
    auto s = scan_file(io, path, std::max(next_min, name_seq));
    if (!s) return s.error();
    if (!s->header_ok || s->header_seq != name_seq) {
      tail_repair r;
      r.segment = path;
      r.offset = 0;
      r.bytes_dropped = s->file_bytes;
      if (last && s->file_bytes < segment_header_bytes) {
        // Created, then the crash came before its header was written: nothing in it.
        r.reason = "segment header incomplete (crash while creating the segment)";
        r.truncated = !io.remove(path);
      } else {
        r.reason =
            s->header_ok ? "segment header names sequence " + std::to_string(s->header_seq) : "invalid segment header";
        r.saved_to = path + ".corrupt";
        r.truncated = !io.rename(path, r.saved_to);
        if (!r.truncated) r.saved_to.clear();
      }
      if (r.bytes_dropped > 0 || !r.truncated) rep.repairs.push_back(std::move(r));
      continue;
    }
    if (s->valid_bytes < s->file_bytes) {
      tail_repair r;
      r.segment = path;
      r.offset = s->valid_bytes;
      r.bytes_dropped = s->file_bytes - s->valid_bytes;
      r.reason = to_string(s->stop);
      r.saved_to = save_dropped(io, dir, path, segs[i].second.name, s->valid_bytes, s->file_bytes, rep.warnings);
      if (auto e = io.truncate(path, s->valid_bytes)) {
        rep.warnings.push_back("could not cut the damaged tail: " + e->message);
      } else {
        r.truncated = true;
        if (auto f = io.open_append(path, false)) {
          if (auto e2 = io.sync(*f)) rep.warnings.push_back(e2->message);
        }
      }
      rep.repairs.push_back(std::move(r));
    }
    segment_info info;
    info.first_seq = name_seq;
    info.path = path;
    info.bytes = s->valid_bytes;
    info.records = s->records;
    info.last_seq = s->records ? s->last_seq : name_seq - 1;
    if (s->records) next_min = s->last_seq + 1;
    next_min = std::max(next_min, name_seq);
    out.segments.push_back(std::move(info));
  }

  // Empty segments carry nothing; the writer starts a fresh one.
  std::vector<segment_info> kept;
  for (auto& s : out.segments) {
    if (s.records == 0) {
      if (!io.remove(s.path)) continue;
    }
    kept.push_back(std::move(s));
  }
  out.segments = std::move(kept);

  const std::size_t consumed = segments_before(out.segments, checkpoint);
  for (std::size_t i = 0; i < consumed; ++i) {
    if (auto e = io.remove(out.segments[i].path)) rep.warnings.push_back(e->message);
  }
  out.segments.erase(out.segments.begin(), out.segments.begin() + static_cast<std::ptrdiff_t>(consumed));
  rep.segments_deleted = consumed;

  rep.checkpoint = checkpoint;
  // Never reuse a sequence at or below the checkpoint (with fsync: never a power loss may have
  // taken records the consumer had already finished).
  rep.next_seq = std::max({next_min, checkpoint, std::uint64_t{1}});
  if (rep.checkpoint == 0) rep.checkpoint = out.segments.empty() ? rep.next_seq : out.segments.front().first_seq;
  rep.segments = out.segments.size();
  for (const auto& s : out.segments) {
    rep.bytes += s.bytes;
    rep.records += s.records;
  }
  return out;
}

}  // namespace iomt::transport::buffer
