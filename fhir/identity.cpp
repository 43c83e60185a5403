#include "fhir/identity.hpp"

#include "fhir/errors.hpp"
#include "fhir/reference.hpp"
#include "fhir/retry.hpp"
#include "fhir/search.hpp"

#include <boost/json/array.hpp>

#include <cctype>

namespace iomt::fhir {

namespace asio = boost::asio;
using mapping::fhir::resource_ids;

namespace {

std::string query_text(std::string_view type, std::string_view system, std::string_view value) {
  std::string q(type);
  q += "?identifier=";
  if (!system.empty()) {
    q += system;
    q += '|';
  }
  q += value;
  return "(" + q + ")";
}

// Device.patient.reference, if any.
const boost::json::value* patient_member(const boost::json::object& device) { return device.if_contains("patient"); }

std::optional<std::string> linked_patient(const boost::json::object& device) {
  const auto* p = patient_member(device);
  if (!p || !p->is_object()) return std::nullopt;
  return reference_id(string_member(p->get_object(), "reference"), "Patient");
}

}  // namespace

bool is_blank(std::optional<std::string_view> s) noexcept {
  if (!s) return true;
  for (char c : *s)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

std::optional<identity_mode> parse_identity_mode(std::string_view text) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "lookup") return identity_mode::lookup;
  if (t == "create") return identity_mode::create;
  if (t == "lookupwithencounter") return identity_mode::lookup_with_encounter;
  return std::nullopt;
}

asio::awaitable<mapping::result<std::optional<boost::json::object>>> identity_resolver::find_one(
    std::string_view type, std::string_view system, std::string_view value) {
  auto found = co_await client_.search_identifier(type, system, value);
  if (!found) co_return found.error();
  if (found->size() > 1) co_return multiple_found(type, found->size(), query_text(type, system, value));
  if (found->empty()) co_return std::optional<boost::json::object>{};
  co_return std::optional<boost::json::object>(std::move(found->front()));
}

// Lookup (iomt-spec §11): Device by identifier, Patient from Device.patient, Encounter by
// identifier value when the group has one. The message's PatientId is not used.
asio::awaitable<mapping::result<resource_ids>> identity_resolver::lookup(const identity_request& request) {
  const std::string& system = options_.device_identifier_system;
  auto device = co_await find_one("Device", system, request.device_id);
  if (!device) co_return device.error();
  if (!*device) co_return not_found("Device", query_text("Device", system, request.device_id));
  resource_ids ids;
  ids.device = std::string(string_member(**device, "id"));
  auto patient = linked_patient(**device);
  if (!patient)
    co_return not_found("Patient", "(Device/" + ids.device + " has no patient reference of the form Patient/<id>)");
  ids.patient = std::move(*patient);
  if (!is_blank(request.encounter_id)) {
    auto encounter = co_await find_one("Encounter", {}, *request.encounter_id);
    if (!encounter) co_return encounter.error();
    if (!*encounter) co_return not_found("Encounter", query_text("Encounter", {}, *request.encounter_id));
    ids.encounter = std::string(string_member(**encounter, "id"));
  }
  co_return ids;
}

// Create (iomt-spec §11): Lookup; when the Device or its Patient is missing, ensure both
// (PUT to the deterministic ids of §10) and link them.
asio::awaitable<mapping::result<resource_ids>> identity_resolver::create(const identity_request& request) {
  auto looked_up = co_await lookup(request);
  if (looked_up) co_return looked_up;
  const auto missing = error_resource_type(looked_up.error());
  if (looked_up.error().type != resource_not_found_exception || (missing != "Device" && missing != "Patient"))
    co_return looked_up.error();
  if (is_blank(request.patient_id))
    co_return identity_not_defined("Patient", "(device '" + std::string(request.device_id) +
                                                  "': Create identity mode needs the measurement's patient id)");
  const std::string_view patient_identifier = *request.patient_id;

  // Ensure Patient: search identifier=<patientId> (any system), else PUT Patient/<sha256("_"+id)>.
  auto patient = co_await find_one("Patient", {}, patient_identifier);
  if (!patient) co_return patient.error();
  if (!*patient) {
    boost::json::object p{{"resourceType", "Patient"},
                          {"id", mapping::fhir::create_patient_id(patient_identifier)},
                          {"identifier", boost::json::array{boost::json::object{{"value", patient_identifier}}}}};
    const std::string path = "PUT Patient/" + std::string(string_member(p, "id"));
    auto put = co_await client_.put(std::move(p));
    if (!put) co_return put.error();
    if (put->conflict) co_return client_error(path, "version conflict", mapping::failure_class::transient);
    *patient = std::move(put->resource);
  }
  const std::string patient_id(string_member(**patient, "id"));

  // Ensure Device: search with the default system, else PUT Device/<sha256(system+"_"+id)>.
  const std::string& system = options_.device_identifier_system;
  auto device = co_await find_one("Device", system, request.device_id);
  if (!device) co_return device.error();
  if (!*device) {
    boost::json::object identifier;
    if (!system.empty()) identifier["system"] = system;
    identifier["value"] = request.device_id;
    boost::json::object d{{"resourceType", "Device"},
                          {"id", mapping::fhir::create_device_id(system, request.device_id)},
                          {"identifier", boost::json::array{std::move(identifier)}},
                          {"patient", boost::json::object{{"reference", make_reference("Patient", patient_id)}}}};
    const std::string path = "PUT Device/" + std::string(string_member(d, "id"));
    auto put = co_await client_.put(std::move(d));
    if (!put) co_return put.error();
    if (put->conflict) co_return client_error(path, "version conflict", mapping::failure_class::transient);
    *device = std::move(put->resource);
  } else if (!patient_member(**device)) {
    // An existing device without a patient: link it (If-Match on its version).
    const std::string version(version_id(**device));
    const std::string path = "PUT Device/" + std::string(string_member(**device, "id"));
    boost::json::object d = std::move(**device);
    d["patient"] = boost::json::object{{"reference", make_reference("Patient", patient_id)}};
    auto put = co_await client_.put(std::move(d), version);
    if (!put) co_return put.error();
    if (put->conflict)
      co_return client_error(path,
                             status_text(put->status) + ": the device changed while it was being linked to its patient",
                             mapping::failure_class::transient);
    *device = std::move(put->resource);
  } else if (linked_patient(**device) != patient_id) {
    std::string ref;
    if (const auto* p = patient_member(**device); p && p->is_object())
      ref = string_member(p->get_object(), "reference");
    co_return patient_device_mismatch("Device/" + std::string(string_member(**device, "id")) + " (identifier '" +
                                      std::string(request.device_id) + "') is linked to '" + ref +
                                      "', not to Patient/" + patient_id + " (identifier '" +
                                      std::string(patient_identifier) + "').");
  }
  co_return resource_ids{patient_id, std::string(string_member(**device, "id")), std::nullopt};
}

asio::awaitable<mapping::result<resource_ids>> identity_resolver::resolve(const identity_request& request) {
  const auto now = std::chrono::steady_clock::now();
  if (const resource_ids* hit = cache_.find(request.device_id, now)) co_return *hit;
  mapping::result<resource_ids> r;
  switch (options_.mode) {
    case identity_mode::lookup:
      r = co_await lookup(request);
      break;
    case identity_mode::create:
      r = co_await create(request);
      break;
    case identity_mode::lookup_with_encounter:
      r = co_await lookup(request);
      if (r && is_blank(request.encounter_id))
        r = identity_not_defined("Encounter", "(device '" + std::string(request.device_id) +
                                                  "': LookupWithEncounter needs the measurement's encounter id)");
      break;
  }
  if (r) cache_.put(std::string(request.device_id), *r, std::chrono::steady_clock::now());
  co_return r;
}

}  // namespace iomt::fhir
