// .NET behaviour: double formatting, Value<string>() / Value<DateTime?>(), date sniffing,
// DateTime.Parse, DateTime formatting (iomt-spec §2, §3.5, §8.1).
#include "mapping/json/dotnet.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

using namespace iomt::json;

namespace {

std::int64_t ticks_of(int y, int mo, int d, int h = 0, int mi = 0, int s = 0, std::int64_t frac = 0) {
  return from_civil({y, mo, d, h, mi, s, frac});
}

std::string str(const value& v) {
  std::string out;
  BOOST_REQUIRE((to_dotnet_string(v, out) == conversion::ok));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dotnet)

BOOST_AUTO_TEST_CASE(format_double_table) {
  struct row {
    double d;
    const char* text;
  };
  const row rows[] = {
      {0.0, "0"},
      {-0.0, "-0"},
      {1.0, "1"},
      {20.0, "20"},
      {-60.0, "-60"},
      {1.5, "1.5"},
      {0.1, "0.1"},
      {0.0001, "0.0001"},
      {0.00001, "1E-05"},
      {0.000012345, "1.2345E-05"},
      {1e15, "1E+15"},
      {1e14, "100000000000000"},
      {123456789012345.0, "123456789012345"},
      {1.23456789012345e14, "123456789012345"},
      {1234567890123456.0, "1234567890123456"},  // 16 digits: scale 16 <= max(16, 15)
      {9007199254740992.0, "9007199254740992"},
      {1e16, "1E+16"},
      {12345678901234567890.0, "1.2345678901234567E+19"},
      {12345678901234567.0, "12345678901234568"},
      {1.2345678901234568e17, "1.2345678901234568E+17"},
      {1.1399999856948853, "1.1399999856948853"},
      {2.4800000190734863, "2.4800000190734863"},
      {78 * 0.0254, "1.9811999999999999"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1e100, "1E+100"},
      {1.7976931348623157e308, "1.7976931348623157E+308"},
      {5e-324, "5E-324"},
      {-1.5e-7, "-1.5E-07"},
      {std::nan(""), "NaN"},
      {std::numeric_limits<double>::infinity(), "Infinity"},
      {-std::numeric_limits<double>::infinity(), "-Infinity"},
  };
  for (const row& r : rows) BOOST_TEST(format_double(r.d) == r.text, "format_double(" << r.d << ")");
}

BOOST_AUTO_TEST_CASE(to_dotnet_string_table) {
  arena a;
  BOOST_TEST(str(a.string("abc")) == "abc");
  BOOST_TEST(str(value::integer(80)) == "80");
  BOOST_TEST(str(value::integer(-5)) == "-5");
  BOOST_TEST(str(value::floating(20.0)) == "20");
  BOOST_TEST(str(value::floating(1.1399999856948853)) == "1.1399999856948853");
  BOOST_TEST(str(value::boolean(true)) == "True");
  BOOST_TEST(str(value::boolean(false)) == "False");
  BOOST_TEST(str(value::date({ticks_of(2020, 10, 22, 1, 34, 56, 8'750'000), date_kind::utc})) == "10/22/2020 01:34:56");
  std::string out = "unchanged";
  BOOST_TEST((to_dotnet_string(value::null(), out) == conversion::null));
  BOOST_TEST((to_dotnet_string(a.big_integer("123456789012345678901"), out) == conversion::error));
  BOOST_TEST((to_dotnet_string(a.array({}), out) == conversion::error));
  BOOST_TEST((to_dotnet_string(value::object_ref({}), out) == conversion::error));
}

BOOST_AUTO_TEST_CASE(to_dotnet_datetime_table) {
  arena a;
  date_time t;
  date_time d{ticks_of(2020, 1, 2), date_kind::utc};
  BOOST_TEST((to_dotnet_datetime(value::date(d), t) == conversion::ok));
  BOOST_TEST((t == d));
  BOOST_TEST((to_dotnet_datetime(a.string("2020-10-22T01:34:56Z"), t) == conversion::ok));
  BOOST_TEST(t.ticks == ticks_of(2020, 10, 22, 1, 34, 56));
  BOOST_TEST((to_dotnet_datetime(a.string("not a date"), t) == conversion::error));
  BOOST_TEST((to_dotnet_datetime(value::null(), t) == conversion::null));
  BOOST_TEST((to_dotnet_datetime(value::integer(1625677200), t) == conversion::error));
  BOOST_TEST((to_dotnet_datetime(value::floating(1.5), t) == conversion::error));
  BOOST_TEST((to_dotnet_datetime(value::boolean(true), t) == conversion::error));
  BOOST_TEST((to_dotnet_datetime(value::object_ref({}), t) == conversion::error));
}

BOOST_AUTO_TEST_CASE(sniff_date_positive) {
  auto d = sniff_date("2020-10-22T01:34:56+00:00");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == ticks_of(2020, 10, 22, 1, 34, 56));
  BOOST_TEST((d->zone == date_kind::local));

  d = sniff_date("2019-02-01T22:46:01.875Z");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == ticks_of(2019, 2, 1, 22, 46, 1, 8'750'000));
  BOOST_TEST((d->zone == date_kind::utc));

  d = sniff_date("2019-02-01T22:46:01z");
  BOOST_REQUIRE(d);
  BOOST_TEST((d->zone == date_kind::utc));

  d = sniff_date("2020-10-22T01:34:56");
  BOOST_REQUIRE(d);
  BOOST_TEST((d->zone == date_kind::unspecified));
  BOOST_TEST(d->ticks == ticks_of(2020, 10, 22, 1, 34, 56));

  d = sniff_date("2020-10-22T01:34:56.1234567-05:30");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == ticks_of(2020, 10, 22, 7, 4, 56, 1'234'567));
  BOOST_TEST((d->zone == date_kind::local));

  d = sniff_date("2020-10-22T01:34:56+0200");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == ticks_of(2020, 10, 21, 23, 34, 56));
  d = sniff_date("2020-10-22T01:34:56+02");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == ticks_of(2020, 10, 21, 23, 34, 56));

  d = sniff_date("2020-12-31T24:00:00");  // hour 24 only as 24:00:00 = next day
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == ticks_of(2021, 1, 1));
  d = sniff_date("2020-02-29T00:00:00Z");  // leap day
  BOOST_REQUIRE(d);

  d = sniff_date("/Date(1234567890000)/");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == unix_epoch_ticks + 1234567890000LL * ticks_per_millisecond);
  BOOST_TEST((d->zone == date_kind::utc));
  d = sniff_date("/Date(1234567890000+0500)/");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == unix_epoch_ticks + 1234567890000LL * ticks_per_millisecond);
  BOOST_TEST((d->zone == date_kind::local));
  d = sniff_date("/Date(-1000)/");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == unix_epoch_ticks - 1000 * ticks_per_millisecond);

  // DateTimeParser quirk: the zone parser swallows a trailing 2-digit group, so 9 digits sniff.
  d = sniff_date("2020-10-22T01:34:56.123456789");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->ticks == ticks_of(2020, 10, 22, 1, 34, 56, 1'234'567));
}

BOOST_AUTO_TEST_CASE(sniff_date_negative) {
  const char* rows[] = {
      "2020-10-22",
      "2020-10-22 01:34:56",
      "2020-10-22t01:34:56",
      "2020-10-22T01:34",
      "2020-10-22T01:34:56.",
      "2020-10-22T01:34:56.12345678",  // 8 fraction digits
      "2020-10-22T01:34:56.1234567Zx",
      "2020-10-22T24:00:01",
      "2020-10-22T24:00:00.1",
      "2020-10-22T25:00:00",
      "2020-10-22T01:60:00",
      "2020-10-22T01:34:60",
      "2020-02-30T01:34:56",
      "2019-02-29T01:34:56",
      "2020-13-01T01:34:56",
      "2020-00-01T01:34:56",
      "0000-01-01T00:00:00",
      "2020-10-22T01:34:56 ",
      "2020-10-22T01:34:56+",
      "2020-10-22T01:34:56+1",
      "a020-10-22T01:34:56",
      "2020-10-22T01:34:56+00:00:00",
      "2020-10-22T01:34:56.1234567+00:00 and more text here",
      "/Date()/",
      "/Date(abc)/",
      "/Date(12",
      "/Date(1+1)/",
      "/Date(99999999999999999)/",
      "",
      "x",
  };
  for (const char* s : rows) BOOST_TEST(!sniff_date(s).has_value(), "'" << s << "' must stay a string");
}

BOOST_AUTO_TEST_CASE(parse_datetime_cases) {
  struct row {
    const char* text;
    std::int64_t ticks;
    date_kind zone;
  };
  const row rows[] = {
      {"2020-10-22T01:34:56Z", ticks_of(2020, 10, 22, 1, 34, 56), date_kind::local},
      {"2020-10-22T01:34:56.875Z", ticks_of(2020, 10, 22, 1, 34, 56, 8'750'000), date_kind::local},
      {"2020-10-22T01:34:56+02:00", ticks_of(2020, 10, 21, 23, 34, 56), date_kind::local},
      {"2020-10-22T01:34:56-0130", ticks_of(2020, 10, 22, 3, 4, 56), date_kind::local},
      {"2020-10-22T01:34:56", ticks_of(2020, 10, 22, 1, 34, 56), date_kind::unspecified},
      {"2020-10-22 01:34:56", ticks_of(2020, 10, 22, 1, 34, 56), date_kind::unspecified},
      {"2020-10-22T01:34", ticks_of(2020, 10, 22, 1, 34), date_kind::unspecified},
      {"2020-10-22", ticks_of(2020, 10, 22), date_kind::unspecified},
      {"2020/10/22", ticks_of(2020, 10, 22), date_kind::unspecified},
      {"10/22/2020", ticks_of(2020, 10, 22), date_kind::unspecified},
      {"10/22/2020 13:05:09", ticks_of(2020, 10, 22, 13, 5, 9), date_kind::unspecified},
      {"10/22/2020 1:05 PM", ticks_of(2020, 10, 22, 13, 5), date_kind::unspecified},
      {"10/22/2020 12:05:00 AM", ticks_of(2020, 10, 22, 0, 5), date_kind::unspecified},
      {"1/2/2020", ticks_of(2020, 1, 2), date_kind::unspecified},
      {"22 Oct 2020", ticks_of(2020, 10, 22), date_kind::unspecified},
      {"22 October 2020 10:00:00", ticks_of(2020, 10, 22, 10), date_kind::unspecified},
      {"Oct 22, 2020", ticks_of(2020, 10, 22), date_kind::unspecified},
      {"October 22 2020", ticks_of(2020, 10, 22), date_kind::unspecified},
      {"Thu, 22 Oct 2020 01:34:56 GMT", ticks_of(2020, 10, 22, 1, 34, 56), date_kind::local},
      {"Thursday, October 22, 2020", ticks_of(2020, 10, 22), date_kind::unspecified},
      {"  2020-10-22T01:34:56Z  ", ticks_of(2020, 10, 22, 1, 34, 56), date_kind::local},
      {"2020-10-22T01:34:56.123456789Z", ticks_of(2020, 10, 22, 1, 34, 56, 1'234'568), date_kind::local},
  };
  for (const row& r : rows) {
    auto t = parse_datetime(r.text);
    BOOST_TEST_REQUIRE(t.has_value(), "parse_datetime('" << r.text << "')");
    BOOST_TEST(t->ticks == r.ticks, r.text << ": " << format_roundtrip(*t));
    BOOST_TEST((t->zone == r.zone), r.text);
  }
  const char* bad[] = {"1625677200",
                       "2020",
                       "",
                       "   ",
                       "hello",
                       "2020-13-01",
                       "2020-02-30",
                       "10/22/2020 25:00",
                       "Fri, 22 Oct 2020",
                       "2020-10-22T01:34:56Zjunk",
                       "13:05",
                       "2020-10-22T",
                       "1.5",
                       "true"};
  for (const char* s : bad) BOOST_TEST(!parse_datetime(s).has_value(), "'" << s << "' must not parse");
}

BOOST_AUTO_TEST_CASE(formatting) {
  date_time t{ticks_of(2023, 3, 13, 22, 46, 1, 8'750'000), date_kind::utc};
  BOOST_TEST(format_invariant(t) == "03/13/2023 22:46:01");
  BOOST_TEST(format_roundtrip(t) == "2023-03-13T22:46:01.8750000Z");
  BOOST_TEST(format_iso(t) == "2023-03-13T22:46:01.875Z");
  BOOST_TEST(format_compact(t) == "20230313224601");
  date_time local{ticks_of(2023, 3, 13, 22, 46, 1), date_kind::local};
  BOOST_TEST(format_roundtrip(local) == "2023-03-13T22:46:01.0000000+00:00");
  BOOST_TEST(format_iso(local) == "2023-03-13T22:46:01+00:00");
  date_time unspec{ticks_of(2023, 1, 1, 0, 59, 59, 9'999'999), date_kind::unspecified};
  BOOST_TEST(format_roundtrip(unspec) == "2023-01-01T00:59:59.9999999");
  BOOST_TEST(format_iso(unspec) == "2023-01-01T00:59:59.9999999");
}

BOOST_AUTO_TEST_CASE(civil_round_trip) {
  BOOST_TEST(ticks_of(1970, 1, 1) == unix_epoch_ticks);
  BOOST_TEST(ticks_of(1, 1, 1) == 0);
  BOOST_TEST(ticks_of(9999, 12, 31, 23, 59, 59, 9'999'999) == max_ticks);
  for (int y : {1, 4, 100, 400, 1600, 1900, 1999, 2000, 2020, 2023, 2100, 9999})
    for (int m = 1; m <= 12; ++m)
      for (int d : {1, 15, days_in_month(y, m)}) {
        civil_time c = to_civil(ticks_of(y, m, d, 13, 14, 15, 1234));
        BOOST_TEST((c.year == y && c.month == m && c.day == d && c.hour == 13 && c.minute == 14 && c.second == 15 &&
                    c.fraction_ticks == 1234));
      }
  BOOST_TEST(days_in_month(2000, 2) == 29);
  BOOST_TEST(days_in_month(1900, 2) == 28);
  BOOST_TEST(days_in_month(2024, 2) == 29);
}

BOOST_AUTO_TEST_SUITE_END()
