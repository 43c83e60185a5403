#include "pipeline/trace/trace_json.hpp"

#include "mapping/json/dotnet.hpp"
#include "mapping/json/value.hpp"
#include "transport/http/encoding.hpp"

#include <simdjson.h>
#include <boost/json.hpp>

#include <charconv>

namespace iomt::pipeline::trace {

namespace {

namespace bjson = boost::json;
namespace bhttp = boost::beast::http;

std::string iso(std::int64_t ticks) { return json::format_iso({ticks, json::date_kind::utc}); }

std::string iso_ms(std::int64_t unix_ms) { return iso(json::unix_epoch_ticks + unix_ms * json::ticks_per_millisecond); }

// Properties are compact JSON objects; shown as objects (as text if they ever are not).
bjson::value embedded(const std::string& text) {
  boost::system::error_code ec;
  bjson::value v = bjson::parse(text, ec);
  if (ec) return bjson::string(text);
  return v;
}

bjson::object error_json(const error_brief& e) {
  bjson::object o;
  o["stage"] = e.stage;
  o["type"] = e.type;
  o["message"] = e.message;
  o["class"] = std::string(mapping::to_string(e.cls));
  return o;
}

bjson::object group_json(const group_brief& g) {
  bjson::object o;
  o["type"] = g.type;
  o["deviceId"] = g.device_id;
  o["measurements"] = g.measurements;
  o["start"] = iso(g.start_ticks);
  o["end"] = iso(g.end_ticks);
  if (!g.patient.empty()) o["patient"] = "Patient/" + g.patient;
  if (!g.device.empty()) o["device"] = "Device/" + g.device;
  if (g.encounter) o["encounter"] = "Encounter/" + *g.encounter;
  bjson::array obs;
  for (const auto& ob : g.observations) obs.push_back(bjson::object{{"id", ob.id}, {"operation", ob.operation}});
  o["observations"] = std::move(obs);
  bjson::array errors;
  for (const auto& e : g.errors) errors.push_back(error_json(e));
  o["errors"] = std::move(errors);
  return o;
}

transport::http::response json_response(bhttp::status status, const bjson::value& v,
                                        const transport::http::request& req) {
  transport::http::response res{status, req.version()};
  res.set(bhttp::field::content_type, "application/json; charset=utf-8");
  // Device data: never cached by a browser or a proxy.
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = bjson::serialize(v);
  res.body() += '\n';
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace

bjson::object to_json(const event_record& r) {
  bjson::object o;
  o["id"] = r.id;
  o["received"] = iso_ms(r.received_unix_ms);
  o["source"] = r.source;
  if (r.partition >= 0) o["partition"] = r.partition;
  if (!r.partition_key.empty()) o["partitionKey"] = r.partition_key;
  // The HTTP request that brought it (x-ms-request-id), and its index in a batch send.
  if (r.request_id) {
    bjson::object req{{"id", *r.request_id}};
    if (r.batch_index >= 0) req["index"] = r.batch_index;
    o["request"] = std::move(req);
  }
  o["systemProperties"] = embedded(r.system_properties);
  o["properties"] = embedded(r.properties);
  // The body as sent: text when it is UTF-8 (JSON cannot carry anything else), else base64.
  if (simdjson::validate_utf8(r.body.data(), r.body.size()))
    o["body"] = r.body;
  else
    o["bodyBase64"] = transport::http::base64_encode(r.body);
  o["bodyBytes"] = r.body_bytes;
  if (r.body_truncated) o["bodyTruncated"] = true;
  o["status"] = std::string(to_string(r.status));
  bjson::array devices;
  for (const auto& d : r.devices) devices.push_back(bjson::string(d));
  o["devices"] = std::move(devices);
  o["measurementCount"] = r.measurement_count;
  bjson::array ms;
  for (const auto& m : r.measurements) {
    bjson::object mo{{"type", m.type},
                     {"deviceId", m.device_id},
                     {"occurrenceTimeUtc", iso(m.occurrence_ticks)},
                     {"values", m.values}};
    if (m.patient_id) mo["patientId"] = *m.patient_id;
    if (m.encounter_id) mo["encounterId"] = *m.encounter_id;
    ms.push_back(std::move(mo));
  }
  o["measurements"] = std::move(ms);
  bjson::array groups;
  for (const auto& g : r.groups) groups.push_back(group_json(g));
  o["groups"] = std::move(groups);
  if (r.groups_omitted) o["groupsOmitted"] = r.groups_omitted;
  bjson::array errors;
  for (const auto& e : r.errors) errors.push_back(error_json(e));
  o["errors"] = std::move(errors);
  if (r.outcome) o["outcome"] = error_json(*r.outcome);
  return o;
}

boost::system::result<events_query, transport::http::http_error> parse_events_query(std::string_view query) {
  events_query q;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string_view raw = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    auto value = transport::http::url_decode(raw);
    if (!value)
      return transport::http::http_error{
          bhttp::status::bad_request, "query parameter '" + std::string(name.substr(0, 50)) + "' has a bad %-escape"};
    if (name == "device") {
      q.device = std::move(*value);
    } else if (name == "request") {
      q.request = std::move(*value);
    } else if (name == "limit") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
      if (ec != std::errc{} || p != value->data() + value->size() || n == 0 || n > max_query_limit)
        return transport::http::http_error{bhttp::status::bad_request, "limit must be a number from 1 to " +
                                                                           std::to_string(max_query_limit) + " (got '" +
                                                                           value->substr(0, 20) + "')"};
      q.limit = n;
    }
  }
  return q;
}

transport::http::response debug_events_response(const transport::http::request& req, const event_trace* trace,
                                                const transport::http::sas_verifier* auth, std::int64_t now_unix) {
  using transport::http::http_error;
  auto fail = [&](const http_error& e) {
    return transport::http::make_error_response(e, req.version(), req.keep_alive());
  };
  // Off: as if the route did not exist (nothing about the service's traffic is revealed).
  if (!trace || !trace->enabled())
    return fail({bhttp::status::not_found, "the event trace is off (debug.trace.enabled: false)"});
  if (req.method() != bhttp::verb::get) return fail({bhttp::status::method_not_allowed, "only GET is allowed"});
  if (auth) {
    auto ok = auth->verify(req[bhttp::field::authorization], debug_events_resource, now_unix);
    if (!ok)
      return fail({bhttp::status::unauthorized,
                   std::string("SAS ") + transport::http::to_string(ok.error().code) + ": " + ok.error().message +
                       " (the event trace takes a namespace-level token: sr = the service's address without a path)"});
  }
  const std::string_view target = req.target();
  const auto qpos = target.find('?');
  auto q = parse_events_query(qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1));
  if (!q) return fail(q.error());
  const std::vector<event_record> records = trace->query(q->device, q->limit, q->request);
  const trace_stats st = trace->stats();
  bjson::array events;
  for (const auto& r : records) events.push_back(to_json(r));
  bjson::object body;
  body["enabled"] = true;
  if (!q->device.empty()) body["device"] = q->device;
  if (!q->request.empty()) body["request"] = q->request;
  body["events"] = std::move(events);
  body["stats"] = bjson::object{{"events", st.events},
                                {"bytes", st.bytes},
                                {"recorded", st.recorded},
                                {"evicted", st.evicted},
                                {"maxEvents", trace->options().max_events},
                                {"maxBytes", trace->options().max_bytes}};
  return json_response(bhttp::status::ok, body, req);
}

}  // namespace iomt::pipeline::trace
