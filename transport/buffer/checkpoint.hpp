// The consumer checkpoint of the durable buffer: the sequence below which every record has its
// final outcome (written to FHIR or dead-lettered). One small file, replaced atomically (write
// checkpoint.tmp, fsync, rename, fsync the directory), so a crash leaves the old or the new value.
//
//   checkpoint file (20 bytes) = "IOMTCKP1" | seq u64 | crc32c(first 16 bytes) u32
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iomt::transport::buffer {

inline constexpr std::string_view checkpoint_file_name = "checkpoint";

std::string encode_checkpoint(std::uint64_t seq);
// nullopt when the bytes are not a valid checkpoint (wrong size, magic or CRC).
std::optional<std::uint64_t> decode_checkpoint(std::string_view bytes);

// Segment files are named by their first sequence: 20 decimal digits + ".seg" (sorts by name).
std::string segment_file_name(std::uint64_t first_seq);
std::optional<std::uint64_t> parse_segment_file_name(std::string_view name);

}  // namespace iomt::transport::buffer
