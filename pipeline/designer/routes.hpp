// The designer's HTTP routes on the transport server (transport/http/server.hpp):
//   GET  {prefix}/                       the page (embedded, static_files.hpp)
//   POST {prefix}/api/mapping/validate   api.hpp
//   POST {prefix}/api/mapping/test       api.hpp
//   GET  {prefix}/api/examples/NAME      examples.hpp (workshop, builtin)
//   GET  {prefix}/api/events?device=&limit=  the service's event trace (the Live tab), when
//                                        designer_options::events is set (inside `iomtflow run`)
// prefix: "" for `iomtflow designer`, "/designer" inside `iomtflow run`. POST bodies must be
// application/json (415 otherwise, which also keeps plain cross-site form posts out) and at most
// max_body_bytes (413); the server's max_route_body_bytes should be at least as large. Answers
// are at most max_answer_bytes of JSON (422 {error} beyond, found while serializing, so an
// oversized answer is never built whole); api_limits bound what one test may produce.
// With a password, every route needs HTTP Basic authentication (401 + WWW-Authenticate otherwise):
// what `iomtflow run` requires when the designer listens beyond loopback (issue 15).
#pragma once

#include "pipeline/designer/api.hpp"
#include "transport/http/server.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

namespace iomt::designer {

struct designer_options {
  std::string prefix;                     // "" or "/designer" (no trailing '/')
  std::filesystem::path shared_dir;       // empty: find_shared_dir() (examples.hpp)
  std::size_t max_body_bytes = 4u << 20;  // 4 MiB
  // The answer to GET {prefix}/api/events (the service's GET /debug/events, with its auth); empty:
  // 404 saying the Live tab needs `iomtflow run` with debug.trace.enabled.
  std::function<transport::http::response(const transport::http::request&)> events;
  std::size_t max_answer_bytes = 8u << 20;  // 8 MiB
  api_limits limits;
  std::string basic_user;  // HTTP Basic credentials; no password: no authentication
  std::string basic_password;
};

// Registers the routes; call before server.start(). With an empty prefix the page's GET route is
// "/", so other paths get 404/405 from the designer, except Event Hubs send routes (POST
// /{hub}/messages), which the server always gives to its ingest.
void add_designer_routes(transport::http::server& server, const designer_options& options);

}  // namespace iomt::designer
