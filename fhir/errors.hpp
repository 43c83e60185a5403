// Errors of the FHIR side, as mapping::mapping_error values carrying the upstream exception
// names (iomt-spec §11, §12, §13.2, §14; STYLE habit 5, 6).
#pragma once

#include "mapping/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace iomt::fhir {

// Upstream names (type field of mapping_error).
inline constexpr std::string_view resource_not_found_exception = "FhirResourceNotFoundException";
inline constexpr std::string_view identity_not_defined_exception = "ResourceIdentityNotDefinedException";
inline constexpr std::string_view multiple_found_exception = "MultipleResourceFoundException";
inline constexpr std::string_view patient_device_mismatch_exception = "PatientDeviceMismatchException";
// Our names for failures upstream surfaced as .NET / SDK exceptions (unhandled -> retried, §13.2):
inline constexpr std::string_view fhir_client_exception = "FhirClientException";               // HTTP error status
inline constexpr std::string_view http_request_exception = "HttpRequestException";             // network / TLS
inline constexpr std::string_view authentication_exception = "AuthenticationFailedException";  // token endpoint

// "Fhir resource of type Device not found." + detail (FhirResourceNotFoundException, §11).
mapping::mapping_error not_found(std::string_view resource_type, std::string_view detail = {});
// ResourceIdentityNotDefinedException(Patient|Encounter), §11.
mapping::mapping_error identity_not_defined(std::string_view resource_type, std::string_view detail = {});
// "Multiple resources 2 of type Device found, expected one" (MultipleResourceFoundException<T>).
mapping::mapping_error multiple_found(std::string_view resource_type, std::size_t count, std::string_view detail = {});
mapping::mapping_error patient_device_mismatch(std::string_view message);
// The class of an HTTP error status, decided here once (issue 12): 429 and 503 throttled; 408 and
// other 5xx except 501/505 transient; 401/403 blocked (our credentials: an operator must act);
// every other status permanent (the server refuses this resource).
mapping::failure_class status_class(unsigned status) noexcept;

// A FHIR error: "<what> failed: 400 Bad Request: <OperationOutcome text>". Permanent unless told.
mapping::mapping_error client_error(std::string_view what, std::string_view cause,
                                    mapping::failure_class cls = mapping::failure_class::permanent);
// An error status answered to `what`, classified by status_class.
mapping::mapping_error status_error(std::string_view what, unsigned status, std::string_view cause);
// No response (network, TLS, timeout): transient unless told (TLS verification: blocked).
mapping::mapping_error network_error(std::string_view what, std::string_view cause,
                                     mapping::failure_class cls = mapping::failure_class::transient);
// No access token: the token endpoint unreachable or failing (transient) or refusing our
// credentials (blocked). Never the event's fault.
mapping::mapping_error authentication_error(std::string_view cause,
                                            mapping::failure_class cls = mapping::failure_class::transient);

// The metric / error name of §14: DeviceNotFoundException, PatientIdentityNotDefinedException,
// MultipleDeviceFoundException, ...; other errors: their type.
std::string metric_name(const mapping::mapping_error& e);

// The resource type named by a FhirResourceNotFoundException / ResourceIdentityNotDefinedException
// / MultipleResourceFoundException message ("Device", "Patient", ...); empty otherwise.
std::string_view error_resource_type(const mapping::mapping_error& e);

}  // namespace iomt::fhir
