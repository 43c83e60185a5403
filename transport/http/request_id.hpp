// Request ids of the HTTP listeners, as Azure services give them (sans-io apart from the random
// source): every answer carries `x-ms-request-id`; a client that sends `x-ms-client-request-id`
// gets it echoed and, when it is usable, it is the request's id (so the client's own log line and
// the service's event trace name the same request). The id travels with the request's events into
// the event trace (transport::event::request_id).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iomt::transport::http {

// Longest x-ms-client-request-id taken as the request id (Azure SDKs send a 36-character GUID).
inline constexpr std::size_t max_client_request_id = 128;

// The client's x-ms-client-request-id when it can name the request: 1 to max_client_request_id
// printable ASCII characters (0x20-0x7E; Beast has trimmed outer white space). Anything else
// (empty, too long, control characters, non-ASCII bytes) is ignored: not echoed, not logged.
std::optional<std::string_view> usable_client_request_id(std::string_view header) noexcept;

// A new request id: a random (version 4) GUID in lower-case "8-4-4-4-12" form. Thread-safe (a
// generator per thread, seeded from std::random_device).
std::string new_request_id();

}  // namespace iomt::transport::http
