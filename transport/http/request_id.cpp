#include "transport/http/request_id.hpp"

#include <cstdint>
#include <random>

namespace iomt::transport::http {

std::optional<std::string_view> usable_client_request_id(std::string_view header) noexcept {
  if (header.empty() || header.size() > max_client_request_id) return std::nullopt;
  for (const char c : header)
    if (c < 0x20 || c > 0x7E) return std::nullopt;
  return header;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xF000ull) | 0x4000ull;                  // version 4 (RFC 4122 §4.4)
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);  // variant 10xx
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    const std::uint64_t word = i < 16 ? hi : lo;
    out.push_back(hex[(word >> (4 * (15 - i % 16))) & 0xF]);
  }
  return out;
}

}  // namespace iomt::transport::http
