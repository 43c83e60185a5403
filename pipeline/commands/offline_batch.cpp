#include "pipeline/commands/offline_batch.hpp"

namespace iomt::pipeline {

namespace fhir = mapping::fhir;

boost::json::object* offline_store::find(const std::string& type, const std::string& id) {
  auto it = index_.find({type, id});
  return it == index_.end() ? nullptr : &resources_[it->second].second;
}

void offline_store::put(const std::string& type, const std::string& id, boost::json::object resource) {
  auto [it, inserted] = index_.try_emplace({type, id}, resources_.size());
  if (inserted)
    resources_.emplace_back(type, std::move(resource));
  else
    resources_[it->second].second = std::move(resource);
}

std::vector<const boost::json::object*> offline_store::all_of(const std::string& type) const {
  std::vector<const boost::json::object*> out;
  for (const auto& [t, r] : resources_)
    if (t == type) out.push_back(&r);
  return out;
}

namespace {

bool blank(const std::optional<std::string>& s) {
  if (!s) return true;
  for (char c : *s)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

// "Patient/<id>" -> id (iomt-spec §11 step 2, D4).
std::optional<std::string> patient_from_reference(const boost::json::object& device) {
  const auto* patient = device.if_contains("patient");
  if (!patient || !patient->is_object()) return std::nullopt;
  const auto* ref = patient->as_object().if_contains("reference");
  if (!ref || !ref->is_string()) return std::nullopt;
  std::string_view r = ref->as_string();
  constexpr std::string_view prefix = "patient/";
  if (r.size() <= prefix.size()) return std::nullopt;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(r[i])) != prefix[i]) return std::nullopt;
  std::string_view id = r.substr(prefix.size());
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '~' || c == '#'))
      return std::nullopt;
  return std::string(id);
}

}  // namespace

// Create identity mode (iomt-spec §11): look up the device; when it or its patient is missing,
// create Patient/<sha256("_"+patientId)> and Device/<sha256(system+"_"+deviceId)>, linked.
mapping::result<fhir::resource_ids> offline_batch::resolve_create(const fhir::measurement_group& g) {
  if (auto it = identity_cache_.find(g.device_id); it != identity_cache_.end()) return it->second;

  const std::string device_id = fhir::create_device_id(options_.device_identifier_system, g.device_id);
  boost::json::object* device = store_.find("Device", device_id);
  if (device) {
    if (auto patient = patient_from_reference(*device)) {
      fhir::resource_ids ids{*patient, device_id, std::nullopt};
      identity_cache_.emplace(g.device_id, ids);
      return ids;
    }
  }
  if (blank(g.patient_id))
    return mapping::mapping_error{"ResourceIdentityNotDefinedException",
                                  "The Patient identity is not defined: the measurement of device '" + g.device_id +
                                      "' has no patient id, which Create identity mode needs."};
  const std::string patient_id = fhir::create_patient_id(*g.patient_id);
  if (!store_.find("Patient", patient_id)) {
    boost::json::object patient{{"resourceType", "Patient"},
                                {"id", patient_id},
                                {"identifier", boost::json::array{boost::json::object{{"value", *g.patient_id}}}}};
    store_.put("Patient", patient_id, std::move(patient));
  }
  boost::json::object identifier;
  if (!options_.device_identifier_system.empty()) identifier["system"] = options_.device_identifier_system;
  identifier["value"] = g.device_id;
  boost::json::object dev{{"resourceType", "Device"},
                          {"id", device_id},
                          {"identifier", boost::json::array{identifier}},
                          {"patient", boost::json::object{{"reference", "Patient/" + patient_id}}}};
  store_.put("Device", device_id, std::move(dev));
  fhir::resource_ids ids{patient_id, device_id, std::nullopt};
  identity_cache_.emplace(g.device_id, ids);
  return ids;
}

void offline_batch::convert(std::span<const mapping::measurement> batch, std::vector<stage_error>& errors) {
  std::vector<mapping::mapping_error> group_errors;
  for (const fhir::measurement_group& group : fhir::group_measurements(batch)) {
    group_errors.clear();
    convert_group(group, group_errors);
    for (auto& e : group_errors) errors.push_back({"fhirConversion", std::move(e.type), std::move(e.message)});
  }
}

void offline_batch::convert_group(const fhir::measurement_group& group, std::vector<mapping::mapping_error>& errors,
                                  std::size_t* created, std::size_t* updated, std::size_t* no_op) {
  auto count = [](std::size_t* c) {
    if (c) ++*c;
  };
  auto found = mapping_.get(group.measure_type);
  if (!found) {
    errors.push_back(found.error());
    return;
  }
  const fhir::code_value_template* tpl = *found;
  auto ids = resolve_create(group);
  if (!ids) {
    errors.push_back(ids.error());
    return;
  }
  auto groups = fhir::make_observation_groups(group, *tpl);
  if (!groups) {
    errors.push_back(groups.error());
    return;
  }
  for (const fhir::observation_group& og : *groups) {
    const fhir::observation_identifier identifier = fhir::make_identifier(*ids, og);
    const std::string id = fhir::observation_id(identifier);
    if (boost::json::object* existing = store_.find("Observation", id)) {
      auto merged = fhir::merge_observation(*existing, og, *tpl);
      if (!merged) {
        errors.push_back(merged.error());
        continue;
      }
      if (merged->changed) {
        *existing = std::move(merged->observation);
        count(updated);
      } else {
        count(no_op);
      }
    } else {
      auto obs = fhir::create_observation(og, *tpl, *ids, options_.issued);
      if (!obs) {
        errors.push_back(obs.error());
        continue;
      }
      store_.put("Observation", id, std::move(*obs));
      count(created);
    }
  }
}

}  // namespace iomt::pipeline
