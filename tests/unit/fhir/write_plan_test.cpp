// The write plan of a flush (fhir/write_plan.hpp): Bundle cutting and ordering, the Bundle text,
// reading batch answers (mixed per-entry outcomes, 409/412, malformed answers) and failure classes;
// the CapabilityStatement reader; writes of one Observation applied in order (apply_chain).
#include "fhir/write_plan.hpp"
#include "fhir/capabilities.hpp"
#include "fhir/observation_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

using namespace iomt::fhir;
using iomt::mapping::failure_class;
namespace http = boost::beast::http;

namespace {

boost::json::object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

plan_request get(std::string url, std::string key = {}) {
  plan_request r;
  r.url = std::move(url);
  r.key = std::move(key);
  return r;
}

plan_request put(std::string type, std::string id, std::string version = {}) {
  plan_request r;
  r.method = http::verb::put;
  r.url = type + "/" + id;
  r.resource = boost::json::object{{"resourceType", type}, {"id", id}};
  r.if_match_version = std::move(version);
  r.key = r.url;
  return r;
}

std::vector<std::vector<std::size_t>> flat(const std::vector<planned_round>& rounds) {
  std::vector<std::vector<std::size_t>> out;
  for (const auto& r : rounds)
    for (const auto& b : r) out.push_back(b);
  return out;
}

batch_reply processed(std::string_view entries, std::size_t n) {
  return read_batch_reply(
      200, R"({"resourceType":"Bundle","type":"batch-response","entry":)" + std::string(entries) + "}", n);
}

std::string oo(std::string_view text) {
  return R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"x","diagnostics":")" +
         std::string(text) + R"("}]})";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(write_plan)

BOOST_AUTO_TEST_CASE(bundles_hold_at_most_max_entries) {
  std::vector<plan_request> rs;
  for (int i = 0; i < 7; ++i) rs.push_back(get("Observation?identifier=" + std::to_string(i), std::to_string(i)));
  auto rounds = plan_rounds(rs, 3);
  BOOST_TEST_REQUIRE(rounds.size() == 1u);
  BOOST_TEST(flat(rounds) == (std::vector<std::vector<std::size_t>>{{0, 1, 2}, {3, 4, 5}, {6}}));
  BOOST_TEST(flat(plan_rounds(rs, 500)) == (std::vector<std::vector<std::size_t>>{{0, 1, 2, 3, 4, 5, 6}}));
  // 0 means 1: never an empty Bundle, never a request left out
  BOOST_TEST(flat(plan_rounds(rs, 0)).size() == 7u);
  BOOST_TEST(plan_rounds({}, 50).empty());
}

BOOST_AUTO_TEST_CASE(requests_to_one_identifier_go_out_in_order_in_successive_rounds) {
  // a, b, a, c, a, (no key), b
  std::vector<plan_request> rs{get("1", "a"), get("2", "b"), get("3", "a"), get("4", "c"),
                               get("5", "a"), get("6"),      get("7", "b")};
  auto rounds = plan_rounds(rs, 2);
  BOOST_TEST_REQUIRE(rounds.size() == 3u);
  BOOST_TEST(rounds[0] == (planned_round{{0, 1}, {3, 5}}));  // first of each key + the unkeyed one
  BOOST_TEST(rounds[1] == (planned_round{{2, 6}}));
  BOOST_TEST(rounds[2] == (planned_round{{4}}));
}

BOOST_AUTO_TEST_CASE(chains_keep_flush_order) {
  const std::vector<std::string> keys{"x", "y", "x", "z", "x", "y"};
  BOOST_TEST(chains_by_key(keys) == (std::vector<std::vector<std::size_t>>{{0, 2, 4}, {1, 5}, {3}}));
}

BOOST_AUTO_TEST_CASE(bundle_text) {
  std::vector<plan_request> rs{get("Device?identifier=a%7Cb"), put("Observation", "o1", "v-1"), put("Patient", "p1")};
  rs[1].resource->emplace("valueQuantity", boost::json::object{{"value", 78.0}});
  const std::string body = batch_body(rs, std::vector<std::size_t>{1, 0, 2});
  BOOST_TEST(body.find(R"("value":78.0)") != std::string::npos);  // .NET-style numbers, as single PUTs
  auto b = obj(body);
  BOOST_TEST(b["resourceType"].as_string() == "Bundle");
  BOOST_TEST(b["type"].as_string() == "batch");
  auto& e = b["entry"].as_array();
  BOOST_TEST_REQUIRE(e.size() == 3u);
  BOOST_TEST(boost::json::serialize(e[0].as_object()["request"]) ==
             R"({"method":"PUT","url":"Observation/o1","ifMatch":"W/\"v-1\""})");
  BOOST_TEST(e[0].as_object()["resource"].as_object()["id"].as_string() == "o1");
  BOOST_TEST(boost::json::serialize(e[1]) == R"({"request":{"method":"GET","url":"Device?identifier=a%7Cb"}})");
  BOOST_TEST(boost::json::serialize(e[2].as_object()["request"]) == R"({"method":"PUT","url":"Patient/p1"})");
}

BOOST_AUTO_TEST_CASE(mixed_entry_outcomes) {
  std::vector<plan_request> rs{put("Observation", "a"), put("Observation", "b", "1"), put("Observation", "c", "1"),
                               put("Observation", "d"), put("Observation", "e"),      put("Observation", "f", "7"),
                               put("Observation", "g")};
  auto reply = processed(
      R"([{"resource":{"resourceType":"Observation","id":"a","meta":{"versionId":"2"}},"response":{"status":"201 Created","etag":"W/\"2\""}},
          {"response":{"status":"412 Precondition Failed","outcome":)" +
          oo("version mismatch") + R"(}},
          {"response":{"status":"409"}},
          {"response":{"status":"400 Bad Request","outcome":)" +
          oo("Invalid additional property \\\"bogus\\\"") + R"(}},
          {"response":{"status":"503"}},
          {"response":{"status":"404 Not Found"}},
          {"response":{"status":"200 OK","etag":"W/\"9\""}}])",
      rs.size());
  BOOST_TEST_REQUIRE((reply.verdict == batch_verdict::processed));
  BOOST_TEST_REQUIRE(reply.entries.size() == rs.size());
  std::vector<write_fold> f;
  for (std::size_t i = 0; i < rs.size(); ++i) f.push_back(fold_write(reply.entries[i], rs[i]));

  BOOST_TEST((f[0].kind == write_kind::written));
  BOOST_TEST(f[0].resource->at("meta").as_object().at("versionId").as_string() == "2");
  BOOST_TEST((f[1].kind == write_kind::conflict));  // 412: re-read and merge again
  BOOST_TEST(f[1].status == 412u);
  BOOST_TEST((f[2].kind == write_kind::conflict));  // 409 too
  BOOST_TEST((f[3].kind == write_kind::failed));
  BOOST_TEST(f[3].error->type == "FhirClientException");
  BOOST_TEST(f[3].error->message ==
             R"(PUT Observation/d (batch entry) failed: 400 Bad Request: Invalid additional property "bogus")");
  BOOST_TEST((f[3].error->cls == failure_class::permanent));
  BOOST_TEST(retryable_status(reply.entries[4].status));  // the exchange sends it again first
  BOOST_TEST((f[4].error->cls == failure_class::throttled));
  BOOST_TEST((f[5].kind == write_kind::conflict));  // 404 to an If-Match PUT: the version is gone
  // no resource in the answer: ours, stamped with the ETag's version
  BOOST_TEST((f[6].kind == write_kind::written));
  BOOST_TEST(f[6].resource->at("id").as_string() == "g");
  BOOST_TEST(f[6].resource->at("meta").as_object().at("versionId").as_string() == "9");
}

BOOST_AUTO_TEST_CASE(entry_statuses_and_their_classes) {
  auto fold = [](unsigned status, bool if_match = false) {
    entry_answer a;
    a.status = status;
    a.in_bundle = true;
    return fold_write(a, put("Observation", "x", if_match ? "1" : ""));
  };
  BOOST_TEST((fold(404).kind == write_kind::failed));  // without If-Match: not a conflict
  BOOST_TEST((fold(404).error->cls == failure_class::permanent));
  BOOST_TEST((fold(410, true).kind == write_kind::conflict));
  BOOST_TEST((fold(422).error->cls == failure_class::permanent));
  BOOST_TEST((fold(429).error->cls == failure_class::throttled));
  BOOST_TEST((fold(500).error->cls == failure_class::transient));
  BOOST_TEST((fold(408).error->cls == failure_class::transient));
  BOOST_TEST((fold(403).error->cls == failure_class::blocked));
  BOOST_TEST((fold(501).error->cls == failure_class::permanent));
  BOOST_TEST((fold(200).kind == write_kind::written));
  BOOST_TEST(!fold(200).resource);  // neither a body nor an ETag: unknown, re-read next time
  BOOST_TEST(!retryable_status(501));
  BOOST_TEST(!retryable_status(412));
  BOOST_TEST(retryable_status(429));
  BOOST_TEST(retryable_status(502));
}

BOOST_AUTO_TEST_CASE(whole_bundle_answers) {
  BOOST_TEST((read_batch_reply(404, "", 3).verdict == batch_verdict::unsupported));
  BOOST_TEST((read_batch_reply(405, "", 3).verdict == batch_verdict::unsupported));
  BOOST_TEST((read_batch_reply(501, "", 3).verdict == batch_verdict::unsupported));
  BOOST_TEST((read_batch_reply(400, oo("bad"), 3).verdict == batch_verdict::refused));
  BOOST_TEST((read_batch_reply(413, "", 3).verdict == batch_verdict::refused));
  BOOST_TEST((read_batch_reply(422, "", 3).verdict == batch_verdict::refused));
  auto throttled = read_batch_reply(429, "", 3, "429 Too Many Requests (gave up after 8 attempts)");
  BOOST_TEST((throttled.verdict == batch_verdict::failed));
  BOOST_TEST((throttled.failure->cls == failure_class::throttled));
  BOOST_TEST(throttled.failure->message ==
             "POST [base] (batch) failed: 429 Too Many Requests (gave up after 8 attempts)");
  BOOST_TEST((read_batch_reply(503, "", 3).failure->cls == failure_class::throttled));
  BOOST_TEST((read_batch_reply(502, "", 3).failure->cls == failure_class::transient));
  BOOST_TEST((read_batch_reply(401, "", 3).failure->cls == failure_class::blocked));
  BOOST_TEST((read_batch_reply(403, "", 3).failure->cls == failure_class::blocked));
}

BOOST_AUTO_TEST_CASE(malformed_answers_are_transient) {
  for (const std::string& body :
       {std::string("not json"), std::string("[1,2]"), std::string(R"({"resourceType":"OperationOutcome"})"),
        std::string(R"({"resourceType":"Bundle","entry":[{"response":{"status":"200"}}]})"),  // 1 entry for 2
        std::string(R"({"resourceType":"Bundle"})")}) {
    auto r = read_batch_reply(200, body, 2);
    BOOST_TEST((r.verdict == batch_verdict::failed), body);
    BOOST_TEST_REQUIRE(r.failure.has_value());
    BOOST_TEST((r.failure->cls == failure_class::transient), body);
    BOOST_TEST(r.failure->message.starts_with("POST [base] (batch) failed: the batch response cannot be read"));
  }
  // entries that cannot be read: no status, a status that is no number, not an object
  std::vector<plan_request> rs{put("Observation", "a"), put("Observation", "b"), put("Observation", "c"),
                               get("Observation?identifier=d")};
  auto reply = processed(R"([{"resource":{"resourceType":"Observation"}},{"response":{"status":"abc"}},7,
                             {"response":{"status":"200"}}])",
                         4);
  BOOST_TEST_REQUIRE((reply.verdict == batch_verdict::processed));
  for (std::size_t i = 0; i < 3; ++i) {
    auto f = fold_write(reply.entries[i], rs[i]);
    BOOST_TEST((f.kind == write_kind::failed));
    BOOST_TEST((f.error->cls == failure_class::transient));
  }
  BOOST_TEST(fold_write(reply.entries[0], rs[0]).error->message ==
             "PUT Observation/a (batch entry) failed: no response in the batch response entry");
  // a search entry answered 200 without a searchset
  auto s = fold_search(reply.entries[3], rs[3]);
  BOOST_TEST_REQUIRE(s.found.has_error());
  BOOST_TEST((s.found.error().cls == failure_class::transient));
}

BOOST_AUTO_TEST_CASE(search_entries) {
  const plan_request q = get("Device?identifier=d1");
  auto reply = processed(
      R"([{"resource":{"resourceType":"Bundle","type":"searchset","total":2,"entry":[{"resource":{"resourceType":"Device","id":"1"}},{"resource":{"resourceType":"Device","id":"2"}}]},"response":{"status":"200 OK"}},
          {"resource":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Device","id":"1"}}],"link":[{"relation":"next","url":"http://h/fhir/Device?identifier=d1&_offset=1"}]},"response":{"status":"200"}},
          {"resource":{"resourceType":"Bundle","type":"searchset","total":5,"entry":[{"resource":{"resourceType":"Device","id":"1"}}]},"response":{"status":"200"}},
          {"resource":{"resourceType":"Bundle","type":"searchset","total":0},"response":{"status":"200"}},
          {"response":{"status":"500","outcome":)" +
          oo("boom") + R"(}}])",
      5);
  BOOST_TEST_REQUIRE(reply.entries.size() == 5u);
  auto all = fold_search(reply.entries[0], q);
  BOOST_TEST_REQUIRE(all.found.has_value());
  BOOST_TEST(all.found->size() == 2u);
  BOOST_TEST(!all.more_pages);
  BOOST_TEST(fold_search(reply.entries[1], q).more_pages);  // a next link: search again with paging
  BOOST_TEST(fold_search(reply.entries[2], q).more_pages);  // total says more
  auto none = fold_search(reply.entries[3], q);
  BOOST_TEST((none.found.has_value() && none.found->empty()));
  auto failed = fold_search(reply.entries[4], q);
  BOOST_TEST_REQUIRE(failed.found.has_error());
  BOOST_TEST(failed.found.error().message ==
             "GET Device?identifier=d1 (batch entry) failed: 500 Internal Server Error: boom");
  BOOST_TEST((failed.found.error().cls == failure_class::transient));
  // the same request sent alone: the messages name it without "(batch entry)"
  auto alone = fold_search(single_answer(404, oo("nope"), "", "404 Not Found: nope"), q);
  BOOST_TEST(alone.found.error().message == "GET Device?identifier=d1 failed: 404 Not Found: nope");
  BOOST_TEST((alone.found.error().cls == failure_class::permanent));
}

BOOST_AUTO_TEST_CASE(failures_pass_through) {
  entry_answer a;
  a.failure = iomt::mapping::mapping_error{"HttpRequestException", "POST [base] failed: connection refused",
                                           failure_class::transient};
  BOOST_TEST(fold_write(a, put("Observation", "x")).error->type == "HttpRequestException");
  BOOST_TEST(fold_search(a, get("Observation?identifier=x")).found.error().type == "HttpRequestException");
}

BOOST_AUTO_TEST_CASE(capability_statements) {
  auto caps = read_capabilities(obj(
      R"({"resourceType":"CapabilityStatement","rest":[{"mode":"server","interaction":[{"code":"transaction"},{"code":"batch"}]}]})"));
  BOOST_TEST(caps.batch);
  BOOST_TEST(!caps.max_bundle_entries);
  caps = read_capabilities(
      obj(R"({"resourceType":"CapabilityStatement","rest":[{"interaction":[{"code":"transaction"}]}]})"));
  BOOST_TEST(!caps.batch);
  BOOST_TEST(!read_capabilities(obj(R"({"rest":"nonsense"})")).batch);
  // a stated limit: the smallest of those found, on the statement, rest[] or the batch interaction
  caps = read_capabilities(obj(R"({"resourceType":"CapabilityStatement",
      "extension":[{"url":"http://example.org/fhir/StructureDefinition/max-bundle-entries","valueInteger":500}],
      "rest":[{"extension":[{"url":"http://example.org/other","valueInteger":3}],
               "interaction":[{"code":"batch","extension":[{"url":"https://x/MaxBatchEntries","valuePositiveInt":100}]}]}]})"));
  BOOST_TEST(caps.batch);
  BOOST_TEST(caps.max_bundle_entries.value() == 100u);
  caps = read_capabilities(
      obj(R"({"extension":[{"url":"maxBundleSize","valueInteger":0},{"url":"maxBundleSize","valueString":"9"}]})"));
  BOOST_TEST(!caps.max_bundle_entries);  // not positive integers: no limit stated
}

BOOST_AUTO_TEST_SUITE_END()

// ---- apply_chain: the writes of one Observation in flush order --------------------------------------

namespace {

namespace mf = iomt::mapping::fhir;

// An Observation holding a set of numbers: create() -> {values:[v]}; merge adds v (unchanged when
// present). `fail` makes both fail.
class set_source final : public observation_source {
public:
  explicit set_source(int v, bool fail = false) : v_(v), fail_(fail) {}
  iomt::mapping::result<boost::json::object> create() const override {
    if (fail_) return iomt::mapping::mapping_error{"InvalidQuantityFhirValueException", "bad"};
    return boost::json::object{{"resourceType", "Observation"}, {"id", "o"}, {"values", boost::json::array{v_}}};
  }
  iomt::mapping::result<mf::merge_outcome> merge(const boost::json::object& existing) const override {
    if (fail_) return iomt::mapping::mapping_error{"NotSupportedException", "bad"};
    boost::json::object o = existing;
    auto& values = o["values"].as_array();
    for (const auto& x : values)
      if (x.as_int64() == v_) return mf::merge_outcome{existing, false};
    values.push_back(v_);
    return mf::merge_outcome{std::move(o), true};
  }

private:
  int v_;
  bool fail_;
};

std::vector<const observation_write*> chain_of(std::vector<observation_write>& ws) {
  std::vector<const observation_write*> out;
  for (auto& w : ws) out.push_back(&w);
  return out;
}

std::vector<save_operation> ops(const chain_result& r) {
  std::vector<save_operation> out;
  for (const auto& s : r.steps) out.push_back(s.error ? save_operation::no_op : s.operation);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(observation_chain)

BOOST_AUTO_TEST_CASE(new_observation_created_then_merged_in_order) {
  set_source a(1), b(2), c(1), d(3);
  std::vector<observation_write> ws{{{}, "o", &a}, {{}, "o", &b}, {{}, "o", &c}, {{}, "o", &d}};
  auto r = apply_chain(chain_of(ws), nullptr);
  BOOST_TEST(r.creates);
  BOOST_TEST((ops(r) == std::vector<save_operation>{save_operation::created, save_operation::updated,
                                                    save_operation::no_op, save_operation::updated}));
  BOOST_TEST(boost::json::serialize(r.to_write->at("values")) == "[1,2,3]");
}

BOOST_AUTO_TEST_CASE(existing_observation_merged_once_per_write) {
  set_source a(1), b(2);
  const auto existing = obj(R"({"resourceType":"Observation","id":"o","meta":{"versionId":"v7"},"values":[1]})");
  std::vector<observation_write> ws{{{}, "o", &a}, {{}, "o", &b}};
  auto r = apply_chain(chain_of(ws), &existing);
  BOOST_TEST(!r.creates);
  BOOST_TEST((ops(r) == std::vector<save_operation>{save_operation::no_op, save_operation::updated}));
  BOOST_TEST(boost::json::serialize(r.to_write->at("values")) == "[1,2]");
  // nothing new: nothing to write
  std::vector<observation_write> same{{{}, "o", &a}};
  BOOST_TEST(!apply_chain(chain_of(same), &existing).to_write);
}

BOOST_AUTO_TEST_CASE(a_failing_write_leaves_the_others_as_if_saved_in_turn) {
  set_source bad(9, true), a(1), b(2);
  std::vector<observation_write> ws{{{}, "o", &bad}, {{}, "o", &a}, {{}, "o", &bad}, {{}, "o", &b}};
  auto r = apply_chain(chain_of(ws), nullptr);
  BOOST_TEST_REQUIRE(r.steps.size() == 4u);
  BOOST_TEST(r.steps[0].error->type == "InvalidQuantityFhirValueException");  // nothing stored yet
  BOOST_TEST((r.steps[1].operation == save_operation::created));              // so the next one creates
  BOOST_TEST(r.steps[2].error->type == "NotSupportedException");
  BOOST_TEST((r.steps[3].operation == save_operation::updated));
  BOOST_TEST(boost::json::serialize(r.to_write->at("values")) == "[1,2]");
}

BOOST_AUTO_TEST_SUITE_END()
