// Deterministic identifiers and ids (iomt-spec §8.1, §10): the Observation identifier, the
// Observation id, and the ids Create identity mode gives to new Device and Patient resources.
#pragma once

#include "mapping/fhir/observation_group.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace iomt::mapping::fhir {

// FhirImportService.ServiceSystem.
inline constexpr std::string_view service_system = "https://azure.microsoft.com/en-us/services/iomt-fhir-connector/";

// Logical ids resolved by identity resolution (iomt-spec §11).
struct resource_ids {
  std::string patient;
  std::string device;
  std::optional<std::string> encounter;
};

struct observation_identifier {
  std::string system;
  std::string value;
};

// Lower-case hex SHA-256 of the UTF-8 bytes (SHA256HashGenerator).
std::string sha256_hex(std::string_view text);

// {system: service system, value: "{patientId}.{deviceId}.{groupName}.{idSegment}"}.
observation_identifier make_identifier(const resource_ids& ids, const observation_group& group);

// Observation.id = sha256_hex(system + "_" + value) (IdentifierExtensions.ComputeHashForIdentifier).
std::string observation_id(const observation_identifier& identifier);

// Create mode: Device id = sha256_hex(system + "_" + deviceId) ("" when no
// DefaultDeviceIdentifierSystem), Patient id = sha256_hex("_" + patientId) (expected D2).
std::string create_device_id(std::string_view system, std::string_view device_identifier);
std::string create_patient_id(std::string_view patient_identifier);

}  // namespace iomt::mapping::fhir
