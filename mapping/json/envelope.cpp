// The event envelope (iomt-spec §2, EventMessageJObjectConverter): Body, Properties,
// SystemProperties, in that order.
#include "mapping/json/envelope.hpp"

#include <array>

namespace iomt::json {

value make_envelope(value body, value properties, value system_properties, arena& a) {
  // Keys are string literals: static storage outlives any arena.
  std::array<member, 3> members{{
      {"Body", body},
      {"Properties", properties.is_null() ? value::object_ref({}) : properties},
      {"SystemProperties", system_properties.is_null() ? value::object_ref({}) : system_properties},
  }};
  return a.object(members);
}

}  // namespace iomt::json
