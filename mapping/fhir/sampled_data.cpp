#include "mapping/fhir/sampled_data.hpp"

#include "mapping/fhir/text_util.hpp"

#include <cmath>

namespace iomt::mapping::fhir {

namespace {

constexpr std::int64_t max_ticks = 3'155'378'975'999'999'999;  // DateTime.MaxValue
constexpr double max_millis = 315'537'897'600'000.0;           // DateTime.MaxMillis

mapping_error out_of_range() {
  return {"ArgumentOutOfRangeException",
          "The added or subtracted value results in an un-representable DateTime. (Parameter 'value')"};
}

// The tick increment of one AddMilliseconds(period) step.
result<std::int64_t> increment_ticks(double ms) {
  if (!std::isfinite(ms) || std::fabs(ms) > max_millis)
    return mapping_error{"ArgumentOutOfRangeException", "Value to add was out of range. (Parameter 'value')"};
  const double integral = std::trunc(ms);
  const double fraction = ms - integral;
  return static_cast<std::int64_t>(integral) * json::ticks_per_millisecond +
         static_cast<std::int64_t>(fraction * static_cast<double>(json::ticks_per_millisecond));
}

}  // namespace

result<std::int64_t> add_milliseconds(std::int64_t ticks, double milliseconds) {
  auto inc = increment_ticks(milliseconds);
  if (!inc) return inc.error();
  const std::int64_t r = ticks + *inc;  // |inc| <= max_ticks, |ticks| <= max_ticks: no overflow
  if (r < 0 || r > max_ticks) return out_of_range();
  return r;
}

result<std::string> build_sampled_data(std::span<const time_value> values, std::int64_t start, std::int64_t end,
                                       double period_ms) {
  auto inc_r = increment_ticks(period_ms);
  if (!inc_r) return inc_r.error();
  const std::int64_t inc = *inc_r;

  // Upstream computes next = start + p before the loop and once more per slot.
  std::int64_t slots = 0;
  if (start <= end) {
    if (inc <= 0)
      return mapping_error{"OutOfMemoryException", "SampledData period " + std::to_string(period_ms) +
                                                       " ms does not advance time: the stream would never end."};
    slots = (end - start) / inc + 1;
    if (slots > max_sampled_data_slots)
      return mapping_error{"OutOfMemoryException", "SampledData stream of " + std::to_string(slots) +
                                                       " slots exceeds the limit of " +
                                                       std::to_string(max_sampled_data_slots) + "."};
  }
  // The last `next` computed is start + (slots + 1)·p; it must stay a valid DateTime.
  if (start < 0 || start > max_ticks) return out_of_range();
  if (slots == 0) {
    const std::int64_t first_next = start + inc;  // no overflow: both within ±max_ticks
    if (first_next < 0 || first_next > max_ticks) return out_of_range();
  } else if (slots + 1 > (max_ticks - start) / inc) {  // inc > 0 here
    return out_of_range();
  }

  std::string out;
  out.reserve(static_cast<std::size_t>(slots) * 2);
  std::int64_t cur = start;
  std::int64_t next = start + inc;
  std::size_t i = 0;
  const std::size_t n = values.size();
  for (std::int64_t k = 0; k < slots; ++k) {
    std::string_view v = "E";
    bool found = false;
    while (i < n && values[i].ticks >= cur && values[i].ticks < next) {
      v = values[i].value;  // last value in the slot wins
      found = true;
      ++i;
    }
    if (found)
      out.append(v);
    else
      out.push_back('E');
    out.push_back(' ');
    cur = next;
    next += inc;
  }
  out.resize(detail::trim_end(out).size());
  return result<std::string>(boost::system::in_place_value, std::move(out));
}

result<std::vector<time_value>> sampled_data_to_time_values(std::string_view stream, std::int64_t start,
                                                            double period_ms) {
  if (detail::is_blank(stream))
    return mapping_error{
        "ArgumentException",
        "The value cannot be an empty string or composed entirely of whitespace. (Parameter 'stream')"};
  auto inc_r = increment_ticks(period_ms);
  if (!inc_r) return inc_r.error();
  const std::int64_t inc = *inc_r;

  std::vector<time_value> out;
  out.reserve(stream.size() / 2 + 1);
  std::int64_t time = start;
  std::size_t pos = 0;
  while (true) {
    const std::size_t sp = stream.find(' ', pos);
    const std::string_view token = stream.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    if (token != "E") out.push_back({time, token});
    // time = time.AddMilliseconds(p), checked like .NET.
    time += inc;
    if (time < 0 || time > max_ticks) return out_of_range();
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  return out;
}

std::vector<time_value> merge_data(std::span<const time_value> a, std::span<const time_value> b) {
  std::vector<time_value> out;
  out.reserve(a.size() + b.size());
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i >= a.size()) {
      out.push_back(b[j++]);
    } else if (j >= b.size()) {
      out.push_back(a[i++]);
    } else if (a[i].ticks < b[j].ticks) {
      out.push_back(a[i++]);
    } else if (a[i].ticks > b[j].ticks) {
      out.push_back(b[j++]);
    } else {
      out.push_back(b[j++]);  // collision: the incoming value wins
      ++i;
    }
  }
  return out;
}

}  // namespace iomt::mapping::fhir
