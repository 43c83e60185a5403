#include "transport/amqp/settlement.hpp"

#include <algorithm>

namespace iomt::transport::amqp {

const char* to_string(disposition d) noexcept {
  switch (d) {
    case disposition::accepted: return "accepted";
    case disposition::released: return "released";
    case disposition::modified_failed: return "modified";
    case disposition::rejected: return "rejected";
  }
  return "?";
}

namespace {

// transport::outcome may grow per-event failures and a `refused` flag (proposed by the durable
// buffer, iomt issue 4). Use them when they exist; today's outcome (events, failed) means every
// event is final -> accepted.
template <class O>
bool refused(const O& o) {
  if constexpr (requires { o.refused; }) {
    return static_cast<bool>(o.refused);
  } else {
    return false;
  }
}

template <class O>
void mark_transient(const O& o, std::span<disposition> per_event, const std::vector<std::string>& types) {
  if constexpr (requires { o.failures.front().index; o.failures.front().type; }) {
    for (const auto& f : o.failures) {
      const auto i = static_cast<std::size_t>(f.index);
      if (i < per_event.size() && std::find(types.begin(), types.end(), f.type) != types.end())
        per_event[i] = disposition::modified_failed;
    }
  } else {
    (void)o;
    (void)per_event;
    (void)types;
  }
}

}  // namespace

void plan_settlement(const outcome& o, std::span<disposition> per_event, const std::vector<std::string>& redeliver_types) {
  if (refused(o)) {
    std::fill(per_event.begin(), per_event.end(), disposition::modified_failed);
    return;
  }
  std::fill(per_event.begin(), per_event.end(), disposition::accepted);
  mark_transient(o, per_event, redeliver_types);
}

}  // namespace iomt::transport::amqp
