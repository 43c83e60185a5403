// The event trace as JSON (GET /debug/events, the designer's Live tab, `iomtflow trace`) and the
// HTTP answer of /debug/events, sans-io: request in, response out (docs/configuration.md#debug).
//
//   GET /debug/events?device=ID&request=ID&limit=N   (limit 1..1000, default 20; device "" = every
//   device; request: only the events of that HTTP request, by its x-ms-request-id)
//   200 {"enabled":true,"events":[...newest first...],"stats":{...}}
//   400 bad query, 401 SAS (the same keys as ingest; see debug_events_resource), 404 tracing off
#pragma once

#include "pipeline/trace/event_trace.hpp"
#include "transport/http/http_types.hpp"
#include "transport/http/sas.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>

namespace iomt::pipeline::trace {

// The record as one JSON object (the field names are documented in docs/event-trace.md).
boost::json::object to_json(const event_record& r);

struct events_query {
  std::string device;
  std::string request;  // x-ms-request-id of the HTTP request; "" = any
  std::size_t limit = 20;
};
inline constexpr std::size_t max_query_limit = 1000;

// Parses "device=ID&request=ID&limit=N" (percent-decoded, unknown parameters ignored).
boost::system::result<events_query, transport::http::http_error> parse_events_query(std::string_view query);

// The entity path a SAS token must cover to read the trace: "debug/events". A namespace-level
// token (sr without a path, e.g. "http://host:8080") covers it, a token for one event hub does
// not: reading every device's messages takes more than sending to one hub.
inline constexpr std::string_view debug_events_resource = "debug/events";

// The whole answer to GET /debug/events (or the designer's api/events): `trace` null or off ->
// 404; `auth` null -> no authentication (source.http.auth: none). `now_unix` for SAS expiry.
transport::http::response debug_events_response(const transport::http::request& req, const event_trace* trace,
                                                const transport::http::sas_verifier* auth, std::int64_t now_unix);

}  // namespace iomt::pipeline::trace
