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

mapping::failure_class status_class(unsigned status) noexcept {
  using mapping::failure_class;
  if (status == 429 || status == 503) return failure_class::throttled;
  if (status == 408 || (status >= 500 && status <= 599 && status != 501 && status != 505))
    return failure_class::transient;
  if (status == 401 || status == 403) return failure_class::blocked;
  return failure_class::permanent;
}

mapping::mapping_error client_error(std::string_view what, std::string_view cause, mapping::failure_class cls) {
  return {std::string(fhir_client_exception), std::string(what) + " failed: " + std::string(cause), cls};
}

mapping::mapping_error status_error(std::string_view what, unsigned status, std::string_view cause) {
  return client_error(what, cause, status_class(status));
}

mapping::mapping_error network_error(std::string_view what, std::string_view cause, mapping::failure_class cls) {
  return {std::string(http_request_exception), std::string(what) + " failed: " + std::string(cause), cls};
}

mapping::mapping_error authentication_error(std::string_view cause, mapping::failure_class cls) {
  return {std::string(authentication_exception), "Could not get an access token: " + std::string(cause), cls};
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
