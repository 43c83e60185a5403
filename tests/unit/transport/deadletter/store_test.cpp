// The dead-letter store: JSON lines per day, folding repeated failures of one event into one entry,
// filters, replay marks, a torn last line after a crash, disk errors as values.
#define BOOST_TEST_MODULE transport deadletter store
#include <boost/test/unit_test.hpp>

#include "../buffer/buffer_test_support.hpp"
#include "mapping/json/dotnet.hpp"
#include "transport/deadletter/store.hpp"

#include <fstream>

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

std::unique_ptr<store> open_store(const temp_dir& d, transport::buffer::fault_injector* f = nullptr) {
  auto s = store::open({d.str(), true, f});
  BOOST_REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return std::move(*s);
}

const failure bad_json{"normalization", "InvalidDataFormatException", "Invalid event message. Cannot be parsed into a JSON object."};
const failure no_device{"fhirConversion", "FhirResourceNotFoundException", "Fhir resource of type Device not found."};

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
  BOOST_TEST(std::filesystem::exists(d.path / "deadletter-2024-05-01.jsonl"));

  auto all = s->list();
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 2u);
  const entry& a = (*all)[0];
  BOOST_TEST(a.id == id);
  BOOST_TEST(a.last.stage == "normalization");
  BOOST_TEST(a.last.type == "InvalidDataFormatException");
  BOOST_TEST(a.attempts == 1u);
  BOOST_TEST(a.pending());
  BOOST_TEST(test::same_event(a.original, e));  // binary body survives (base64)
  BOOST_TEST(json::format_roundtrip(a.first_failure) == "2024-05-01T10:00:00.0000000Z");

  auto g = s->get(id);
  BOOST_REQUIRE(g);
  BOOST_REQUIRE(g->has_value());
  BOOST_TEST((*g)->last.message == bad_json.message);
  auto none = s->get("nope");
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->has_value());
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
  // The second line of an id does not repeat the event.
  std::ifstream in(d.path / "deadletter-2024-05-02.jsonl");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  BOOST_TEST(text.find("body_base64") == std::string::npos);
  // A reopened store knows the id (no second copy of the event either).
  auto s2 = open_store(d);
  BOOST_TEST(s2->known_ids() == 1u);
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
}

BOOST_AUTO_TEST_CASE(a_torn_last_line_is_skipped_and_counted) {
  temp_dir d;
  {
    auto s = open_store(d);
    BOOST_TEST(!s->put(make_event(1), bad_json, at("2024-05-01T10:00:00Z")));
  }
  {
    std::ofstream out(d.path / "deadletter-2024-05-01.jsonl", std::ios::app);
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
  BOOST_TEST(e->message.find("deadletter-2024-05-01.jsonl") != std::string::npos);
  f.set(transport::buffer::io_op::sync, EIO, 1);
  BOOST_TEST(!s->put(make_event(2), bad_json, at("2024-05-01T10:00:00Z")));
  BOOST_TEST(s->sync().has_value());
  BOOST_TEST(!s->put(make_event(3), bad_json, at("2024-05-01T10:00:00Z")));
  BOOST_TEST(!s->sync());

  f.set(transport::buffer::io_op::mkdir, EACCES);
  auto bad = store::open({(d.path / "sub").string(), true, &f});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.find("Permission denied") != std::string::npos);
}
