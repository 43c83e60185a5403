// One identity resolution (iomt-spec §11) as the sequence of FHIR requests it needs, one at a time
// (sans-io, STYLE habit 1). identity_resolver drives one flow per device of a flush, all of them
// together, so that the lookups (and the creates of Create mode) of a whole flush go out in batch
// Bundles (write_plan.hpp); a single resolve() drives one flow with single requests.
//
// Steps and errors, in the order MedTech reports them:
//   Lookup:  GET Device?identifier=[system|]deviceId      >1 MultipleResourceFoundException(Device)
//                                                          0 FhirResourceNotFoundException(Device)
//            Device.patient = Patient/<id>                 else FhirResourceNotFoundException(Patient)
//            GET Encounter?identifier=encounterId (when the group has one)
//                                                          >1 Multiple..(Encounter), 0 ..NotFound..(Encounter)
//   LookupWithEncounter: Lookup, then ResourceIdentityNotDefinedException(Encounter) when blank.
//   Create:  Lookup; a Device or Patient not found continues, any other error stands;
//            patient id blank                              ResourceIdentityNotDefinedException(Patient)
//            GET Patient?identifier=patientId             >1 Multiple..(Patient); 0 -> PUT Patient/<sha256>
//            the Device of the lookup (the same search):  none -> PUT Device/<sha256> linked to the patient;
//                                                          no patient -> PUT with If-Match, linked;
//                                                          another patient -> PatientDeviceMismatchException
// plus the request failures themselves (FhirClientException, HttpRequestException, ...).
// Create mode reuses the Device found (or not) by its lookup instead of searching it a second time:
// nothing between the two searches changes Devices.
#pragma once

#include "fhir/write_plan.hpp"
#include "mapping/fhir/identity_ids.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace iomt::fhir {

enum class identity_mode { lookup, create, lookup_with_encounter };

// "Lookup" | "Create" | "LookupWithEncounter", case-insensitive (ResourceIdentityServiceType).
std::optional<identity_mode> parse_identity_mode(std::string_view text);
// "Lookup" | "Create" | "LookupWithEncounter".
const char* to_string(identity_mode mode) noexcept;

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

// True for null, empty or whitespace-only (string.IsNullOrWhiteSpace).
bool is_blank(std::optional<std::string_view> s) noexcept;

class identity_flow {
public:
  // Both must outlive the flow.
  identity_flow(const identity_options& options, const identity_request& request);

  bool done() const noexcept { return step_ == step::done; }
  // The request to send next (!done()): a GET search, answered with on_search(), or a PUT,
  // answered with on_write().
  const plan_request& request() const noexcept { return request_; }
  bool searching() const noexcept { return request_.method == boost::beast::http::verb::get; }
  // The complete result of the search (every page), or why it failed.
  void on_search(mapping::result<std::vector<boost::json::object>> found);
  void on_write(const write_fold& written);

  // done(): the logical ids, or the first error in MedTech's order.
  const mapping::result<mapping::fhir::resource_ids>& result() const noexcept { return result_; }

private:
  enum class step { device, encounter, patient_search, patient_put, device_put, device_link, done };

  void search(step s, std::string_view type, std::string_view system, std::string_view value);
  void put(step s, boost::json::object resource, std::string if_match_version = {});
  void finish(mapping::result<mapping::fhir::resource_ids> r);
  void lookup_done(mapping::result<mapping::fhir::resource_ids> r);  // Lookup's outcome -> the mode's next step
  void ensure_device();                                              // Create, once the patient is known

  const identity_options& options_;
  const identity_request& in_;
  step step_ = step::device;
  plan_request request_;
  std::string query_;  // "(Device?identifier=...)" of the current search, for messages
  mapping::fhir::resource_ids ids_;
  std::optional<boost::json::object> device_;  // the Device found by the lookup
  std::string patient_id_;                     // Create: the ensured Patient's id
  mapping::result<mapping::fhir::resource_ids> result_ = mapping::fhir::resource_ids{};
};

}  // namespace iomt::fhir
