// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every buffer record
// (record.hpp). Hardware (SSE4.2 crc32 instruction) when the CPU has it, else slicing-by-8 tables.
// Check value: crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace iomt::transport::buffer {

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start with 0.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept;

// The table-driven path alone (tests compare it with the hardware path).
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t n) noexcept;

inline std::uint32_t crc32c(std::string_view bytes) noexcept { return crc32c_extend(0, bytes.data(), bytes.size()); }

}  // namespace iomt::transport::buffer
