// `iomtflow deadletter list|show|replay` against a store and buffer directory in a temporary folder.
#define BOOST_TEST_MODULE deadletter cli
#include <boost/test/unit_test.hpp>

#include "../buffer/buffer_test_support.hpp"
#include "transport/buffer/inbox.hpp"
#include "transport/deadletter/store.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace iomt::cli {
int deadletter(int argc, char** argv, int first);
}

using namespace iomt;
using iomt::test::make_event;
using iomt::test::temp_dir;

namespace {

struct run_result {
  int code;
  std::string out;
  std::string err;
};

run_result run(std::vector<std::string> args) {
  args.insert(args.begin(), {"iomtflow", "deadletter"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  auto* o = std::cout.rdbuf(out.rdbuf());
  auto* e = std::cerr.rdbuf(err.rdbuf());
  const int code = cli::deadletter(static_cast<int>(argv.size()), argv.data(), 2);
  std::cout.rdbuf(o);
  std::cerr.rdbuf(e);
  return {code, out.str(), err.str()};
}

struct fixture {
  temp_dir d;
  std::string config = (d.path / "iomtflow.yaml").string();
  std::string ids[2];
  fixture() {
    std::ofstream(config) << "buffer:\n  dir: data/buffer\ndeadletter:\n  dir: data/deadletter\n";
    auto s = transport::deadletter::store::open({(d.path / "data/deadletter").string(), true, nullptr});
    BOOST_REQUIRE(s);
    transport::event bad = make_event(1);
    bad.body = "{not json";
    BOOST_REQUIRE(!(*s)->put(bad, {"normalization", "InvalidDataFormatException", "Invalid event message."},
                             transport::deadletter::utc_now(), &ids[0]));
    BOOST_REQUIRE(!(*s)->put(
        make_event(2), {"fhirConversion", "FhirResourceNotFoundException", "Fhir resource of type Device not found."},
        transport::deadletter::utc_now(), &ids[1]));
    BOOST_REQUIRE(!(*s)->sync());
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(list_and_filters, fixture) {
  auto r = run({"list", "--config", config});
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out.find(ids[0]) != std::string::npos);
  BOOST_TEST(r.out.find("InvalidDataFormatException") != std::string::npos);
  BOOST_TEST(r.out.find("2 dead-lettered event(s), 2 pending") != std::string::npos, r.out);
  r = run({"list", "--config", config, "--type", "FhirResourceNotFoundException", "--json"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.out.find(ids[1]) != std::string::npos);
  BOOST_TEST(r.out.find(ids[0]) == std::string::npos);
  r = run({"list", "--config", config, "--since", "1h"});
  BOOST_TEST(r.out.find("2 dead-lettered") != std::string::npos);
  r = run({"list", "--config", config, "--since", "2999-01-01"});
  BOOST_TEST(r.out.find("0 dead-lettered") != std::string::npos);
  r = run({"list", "--config", config, "--since", "yesterday-ish"});
  BOOST_TEST(r.code == 2);
}

BOOST_FIXTURE_TEST_CASE(show_one, fixture) {
  auto r = run({"show", ids[0], "--config", config});
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out.find("{not json") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("attempts:      1") != std::string::npos);
  r = run({"show", "0000", "--config", config});
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.err.find("no dead-lettered event") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(replay_into_the_buffer_inbox, fixture) {
  auto r = run({"replay", "--type", "InvalidDataFormatException", "--config", config});
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out.find("replayed 1 event(s)") != std::string::npos, r.out);
  const std::string buffer = (d.path / "data/buffer").string();
  auto files = transport::buffer::list_inbox(transport::buffer::file_io{}, buffer);
  BOOST_REQUIRE(files);
  BOOST_REQUIRE(files->size() == 1u);
  auto events = transport::buffer::read_inbox(transport::buffer::file_io{}, files->front());
  BOOST_REQUIRE(events);
  BOOST_REQUIRE(events->size() == 1u);
  BOOST_TEST(events->front().body == "{not json");
  // Marked: a second replay finds nothing pending of that type; list shows it replayed.
  r = run({"replay", "--type", "InvalidDataFormatException", "--config", config});
  BOOST_TEST(r.out.find("nothing to replay") != std::string::npos);
  r = run({"list", "--config", config, "--pending"});
  BOOST_TEST(r.out.find("1 dead-lettered event(s), 1 pending") != std::string::npos, r.out);
  // By id, even when already replayed; --dir/--buffer-dir instead of --config.
  r = run({"replay", ids[0], "--dir", (d.path / "data/deadletter").string(), "--buffer-dir", buffer});
  BOOST_TEST(r.code == 0, r.err);
  files = transport::buffer::list_inbox(transport::buffer::file_io{}, buffer);
  BOOST_TEST(files->size() == 2u);
}

BOOST_AUTO_TEST_CASE(usage_errors) {
  BOOST_TEST(run({"list"}).code == 2);
  BOOST_TEST(run({"frobnicate", "--dir", "/tmp"}).code == 2);
  BOOST_TEST(run({"list", "--dir", "/nonexistent/dl"}).code == 1);
  BOOST_TEST(run({"list", "--bogus", "x"}).code == 2);
}

BOOST_AUTO_TEST_CASE(grouped_entries_are_listed_shown_and_replayed_whole) {
  temp_dir d;
  const std::string dir = (d.path / "deadletter").string();
  const std::string buffer = (d.path / "buffer").string();
  {
    transport::deadletter::store_options o{dir, true, nullptr};
    o.max_entries_per_submission = 2;
    auto s = transport::deadletter::store::open(o);
    BOOST_REQUIRE(s);
    for (int i = 0; i < 25; ++i)
      BOOST_REQUIRE(!(*s)->put(make_event(i), {"normalization", "InvalidDataFormatException", "Invalid event message."},
                               transport::deadletter::utc_now()));
    BOOST_REQUIRE(!(*s)->sync());
  }
  auto r = run({"list", "--dir", dir});
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out.find("[23 events] Invalid event message.") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("25 dead-lettered event(s), 25 pending (3 entries, 1 of them grouped)") != std::string::npos,
             r.out);
  BOOST_TEST(r.out.find("heartRate") == std::string::npos);  // no bodies in the table
  r = run({"list", "--dir", dir, "--json"});
  BOOST_TEST(r.code == 0, r.err);
  std::string group_id;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto v = boost::json::parse(line).as_object();
    if (!v.contains("events")) continue;
    group_id = v.at("id").as_string().c_str();
    BOOST_TEST(v.at("events").as_int64() == 23);
    BOOST_TEST(v.at("failures").as_array().size() == 1u);
    BOOST_TEST(!v.contains("items"));  // list leaves a group's events to show
  }
  BOOST_REQUIRE(!group_id.empty());
  r = run({"show", group_id, "--dir", dir});
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out.find("events:        23") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("event 22 (failure 0): ") != std::string::npos, r.out);
  r = run({"show", group_id, "--dir", dir, "--json"});
  BOOST_TEST(boost::json::parse(r.out).as_object().at("items").as_array().size() == 23u);
  r = run({"replay", group_id, "--dir", dir, "--buffer-dir", buffer});
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out.find("replayed 23 event(s)") != std::string::npos, r.out);
  auto files = transport::buffer::list_inbox(transport::buffer::file_io{}, buffer);
  BOOST_REQUIRE(files);
  BOOST_REQUIRE(files->size() == 1u);
  auto events = transport::buffer::read_inbox(transport::buffer::file_io{}, files->front());
  BOOST_REQUIRE(events);
  BOOST_TEST(events->size() == 23u);
  r = run({"replay", "--dir", dir, "--buffer-dir", buffer});  // the two pending single entries
  BOOST_TEST(r.out.find("replayed 2 event(s)") != std::string::npos, r.out);
  r = run({"list", "--dir", dir, "--pending"});
  BOOST_TEST(r.out.find("0 dead-lettered event(s), 0 pending") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(day_files_of_an_older_service_are_listed) {
  temp_dir d;
  const std::string dir = (d.path / "deadletter").string();
  std::filesystem::create_directories(dir);
  const auto e = make_event(3);
  const std::string id = transport::deadletter::event_id(e);
  const auto t = transport::deadletter::utc_now();
  std::ofstream(std::filesystem::path(dir) / transport::deadletter::day_file_name(t))
      << transport::deadletter::failure_line(id, t, {"normalization", "InvalidDataFormatException", "old"}, &e) << '\n';
  auto r = run({"list", "--dir", dir});
  BOOST_TEST(r.out.find(id) != std::string::npos, r.out);
  r = run({"show", id, "--dir", dir});
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.out.find("heartRate") != std::string::npos, r.out);
}
