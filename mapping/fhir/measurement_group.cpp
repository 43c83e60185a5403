#include "mapping/fhir/measurement_group.hpp"

#include <string_view>
#include <unordered_map>

namespace iomt::mapping::fhir {

namespace {

void append_key_part(std::string& key, const std::optional<std::string>& s) {
  key.push_back('-');
  if (s) key += *s;
}

// Nullable<DateTime> ordering: null is smallest.
bool later_ingestion(const std::optional<json::date_time>& a, const std::optional<json::date_time>& b) {
  if (!a) return false;
  if (!b) return true;
  return a->ticks > b->ticks;
}

struct group_state {
  measurement_group group;
  std::unordered_map<std::int64_t, std::size_t> slot_by_time;  // occurrence ticks -> index in data
};

}  // namespace

std::vector<measurement_group> group_measurements(std::span<const measurement> batch) {
  std::vector<group_state> states;
  std::unordered_map<std::string, std::size_t> by_key;
  std::string key;
  for (const measurement& m : batch) {
    key.assign(m.device_id);
    key.push_back('-');
    key += m.type;
    append_key_part(key, m.patient_id);
    append_key_part(key, m.encounter_id);
    append_key_part(key, m.correlation_id);
    auto [it, inserted] = by_key.try_emplace(key, states.size());
    if (inserted) {
      group_state s;
      s.group.measure_type = m.type;
      s.group.device_id = m.device_id;
      s.group.patient_id = m.patient_id;
      s.group.encounter_id = m.encounter_id;
      s.group.correlation_id = m.correlation_id;
      states.push_back(std::move(s));
    }
    group_state& s = states[it->second];
    auto [slot, fresh] = s.slot_by_time.try_emplace(m.occurrence_time.ticks, s.group.data.size());
    if (fresh)
      s.group.data.push_back(&m);
    else if (later_ingestion(m.ingestion_time, s.group.data[slot->second]->ingestion_time))
      s.group.data[slot->second] = &m;
  }
  std::vector<measurement_group> out;
  out.reserve(states.size());
  for (group_state& s : states) {
    // Identity of the first kept measurement: it only differs from the first one seen when '-'
    // inside ids aliased two keys and that first timestamp was replaced.
    const measurement& first = *s.group.data.front();
    if (first.device_id != s.group.device_id) s.group.device_id = first.device_id;
    if (first.type != s.group.measure_type) s.group.measure_type = first.type;
    if (first.patient_id != s.group.patient_id) s.group.patient_id = first.patient_id;
    if (first.encounter_id != s.group.encounter_id) s.group.encounter_id = first.encounter_id;
    if (first.correlation_id != s.group.correlation_id) s.group.correlation_id = first.correlation_id;
    out.push_back(std::move(s.group));
  }
  return out;
}

std::vector<std::vector<std::size_t>> partition_by_device(std::span<const measurement_group> groups) {
  std::vector<std::vector<std::size_t>> out;
  std::unordered_map<std::string_view, std::size_t> by_device;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto [it, inserted] = by_device.try_emplace(groups[i].device_id, out.size());
    if (inserted) out.emplace_back();
    out[it->second].push_back(i);
  }
  return out;
}

}  // namespace iomt::mapping::fhir
