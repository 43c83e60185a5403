// The normalized-hub partition key (iomt-spec §4, expected A24): upstream
// DeterministicHashCodeGenerator over lower(DeviceId):
//   h = 0; for each UTF-16 code unit c: h = int32(31*h + c); key = abs(h) % range.
#pragma once

#include <climits>
#include <cstddef>
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

// The shard (0 <= shard < shards) whose thread groups and writes this device's measurements:
// partition_hash over the shard count, so a device lands where the upstream normalized hub would
// put it with as many partitions as shards, and ids differing only in letter case share a shard.
// Stable across runs, processes and replicas; spreads sequential and random ids evenly.
inline std::size_t shard_index(std::string_view device_id, std::size_t shards) noexcept {
  if (shards <= 1) return 0;
  const int range = shards > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(shards);
  return static_cast<std::size_t>(partition_hash(device_id, range));
}

}  // namespace iomt::mapping::device
