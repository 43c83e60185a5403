#include "transport/deadletter/store.hpp"

#include "mapping/json/dotnet.hpp"
#include "transport/deadletter/index.hpp"
#include "transport/deadletter/line_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace iomt::transport::deadletter {

namespace {

constexpr std::uint64_t min_file_bytes = 64u << 10;
constexpr std::uint64_t max_file_bytes = 64u << 20;

std::uint64_t file_bytes_of(const store_options& o) {
  if (o.file_bytes > 0) return o.file_bytes;
  if (o.max_bytes == 0) return max_file_bytes;
  return std::clamp<std::uint64_t>(o.max_bytes / 8, min_file_bytes, max_file_bytes);
}

std::int64_t ticks_of(std::chrono::milliseconds d) { return d.count() * json::ticks_per_millisecond; }

// Reads single lines of the files of one scan, keeping the last file open.
class line_source {
public:
  line_source(const buffer::file_io& io, const std::vector<std::string>& paths) : io_(io), paths_(paths) {}

  // The line at `ref`; ENOENT when its file has gone (dropped meanwhile).
  status read(const line_ref& ref, std::string& out) {
    if (!open_.is_open() || open_index_ != ref.file) {
      open_.close();
      auto f = io_.open_read(paths_[ref.file]);
      if (!f) return f.error();
      open_ = std::move(*f);
      open_index_ = ref.file;
    }
    out.resize(ref.length);
    std::size_t got = 0;
    if (auto e = io_.pread_all(open_, out.data(), ref.length, ref.offset, got)) return e;
    if (got != ref.length)
      return buffer::error{buffer::errc::corrupt, 0, "dead-letter file shrank: " + paths_[ref.file]};
    return std::nullopt;
  }

private:
  const buffer::file_io& io_;
  const std::vector<std::string>& paths_;
  buffer::file open_;
  std::uint32_t open_index_ = 0;
};

// The store's files in order, from a directory listing.
result<std::vector<file_info>> list_files(const buffer::file_io& io, const std::string& dir) {
  auto names = io.list(dir);
  if (!names) return names.error();
  std::vector<file_info> files;
  for (const auto& e : *names) {
    if (!e.regular) continue;
    auto f = parse_file_name(e.name);
    if (!f) continue;
    f->bytes = e.size;
    files.push_back(std::move(*f));
  }
  sort_files(files);
  return files;
}

bool gone(const buffer::error& e) { return e.code == buffer::errc::io && e.sys == ENOENT; }

// An index of the lines of `paths` (all of them, or only those containing `needle`).
status index_files(const buffer::file_io& io, const std::vector<std::string>& paths, std::string_view needle,
                   index& idx) {
  for (std::size_t i = 0; i < paths.size(); ++i) {
    auto f = io.open_read(paths[i]);
    if (!f) {
      if (gone(f.error())) continue;  // dropped since the listing
      return f.error();
    }
    line_reader reader(io, std::move(*f));
    std::string_view line;
    std::uint64_t offset = 0;
    for (;;) {
      auto more = reader.next(line, offset);
      if (!more) return more.error();
      if (!*more) break;
      if (!needle.empty() && line.find(needle) == std::string_view::npos) continue;
      if (line.size() > UINT32_MAX) continue;
      idx.add(line, {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(line.size()), offset});
    }
  }
  return std::nullopt;
}

// The entry of a summary, read back from its lines. False when its lines no longer parse.
status materialize(line_source& src, const summary& s, load what, entry& e, bool& ok) {
  const bool with_events = what != load::no_events;
  ok = false;
  std::string text;
  parsed_line p;
  if (auto err = src.read(s.first, text)) return err;
  if (!parse_line(text, with_events || s.group, p)) return std::nullopt;  // a group: its failures
  e = entry{};
  e.id = id_text(s.id);
  e.first = std::move(p.why);
  e.first_failure = {s.first_failure, json::date_kind::utc};
  e.last_failure = {s.last_failure, json::date_kind::utc};
  e.attempts = s.attempts;
  if (s.replayed >= 0) e.replayed = json::date_time{s.replayed, json::date_kind::utc};
  e.group = s.group;
  e.events = s.events;
  if (s.group) {
    e.failures = std::move(p.failures);
    if (what == load::all_events && !decode_group(p.group_bytes, e.failures.size(), e.grouped)) return std::nullopt;
  } else if (with_events) {
    e.original = std::move(p.original);
  }
  if (s.last == s.first) {
    e.last = e.first;
  } else {
    if (auto err = src.read(s.last, text)) return err;
    if (!parse_line(text, false, p)) return std::nullopt;
    e.last = std::move(p.why);
  }
  ok = true;
  return std::nullopt;
}

}  // namespace

store::store(const store_options& o)
    : options_(o),
      file_bytes_(file_bytes_of(o)),
      io_(o.faults),
      recent_(o.recent_ids),
      counted_(ticks_of(o.policy_log_interval)) {}

store::~store() = default;

result<std::unique_ptr<store>> store::open(const store_options& o) {
  if (o.dir.empty()) return buffer::error{buffer::errc::invalid, 0, "deadletter.dir: required"};
  std::unique_ptr<store> s(new store(o));
  if (auto e = s->io_.make_dirs(o.dir)) return buffer::error{e->code, e->sys, "dead-letter directory: " + e->message};
  std::lock_guard l(s->mu_);
  if (auto e = s->refresh_locked()) return *e;
  s->enforce_locked(s->now());
  return s;
}

status store::put(const event& e, const failure& f) { return put(e, f, now()); }

status store::put(const event& e, const failure& f, const json::date_time& now, std::string* id_out) {
  if (options_.policy.decide(f.type) == action::count) {
    // deadletter.policy: counted and logged (rate-limited), not stored.
    std::lock_guard l(mu_);
    if (options_.on_dropped) options_.on_dropped("policy", 1);
    if (const std::uint64_t n = counted_.note(f.type, now.ticks)) {
      log(1, "dead letter counted, not stored (deadletter.policy: count)",
          f.type + ": " + cut_text(f.message, 512) + " (" + std::to_string(n) +
              " event(s) of this type since the last such line)");
    }
    puts_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  std::string id = event_id(e);
  id96 key;
  parse_id(id, key);
  const auto thread = std::this_thread::get_id();
  {
    std::lock_guard l(mu_);
    window& w = windows_[thread];
    const std::size_t limit = options_.max_entries_per_submission;
    if (limit == 0 || w.entries < limit) {
      const bool known = recent_.contains(key, oldest_number_locked());
      std::string line = failure_line(id, now, f, known ? nullptr : &e);
      line.push_back('\n');
      if (auto err = append_locked(line, now, known ? 0 : 1)) {
        windows_.erase(thread);  // the caller puts everything since its last sync again
        return err;
      }
      if (!known) recent_.insert(key, files_.back().number);
    } else {
      auto g = std::find_if(w.groups.begin(), w.groups.end(),
                            [&](const group_builder& b) { return b.stage() == f.stage && b.type() == f.type; });
      if (g == w.groups.end()) g = w.groups.insert(w.groups.end(), group_builder(f.stage, f.type));
      g->add(key, e, f);
      w.time = now;
      if (g->bytes() >= std::min<std::uint64_t>(options_.max_group_bytes, file_bytes_)) {
        const std::uint32_t n = g->events();
        std::string line = g->take_line(now, &id);
        line.push_back('\n');
        if (auto err = append_locked(line, now, n)) {
          windows_.erase(thread);
          return err;
        }
      }
    }
    ++w.entries;
  }
  puts_.fetch_add(1, std::memory_order_relaxed);
  if (id_out) *id_out = std::move(id);
  return std::nullopt;
}

status store::sync() {
  std::lock_guard l(mu_);
  if (auto it = windows_.find(std::this_thread::get_id()); it != windows_.end()) {
    window w = std::move(it->second);
    windows_.erase(it);
    for (auto& g : w.groups) {
      if (g.empty()) continue;
      const std::uint32_t n = g.events();
      std::string line = g.take_line(w.time);
      line.push_back('\n');
      if (auto e = append_locked(line, w.time, n)) return e;
    }
  }
  if (!dirty_ || !active_.is_open() || !options_.fsync) return std::nullopt;
  if (auto e = io_.sync(active_)) return e;
  dirty_ = false;
  return std::nullopt;
}

status store::expire(const json::date_time& now) {
  std::lock_guard l(mu_);
  enforce_locked(now);
  return std::nullopt;
}

status store::refresh_locked() {
  auto listed = list_files(io_, options_.dir);
  if (!listed) return listed.error();
  // Keep the event counts this process knows.
  for (auto& f : *listed) {
    for (const auto& old : files_)
      if (old.name == f.name) f.events = old.events;
    next_number_ = std::max(next_number_, f.number + 1);
  }
  files_ = std::move(*listed);
  total_bytes_ = 0;
  for (const auto& f : files_) total_bytes_ += f.bytes;
  if (options_.on_size) options_.on_size(total_bytes_);
  return std::nullopt;
}

std::uint64_t store::oldest_number_locked() const {
  for (const auto& f : files_)
    if (f.number > 0) return f.number;
  return next_number_;
}

status store::prepare_file_locked(const json::date_time& time) {
  const std::int64_t day = day_start(time.ticks);
  auto fits = [&](const file_info& f) { return f.number > 0 && day_start(f.start) == day && f.bytes < file_bytes_; };
  if (active_.is_open()) {
    if (!files_.empty() && files_.back().name == active_name_ && fits(files_.back())) return std::nullopt;
    if (dirty_ && options_.fsync) {
      if (auto e = io_.sync(active_)) return e;
    }
    dirty_ = false;
    active_.close();
    active_name_.clear();
  }
  if (auto e = refresh_locked()) return e;
  if (!files_.empty() && fits(files_.back())) {
    // Go on with the newest file (after a restart, or one the CLI started). A crash may have left
    // half a line: start ours on a fresh line so only that one is lost.
    const std::string path = buffer::join_path(options_.dir, files_.back().name);
    auto f = io_.open_append_keep(path);
    if (!f) return f.error();
    if (auto size = io_.size(*f); size && *size > 0) {
      if (auto r = io_.open_read(path)) {
        char last = '\n';
        std::size_t got = 0;
        if (!io_.pread_all(*r, &last, 1, *size - 1, got) && got == 1 && last != '\n') {
          if (auto e = io_.write_all(*f, "\n", 1)) return e;
          files_.back().bytes += 1;
          total_bytes_ += 1;
        }
      }
    }
    active_ = std::move(*f);
    active_name_ = files_.back().name;
    return std::nullopt;
  }
  file_info info;
  info.number = next_number_++;
  info.start = time.ticks - time.ticks % json::ticks_per_second;
  info.name = file_name(info.start, info.number);
  info.events = 0;
  auto f = io_.open_append_keep(buffer::join_path(options_.dir, info.name));
  if (!f) return f.error();
  if (options_.fsync) {
    if (auto e = io_.sync_dir(options_.dir)) return e;  // the new file's name is durable too
  }
  active_ = std::move(*f);
  active_name_ = info.name;
  files_.push_back(std::move(info));
  return std::nullopt;
}

status store::append_locked(const std::string& lines, const json::date_time& time, std::uint64_t events) {
  if (auto e = prepare_file_locked(time)) return e;
  // Make room first, so that the files never hold more than max_bytes, not even for a moment.
  enforce_locked(time, lines.size());
  if (!active_.is_open()) {  // the file being written was past max_age (a clock jump)
    if (auto e = prepare_file_locked(time)) return e;
  }
  file_info& f = files_.back();
  if (auto e = io_.write_all(active_, lines.data(), lines.size())) {
    // A partial line stays behind as one damaged line; the next write starts a fresh line.
    const char nl = '\n';
    (void)io_.write_all(active_, &nl, 1);
    // Sizes are unknown now: the next append lists the directory again and reopens the file.
    active_.close();
    active_name_.clear();
    dirty_ = false;
    return e;
  }
  f.bytes += lines.size();
  if (f.events >= 0) f.events += static_cast<std::int64_t>(events);
  total_bytes_ += lines.size();
  dirty_ = true;
  if (options_.on_size) options_.on_size(total_bytes_);
  return std::nullopt;
}

void store::enforce_locked(const json::date_time& now, std::uint64_t incoming) {
  if (options_.max_bytes == 0 && options_.max_age.count() == 0) return;
  const auto plan = plan_drops(files_, options_.max_bytes, ticks_of(options_.max_age), now.ticks, incoming);
  if (plan.empty()) return;
  std::vector<bool> dropped(files_.size(), false);
  for (const auto& d : plan) {
    file_info& f = files_[d.index];
    const bool active = active_.is_open() && f.name == active_name_;
    if (active && d.why == drop_reason::max_bytes) break;  // never the file being written
    const std::string path = buffer::join_path(options_.dir, f.name);
    const std::uint64_t events = f.events >= 0 ? static_cast<std::uint64_t>(f.events) : count_events(path);
    if (active) {
      if (dirty_ && options_.fsync) (void)io_.sync(active_);
      dirty_ = false;
      active_.close();
      active_name_.clear();
    }
    if (auto e = io_.remove(path)) {
      log(2, "cannot drop a dead-letter file (the store stays above its bound)", e->message);
      break;
    }
    dropped[d.index] = true;
    total_bytes_ -= f.bytes;
    const char* reason = to_string(d.why);
    if (options_.on_dropped) options_.on_dropped(reason, events);
    log(1, std::string("dead-letter file dropped (deadletter.") + reason + ")",
        f.name + ": " + std::to_string(events) + " event(s), " + std::to_string(f.bytes) + " bytes");
  }
  std::size_t keep = 0;
  for (std::size_t i = 0; i < files_.size(); ++i)
    if (!dropped[i]) files_[keep++] = std::move(files_[i]);
  files_.resize(keep);
  if (options_.on_size) options_.on_size(total_bytes_);
}

std::uint64_t store::count_events(const std::string& path) const {
  // A file from before this process started: its events are counted once, when it is dropped.
  auto f = io_.open_read(path);
  if (!f) return 0;
  line_reader reader(io_, std::move(*f));
  std::string_view line;
  std::uint64_t offset = 0, events = 0;
  parsed_line p;
  for (;;) {
    auto more = reader.next(line, offset);
    if (!more || !*more) break;
    if (parse_line(line, false, p)) events += p.events;
  }
  return events;
}

status store::scan(const list_filter& filter, load what, const std::function<bool(const entry&)>& visit,
                   scan_report* report) const {
  auto files = list_files(io_, options_.dir);
  if (!files) return files.error();
  std::vector<std::string> paths;
  for (const auto& f : *files) paths.push_back(buffer::join_path(options_.dir, f.name));
  index idx;
  if (auto e = index_files(io_, paths, {}, idx)) return e;
  scan_report r;
  r.damaged = idx.damaged();
  r.orphaned = idx.orphaned();
  std::optional<std::uint16_t> type;
  if (!filter.type.empty()) type = idx.find_type(filter.type);
  line_source src(io_, paths);
  if (filter.type.empty() || type) {
    entry e;
    for (const auto& s : idx.entries()) {
      if (type && s.type != *type) continue;
      if (filter.since && s.last_failure < filter.since->ticks) continue;
      if (filter.pending_only && !s.pending()) continue;
      bool ok = false;
      if (auto err = materialize(src, s, what, e, ok)) {
        if (!gone(*err)) return err;
        ++r.vanished;
        continue;
      }
      if (!ok) {
        ++r.damaged;
        continue;
      }
      if (!visit(e)) break;
    }
  }
  if (report) *report = r;
  return std::nullopt;
}

result<std::vector<entry>> store::list(const list_filter& filter, std::size_t* damaged) const {
  std::vector<entry> out;
  scan_report r;
  if (auto e = scan(
          filter, load::all_events,
          [&](const entry& x) {
            out.push_back(x);
            return true;
          },
          &r))
    return *e;
  if (damaged) *damaged = r.damaged;
  return out;
}

result<std::optional<entry>> store::get(std::string_view id) const {
  id96 key;
  if (!parse_id(id, key)) return std::optional<entry>();
  auto files = list_files(io_, options_.dir);
  if (!files) return files.error();
  std::vector<std::string> paths;
  for (const auto& f : *files) paths.push_back(buffer::join_path(options_.dir, f.name));
  index idx;
  const std::string needle = "\"id\":\"" + std::string(id) + "\"";
  if (auto e = index_files(io_, paths, needle, idx)) return *e;
  line_source src(io_, paths);
  for (const auto& s : idx.entries()) {
    if (!(s.id == key)) continue;
    entry e;
    bool ok = false;
    if (auto err = materialize(src, s, load::all_events, e, ok)) return *err;
    if (ok) return std::optional<entry>(std::move(e));
  }
  return std::optional<entry>();
}

status store::mark_replayed(std::string_view id, const json::date_time& now) {
  return mark_replayed(std::vector<std::string>{std::string(id)}, now);
}

status store::mark_replayed(const std::vector<std::string>& ids, const json::date_time& now) {
  if (ids.empty()) return std::nullopt;
  std::string lines;
  for (const auto& id : ids) {
    lines += replayed_line(id, now);
    lines.push_back('\n');
  }
  std::lock_guard l(mu_);
  if (auto e = append_locked(lines, now, 0)) return e;
  if (!options_.fsync || !active_.is_open()) return std::nullopt;
  if (auto e = io_.sync(active_)) return e;
  dirty_ = false;
  return std::nullopt;
}

std::size_t store::known_ids() const {
  std::lock_guard l(mu_);
  return recent_.size();
}

std::uint64_t store::bytes() const {
  std::lock_guard l(mu_);
  return total_bytes_;
}

std::size_t store::file_count() const {
  std::lock_guard l(mu_);
  return files_.size();
}

}  // namespace iomt::transport::deadletter
