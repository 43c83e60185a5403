#include "mapping/fhir/text_util.hpp"

namespace iomt::mapping::fhir::detail {

std::size_t white_space_at(std::string_view s, std::size_t i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 == ' ' || (b0 >= 0x09 && b0 <= 0x0D)) return 1;
  if (b0 < 0x80) return 0;
  auto at = [&](std::size_t k) -> unsigned { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  if (b0 == 0xC2 && (at(1) == 0xA0 || at(1) == 0x85)) return 2;  // U+00A0, U+0085
  if (b0 == 0xE1 && at(1) == 0x9A && at(2) == 0x80) return 3;    // U+1680
  if (b0 == 0xE2 && at(1) == 0x80) {
    const unsigned b2 = at(2);
    if ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF)
      return 3;  // U+2000..200A, 2028, 2029, 202F
  }
  if (b0 == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) return 3;  // U+205F
  if (b0 == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  return 0;
}

bool is_blank(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = white_space_at(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  std::size_t b = 0;
  while (b < s.size()) {
    const std::size_t n = white_space_at(s, b);
    if (n == 0) break;
    b += n;
  }
  return trim_end(s.substr(b));
}

std::string_view trim_end(std::string_view s) noexcept {
  const std::size_t b = 0;
  std::size_t e = s.size();
  while (e > b) {
    // Step back over one UTF-8 character and test it.
    std::size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    const std::size_t n = white_space_at(s, start);
    if (n == 0 || start + n != e) break;
    e = start;
  }
  return s.substr(b, e - b);
}

}  // namespace iomt::mapping::fhir::detail
