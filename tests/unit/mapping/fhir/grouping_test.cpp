// Measurement groups (iomt-spec §5) and observation groups (§7): expected B1, B2, B4-B8.
#include "fhir_test_support.hpp"

namespace mf = iomt::mapping::fhir;
using namespace iomt;
using namespace iomt::test::fhir;

namespace {

std::vector<std::pair<std::int64_t, std::string>> values(const mf::observation_group& g, const std::string& name) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  if (const auto* v = g.values_of(name))
    for (const auto& tv : *v) out.emplace_back(tv.ticks, std::string(tv.value));
  return out;
}

using tv_list = std::vector<std::pair<std::int64_t, std::string>>;

}  // namespace

BOOST_AUTO_TEST_SUITE(fhir_grouping)

// B1: dedupe by timestamp keeps the latest ingestion.
BOOST_AUTO_TEST_CASE(b1_dedupe_keeps_latest_ingestion) {
  const std::int64_t t0 = at(2019, 2, 1, 22, 46, 1), i0 = at(2019, 2, 1, 22, 47, 0);
  std::vector<mapping::measurement> batch = {
      make_measurement("summary", "ABC", t0, {{"v", "e1"}}, "123"),
      make_measurement("summary", "ABC", t0, {{"v", "e2"}}, "123"),
      make_measurement("summary", "ABC", t0 + minute, {{"v", "e3"}}, "123"),
  };
  batch[0].ingestion_time = utc(i0);
  batch[1].ingestion_time = utc(i0 + sec);
  batch[2].ingestion_time = utc(i0 + 2 * sec);
  auto groups = mf::group_measurements(batch);
  BOOST_TEST_REQUIRE(groups.size() == 1u);
  BOOST_TEST(groups[0].measure_type == "summary");
  BOOST_TEST(groups[0].device_id == "ABC");
  BOOST_TEST(*groups[0].patient_id == "123");
  BOOST_TEST_REQUIRE(groups[0].data.size() == 2u);
  BOOST_TEST(groups[0].data[0] == &batch[1]);
  BOOST_TEST(groups[0].data[1] == &batch[2]);
}

BOOST_AUTO_TEST_CASE(dedupe_null_ingestion_is_smallest_and_ties_keep_first) {
  const std::int64_t t0 = at(2020, 1, 1);
  std::vector<mapping::measurement> batch = {
      make_measurement("hr", "d", t0, {{"v", "a"}}),
      make_measurement("hr", "d", t0, {{"v", "b"}}),  // null ingestion: not greater than null
      make_measurement("hr", "d", t0, {{"v", "c"}}),  // has ingestion: wins over null
      make_measurement("hr", "d", t0, {{"v", "d"}}),  // same ingestion: first stays
  };
  batch[2].ingestion_time = utc(t0);
  batch[3].ingestion_time = utc(t0);
  auto groups = mf::group_measurements(batch);
  BOOST_TEST_REQUIRE(groups[0].data.size() == 1u);
  BOOST_TEST(groups[0].data[0] == &batch[2]);
}

BOOST_AUTO_TEST_CASE(group_key_and_order) {
  const std::int64_t t0 = at(2020, 1, 1);
  std::vector<mapping::measurement> batch = {
      make_measurement("hr", "d1", t0, {}), make_measurement("bp", "d1", t0, {}),
      make_measurement("hr", "d2", t0, {}), make_measurement("hr", "d1", t0 + sec, {}),
      make_measurement("HR", "d1", t0, {}),  // case-sensitive key
  };
  batch[4].correlation_id = "s1";
  auto groups = mf::group_measurements(batch);
  BOOST_TEST_REQUIRE(groups.size() == 4u);
  BOOST_TEST(groups[0].measure_type == "hr");
  BOOST_TEST(groups[0].data.size() == 2u);
  BOOST_TEST(groups[1].measure_type == "bp");
  BOOST_TEST(groups[2].device_id == "d2");
  BOOST_TEST(*groups[3].correlation_id == "s1");
}

// B2: work split by device.
BOOST_AUTO_TEST_CASE(b2_partition_by_device) {
  std::vector<mf::measurement_group> groups(4);
  groups[0].device_id = "1";
  groups[1].device_id = "1";
  groups[2].device_id = "2";
  groups[3].device_id = "3";
  auto parts = mf::partition_by_device(groups);
  BOOST_TEST_REQUIRE(parts.size() == 3u);
  BOOST_TEST((parts[0] == std::vector<std::size_t>{0, 1}));
  BOOST_TEST((parts[1] == std::vector<std::size_t>{2}));
  BOOST_TEST((parts[2] == std::vector<std::size_t>{3}));
}

// B4: Single interval, one group per distinct time.
BOOST_AUTO_TEST_CASE(b4_single_boundary) {
  const std::int64_t seed = at(2019, 1, 1, 12, 30, 15, 1234567);
  std::vector<mapping::measurement> ms = {
      make_measurement("t", "d", seed, {{"a", "1"}, {"b", "2"}}),
      make_measurement("t", "d", seed + minute, {{"a", "3"}, {"b", "4"}}),
      make_measurement("t", "d", seed + day, {{"a", "5"}, {"b", "6"}}),
  };
  auto groups = mf::make_observation_groups(group_of(ms), mf::period_interval::single);
  BOOST_TEST_REQUIRE(groups.has_value());
  BOOST_TEST_REQUIRE(groups->size() == 3u);
  const std::int64_t times[] = {seed, seed + minute, seed + day};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& g = (*groups)[i];
    BOOST_TEST(g.start.ticks == times[i]);
    BOOST_TEST(g.end.ticks == times[i]);
    BOOST_TEST((g.start.zone == json::date_kind::utc));
    BOOST_TEST(values(g, "a").size() == 1u);
    BOOST_TEST(values(g, "b").size() == 1u);
    BOOST_TEST(g.name == "t");
  }
  BOOST_TEST((*groups)[0].id_segment == "20190101123015Z.20190101123015Z");
}

// B5: Hourly interval.
BOOST_AUTO_TEST_CASE(b5_hourly_boundary) {
  std::vector<mapping::measurement> ms = {
      make_measurement("t", "d", at(2019, 1, 1, 0, 0), {{"a", "1"}, {"b", "2"}}),
      make_measurement("t", "d", at(2019, 1, 1, 1, 0), {{"a", "3"}, {"b", "4"}}),
      make_measurement("t", "d", at(2019, 1, 1, 0, 1), {{"a", "5"}, {"b", "6"}}),
  };
  auto groups = mf::make_observation_groups(group_of(ms), mf::period_interval::hourly);
  BOOST_TEST_REQUIRE(groups->size() == 2u);
  const auto& g0 = (*groups)[0];
  BOOST_TEST(g0.start.ticks == at(2019, 1, 1, 0, 0));
  BOOST_TEST(g0.end.ticks == at(2019, 1, 1, 0, 59, 59, 9999999));
  BOOST_TEST((values(g0, "a") == tv_list{{at(2019, 1, 1, 0, 0), "1"}, {at(2019, 1, 1, 0, 1), "5"}}));
  BOOST_TEST((values(g0, "b") == tv_list{{at(2019, 1, 1, 0, 0), "2"}, {at(2019, 1, 1, 0, 1), "6"}}));
  const auto& g1 = (*groups)[1];
  BOOST_TEST(g1.start.ticks == at(2019, 1, 1, 1, 0));
  BOOST_TEST(g1.end.ticks == at(2019, 1, 1, 2, 0) - tick);
  BOOST_TEST((values(g1, "a") == tv_list{{at(2019, 1, 1, 1, 0), "3"}}));
  BOOST_TEST((values(g1, "b") == tv_list{{at(2019, 1, 1, 1, 0), "4"}}));
}

BOOST_AUTO_TEST_CASE(daily_boundary_and_bad_interval) {
  std::vector<mapping::measurement> ms = {make_measurement("t", "d", at(2019, 3, 5, 17, 4, 3), {{"a", "1"}})};
  auto groups = mf::make_observation_groups(group_of(ms), mf::period_interval::daily);
  BOOST_TEST((*groups)[0].id_segment == "20190305000000Z.20190305235959Z");
  BOOST_TEST((*groups)[0].end.ticks == at(2019, 3, 6) - tick);
  auto bad = mf::make_observation_groups(group_of(ms), 5);
  BOOST_TEST_REQUIRE(!bad);
  BOOST_TEST(bad.error().type == "NotSupportedException");
  BOOST_TEST(bad.error().message.find("ObservationPeriodInterval 5 is not supported.") == 0u);
}

// B6: id segments.
BOOST_AUTO_TEST_CASE(b6_id_segments) {
  std::vector<mapping::measurement> ms = {make_measurement("t", "d", at(2019, 1, 1, 0, 30), {{"a", "1"}})};
  auto hourly = mf::make_observation_groups(group_of(ms), mf::period_interval::hourly);
  BOOST_TEST((*hourly)[0].id_segment == "20190101000000Z.20190101005959Z");
  auto corr = mf::make_observation_groups(group_of(ms, "session-42"), mf::period_interval::correlation_id);
  BOOST_TEST((*corr)[0].id_segment == "session-42");
}

// B7: values sorted per property, for time-period and correlation groups; first wins on equal ticks.
BOOST_AUTO_TEST_CASE(b7_values_sorted) {
  const std::int64_t start = at(2019, 1, 1), end = at(2019, 1, 2) - tick;
  std::vector<mapping::measurement> ms = {
      make_measurement("t", "d", start, {{"a", "1"}}),        make_measurement("t", "d", end, {{"a", "2"}}),
      make_measurement("t", "d", start + hour, {{"a", "3"}}), make_measurement("t", "d", end, {{"b", "1"}}),
      make_measurement("t", "d", start, {{"b", "2"}}),        make_measurement("t", "d", start, {{"c", "3"}}),
      make_measurement("t", "d", start, {{"c", "ignored"}}),
  };
  for (std::int32_t interval : {mf::period_interval::daily, mf::period_interval::correlation_id}) {
    auto groups = mf::make_observation_groups(group_of(ms, "corr"), interval);
    BOOST_TEST_REQUIRE(groups->size() == 1u);
    const auto& g = (*groups)[0];
    BOOST_TEST((values(g, "a") == tv_list{{start, "1"}, {start + hour, "3"}, {end, "2"}}));
    BOOST_TEST((values(g, "b") == tv_list{{start, "2"}, {end, "1"}}));
    BOOST_TEST((values(g, "c") == tv_list{{start, "3"}}));
    BOOST_TEST(!g.values_of("A"));  // property names are case-sensitive
  }
}

// B8: correlation grouping.
BOOST_AUTO_TEST_CASE(b8_correlation_groups) {
  const std::int64_t t = at(2021, 7, 13, 17, 29, 1);
  std::vector<mapping::measurement> ms = {
      make_measurement("bp", "d", t, {{"s", "120"}}),
      make_measurement("bp", "d", t - 5 * minute, {{"s", "122"}}),
      make_measurement("bp", "d", t + 2 * minute, {{"s", "118"}}),
  };
  auto groups = mf::make_observation_groups(group_of(ms, "abc"), mf::period_interval::correlation_id);
  BOOST_TEST_REQUIRE(groups->size() == 1u);
  const auto& g = (*groups)[0];
  BOOST_TEST(g.name == "bp");
  BOOST_TEST(g.start.ticks == t - 5 * minute);
  BOOST_TEST(g.end.ticks == t + 2 * minute);
  BOOST_TEST((values(g, "s") == tv_list{{t - 5 * minute, "122"}, {t, "120"}, {t + 2 * minute, "118"}}));

  for (std::optional<std::string> blank : {std::optional<std::string>{}, std::optional<std::string>{" "}}) {
    auto missing = mf::make_observation_groups(group_of(ms, blank), mf::period_interval::correlation_id);
    BOOST_TEST_REQUIRE(!missing);
    BOOST_TEST(missing.error().type == "CorrelationIdNotDefinedException");
  }
}

BOOST_AUTO_TEST_SUITE_END()
