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

// Transient failures go back to the broker (modified: delivery-count + 1, redelivered); permanent
// ones are final (dead-lettered by the sink before this outcome arrives) and accepted.
void plan_settlement(const outcome& o, std::span<disposition> per_event) {
  if (o.refused) {
    std::fill(per_event.begin(), per_event.end(), disposition::modified_failed);
    return;
  }
  std::fill(per_event.begin(), per_event.end(), disposition::accepted);
  for (const auto& f : o.failures) {
    const auto i = static_cast<std::size_t>(f.index);
    if (i < per_event.size() && is_transient(f.cls)) per_event[i] = disposition::modified_failed;
  }
}

}  // namespace iomt::transport::amqp
