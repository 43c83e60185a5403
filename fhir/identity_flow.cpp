#include "fhir/identity_flow.hpp"

#include "fhir/errors.hpp"
#include "fhir/reference.hpp"
#include "fhir/retry.hpp"
#include "fhir/search.hpp"

#include <boost/json/array.hpp>

#include <cctype>

namespace iomt::fhir {

using mapping::fhir::resource_ids;

namespace {

// "(Device?identifier=system|value)": the query as MedTech's messages show it (not URL-encoded).
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

// Device.patient, if any.
const boost::json::value* patient_member(const boost::json::object& device) { return device.if_contains("patient"); }

std::optional<std::string> linked_patient(const boost::json::object& device) {
  const auto* p = patient_member(device);
  if (!p || !p->is_object()) return std::nullopt;
  return reference_id(string_member(p->get_object(), "reference"), "Patient");
}

// The id of what the server answered, or of what we sent when it answered without a body.
std::string written_id(const write_fold& written, const plan_request& sent) {
  if (written.resource) return std::string(string_member(*written.resource, "id"));
  return sent.resource ? std::string(string_member(*sent.resource, "id")) : std::string();
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

const char* to_string(identity_mode mode) noexcept {
  switch (mode) {
    case identity_mode::lookup:
      return "Lookup";
    case identity_mode::create:
      return "Create";
    case identity_mode::lookup_with_encounter:
      return "LookupWithEncounter";
  }
  return "Lookup";
}

identity_flow::identity_flow(const identity_options& options, const identity_request& request)
    : options_(options), in_(request) {
  // Lookup step 1: the Device by identifier (with the default system).
  search(step::device, "Device", options_.device_identifier_system, in_.device_id);
}

void identity_flow::search(step s, std::string_view type, std::string_view system, std::string_view value) {
  step_ = s;
  request_ = plan_request{};
  request_.url = identifier_query(type, system, value);
  request_.key = request_.url;
  query_ = query_text(type, system, value);
}

void identity_flow::put(step s, boost::json::object resource, std::string if_match_version) {
  step_ = s;
  request_ = plan_request{};
  request_.method = boost::beast::http::verb::put;
  request_.url =
      std::string(string_member(resource, "resourceType")) + "/" + std::string(string_member(resource, "id"));
  request_.key = request_.url;
  request_.resource = std::move(resource);
  request_.if_match_version = std::move(if_match_version);
}

void identity_flow::finish(mapping::result<resource_ids> r) {
  step_ = step::done;
  result_ = std::move(r);
}

void identity_flow::on_search(mapping::result<std::vector<boost::json::object>> found) {
  const std::string_view type = step_ == step::device ? "Device" : step_ == step::encounter ? "Encounter" : "Patient";
  mapping::result<std::optional<boost::json::object>> one = std::optional<boost::json::object>{};
  if (!found)
    one = found.error();
  else if (found->size() > 1)
    one = multiple_found(type, found->size(), query_);
  else if (found->size() == 1)
    one = std::optional<boost::json::object>(std::move(found->front()));

  switch (step_) {
    case step::device: {
      if (!one) return lookup_done(one.error());
      if (!*one) return lookup_done(not_found("Device", query_));
      device_ = std::move(**one);
      ids_.device = std::string(string_member(*device_, "id"));
      auto patient = linked_patient(*device_);
      if (!patient)
        return lookup_done(
            not_found("Patient", "(Device/" + ids_.device + " has no patient reference of the form Patient/<id>)"));
      ids_.patient = std::move(*patient);
      if (is_blank(in_.encounter_id)) return lookup_done(ids_);
      return search(step::encounter, "Encounter", {}, *in_.encounter_id);
    }
    case step::encounter: {
      if (!one) return lookup_done(one.error());
      if (!*one) return lookup_done(not_found("Encounter", query_));
      ids_.encounter = std::string(string_member(**one, "id"));
      return lookup_done(ids_);
    }
    case step::patient_search: {
      if (!one) return finish(one.error());
      if (*one) {
        patient_id_ = std::string(string_member(**one, "id"));
        return ensure_device();
      }
      const std::string_view patient_identifier = *in_.patient_id;
      return put(
          step::patient_put,
          boost::json::object{{"resourceType", "Patient"},
                              {"id", mapping::fhir::create_patient_id(patient_identifier)},
                              {"identifier", boost::json::array{boost::json::object{{"value", patient_identifier}}}}});
    }
    default:
      return finish(client_error(describe(request_), "a search answer to a write", mapping::failure_class::transient));
  }
}

void identity_flow::on_write(const write_fold& written) {
  const std::string path = describe(request_);
  if (written.kind == write_kind::failed)
    return finish(written.error.value_or(client_error(path, "no answer", mapping::failure_class::transient)));
  switch (step_) {
    case step::patient_put:
      if (written.kind == write_kind::conflict)
        return finish(client_error(path, "version conflict", mapping::failure_class::transient));
      patient_id_ = written_id(written, request_);
      return ensure_device();
    case step::device_put:
      if (written.kind == write_kind::conflict)
        return finish(client_error(path, "version conflict", mapping::failure_class::transient));
      return finish(resource_ids{patient_id_, written_id(written, request_), std::nullopt});
    case step::device_link:
      if (written.kind == write_kind::conflict)
        return finish(client_error(
            path, status_text(written.status) + ": the device changed while it was being linked to its patient",
            mapping::failure_class::transient));
      return finish(resource_ids{patient_id_, written_id(written, request_), std::nullopt});
    default:
      return finish(client_error(path, "a write answer to a search", mapping::failure_class::transient));
  }
}

void identity_flow::lookup_done(mapping::result<resource_ids> r) {
  switch (options_.mode) {
    case identity_mode::lookup:
      return finish(std::move(r));
    case identity_mode::lookup_with_encounter:
      if (r && is_blank(in_.encounter_id))
        return finish(identity_not_defined(
            "Encounter",
            "(device '" + std::string(in_.device_id) + "': LookupWithEncounter needs the measurement's encounter id)"));
      return finish(std::move(r));
    case identity_mode::create:
      break;
  }
  if (r) return finish(std::move(r));
  // Create (iomt-spec §11): a missing Device or Patient is created; any other error stands.
  const auto missing = error_resource_type(r.error());
  if (r.error().type != resource_not_found_exception || (missing != "Device" && missing != "Patient"))
    return finish(std::move(r));
  if (is_blank(in_.patient_id))
    return finish(identity_not_defined("Patient", "(device '" + std::string(in_.device_id) +
                                                      "': Create identity mode needs the measurement's patient id)"));
  // Ensure Patient: search identifier=<patientId> (any system), else PUT Patient/<sha256("_"+id)>.
  search(step::patient_search, "Patient", {}, *in_.patient_id);
}

void identity_flow::ensure_device() {
  const std::string& system = options_.device_identifier_system;
  if (!device_) {
    // PUT Device/<sha256(system+"_"+id)>, linked to the patient.
    boost::json::object identifier;
    if (!system.empty()) identifier["system"] = system;
    identifier["value"] = in_.device_id;
    return put(
        step::device_put,
        boost::json::object{{"resourceType", "Device"},
                            {"id", mapping::fhir::create_device_id(system, in_.device_id)},
                            {"identifier", boost::json::array{std::move(identifier)}},
                            {"patient", boost::json::object{{"reference", make_reference("Patient", patient_id_)}}}});
  }
  if (!patient_member(*device_)) {
    // An existing device without a patient: link it (If-Match on its version).
    std::string version(version_id(*device_));
    boost::json::object d = std::move(*device_);
    device_.reset();
    d["patient"] = boost::json::object{{"reference", make_reference("Patient", patient_id_)}};
    return put(step::device_link, std::move(d), std::move(version));
  }
  if (linked_patient(*device_) != patient_id_) {
    std::string ref;
    if (const auto* p = patient_member(*device_); p && p->is_object())
      ref = string_member(p->get_object(), "reference");
    return finish(patient_device_mismatch("Device/" + std::string(string_member(*device_, "id")) + " (identifier '" +
                                          std::string(in_.device_id) + "') is linked to '" + ref +
                                          "', not to Patient/" + patient_id_ + " (identifier '" +
                                          std::string(*in_.patient_id) + "')."));
  }
  finish(resource_ids{patient_id_, std::string(string_member(*device_, "id")), std::nullopt});
}

}  // namespace iomt::fhir
