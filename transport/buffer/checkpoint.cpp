#include "transport/buffer/checkpoint.hpp"

#include "transport/buffer/crc32c.hpp"

#include <cstdio>
#include <cstring>

namespace iomt::transport::buffer {

namespace {
constexpr std::string_view magic = "IOMTCKP1";
}

std::string encode_checkpoint(std::uint64_t seq) {
  std::string s(magic);
  char b[8];
  std::memcpy(b, &seq, 8);
  s.append(b, 8);
  const std::uint32_t crc = crc32c(s);
  char c[4];
  std::memcpy(c, &crc, 4);
  s.append(c, 4);
  return s;
}

std::optional<std::uint64_t> decode_checkpoint(std::string_view bytes) {
  if (bytes.size() != 20 || bytes.substr(0, 8) != magic) return std::nullopt;
  std::uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + 16, 4);
  if (crc != crc32c(bytes.substr(0, 16))) return std::nullopt;
  std::uint64_t seq = 0;
  std::memcpy(&seq, bytes.data() + 8, 8);
  return seq;
}

std::string segment_file_name(std::uint64_t first_seq) {
  char b[32];
  std::snprintf(b, sizeof b, "%020llu.seg", static_cast<unsigned long long>(first_seq));
  return b;
}

std::optional<std::uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != 24 || name.substr(20) != ".seg") return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace iomt::transport::buffer
