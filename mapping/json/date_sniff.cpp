// Newtonsoft date sniffing of JSON strings (iomt-spec §2): DateParseHandling.DateTime with
// DateTimeZoneHandling.RoundtripKind, as done by DateTimeUtils.TryParseDateTime for every string
// value a JsonTextReader reads. Reproduces DateTimeParser's quirks (e.g. the zone parser accepts a
// trailing two-digit group, so 9 fraction digits sniff as a date while 8 do not).
#include "mapping/json/dotnet.hpp"

namespace iomt::json {

namespace {

struct iso_parser {
  std::string_view s;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::int64_t fraction = 0;  // ticks
  int zone_hour = 0, zone_minute = 0;
  enum class zone_t { unspecified, utc, west, east } zone = zone_t::unspecified;

  std::size_t len() const { return s.size(); }
  static int digit(char c) { return c >= '0' && c <= '9' ? c - '0' : -1; }
  bool two(std::size_t at, int& out) const {
    if (at + 1 >= len()) return false;
    int a = digit(s[at]), b = digit(s[at + 1]);
    if (a < 0 || b < 0) return false;
    out = a * 10 + b;
    return true;
  }
  bool four(std::size_t at, int& out) const {
    int hi = 0, lo = 0;
    if (at + 3 >= len() || !two(at, hi) || !two(at + 2, lo)) return false;
    out = hi * 100 + lo;
    return true;
  }
  bool ch(std::size_t at, char c) const { return at < len() && s[at] == c; }

  bool parse() { return parse_date() && ch(10, 'T') && parse_time_and_zone(11); }
  bool parse_date() {
    return four(0, year) && year >= 1 && ch(4, '-') && two(5, month) && month >= 1 && month <= 12 && ch(7, '-') &&
           two(8, day) && day >= 1 && day <= days_in_month(year, month);
  }
  bool parse_time_and_zone(std::size_t at) {
    if (!(two(at, hour) && hour <= 24 && ch(at + 2, ':') && two(at + 3, minute) && minute < 60 && ch(at + 5, ':') &&
          two(at + 6, second) && second < 60 && (hour != 24 || (minute == 0 && second == 0))))
      return false;
    at += 8;
    if (ch(at, '.')) {
      int digits = 0;
      fraction = 0;
      while (++at < len() && digits < 7) {
        int d = digit(s[at]);
        if (d < 0) break;
        fraction = fraction * 10 + d;
        ++digits;
      }
      if (digits == 0) return false;
      for (int i = digits; i < 7; ++i) fraction *= 10;
      if (hour == 24 && fraction != 0) return false;
    }
    return parse_zone(at);
  }
  bool parse_zone(std::size_t at) {
    if (at < len()) {
      char c = s[at];
      if (c == 'Z' || c == 'z') {
        zone = zone_t::utc;
        ++at;
      } else {
        if (at + 2 < len() && two(at + 1, zone_hour)) {
          if (c == '-') {
            zone = zone_t::west;
            at += 3;
          } else if (c == '+') {
            zone = zone_t::east;
            at += 3;
          }
        }
        if (at < len()) {
          if (ch(at, ':')) ++at;
          if (at + 1 < len() && two(at, zone_minute)) at += 2;
        }
      }
    }
    return at == len();
  }
};

// ConvertUtils.Int64TryParse: optional '-', digits only, no overflow.
bool int64_try_parse(std::string_view t, std::int64_t& out) {
  if (t.empty()) return false;
  bool neg = t[0] == '-';
  if (neg) t.remove_prefix(1);
  if (t.empty() || t.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  std::uint64_t limit = neg ? 9'223'372'036'854'775'808ULL : 9'223'372'036'854'775'807ULL;
  if (v > limit) return false;
  out = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
  return true;
}

bool int32_try_parse(std::string_view t) {
  std::int64_t v = 0;
  return int64_try_parse(t, v);  // 2 characters always fit
}

// "/Date(ms)/", "/Date(ms+hhmm)/" (DateTimeUtils.TryParseDateTimeMicrosoft). The offset is only
// validated: the instant is the UTC one, kind local when an offset is present.
std::optional<date_time> sniff_microsoft(std::string_view s) {
  date_kind kind = date_kind::utc;
  // IndexOf('+'/'-', 7, Length - 8): positions 7 .. Length-2.
  std::size_t index = std::string_view::npos;
  std::string_view window = s.substr(7, s.size() - 8);
  if (auto p = window.find('+'); p != std::string_view::npos)
    index = p + 7;
  else if (auto q = window.find('-'); q != std::string_view::npos)
    index = q + 7;
  if (index != std::string_view::npos) {
    kind = date_kind::local;
    if (index + 3 > s.size() || !int32_try_parse(s.substr(index + 1, 2))) return std::nullopt;
    if (s.size() - index > 5 && (index + 5 > s.size() || !int32_try_parse(s.substr(index + 3, 2)))) return std::nullopt;
  } else {
    index = s.size() - 2;
  }
  std::int64_t ms = 0;
  if (index < 6 || !int64_try_parse(s.substr(6, index - 6), ms)) return std::nullopt;
  // new DateTime(ms * 10000 + epoch) throws when out of range: not a date then (documented gap:
  // Newtonsoft would fail the whole body).
  constexpr std::int64_t max_ms = (max_ticks - unix_epoch_ticks) / ticks_per_millisecond;
  constexpr std::int64_t min_ms = -unix_epoch_ticks / ticks_per_millisecond;
  if (ms > max_ms || ms < min_ms) return std::nullopt;
  return date_time{ms * ticks_per_millisecond + unix_epoch_ticks, kind};
}

}  // namespace

std::optional<date_time> sniff_date(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s[0] == '/') {
    if (s.size() >= 9 && s.starts_with("/Date(") && s.ends_with(")/")) return sniff_microsoft(s);
    return std::nullopt;
  }
  if (s.size() < 19 || s.size() > 40 || s[0] < '0' || s[0] > '9' || s[10] != 'T') return std::nullopt;

  iso_parser p{s};
  if (!p.parse()) return std::nullopt;
  bool is24 = p.hour == 24;
  civil_time c{p.year, p.month, p.day, is24 ? 0 : p.hour, p.minute, p.second, p.fraction};
  std::int64_t ticks = from_civil(c);
  if (is24) {
    ticks += 864'000'000'000;                    // AddDays(1)
    if (ticks > max_ticks) return std::nullopt;  // .NET throws; documented gap
  }
  std::int64_t offset = (static_cast<std::int64_t>(p.zone_hour) * 60 + p.zone_minute) * 60 * ticks_per_second;
  switch (p.zone) {
    case iso_parser::zone_t::unspecified:
      return date_time{ticks, date_kind::unspecified};
    case iso_parser::zone_t::utc:
      return date_time{ticks, date_kind::utc};
    case iso_parser::zone_t::west:  // -hh:mm: UTC = local + offset, then ToLocalTime (UTC host)
      ticks += offset;
      return date_time{ticks > max_ticks ? max_ticks : ticks, date_kind::local};
    case iso_parser::zone_t::east:
      ticks -= offset;
      return date_time{ticks < 0 ? 0 : ticks, date_kind::local};
  }
  return std::nullopt;
}

}  // namespace iomt::json
