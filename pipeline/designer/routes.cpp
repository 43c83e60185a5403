#include "pipeline/designer/routes.hpp"

#include "pipeline/designer/api.hpp"
#include "pipeline/designer/examples.hpp"
#include "pipeline/designer/static_files.hpp"

#include "transport/http/encoding.hpp"

#include <boost/json/serializer.hpp>

#include <openssl/crypto.h>

#include <array>
#include <cctype>
#include <optional>

namespace iomt::designer {

namespace bhttp = transport::http::bhttp;
using transport::http::request;
using transport::http::response;

namespace {

// The page's own policy: scripts and styles from the binary only (CodeMirror injects style
// elements, hence 'unsafe-inline' for styles), API calls to the same origin.
constexpr std::string_view content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'none'";

void common_headers(response& res) {
  res.set(bhttp::field::server, "iomtflow designer");
  res.set("X-Content-Type-Options", "nosniff");
}

// Serializes at most `max_bytes`; past it, nullopt (the rest is never produced).
std::optional<std::string> serialize_bounded(const boost::json::object& o, std::size_t max_bytes) {
  boost::json::serializer sr;
  sr.reset(&o);
  std::string out;
  std::array<char, 64 * 1024> chunk;
  while (!sr.done()) {
    const std::string_view part = sr.read(chunk.data(), chunk.size());
    if (out.size() + part.size() > max_bytes) return std::nullopt;
    out += part;
  }
  return out;
}

response json_response(const api_answer& a, unsigned version, std::size_t max_bytes = static_cast<std::size_t>(-1)) {
  auto text = serialize_bounded(a.body, max_bytes);
  const bool too_big = !text;
  if (too_big) {
    const api_answer refused = error_answer(
        422, "the answer is over the limit of " + std::to_string(max_bytes) +
                 " bytes (designer.max_answer_bytes): test fewer messages, or a mapping that matches less");
    text = serialize_bounded(refused.body, static_cast<std::size_t>(-1));
  }
  response res{static_cast<bhttp::status>(too_big ? 422 : a.status), version};
  common_headers(res);
  res.set(bhttp::field::content_type, "application/json; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(*text);
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

// HTTP Basic (RFC 7617) against the configured user and password; constant-time comparison.
bool basic_auth_ok(const request& req, const std::string& expected) {
  std::string_view h = req[bhttp::field::authorization];
  constexpr std::string_view word = "Basic ";
  if (h.size() <= word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != std::tolower(static_cast<unsigned char>(word[i])))
      return false;
  auto decoded = transport::http::base64_decode(h.substr(word.size()));
  if (!decoded || decoded->size() != expected.size()) return false;
  return CRYPTO_memcmp(decoded->data(), expected.data(), expected.size()) == 0;
}

response unauthorized(unsigned version) {
  response res = json_response(error_answer(401, "authentication required (HTTP Basic: designer.auth)"), version);
  res.set(bhttp::field::www_authenticate, "Basic realm=\"iomtflow designer\", charset=\"UTF-8\"");
  return res;
}

std::string_view path_of(const request& req) {
  std::string_view target = req.target();
  return target.substr(0, target.find_first_of("?#"));
}

bool is_json_media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  std::string lower;
  for (char c : type) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" || (lower.size() > 5 && lower.compare(lower.size() - 5, 5, "+json") == 0);
}

// The checks every API POST shares; nullopt when the body may be handled.
std::optional<api_answer> check_post(const request& req, std::size_t max_body_bytes) {
  if (!is_json_media_type(req[bhttp::field::content_type]))
    return error_answer(415, "the request body must be JSON sent with Content-Type: application/json");
  if (req.body().size() > max_body_bytes)
    return error_answer(413, "the request body is over the limit of " + std::to_string(max_body_bytes) + " bytes");
  return std::nullopt;
}

}  // namespace

void add_designer_routes(transport::http::server& server, const designer_options& options) {
  const std::string prefix = options.prefix;
  const std::size_t max_body = options.max_body_bytes;
  const std::size_t max_answer = options.max_answer_bytes;
  const api_limits limits = options.limits;
  // Every route goes through `guarded`: the credentials check when a password is set.
  const std::string credentials =
      options.basic_password.empty() ? std::string() : options.basic_user + ":" + options.basic_password;
  auto add = [&server, credentials](bhttp::verb method, std::string path, transport::http::server::handler h) {
    if (credentials.empty()) return server.add_route(method, std::move(path), std::move(h));
    server.add_route(method, std::move(path), [credentials, h = std::move(h)](const request& req) {
      if (!basic_auth_ok(req, credentials)) return unauthorized(req.version());
      return h(req);
    });
  };

  using api_fn = api_answer (*)(std::string_view, const api_limits&);
  auto post = [&](const char* path, api_fn fn) {
    add(bhttp::verb::post, prefix + path, [fn, max_body, max_answer, limits](const request& req) {
      if (auto refused = check_post(req, max_body)) return json_response(*refused, req.version());
      return json_response(fn(req.body(), limits), req.version(), max_answer);
    });
  };
  post("/api/mapping/validate", &validate_mappings);
  post("/api/mapping/test", &test_mappings);

  const std::string examples = prefix + "/api/examples";
  add(bhttp::verb::get, examples, [examples, shared = options.shared_dir](const request& req) {
    std::string_view name = path_of(req).substr(examples.size());
    if (name == "" || name == "/") {
      boost::json::array names{"workshop", "builtin"};
      return json_response({200, boost::json::object{{"examples", std::move(names)}}}, req.version());
    }
    if (name == "/builtin") return json_response({200, builtin_example()}, req.version());
    if (name == "/workshop") {
      const auto dir = find_shared_dir(shared);
      if (auto w = workshop_example(dir)) return json_response({200, std::move(*w)}, req.version());
      auto b = builtin_example();
      b["note"] = "The workshop files were not found" +
                  (dir.empty() ? std::string(" (no shared folder: set IOMT_SHARED_DIR or --shared-dir)")
                               : " under " + dir.string()) +
                  "; this is the built-in example instead.";
      return json_response({200, std::move(b)}, req.version());
    }
    return json_response(error_answer(404, "no example named '" + std::string(name.substr(1)) + "'"), req.version());
  });

  // The Live tab (issue 13): recent events of the running service, with their paths.
  server.add_route(bhttp::verb::get, prefix + "/api/events", [events = options.events](const request& req) {
    if (!events)
      return json_response(error_answer(404,
                                        "live events come from the service: open the designer of `iomtflow run` "
                                        "with designer.enabled and debug.trace.enabled"),
                           req.version());
    response res = events(req);
    common_headers(res);
    return res;
  });

  // The page. Under a prefix, "/designer" redirects to "/designer/" so relative URLs resolve.
  add(bhttp::verb::get, prefix.empty() ? "/" : prefix, [prefix](const request& req) {
    std::string_view path = path_of(req).substr(prefix.size());
    if (path.empty()) {
      response res{bhttp::status::permanent_redirect, req.version()};
      common_headers(res);
      res.set(bhttp::field::location, prefix + "/");
      res.prepare_payload();
      return res;
    }
    if (path.substr(0, 5) == "/api/" || path == "/api") {
      const bool post_only = path == "/api/mapping/validate" || path == "/api/mapping/test";
      response res = json_response(post_only ? error_answer(405, "use POST with a JSON body")
                                             : error_answer(404, "no API at " + std::string(path)),
                                   req.version());
      if (post_only) res.set(bhttp::field::allow, "POST");
      return res;
    }
    const static_answer a = find_static(path);
    response res{static_cast<bhttp::status>(a.status), req.version()};
    common_headers(res);
    res.set(bhttp::field::content_type, a.content_type);
    res.set(bhttp::field::cache_control, a.cache_control);
    if (a.content_type.substr(0, 9) == "text/html") {
      res.set("Content-Security-Policy", content_security_policy);
      res.set("Referrer-Policy", "no-referrer");
    }
    res.body() = std::string(a.body);
    res.prepare_payload();
    return res;
  });
}

}  // namespace iomt::designer
