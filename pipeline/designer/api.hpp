// The designer's JSON API, sans-io: request body text in, status + JSON object out. The HTTP
// routes (routes.hpp) only move bytes; everything decided about a request is decided here, with
// the same engine as the pipeline (pipeline::mapping_session), never a second implementation.
//
//   POST /api/mapping/validate {deviceMapping, fhirMapping}
//     -> 200 {valid, deviceMapping:{errors:[...]}, fhirMapping:{errors:[...]}}
//   POST /api/mapping/test {deviceMapping, fhirMapping, messages:[...], envelope?, deviceIdentifierSystem?, issued?,
//                           identity?: {mode?, resources?, serverUrl?, token?}}
//     -> 200 the object `iomtflow mapping test` prints: {measurements, observations, errors, identity}
//     identity: mode Lookup | Create (default) | LookupWithEncounter; resources = the FHIR server's
//     Patients/Devices/Encounters (a Bundle or an array, as text or JSON), or serverUrl = a live
//     server that is only searched, never written (token: a bearer token for it, never echoed).
//     -> 400 {error, validation} when the mappings are invalid (nothing is run)
// A mapping is JSON text (a string, kept as typed so line/column point into the editor) or a JSON
// value. A message is a string (its text), or {name?, text, properties?, systemProperties?}: with
// envelope and properties/systemProperties given, the event {"Body": text, "Properties": ...,
// "SystemProperties": ...} is built from them (iomt-spec §2); a name ending in .ndjson holds one
// message per line, as for the CLI.
// Bad requests -> 400 {error: "..."} naming the field at fault.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <string_view>

namespace iomt::designer {

// Bounds of one request (issue 15: an amplifying mapping such as typeMatchExpression "$..a[*]"
// over a big body must not turn into gigabytes). A bound hit is 422 {error} naming the bound.
struct api_limits {
  std::size_t max_messages = 1000;       // messages in one test request (after .ndjson splitting)
  std::size_t max_depth = 256;           // JSON nesting of the request itself
  std::size_t max_measurements = 10000;  // measurements one test request may produce
  std::size_t max_observations = 1000;   // Observations one test request may produce
};

struct api_answer {
  unsigned status = 200;
  boost::json::object body;
};

api_answer validate_mappings(std::string_view request_body, const api_limits& limits = {});
api_answer test_mappings(std::string_view request_body, const api_limits& limits = {});

// {"error": message} with the given status (for the HTTP layer's own 4xx answers).
api_answer error_answer(unsigned status, std::string_view message);

}  // namespace iomt::designer
