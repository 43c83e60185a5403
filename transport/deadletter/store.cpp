#include "transport/deadletter/store.hpp"

#include "mapping/json/dotnet.hpp"

#include <algorithm>
#include <cstdio>

namespace iomt::transport::deadletter {

namespace {

bool is_day_file(std::string_view name) {
  return name.size() == 27 && name.substr(0, 11) == "deadletter-" && name.substr(21) == ".jsonl";
}

std::string day_of(const json::date_time& t) {
  const json::civil_time c = json::to_civil(t.ticks);
  char b[16];
  std::snprintf(b, sizeof b, "%04d-%02d-%02d", c.year, c.month, c.day);
  return b;
}

}  // namespace

std::string day_file_name(const json::date_time& t) { return "deadletter-" + day_of(t) + ".jsonl"; }

result<std::unique_ptr<store>> store::open(const store_options& o) {
  if (o.dir.empty()) return buffer::error{buffer::errc::invalid, 0, "deadletter.dir: required"};
  std::unique_ptr<store> s(new store(o));
  if (auto e = s->io_.make_dirs(o.dir)) return buffer::error{e->code, e->sys, "dead-letter directory: " + e->message};
  std::size_t damaged = 0;
  auto all = s->list({}, &damaged);
  if (!all) return all.error();
  for (const auto& e : *all) s->ids_.insert(e.id);
  return s;
}

status store::put(const event& e, const failure& f) { return put(e, f, utc_now()); }

status store::put(const event& e, const failure& f, const json::date_time& now, std::string* id_out) {
  std::string id = event_id(e);
  std::string line;
  {
    std::lock_guard l(mu_);
    const bool known = ids_.count(id) > 0;
    line = failure_line(id, now, f, known ? nullptr : &e);
  }
  line.push_back('\n');
  if (auto err = append_line(line, now)) return err;
  {
    std::lock_guard l(mu_);
    ids_.insert(id);
  }
  puts_.fetch_add(1, std::memory_order_relaxed);
  if (id_out) *id_out = std::move(id);
  return std::nullopt;
}

status store::append_line(const std::string& line, const json::date_time& time) {
  std::lock_guard l(mu_);
  const std::string day = day_of(time);
  if (!day_file_.is_open() || day != day_) {
    if (day_file_.is_open() && dirty_ && options_.fsync) {
      if (auto e = io_.sync(day_file_)) return e;
      dirty_ = false;
    }
    day_file_.close();
    const std::string path = buffer::join_path(options_.dir, day_file_name(time));
    auto f = io_.open_append_keep(path);
    if (!f) return f.error();
    // A crash may have left half a line: start ours on a fresh line so only that one is lost.
    if (auto size = io_.size(*f); size && *size > 0) {
      if (auto r = io_.open_read(path)) {
        char last = '\n';
        std::size_t got = 0;
        if (!io_.pread_all(*r, &last, 1, *size - 1, got) && got == 1 && last != '\n') {
          if (auto e = io_.write_all(*f, "\n", 1)) return e;
        }
      }
    }
    if (options_.fsync) {
      if (auto e = io_.sync_dir(options_.dir)) return e;  // a new day file's name is durable too
    }
    day_file_ = std::move(*f);
    day_ = day;
  }
  if (auto e = io_.write_all(day_file_, line.data(), line.size())) {
    // A partial line stays behind as one damaged line; the next write starts a fresh line.
    const char nl = '\n';
    (void)io_.write_all(day_file_, &nl, 1);
    return e;
  }
  dirty_ = true;
  return std::nullopt;
}

status store::sync() {
  std::lock_guard l(mu_);
  if (!dirty_ || !day_file_.is_open() || !options_.fsync) return std::nullopt;
  if (auto e = io_.sync(day_file_)) return e;
  dirty_ = false;
  return std::nullopt;
}

result<std::vector<entry>> store::list(const list_filter& filter, std::size_t* damaged) const {
  auto names = io_.list(options_.dir);
  if (!names) return names.error();
  std::vector<std::string> days;
  for (const auto& e : *names)
    if (e.regular && is_day_file(e.name)) days.push_back(e.name);
  std::sort(days.begin(), days.end());
  folder f;
  for (const auto& d : days) {
    std::optional<std::string> text;
    if (auto e = io_.read_whole(buffer::join_path(options_.dir, d), text)) return *e;
    if (text) f.add_text(*text);
  }
  if (damaged) *damaged = f.damaged();
  std::vector<entry> all = f.take();
  std::vector<entry> out;
  for (auto& e : all) {
    if (!filter.type.empty() && e.last.type != filter.type) continue;
    if (filter.since && e.last_failure.ticks < filter.since->ticks) continue;
    if (filter.pending_only && !e.pending()) continue;
    out.push_back(std::move(e));
  }
  return out;
}

result<std::optional<entry>> store::get(std::string_view id) const {
  auto all = list();
  if (!all) return all.error();
  for (auto& e : *all)
    if (e.id == id) return std::optional<entry>(std::move(e));
  return std::optional<entry>();
}

status store::mark_replayed(std::string_view id, const json::date_time& now) {
  std::string line = replayed_line(id, now);
  line.push_back('\n');
  if (auto e = append_line(line, now)) return e;
  return sync();
}

std::size_t store::known_ids() const {
  std::lock_guard l(mu_);
  return ids_.size();
}

}  // namespace iomt::transport::deadletter
