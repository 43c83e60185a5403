#include "fhir/search.hpp"

#include "fhir/errors.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>

namespace iomt::fhir {

namespace {

// Left as they are in a search value: RFC 3986 unreserved plus ':' '/' '@' (readable URIs in
// identifier systems); everything else is %-encoded with upper-case hex.
constexpr auto search_chars = boost::urls::unreserved_chars + boost::urls::grammar::lut_chars(":/@");

}  // namespace

std::string encode_search_token(std::string_view part) {
  // FHIR search escaping first (R4 §3.1.1.4.5): \ , | get a backslash. ($ only matters in
  // composite parameters, and servers then fail to match an escaped one.) Then %-encoding.
  std::string escaped;
  escaped.reserve(part.size() + 4);
  for (char c : part) {
    if (c == '\\' || c == ',' || c == '|') escaped += '\\';
    escaped += c;
  }
  return boost::urls::encode(escaped, search_chars);
}

std::string identifier_query(std::string_view type, std::string_view system, std::string_view value) {
  std::string q(type);
  q += "?identifier=";
  if (!system.empty()) {
    q += encode_search_token(system);
    q += "%7C";  // '|', encoded: strict servers (Tomcat) refuse a raw '|' in the request target
  }
  q += encode_search_token(value);
  return q;
}

std::optional<identifier_search> decode_identifier_query(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos || q == 0) return std::nullopt;
  constexpr std::string_view param = "identifier=";
  std::string_view query = target.substr(q + 1);
  if (!query.starts_with(param)) return std::nullopt;
  query.remove_prefix(param.size());
  if (query.find('&') != std::string_view::npos) return std::nullopt;
  auto decoded = boost::urls::make_pct_string_view(query);
  if (!decoded) return std::nullopt;
  const std::string text = decoded->decode();
  // Split at the first unescaped '|', then undo the FHIR escaping (a backslash quotes the next character).
  identifier_search out;
  out.type = std::string(target.substr(0, q));
  std::string part;
  bool split = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      part += text[++i];
    } else if (c == '|' && !split) {
      out.system = std::move(part);
      part.clear();
      split = true;
    } else {
      part += c;
    }
  }
  out.value = std::move(part);
  return out;
}

bool matches_identifier(const boost::json::object& resource, const identifier_search& search) {
  const auto* ids = resource.if_contains("identifier");
  if (!ids || !ids->is_array()) return false;
  for (const auto& id : ids->get_array()) {
    const auto* io = id.if_object();
    if (!io || string_member(*io, "value") != search.value) continue;
    if (!search.system || string_member(*io, "system") == *search.system) return true;
  }
  return false;
}

mapping::result<search_page> parse_search_bundle(const boost::json::object& bundle) {
  if (string_member(bundle, "resourceType") != "Bundle")
    return client_error("search", "unexpected response: not a Bundle", mapping::failure_class::transient);
  search_page page;
  if (const auto* entries = bundle.if_contains("entry"); entries && entries->is_array()) {
    page.resources.reserve(entries->get_array().size());
    for (const auto& e : entries->get_array()) {
      const auto* eo = e.if_object();
      const auto* r = eo ? eo->if_contains("resource") : nullptr;
      if (r && r->is_object()) page.resources.push_back(r->get_object());
    }
  }
  if (const auto* links = bundle.if_contains("link"); links && links->is_array()) {
    for (const auto& l : links->get_array()) {
      const auto* lo = l.if_object();
      if (lo && string_member(*lo, "relation") == "next" && !string_member(*lo, "url").empty())
        page.next = std::string(string_member(*lo, "url"));
    }
  }
  if (const auto* t = bundle.if_contains("total"); t && t->is_int64()) page.total = t->get_int64();
  if (const auto* t = bundle.if_contains("total"); t && t->is_uint64())
    page.total = static_cast<std::int64_t>(std::min<std::uint64_t>(t->get_uint64(), INT64_MAX));
  return page;
}

mapping::result<search_page> parse_search_bundle(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object())
    return client_error("search", "unexpected response: the body is not a JSON object",
                        mapping::failure_class::transient);
  return parse_search_bundle(v.get_object());
}

std::string target_of_url(std::string_view url) {
  auto u = boost::urls::parse_uri_reference(url);
  if (!u) return std::string(url);
  std::string out(u->encoded_path());
  if (out.empty()) out.push_back('/');  // (not = "/": GCC 12 -O2 false -Wrestrict, bug 105329)
  if (u->has_query()) {
    out += '?';
    out += u->encoded_query();
  }
  return out;
}

bool has_identifier(const boost::json::object& resource, std::string_view system, std::string_view value) {
  const auto* ids = resource.if_contains("identifier");
  if (!ids || !ids->is_array()) return false;
  for (const auto& id : ids->get_array()) {
    const auto* io = id.if_object();
    if (io && string_member(*io, "value") == value && string_member(*io, "system") == system) return true;
  }
  return false;
}

void keep_exact_matches(std::vector<boost::json::object>& resources, std::string_view system, std::string_view value) {
  std::erase_if(resources, [&](const boost::json::object& r) { return !has_identifier(r, system, value); });
}

std::string_view version_id(const boost::json::object& resource) {
  const auto* meta = resource.if_contains("meta");
  return meta && meta->is_object() ? string_member(meta->get_object(), "versionId") : std::string_view{};
}

std::string weak_etag(std::string_view version) {
  std::string out = "W/\"";
  out += version;
  out += '"';
  return out;
}

std::string_view string_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

}  // namespace iomt::fhir
