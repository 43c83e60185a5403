#include "pipeline/trace/event_trace.hpp"

#include <algorithm>

namespace iomt::pipeline::trace {

namespace {

// Fixed overheads so a record of empty strings still counts (the deque slot, vectors' elements).
constexpr std::size_t record_overhead = sizeof(event_record);
constexpr std::size_t element_overhead = 48;

std::size_t size_of(const error_brief& e) noexcept {
  return element_overhead + e.stage.size() + e.type.size() + e.message.size();
}

std::size_t size_of(const group_brief& g) noexcept {
  std::size_t n = sizeof(group_brief) + g.type.size() + g.device_id.size() + g.patient.size() + g.device.size() +
                  (g.encounter ? g.encounter->size() : 0);
  for (const auto& o : g.observations) n += element_overhead + o.id.size() + o.operation.size();
  for (const auto& e : g.errors) n += size_of(e);
  return n;
}

// A moved-in string keeps the capacity it had (a reused read buffer, a request body reserved for
// its Content-Length): keep only what it holds when that wastes much, so the byte bound is memory.
void fit(std::string& s) {
  if (s.capacity() > 2 * s.size() + 64) s.shrink_to_fit();
}

}  // namespace

std::string_view to_string(event_status s) noexcept {
  switch (s) {
    case event_status::pending:
      return "pending";
    case event_status::written:
      return "written";
    case event_status::no_measurements:
      return "no measurements";
    case event_status::failed:
      return "failed";
  }
  return "pending";
}

std::size_t event_trace::size_of(const event_record& r) noexcept {
  // Capacity, not size: what the record really holds in memory.
  // A request id shared by a batch's events counts in each (a bound, not an exact figure).
  std::size_t n = record_overhead + r.source.size() + r.partition_key.size() + r.properties.capacity() +
                  r.system_properties.capacity() + r.body.capacity() + (r.request_id ? r.request_id->size() : 0);
  for (const auto& d : r.devices) n += element_overhead + d.size();
  for (const auto& m : r.measurements)
    n += sizeof(measurement_brief) + m.type.size() + m.device_id.size() + (m.patient_id ? m.patient_id->size() : 0) +
         (m.encounter_id ? m.encounter_id->size() : 0);
  for (const auto& g : r.groups) n += trace::size_of(g);
  for (const auto& e : r.errors) n += trace::size_of(e);
  if (r.outcome) n += trace::size_of(*r.outcome);
  return n;
}

event_trace::event_trace(trace_options options) : options_(options) {
  if (options_.max_events == 0) options_.max_events = 1;
}

event_record* event_trace::locate(std::uint64_t id) {
  if (records_.empty() || id < records_.front().id || id > records_.back().id) return nullptr;
  return &records_[static_cast<std::size_t>(id - records_.front().id)];
}

void event_trace::evict() {
  // The newest record stays even when it alone is over max_bytes (its body is cut to a quarter).
  while (!records_.empty() &&
         (records_.size() > options_.max_events || (bytes_ > options_.max_bytes && records_.size() > 1))) {
    bytes_ -= records_.front().bytes;
    records_.pop_front();
    ++evicted_;
  }
}

std::uint64_t event_trace::add(std::span<event_record> records) {
  if (!options_.enabled || records.empty()) return 0;
  const std::size_t cap = max_body_bytes();
  for (auto& r : records) {
    if (r.body_bytes == 0) r.body_bytes = r.body.size();
    if (r.body.size() > cap) {
      r.body.resize(cap);
      r.body_truncated = true;
    }
    fit(r.body);
    fit(r.properties);
    fit(r.system_properties);
    r.bytes = size_of(r);
  }
  std::lock_guard lock(mutex_);
  const std::uint64_t first = next_id_;
  for (auto& r : records) {
    r.id = next_id_++;
    bytes_ += r.bytes;
    records_.push_back(std::move(r));
  }
  evict();
  return first;
}

void event_trace::add_groups(std::span<group_update> updates) {
  if (!options_.enabled || updates.empty()) return;
  std::lock_guard lock(mutex_);
  for (auto& u : updates) {
    event_record* r = locate(u.id);
    if (!r) continue;
    const std::size_t before = r->bytes;
    if (r->groups.size() < event_record::max_groups) {
      r->groups.push_back(std::move(u.group));
    } else {
      ++r->groups_omitted;
    }
    r->bytes = size_of(*r);
    bytes_ += r->bytes - before;
  }
  evict();
}

void event_trace::add_error(std::uint64_t id, error_brief error) {
  if (!options_.enabled) return;
  std::lock_guard lock(mutex_);
  event_record* r = locate(id);
  if (!r || r->errors.size() >= event_record::max_errors) return;
  const std::size_t before = r->bytes;
  r->errors.push_back(std::move(error));
  r->bytes = size_of(*r);
  bytes_ += r->bytes - before;
  evict();
}

void event_trace::complete(std::span<const completion_update> updates) {
  if (!options_.enabled || updates.empty()) return;
  std::lock_guard lock(mutex_);
  for (const auto& u : updates) {
    event_record* r = locate(u.id);
    if (!r) continue;
    const std::size_t before = r->bytes;
    r->outcome = u.failure;
    r->status = u.failure                   ? event_status::failed
                : r->measurement_count == 0 ? event_status::no_measurements
                                            : event_status::written;
    r->bytes = size_of(*r);
    bytes_ += r->bytes - before;
  }
  evict();
}

std::vector<event_record> event_trace::query(std::string_view device, std::size_t limit,
                                             std::string_view request) const {
  std::vector<event_record> out;
  if (limit == 0) return out;
  std::lock_guard lock(mutex_);
  for (auto it = records_.rbegin(); it != records_.rend() && out.size() < limit; ++it) {
    const bool match = (device.empty() || it->partition_key == device ||
                        std::find(it->devices.begin(), it->devices.end(), device) != it->devices.end()) &&
                       (request.empty() || (it->request_id && *it->request_id == request));
    if (match) out.push_back(*it);
  }
  return out;
}

std::optional<event_record> event_trace::find(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  if (records_.empty() || id < records_.front().id || id > records_.back().id) return std::nullopt;
  return records_[static_cast<std::size_t>(id - records_.front().id)];
}

trace_stats event_trace::stats() const {
  std::lock_guard lock(mutex_);
  return {records_.size(), bytes_, next_id_ - 1, evicted_};
}

}  // namespace iomt::pipeline::trace
