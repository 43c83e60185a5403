// The event envelope templates are evaluated against (iomt-spec §2):
// {"Body": <parsed body or null>, "Properties": {...}, "SystemProperties": {...}}, in that order.
#pragma once

#include "mapping/json/value.hpp"

namespace iomt::json {

// properties / system_properties must be objects (or null, taken as {}).
value make_envelope(value body, value properties, value system_properties, arena& a);

}  // namespace iomt::json
