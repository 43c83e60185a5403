// The sans-io parts of the dead-letter store: file names and which files to drop, the bounded set
// of recent ids, the count policy's log limiter, group bytes, line parsing and cutting text, and
// the chunked line reader.
#define BOOST_TEST_MODULE transport deadletter format
#include <boost/test/unit_test.hpp>

#include "../buffer/buffer_test_support.hpp"
#include "mapping/json/dotnet.hpp"
#include "transport/deadletter/files.hpp"
#include "transport/deadletter/group.hpp"
#include "transport/deadletter/index.hpp"
#include "transport/deadletter/line_reader.hpp"
#include "transport/deadletter/policy.hpp"
#include "transport/deadletter/recent_ids.hpp"

#include <fstream>

using namespace iomt;
using namespace iomt::transport::deadletter;
using iomt::test::make_event;

namespace {

std::int64_t at(const char* iso) {
  auto t = json::parse_datetime(iso);
  BOOST_REQUIRE(t);
  return t->ticks;
}

constexpr std::int64_t hour = 3600 * json::ticks_per_second;

file_info file(const char* start, std::uint64_t number, std::uint64_t bytes) {
  file_info f;
  f.start = at(start);
  f.number = number;
  f.bytes = bytes;
  f.name = number ? file_name(f.start, number) : day_file_name({f.start, json::date_kind::utc});
  return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(file_names) {
  const std::string n = file_name(at("2024-05-01T10:20:30.5Z"), 42);
  BOOST_TEST(n == "deadletter-20240501T102030Z-000042.jsonl");
  auto f = parse_file_name(n);
  BOOST_REQUIRE(f);
  BOOST_TEST(f->number == 42u);
  BOOST_TEST(f->start == at("2024-05-01T10:20:30Z"));
  BOOST_TEST(parse_file_name("deadletter-20240501T102030Z-1234567.jsonl")->number == 1234567u);
  auto day = parse_file_name("deadletter-2024-05-01.jsonl");
  BOOST_REQUIRE(day);
  BOOST_TEST(day->number == 0u);
  BOOST_TEST(day->start == at("2024-05-01T00:00:00Z"));
  for (const char* bad : {"deadletter-2024-13-01.jsonl", "deadletter-20240501T102030Z-000000.jsonl",
                          "deadletter-20240501T102030Z-00001.jsonl", "deadletter-20240501T252030Z-000001.jsonl",
                          "deadletter-20240501T102030Z-000001.jsonl.tmp", "LOCK", "deadletter-.jsonl",
                          "deadletter-2024-05-01.json", "deadletter-20240501X102030Z-000001.jsonl"})
    BOOST_TEST(!parse_file_name(bad), bad);
}

BOOST_AUTO_TEST_CASE(files_sort_day_files_first_then_by_number) {
  std::vector<file_info> fs = {file("2024-05-02T09:00:00Z", 10, 1), file("2024-04-30T00:00:00Z", 0, 1),
                               file("2024-05-01T23:00:00Z", 9, 1), file("2024-04-29T00:00:00Z", 0, 1),
                               file("2024-05-03T00:00:00Z", 100, 1)};
  sort_files(fs);
  std::vector<std::uint64_t> numbers;
  for (const auto& f : fs) numbers.push_back(f.number);
  BOOST_TEST(numbers == (std::vector<std::uint64_t>{0, 0, 9, 10, 100}));
  BOOST_TEST(fs[0].start == at("2024-04-29T00:00:00Z"));
  // A file's lines are no newer than the next file's start, nor than the end of its day.
  BOOST_TEST(newest_possible(fs, 0) == at("2024-04-30T00:00:00Z"));
  BOOST_TEST(newest_possible(fs, 2) == at("2024-05-02T00:00:00Z"));
  BOOST_TEST(newest_possible(fs, 3) == at("2024-05-03T00:00:00Z"));
  BOOST_TEST(newest_possible(fs, 4) == at("2024-05-04T00:00:00Z"));
  std::vector<file_info> same_day = {file("2024-05-01T10:00:00Z", 1, 1), file("2024-05-01T11:00:00Z", 2, 1)};
  BOOST_TEST(newest_possible(same_day, 0) == at("2024-05-01T11:00:00Z"));
}

BOOST_AUTO_TEST_CASE(drops_are_planned_oldest_first) {
  const std::vector<file_info> fs = {file("2024-04-30T00:00:00Z", 0, 100), file("2024-05-01T10:00:00Z", 1, 100),
                                     file("2024-05-01T11:00:00Z", 2, 100), file("2024-05-02T10:00:00Z", 3, 100)};
  const std::int64_t now = at("2024-05-02T12:00:00Z");
  BOOST_TEST(plan_drops(fs, 0, 0, now).empty());
  BOOST_TEST(plan_drops(fs, 400, 0, now).empty());
  BOOST_TEST(plan_drops(fs, 400, 0, now, 1).size() == 1u);  // room for what is about to be written
  auto p = plan_drops(fs, 250, 0, now);
  BOOST_REQUIRE(p.size() == 2u);
  BOOST_TEST(p[0].index == 0u);
  BOOST_TEST(p[1].index == 1u);
  BOOST_TEST(std::string(to_string(p[0].why)) == "max_bytes");
  // Never the newest file for size, even when it alone is too big.
  p = plan_drops(fs, 10, 0, now);
  BOOST_TEST(p.size() == 3u);
  // By age: files whose every line is older than now - max_age.
  p = plan_drops(fs, 0, 24 * hour, now);  // cut at 2024-05-01T12:00
  BOOST_REQUIRE(p.size() == 2u);
  BOOST_TEST(std::string(to_string(p[1].why)) == "max_age");
  p = plan_drops(fs, 0, 12 * hour, now);  // cut at 2024-05-02T00:00: file 2 ends with its day
  BOOST_TEST(p.size() == 3u);
  p = plan_drops(fs, 0, hour, at("2024-05-04T00:00:00Z"));  // an idle store: the newest goes too
  BOOST_TEST(p.size() == 4u);
  // Age first, then size for the rest.
  p = plan_drops(fs, 150, 24 * hour, now);
  BOOST_REQUIRE(p.size() == 3u);
  BOOST_TEST(std::string(to_string(p[2].why)) == "max_bytes");
}

BOOST_AUTO_TEST_CASE(recent_ids_are_bounded_and_tied_to_their_file) {
  id96 a, b;
  BOOST_REQUIRE(parse_id("0123456789abcdef01234567", a));
  BOOST_TEST(a.hi == 0x0123456789abcdefull);
  BOOST_TEST(a.lo == 0x01234567u);
  BOOST_TEST(id_text(a) == "0123456789abcdef01234567");
  BOOST_TEST(!parse_id("0123456789ABCDEF01234567", b));
  BOOST_TEST(!parse_id("0123", b));
  recent_ids r(3);
  std::vector<id96> ids;
  for (int i = 0; i < 5; ++i) {
    id96 x;
    x.lo = static_cast<std::uint32_t>(i);
    ids.push_back(x);
    r.insert(x, 10 + static_cast<std::uint64_t>(i));
  }
  BOOST_TEST(r.size() == 3u);
  BOOST_TEST(!r.contains(ids[0], 0));  // forgotten, oldest first
  BOOST_TEST(!r.contains(ids[1], 0));
  BOOST_TEST(r.contains(ids[2], 0));
  BOOST_TEST(r.contains(ids[4], 14));
  BOOST_TEST(!r.contains(ids[2], 13));  // its file (12) has been dropped
  r.insert(ids[2], 20);                 // written again
  BOOST_TEST(r.contains(ids[2], 13));
  recent_ids none(0);
  none.insert(ids[0], 1);
  BOOST_TEST(!none.contains(ids[0], 0));
}

BOOST_AUTO_TEST_CASE(policy_and_its_log_limit) {
  action a{};
  BOOST_TEST(parse_action("count", a));
  BOOST_TEST((a == action::count));
  BOOST_TEST(parse_action("store", a));
  BOOST_TEST(!parse_action("drop", a));
  const policy p({{"TemplateNotFoundException", action::count}});
  BOOST_TEST((p.decide("TemplateNotFoundException") == action::count));
  BOOST_TEST((p.decide("InvalidDataFormatException") == action::store));
  BOOST_TEST((policy{}.decide("X") == action::store));

  count_log_limiter l(60 * json::ticks_per_second);
  const std::int64_t t = at("2024-05-01T10:00:00Z");
  BOOST_TEST(l.note("A", t) == 1u);  // the first one is said at once
  BOOST_TEST(l.note("A", t + json::ticks_per_second) == 0u);
  BOOST_TEST(l.note("B", t + json::ticks_per_second) == 1u);  // per type
  BOOST_TEST(l.note("A", t + 59 * json::ticks_per_second) == 0u);
  BOOST_TEST(l.note("A", t + 60 * json::ticks_per_second) == 3u);  // with the quiet ones
  BOOST_TEST(l.note("A", t + 61 * json::ticks_per_second) == 0u);
}

BOOST_AUTO_TEST_CASE(group_lines_round_trip_and_reject_damage) {
  group_builder g("normalization", "InvalidDataFormatException");
  std::vector<transport::event> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(make_event(i));
    id96 id;
    id.lo = static_cast<std::uint32_t>(i);
    failure f{"normalization", "InvalidDataFormatException", i < 3 ? "same" : "other " + std::to_string(i), {}};
    BOOST_TEST(g.add(id, sent.back(), f));
    BOOST_TEST(!g.add(id, sent.back(), f));  // the same id once
  }
  BOOST_TEST(g.events() == 5u);
  std::string gid;
  const std::string line = g.take_line({at("2024-05-01T10:00:00Z"), json::date_kind::utc}, &gid);
  BOOST_TEST(g.empty());
  BOOST_TEST(gid.size() == 24u);
  parsed_line p;
  BOOST_REQUIRE(parse_line(line, true, p));
  BOOST_TEST((p.kind == line_kind::group));
  BOOST_TEST(p.id == gid);
  BOOST_TEST(p.events == 5u);
  BOOST_TEST(p.why.type == "InvalidDataFormatException");
  BOOST_REQUIRE(p.failures.size() == 3u);  // "same", "other 3", "other 4"
  std::vector<grouped_event> events;
  BOOST_REQUIRE(decode_group(p.group_bytes, p.failures.size(), events));
  BOOST_REQUIRE(events.size() == 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    BOOST_TEST(test::same_event(events[i].original, sent[i]));
    BOOST_TEST(p.failures[events[i].failure].message == (i < 3 ? "same" : "other " + std::to_string(i)));
  }
  // Cut or out-of-range bytes are damage, never a crash.
  for (std::size_t n = 1; n < p.group_bytes.size(); ++n) {
    std::vector<grouped_event> part;
    const bool ok = decode_group(std::string_view(p.group_bytes).substr(0, n), p.failures.size(), part);
    BOOST_TEST((!ok || part.size() < 5u));
  }
  std::vector<grouped_event> none;
  BOOST_TEST(!decode_group(p.group_bytes, 1, none));
}

BOOST_AUTO_TEST_CASE(a_group_keeps_at_most_so_many_distinct_failures) {
  group_builder g("fhirConversion", "FhirResourceNotFoundException");
  for (int i = 0; i < 200; ++i) {
    id96 id;
    id.lo = static_cast<std::uint32_t>(i);
    BOOST_TEST(g.add(id, make_event(i), {"fhirConversion", "FhirResourceNotFoundException", "m" + std::to_string(i)}));
  }
  parsed_line p;
  BOOST_REQUIRE(parse_line(g.take_line({at("2024-05-01T10:00:00Z"), json::date_kind::utc}), true, p));
  BOOST_TEST(p.failures.size() == max_group_failures + 1);
  BOOST_TEST(p.failures.back().message.find("message not kept") != std::string::npos);
  std::vector<grouped_event> events;
  BOOST_REQUIRE(decode_group(p.group_bytes, p.failures.size(), events));
  BOOST_TEST(events.size() == 200u);
  BOOST_TEST(events.back().failure == max_group_failures);
}

BOOST_AUTO_TEST_CASE(lines_parse_or_are_damage) {
  const auto e = make_event(1);
  const json::date_time t{at("2024-05-01T10:00:00Z"), json::date_kind::utc};
  parsed_line p;
  BOOST_REQUIRE(parse_line(failure_line(event_id(e), t, {"a", "B", "c", {"g1"}}, &e), true, p));
  BOOST_TEST((p.kind == line_kind::failure));
  BOOST_TEST(p.has_event);
  BOOST_TEST(p.events == 1u);
  BOOST_TEST(p.why.groups == std::vector<std::string>{"g1"});
  BOOST_TEST(test::same_event(p.original, e));
  BOOST_REQUIRE(parse_line(failure_line(event_id(e), t, {"a", "B", "c"}, nullptr), false, p));
  BOOST_TEST(p.events == 0u);
  BOOST_TEST(p.why.groups.empty());
  BOOST_REQUIRE(parse_line(replayed_line(event_id(e), t), false, p));
  BOOST_TEST((p.kind == line_kind::replayed));
  for (const char* bad :
       {"", "{", "[]", "{\"kind\":\"failure\",\"time\":\"2024-05-01T10:00:00Z\"}",
        "{\"kind\":\"other\",\"id\":\"x\",\"time\":\"2024-05-01T10:00:00Z\"}",
        "{\"kind\":\"failure\",\"id\":\"x\",\"time\":\"yesterday\"}",
        "{\"kind\":\"failure\",\"id\":\"x\",\"time\":\"2024-05-01T10:00:00Z\",\"event\":3}",
        "{\"kind\":\"group\",\"id\":\"x\",\"time\":\"2024-05-01T10:00:00Z\",\"events\":0,\"failures\":[]}"})
    BOOST_TEST(!parse_line(bad, true, p), bad);
  // Cut text keeps whole UTF-8 characters and says what it left out.
  BOOST_TEST(cut_text("short", 10) == "short");
  BOOST_TEST(cut_text("abcdefghij", 4) == "abcd...[+6 bytes]");
  BOOST_TEST(cut_text("ab\xE2\x82\xAC", 3) == "ab...[+3 bytes]");
}

BOOST_AUTO_TEST_CASE(the_line_reader_crosses_chunks) {
  iomt::test::temp_dir d;
  const auto path = d.path / "f.jsonl";
  std::string text;
  std::vector<std::string> want;
  for (int i = 0; i < 50; ++i) {
    want.push_back(std::string(static_cast<std::size_t>(i * 7 % 23 + 1), static_cast<char>('a' + i % 26)));
    text += want.back() + (i % 5 == 0 ? "\n\n" : "\n");
  }
  want.push_back("torn");
  text += "torn";
  std::ofstream(path) << text;
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{16}, std::size_t{4096}}) {
    const transport::buffer::file_io io;
    auto f = io.open_read(path.string());
    BOOST_REQUIRE(f);
    line_reader r(io, std::move(*f), chunk);
    std::vector<std::string> got;
    std::string_view line;
    std::uint64_t offset = 0;
    for (;;) {
      auto more = r.next(line, offset);
      BOOST_REQUIRE(more);
      if (!*more) break;
      BOOST_TEST(text.substr(offset, line.size()) == line);
      got.emplace_back(line);
    }
    BOOST_TEST(got == want, "chunk " << chunk);
  }
}
