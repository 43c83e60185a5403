// The dead-letter store: JSON lines in files rolled by day and size, folding repeated failures of
// one event into one entry, filters, replay marks, a torn last line after a crash, disk errors as
// values; and its bounds (issue 12): max_bytes and max_age drop whole files oldest first (counted,
// logged once per file), a bounded set of recent ids, grouped entries past
// max_entries_per_submission, the count policy, old day files still read. Time is passed in.
#define BOOST_TEST_MODULE transport deadletter store
#include <boost/test/unit_test.hpp>

#include "../buffer/buffer_test_support.hpp"
#include "mapping/json/dotnet.hpp"
#include "transport/deadletter/store.hpp"

#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

using namespace iomt;
using namespace iomt::transport::deadletter;
using iomt::test::make_event;
using iomt::test::temp_dir;

namespace {

json::date_time at(const char* iso) {
  auto t = json::parse_datetime(iso);
  BOOST_REQUIRE(t);
  return {t->ticks, json::date_kind::utc};
}

json::date_time plus_seconds(json::date_time t, std::int64_t s) {
  t.ticks += s * json::ticks_per_second;
  return t;
}

std::unique_ptr<store> open_store(const store_options& o) {
  auto s = store::open(o);
  BOOST_REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return std::move(*s);
}

std::unique_ptr<store> open_store(const temp_dir& d, transport::buffer::fault_injector* f = nullptr) {
  return open_store(store_options{d.str(), true, f});
}

// What the callbacks saw.
struct observed {
  std::map<std::string, std::uint64_t> dropped;  // reason -> events
  std::vector<std::string> logs;                 // message: detail
  std::uint64_t size = 0;
  void hook(store_options& o) {
    o.on_dropped = [this](std::string_view reason, std::uint64_t n) { dropped[std::string(reason)] += n; };
    o.log = [this](int, const std::string& m, const std::string& d) { logs.push_back(m + ": " + d); };
    o.on_size = [this](std::uint64_t b) { size = b; };
  }
  std::size_t logs_with(std::string_view s) const {
    std::size_t n = 0;
    for (const auto& l : logs) n += l.find(s) != std::string::npos;
    return n;
  }
};

std::vector<std::string> files_in(const temp_dir& d) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(d.path)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t bytes_in(const temp_dir& d) {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(d.path)) n += e.file_size();
  return n;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

const failure bad_json{"normalization", "InvalidDataFormatException",
                       "Invalid event message. Cannot be parsed into a JSON object."};
const failure no_device{"fhirConversion", "FhirResourceNotFoundException", "Fhir resource of type Device not found."};
const failure no_template{"fhirConversion", "TemplateNotFoundException", "No template for type 'BloodPulseWave'."};

// Events in a store's entries (a group's all of them), by body.
std::multiset<std::string> bodies(const std::vector<entry>& all) {
  std::multiset<std::string> out;
  for (const auto& e : all) {
    if (e.group)
      for (const auto& g : e.grouped) out.insert(g.original.body);
    else
      out.insert(e.original.body);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(put_list_get) {
  temp_dir d;
  auto s = open_store(d);
  transport::event e = make_event(1);
  e.body = std::string("not json \x01\xff", 12);
  e.partition_key = "pk-1";
  std::string id;
  BOOST_TEST(!s->put(e, bad_json, at("2024-05-01T10:00:00Z"), &id));
  BOOST_TEST(!s->put(make_event(2), no_device, at("2024-05-01T11:00:00Z")));
  BOOST_TEST(!s->sync());
  BOOST_TEST(id.size() == 24u);
  BOOST_TEST(id == event_id(e));
  BOOST_TEST(files_in(d) == std::vector<std::string>{"deadletter-20240501T100000Z-000001.jsonl"});

  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 2u);
  const entry& a = (*all)[0];
  BOOST_TEST(a.id == id);
  BOOST_TEST(a.last.stage == "normalization");
  BOOST_TEST(a.last.type == "InvalidDataFormatException");
  BOOST_TEST(a.attempts == 1u);
  BOOST_TEST(a.pending());
  BOOST_TEST(!a.group);
  BOOST_TEST(test::same_event(a.original, e));  // binary body survives (base64)
  BOOST_TEST(json::format_roundtrip(a.first_failure) == "2024-05-01T10:00:00.0000000Z");

  auto g = s->get(id);
  BOOST_REQUIRE(g);
  BOOST_REQUIRE(g->has_value());
  BOOST_TEST((*g)->last.message == bad_json.message);
  BOOST_TEST(test::same_event((*g)->original, e));
  for (const char* missing : {"nope", "000000000000000000000000"}) {
    auto none = s->get(missing);
    BOOST_REQUIRE(none);
    BOOST_TEST(!none->has_value());
  }
}

BOOST_AUTO_TEST_CASE(the_same_event_failing_again_is_one_entry) {
  temp_dir d;
  auto s = open_store(d);
  const auto e = make_event(7);
  BOOST_TEST(!s->put(e, no_device, at("2024-05-01T10:00:00Z")));
  BOOST_TEST(!s->mark_replayed(event_id(e), at("2024-05-02T09:00:00Z")));
  {
    auto l = s->list({"", std::nullopt, true});
    BOOST_REQUIRE(l);
    BOOST_TEST(l->empty());  // replayed, not failed since
  }
  BOOST_TEST(!s->put(e, bad_json, at("2024-05-02T10:00:00Z")));  // next day's file
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 1u);
  const entry& x = (*all)[0];
  BOOST_TEST(x.attempts == 2u);
  BOOST_TEST(x.first.type == "FhirResourceNotFoundException");
  BOOST_TEST(x.last.type == "InvalidDataFormatException");
  BOOST_TEST(json::format_roundtrip(x.last_failure) == "2024-05-02T10:00:00.0000000Z");
  BOOST_TEST(x.replayed.has_value());
  BOOST_TEST(x.pending());
  // A new day starts a new file; the second line of a recent id does not repeat the event.
  BOOST_TEST(files_in(d) == (std::vector<std::string>{"deadletter-20240501T100000Z-000001.jsonl",
                                                      "deadletter-20240502T090000Z-000002.jsonl"}));
  const std::string second = read_file(d.path / "deadletter-20240502T090000Z-000002.jsonl");
  BOOST_TEST(second.find("\"kind\":\"failure\"") != std::string::npos);
  BOOST_TEST(second.find("body_base64") == std::string::npos);
  // A reopened store remembers no ids: the event rides along again, and folding still makes one
  // entry of it.
  auto s2 = open_store(d);
  BOOST_TEST(s2->known_ids() == 0u);
  BOOST_TEST(!s2->put(e, bad_json, at("2024-05-02T11:00:00Z")));
  BOOST_TEST(s2->known_ids() == 1u);
  all = s2->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 1u);
  BOOST_TEST((*all)[0].attempts == 3u);
  BOOST_TEST(test::same_event((*all)[0].original, e));
  BOOST_TEST(files_in(d).size() == 2u);  // the newest file of the day goes on after a restart
}

BOOST_AUTO_TEST_CASE(filters) {
  temp_dir d;
  auto s = open_store(d);
  BOOST_TEST(!s->put(make_event(1), bad_json, at("2024-05-01T10:00:00Z")));
  BOOST_TEST(!s->put(make_event(2), no_device, at("2024-05-03T10:00:00Z")));
  BOOST_TEST(!s->put(make_event(3), bad_json, at("2024-05-04T10:00:00Z")));
  auto by_type = s->list({"InvalidDataFormatException", std::nullopt, false});
  BOOST_REQUIRE(by_type);
  BOOST_TEST(by_type->size() == 2u);
  auto since = s->list({"", at("2024-05-03T00:00:00Z"), false});
  BOOST_REQUIRE(since);
  BOOST_TEST(since->size() == 2u);
  auto both = s->list({"InvalidDataFormatException", at("2024-05-02T00:00:00Z"), false});
  BOOST_REQUIRE(both);
  BOOST_REQUIRE(both->size() == 1u);
  BOOST_TEST(test::same_event((*both)[0].original, make_event(3)));
  auto unknown = s->list({"NoSuchException", std::nullopt, false});
  BOOST_REQUIRE(unknown);
  BOOST_TEST(unknown->empty());
}

BOOST_AUTO_TEST_CASE(a_torn_last_line_is_skipped_and_counted) {
  temp_dir d;
  {
    auto s = open_store(d);
    BOOST_TEST(!s->put(make_event(1), bad_json, at("2024-05-01T10:00:00Z")));
  }
  {
    std::ofstream out(d.path / "deadletter-20240501T100000Z-000001.jsonl", std::ios::app);
    out << "{\"v\":1,\"kind\":\"failure\",\"id\":\"abc";  // crash in the middle of a line
  }
  auto s = open_store(d);
  std::size_t damaged = 0;
  auto all = s->list({}, &damaged);
  BOOST_REQUIRE(all);
  BOOST_TEST(all->size() == 1u);
  BOOST_TEST(damaged == 1u);
  // The next line starts on a fresh line: only the torn fragment is lost.
  BOOST_TEST(!s->put(make_event(2), bad_json, at("2024-05-01T11:00:00Z")));
  all = s->list({}, &damaged);
  BOOST_REQUIRE(all);
  BOOST_TEST(all->size() == 2u);
  BOOST_TEST(damaged == 1u);
}

BOOST_AUTO_TEST_CASE(disk_errors_are_values) {
  temp_dir d;
  iomt::test::faults f;
  auto s = open_store(d, &f);
  f.set(transport::buffer::io_op::write, ENOSPC, 1);
  auto e = s->put(make_event(1), bad_json, at("2024-05-01T10:00:00Z"));
  BOOST_REQUIRE(e);
  BOOST_TEST(e->message.find("No space left on device") != std::string::npos);
  BOOST_TEST(e->message.find("deadletter-20240501T100000Z-000001.jsonl") != std::string::npos, e->message);
  f.set(transport::buffer::io_op::sync, EIO, 1);
  BOOST_TEST(!s->put(make_event(2), bad_json, at("2024-05-01T10:00:00Z")));
  BOOST_TEST(s->sync().has_value());
  BOOST_TEST(!s->put(make_event(3), bad_json, at("2024-05-01T10:00:00Z")));
  BOOST_TEST(!s->sync());
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_TEST(all->size() == 2u);

  f.set(transport::buffer::io_op::mkdir, EACCES);
  auto bad = store::open({(d.path / "sub").string(), true, &f});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.find("Permission denied") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(day_files_of_an_older_service_are_read_and_folded) {
  temp_dir d;
  const auto old_event = make_event(1);
  const std::string old_id = event_id(old_event);
  {
    // What a service before issue 12 wrote: one file per day.
    std::ofstream out(d.path / day_file_name(at("2024-04-30T00:00:00Z")));
    out << failure_line(old_id, at("2024-04-30T08:00:00Z"), bad_json, &old_event) << '\n'
        << failure_line(old_id, at("2024-04-30T09:00:00Z"), no_device, nullptr) << '\n'
        << replayed_line(old_id, at("2024-04-30T10:00:00Z")) << '\n';
  }
  auto s = open_store(d);
  BOOST_TEST(!s->put(make_event(2), bad_json, at("2024-05-01T10:00:00Z")));
  BOOST_TEST(!s->put(old_event, bad_json, at("2024-05-01T11:00:00Z")));  // fails again after its replay
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 2u);
  BOOST_TEST((*all)[0].id == old_id);  // first-failure order across old and new files
  BOOST_TEST((*all)[0].attempts == 3u);
  BOOST_TEST((*all)[0].pending());
  BOOST_TEST((*all)[0].first.type == "InvalidDataFormatException");
  BOOST_TEST(test::same_event((*all)[0].original, old_event));
  BOOST_TEST(test::same_event((*all)[1].original, make_event(2)));
  BOOST_TEST(files_in(d).size() == 2u);  // old day files are never written again
}

BOOST_AUTO_TEST_CASE(files_roll_at_their_size) {
  temp_dir d;
  store_options o{d.str(), false, nullptr};
  o.file_bytes = 2048;
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  for (int i = 0; i < 40; ++i) {
    BOOST_TEST(!s->put(make_event(i, 100), bad_json, plus_seconds(t0, i)));
    BOOST_TEST(!s->sync());  // one submission each
  }
  const auto names = files_in(d);
  BOOST_TEST(names.size() > 5u);
  for (const auto& n : names) {
    auto info = parse_file_name(n);
    BOOST_REQUIRE(info);
    BOOST_TEST(std::filesystem::file_size(d.path / n) < 2048u + 1024u);  // rolled after the line that passed it
  }
  BOOST_TEST(s->file_count() == names.size());
  BOOST_TEST(s->bytes() == bytes_in(d));
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 40u);
  for (int i = 0; i < 40; ++i)
    BOOST_TEST(test::same_event((*all)[static_cast<std::size_t>(i)].original, make_event(i, 100)));
}

BOOST_AUTO_TEST_CASE(max_bytes_drops_the_oldest_files_whole_counted_and_logged_once_each) {
  temp_dir d;
  observed seen;
  store_options o{d.str(), false, nullptr};
  o.max_bytes = 64 * 1024;
  o.file_bytes = 8 * 1024;
  seen.hook(o);
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  const int n = 1000;
  std::uint64_t most = 0;
  for (int i = 0; i < n; ++i) {
    BOOST_REQUIRE(!s->put(make_event(i, 200), bad_json, plus_seconds(t0, i)));
    BOOST_REQUIRE(!s->sync());  // one submission each
    most = std::max(most, bytes_in(d));
  }
  BOOST_TEST(most <= o.max_bytes);
  BOOST_TEST(s->bytes() == bytes_in(d));
  BOOST_TEST(seen.size == bytes_in(d));
  auto all = s->list();
  BOOST_REQUIRE(all);
  // Every event is either still there or counted as dropped; the newest are kept.
  BOOST_TEST(seen.dropped["max_bytes"] + all->size() == static_cast<std::uint64_t>(n));
  BOOST_TEST(seen.dropped.count("max_age") == 0u);
  BOOST_TEST(all->back().original.body == make_event(n - 1, 200).body);
  // One log line per dropped file, naming it.
  const std::size_t dropped_files = seen.logs_with("dead-letter file dropped (deadletter.max_bytes)");
  BOOST_TEST(dropped_files == seen.logs.size());
  BOOST_TEST(dropped_files >= (n * 200u - o.max_bytes) / o.file_bytes);
  BOOST_TEST(seen.logs.front().find("deadletter-20240501T100000Z-000001.jsonl") != std::string::npos,
             seen.logs.front());
}

BOOST_AUTO_TEST_CASE(max_age_drops_files_whose_lines_are_all_older) {
  temp_dir d;
  observed seen;
  {
    // A day file of an older service: its events are counted when it goes.
    const auto old_event = make_event(100);
    std::ofstream out(d.path / day_file_name(at("2024-04-20T00:00:00Z")));
    out << failure_line(event_id(old_event), at("2024-04-20T08:00:00Z"), bad_json, &old_event) << '\n';
  }
  store_options o{d.str(), false, nullptr};
  o.max_age = std::chrono::hours(48);
  json::date_time now = at("2024-05-01T10:00:00Z");
  o.clock = [&] { return now; };
  seen.hook(o);
  auto s = open_store(o);  // the day file is 11 days old: dropped at start-up
  BOOST_TEST(seen.dropped["max_age"] == 1u);
  BOOST_TEST(seen.logs_with(day_file_name(at("2024-04-20T00:00:00Z"))) == 1u);
  for (int day = 0; day < 5; ++day) {
    now = plus_seconds(at("2024-05-01T10:00:00Z"), day * 86400);
    for (int i = 0; i < 3; ++i) BOOST_REQUIRE(!s->put(make_event(day * 10 + i), bad_json));
    BOOST_REQUIRE(!s->sync());
  }
  // Files of May 1 and 2 (all lines before May 3, 10:00) are gone; May 3 is still in the window.
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_TEST(all->size() == 9u);
  BOOST_TEST(seen.dropped["max_age"] == 1u + 6u);
  BOOST_TEST(all->front().original.body == make_event(20).body);
  // An idle store ages too: expire() alone drops the rest, the file being written included.
  BOOST_TEST(!s->expire(plus_seconds(now, 3 * 86400)));
  all = s->list();
  BOOST_REQUIRE(all);
  BOOST_TEST(all->empty());
  BOOST_TEST(files_in(d).empty());
  BOOST_TEST(seen.dropped["max_age"] == 1u + 15u);
  // And writing goes on in a new file.
  now = plus_seconds(now, 3 * 86400);
  BOOST_TEST(!s->put(make_event(99), bad_json));
  BOOST_TEST(files_in(d).size() == 1u);
}

BOOST_AUTO_TEST_CASE(events_of_files_from_before_a_restart_are_counted_when_dropped) {
  temp_dir d;
  const auto t0 = at("2024-05-01T10:00:00Z");
  {
    store_options o{d.str(), false, nullptr};
    o.file_bytes = 4096;
    o.max_entries_per_submission = 2;
    auto s = open_store(o);
    for (int i = 0; i < 10; ++i) BOOST_REQUIRE(!s->put(make_event(i), bad_json, plus_seconds(t0, i)));
    BOOST_REQUIRE(!s->sync());                                              // 2 entries + a group of 8
    BOOST_REQUIRE(!s->put(make_event(0), bad_json, plus_seconds(t0, 20)));  // a repeat: no event
  }
  observed seen;
  store_options o{d.str(), false, nullptr};
  o.max_age = std::chrono::hours(24);
  seen.hook(o);
  o.clock = [&] { return plus_seconds(t0, 3 * 86400); };
  auto s = open_store(o);
  BOOST_TEST(seen.dropped["max_age"] == 10u);
}

BOOST_AUTO_TEST_CASE(the_set_of_recent_ids_is_bounded_and_forgotten_ids_write_the_event_again) {
  temp_dir d;
  store_options o{d.str(), false, nullptr};
  o.recent_ids = 4;
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  for (int i = 0; i < 10; ++i) {
    BOOST_REQUIRE(!s->put(make_event(i), bad_json, plus_seconds(t0, i)));
    BOOST_REQUIRE(!s->sync());
  }
  BOOST_TEST(s->known_ids() == 4u);
  BOOST_REQUIRE(!s->put(make_event(0), no_device, plus_seconds(t0, 20)));  // forgotten: carries the event
  BOOST_REQUIRE(!s->put(make_event(9), no_device, plus_seconds(t0, 21)));  // recent: does not
  const std::string text = read_file(d.path / files_in(d).front());
  std::size_t events = 0;
  for (std::size_t p = 0; (p = text.find("body_base64", p)) != std::string::npos; ++p) ++events;
  BOOST_TEST(events == 11u);
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 10u);
  BOOST_TEST((*all)[0].attempts == 2u);
  BOOST_TEST((*all)[0].last.type == "FhirResourceNotFoundException");
  BOOST_TEST((*all)[9].attempts == 2u);
}

BOOST_AUTO_TEST_CASE(an_id_whose_file_was_dropped_writes_its_event_again) {
  temp_dir d;
  observed seen;
  store_options o{d.str(), false, nullptr};
  o.max_bytes = 16 * 1024;
  o.file_bytes = 2048;
  seen.hook(o);
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  const auto first = make_event(0, 100);
  BOOST_REQUIRE(!s->put(first, bad_json, t0));
  for (int i = 1; i < 200; ++i) {
    BOOST_REQUIRE(!s->put(make_event(i, 100), bad_json, plus_seconds(t0, i)));
    BOOST_REQUIRE(!s->sync());
  }
  BOOST_REQUIRE(seen.dropped["max_bytes"] > 0u);
  BOOST_REQUIRE(!s->put(first, no_device, plus_seconds(t0, 300)));
  scan_report r;
  std::optional<entry> found;
  BOOST_REQUIRE(!s->scan(
      {}, load::all_events,
      [&](const entry& e) {
        if (e.id == event_id(first)) found = e;
        return true;
      },
      &r));
  BOOST_REQUIRE(found);
  BOOST_TEST(test::same_event(found->original, first));
  BOOST_TEST(found->last.type == "FhirResourceNotFoundException");
  BOOST_TEST(r.orphaned == 0u);
}

BOOST_AUTO_TEST_CASE(a_repeat_whose_event_was_dropped_is_counted_as_orphaned) {
  temp_dir d;
  {
    std::ofstream out(d.path / file_name(at("2024-05-01T10:00:00Z").ticks, 7));
    out << failure_line(event_id(make_event(1)), at("2024-05-01T10:00:00Z"), bad_json, nullptr) << '\n';
  }
  auto s = open_store(d);
  scan_report r;
  std::size_t n = 0;
  BOOST_REQUIRE(!s->scan(
      {}, load::no_events, [&](const entry&) { return ++n, true; }, &r));
  BOOST_TEST(n == 0u);
  BOOST_TEST(r.orphaned == 1u);
  BOOST_TEST(r.damaged == 0u);
  // New files continue the numbering.
  BOOST_REQUIRE(!s->put(make_event(2), bad_json, at("2024-05-02T10:00:00Z")));
  BOOST_TEST(files_in(d).back() == "deadletter-20240502T100000Z-000008.jsonl");
}

BOOST_AUTO_TEST_CASE(failed_events_past_the_limit_of_a_submission_share_grouped_entries) {
  temp_dir d;
  store_options o{d.str(), false, nullptr};
  o.max_entries_per_submission = 3;
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  std::vector<transport::event> sent;
  for (int i = 0; i < 10; ++i) {
    sent.push_back(make_event(i));
    failure f = i % 2 ? bad_json : no_device;
    f.message += " #" + std::to_string(i % 4);  // a few distinct messages
    BOOST_REQUIRE(!s->put(sent.back(), f, t0));
  }
  BOOST_REQUIRE(!s->sync());
  // The next submission starts again with entries of its own.
  BOOST_REQUIRE(!s->put(make_event(50), bad_json, plus_seconds(t0, 1)));
  BOOST_REQUIRE(!s->sync());
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 3u + 2u + 1u);  // 3 single, a group per type, the next submission's
  std::size_t grouped = 0;
  for (const auto& e : *all) {
    if (!e.group) continue;
    grouped += e.events;
    BOOST_TEST(e.grouped.size() == e.events);
    BOOST_TEST(e.first.type == e.last.type);
    for (const auto& g : e.grouped) {
      BOOST_REQUIRE(g.failure < e.failures.size());
      BOOST_TEST(e.failures[g.failure].type == e.last.type);
      // Each event keeps its own message.
      const int i = static_cast<int>(std::stoi(g.original.body.substr(g.original.body.find("\"seq\":") + 6)));
      BOOST_TEST(e.failures[g.failure].message.find("#" + std::to_string(i % 4)) != std::string::npos);
    }
  }
  BOOST_TEST(grouped == 7u);
  auto b = bodies(*all);
  for (const auto& e : sent) BOOST_TEST(b.count(e.body) == 1u);
  // show and replay read a group by its id, with every event.
  for (const auto& e : *all) {
    if (!e.group) continue;
    auto g = s->get(e.id);
    BOOST_REQUIRE(g);
    BOOST_REQUIRE(g->has_value());
    BOOST_TEST((*g)->grouped.size() == e.events);
    BOOST_TEST(!s->mark_replayed(e.id, plus_seconds(t0, 5)));
  }
  auto pending = s->list({"", std::nullopt, true});
  BOOST_REQUIRE(pending);
  BOOST_TEST(pending->size() == 4u);
  // Without events: no bodies, a group's failures still there.
  std::size_t seen = 0;
  BOOST_REQUIRE(!s->scan({}, load::no_events, [&](const entry& e) {
    ++seen;
    BOOST_TEST(e.original.body.empty());
    BOOST_TEST(e.grouped.empty());
    if (e.group) BOOST_TEST(!e.failures.empty());
    return true;
  }));
  BOOST_TEST(seen == 6u);
}

BOOST_AUTO_TEST_CASE(a_batch_of_tiny_events_costs_a_small_constant_per_event) {
  // Issue 12: 80,000 tiny items of one 1 MiB batch took 39.3 MB of dead letters (~490 B each).
  temp_dir d;
  store_options o{d.str(), false, nullptr};
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  const int n = 80000;
  transport::event e;
  e.enqueued_time = {t0.ticks, json::date_kind::utc};
  for (int i = 0; i < n; ++i) {
    e.body = "x";
    e.system_properties = "{\"x-opt-sequence-number\":" + std::to_string(i) + ",\"x-opt-offset\":\"" +
                          std::to_string(i) + "\",\"x-opt-enqueued-time\":\"2024-05-01T10:00:00Z\"}";
    BOOST_REQUIRE(!s->put(e, bad_json, t0));
  }
  BOOST_REQUIRE(!s->sync());
  const std::uint64_t bytes = bytes_in(d);
  BOOST_TEST_MESSAGE("80,000 tiny events: " << bytes << " bytes, " << bytes / n << " per event");
  BOOST_TEST(bytes < static_cast<std::uint64_t>(n) * 40u);
  std::uint64_t events = 0;
  std::size_t entries = 0;
  BOOST_REQUIRE(!s->scan({}, load::all_events, [&](const entry& x) {
    ++entries;
    events += x.group ? x.grouped.size() : 1;
    return true;
  }));
  BOOST_TEST(events == static_cast<std::uint64_t>(n));
  BOOST_TEST(entries < 20u);  // 10 of their own, the rest in groups of at most max_group_bytes
}

BOOST_AUTO_TEST_CASE(a_submission_put_again_after_an_error_is_not_grouped_twice) {
  temp_dir d;
  iomt::test::faults f;
  store_options o{d.str(), false, &f};
  o.max_entries_per_submission = 3;
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  for (int i = 0; i < 6; ++i) BOOST_REQUIRE(!s->put(make_event(i), bad_json, t0));
  // The caller put them again without a sync (durable_source after a failed re-read), then syncs.
  for (int i = 0; i < 6; ++i) BOOST_REQUIRE(!s->put(make_event(i), bad_json, t0));
  BOOST_REQUIRE(!s->sync());
  auto all = s->list();
  BOOST_REQUIRE(all);
  auto b = bodies(*all);
  for (int i = 0; i < 6; ++i) BOOST_TEST(b.count(make_event(i).body) >= 1u);
  BOOST_TEST(b.size() <= 9u);  // never the same event twice in one group
  // A failed write forgets the submission's pending group: the caller puts it all again.
  temp_dir d2;
  o.dir = d2.str();
  auto s2 = open_store(o);
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(!s2->put(make_event(i), bad_json, t0));
  f.set(transport::buffer::io_op::write, EIO, 1);
  BOOST_REQUIRE(s2->sync());  // writing the group fails
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(!s2->put(make_event(i), bad_json, t0));
  BOOST_REQUIRE(!s2->sync());
  all = s2->list();
  BOOST_REQUIRE(all);
  b = bodies(*all);
  for (int i = 0; i < 5; ++i) BOOST_TEST(b.count(make_event(i).body) == 1u);
}

BOOST_AUTO_TEST_CASE(each_thread_groups_its_own_submission) {
  temp_dir d;
  store_options o{d.str(), false, nullptr};
  o.max_entries_per_submission = 1;
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  std::promise<void> put_done, go_sync;
  std::thread other([&] {
    for (int i = 0; i < 3; ++i) BOOST_REQUIRE(!s->put(make_event(100 + i), bad_json, t0));
    put_done.set_value();
    go_sync.get_future().wait();
    BOOST_REQUIRE(!s->sync());
  });
  put_done.get_future().wait();
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(!s->put(make_event(i), bad_json, t0));
  BOOST_REQUIRE(!s->sync());  // this thread's group only
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_TEST(bodies(*all).size() == 1u + 1u + 2u);
  go_sync.set_value();
  other.join();
  all = s->list();
  BOOST_REQUIRE(all);
  BOOST_TEST(bodies(*all).size() == 6u);
  BOOST_TEST(all->size() == 4u);  // two entries of their own, two groups
}

BOOST_AUTO_TEST_CASE(the_count_policy_counts_and_logs_without_storing) {
  temp_dir d;
  observed seen;
  store_options o{d.str(), false, nullptr};
  o.policy = policy({{"TemplateNotFoundException", action::count}});
  o.policy_log_interval = std::chrono::seconds(60);
  seen.hook(o);
  auto s = open_store(o);
  const auto t0 = at("2024-05-01T10:00:00Z");
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(!s->put(make_event(i), no_template, plus_seconds(t0, i)));
  BOOST_REQUIRE(!s->put(make_event(9), bad_json, t0));
  BOOST_REQUIRE(!s->sync());
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 1u);
  BOOST_TEST(all->front().last.type == "InvalidDataFormatException");
  BOOST_TEST(seen.dropped["policy"] == 5u);
  BOOST_TEST(seen.logs_with("deadletter.policy") == 1u);  // rate-limited
  BOOST_TEST(seen.logs_with("TemplateNotFoundException") == 1u);
  BOOST_REQUIRE(!s->put(make_event(6), no_template, plus_seconds(t0, 61)));
  BOOST_TEST(seen.logs_with("deadletter.policy") == 2u);
  BOOST_TEST(seen.logs.back().find("(5 event(s) of this type since the last such line)") != std::string::npos,
             seen.logs.back());
  BOOST_TEST(s->put_count() == 7u);
}

BOOST_AUTO_TEST_CASE(groups_of_a_partially_written_event_are_stored_and_bounded) {
  temp_dir d;
  auto s = open_store(d);
  failure f = no_device;
  f.groups = {"HeartRate 2024-05-01T10:00:00Z..11:00:00Z: FhirResourceNotFoundException: Device not found",
              "Spo2 2024-05-01T10:00:00Z..11:00:00Z: written"};
  const auto t0 = at("2024-05-01T10:00:00Z");
  BOOST_REQUIRE(!s->put(make_event(1), f, t0));
  failure big = bad_json;
  big.message = std::string(100000, 'm');
  for (int i = 0; i < 40; ++i) big.groups.push_back("g" + std::to_string(i) + std::string(1000, 'x'));
  BOOST_REQUIRE(!s->put(make_event(2), big, t0));
  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 2u);
  BOOST_TEST((*all)[0].last.groups == f.groups);
  const failure& b = (*all)[1].last;
  BOOST_TEST(b.message.size() < max_message_bytes + 32);
  BOOST_TEST(b.message.find("...[+") != std::string::npos);
  BOOST_REQUIRE(b.groups.size() == max_groups + 1);
  BOOST_TEST(b.groups[0].size() < max_group_text_bytes + 32);
  BOOST_TEST(b.groups.back() == "...[+8 groups]");
  BOOST_TEST(bytes_in(d) < 40000u);  // the 140 KB of text did not go to disk
}

BOOST_AUTO_TEST_CASE(replays_are_marked_in_one_write) {
  temp_dir d;
  auto s = open_store(d);
  const auto t0 = at("2024-05-01T10:00:00Z");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    std::string id;
    BOOST_REQUIRE(!s->put(make_event(i), bad_json, t0, &id));
    ids.push_back(id);
  }
  ids.pop_back();
  BOOST_REQUIRE(!s->mark_replayed(ids, plus_seconds(t0, 10)));
  auto pending = s->list({"", std::nullopt, true});
  BOOST_REQUIRE(pending);
  BOOST_REQUIRE(pending->size() == 1u);
  BOOST_TEST(test::same_event(pending->front().original, make_event(4)));
}
