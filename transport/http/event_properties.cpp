#include "transport/http/event_properties.hpp"

#include "transport/http/eventhub_route.hpp"
#include "transport/http/json_scan.hpp"

#include <cstdio>
#include <vector>

namespace iomt::transport::http {
namespace {

// Headers of HTTP itself, of proxies and browsers, and of the Event Hubs send protocol: never
// application properties.
constexpr std::string_view standard_headers[] = {"Host",
                                                 "Content-Type",
                                                 "Content-Length",
                                                 "Content-Encoding",
                                                 "Authorization",
                                                 "Connection",
                                                 "Keep-Alive",
                                                 "User-Agent",
                                                 "Accept",
                                                 "Accept-Encoding",
                                                 "Accept-Language",
                                                 "Accept-Charset",
                                                 "Cache-Control",
                                                 "Pragma",
                                                 "BrokerProperties",
                                                 "Expect",
                                                 "Transfer-Encoding",
                                                 "TE",
                                                 "Trailer",
                                                 "Upgrade",
                                                 "Proxy-Authorization",
                                                 "Proxy-Connection",
                                                 "Via",
                                                 "Forwarded",
                                                 "X-Forwarded-For",
                                                 "X-Forwarded-Proto",
                                                 "X-Forwarded-Host",
                                                 "X-Real-IP",
                                                 "Cookie",
                                                 "Origin",
                                                 "Referer",
                                                 "Date",
                                                 "Postman-Token",
                                                 "x-ms-retrypolicy",
                                                 "If-Match",
                                                 "If-None-Match"};

bool set_member(broker_properties& bp, std::string_view name, std::string value) {
  struct entry {
    std::string_view name;
    std::optional<std::string> broker_properties::*member;
  };
  static constexpr entry table[] = {
      {"PartitionKey", &broker_properties::partition_key},
      {"SessionId", &broker_properties::session_id},
      {"MessageId", &broker_properties::message_id},
      {"CorrelationId", &broker_properties::correlation_id},
      {"Label", &broker_properties::label},
      {"To", &broker_properties::to},
      {"ReplyTo", &broker_properties::reply_to},
      {"ReplyToSessionId", &broker_properties::reply_to_session_id},
  };
  for (const auto& e : table)
    if (e.name == name) {
      bp.*e.member = std::move(value);
      return true;
    }
  return false;
}

void add_string(std::string& out, std::string_view name, std::string_view value) {
  if (out.size() > 1) out.push_back(',');
  json_scan::append_quoted(name, out);
  out.push_back(':');
  json_scan::append_quoted(value, out);
}

void add_optional(std::string& out, std::string_view name, const std::optional<std::string>& value) {
  if (value) add_string(out, name, *value);
}

}  // namespace

boost::system::result<broker_properties, http_error> parse_broker_properties(std::string_view json,
                                                                             std::string_view where) {
  auto bad = [&](std::string message) {
    return http_error{bhttp::status::bad_request, std::string(where) + ": " + message};
  };
  auto doc = json_scan::scan_document(json);
  if (!doc)
    return bad("not valid JSON (" + doc.error().message + " at byte " + std::to_string(doc.error().offset) + ")");
  if (json_scan::kind_of(*doc) != json_scan::value_kind::object) return bad("must be a JSON object");
  broker_properties bp;
  std::optional<http_error> failure;
  json_scan::for_each_member(*doc, [&](std::string_view key_token, std::string_view value) {
    if (failure) return;
    const std::string key = json_scan::decode_string(key_token);
    std::string text;
    switch (json_scan::kind_of(value)) {
      case json_scan::value_kind::null:
        return;
      case json_scan::value_kind::string:
        text = json_scan::decode_string(value);
        break;
      case json_scan::value_kind::object:
      case json_scan::value_kind::array:
        if (key == "PartitionKey" || key == "SessionId" || key == "MessageId" || key == "CorrelationId" ||
            key == "Label" || key == "To" || key == "ReplyTo" || key == "ReplyToSessionId")
          failure = bad("\"" + key + "\" must be a string");
        return;
      default:
        text = std::string(value);
        break;
    }
    set_member(bp, key, std::move(text));
  });
  if (failure) return *failure;
  if (bp.partition_key && bp.session_id && *bp.partition_key != *bp.session_id)
    return bad("SessionId and PartitionKey are both set and differ (they must be equal)");
  return bp;
}

bool is_standard_header(std::string_view name) noexcept {
  for (auto h : standard_headers)
    if (iequals(h, name)) return true;
  return false;
}

std::string header_properties(const bhttp::fields& fields) {
  // Few custom headers per request: a linear scan for repeats is cheaper than a map.
  std::vector<std::pair<std::string_view, std::string_view>> props;
  for (const auto& f : fields) {
    const std::string_view name = f.name_string();
    if (is_standard_header(name)) continue;
    bool repeated = false;
    for (auto& p : props)
      if (iequals(p.first, name)) {
        p.second = f.value();
        repeated = true;
      }
    if (!repeated) props.emplace_back(name, f.value());
  }
  std::string out = "{";
  for (const auto& [name, value] : props) add_string(out, name, value);
  out.push_back('}');
  return out;
}

std::string system_properties_json(const system_fields& f) {
  std::string out = "{";
  if (f.broker) {
    add_optional(out, "message-id", f.broker->message_id);
    add_optional(out, "to", f.broker->to);
    add_optional(out, "subject", f.broker->label);
    add_optional(out, "reply-to", f.broker->reply_to);
    add_optional(out, "correlation-id", f.broker->correlation_id);
  }
  if (!f.content_type.empty()) add_string(out, "content-type", f.content_type);
  if (f.broker) {
    add_optional(out, "group-id", f.broker->session_id);
    add_optional(out, "reply-to-group-id", f.broker->reply_to_session_id);
  }
  if (out.size() > 1) out.push_back(',');
  out += "\"x-opt-sequence-number\":";
  out += std::to_string(f.sequence_number);
  add_string(out, "x-opt-offset", std::to_string(f.offset));
  add_string(out, "x-opt-enqueued-time", f.enqueued_time);
  if (!f.publisher.empty()) add_string(out, "x-opt-publisher", f.publisher);
  if (f.broker) add_optional(out, "x-opt-partition-key", f.broker->partition_key);
  out.push_back('}');
  return out;
}

std::string format_enqueued_time(enqueue_clock_time t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> time{t - day};
  char buf[32];
  const int y = static_cast<int>(ymd.year());
  const unsigned mo = static_cast<unsigned>(ymd.month()), d = static_cast<unsigned>(ymd.day());
  const auto h = time.hours().count(), mi = time.minutes().count(), s = time.seconds().count();
  const auto ms = time.subseconds().count();
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02lld", y, mo, d, static_cast<int>(h),
                        static_cast<int>(mi), static_cast<long long>(s));
  std::string out(buf, static_cast<std::size_t>(n));
  if (ms != 0) {
    n = std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(ms));
    std::string frac(buf, static_cast<std::size_t>(n));
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  out.push_back('Z');
  return out;
}

json::date_time to_date_time(enqueue_clock_time t) noexcept {
  const std::int64_t ms = t.time_since_epoch().count();
  return {json::unix_epoch_ticks + ms * json::ticks_per_millisecond, json::date_kind::utc};
}

}  // namespace iomt::transport::http
