// The replay inbox of a buffer directory (<buffer.dir>/inbox/): how `iomtflow deadletter replay`
// hands events back to the service, running or stopped. The CLI writes one file per replay in the
// segment format (record.hpp), atomically (NAME.tmp, fsync, rename to NAME.batch, fsync the
// directory); the service's consumer (durable_source) appends each file's events to the log and
// then deletes the file, at start-up and every inbox_interval. A crash between the two replays the
// file again: harmless, the FHIR upsert is idempotent (iomt-spec §15).
#pragma once

#include "transport/buffer/file_io.hpp"
#include "transport/event.hpp"

#include <span>
#include <string>
#include <vector>

namespace iomt::transport::buffer {

std::string inbox_dir(const std::string& buffer_dir);

// Returns the path of the file written.
result<std::string> write_inbox(const file_io& io, const std::string& buffer_dir, std::span<const event> events);
// *.batch files, oldest first; an empty list when the inbox does not exist.
result<std::vector<std::string>> list_inbox(const file_io& io, const std::string& buffer_dir);
// errc::corrupt when the file is damaged.
result<std::vector<event>> read_inbox(const file_io& io, const std::string& path);

}  // namespace iomt::transport::buffer
