// DateTime.Parse(s, CultureInfo.InvariantCulture) for the timestamp conversions of iomt-spec §3.5.
//
// .NET's parser is a large heuristic state machine; this covers the forms device payloads use:
//   ISO 8601: yyyy-MM-dd, yyyy-MM-ddTHH:mm[:ss[.f...]], 'T' or spaces between date and time
//   yyyy/MM/dd, yyyy.MM.dd, M/d/yyyy and M-d-yyyy (invariant culture is month-first), M/d/yy
//   d MMM yyyy, d-MMM-yyyy, MMM d[,] yyyy, MMMM variants, optional leading weekday ("Tue, ...")
//   times H:mm[:ss[.f...]] with optional AM/PM
//   zones: Z, GMT (RFC 1123), ±hh, ±hh:mm, ±hhmm
// Zone given -> converted to the UTC instant with kind local (DateTime.Parse returns local time;
// the containers run in UTC); no zone -> unspecified. Leading/trailing whitespace is allowed.
// Time-only strings (which .NET completes with today's date) and bare numbers are rejected.
#include "mapping/json/dotnet.hpp"
#include "mapping/text/ascii.hpp"

#include <array>
#include <cmath>
#include <vector>

namespace iomt::json {

namespace {

enum class tok_t { number, word, sep, space };

struct token {
  tok_t type;
  std::string_view text;
  std::int64_t num = 0;  // number value (saturated)
};

using mapping::text::iequals;
using mapping::text::is_digit;
using mapping::text::is_space;
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool tokenize(std::string_view s, std::vector<token>& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    std::size_t j = i + 1;
    if (is_space(c)) {
      while (j < s.size() && is_space(s[j])) ++j;
      out.push_back({tok_t::space, s.substr(i, j - i)});
    } else if (is_digit(c)) {
      std::int64_t v = c - '0';
      while (j < s.size() && is_digit(s[j])) {
        if (v < 1'000'000'000'000) v = v * 10 + (s[j] - '0');
        ++j;
      }
      out.push_back({tok_t::number, s.substr(i, j - i), v});
    } else if (is_alpha(c)) {
      while (j < s.size() && is_alpha(s[j])) ++j;
      out.push_back({tok_t::word, s.substr(i, j - i)});
    } else if (c == '-' || c == '/' || c == ':' || c == '.' || c == ',' || c == '+') {
      out.push_back({tok_t::sep, s.substr(i, 1)});
    } else {
      return false;
    }
    i = j;
  }
  return true;
}

constexpr std::array<std::string_view, 12> month_names = {"january",   "february", "march",    "april",
                                                          "may",       "june",     "july",     "august",
                                                          "september", "october",  "november", "december"};
constexpr std::array<std::string_view, 7> day_names = {"sunday",   "monday", "tuesday", "wednesday",
                                                       "thursday", "friday", "saturday"};

// 1..12, or 0. Full name or its first three letters.
int month_of(std::string_view w) {
  for (std::size_t i = 0; i < month_names.size(); ++i)
    if (iequals(w, month_names[i]) || iequals(w, month_names[i].substr(0, 3))) return static_cast<int>(i) + 1;
  return 0;
}
// 0 (Sunday)..6, or -1.
int weekday_of(std::string_view w) {
  for (std::size_t i = 0; i < day_names.size(); ++i)
    if (iequals(w, day_names[i]) || iequals(w, day_names[i].substr(0, 3))) return static_cast<int>(i);
  return -1;
}

class parser {
public:
  explicit parser(const std::vector<token>& t) : t_(t) {}

  std::optional<date_time> run() {
    skip_space();
    // Optional weekday, optionally followed by ','.
    if (at_word()) {
      int wd = weekday_of(t_[i_].text);
      if (wd >= 0) {
        weekday_ = wd;
        ++i_;
        skip_space();
        if (at_sep(',')) ++i_;
        skip_space();
      }
    }
    if (!parse_date()) return std::nullopt;
    // Date/time separator: 'T' or whitespace (or ',' after a spelled-out date).
    std::size_t save = i_;
    bool had_sep = false;
    if (at_word() && iequals(t_[i_].text, "T")) {
      ++i_;
      had_sep = true;
    } else {
      if (at_sep(',')) ++i_;
      had_sep = skip_space();
    }
    if (had_sep && at_number() && i_ + 1 < t_.size() && t_[i_ + 1].type == tok_t::sep && t_[i_ + 1].text == ":") {
      if (!parse_time()) return std::nullopt;
    } else {
      i_ = save;
    }
    skip_space();
    if (!parse_zone()) return std::nullopt;
    skip_space();
    if (i_ != t_.size()) return std::nullopt;
    return build();
  }

private:
  bool at_number() const { return i_ < t_.size() && t_[i_].type == tok_t::number; }
  bool at_word() const { return i_ < t_.size() && t_[i_].type == tok_t::word; }
  bool at_sep(char c) const { return i_ < t_.size() && t_[i_].type == tok_t::sep && t_[i_].text[0] == c; }
  bool at_date_sep() const { return at_sep('-') || at_sep('/') || at_sep('.'); }
  bool skip_space() {
    bool any = false;
    while (i_ < t_.size() && t_[i_].type == tok_t::space) {
      ++i_;
      any = true;
    }
    return any;
  }
  std::size_t digits() const { return t_[i_].text.size(); }

  static int expand_two_digit_year(int yy) {
    // GregorianCalendar.TwoDigitYearMax = 2049 in the invariant culture.
    return yy <= 49 ? 2000 + yy : 1900 + yy;
  }

  bool parse_year(int& y) {
    if (!at_number()) return false;
    std::size_t n = digits();
    if (n == 4) {
      y = static_cast<int>(t_[i_].num);
    } else if (n == 2 || n == 1) {
      y = expand_two_digit_year(static_cast<int>(t_[i_].num));
    } else {
      return false;
    }
    ++i_;
    return true;
  }

  bool parse_date() {
    if (at_number()) {
      std::size_t n = digits();
      if (n == 4) {  // yyyy-MM-dd, yyyy/MM/dd, yyyy.MM.dd (or yyyy-MM)
        year_ = static_cast<int>(t_[i_].num);
        ++i_;
        if (!at_date_sep()) return false;
        char sep = t_[i_].text[0];
        ++i_;
        if (!at_number() || digits() > 2) return false;
        month_ = static_cast<int>(t_[i_].num);
        ++i_;
        if (at_sep(sep) && i_ + 1 < t_.size() && t_[i_ + 1].type == tok_t::number) {
          ++i_;
          if (digits() > 2) return false;
          day_ = static_cast<int>(t_[i_].num);
          ++i_;
        } else {
          day_ = 1;
        }
        return true;
      }
      if (n > 2) return false;
      int first = static_cast<int>(t_[i_].num);
      ++i_;
      if (at_date_sep()) {  // M/d/yyyy (month first in the invariant culture), or d-MMM-yyyy
        char sep = t_[i_].text[0];
        ++i_;
        if (at_word()) {
          int m = month_of(t_[i_].text);
          if (!m) return false;
          ++i_;
          if (!at_sep(sep)) return false;
          ++i_;
          day_ = first;
          month_ = m;
          return parse_year(year_);
        }
        if (!at_number() || digits() > 2) return false;
        month_ = first;
        day_ = static_cast<int>(t_[i_].num);
        ++i_;
        if (!at_sep(sep)) return false;
        ++i_;
        return parse_year(year_);
      }
      // d MMM yyyy
      skip_space();
      if (!at_word()) return false;
      int m = month_of(t_[i_].text);
      if (!m) return false;
      ++i_;
      day_ = first;
      month_ = m;
      skip_space();
      if (at_sep(',')) ++i_;
      skip_space();
      if (!at_number() || digits() != 4) return false;
      return parse_year(year_);
    }
    if (at_word()) {  // MMM d[,] yyyy
      int m = month_of(t_[i_].text);
      if (!m) return false;
      ++i_;
      month_ = m;
      skip_space();
      if (at_sep('-') || at_sep('.')) ++i_;
      if (!at_number() || digits() > 2) return false;
      day_ = static_cast<int>(t_[i_].num);
      ++i_;
      skip_space();
      if (at_sep(',') || at_sep('-')) ++i_;
      skip_space();
      if (!at_number() || digits() != 4) return false;
      return parse_year(year_);
    }
    return false;
  }

  bool parse_time() {
    if (digits() > 2) return false;
    hour_ = static_cast<int>(t_[i_].num);
    ++i_;
    ++i_;  // ':'
    if (!at_number() || digits() != 2) return false;
    minute_ = static_cast<int>(t_[i_].num);
    ++i_;
    if (at_sep(':')) {
      ++i_;
      if (!at_number() || digits() != 2) return false;
      second_ = static_cast<int>(t_[i_].num);
      ++i_;
      if (at_sep('.') && i_ + 1 < t_.size() && t_[i_ + 1].type == tok_t::number) {
        ++i_;
        std::string_view f = t_[i_].text;
        ++i_;
        // The fraction is kept as a double and rounded to ticks (Math.Round, to even).
        double frac = 0, scale = 0.1;
        for (char c : f) {
          frac += (c - '0') * scale;
          scale /= 10;
        }
        if (f.size() <= 7) {
          std::int64_t v = 0;
          for (char c : f) v = v * 10 + (c - '0');
          for (std::size_t k = f.size(); k < 7; ++k) v *= 10;
          fraction_ = v;
        } else {
          fraction_ = static_cast<std::int64_t>(std::nearbyint(frac * 1e7));
        }
      }
    }
    std::size_t save = i_;
    skip_space();
    if (at_word() && (iequals(t_[i_].text, "AM") || iequals(t_[i_].text, "PM") || iequals(t_[i_].text, "A") ||
                      iequals(t_[i_].text, "P"))) {
      bool pm = t_[i_].text[0] == 'P' || t_[i_].text[0] == 'p';
      ++i_;
      if (hour_ > 12) return false;
      hour_ = hour_ % 12 + (pm ? 12 : 0);
    } else {
      i_ = save;
    }
    has_time_ = true;
    return true;
  }

  bool parse_zone() {
    if (i_ >= t_.size()) return true;
    if (at_word()) {
      std::string_view w = t_[i_].text;
      if (iequals(w, "Z") || iequals(w, "GMT")) {  // DateTimeFormatInfo zone tokens
        ++i_;
        has_zone_ = true;
        skip_space();
        if (i_ >= t_.size()) return true;
      } else {
        return false;
      }
    }
    if (at_sep('+') || at_sep('-')) {
      bool neg = t_[i_].text[0] == '-';
      ++i_;
      if (!at_number()) return false;
      std::string_view d = t_[i_].text;
      int hh = 0, mm = 0;
      ++i_;
      if (d.size() <= 2) {
        hh = std::stoi(std::string(d));
        if (at_sep(':')) {
          ++i_;
          if (!at_number() || digits() != 2) return false;
          mm = static_cast<int>(t_[i_].num);
          ++i_;
        }
      } else if (d.size() == 4) {
        hh = (d[0] - '0') * 10 + (d[1] - '0');
        mm = (d[2] - '0') * 10 + (d[3] - '0');
      } else {
        return false;
      }
      if (hh > 14 || mm > 59) return false;
      offset_ticks_ = (static_cast<std::int64_t>(hh) * 60 + mm) * 60 * ticks_per_second;
      if (neg) offset_ticks_ = -offset_ticks_;
      has_zone_ = true;
    }
    return true;
  }

  std::optional<date_time> build() const {
    if (year_ < 1 || year_ > 9999 || month_ < 1 || month_ > 12 || day_ < 1 || day_ > days_in_month(year_, month_))
      return std::nullopt;
    if (hour_ > 23 || minute_ > 59 || second_ > 59) return std::nullopt;
    civil_time c{year_, month_, day_, hour_, minute_, second_, fraction_};
    std::int64_t ticks = from_civil(c);
    if (weekday_ >= 0) {
      // 0001-01-01 was a Monday.
      std::int64_t days = ticks / 864'000'000'000;
      if (static_cast<int>((days + 1) % 7) != weekday_) return std::nullopt;
    }
    if (!has_zone_) return date_time{ticks, date_kind::unspecified};
    ticks -= offset_ticks_;
    if (ticks < 0 || ticks > max_ticks) return std::nullopt;
    return date_time{ticks, date_kind::local};
  }

  const std::vector<token>& t_;
  std::size_t i_ = 0;
  int year_ = 0, month_ = 0, day_ = 0, hour_ = 0, minute_ = 0, second_ = 0;
  std::int64_t fraction_ = 0;
  int weekday_ = -1;
  bool has_time_ = false;
  bool has_zone_ = false;
  std::int64_t offset_ticks_ = 0;
};

}  // namespace

std::optional<date_time> parse_datetime(std::string_view s) {
  if (s.size() > 128) return std::nullopt;
  std::vector<token> tokens;
  tokens.reserve(16);
  if (!tokenize(s, tokens)) return std::nullopt;
  return parser(tokens).run();
}

}  // namespace iomt::json
