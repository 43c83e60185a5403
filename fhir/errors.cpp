#include "fhir/errors.hpp"

namespace iomt::fhir {

namespace {

constexpr std::string_view of_type = "of type ";

mapping::mapping_error make(std::string_view type, std::string message, std::string_view detail) {
  if (!detail.empty()) {
    message += ' ';
    message.append(detail);
  }
  return {std::string(type), std::move(message)};
}

}  // namespace

mapping::mapping_error not_found(std::string_view resource_type, std::string_view detail) {
  return make(resource_not_found_exception, "Fhir resource of type " + std::string(resource_type) + " not found.",
              detail);
}

mapping::mapping_error identity_not_defined(std::string_view resource_type, std::string_view detail) {
  return make(identity_not_defined_exception,
              "Fhir resource of type " + std::string(resource_type) + " identity not defined.", detail);
}

mapping::mapping_error multiple_found(std::string_view resource_type, std::size_t count, std::string_view detail) {
  return make(multiple_found_exception,
              "Multiple resources " + std::to_string(count) + " of type " + std::string(resource_type) +
                  " found, expected one.",
              detail);
}

mapping::mapping_error patient_device_mismatch(std::string_view message) {
  return {std::string(patient_device_mismatch_exception), std::string(message)};
}

mapping::mapping_error client_error(std::string_view what, std::string_view cause) {
  return {std::string(fhir_client_exception), std::string(what) + " failed: " + std::string(cause)};
}

mapping::mapping_error network_error(std::string_view what, std::string_view cause) {
  return {std::string(http_request_exception), std::string(what) + " failed: " + std::string(cause)};
}

mapping::mapping_error authentication_error(std::string_view cause) {
  return {std::string(authentication_exception), "Could not get an access token: " + std::string(cause)};
}

std::string_view error_resource_type(const mapping::mapping_error& e) {
  if (e.type != resource_not_found_exception && e.type != identity_not_defined_exception &&
      e.type != multiple_found_exception)
    return {};
  std::string_view m = e.message;
  const auto p = m.find(of_type);
  if (p == std::string_view::npos) return {};
  m.remove_prefix(p + of_type.size());
  return m.substr(0, m.find(' '));
}

std::string metric_name(const mapping::mapping_error& e) {
  const std::string t(error_resource_type(e));
  if (t.empty()) return e.type;
  if (e.type == resource_not_found_exception) return t + "NotFoundException";
  if (e.type == identity_not_defined_exception) return t + "IdentityNotDefinedException";
  return "Multiple" + t + "FoundException";
}

}  // namespace iomt::fhir
