// Grouping one batch of normalized measurements into MeasurementGroups (iomt-spec §5).
#pragma once

#include "mapping/measurement.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace iomt::mapping::fhir {

// MeasurementGroup: the identity fields of its first kept measurement plus the kept measurements.
// `data` points into the batch given to group_measurements, which must outlive the group.
struct measurement_group {
  std::string measure_type;
  std::string device_id;
  std::optional<std::string> patient_id;
  std::optional<std::string> encounter_id;
  std::optional<std::string> correlation_id;
  std::vector<const measurement*> data;
};

// Groups a batch (iomt-spec §5):
// - key "{DeviceId}-{Type}-{PatientId}-{EncounterId}-{CorrelationId}" (null -> "", ordinal,
//   case-sensitive; '-' inside ids can alias two keys, as upstream);
// - groups in order of first appearance;
// - inside a group, measurements with tick-equal OccurrenceTimeUtc are reduced to the one with the
//   greatest IngestionTimeUtc (null smallest, ties -> first in batch order); the kept one takes the
//   position where that timestamp first appeared.
std::vector<measurement_group> group_measurements(std::span<const measurement> batch);

// The work split of the FHIR stage (iomt-spec §5 item 5, expected B2): group indices per DeviceId,
// devices in order of first appearance, groups of one device in batch order. Each inner list runs
// sequentially; different devices may run in parallel.
std::vector<std::vector<std::size_t>> partition_by_device(std::span<const measurement_group> groups);

}  // namespace iomt::mapping::fhir
