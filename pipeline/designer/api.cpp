#include "pipeline/designer/api.hpp"

#include "fhir/memory_exchange.hpp"
#include "mapping/json/dotnet.hpp"
#include "pipeline/commands/mapping_session.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace iomt::designer {

namespace {

// What is wrong with a request: its HTTP status and {error: message}. (The status comes first,
// which also keeps fault from being constructible from a string: result<std::string, fault>.)
struct fault {
  unsigned status;
  std::string message;
};
using text_result = boost::system::result<std::string, fault>;

boost::system::result<boost::json::object, fault> parse_request(std::string_view body, const api_limits& limits) {
  boost::json::parse_options opt;
  opt.max_depth = limits.max_depth;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, {}, opt);
  if (ec) return fault{400, "the request body is not valid JSON: " + ec.message()};
  if (!v.is_object()) return fault{400, "the request body must be a JSON object"};
  return std::move(v.as_object());
}

// A JSON document given as text (kept byte for byte) or as a JSON value (serialized).
text_result document_text(const boost::json::value& v, std::string_view field) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_object() || v.is_array()) return boost::json::serialize(v);
  return fault{400, std::string(field) + " must be JSON text (a string) or a JSON object"};
}

text_result required_document(const boost::json::object& req, std::string_view field) {
  const boost::json::value* v = req.if_contains(field);
  if (!v || v->is_null())
    return fault{400, std::string(field) + " is required (the mapping as JSON text or as an object)"};
  return document_text(*v, field);
}

struct session_or_error {
  std::optional<pipeline::mapping_session> session;
  api_answer error;
};

session_or_error load_session(const boost::json::object& req) {
  auto device = required_document(req, "deviceMapping");
  if (!device) return {std::nullopt, error_answer(device.error().status, device.error().message)};
  auto fhir = required_document(req, "fhirMapping");
  if (!fhir) return {std::nullopt, error_answer(fhir.error().status, fhir.error().message)};
  return {pipeline::mapping_session::load(*device, *fhir), {}};
}

// The envelope text {"Body":...,"Properties":...,"SystemProperties":...} from its parts. The body
// is inserted as typed (the lenient reader decides what it means, exactly as for a file).
text_result compose_envelope(const std::string& body, const boost::json::value* props, const boost::json::value* sys,
                             std::size_t index) {
  auto part = [&](const boost::json::value* v, const char* name) -> text_result {
    if (!v || v->is_null()) return std::string("{}");
    if (v->is_string()) {
      std::string_view s = v->as_string();
      return s.find_first_not_of(" \t\r\n") == std::string_view::npos ? std::string("{}") : std::string(s);
    }
    if (v->is_object()) return boost::json::serialize(*v);
    return fault{400, "messages[" + std::to_string(index) + "]." + name + " must be a JSON object or its text"};
  };
  auto p = part(props, "properties");
  if (!p) return p;
  auto s = part(sys, "systemProperties");
  if (!s) return s;
  const bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
  return std::string("{\"Body\":") + (blank ? std::string("null") : body) + "\n,\"Properties\":" + *p +
         "\n,\"SystemProperties\":" + *s + "}";
}

boost::system::result<std::vector<pipeline::message_input>, fault> read_messages(const boost::json::object& req,
                                                                                 bool envelope,
                                                                                 const api_limits& limits) {
  std::vector<pipeline::message_input> out;
  const boost::json::value* list = req.if_contains("messages");
  if (!list || !list->is_array())
    return fault{400, "messages is required: an array of message texts or {name, text} objects"};
  const auto& items = list->as_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const boost::json::value& item = items[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    std::string name = "message " + std::to_string(i + 1);
    std::string text;
    if (item.is_string()) {
      text = item.as_string();
    } else if (item.is_object()) {
      const auto& o = item.as_object();
      if (const auto* n = o.if_contains("name"); n && n->is_string() && !n->as_string().empty()) name = n->as_string();
      const boost::json::value* t = o.if_contains("text");
      if (!t) return fault{400, where + ".text is required"};
      auto body = document_text(*t, where + ".text");
      if (!body) return body.error();
      text = std::move(*body);
      const auto* props = o.if_contains("properties");
      const auto* sys = o.if_contains("systemProperties");
      if (envelope && (props || sys)) {
        auto composed = compose_envelope(text, props, sys, i);
        if (!composed) return composed.error();
        text = std::move(*composed);
      }
    } else {
      return fault{400, where + " must be a string or an object {name, text, properties?, systemProperties?}"};
    }
    pipeline::split_messages(name, text, out);
    if (out.size() > limits.max_messages)
      return fault{400, "too many messages: at most " + std::to_string(limits.max_messages) + " in one request"};
  }
  return out;
}

// identity: {mode?, resources?, serverUrl?, token?} -> where `mapping test` resolves identities.
std::optional<fault> read_identity(const boost::json::object& req, pipeline::test_options& opt) {
  const boost::json::value* v = req.if_contains("identity");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_object()) return fault{400, "identity must be an object {mode, resources?, serverUrl?, token?}"};
  const auto& o = v->as_object();
  if (const auto* m = o.if_contains("mode"); m && !m->is_null()) {
    auto mode = m->is_string() ? fhir::parse_identity_mode(m->as_string()) : std::nullopt;
    if (!mode) return fault{400, "identity.mode must be Lookup, Create or LookupWithEncounter"};
    opt.identity.mode = *mode;
  }
  const boost::json::value* resources = o.if_contains("resources");
  const boost::json::value* url = o.if_contains("serverUrl");
  const bool has_resources =
      resources && !resources->is_null() &&
      !(resources->is_string() && resources->as_string().find_first_not_of(" \t\r\n") == boost::json::string::npos);
  const bool has_url = url && !url->is_null() && !(url->is_string() && url->as_string().empty());
  if (has_resources && has_url) return fault{400, "identity: give resources or serverUrl, not both"};
  if (has_resources) {
    auto text = document_text(*resources, "identity.resources");
    if (!text) return text.error();
    auto parsed = fhir::read_resources(*text);
    if (!parsed) return fault{400, "identity.resources: " + parsed.error().message};
    opt.identity.resources = std::move(*parsed);
  }
  if (has_url) {
    if (!url->is_string()) return fault{400, "identity.serverUrl must be a string (the FHIR base URL)"};
    fhir::client_options c;
    c.base_url = url->as_string();
    c.pool.max_connections = 4;
    c.pool.request_timeout = std::chrono::seconds(15);
    c.retry.max_attempts = 2;
    if (const auto* t = o.if_contains("token"); t && t->is_string() && !t->as_string().empty()) {
      c.auth.kind = fhir::auth_kind::bearer;
      c.auth.bearer_token = t->as_string();
    }
    opt.identity.server = std::move(c);
  }
  return std::nullopt;
}

}  // namespace

api_answer error_answer(unsigned status, std::string_view message) {
  return {status, boost::json::object{{"error", message}}};
}

api_answer validate_mappings(std::string_view request_body, const api_limits& limits) {
  auto req = parse_request(request_body, limits);
  if (!req) return error_answer(req.error().status, req.error().message);
  auto loaded = load_session(*req);
  if (!loaded.session) return loaded.error;
  return {200, loaded.session->validation_report()};
}

api_answer test_mappings(std::string_view request_body, const api_limits& limits) {
  auto req = parse_request(request_body, limits);
  if (!req) return error_answer(req.error().status, req.error().message);

  pipeline::test_options opt;
  if (const auto* e = req->if_contains("envelope"); e && !e->is_null()) {
    if (!e->is_bool()) return error_answer(400, "envelope must be true or false");
    opt.envelope = e->as_bool();
  }
  if (const auto* s = req->if_contains("deviceIdentifierSystem"); s && !s->is_null()) {
    if (!s->is_string()) return error_answer(400, "deviceIdentifierSystem must be a string");
    opt.device_identifier_system = s->as_string();
  }
  if (const auto* s = req->if_contains("issued"); s && !s->is_null()) {
    auto t = s->is_string() ? json::parse_datetime(s->as_string()) : std::nullopt;
    if (!t) return error_answer(400, "issued must be an ISO 8601 date/time, e.g. 2024-01-01T00:00:00Z");
    opt.issued = *t;
  }
  if (auto bad = read_identity(*req, opt)) return error_answer(bad->status, bad->message);
  auto messages = read_messages(*req, opt.envelope, limits);
  if (!messages) return error_answer(messages.error().status, messages.error().message);

  auto loaded = load_session(*req);
  if (!loaded.session) return loaded.error;
  if (!loaded.session->valid()) {
    api_answer a = error_answer(400, "the mappings are invalid; nothing was run (see validation)");
    a.body["validation"] = loaded.session->validation_report();
    return a;
  }
  opt.max_measurements = limits.max_measurements;
  std::string bound;
  auto result = loaded.session->run_test(*messages, opt, &bound);
  if (!result) return error_answer(400, "identity.serverUrl: " + result.error().message);
  if (!bound.empty()) return error_answer(422, bound);
  boost::json::object out = std::move(*result);
  if (const auto* obs = out.if_contains("observations");
      obs && obs->is_array() && obs->as_array().size() > limits.max_observations)
    return error_answer(422, "the test made " + std::to_string(obs->as_array().size()) +
                                 " Observations, over the limit of " + std::to_string(limits.max_observations) +
                                 " (designer.max_observations): test fewer messages at a time");
  return {200, std::move(out)};
}

}  // namespace iomt::designer
