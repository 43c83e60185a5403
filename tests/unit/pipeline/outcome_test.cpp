// Event outcome = worst of its measurement groups, whatever order the lanes report in; the
// poison detector tells an event's own repeated failure from an outage (issue 12).
#include <boost/test/unit_test.hpp>

#include "pipeline/poison.hpp"
#include "pipeline/submission.hpp"

#include <algorithm>
#include <optional>

using namespace iomt;
using namespace std::chrono_literals;
using mapping::failure_class;

namespace {

mapping::mapping_error err(const char* type, failure_class c) { return {type, std::string(type) + " text", c}; }

struct report {
  std::size_t event;
  std::optional<mapping::mapping_error> failure;  // nullopt: written
  const char* group;
};

// Runs one submission of `events` events whose units report in the order given.
transport::outcome run(std::size_t events, const std::vector<report>& reports, pipeline::submission_context ctx = {}) {
  std::optional<transport::outcome> got;
  auto sub = std::make_shared<pipeline::submission>(
      std::vector<std::uint64_t>(events, 0), [&](const transport::outcome& o) { got = o; }, ctx);
  sub->add_units(reports.size());
  sub->finish_unit();  // routing done
  for (const auto& r : reports) {
    if (r.failure)
      sub->report_failure(r.event, "fhirConversion", *r.failure, r.group);
    else
      sub->report_written(r.event, 1);
    sub->finish_unit();
  }
  BOOST_REQUIRE(got);
  return *got;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_outcome)

BOOST_AUTO_TEST_CASE(a_transient_group_makes_the_event_transient_in_any_order) {
  const report written{0, std::nullopt, "HeartRate"};
  const report permanent{0, err("TemplateNotFoundException", failure_class::permanent), "bpw"};
  const report throttled{0, err("FhirClientException", failure_class::throttled), "SpO2"};
  std::vector<report> rs{written, permanent, throttled};
  std::sort(rs.begin(), rs.end(), [](const report& a, const report& b) { return std::string(a.group) < b.group; });
  do {
    const transport::outcome o = run(1, rs);
    BOOST_REQUIRE(o.failures.size() == 1u);
    BOOST_TEST(o.failed == 1u);
    BOOST_TEST(o.transient == 1u);
    BOOST_TEST((o.failures[0].cls == failure_class::throttled));
    BOOST_TEST(o.failures[0].type == "FhirClientException");
    BOOST_TEST(o.failures[0].groups.size() == 2u);  // both failed groups are named
    BOOST_TEST(o.written == 1u);
  } while (std::next_permutation(rs.begin(), rs.end(),
                                 [](const report& a, const report& b) { return std::string(a.group) < b.group; }));
}

BOOST_AUTO_TEST_CASE(permanent_failures_alone_are_final_and_the_first_is_kept) {
  const transport::outcome o = run(2, {{1, err("PatientDeviceMismatchException", failure_class::permanent), "A"},
                                       {1, err("TemplateNotFoundException", failure_class::permanent), "B"},
                                       {0, std::nullopt, "C"}});
  BOOST_REQUIRE(o.failures.size() == 1u);
  BOOST_TEST(o.failures[0].index == 1u);
  BOOST_TEST(o.transient == 0u);
  BOOST_TEST((o.failures[0].cls == failure_class::permanent));
  BOOST_TEST(o.failures[0].type == "PatientDeviceMismatchException");
}

BOOST_AUTO_TEST_CASE(blocked_outranks_throttled_outranks_transient) {
  const transport::outcome o = run(1, {{0, err("HttpRequestException", failure_class::transient), "A"},
                                       {0, err("AuthenticationFailedException", failure_class::blocked), "B"},
                                       {0, err("FhirClientException", failure_class::throttled), "C"}});
  BOOST_REQUIRE(o.failures.size() == 1u);
  BOOST_TEST((o.failures[0].cls == failure_class::blocked));
}

BOOST_AUTO_TEST_CASE(every_event_is_accounted_once) {
  const transport::outcome o = run(3, {{2, err("X", failure_class::transient), "A"}, {0, std::nullopt, "B"}});
  BOOST_TEST(o.events == 3u);
  BOOST_REQUIRE(o.failures.size() == 1u);
  BOOST_TEST(o.failures[0].index == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(poison)

BOOST_AUTO_TEST_CASE(repeats_while_others_are_written_make_an_event_poison) {
  pipeline::poison_detector d({.max_attempts = 3});
  const auto t = pipeline::poison_detector::clock::now();
  BOOST_TEST(!d.failed(42, true, t));
  BOOST_TEST(!d.failed(42, false, t + 1s));  // nothing else was written: an outage, not counted
  BOOST_TEST(d.attempts(42) == 1u);
  BOOST_TEST(!d.failed(42, true, t + 2s));
  BOOST_TEST(d.failed(42, true, t + 3s));  // third counted attempt
  BOOST_TEST(d.attempts(42) == 0u);        // forgotten: a replay after a fix starts from zero
}

BOOST_AUTO_TEST_CASE(an_outage_never_makes_poison) {
  pipeline::poison_detector d({.max_attempts = 2});
  const auto t = pipeline::poison_detector::clock::now();
  for (int i = 0; i < 1000; ++i) BOOST_TEST_REQUIRE(!d.failed(7, false, t + std::chrono::seconds(i)));
}

BOOST_AUTO_TEST_CASE(old_attempts_are_forgotten_and_memory_is_bounded) {
  pipeline::poison_detector d({.max_attempts = 2, .capacity = 100, .forget_after = 60s});
  const auto t = pipeline::poison_detector::clock::now();
  BOOST_TEST(!d.failed(1, true, t));
  BOOST_TEST(!d.failed(1, true, t + 2h));  // the first attempt is too old to count
  for (std::uint64_t k = 100; k < 10'000; ++k) d.failed(k, true, t + 2h);
  BOOST_TEST(d.attempts(1) <= 1u);
}

BOOST_AUTO_TEST_CASE(the_submission_consults_the_detector_at_completion) {
  pipeline::poison_detector d({.max_attempts = 2});
  std::atomic<std::uint64_t> written{0};
  pipeline::submission_context ctx{nullptr, &written, &d};
  auto attempt = [&](bool others) {
    std::optional<transport::outcome> got;
    auto sub = std::make_shared<pipeline::submission>(
        std::vector<std::uint64_t>{99}, [&](const transport::outcome& o) { got = o; }, ctx);
    sub->add_units(1);
    sub->finish_unit();
    if (others) written += 10;  // another event's measurements were written meanwhile
    sub->report_failure(0, "fhirConversion", err("HttpRequestException", failure_class::transient), "HeartRate");
    sub->finish_unit();
    return *got;
  };
  BOOST_TEST((attempt(false).failures[0].cls == failure_class::transient));
  BOOST_TEST((attempt(true).failures[0].cls == failure_class::transient));
  const transport::outcome last = attempt(true);
  BOOST_TEST((last.failures[0].cls == failure_class::permanent));
  BOOST_TEST(last.failures[0].message.find("while the FHIR server wrote other events") != std::string::npos);
  BOOST_TEST(last.transient == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
