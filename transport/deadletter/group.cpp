#include "transport/deadletter/group.hpp"

#include "mapping/json/dotnet.hpp"
#include "transport/buffer/record.hpp"
#include "transport/buffer/varint.hpp"
#include "transport/http/sas.hpp"

#include <boost/json.hpp>

namespace iomt::transport::deadletter {

namespace bj = boost::json;

namespace {

std::string key_of(const failure& f) {
  std::string k = f.message;
  for (const auto& g : f.groups) {
    k.push_back('\0');
    k += g;
  }
  return k;
}

bj::object to_object(const failure& f) {
  bj::object o;
  o["stage"] = f.stage;
  o["type"] = f.type;
  o["message"] = f.message;
  if (!f.groups.empty()) {
    bj::array a;
    for (const auto& g : f.groups) a.emplace_back(g);
    o["groups"] = std::move(a);
  }
  return o;
}

}  // namespace

bool group_builder::add(const id96& id, const event& e, const failure& f) {
  if (!ids_.insert(id).second) return false;
  failure why = bounded(f);
  why.stage = stage_;
  why.type = type_;
  std::string key = key_of(why);
  std::uint32_t index = 0;
  if (auto it = failure_index_.find(key); it != failure_index_.end()) {
    index = it->second;
  } else if (failures_.size() < max_group_failures) {
    index = static_cast<std::uint32_t>(failures_.size());
    failure_index_.emplace(std::move(key), index);
    failures_.push_back(std::move(why));
  } else {
    // One more failure for all the events past the limit, said once.
    const failure rest{stage_,
                       type_,
                       "(message not kept: more than " + std::to_string(max_group_failures) +
                           " different messages in one grouped entry)",
                       {}};
    std::string rest_key = key_of(rest);
    if (auto r = failure_index_.find(rest_key); r != failure_index_.end()) {
      index = r->second;
    } else {
      index = static_cast<std::uint32_t>(failures_.size());
      failure_index_.emplace(std::move(rest_key), index);
      failures_.push_back(rest);
    }
  }
  buffer::put_varint(bytes_, index);
  std::string payload;
  buffer::encode_event(payload, e, /*origin=*/false);  // readable by earlier versions' stores
  buffer::put_bytes(bytes_, payload);
  ++count_;
  return true;
}

std::string group_builder::take_line(const json::date_time& time, std::string* id_out) {
  const std::string id = hex_digest(bytes_);
  bj::object o;
  o["v"] = 2;
  o["kind"] = "group";
  o["id"] = id;
  o["time"] = json::format_roundtrip({time.ticks, json::date_kind::utc});
  o["stage"] = stage_;
  o["type"] = type_;
  o["message"] = failures_.empty() ? std::string() : failures_.front().message;
  o["events"] = count_;
  bj::array fs;
  for (const auto& f : failures_) fs.emplace_back(to_object(f));
  o["failures"] = std::move(fs);
  o["group"] = http::base64_encode(bytes_);
  std::string line = bj::serialize(o);
  if (id_out) *id_out = id;
  failures_.clear();
  failure_index_.clear();
  bytes_.clear();
  ids_.clear();
  count_ = 0;
  return line;
}

bool decode_group(std::string_view bytes, std::size_t failures, std::vector<grouped_event>& out) {
  while (!bytes.empty()) {
    std::uint64_t index = 0;
    std::string_view payload;
    if (!buffer::get_varint(bytes, index) || index >= failures || !buffer::get_bytes(bytes, payload)) return false;
    grouped_event g;
    g.failure = static_cast<std::uint32_t>(index);
    if (!buffer::decode_event(payload, g.original)) return false;
    out.push_back(std::move(g));
  }
  return true;
}

}  // namespace iomt::transport::deadletter
