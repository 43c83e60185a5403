// SampledData build / parse / merge (iomt-spec §8.2, §8.3, §9): expected C8, C9, C10, C14.
#include "fhir_test_support.hpp"

#include <sstream>

namespace mf = iomt::mapping::fhir;
using namespace iomt;
using namespace iomt::test::fhir;

namespace {

// Owns the value strings of a time-value list.
struct series {
  std::vector<std::string> texts;
  std::vector<mf::time_value> tv;
  void add(std::int64_t t, std::string v) {
    texts.push_back(std::move(v));
    tv.push_back({t, {}});
  }
  const std::vector<mf::time_value>& get() {
    for (std::size_t i = 0; i < tv.size(); ++i) tv[i].value = texts[i];
    return tv;
  }
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    auto sp = s.find(' ', pos);
    out.push_back(s.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos));
    if (sp == std::string::npos) break;
    pos = sp + 1;
  }
  return out;
}

const std::int64_t end_boundary = at(2024, 5, 6, 7, 8, 9);  // "NormalizeToSecond(UtcNow)"

}  // namespace

BOOST_AUTO_TEST_SUITE(fhir_sampled_data)

// C8: values past the end boundary are discarded.
BOOST_AUTO_TEST_CASE(c8_excess_discarded) {
  const std::int64_t seed = at(2019, 1, 1);
  series s;
  for (int i = 0; i <= 10; ++i) s.add(seed + i * minute, std::to_string(i));
  auto r = mf::build_sampled_data(s.get(), seed, seed + 10 * minute - ms, 60000);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(*r == "0 1 2 3 4 5 6 7 8 9");
}

BOOST_AUTO_TEST_CASE(c8_on_boundary_and_trailing_e) {
  for (int n : {10, 100}) {
    const std::int64_t start = end_boundary - (n - 1) * sec;
    series s;
    for (int i = 1; i <= n; ++i) s.add(start + (i - 1) * sec, std::to_string(i));
    auto r = mf::build_sampled_data(s.get(), start, end_boundary, 1000);
    auto tokens = split(*r);
    BOOST_TEST_REQUIRE(tokens.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) BOOST_TEST(tokens[i] == std::to_string(i + 1));

    // Ending one second after the last value -> N values then one E.
    const std::int64_t start2 = end_boundary - n * sec;
    series s2;
    for (int i = 1; i <= n; ++i) s2.add(start2 + (i - 1) * sec, std::to_string(i));
    auto tokens2 = split(*mf::build_sampled_data(s2.get(), start2, end_boundary, 1000));
    BOOST_TEST_REQUIRE(tokens2.size() == static_cast<std::size_t>(n + 1));
    BOOST_TEST(tokens2.back() == "E");
  }
}

BOOST_AUTO_TEST_CASE(c8_missing_values_and_offsets) {
  for (int n : {10, 100}) {
    const std::int64_t start = end_boundary - (n - 1) * sec;
    series every_other;
    for (int i = 1; i <= n / 2; ++i) every_other.add(start + (i - 1) * 2 * sec, std::to_string(i));
    auto tokens = split(*mf::build_sampled_data(every_other.get(), start, end_boundary, 1000));
    BOOST_TEST_REQUIRE(tokens.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) BOOST_TEST(tokens[i] == (i % 2 == 0 ? std::to_string(i / 2 + 1) : "E"));

    series offset;
    for (int i = 1; i <= n; ++i) offset.add(start + (i - 1) * sec + 5 * ms, std::to_string(i));
    auto t2 = split(*mf::build_sampled_data(offset.get(), start, end_boundary, 1000));
    BOOST_TEST_REQUIRE(t2.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) BOOST_TEST(t2[i] == std::to_string(i + 1));
  }
}

BOOST_AUTO_TEST_CASE(c8_last_value_in_slot_wins) {
  const std::int64_t start = end_boundary - 9 * sec;
  series s;
  for (int i = 1; i <= 20; ++i) s.add(start + (i * 500 - 499) * ms, std::to_string(i));
  auto tokens = split(*mf::build_sampled_data(s.get(), start, end_boundary, 1000));
  BOOST_TEST_REQUIRE(tokens.size() == 10u);
  for (int i = 0; i < 10; ++i) BOOST_TEST(tokens[i] == std::to_string((i + 1) * 2));
}

BOOST_AUTO_TEST_CASE(c8_round_trip_normalizes_times) {
  const std::int64_t start = end_boundary - 10 * sec;
  series s;
  for (int i = 1; i <= 10; ++i) s.add(start + (i - 1) * sec + 5 * ms, std::to_string(i));
  auto sd = mf::build_sampled_data(s.get(), start, end_boundary, 1000);
  BOOST_TEST(*sd == "1 2 3 4 5 6 7 8 9 10 E");
  auto back = mf::sampled_data_to_time_values(*sd, start, 1000);
  BOOST_TEST_REQUIRE(back->size() == 10u);  // trailing E dropped
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST((*back)[i].value == std::to_string(i + 1));
    BOOST_TEST((*back)[i].ticks == start + i * sec);
  }
}

BOOST_AUTO_TEST_CASE(slot_counts_and_guards) {
  const std::int64_t h = at(2019, 1, 1);
  BOOST_TEST(split(*mf::build_sampled_data({}, h, h + hour - tick, 5000)).size() == 720u);
  BOOST_TEST(split(*mf::build_sampled_data({}, h, h + hour - tick, 1000)).size() == 3600u);
  BOOST_TEST(*mf::build_sampled_data({}, h, h, 1000) == "E");
  // Values are inserted verbatim; TrimEnd trims a blank last value.
  series s;
  s.add(h, "True");
  s.add(h + sec, "1 2");
  s.add(h + 2 * sec, " ");
  BOOST_TEST(*mf::build_sampled_data(s.get(), h, h + 2 * sec, 1000) == "True 1 2");
  // A period that does not advance time would loop forever upstream.
  for (double p : {0.0, -5.0, 0.00001}) {
    auto r = mf::build_sampled_data({}, h, h + sec, p);
    BOOST_TEST_REQUIRE(!r);
    BOOST_TEST(r.error().type == "OutOfMemoryException");
  }
  auto huge = mf::build_sampled_data({}, h, h + day - tick, 0.001);
  BOOST_TEST(!huge);
  auto overflow = mf::build_sampled_data({}, at(9999, 12, 31, 23, 59, 59), at(9999, 12, 31, 23, 59, 59), 1000);
  BOOST_TEST_REQUIRE(!overflow);
  BOOST_TEST(overflow.error().type == "ArgumentOutOfRangeException");
  // Fractional periods are exact to the tick (.NET 7+ AddMilliseconds).
  BOOST_TEST(*mf::add_milliseconds(0, 0.5) == 5000);
  BOOST_TEST(*mf::add_milliseconds(0, 1.23456) == 12345);
  auto blank = mf::sampled_data_to_time_values("  ", h, 1000);
  BOOST_TEST_REQUIRE(!blank);
  BOOST_TEST(blank.error().type == "ArgumentException");
}

// C9: MergeData.
BOOST_AUTO_TEST_CASE(c9_merge_data) {
  const std::int64_t seed = at(2019, 1, 1, 0, 30);
  auto run = [&](std::vector<int> m1, std::vector<int> m2) {
    series a, b;
    for (int m : m1) a.add(seed + m * minute, "1");
    for (int m : m2) b.add(seed + m * minute, "2");
    auto merged = mf::merge_data(a.get(), b.get());
    std::ostringstream out;
    for (const auto& tv : merged) out << (tv.ticks - seed) / minute << ":" << tv.value << " ";
    return out.str();
  };
  BOOST_TEST(run({0, 1, 4}, {2, 3}) == "0:1 1:1 2:2 3:2 4:1 ");
  BOOST_TEST(run({0, 1, 3}, {2, 4}) == "0:1 1:1 2:2 3:1 4:2 ");
  BOOST_TEST(run({2, 3}, {0, 1, 4}) == "0:2 1:2 2:1 3:1 4:2 ");
  BOOST_TEST(run({2, 4}, {0, 1, 3}) == "0:2 1:2 2:1 3:2 4:1 ");
  BOOST_TEST(run({0, 1}, {0, 1}) == "0:2 1:2 ");  // collisions: the new value is used
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 13: SampledData values are FHIR decimals; anything else fails its measurement instead of
// shifting or polluting the series (upstream writes them as they are: a documented difference).
#include "mapping/fhir/value_check.hpp"

BOOST_AUTO_TEST_CASE(sampled_data_values_must_be_fhir_decimals) {
  using mapping::fhir::is_fhir_decimal;
  for (const char* ok : {"0", "-0", "80", "-12", "1.5", "0.001", "100.250", "1E+20", "1e5", "2.5E-3",
                         "1234567890123456789012345678", "0.0000000000000000000000000001"})
    BOOST_TEST(is_fhir_decimal(ok), ok);
  for (const char* bad : {"", "-", "150 151 152 153", " 80", "80 ", "+5", "007", "1.", ".5", "NaN", "Infinity",
                          "-Infinity", "1e400", "1e", "0x10", "1,5", "E", "12345678901234567890123456789"})
    BOOST_TEST(!is_fhir_decimal(bad), bad);
  BOOST_TEST(!is_fhir_decimal(std::string(400, '9')));
  BOOST_TEST(!is_fhir_decimal("8\xff"));
}

BOOST_AUTO_TEST_CASE(a_bad_sampled_data_value_names_the_measurement) {
  mapping::fhir::code_value_template tpl;
  tpl.type_name = "heartrate";
  tpl.value = mapping::fhir::value_template{};
  tpl.value->kind = mapping::fhir::value_kind::sampled_data;
  tpl.value->value_name = "hr";
  mapping::measurement m;
  m.type = "heartrate";
  m.properties = {{"hr", "150 151 152 153"}};
  auto e = mapping::fhir::check_sampled_data_values(tpl, m);
  BOOST_REQUIRE(e);
  BOOST_TEST(e->type == "InvalidSampledDataFhirValueException");
  BOOST_TEST(e->message.find("'150 151 152 153' of 'hr'") != std::string::npos, e->message);
  m.properties = {{"hr", "80"}};
  BOOST_TEST(!mapping::fhir::check_sampled_data_values(tpl, m));
  tpl.value->kind = mapping::fhir::value_kind::string;  // only SampledData is checked
  m.properties = {{"hr", "anything"}};
  BOOST_TEST(!mapping::fhir::check_sampled_data_values(tpl, m));
}
