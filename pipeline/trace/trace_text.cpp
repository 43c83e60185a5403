#include "pipeline/trace/trace_text.hpp"

#include <boost/json.hpp>

namespace iomt::pipeline::trace {

namespace {

namespace bjson = boost::json;

std::string str(const bjson::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key)) {
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_null()) return {};
    return bjson::serialize(*v);
  }
  return {};
}

const bjson::array& arr(const bjson::object& o, std::string_view key) {
  static const bjson::array empty;
  if (auto* v = o.if_contains(key); v && v->is_array()) return v->get_array();
  return empty;
}

// "x-opt-sequence-number 5, x-opt-offset 640" from the Event Hubs system properties that say
// where the event sat in its partition.
std::string position(const bjson::object& ev) {
  std::string out;
  const auto* sys = ev.if_contains("systemProperties");
  if (!sys || !sys->is_object()) return out;
  for (const char* key : {"x-opt-partition-id", "x-opt-sequence-number", "x-opt-offset", "x-opt-publisher",
                          "x-opt-enqueued-time", "message-id"}) {
    const std::string v = str(sys->get_object(), key);
    if (v.empty()) continue;
    if (!out.empty()) out += ", ";
    out += std::string(key) + " " + v;
  }
  return out;
}

void error_line(std::string& out, const char* indent, const bjson::object& e) {
  out += indent;
  out +=
      "error: " + str(e, "type") + " (" + str(e, "class") + ", " + str(e, "stage") + "): " + str(e, "message") + "\n";
}

}  // namespace

std::string describe_events(const bjson::value& answer, const text_options& options) {
  std::string out;
  if (!answer.is_object()) return "not an event trace answer\n";
  const bjson::object& a = answer.get_object();
  const bjson::array& events = arr(a, "events");
  if (events.empty()) {
    const std::string device = str(a, "device");
    const std::string request = str(a, "request");
    if (device.empty() && request.empty()) return "no events traced yet\n";
    out += "no traced event";
    if (!device.empty()) out += " of device '" + device + "'";
    if (!request.empty()) out += std::string(device.empty() ? "" : " and") + " of request '" + request + "'";
    out += " (the trace holds the last debug.trace.max_events events; is the id right?)\n";
    return out;
  }
  for (const auto& v : events) {
    if (!v.is_object()) continue;
    const bjson::object& ev = v.get_object();
    out += "event " + str(ev, "id") + "  received " + str(ev, "received") + "  from " + str(ev, "source");
    if (const std::string p = str(ev, "partition"); !p.empty()) out += " partition " + p;
    if (const std::string pk = str(ev, "partitionKey"); !pk.empty()) out += "  partition key " + pk;
    out += "\n";
    if (const auto* rq = ev.if_contains("request"); rq && rq->is_object()) {
      out += "  request: " + str(rq->get_object(), "id");
      if (const std::string i = str(rq->get_object(), "index"); !i.empty()) out += ", batch item " + i;
      out += "\n";
    }
    if (const std::string pos = position(ev); !pos.empty()) out += "  at: " + pos + "\n";
    std::string body = str(ev, "body");
    const bool base64 = body.empty() && ev.contains("bodyBase64");
    if (base64) body = "(not UTF-8 text: " + str(ev, "bodyBytes") + " bytes, base64 in --json)";
    // One line: runs of white space (a pretty-printed message's indentation) become one space.
    std::string line;
    for (char c : body) {
      const bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
      if (space && (line.empty() || line.back() == ' ')) continue;
      line.push_back(space ? ' ' : c);
    }
    body = std::move(line);
    if (options.body_chars && body.size() > options.body_chars) body = body.substr(0, options.body_chars) + "...";
    out += "  body: " + body +
           (ev.contains("bodyTruncated") ? " (cut: the trace keeps a quarter of debug.trace.max_bytes)" : "") + "\n";
    const bjson::array& ms = arr(ev, "measurements");
    out += "  measurements: " + str(ev, "measurementCount");
    if (ms.size() <
        static_cast<std::size_t>(ev.contains("measurementCount") ? ev.at("measurementCount").to_number<double>() : 0))
      out += " (first " + std::to_string(ms.size()) + " shown)";
    out += "\n";
    for (const auto& mv : ms) {
      const bjson::object& m = mv.get_object();
      out += "    " + str(m, "type") + "  device " + str(m, "deviceId");
      if (const std::string p = str(m, "patientId"); !p.empty()) out += "  patient " + p;
      if (const std::string e = str(m, "encounterId"); !e.empty()) out += "  encounter " + e;
      out += "  at " + str(m, "occurrenceTimeUtc") + "  " + str(m, "values") + " value(s)\n";
    }
    for (const auto& gv : arr(ev, "groups")) {
      const bjson::object& g = gv.get_object();
      out += "  group " + str(g, "type") + " of device " + str(g, "deviceId") + ", " + str(g, "measurements") +
             " measurement(s) " + str(g, "start");
      if (str(g, "end") != str(g, "start")) out += ".." + str(g, "end");
      out += "\n";
      std::string ids;
      for (const char* k : {"patient", "device", "encounter"})
        if (const std::string s = str(g, k); !s.empty()) ids += (ids.empty() ? "" : "  ") + s;
      if (!ids.empty()) out += "    identity: " + ids + "\n";
      for (const auto& ov : arr(g, "observations")) {
        const bjson::object& o = ov.get_object();
        out += "    Observation/" + str(o, "id") + "  " + str(o, "operation") + "\n";
      }
      for (const auto& e : arr(g, "errors")) error_line(out, "    ", e.get_object());
    }
    if (const std::string omitted = str(ev, "groupsOmitted"); !omitted.empty())
      out += "  (" + omitted + " more groups not kept)\n";
    for (const auto& e : arr(ev, "errors")) error_line(out, "  ", e.get_object());
    const std::string status = str(ev, "status");
    out += "  status: " + status;
    if (const auto* o = ev.if_contains("outcome"); o && o->is_object()) {
      const bjson::object& f = o->get_object();
      const std::string cls = str(f, "class");
      out += ", " + cls + ": " + str(f, "type") + ": " + str(f, "message") + "\n";
      const std::string cfg = options.config_path.empty() ? "FILE" : options.config_path;
      if (cls == "permanent")
        out +=
            "  -> kept in the dead-letter store: fix the mapping (iomtflow designer: open this event), then\n"
            "     iomtflow deadletter replay --type " +
            str(f, "type") + " --config " + cfg + "\n";
      else
        out += "  -> the event waits and is retried by its source (a new trace entry per attempt)\n";
    } else if (status == "no measurements") {
      out += "\n  -> no device mapping template matched this message (typeMatchExpression): upstream drops it too\n";
    } else if (status == "pending") {
      out += " (not every measurement has its final outcome yet)\n";
    } else {
      out += "\n";
    }
    out += "\n";
  }
  return out;
}

}  // namespace iomt::pipeline::trace
