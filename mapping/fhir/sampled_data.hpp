// SampledData.data streams: build, parse back, merge (iomt-spec §8.2, §8.3, §9 step 4;
// upstream Data/SampledDataProcessor.cs). Exact slot arithmetic in 100 ns ticks.
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/observation_group.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::fhir {

// The largest number of slots one stream may have. Upstream has no limit (a daily Observation
// with a 1 ms period has 86.4 M slots); we refuse more than this instead of exhausting memory.
inline constexpr std::int64_t max_sampled_data_slots = 50'000'000;

// DateTime.AddMilliseconds(double) as .NET 7+ computes it: the integral milliseconds plus the
// fraction truncated to whole ticks (on .NET 6 the increment was rounded to whole milliseconds;
// identical for integral periods, iomt-spec §8.3). Fails like .NET outside 0001..9999.
result<std::int64_t> add_milliseconds(std::int64_t ticks, double milliseconds);

// BuildSampledData(values sorted by time, start, end, period ms) (iomt-spec §8.2): slot k covers
// [start + k·p, start + (k+1)·p) while its start <= end; the last value of a slot wins, an empty
// slot is "E"; values after `end` are dropped; tokens joined by ' ' and TrimEnd()-ed.
// Errors: ArgumentOutOfRangeException when a slot time leaves the DateTime range,
// OutOfMemoryException when the period does not advance time (upstream loops forever) or the
// stream would exceed max_sampled_data_slots.
result<std::string> build_sampled_data(std::span<const time_value> values, std::int64_t start_ticks,
                                       std::int64_t end_ticks, double period_ms);

// SampledDataToTimeValues(stream, start, period): token k (split on single spaces) gets the time
// start + k·p; "E" tokens are dropped. Values view into `stream`. A blank stream is
// ArgumentException (as upstream's EnsureArg).
result<std::vector<time_value>> sampled_data_to_time_values(std::string_view stream, std::int64_t start_ticks,
                                                            double period_ms);

// MergeData(existing, incoming): both sorted by time; interleaved by time, and on equal times the
// incoming value replaces the existing one (iomt-spec §9, expected C9).
std::vector<time_value> merge_data(std::span<const time_value> existing, std::span<const time_value> incoming);

}  // namespace iomt::mapping::fhir
