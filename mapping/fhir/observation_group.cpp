#include "mapping/fhir/observation_group.hpp"

#include "mapping/fhir/text_util.hpp"
#include "mapping/json/dotnet.hpp"

#include <algorithm>
#include <unordered_map>

namespace iomt::mapping::fhir {

namespace {

constexpr std::int64_t ticks_per_hour = 3600 * json::ticks_per_second;
constexpr std::int64_t ticks_per_day = 24 * ticks_per_hour;

// SortedObservationGroup.AddMeasurement: every property value keyed by the measurement time.
void add_measurement(observation_group& g, const measurement& m) {
  for (const measurement_property& p : m.properties) {
    auto it = std::find_if(g.properties.begin(), g.properties.end(),
                           [&](const property_values& pv) { return pv.name == p.name; });
    if (it == g.properties.end()) {
      g.properties.push_back({p.name, {}});
      it = std::prev(g.properties.end());
    }
    it->values.push_back({m.occurrence_time.ticks, p.value});
  }
}

// Sorting by time; on equal ticks the first added value stays (SortedSet.Add ignores the later).
void sort_values(observation_group& g) {
  for (property_values& pv : g.properties) {
    std::stable_sort(pv.values.begin(), pv.values.end(),
                     [](const time_value& a, const time_value& b) { return a.ticks < b.ticks; });
    auto last = std::unique(pv.values.begin(), pv.values.end(),
                            [](const time_value& a, const time_value& b) { return a.ticks == b.ticks; });
    pv.values.erase(last, pv.values.end());
  }
}

// TimePeriodMeasurementObservationGroup.GetIdSegment: "yyyyMMddHHmmssZ" ('Z' is a literal).
std::string time_segment(json::date_time start, json::date_time end) {
  std::string s = json::format_compact(start);
  s += "Z.";
  s += json::format_compact(end);
  s.push_back('Z');
  return s;
}

std::int64_t floor_to(std::int64_t ticks, std::int64_t unit) { return ticks - ticks % unit; }

}  // namespace

const std::vector<time_value>* observation_group::values_of(std::string_view property) const noexcept {
  for (const property_values& pv : properties)
    if (pv.name == property) return &pv.values;
  return nullptr;
}

result<std::vector<observation_group>> make_observation_groups(const measurement_group& group,
                                                               std::int32_t period_interval) {
  std::vector<observation_group> out;

  if (period_interval == period_interval::correlation_id) {
    // CorrelationMeasurementObservationGroup: thrown lazily upstream, so not wrapped (§13.2).
    if (detail::is_blank(group.correlation_id))
      return mapping_error{"CorrelationIdNotDefinedException",
                           "Exception of type 'Microsoft.Health.Fhir.Ingest.Data.CorrelationIdNotDefinedException' was "
                           "thrown."};
    observation_group g;
    g.name = group.measure_type;
    g.id_segment = *group.correlation_id;
    bool first = true;
    for (const measurement* m : group.data) {
      add_measurement(g, *m);
      // Boundary keeps the raw DateTime (and its kind) of the earliest / latest measurement.
      if (first || m->occurrence_time.ticks < g.start.ticks) g.start = m->occurrence_time;
      if (first || m->occurrence_time.ticks > g.end.ticks) g.end = m->occurrence_time;
      first = false;
    }
    if (first) {  // no data: DateTime.MaxValue / MinValue as upstream's initial values
      g.start = {3'155'378'975'999'999'999, json::date_kind::unspecified};
      g.end = {0, json::date_kind::unspecified};
    }
    sort_values(g);
    out.push_back(std::move(g));
    return out;
  }

  std::int64_t unit = 0;
  switch (period_interval) {
    case period_interval::single:
      unit = 0;
      break;
    case period_interval::hourly:
      unit = ticks_per_hour;
      break;
    case period_interval::daily:
      unit = ticks_per_day;
      break;
    default:
      return mapping_error{"NotSupportedException", "ObservationPeriodInterval " + std::to_string(period_interval) +
                                                        " is not supported. (wrapped in FhirDataMappingException)"};
  }

  std::unordered_map<std::int64_t, std::size_t> by_start;
  for (const measurement* m : group.data) {
    // ToUniversalTime(): the instant is already UTC; the boundary is Utc-kind.
    const std::int64_t t = m->occurrence_time.ticks;
    const std::int64_t start = unit == 0 ? t : floor_to(t, unit);
    auto [it, inserted] = by_start.try_emplace(start, out.size());
    if (inserted) {
      observation_group g;
      g.name = group.measure_type;
      g.start = {start, json::date_kind::utc};
      g.end = {unit == 0 ? t : start + unit - 1, json::date_kind::utc};
      g.id_segment = time_segment(g.start, g.end);
      out.push_back(std::move(g));
    }
    add_measurement(out[it->second], *m);
  }
  for (observation_group& g : out) sort_values(g);
  return out;
}

}  // namespace iomt::mapping::fhir
