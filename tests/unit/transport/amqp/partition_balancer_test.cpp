// Dynamic partition ownership, the balancing decision (partition_balancer.hpp): the Azure SDKs'
// rule for N processors and P partitions, expiry, steals, ties; and whole simulations of several
// processors taking rounds against one record set until nobody wants to change anything. No I/O,
// no clock: `now` is a number.
#define BOOST_TEST_MODULE transport_amqp_partition_balancer
#include <boost/test/unit_test.hpp>

#include "transport/amqp/eventhubs/blob_auth.hpp"
#include "transport/amqp/eventhubs/partition_balancer.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace eh = iomt::transport::amqp::eventhubs;
using eh::claim_kind;
using eh::ownership_record;

namespace {

constexpr std::int64_t now = 1'800'000'000'000;  // Unix ms
const eh::balance_options opts{std::chrono::milliseconds(60000), 1};

std::vector<std::string> ids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(std::to_string(i));
  return out;
}

ownership_record rec(const std::string& p, const std::string& owner, std::int64_t age_ms = 1000) {
  return {p, owner, now - age_ms, "\"etag-" + p + "-" + owner + "\""};
}

std::size_t count(const eh::balance_plan& plan, claim_kind k) {
  return static_cast<std::size_t>(
      std::count_if(plan.claims.begin(), plan.claims.end(), [k](const auto& c) { return c.kind == k; }));
}

std::set<std::string> partitions_of(const eh::balance_plan& plan, claim_kind k) {
  std::set<std::string> out;
  for (const auto& c : plan.claims)
    if (c.kind == k) out.insert(c.partition);
  return out;
}

// A record store the simulated processors share: each claim succeeds only with the current ETag.
struct store {
  std::map<std::string, ownership_record> records;
  int version = 0;
  std::vector<ownership_record> list() const {
    std::vector<ownership_record> out;
    for (const auto& [p, r] : records) out.push_back(r);
    return out;
  }
  bool claim(const eh::planned_claim& c, const std::string& owner, std::int64_t at) {
    auto it = records.find(c.partition);
    const std::string current = it == records.end() ? "" : it->second.etag;
    if (current != c.etag) return false;  // 412 / 409
    records[c.partition] = {c.partition, owner, at, "\"v" + std::to_string(++version) + "\""};
    return true;
  }
  std::map<std::string, std::size_t> load(std::int64_t at) const {
    std::map<std::string, std::size_t> out;
    for (const auto& [p, r] : records)
      if (eh::active(r, at, opts.expiry)) ++out[r.owner];
    return out;
  }
};

// Rounds of every processor in turn until a whole pass plans nothing but renewals.
int settle(store& s, const std::vector<std::string>& processors, const std::vector<std::string>& parts, std::int64_t at,
           int max_passes = 50) {
  for (int pass = 1; pass <= max_passes; ++pass) {
    bool changed = false;
    for (const auto& self : processors) {
      const auto plan = eh::plan_balance(self, parts, s.list(), at, opts);
      for (const auto& c : plan.claims) {
        if (c.kind != claim_kind::renew) changed = true;
        s.claim(c, self, at);
      }
    }
    if (!changed) return pass;
  }
  return -1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(alone_a_processor_claims_every_partition) {
  const auto plan = eh::plan_balance("a", ids(8), {}, now, opts);
  BOOST_TEST(plan.processors == 1u);
  BOOST_TEST(plan.target == 8u);
  BOOST_TEST(count(plan, claim_kind::claim) == 8u);
  for (const auto& c : plan.claims) BOOST_TEST(c.etag.empty());  // new records: If-None-Match: *
}

BOOST_AUTO_TEST_CASE(balanced_means_renew_only) {
  std::vector<ownership_record> r;
  for (int i = 0; i < 8; ++i) r.push_back(rec(std::to_string(i), i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c"));
  // a: 0,3,6  b: 1,4,7  c: 2,5 -> 3,3,2 of 8 over 3: balanced.
  for (const std::string self : {"a", "b", "c"}) {
    const auto plan = eh::plan_balance(self, ids(8), r, now, opts);
    BOOST_TEST(plan.balanced);
    BOOST_TEST(plan.processors == 3u);
    BOOST_TEST(count(plan, claim_kind::claim) + count(plan, claim_kind::steal) == 0u);
    BOOST_TEST(count(plan, claim_kind::renew) == (self == "c" ? 2u : 3u));
    for (const auto& c : plan.claims) BOOST_TEST(!c.etag.empty());  // renewals are conditional
  }
}

BOOST_AUTO_TEST_CASE(a_new_processor_steals_one_per_round_from_the_most_loaded) {
  // a holds 5, b holds 3, c is new: 8 over 3 -> min 2, two of them with 3.
  std::vector<ownership_record> r;
  for (int i = 0; i < 5; ++i) r.push_back(rec(std::to_string(i), "a"));
  for (int i = 5; i < 8; ++i) r.push_back(rec(std::to_string(i), "b"));
  const auto plan = eh::plan_balance("c", ids(8), r, now, opts);
  BOOST_TEST(!plan.balanced);
  BOOST_TEST(plan.processors == 3u);
  BOOST_TEST(plan.target == 2u);
  BOOST_REQUIRE(count(plan, claim_kind::steal) == 1u);  // max_steals
  const auto& s = plan.claims.back();
  BOOST_TEST(s.previous_owner == "a");  // the most loaded first
  BOOST_TEST(std::stoi(s.partition) < 5);
  BOOST_TEST(s.etag == "\"etag-" + s.partition + "-a\"");
  // With more steals allowed it takes its whole share, still from a (5 -> 3), not from b.
  auto more = opts;
  more.max_steals = 8;
  const auto greedy = eh::plan_balance("c", ids(8), r, now, more);
  BOOST_TEST(count(greedy, claim_kind::steal) == 2u);
  for (const auto& c : greedy.claims) BOOST_TEST(c.previous_owner == "a");
}

BOOST_AUTO_TEST_CASE(free_partitions_come_before_steals) {
  std::vector<ownership_record> r = {rec("0", "a"), rec("1", "a"), rec("2", "a"), rec("3", "a"), rec("4", "a")};
  const auto plan = eh::plan_balance("b", ids(8), r, now, opts);  // 5,6,7 have no record
  BOOST_TEST(plan.target == 4u);
  BOOST_TEST(count(plan, claim_kind::claim) == 3u);
  BOOST_TEST(count(plan, claim_kind::steal) == 1u);
  BOOST_TEST((partitions_of(plan, claim_kind::claim) == std::set<std::string>{"5", "6", "7"}));
}

BOOST_AUTO_TEST_CASE(expired_and_released_records_are_free) {
  // b stopped renewing 61 s ago; c released (owner "") a second ago; a holds two.
  std::vector<ownership_record> r = {rec("0", "a"),        rec("1", "a"),      rec("2", "b", 61000),
                                     rec("3", "b", 61000), rec("4", "", 1000), rec("5", "b", 59999)};
  BOOST_TEST(!eh::active(r[2], now, opts.expiry));
  BOOST_TEST(!eh::active(r[4], now, opts.expiry));
  BOOST_TEST(eh::active(r[5], now, opts.expiry));
  const auto plan = eh::plan_balance("a", ids(6), r, now, opts);
  // Active: a(0,1), b(5) -> 2 processors, 3 each; a claims one free partition, with its ETag.
  BOOST_TEST(plan.processors == 2u);
  BOOST_TEST(plan.target == 3u);
  BOOST_REQUIRE(count(plan, claim_kind::claim) == 1u);
  const auto& c = plan.claims.back();
  BOOST_TEST((c.partition == "2" || c.partition == "3" || c.partition == "4"));
  BOOST_TEST(!c.etag.empty());  // an existing record: If-Match
  // A record without Last-Modified is inactive too.
  BOOST_TEST(!eh::active({"0", "a", -1, "\"x\""}, now, opts.expiry));
}

BOOST_AUTO_TEST_CASE(an_expired_own_record_is_claimed_not_renewed) {
  std::vector<ownership_record> r = {rec("0", "a", 70000), rec("1", "b")};
  const auto plan = eh::plan_balance("a", ids(2), r, now, opts);
  BOOST_TEST(count(plan, claim_kind::renew) == 0u);
  BOOST_TEST((partitions_of(plan, claim_kind::claim) == std::set<std::string>{"0"}));
}

BOOST_AUTO_TEST_CASE(more_processors_than_partitions) {
  // 2 partitions, a and b own one each, c is new: 2 over 3 -> min 0, two with one: balanced.
  std::vector<ownership_record> r = {rec("0", "a"), rec("1", "b")};
  const auto plan = eh::plan_balance("c", ids(2), r, now, opts);
  BOOST_TEST(plan.balanced);
  BOOST_TEST(plan.claims.empty());
  // a holds both, b owns nothing: one each -> b steals one.
  std::vector<ownership_record> r2 = {rec("0", "a"), rec("1", "a"), rec("x", "z")};  // "x": not a partition
  const auto p2 = eh::plan_balance("b", ids(2), r2, now, opts);
  BOOST_TEST(p2.processors == 2u);  // z's record is for an unknown partition: ignored
  BOOST_TEST(count(p2, claim_kind::steal) == 1u);
}

BOOST_AUTO_TEST_CASE(an_owner_with_its_share_plus_one_is_not_robbed) {
  // 8 over 3: a 3, b 3, c 2 is balanced for c; but d joining: 8 over 4 = 2 each.
  std::vector<ownership_record> r = {rec("0", "a"), rec("1", "a"), rec("2", "a"), rec("3", "b"),
                                     rec("4", "b"), rec("5", "b"), rec("6", "c"), rec("7", "c")};
  const auto plan = eh::plan_balance("d", ids(8), r, now, opts);
  BOOST_TEST(plan.target == 2u);
  BOOST_REQUIRE(count(plan, claim_kind::steal) == 1u);
  BOOST_TEST(plan.claims[0].previous_owner == "a");  // ties (a and b hold 3): the lower id
  // c holds exactly its share: never a victim.
  auto more = opts;
  more.max_steals = 8;
  for (const auto& c : eh::plan_balance("d", ids(8), r, now, more).claims) BOOST_TEST(c.previous_owner != "c");
}

BOOST_AUTO_TEST_CASE(ties_between_processors_prefer_different_partitions) {
  // Two fresh processors see the same empty store; their preferences differ, so their first
  // choices are not the same order (the SDK picks at random for the same reason).
  auto parts = ids(8);
  auto pa = parts, pb = parts;
  std::sort(pa.begin(), pa.end(),
            [](auto& x, auto& y) { return eh::claim_preference("a", x) < eh::claim_preference("a", y); });
  std::sort(pb.begin(), pb.end(),
            [](auto& x, auto& y) { return eh::claim_preference("b", x) < eh::claim_preference("b", y); });
  BOOST_TEST(pa != pb);
  // Deterministic: the same input plans the same claims.
  std::vector<ownership_record> r = {rec("0", "x"), rec("1", "x"), rec("2", "x"), rec("3", "x")};
  const auto p1 = eh::plan_balance("y", ids(8), r, now, opts);
  const auto p2 = eh::plan_balance("y", ids(8), r, now, opts);
  BOOST_REQUIRE(p1.claims.size() == p2.claims.size());
  for (std::size_t i = 0; i < p1.claims.size(); ++i) BOOST_TEST(p1.claims[i].partition == p2.claims[i].partition);
}

BOOST_AUTO_TEST_CASE(simulated_processors_converge_to_a_balance) {
  // N processors, P partitions, all starting together on an empty store; then one dies (its
  // records expire), one joins, one leaves (releases): every time the load ends at floor/ceil of
  // P/N and every partition has exactly one active owner.
  for (int p : {1, 2, 7, 8, 16, 32}) {
    for (int n : {1, 2, 3, 4, 5, 9}) {
      store s;
      std::vector<std::string> procs;
      for (int i = 0; i < n; ++i) procs.push_back("proc-" + std::to_string(i));
      const auto parts = ids(p);
      std::int64_t at = now;
      BOOST_TEST_REQUIRE(settle(s, procs, parts, at) > 0, "P=" << p << " N=" << n << " did not settle");
      auto check = [&](const std::vector<std::string>& live) {
        const auto load = s.load(at);
        std::size_t total = 0;
        for (const auto& [o, k] : load) {
          BOOST_TEST((std::find(live.begin(), live.end(), o) != live.end()), o << " is not alive");
          const std::size_t lo = parts.size() / live.size();
          BOOST_TEST((k == lo || k == lo + 1), "P=" << p << " N=" << live.size() << " " << o << " owns " << k);
          total += k;
        }
        BOOST_TEST(total == parts.size());
      };
      check(procs);
      if (n < 2) continue;
      // The last one dies: 61 s later its records have expired and the others took them over.
      const std::string dead = procs.back();
      procs.pop_back();
      at += 61000;
      for (auto& [id, r] : s.records)  // the living renewed at `at - 1000`
        if (r.owner != dead) r.last_modified_ms = at - 1000;
      BOOST_TEST_REQUIRE(settle(s, procs, parts, at) > 0);
      check(procs);
      // A new one joins.
      procs.push_back("proc-new");
      BOOST_TEST_REQUIRE(settle(s, procs, parts, at) > 0);
      check(procs);
      // The first one leaves cleanly: owner "" on its records.
      const std::string leaving = procs.front();
      procs.erase(procs.begin());
      for (auto& [id, r] : s.records)
        if (r.owner == leaving) r = {id, "", at, "\"released-" + id + "\""};
      BOOST_TEST_REQUIRE(settle(s, procs, parts, at) > 0);
      check(procs);
    }
  }
}

BOOST_AUTO_TEST_CASE(ownership_blob_layout_and_listing) {
  namespace blob = eh::blob;
  // The SDKs' layout: namespace, hub and group lower-case, the partition id as it is.
  BOOST_TEST(blob::ownership_blob_name("NS.servicebus.windows.net", "DeviceData", "$Default", "3") ==
             "ns.servicebus.windows.net/devicedata/$default/ownership/3");
  const std::string xml = R"(<?xml version="1.0" encoding="utf-8"?>)"
                          R"(<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" )"
                          R"(ContainerName="c"><Prefix>ns/h/$default/ownership/</Prefix><Blobs>)"
                          R"(<Blob><Name>ns/h/$default/ownership/0</Name>)"
                          R"(<Properties><Last-Modified>Mon, 07 Dec 2026 21:30:05 GMT</Last-Modified>)"
                          R"(<Etag>0x8DC1</Etag></Properties><Metadata><ownerid>proc-a</ownerid></Metadata></Blob>)"
                          R"(<Blob><Name>ns/h/$default/ownership/1</Name>)"
                          R"(<Properties><Last-Modified>Thu, 01 Jan 1970 00:00:01 GMT</Last-Modified>)"
                          R"(<Etag>"0x8DC2"</Etag></Properties><Metadata><ownerid /></Metadata></Blob>)"
                          R"(</Blobs><NextMarker /></EnumerationResults>)";
  auto l = blob::parse_blob_listing(xml);
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(l->blobs.size() == 2u);
  BOOST_TEST(l->blobs[0].owner_id == "proc-a");
  BOOST_TEST(l->blobs[0].has_owner_id);
  BOOST_TEST(l->blobs[0].etag == "\"0x8DC1\"");
  BOOST_TEST(l->blobs[1].owner_id == "");  // released
  BOOST_TEST(l->blobs[1].has_owner_id);
  BOOST_TEST(blob::parse_rfc1123(l->blobs[1].last_modified).value_or(-1) == 1000);
  // 2026-12-07T21:30:05Z
  BOOST_TEST(blob::parse_rfc1123(l->blobs[0].last_modified).value_or(-1) == 1796679005000);
  BOOST_TEST(blob::parse_rfc1123("Sun, 29 Feb 2032 12:00:00 GMT").value_or(-1) == 1961668800000);
  for (const char* bad : {"", "07 Dec 2026 21:30:05 GMT", "Mon, 07 Dez 2026 21:30:05 GMT",
                          "Mon, 07 Dec 2026 25:30:05 GMT", "Mon, 07 Dec 2026 21:30:05 UTC"})
    BOOST_TEST(!blob::parse_rfc1123(bad), bad);
}
