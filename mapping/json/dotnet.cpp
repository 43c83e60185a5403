// .NET value-to-string, double formatting and DateTime formatting (iomt-spec §3.5, §8.1).
// Date sniffing lives in date_sniff.cpp, DateTime.Parse in datetime_parse.cpp.
#include "mapping/json/dotnet.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace iomt::json {

// double.ToString(CultureInfo.InvariantCulture), .NET Core 3.0+ (iomt-spec §3.5): the shortest
// round-trip digits d1 d2 ... dn with value = 0.d1...dn x 10^scale. .NET's "G" formatting with the
// default precision switches to scientific notation when scale > max(n, 15) or scale < -3, i.e.
// fixed for 0.0001 and 123456789012345, scientific for 1E-05, 1E+15 and 1.2345678901234568E+17;
// 12345678901234568 (17 digits, scale 17) stays fixed. Exponent: "E", sign, at least 2 digits.
std::string format_double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";

  char sci[40];  // "d[.ddd]e±XX", shortest round-trip
  char* sci_end = std::to_chars(sci, sci + sizeof(sci), std::fabs(d), std::chars_format::scientific).ptr;
  char digits[24];
  int n = 0;
  const char* q = sci;
  for (; q < sci_end && *q != 'e'; ++q)
    if (*q != '.') digits[n++] = *q;
  ++q;  // 'e'
  bool exp_negative = *q++ == '-';
  int exp10 = 0;
  for (; q < sci_end; ++q) exp10 = exp10 * 10 + (*q - '0');
  if (exp_negative) exp10 = -exp10;
  int scale = exp10 + 1;

  char out[48];
  char* o = out;
  if (std::signbit(d)) *o++ = '-';
  auto put = [&](const char* from, int count) {
    std::memcpy(o, from, static_cast<std::size_t>(count));
    o += count;
  };
  if (scale > std::max(n, 15) || scale < -3) {
    *o++ = digits[0];
    if (n > 1) {
      *o++ = '.';
      put(digits + 1, n - 1);
    }
    *o++ = 'E';
    *o++ = exp10 < 0 ? '-' : '+';
    int ae = exp10 < 0 ? -exp10 : exp10;
    if (ae >= 100) *o++ = static_cast<char>('0' + ae / 100);
    *o++ = static_cast<char>('0' + ae / 10 % 10);
    *o++ = static_cast<char>('0' + ae % 10);
  } else if (scale <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -scale; ++i) *o++ = '0';
    put(digits, n);
  } else if (scale >= n) {
    put(digits, n);
    for (int i = n; i < scale; ++i) *o++ = '0';
  } else {
    put(digits, scale);
    *o++ = '.';
    put(digits + scale, n - scale);
  }
  return std::string(out, o);
}

// Newtonsoft JToken.Value<string>() (iomt-spec §3.5 table).
conversion to_dotnet_string(const value& v, std::string& out) {
  switch (v.type()) {
    case kind::null:
      return conversion::null;
    case kind::string:
      out.assign(v.as_string());
      return conversion::ok;
    case kind::integer: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof(buf), v.as_integer());
      out.assign(buf, r.ptr);
      return conversion::ok;
    }
    case kind::floating:
      out = format_double(v.as_floating());
      return conversion::ok;
    case kind::boolean:
      out = v.as_bool() ? "True" : "False";
      return conversion::ok;
    case kind::date:
      out = format_invariant(v.as_date());
      return conversion::ok;
    case kind::big_integer:  // System.Numerics.BigInteger is not IConvertible
    case kind::array:
    case kind::object:
      return conversion::error;
  }
  return conversion::error;
}

// Newtonsoft JToken.Value<DateTime?>() (iomt-spec §3.5): Convert.ChangeType(string, DateTime)
// = DateTime.Parse(s, InvariantCulture); numbers are not accepted.
conversion to_dotnet_datetime(const value& v, date_time& out) {
  switch (v.type()) {
    case kind::null:
      return conversion::null;
    case kind::date:
      out = v.as_date();
      return conversion::ok;
    case kind::string:
      if (auto t = parse_datetime(v.as_string())) {
        out = *t;
        return conversion::ok;
      }
      return conversion::error;
    default:
      return conversion::error;
  }
}

// ---- civil time (proleptic Gregorian, .NET ticks since 0001-01-01) ----

namespace {
constexpr std::int64_t ticks_per_day = 864'000'000'000;
constexpr std::array<int, 13> days_before_month_common = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
constexpr std::array<int, 13> days_before_month_leap = {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366};

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::int64_t days_from_civil(int y, int m, int d) {
  std::int64_t yy = y - 1;
  const auto& table = is_leap(y) ? days_before_month_leap : days_before_month_common;
  return yy * 365 + yy / 4 - yy / 100 + yy / 400 + table[static_cast<std::size_t>(m - 1)] + d - 1;
}

void put2(std::string& s, int v) {
  s.push_back(static_cast<char>('0' + v / 10 % 10));
  s.push_back(static_cast<char>('0' + v % 10));
}
void put4(std::string& s, int v) {
  put2(s, v / 100);
  put2(s, v % 100);
}
void put7(std::string& s, std::int64_t v) {
  char buf[7];
  for (int i = 6; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  s.append(buf, 7);
}

std::string_view zone_suffix(date_kind k) {
  switch (k) {
    case date_kind::utc:
      return "Z";
    case date_kind::local:
      return "+00:00";  // containers run in UTC (iomt-spec §15.4)
    default:
      return "";
  }
}

void put_date_time(std::string& s, const civil_time& c, char date_sep, char between) {
  put4(s, c.year);
  s.push_back(date_sep);
  put2(s, c.month);
  s.push_back(date_sep);
  put2(s, c.day);
  s.push_back(between);
  put2(s, c.hour);
  s.push_back(':');
  put2(s, c.minute);
  s.push_back(':');
  put2(s, c.second);
}
}  // namespace

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  return month == 2 && is_leap(year) ? 29 : days[static_cast<std::size_t>(month - 1)];
}

civil_time to_civil(std::int64_t ticks) {
  if (ticks < 0) ticks = 0;
  std::int64_t n = ticks / ticks_per_day;
  std::int64_t rem = ticks % ticks_per_day;
  civil_time c{};
  c.fraction_ticks = rem % ticks_per_second;
  std::int64_t secs = rem / ticks_per_second;
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  // 400-, 100-, 4- and 1-year cycles (the last cycle of each kind is one day longer).
  std::int64_t y400 = n / 146097;
  n -= y400 * 146097;
  std::int64_t y100 = n / 36524;
  if (y100 == 4) y100 = 3;
  n -= y100 * 36524;
  std::int64_t y4 = n / 1461;
  n -= y4 * 1461;
  std::int64_t y1 = n / 365;
  if (y1 == 4) y1 = 3;
  n -= y1 * 365;
  c.year = static_cast<int>(y400 * 400 + y100 * 100 + y4 * 4 + y1 + 1);
  const auto& table = is_leap(c.year) ? days_before_month_leap : days_before_month_common;
  int m = 1;
  while (m < 12 && table[static_cast<std::size_t>(m)] <= n) ++m;
  c.month = m;
  c.day = static_cast<int>(n - table[static_cast<std::size_t>(m - 1)] + 1);
  return c;
}

std::int64_t from_civil(const civil_time& c) {
  std::int64_t days = days_from_civil(c.year, c.month, c.day);
  return days * ticks_per_day +
         ((static_cast<std::int64_t>(c.hour) * 60 + c.minute) * 60 + c.second) * ticks_per_second + c.fraction_ticks;
}

std::string format_invariant(date_time t) {
  civil_time c = to_civil(t.ticks);
  std::string s;
  s.reserve(19);
  put2(s, c.month);
  s.push_back('/');
  put2(s, c.day);
  s.push_back('/');
  put4(s, c.year);
  s.push_back(' ');
  put2(s, c.hour);
  s.push_back(':');
  put2(s, c.minute);
  s.push_back(':');
  put2(s, c.second);
  return s;
}

std::string format_roundtrip(date_time t) {
  civil_time c = to_civil(t.ticks);
  std::string s;
  s.reserve(34);
  put_date_time(s, c, '-', 'T');
  s.push_back('.');
  put7(s, c.fraction_ticks);
  s += zone_suffix(t.zone);
  return s;
}

std::string format_iso(date_time t) {
  civil_time c = to_civil(t.ticks);
  std::string s;
  s.reserve(34);
  put_date_time(s, c, '-', 'T');
  if (c.fraction_ticks != 0) {
    s.push_back('.');
    std::size_t start = s.size();
    put7(s, c.fraction_ticks);
    while (s.size() > start && s.back() == '0') s.pop_back();
  }
  s += zone_suffix(t.zone);
  return s;
}

std::string format_compact(date_time t) {
  civil_time c = to_civil(t.ticks);
  std::string s;
  s.reserve(14);
  put4(s, c.year);
  put2(s, c.month);
  put2(s, c.day);
  put2(s, c.hour);
  put2(s, c.minute);
  put2(s, c.second);
  return s;
}

}  // namespace iomt::json
