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
#include "mapping/json/dotnet.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/config.hpp"
#include "transport/buffer/inbox.hpp"
#include "transport/deadletter/store.hpp"
#include "transport/http/sas.hpp"

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <iostream>

namespace iomt::cli {

int deadletter(int argc, char** argv, int first);

namespace {

namespace dl = transport::deadletter;

constexpr const char* usage =
    "usage: iomtflow deadletter list [--type T] [--since TIME] [--pending] [--json] (--config FILE | --dir DIR)\n"
    "       iomtflow deadletter show ID [--json] (--config FILE | --dir DIR)\n"
    "       iomtflow deadletter replay [ID...] [--type T] [--since TIME] [--all] (--config FILE | --dir DIR --buffer-dir DIR)\n"
    "  TIME: 2024-05-01, 2024-05-01T10:00:00Z, or an age: 30m, 24h, 7d\n";

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
  if (e.first.type != e.last.type || e.first.message != e.last.message)
    o["first_error"] = boost::json::object{{"stage", e.first.stage}, {"type", e.first.type}, {"message", e.first.message}};
  boost::json::object ev;
  if (is_utf8_text(e.original.body))
    ev["body"] = e.original.body;
  else
    ev["body_base64"] = transport::http::base64_encode(e.original.body);
  boost::system::error_code ec;
  auto props = boost::json::parse(e.original.properties, ec);
  ev["properties"] = ec ? boost::json::value(e.original.properties) : props;
  auto sys = boost::json::parse(e.original.system_properties, ec);
  ev["system_properties"] = ec ? boost::json::value(e.original.system_properties) : sys;
  ev["enqueued_time"] = json::format_roundtrip(e.original.enqueued_time);
  if (!e.original.partition_key.empty()) ev["partition_key"] = e.original.partition_key;
  o["event"] = std::move(ev);
  return o;
}

std::string one_line(std::string s, std::size_t max) {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

int list(const dl::store& store, const args& a) {
  dl::list_filter f;
  if (auto t = a.get("type")) f.type = *t;
  if (auto s = a.get("since")) {
    f.since = parse_since(*s);
    if (!f.since) {
      std::cerr << "error: --since: not a time or an age: " << *s << '\n';
      return 2;
    }
  }
  f.pending_only = a.has("pending");
  std::size_t damaged = 0;
  auto entries = store.list(f, &damaged);
  if (!entries) {
    std::cerr << "error: " << entries.error().message << '\n';
    return 1;
  }
  if (a.has("json")) {
    for (const auto& e : *entries) std::cout << boost::json::serialize(to_json(e)) << '\n';
  } else {
    std::cout << "ID                        STATUS    ATTEMPTS  LAST FAILURE          STAGE           TYPE / MESSAGE\n";
    for (const auto& e : *entries) {
      char line[160];
      std::snprintf(line, sizeof line, "%-24s  %-8s  %8u  %-20s  %-14s  ", e.id.c_str(), e.pending() ? "pending" : "replayed",
                    e.attempts, time_text(e.last_failure).c_str(), e.last.stage.c_str());
      std::cout << line << e.last.type << ": " << one_line(e.last.message, 100) << '\n';
    }
    std::cout << entries->size() << " dead-lettered event(s)";
    std::size_t pending = 0;
    for (const auto& e : *entries) pending += e.pending();
    std::cout << ", " << pending << " pending\n";
  }
  if (damaged) std::cerr << "warning: " << damaged << " damaged line(s) in " << store.dir() << " were skipped\n";
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
  const boost::json::object o = to_json(**e);
  if (a.has("json")) {
    std::cout << boost::json::serialize(o) << '\n';
    return 0;
  }
  const dl::entry& x = **e;
  std::cout << "id:            " << x.id << '\n'
            << "status:        " << (x.pending() ? "pending" : "replayed") << '\n'
            << "attempts:      " << x.attempts << '\n'
            << "first failure: " << time_text(x.first_failure) << "  " << x.first.stage << "  " << x.first.type << ": "
            << x.first.message << '\n'
            << "last failure:  " << time_text(x.last_failure) << "  " << x.last.stage << "  " << x.last.type << ": "
            << x.last.message << '\n';
  if (x.replayed) std::cout << "replayed:      " << time_text(*x.replayed) << '\n';
  std::cout << "event:         " << boost::json::serialize(o.at("event")) << '\n';
  return 0;
}

int replay(dl::store& store, const dirs& d, const args& a) {
  if (d.buffer.empty()) {
    std::cerr << "error: replay needs the service's buffer directory (--config FILE or --buffer-dir DIR)\n";
    return 2;
  }
  std::vector<dl::entry> chosen;
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
      chosen.push_back(std::move(**e));
    }
  } else {
    dl::list_filter f;
    if (auto t = a.get("type")) f.type = *t;
    if (auto s = a.get("since")) {
      f.since = parse_since(*s);
      if (!f.since) {
        std::cerr << "error: --since: not a time or an age: " << *s << '\n';
        return 2;
      }
    }
    f.pending_only = !a.has("all");
    auto entries = store.list(f);
    if (!entries) {
      std::cerr << "error: " << entries.error().message << '\n';
      return 1;
    }
    chosen = std::move(*entries);
  }
  if (chosen.empty()) {
    std::cout << "nothing to replay\n";
    return 0;
  }
  std::vector<transport::event> events;
  for (const auto& e : chosen) events.push_back(e.original);
  auto path = transport::buffer::write_inbox(transport::buffer::file_io{}, d.buffer, events);
  if (!path) {
    std::cerr << "error: " << path.error().message << '\n';
    return 1;
  }
  const json::date_time now = dl::utc_now();
  for (const auto& e : chosen) {
    if (auto err = store.mark_replayed(e.id, now)) {
      std::cerr << "warning: replayed but not marked: " << err->message << '\n';
    }
  }
  std::cout << "replayed " << events.size() << " event(s) into " << *path
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
