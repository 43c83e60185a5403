#include "mapping/fhir/fhir_datetime.hpp"

#include "mapping/json/dotnet.hpp"

namespace iomt::mapping::fhir {

namespace {

bool read_digits(std::string_view s, std::size_t& i, std::size_t count, int& out) {
  if (i + count > s.size()) return false;
  int v = 0;
  for (std::size_t k = 0; k < count; ++k) {
    const char c = s[i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  i += count;
  return true;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

}  // namespace

std::optional<std::int64_t> parse_fhir_datetime(std::string_view s) {
  std::size_t i = 0;
  json::civil_time c{1, 1, 1, 0, 0, 0, 0};
  if (!read_digits(s, i, 4, c.year) || c.year < 1) return std::nullopt;
  if (i < s.size()) {
    if (s[i++] != '-' || !read_digits(s, i, 2, c.month) || c.month < 1 || c.month > 12) return std::nullopt;
    if (i < s.size()) {
      if (s[i++] != '-' || !read_digits(s, i, 2, c.day) || c.day < 1 || c.day > days_in_month(c.year, c.month))
        return std::nullopt;
    }
  }
  std::int64_t offset_ticks = 0;
  if (i < s.size()) {
    if (i != 10) return std::nullopt;  // a time needs a full date
    if (s[i++] != 'T' || !read_digits(s, i, 2, c.hour) || c.hour > 23) return std::nullopt;
    if (i >= s.size() || s[i++] != ':' || !read_digits(s, i, 2, c.minute) || c.minute > 59) return std::nullopt;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!read_digits(s, i, 2, c.second) || c.second > 59) return std::nullopt;
      if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t digits = 0;
        std::int64_t frac = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          if (digits < 7) frac = frac * 10 + (s[i] - '0');
          ++digits;
          ++i;
        }
        if (digits == 0) return std::nullopt;
        for (std::size_t k = digits; k < 7; ++k) frac *= 10;
        c.fraction_ticks = frac;
      }
    }
    if (i < s.size()) {
      if (s[i] == 'Z') {
        ++i;
      } else if (s[i] == '+' || s[i] == '-') {
        const bool neg = s[i] == '-';
        ++i;
        int oh = 0, om = 0;
        if (!read_digits(s, i, 2, oh) || oh > 14 || i >= s.size() || s[i++] != ':' || !read_digits(s, i, 2, om) ||
            om > 59)
          return std::nullopt;
        offset_ticks = (static_cast<std::int64_t>(oh) * 60 + om) * 60 * json::ticks_per_second;
        if (neg) offset_ticks = -offset_ticks;
      } else {
        return std::nullopt;
      }
    }
    if (i != s.size()) return std::nullopt;
  }
  const std::int64_t local = json::from_civil(c);
  const std::int64_t utc = local - offset_ticks;
  if (utc < 0 || utc > 3'155'378'975'999'999'999) return std::nullopt;
  return utc;
}

std::string format_period_time(json::date_time t) { return json::format_roundtrip(t); }

std::string format_issued(json::date_time utc_now) {
  return json::format_roundtrip({utc_now.ticks, json::date_kind::local});
}

}  // namespace iomt::mapping::fhir
