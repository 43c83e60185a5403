// The normalized-hub partition key (iomt-spec §4, expected A24): upstream
// DeterministicHashCodeGenerator over lower(DeviceId):
//   h = 0; for each UTF-16 code unit c: h = int32(31*h + c); key = abs(h) % range.
#pragma once

#include <cstdint>
#include <string_view>

namespace iomt::mapping::device {

// The raw generator over the UTF-16 code units of `utf8` (no case change), in [0, range);
// -1 when range <= 0 (upstream: ArgumentOutOfRangeException).
int hash_code(std::string_view utf8, int range = 256) noexcept;

// The partition key of a measurement: hash_code(device_id lower-cased the way .NET's
// ToLowerInvariant does for ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic and full-width
// letters). The decimal text of the result is the Event Hubs partition key.
int partition_hash(std::string_view device_id, int range = 256) noexcept;

}  // namespace iomt::mapping::device
