#include "transport/deadletter/entry.hpp"

#include "mapping/json/dotnet.hpp"
#include "transport/buffer/record.hpp"
#include "transport/http/sas.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>

#include <chrono>

namespace iomt::transport::deadletter {

namespace bj = boost::json;

namespace {

const char* kind_name(json::date_kind k) {
  switch (k) {
    case json::date_kind::utc: return "utc";
    case json::date_kind::local: return "local";
    case json::date_kind::unspecified: return "unspecified";
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

}  // namespace

std::string event_id(const event& e) {
  std::string bytes;
  buffer::encode_event_v1(bytes, e);  // ids stay those of stores written before issue 12
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

json::date_time utc_now() {
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  const auto ticks = std::chrono::duration_cast<std::chrono::nanoseconds>(since).count() / 100;
  return {json::unix_epoch_ticks + ticks, json::date_kind::utc};
}

std::string failure_line(std::string_view id, const json::date_time& time, const failure& f, const event* original) {
  bj::object o;
  o["v"] = 1;
  o["kind"] = "failure";
  o["id"] = id;
  o["time"] = json::format_roundtrip({time.ticks, json::date_kind::utc});
  o["stage"] = f.stage;
  o["type"] = f.type;
  o["message"] = f.message;
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

void folder::add_text(std::string_view text) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (!line.empty()) add_line(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

void folder::add_line(std::string_view line) {
  boost::system::error_code ec;
  bj::value v = bj::parse(line, ec);
  if (ec || !v.is_object()) {
    ++damaged_;
    return;
  }
  const bj::object& o = v.get_object();
  const std::string id(str(o, "id"));
  const std::string_view kind = str(o, "kind");
  const auto time = time_of(o);
  if (id.empty() || !time || (kind != "failure" && kind != "replayed")) {
    ++damaged_;
    return;
  }
  auto it = index_.find(id);
  if (kind == "replayed") {
    if (it != index_.end()) entries_[it->second].replayed = *time;
    return;
  }
  failure f{std::string(str(o, "stage")), std::string(str(o, "type")), std::string(str(o, "message"))};
  if (it == index_.end()) {
    const bj::value* ev = o.if_contains("event");
    entry e;
    if (!ev || !ev->is_object() || !event_of(ev->get_object(), e.original)) {
      ++damaged_;  // the first line of an id must carry the event
      return;
    }
    e.id = id;
    e.first = f;
    e.last = std::move(f);
    e.first_failure = e.last_failure = *time;
    e.attempts = 1;
    index_.emplace(id, entries_.size());
    entries_.push_back(std::move(e));
    return;
  }
  entry& e = entries_[it->second];
  e.last = std::move(f);
  e.last_failure = *time;
  ++e.attempts;
}

std::vector<entry> folder::take() {
  index_.clear();
  return std::move(entries_);
}

}  // namespace iomt::transport::deadletter
