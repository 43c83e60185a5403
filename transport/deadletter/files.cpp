#include "transport/deadletter/files.hpp"

#include "mapping/json/dotnet.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace iomt::transport::deadletter {

namespace {

constexpr std::string_view prefix = "deadletter-";
constexpr std::string_view suffix = ".jsonl";
constexpr std::int64_t ticks_per_day = 86400 * json::ticks_per_second;

bool number_at(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (std::size_t i = pos; i < pos + len; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return true;
}

// Ticks of a civil UTC time, when it is one.
std::optional<std::int64_t> ticks_of(int y, int mo, int d, int h, int mi, int s) {
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > json::days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
    return std::nullopt;
  return json::from_civil({y, mo, d, h, mi, s, 0});
}

}  // namespace

std::int64_t day_start(std::int64_t ticks) { return ticks - ticks % ticks_per_day; }

std::optional<file_info> parse_file_name(std::string_view name) {
  if (name.size() <= prefix.size() + suffix.size() || name.substr(0, prefix.size()) != prefix ||
      name.substr(name.size() - suffix.size()) != suffix)
    return std::nullopt;
  const std::string_view mid = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  file_info f;
  f.name = std::string(name);
  if (mid.size() == 10 && mid[4] == '-' && mid[7] == '-') {  // YYYY-MM-DD
    if (!number_at(mid, 0, 4, y) || !number_at(mid, 5, 2, mo) || !number_at(mid, 8, 2, d)) return std::nullopt;
    auto t = ticks_of(y, mo, d, 0, 0, 0);
    if (!t) return std::nullopt;
    f.start = *t;
    return f;
  }
  // YYYYMMDDTHHMMSSZ-NNNNNN
  if (mid.size() < 16 + 1 + 6 || mid[8] != 'T' || mid[15] != 'Z' || mid[16] != '-') return std::nullopt;
  if (!number_at(mid, 0, 4, y) || !number_at(mid, 4, 2, mo) || !number_at(mid, 6, 2, d) || !number_at(mid, 9, 2, h) ||
      !number_at(mid, 11, 2, mi) || !number_at(mid, 13, 2, s))
    return std::nullopt;
  const std::string_view num = mid.substr(17);
  if (num.size() > 19 || num.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  std::from_chars(num.data(), num.data() + num.size(), f.number);
  auto t = ticks_of(y, mo, d, h, mi, s);
  if (!t || f.number == 0) return std::nullopt;
  f.start = *t;
  return f;
}

std::string file_name(std::int64_t start_ticks, std::uint64_t number) {
  const json::civil_time c = json::to_civil(start_ticks);
  char b[64];
  std::snprintf(b, sizeof b, "deadletter-%04d%02d%02dT%02d%02d%02dZ-%06llu.jsonl", c.year, c.month, c.day, c.hour,
                c.minute, c.second, static_cast<unsigned long long>(number));
  return b;
}

std::string day_file_name(const json::date_time& t) {
  const json::civil_time c = json::to_civil(t.ticks);
  char b[40];
  std::snprintf(b, sizeof b, "deadletter-%04d-%02d-%02d.jsonl", c.year, c.month, c.day);
  return b;
}

void sort_files(std::vector<file_info>& files) {
  std::sort(files.begin(), files.end(), [](const file_info& a, const file_info& b) {
    if ((a.number == 0) != (b.number == 0)) return a.number == 0;
    if (a.number == 0) return a.start < b.start;
    return a.number < b.number;
  });
}

std::int64_t newest_possible(const std::vector<file_info>& files, std::size_t i) {
  const file_info& f = files[i];
  std::int64_t bound = day_start(f.start) + ticks_per_day;
  if (i + 1 < files.size() && files[i + 1].number != 0 && files[i + 1].start >= f.start)
    bound = std::min(bound, files[i + 1].start);
  return bound;
}

const char* to_string(drop_reason r) { return r == drop_reason::max_age ? "max_age" : "max_bytes"; }

std::vector<planned_drop> plan_drops(const std::vector<file_info>& files, std::uint64_t max_bytes,
                                     std::int64_t max_age_ticks, std::int64_t now, std::uint64_t incoming) {
  std::vector<planned_drop> out;
  std::uint64_t total = incoming;
  for (const auto& f : files) total += f.bytes;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (max_age_ticks > 0 && newest_possible(files, i) <= now - max_age_ticks) {
      out.push_back({i, drop_reason::max_age});
    } else if (max_bytes > 0 && total > max_bytes && i + 1 < files.size()) {
      out.push_back({i, drop_reason::max_bytes});
    } else {
      break;  // files are in time order: the rest are newer
    }
    total -= files[i].bytes;
  }
  return out;
}

}  // namespace iomt::transport::deadletter
