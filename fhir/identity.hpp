// Identity resolution (iomt-spec §11): which Patient / Device / Encounter logical ids the
// Observations of a measurement group refer to. Modes Lookup (default), Create and
// LookupWithEncounter, with the per-DeviceId cache (sliding 2 h, 5000 entries; nothing cached on
// failure).
//
// Errors (mapping_error types, handled = the group is dropped, §13.2):
//   FhirResourceNotFoundException (Device | Patient | Encounter; metric <Type>NotFoundException)
//   ResourceIdentityNotDefinedException (Patient in Create, Encounter in LookupWithEncounter)
//   MultipleResourceFoundException (metric Multiple<Type>FoundException)
//   PatientDeviceMismatchException
// and the client's errors (FhirClientException, HttpRequestException, ...), which are not.
#pragma once

#include "fhir/client.hpp"
#include "fhir/ttl_cache.hpp"
#include "mapping/fhir/identity_ids.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace iomt::fhir {

enum class identity_mode { lookup, create, lookup_with_encounter };

// "Lookup" | "Create" | "LookupWithEncounter", case-insensitive (ResourceIdentityServiceType).
std::optional<identity_mode> parse_identity_mode(std::string_view text);

struct identity_options {
  identity_mode mode = identity_mode::lookup;
  std::string device_identifier_system;  // ResourceIdentity:DefaultDeviceIdentifierSystem ("" = none)
  std::size_t cache_capacity = 5000;
  std::chrono::steady_clock::duration cache_ttl = std::chrono::hours(2);  // sliding
};

// The identity fields of a measurement group (mapping::fhir::measurement_group).
struct identity_request {
  std::string_view device_id;
  std::optional<std::string_view> patient_id;
  std::optional<std::string_view> encounter_id;
};

class identity_resolver {
public:
  identity_resolver(client& fhir, identity_options options)
      : client_(fhir), options_(std::move(options)), cache_(options_.cache_capacity, options_.cache_ttl, true) {}

  // Cached per DeviceId: the first group seen for a device fixes its patient/encounter for the
  // cache lifetime (upstream behaviour; docs recommend one device per patient).
  boost::asio::awaitable<mapping::result<mapping::fhir::resource_ids>> resolve(const identity_request& request);

  void clear_cache() { cache_.clear(); }
  std::size_t cache_size() const noexcept { return cache_.size(); }

private:
  boost::asio::awaitable<mapping::result<mapping::fhir::resource_ids>> lookup(const identity_request& request);
  boost::asio::awaitable<mapping::result<mapping::fhir::resource_ids>> create(const identity_request& request);
  // Search {type}?identifier=..: 0 -> nullopt, 1 -> it, >1 -> MultipleResourceFoundException.
  boost::asio::awaitable<mapping::result<std::optional<boost::json::object>>> find_one(std::string_view type,
                                                                                       std::string_view system,
                                                                                       std::string_view value);

  client& client_;
  identity_options options_;
  ttl_cache<mapping::fhir::resource_ids> cache_;
};

// True for null, empty or whitespace-only (string.IsNullOrWhiteSpace).
bool is_blank(std::optional<std::string_view> s) noexcept;

}  // namespace iomt::fhir
