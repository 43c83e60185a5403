#include "fhir/reference.hpp"

#include <cctype>

namespace iomt::fhir {

namespace {

bool id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '~' || c == '#';
}

}  // namespace

std::optional<std::string> reference_id(std::string_view reference, std::string_view type) {
  if (reference.size() <= type.size() + 1 || reference[type.size()] != '/') return std::nullopt;
  for (std::size_t i = 0; i < type.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(reference[i])) != std::tolower(static_cast<unsigned char>(type[i])))
      return std::nullopt;
  const std::string_view id = reference.substr(type.size() + 1);
  for (char c : id)
    if (!id_char(c)) return std::nullopt;
  return std::string(id);
}

std::string make_reference(std::string_view type, std::string_view id) {
  std::string out(type);
  out += '/';
  out += id;
  return out;
}

}  // namespace iomt::fhir
