// `iomtflow deadletter list|show|replay`: the events the service could not process (iomt issue 4),
// kept in the dead-letter store (transport/deadletter/store.hpp) until a person fixes the mapping
// or the data. `replay` hands the original events back to the service through the replay inbox of
// its durable buffer (transport/buffer/inbox.hpp): the running service takes them within a second,
// a stopped one at its next start. Re-processing is idempotent (iomt-spec §15).
//
//   iomtflow deadletter list   [--type T] [--since TIME] [--pending] [--json] (--config FILE | --dir DIR)
//   iomtflow deadletter show   ID [--json] (--config FILE | --dir DIR)
//   iomtflow deadletter replay [ID...] [--type T] [--since TIME] [--all]
//                              (--config FILE | --dir DIR --buffer-dir DIR)
//   TIME: ISO 8601 (2024-05-01, 2024-05-01T10:00:00Z) or an age (30m, 24h, 7d).
//   replay without IDs takes the entries matching the filters that failed since their last
//   replay (--all: also those already replayed).
//
// `list` streams: it holds a small summary per entry, never the event bodies, and prints each
// entry as it reads it back (issue 12: 100,000 entries took 218 MB and 1.6 s before). A grouped
// entry (the failed events of one submission past deadletter.max_entries_per_submission) is one
// row; `show` prints each of its events and `replay` hands them all back. `replay` writes the
// inbox in files of at most replay_chunk_events events and marks each file's entries replayed
// with one fsync.
#include "mapping/json/dotnet.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/config.hpp"
#include "transport/buffer/inbox.hpp"
#include "transport/deadletter/store.hpp"
#include "transport/http/sas.hpp"

#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

#include <filesystem>
#include <iostream>

namespace iomt::cli {

int deadletter(int argc, char** argv, int first);

namespace {

namespace dl = transport::deadletter;

constexpr const char* usage =
    "usage: iomtflow deadletter list [--type T] [--since TIME] [--pending] [--json] (--config FILE | --dir DIR)\n"
    "       iomtflow deadletter show ID [--json] (--config FILE | --dir DIR)\n"
    "       iomtflow deadletter replay [ID...] [--type T] [--since TIME] [--all]\n"
    "                                  (--config FILE | --dir DIR --buffer-dir DIR)\n"
    "  TIME: 2024-05-01, 2024-05-01T10:00:00Z, or an age: 30m, 24h, 7d\n"
    "  A grouped entry holds the failed events of one submission past deadletter.max_entries_per_submission:\n"
    "  list shows it as one row ([N events]), show prints every event, replay hands them all back.\n"
    "  The store keeps at most deadletter.max_bytes and deadletter.max_age; older files are dropped.\n";

// Events per replay inbox file: bounds the CLI's memory, whatever the selection.
constexpr std::size_t replay_chunk_events = 10000;

struct dirs {
  std::string deadletter;
  std::string buffer;
};

std::string resolve(const std::filesystem::path& base, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

// buffer.dir and deadletter.dir of a service config (relative to the config file's folder). Only
// these two fields are read, so the command works with any config the service accepts.
bool dirs_from_config(const std::string& path, dirs& out, std::string& err) {
  try {
    const YAML::Node root = YAML::LoadFile(path);
    const auto base = std::filesystem::absolute(path).parent_path();
    out.buffer = pipeline::buffer_config{}.dir;  // the service's defaults (pipeline/config.hpp)
    out.deadletter = pipeline::deadletter_config{}.dir;
    if (auto b = root["buffer"]; b && b["dir"]) out.buffer = resolve(base, b["dir"].as<std::string>());
    if (auto d = root["deadletter"]; d && d["dir"]) out.deadletter = resolve(base, d["dir"].as<std::string>());
    return true;
  } catch (const std::exception& e) {
    err = "config " + path + ": " + e.what();
    return false;
  }
}

std::optional<json::date_time> parse_since(const std::string& text) {
  if (!text.empty() && std::string_view("smhd").find(text.back()) != std::string_view::npos &&
      text.find_first_not_of("0123456789") == text.size() - 1 && text.size() > 1) {
    const std::int64_t n = std::stoll(text.substr(0, text.size() - 1));
    const std::int64_t unit = text.back() == 's' ? 1 : text.back() == 'm' ? 60 : text.back() == 'h' ? 3600 : 86400;
    json::date_time now = dl::utc_now();
    now.ticks -= n * unit * json::ticks_per_second;
    return now;
  }
  auto t = json::parse_datetime(text);
  if (t) t->zone = json::date_kind::utc;
  return t;
}

std::string time_text(const json::date_time& t) {
  std::string s = json::format_roundtrip({t.ticks, json::date_kind::utc});
  // 2024-05-01T10:00:00.1234567Z -> 2024-05-01T10:00:00Z for the table.
  if (s.size() == 28) s = s.substr(0, 19) + "Z";
  return s;
}

// Printable as JSON text: valid UTF-8 (the parser validates what the serializer copied through).
bool is_utf8_text(std::string_view s) {
  boost::system::error_code ec;
  const std::string quoted = boost::json::serialize(boost::json::string(s));
  (void)boost::json::parse(quoted, ec);
  return !ec;
}

boost::json::object failure_json(const dl::failure& f) {
  boost::json::object o{{"stage", f.stage}, {"type", f.type}, {"message", f.message}};
  if (!f.groups.empty()) {
    boost::json::array a;
    for (const auto& g : f.groups) a.emplace_back(g);
    o["groups"] = std::move(a);
  }
  return o;
}

boost::json::object event_json(const transport::event& e) {
  boost::json::object ev;
  if (is_utf8_text(e.body))
    ev["body"] = e.body;
  else
    ev["body_base64"] = transport::http::base64_encode(e.body);
  boost::system::error_code ec;
  auto props = boost::json::parse(e.properties, ec);
  ev["properties"] = ec ? boost::json::value(e.properties) : props;
  auto sys = boost::json::parse(e.system_properties, ec);
  ev["system_properties"] = ec ? boost::json::value(e.system_properties) : sys;
  ev["enqueued_time"] = json::format_roundtrip(e.enqueued_time);
  if (!e.partition_key.empty()) ev["partition_key"] = e.partition_key;
  return ev;
}

// One entry as JSON. A group: "events" (its count), "failures", and with its events loaded
// "items": [{"failure": index into failures, "event": {...}}].
boost::json::object to_json(const dl::entry& e) {
  boost::json::object o;
  o["id"] = e.id;
  o["status"] = e.pending() ? "pending" : "replayed";
  o["attempts"] = e.attempts;
  o["first_failure"] = json::format_roundtrip({e.first_failure.ticks, json::date_kind::utc});
  o["last_failure"] = json::format_roundtrip({e.last_failure.ticks, json::date_kind::utc});
  if (e.replayed) o["replayed"] = json::format_roundtrip({e.replayed->ticks, json::date_kind::utc});
  o["stage"] = e.last.stage;
  o["type"] = e.last.type;
  o["message"] = e.last.message;
  if (!e.last.groups.empty()) o["groups"] = failure_json(e.last).at("groups");
  if (!(e.first == e.last)) o["first_error"] = failure_json(e.first);
  if (e.group) {
    o["events"] = e.events;
    boost::json::array fs;
    for (const auto& f : e.failures) fs.emplace_back(failure_json(f));
    o["failures"] = std::move(fs);
    if (!e.grouped.empty()) {
      boost::json::array items;
      for (const auto& g : e.grouped)
        items.emplace_back(boost::json::object{{"failure", g.failure}, {"event", event_json(g.original)}});
      o["items"] = std::move(items);
    }
  } else {
    o["event"] = event_json(e.original);  // callers load single entries' events
  }
  return o;
}

std::string one_line(std::string s, std::size_t max) {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

std::optional<dl::list_filter> filter_of(const args& a, bool pending_only) {
  dl::list_filter f;
  if (auto t = a.get("type")) f.type = *t;
  if (auto s = a.get("since")) {
    f.since = parse_since(*s);
    if (!f.since) {
      std::cerr << "error: --since: not a time or an age: " << *s << '\n';
      return std::nullopt;
    }
  }
  f.pending_only = pending_only;
  return f;
}

void warn_skipped(const dl::store& store, const dl::scan_report& r) {
  if (r.damaged) std::cerr << "warning: " << r.damaged << " damaged line(s) in " << store.dir() << " were skipped\n";
  if (r.orphaned)
    std::cerr << "warning: " << r.orphaned
              << " repeated failure line(s) whose event was in a dropped file (deadletter.max_bytes / max_age)\n";
  if (r.vanished) std::cerr << "warning: " << r.vanished << " entr(ies) were dropped by the service while being read\n";
}

int list(const dl::store& store, const args& a) {
  auto f = filter_of(a, a.has("pending"));
  if (!f) return 2;
  const bool as_json = a.has("json");
  std::uint64_t events = 0, pending = 0, entries = 0, groups = 0;
  if (!as_json)
    std::cout << "ID                        STATUS    ATTEMPTS  LAST FAILURE          STAGE           TYPE / MESSAGE\n";
  dl::scan_report report;
  auto err = store.scan(
      *f, as_json ? dl::load::single_events : dl::load::no_events,
      [&](const dl::entry& e) {
        ++entries;
        events += e.events;
        if (e.pending()) pending += e.events;
        groups += e.group;
        if (as_json) {
          std::cout << boost::json::serialize(to_json(e)) << '\n';
          return true;
        }
        char line[160];
        std::snprintf(line, sizeof line, "%-24s  %-8s  %8u  %-20s  %-14s  ", e.id.c_str(),
                      e.pending() ? "pending" : "replayed", e.attempts, time_text(e.last_failure).c_str(),
                      e.last.stage.c_str());
        std::cout << line << e.last.type << ": ";
        if (e.group) std::cout << "[" << e.events << " events] ";
        std::cout << one_line(e.last.message, 100) << '\n';
        return true;
      },
      &report);
  if (err) {
    std::cout.flush();
    std::cerr << "error: " << err->message << '\n';
    return 1;
  }
  if (!as_json) {
    std::cout << events << " dead-lettered event(s), " << pending << " pending";
    if (groups) std::cout << " (" << entries << " entries, " << groups << " of them grouped)";
    std::cout << '\n';
  }
  warn_skipped(store, report);
  return 0;
}

int show(const dl::store& store, const args& a) {
  if (a.positionals().size() != 1) {
    std::cerr << usage;
    return 2;
  }
  auto e = store.get(a.positionals()[0]);
  if (!e) {
    std::cerr << "error: " << e.error().message << '\n';
    return 1;
  }
  if (!e->has_value()) {
    std::cerr << "error: no dead-lettered event with id " << a.positionals()[0] << " in " << store.dir() << '\n';
    return 1;
  }
  const dl::entry& x = **e;
  if (a.has("json")) {
    std::cout << boost::json::serialize(to_json(x)) << '\n';
    return 0;
  }
  auto failure_text = [](const dl::failure& f) {
    std::string s = f.stage + "  " + f.type + ": " + f.message;
    for (const auto& g : f.groups) s += "\n                 group: " + g;
    return s;
  };
  std::cout << "id:            " << x.id << '\n'
            << "status:        " << (x.pending() ? "pending" : "replayed") << '\n'
            << "attempts:      " << x.attempts << '\n'
            << "first failure: " << time_text(x.first_failure) << "  " << failure_text(x.first) << '\n'
            << "last failure:  " << time_text(x.last_failure) << "  " << failure_text(x.last) << '\n';
  if (x.replayed) std::cout << "replayed:      " << time_text(*x.replayed) << '\n';
  if (!x.group) {
    std::cout << "event:         " << boost::json::serialize(event_json(x.original)) << '\n';
    return 0;
  }
  std::cout << "events:        " << x.events << " (a grouped entry: the failed events of one submission)\n";
  for (std::size_t i = 0; i < x.failures.size(); ++i)
    std::cout << "failure " << i << ":     " << failure_text(x.failures[i]) << '\n';
  for (std::size_t i = 0; i < x.grouped.size(); ++i)
    std::cout << "event " << i << " (failure " << x.grouped[i].failure
              << "): " << boost::json::serialize(event_json(x.grouped[i].original)) << '\n';
  return 0;
}

// Collects the events of the entries to replay and writes them to the inbox in chunks; each
// chunk's entries are marked replayed after the chunk is written.
class replayer {
public:
  replayer(dl::store& store, std::string buffer_dir) : store_(store), buffer_(std::move(buffer_dir)) {}

  bool add(const dl::entry& e) {
    if (e.group) {
      for (const auto& g : e.grouped) events_.push_back(g.original);
    } else {
      events_.push_back(e.original);
    }
    ids_.push_back(e.id);
    total_ += e.group ? e.grouped.size() : 1;
    return events_.size() < replay_chunk_events || flush();
  }

  bool flush() {
    if (events_.empty()) return true;
    auto path = transport::buffer::write_inbox(transport::buffer::file_io{}, buffer_, events_);
    if (!path) {
      error_ = path.error().message;
      return false;
    }
    ++files_;
    last_path_ = *path;
    if (auto err = store_.mark_replayed(ids_, dl::utc_now()))
      std::cerr << "warning: replayed but not marked: " << err->message << '\n';
    events_.clear();
    ids_.clear();
    return true;
  }

  const std::string& error() const { return error_; }
  std::uint64_t total() const { return total_; }
  std::size_t files() const { return files_; }
  const std::string& last_path() const { return last_path_; }

private:
  dl::store& store_;
  std::string buffer_;
  std::vector<transport::event> events_;
  std::vector<std::string> ids_;
  std::uint64_t total_ = 0;
  std::size_t files_ = 0;
  std::string last_path_;
  std::string error_;
};

int replay(dl::store& store, const dirs& d, const args& a) {
  if (d.buffer.empty()) {
    std::cerr << "error: replay needs the service's buffer directory (--config FILE or --buffer-dir DIR)\n";
    return 2;
  }
  replayer r(store, d.buffer);
  if (!a.positionals().empty()) {
    for (const auto& id : a.positionals()) {
      auto e = store.get(id);
      if (!e) {
        std::cerr << "error: " << e.error().message << '\n';
        return 1;
      }
      if (!e->has_value()) {
        std::cerr << "error: no dead-lettered event with id " << id << '\n';
        return 1;
      }
      if (!r.add(**e)) break;
    }
  } else {
    auto f = filter_of(a, !a.has("all"));
    if (!f) return 2;
    dl::scan_report report;
    if (auto err = store.scan(
            *f, dl::load::all_events, [&](const dl::entry& e) { return r.add(e); }, &report)) {
      std::cerr << "error: " << err->message << '\n';
      return 1;
    }
    warn_skipped(store, report);
  }
  if (r.error().empty()) r.flush();
  if (!r.error().empty()) {
    std::cerr << "error: " << r.error() << '\n';
    if (r.total()) std::cerr << "(" << r.files() << " inbox file(s) were written before the error)\n";
    return 1;
  }
  if (r.total() == 0) {
    std::cout << "nothing to replay\n";
    return 0;
  }
  std::cout
      << "replayed " << r.total() << " event(s) into "
      << (r.files() == 1 ? r.last_path()
                         : std::to_string(r.files()) + " files in " + transport::buffer::inbox_dir(d.buffer))
      << "\nthe service takes them within a second (or at its next start); events that fail again come back here\n";
  return 0;
}

}  // namespace

int deadletter(int argc, char** argv, int first) {
  if (first >= argc) {
    std::cerr << usage;
    return 2;
  }
  const std::string_view sub = argv[first];
  args a(argc, argv, first + 1, {"json", "all", "pending"});
  if (!a.ok()) {
    std::cerr << "error: " << a.error() << '\n' << usage;
    return 2;
  }
  if (auto u = a.unknown({"config", "dir", "buffer-dir", "type", "since", "json", "all", "pending"})) {
    std::cerr << "error: unknown option --" << *u << '\n' << usage;
    return 2;
  }
  dirs d;
  if (auto c = a.get("config")) {
    std::string err;
    if (!dirs_from_config(*c, d, err)) {
      std::cerr << "error: " << err << '\n';
      return 2;
    }
  }
  if (auto x = a.get("dir")) d.deadletter = *x;
  if (auto x = a.get("buffer-dir")) d.buffer = *x;
  if (d.deadletter.empty()) {
    std::cerr << "error: give --config FILE (its deadletter.dir) or --dir DIR\n" << usage;
    return 2;
  }
  if (sub != "list" && sub != "show" && sub != "replay") {
    std::cerr << "error: unknown deadletter command '" << sub << "'\n" << usage;
    return 2;
  }
  if (!std::filesystem::is_directory(d.deadletter)) {
    std::cerr << "error: no dead-letter store at " << d.deadletter << '\n';
    return 1;
  }
  auto store = dl::store::open({d.deadletter, true, nullptr});
  if (!store) {
    std::cerr << "error: " << store.error().message << '\n';
    return 1;
  }
  if (sub == "list") return list(**store, a);
  if (sub == "show") return show(**store, a);
  return replay(**store, d, a);
}

}  // namespace iomt::cli
