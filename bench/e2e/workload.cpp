#include "bench/e2e/workload.hpp"

#include "fhir/search.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <charconv>
#include <ctime>
#include <optional>

namespace iomt::bench {

namespace {

std::tm utc(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

void append_digits(std::string& out, long v, int width) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;
  for (auto n = end - buf.data(); n < width; ++n) out += '0';
  out.append(buf.data(), end);
}

template <typename T>
void append_number(std::string& out, T v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;
  out.append(buf.data(), end);
}

void append_date_time(std::int64_t unix_seconds, std::string& out, bool separators) {
  const std::tm tm = utc(unix_seconds);
  append_digits(out, tm.tm_year + 1900L, 4);
  if (separators) out += '-';
  append_digits(out, tm.tm_mon + 1L, 2);
  if (separators) out += '-';
  append_digits(out, tm.tm_mday, 2);
  if (separators) out += 'T';
  append_digits(out, tm.tm_hour, 2);
  if (separators) out += ':';
  append_digits(out, tm.tm_min, 2);
  if (separators) out += ':';
  append_digits(out, tm.tm_sec, 2);
}

// Placeholders put into the template before it is serialized, then cut out.
enum slot : int { slot_id, slot_value, slot_start, slot_end };
constexpr std::array<std::string_view, 4> placeholders{"@@BENCH_ID@@", "@@BENCH_VALUE@@", "@@BENCH_START@@",
                                                       "@@BENCH_END@@"};

}  // namespace

std::optional<workload_kind> parse_workload(std::string_view name) {
  if (name == "quantity") return workload_kind::quantity;
  if (name == "vitals" || name == "sampled") return workload_kind::vitals;
  return std::nullopt;
}

void append_iso_utc(std::int64_t unix_seconds, std::string& out) {
  append_date_time(unix_seconds, out, true);
  out += 'Z';
}

void append_compact_utc(std::int64_t unix_seconds, std::string& out) { append_date_time(unix_seconds, out, false); }

void append_roundtrip_utc(std::int64_t unix_seconds, std::string& out) {
  append_date_time(unix_seconds, out, true);
  out += ".0000000Z";
}

void append_json_escaped(std::string_view text, std::string& out) {
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
}

void workload::append_message(std::uint64_t seq, std::int64_t sent_unix_ns, std::string& out) const {
  const std::size_t n = devices ? devices : 1;
  const std::uint64_t device = seq % n;
  const auto round = static_cast<std::int64_t>(seq / n);
  out += "{\"sent_ns\":";
  append_number(out, sent_unix_ns);
  out += kind == workload_kind::quantity ? ",\"type\":\"HR\"" : ",\"type\":\"VITALS\"";
  out += ",\"data\":[{\"patient_id\":\"";
  out += prefix;
  out += "-p";
  append_digits(out, static_cast<long>(device), 5);
  out += "\",\"device_id\":\"";
  out += prefix;
  out += "-d";
  append_digits(out, static_cast<long>(device), 5);
  out += "\",\"utctimestamp\":\"";
  if (kind == workload_kind::quantity) {
    append_iso_utc(base_unix + round, out);
    out += "\",\"hr\":";
    append_number(out, 55 + static_cast<int>(seq % 61));
  } else {
    append_iso_utc(base_unix + round * 5, out);
    out += "\",\"spo2\":";
    append_number(out, 90 + static_cast<int>(seq % 10));
    out += ",\"hr\":";
    append_number(out, 55 + static_cast<int>(seq % 61));
    out += ",\"bloodperfusion\":1.14,\"steps\":";
    append_number(out, static_cast<int>(seq % 7));
    out += ",\"rrate\":";
    append_number(out, 12 + static_cast<int>(seq % 9));
    out += ",\"bodytemp\":33";
  }
  out += "}]}";
}

std::optional<observation_template> observation_template::parse(std::string_view observation_json, std::string& error) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(observation_json, ec);
  if (ec || !v.is_object()) {
    error = "the template is not a JSON object";
    return std::nullopt;
  }
  auto& o = v.get_object();
  // A search Bundle: take its first entry's resource.
  if (const auto* rt = o.if_contains("resourceType"); rt && rt->is_string() && rt->get_string() == "Bundle") {
    const auto* entries = o.if_contains("entry");
    if (!entries || !entries->is_array() || entries->get_array().empty() || !entries->get_array()[0].is_object() ||
        !entries->get_array()[0].get_object().contains("resource")) {
      error = "the Bundle has no entry with a resource";
      return std::nullopt;
    }
    boost::json::value first = entries->get_array()[0].get_object().at("resource");
    v = std::move(first);
    if (!v.is_object()) {
      error = "the Bundle's first resource is not an object";
      return std::nullopt;
    }
  }
  auto& obs = v.get_object();
  const auto* rt = obs.if_contains("resourceType");
  if (!rt || !rt->is_string() || rt->get_string() != "Observation") {
    error = "the template is not an Observation";
    return std::nullopt;
  }
  auto* ids = obs.if_contains("identifier");
  if (!ids || !ids->is_array() || ids->get_array().empty() || !ids->get_array()[0].is_object()) {
    error = "the Observation has no identifier";
    return std::nullopt;
  }
  auto& ident = ids->get_array()[0].get_object();
  const auto* sys = ident.if_contains("system");
  const auto* val = ident.if_contains("value");
  if (!val || !val->is_string()) {
    error = "the Observation's identifier has no value";
    return std::nullopt;
  }
  observation_template t;
  if (sys && sys->is_string()) t.system_ = std::string(sys->get_string());
  // "{patient}.{device}.{type}.{segment}": keep everything before the segment.
  std::string_view value = val->get_string();
  std::size_t cut = 0;
  for (int dots = 0; dots < 3 && cut != std::string_view::npos; ++dots) {
    cut = value.find('.', cut);
    if (cut != std::string_view::npos) ++cut;
  }
  t.value_prefix_ = cut == std::string_view::npos ? std::string(value) + "." : std::string(value.substr(0, cut));

  obs.erase("meta");  // what iomtflow sends has no meta
  obs["id"] = placeholders[slot_id];
  ident["value"] = placeholders[slot_value];
  auto& period = obs["effectivePeriod"];
  if (!period.is_object()) period = boost::json::object();
  period.get_object()["start"] = placeholders[slot_start];
  period.get_object()["end"] = placeholders[slot_end];
  obs.erase("effectiveDateTime");

  const std::string text = boost::json::serialize(obs);
  std::size_t pos = 0;
  for (;;) {
    std::size_t best = std::string::npos;
    int kind = -1;
    for (int k = 0; k < static_cast<int>(placeholders.size()); ++k) {
      const std::size_t at = text.find(placeholders[static_cast<std::size_t>(k)], pos);
      if (at < best) {
        best = at;
        kind = k;
      }
    }
    if (best == std::string::npos) {
      t.pieces_.push_back(text.substr(pos));
      break;
    }
    t.pieces_.push_back(text.substr(pos, best - pos));
    t.slots_.push_back(kind);
    pos = best + placeholders[static_cast<std::size_t>(kind)].size();
  }
  return t;
}

void observation_template::render(std::uint64_t seq, std::uint64_t nonce, rendered& out) const {
  // 64 hex characters like iomtflow's sha256 ids: 16 of run nonce + 48 of sequence number.
  static constexpr char hex[] = "0123456789abcdef";
  out.id.assign(64, '0');
  for (int i = 0; i < 16; ++i) out.id[static_cast<std::size_t>(15 - i)] = hex[(nonce >> (4 * i)) & 0xF];
  for (int i = 0; i < 16; ++i) out.id[static_cast<std::size_t>(63 - i)] = hex[(seq >> (4 * i)) & 0xF];
  // A distinct second per Observation, in 2030 so it never meets the device workloads' readings.
  const std::int64_t t =
      1893456000 + static_cast<std::int64_t>(seq) + static_cast<std::int64_t>(nonce % 1000) * 1000000;
  out.identifier_value = value_prefix_;
  append_compact_utc(t, out.identifier_value);
  out.identifier_value += "Z.";
  append_compact_utc(t, out.identifier_value);
  out.identifier_value += 'Z';

  out.body.clear();
  for (std::size_t i = 0; i < pieces_.size(); ++i) {
    out.body += pieces_[i];
    if (i >= slots_.size()) break;
    switch (slots_[i]) {
      case slot_id:
        out.body += out.id;
        break;
      case slot_value:
        append_json_escaped(out.identifier_value, out.body);
        break;
      case slot_start:
      case slot_end:
        append_roundtrip_utc(t, out.body);
        break;
      default:
        break;
    }
  }
}

void observation_template::append_entries(std::uint64_t first_seq, std::size_t count, std::uint64_t nonce,
                                          rendered& scratch, std::string& out, bool searches) const {
  out += R"({"resourceType":"Bundle","type":"batch","entry":[)";
  for (std::size_t i = 0; i < count; ++i) {
    render(first_seq + i, nonce, scratch);
    if (i) out += ',';
    if (searches) {
      out += R"({"request":{"method":"GET","url":")";
      // The query is percent-encoded: no character of it needs JSON escaping.
      out += iomt::fhir::identifier_query("Observation", system_, scratch.identifier_value);
    } else {
      out += R"({"resource":)";
      out += scratch.body;
      out += R"(,"request":{"method":"PUT","url":"Observation/)";
      out += scratch.id;
    }
    out += R"("}})";
  }
  out += "]}";
}

void observation_template::append_batch(std::uint64_t first_seq, std::size_t count, std::uint64_t nonce,
                                        rendered& scratch, std::string& out) const {
  append_entries(first_seq, count, nonce, scratch, out, false);
}

void observation_template::append_search_batch(std::uint64_t first_seq, std::size_t count, std::uint64_t nonce,
                                               rendered& scratch, std::string& out) const {
  append_entries(first_seq, count, nonce, scratch, out, true);
}

std::optional<batch_answer> read_batch_answer(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  const auto* bundle = ec ? nullptr : v.if_object();
  const auto* entries = bundle ? bundle->if_contains("entry") : nullptr;
  if (!entries || !entries->is_array()) return std::nullopt;
  batch_answer a;
  for (const auto& e : entries->get_array()) {
    ++a.entries;
    const auto* entry = e.if_object();
    const auto* response = entry ? entry->if_contains("response") : nullptr;
    const auto* status = response && response->is_object() ? response->get_object().if_contains("status") : nullptr;
    // Bundle.entry.response.status: "201 Created", "200", ...
    if (status && status->is_string() && !status->get_string().empty() && status->get_string()[0] == '2') {
      ++a.ok;
    } else if (a.first_failure.empty()) {
      a.first_failure = response ? boost::json::serialize(*response).substr(0, 300) : "(no response)";
    }
  }
  return a;
}

}  // namespace iomt::bench
