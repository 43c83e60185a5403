#include "mapping/fhir/identity_ids.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace iomt::mapping::fhir {

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // One-shot digest; fails only on allocation failure inside OpenSSL (a bug / OOM, not data).
  if (EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest(SHA-256) failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(len) * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 0x0F];
  }
  return out;
}

observation_identifier make_identifier(const resource_ids& ids, const observation_group& group) {
  observation_identifier id;
  id.system = service_system;
  id.value.reserve(ids.patient.size() + ids.device.size() + group.name.size() + group.id_segment.size() + 3);
  id.value += ids.patient;
  id.value.push_back('.');
  id.value += ids.device;
  id.value.push_back('.');
  id.value += group.name;
  id.value.push_back('.');
  id.value += group.id_segment;
  return id;
}

std::string observation_id(const observation_identifier& identifier) {
  std::string text;
  text.reserve(identifier.system.size() + identifier.value.size() + 1);
  text += identifier.system;
  text.push_back('_');
  text += identifier.value;
  return sha256_hex(text);
}

std::string create_device_id(std::string_view system, std::string_view device_identifier) {
  std::string text(system);
  text.push_back('_');
  text += device_identifier;
  return sha256_hex(text);
}

std::string create_patient_id(std::string_view patient_identifier) {
  std::string text("_");
  text += patient_identifier;
  return sha256_hex(text);
}

}  // namespace iomt::mapping::fhir
