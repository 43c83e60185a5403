#include "transport/amqp/settlement.hpp"

#include <algorithm>

namespace iomt::transport::amqp {

const char* to_string(disposition d) noexcept {
  switch (d) {
    case disposition::accepted:
      return "accepted";
    case disposition::released:
      return "released";
    case disposition::modified_failed:
      return "modified";
    case disposition::rejected:
      return "rejected";
  }
  return "?";
}

namespace {

// Failures of a transient type (FHIR server unreachable, token errors) go back to the broker
// (modified: delivery-count + 1, redelivered); every other failure is final (dead-lettered by the
// sink before this outcome arrives) and accepted.
void mark_transient(const outcome& o, std::span<disposition> per_event, const std::vector<std::string>& types) {
  for (const auto& f : o.failures) {
    const auto i = static_cast<std::size_t>(f.index);
    if (i < per_event.size() && std::find(types.begin(), types.end(), f.type) != types.end())
      per_event[i] = disposition::modified_failed;
  }
}

}  // namespace

void plan_settlement(const outcome& o, std::span<disposition> per_event,
                     const std::vector<std::string>& redeliver_types) {
  if (o.refused) {
    std::fill(per_event.begin(), per_event.end(), disposition::modified_failed);
    return;
  }
  std::fill(per_event.begin(), per_event.end(), disposition::accepted);
  mark_transient(o, per_event, redeliver_types);
}

}  // namespace iomt::transport::amqp
