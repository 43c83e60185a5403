// Resources in memory answering identity resolution (fhir/memory_exchange.hpp, issue 13): identifier
// searches decoded back from the request target, PUTs with versions and If-Match, and the identity
// core of `run` (identity_resolver) resolving against it, with a read-through that never writes.
#include "fhir/memory_exchange.hpp"
#include "fhir/errors.hpp"
#include "fhir/identity.hpp"
#include "fhir/search.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace iomt::fhir;
namespace http = boost::beast::http;

namespace {

boost::json::object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

template <class T>
T run(boost::asio::awaitable<T> a) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  boost::asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  ioc.run();
  return std::move(*out);
}

plan_request get(std::string url) {
  plan_request r;
  r.url = std::move(url);
  return r;
}

// A "live server" that records what it is asked and answers searches with one Device.
class recording_server final : public request_exchange {
public:
  std::vector<std::string> asked;
  boost::asio::awaitable<std::vector<entry_answer>> send(std::span<const plan_request> requests) override {
    std::vector<entry_answer> out;
    for (const auto& r : requests) {
      asked.push_back(describe(r));
      entry_answer a;
      a.status = 200;
      a.resource = obj(R"({"resourceType":"Bundle","type":"searchset","entry":[]})");
      if (r.url.starts_with("Device?"))
        a.resource = obj(R"({"resourceType":"Bundle","type":"searchset","entry":[{"resource":
          {"resourceType":"Device","id":"live-d","meta":{"versionId":"7"},"identifier":[{"value":"dev-1"}]}}]})");
      out.push_back(std::move(a));
    }
    co_return out;
  }
  boost::asio::awaitable<search_fold> complete_search(const plan_request& r, const entry_answer& a) override {
    co_return fold_search(a, r);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_exchange_suite)

BOOST_AUTO_TEST_CASE(identifier_queries_decode_back) {
  for (auto [system, value] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"", "dev 1"}, {"urn:sys", "a|b,c\\d"}, {"http://x/y", "ünï%"}}) {
    auto d = decode_identifier_query(identifier_query("Device", system, value));
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST(d->type == "Device");
    BOOST_TEST(d->value == value);
    BOOST_TEST(d->system.has_value() == !system.empty());
    if (d->system) BOOST_TEST(*d->system == system);
  }
  BOOST_TEST(!decode_identifier_query("Device/abc").has_value());
  BOOST_TEST(!decode_identifier_query("Device?name=x").has_value());
  auto nosys = decode_identifier_query("Patient?identifier=%7Cp");
  BOOST_TEST_REQUIRE(nosys.has_value());
  BOOST_TEST(*nosys->system == "");
  BOOST_TEST(!matches_identifier(obj(R"({"identifier":[{"system":"s","value":"p"}]})"), *nosys));
  BOOST_TEST(matches_identifier(obj(R"({"identifier":[{"value":"p"}]})"), *nosys));
}

BOOST_AUTO_TEST_CASE(searches_and_versioned_puts) {
  memory_exchange m;
  BOOST_TEST(
      m.add(obj(R"({"resourceType":"Device","id":"d1","identifier":[{"system":"s","value":"x"}]})")).has_value());
  BOOST_TEST(!m.add(obj(R"({"resourceType":"Device"})")).has_value());
  plan_request put;
  put.method = http::verb::put;
  put.url = "Device/d1";
  put.resource = obj(
      R"({"resourceType":"Device","id":"d1","identifier":[{"system":"s","value":"x"}],"patient":{"reference":"Patient/p"}})");
  put.if_match_version = "9";  // stale
  const plan_request reqs[] = {get(identifier_query("Device", "s", "x")), get(identifier_query("Device", "", "x")),
                               get(identifier_query("Device", "other", "x")), put};
  auto answers = run(m.send(reqs));
  BOOST_TEST(fold_search(answers[0], reqs[0]).found->size() == 1u);
  BOOST_TEST(fold_search(answers[1], reqs[1]).found->size() == 1u);  // no system: any system
  BOOST_TEST(fold_search(answers[2], reqs[2]).found->empty());
  BOOST_TEST(answers[3].status == 412u);
  put.if_match_version = "1";
  const plan_request again[] = {put};
  auto ok = run(m.send(again));
  BOOST_TEST(ok[0].status == 200u);
  BOOST_TEST(version_id(*ok[0].resource) == "2");
  BOOST_TEST(m.written() == (std::vector<std::string>{"Device/d1"}));
}

// Create mode through the same identity core as `run`: upstream's ids (iomt-expected D2).
BOOST_AUTO_TEST_CASE(create_mode_resolves_in_memory) {
  memory_exchange m;
  identity_resolver resolver(identity_options{identity_mode::create, "mySystem"});
  const identity_request q[] = {{"deviceId", "patientId", std::nullopt}, {"deviceId", "another", std::nullopt}};
  auto ids = run(resolver.resolve_all(q, m));
  BOOST_TEST_REQUIRE(ids[0].has_value());
  BOOST_TEST(ids[0]->patient == "bf7c741785b9bbaa3e63dd3637c0acb9caa211351ff2ca17d9474c20c1cdb683");
  BOOST_TEST(ids[0]->device == "fd6eb28968a94406c73e4c3b6f05a142f71e3a1a27f3cf9435019cae48069afa");
  BOOST_TEST_REQUIRE(ids[1].has_value());
  BOOST_TEST(ids[1]->patient == ids[0]->patient);  // the per-device cache (§11)
  BOOST_TEST(m.all_of("Patient").size() == 1u);
  BOOST_TEST(m.all_of("Device").size() == 1u);
}

// Reading through a live server: searches go there too, writes never do.
BOOST_AUTO_TEST_CASE(read_through_never_writes) {
  recording_server live;
  memory_exchange m(&live);
  identity_resolver resolver(identity_options{identity_mode::create, ""});
  const identity_request q[] = {{"dev-1", "pat-1", std::nullopt}};
  auto ids = run(resolver.resolve_all(q, m));
  BOOST_TEST_REQUIRE(ids[0].has_value());
  BOOST_TEST(ids[0]->device == "live-d");  // found on the server, linked here to the new Patient
  for (const auto& a : live.asked) BOOST_TEST(a.starts_with("GET "), a);
  BOOST_TEST(live.asked.size() == 2u);  // Device, then Patient
  BOOST_TEST(m.server_searches() == 2u);
  BOOST_TEST_REQUIRE(m.written().size() == 2u);
  BOOST_TEST(m.written()[1] == "Device/live-d");
  BOOST_TEST(version_id(*m.all_of("Device").front()) == "8");
}

BOOST_AUTO_TEST_SUITE_END()
