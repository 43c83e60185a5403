#include "mapping/device/partition_hash.hpp"

#include "mapping/device/dotnet_text.hpp"

namespace iomt::mapping::device {

namespace {

// Simple lower-case mapping of the common scripts (ToLowerInvariant for these ranges).
char32_t to_lower(char32_t c) noexcept {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;   // Latin-1
  if (c == 0x130) return 'i';                                 // İ
  if (c >= 0x100 && c <= 0x137 && c != 0x131) return c | 1u;  // Latin Extended-A (pairs)
  if (c >= 0x139 && c <= 0x148) return (c & 1u) ? c + 1 : c;  // odd/even pairs
  if (c >= 0x14A && c <= 0x177) return c | 1u;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1u) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;  // Greek
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x400 && c <= 0x40F) return c + 80;  // Cyrillic
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x460 && c <= 0x481) return c | 1u;
  if (c >= 0x48A && c <= 0x4BF) return c | 1u;
  if (c >= 0x4D0 && c <= 0x52F) return c | 1u;
  if (c >= 0xFF21 && c <= 0xFF3A) return c + 32;  // full-width A-Z
  return c;
}

template <bool Lower>
int hash(std::string_view s, int range) noexcept {
  if (range <= 0) return -1;
  std::uint32_t h = 0;  // int32 arithmetic with wrap-around (C# unchecked)
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t c = next_code_point(s, i);
    if constexpr (Lower) c = to_lower(c);
    if (c >= 0x10000) {  // surrogate pair: two UTF-16 code units
      const char32_t v = c - 0x10000;
      h = 31u * h + static_cast<std::uint32_t>(0xD800 + (v >> 10));
      h = 31u * h + static_cast<std::uint32_t>(0xDC00 + (v & 0x3FF));
    } else {
      h = 31u * h + static_cast<std::uint32_t>(c);
    }
  }
  // Math.Abs(int.MinValue) throws upstream; 2^31 is used here.
  const auto signed_h = static_cast<std::int32_t>(h);
  const std::uint32_t magnitude = signed_h < 0 ? 0u - h : h;
  return static_cast<int>(magnitude % static_cast<std::uint32_t>(range));
}

}  // namespace

int hash_code(std::string_view utf8, int range) noexcept { return hash<false>(utf8, range); }

int partition_hash(std::string_view device_id, int range) noexcept { return hash<true>(device_id, range); }

}  // namespace iomt::mapping::device
