#include "transport/deadletter/entry.hpp"

#include "mapping/json/dotnet.hpp"
#include "transport/buffer/record.hpp"
#include "transport/http/sas.hpp"

#include <openssl/evp.h>
#include <boost/json.hpp>

#include <chrono>

namespace iomt::transport::deadletter {

namespace bj = boost::json;

namespace {

const char* kind_name(json::date_kind k) {
  switch (k) {
    case json::date_kind::utc:
      return "utc";
    case json::date_kind::local:
      return "local";
    case json::date_kind::unspecified:
      return "unspecified";
  }
  return "unspecified";
}

json::date_kind kind_of(std::string_view s) {
  if (s == "utc") return json::date_kind::utc;
  if (s == "local") return json::date_kind::local;
  return json::date_kind::unspecified;
}

std::string_view str(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return {};
  return v->get_string();
}

std::optional<json::date_time> time_of(const bj::object& o) {
  auto t = json::parse_datetime(str(o, "time"));
  if (t) t->zone = json::date_kind::utc;
  return t;
}

bool event_of(const bj::object& o, event& e) {
  auto body = http::base64_decode(str(o, "body_base64"));
  if (!body) return false;
  e.body = std::move(*body);
  e.properties = std::string(str(o, "properties"));
  e.system_properties = std::string(str(o, "system_properties"));
  e.partition_key = std::string(str(o, "partition_key"));
  if (e.properties.empty()) e.properties = "{}";
  if (e.system_properties.empty()) e.system_properties = "{}";
  const bj::value* t = o.if_contains("enqueued_ticks");
  if (!t || !t->is_int64()) return false;
  e.enqueued_time.ticks = t->get_int64();
  e.enqueued_time.zone = kind_of(str(o, "enqueued_kind"));
  return true;
}

failure failure_of(const bj::object& o) {
  failure f{std::string(str(o, "stage")), std::string(str(o, "type")), std::string(str(o, "message")), {}};
  if (const bj::value* g = o.if_contains("groups"); g && g->is_array())
    for (const auto& x : g->get_array())
      if (x.is_string()) f.groups.emplace_back(x.get_string());
  return f;
}

void put_failure(bj::object& o, const failure& f) {
  o["stage"] = f.stage;
  o["type"] = f.type;
  o["message"] = f.message;
  if (!f.groups.empty()) {
    bj::array a;
    for (const auto& g : f.groups) a.emplace_back(g);
    o["groups"] = std::move(a);
  }
}

}  // namespace

std::string hex_digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (unsigned int i = 0; i < 12 && i < n; ++i) {
    id.push_back(hex[md[i] >> 4]);
    id.push_back(hex[md[i] & 15]);
  }
  return id;
}

std::string event_id(const event& e) {
  std::string bytes;
  buffer::encode_event_v1(bytes, e);  // ids stay those of stores written before issue 12
  return hex_digest(bytes);
}

json::date_time utc_now() {
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  const auto ticks = std::chrono::duration_cast<std::chrono::nanoseconds>(since).count() / 100;
  return {json::unix_epoch_ticks + ticks, json::date_kind::utc};
}

std::string cut_text(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // not inside a character
  return std::string(text.substr(0, n)) + "...[+" + std::to_string(text.size() - n) + " bytes]";
}

failure bounded(const failure& f) {
  failure out{f.stage, f.type, cut_text(f.message, max_message_bytes), {}};
  const std::size_t keep = std::min(f.groups.size(), max_groups);
  for (std::size_t i = 0; i < keep; ++i) out.groups.push_back(cut_text(f.groups[i], max_group_text_bytes));
  if (f.groups.size() > keep) out.groups.push_back("...[+" + std::to_string(f.groups.size() - keep) + " groups]");
  return out;
}

std::string failure_line(std::string_view id, const json::date_time& time, const failure& f, const event* original) {
  bj::object o;
  o["v"] = 1;
  o["kind"] = "failure";
  o["id"] = id;
  o["time"] = json::format_roundtrip({time.ticks, json::date_kind::utc});
  put_failure(o, bounded(f));
  if (original) {
    bj::object ev;
    ev["body_base64"] = http::base64_encode(original->body);
    ev["properties"] = original->properties;
    ev["system_properties"] = original->system_properties;
    ev["enqueued_ticks"] = original->enqueued_time.ticks;
    ev["enqueued_kind"] = kind_name(original->enqueued_time.zone);
    ev["partition_key"] = original->partition_key;
    o["event"] = std::move(ev);
  }
  return bj::serialize(o);
}

std::string replayed_line(std::string_view id, const json::date_time& time) {
  bj::object o;
  o["v"] = 1;
  o["kind"] = "replayed";
  o["id"] = id;
  o["time"] = json::format_roundtrip({time.ticks, json::date_kind::utc});
  return bj::serialize(o);
}

bool parse_line(std::string_view text, bool full, parsed_line& out) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec || !v.is_object()) return false;
  const bj::object& o = v.get_object();
  const std::string_view kind = str(o, "kind");
  const auto time = time_of(o);
  out.id = std::string(str(o, "id"));
  if (out.id.empty() || !time) return false;
  out.time = *time;
  out.has_event = false;
  out.events = 0;
  out.failures.clear();
  out.group_bytes.clear();
  if (kind == "replayed") {
    out.kind = line_kind::replayed;
    out.why = {};
    return true;
  }
  out.why = failure_of(o);
  if (kind == "failure") {
    out.kind = line_kind::failure;
    const bj::value* ev = o.if_contains("event");
    if (ev) {
      if (!ev->is_object()) return false;
      if (full && !event_of(ev->get_object(), out.original)) return false;
      out.has_event = true;
      out.events = 1;
    }
    return true;
  }
  if (kind != "group") return false;
  out.kind = line_kind::group;
  const bj::value* n = o.if_contains("events");
  const bj::value* fs = o.if_contains("failures");
  if (!n || !n->is_int64() || n->get_int64() < 1 || n->get_int64() > UINT32_MAX || !fs || !fs->is_array() ||
      fs->get_array().empty())
    return false;
  out.events = static_cast<std::uint32_t>(n->get_int64());
  if (full) {
    for (const auto& f : fs->get_array()) {
      if (!f.is_object()) return false;
      out.failures.push_back(failure_of(f.get_object()));
    }
    auto bytes = http::base64_decode(str(o, "group"));
    if (!bytes) return false;
    out.group_bytes = std::move(*bytes);
  }
  return true;
}

}  // namespace iomt::transport::deadletter
