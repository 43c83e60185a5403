#include "pipeline/commands/mapping_session.hpp"

#include "mapping/fhir/value_check.hpp"

#include "mapping/fhir/compatibility.hpp"
#include "mapping/json/dotnet.hpp"
#include "mapping/json/envelope.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"
#include "pipeline/commands/offline_batch.hpp"

#include "fhir/batch_exchange.hpp"
#include "fhir/memory_exchange.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>

namespace iomt::pipeline {

namespace {

bool has_errors(const mapping::template_errors& errors) {
  return std::any_of(errors.begin(), errors.end(), [](const auto& e) { return !e.warning; });
}

boost::json::array errors_to_json(const mapping::template_errors& errors) {
  boost::json::array out;
  for (const auto& e : errors) {
    boost::json::object o{{"severity", e.warning ? "warning" : "error"}, {"type", e.type}, {"message", e.message}};
    if (e.template_index >= 0) o["templateIndex"] = e.template_index;
    if (!e.property.empty()) o["property"] = e.property;
    if (e.pos.line) {
      o["line"] = e.pos.line;
      o["column"] = e.pos.column;
    }
    out.push_back(std::move(o));
  }
  return out;
}

json::date_time now_utc() {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  return {json::unix_epoch_ticks + ns / 100, json::date_kind::utc};
}

// Body of an envelope file: ISO-looking strings become dates as they would when Event Hubs bytes
// are read (iomt-spec §2); Properties/SystemProperties keep strings (no sniffing there).
json::value sniff_body(const json::value& v, json::arena& a) {
  switch (v.type()) {
    case json::kind::string:
      if (auto d = json::sniff_date(v.as_string())) return json::value::date(*d);
      return v;
    case json::kind::array: {
      std::vector<json::value> items;
      items.reserve(v.size());
      for (const auto& e : v.as_array()) items.push_back(sniff_body(e, a));
      return a.array(items);
    }
    case json::kind::object: {
      std::vector<json::member> members;
      members.reserve(v.size());
      for (const auto& m : v.as_object()) members.push_back({m.key, sniff_body(m.val, a)});
      return a.object(members);
    }
    default:
      return v;
  }
}

std::string iso_utc(json::date_time t) {
  t.zone = json::date_kind::utc;
  return json::format_iso(t);
}

boost::json::object measurement_to_json(const mapping::measurement& m) {
  boost::json::object o{{"type", m.type}, {"deviceId", m.device_id}};
  if (m.patient_id) o["patientId"] = *m.patient_id;
  if (m.encounter_id) o["encounterId"] = *m.encounter_id;
  if (m.correlation_id) o["correlationId"] = *m.correlation_id;
  o["occurrenceTimeUtc"] = iso_utc(m.occurrence_time);
  boost::json::array props;
  for (const auto& p : m.properties) props.push_back(boost::json::object{{"name", p.name}, {"value", p.value}});
  o["properties"] = std::move(props);
  return o;
}

}  // namespace

void split_messages(const std::string& file, const std::string& text, std::vector<message_input>& out) {
  const bool ndjson = file.size() >= 7 && file.compare(file.size() - 7, 7, ".ndjson") == 0;
  if (!ndjson) {
    out.push_back({file, text});
    return;
  }
  std::size_t line_no = 0, pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    ++line_no;
    std::string line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos)
      out.push_back({file + ":" + std::to_string(line_no), std::move(line)});
    pos = nl + 1;
  }
}

mapping_session mapping_session::load(std::string_view device_mapping_json, std::string_view fhir_mapping_json) {
  mapping_session s;
  auto d = mapping::device::device_mapping::load(device_mapping_json);
  auto f = mapping::fhir::fhir_mapping::load(fhir_mapping_json);
  s.device_ = d.mapping;
  s.fhir_ = f.mapping;
  s.device_errors_ = std::move(d.errors);
  s.fhir_errors_ = std::move(f.errors);
  if (s.device_ && s.fhir_) {
    // Validator warnings (MappingValidator): a device type without a FHIR template, a device value
    // that no FHIR value or component represents; each at its template, property and line.
    std::vector<mapping::fhir::device_template_summary> summaries;
    for (const mapping::device::content_template& t : s.device_->templates()) {
      mapping::fhir::device_template_summary summary{t.type_name, std::nullopt, t.template_index, t.type_name_pos, {}};
      if (t.has_values) {
        summary.value_names.emplace();
        for (const auto& v : t.values) {
          summary.value_names->push_back(v.name);
          summary.value_pos.push_back(v.pos);
        }
      }
      summaries.push_back(std::move(summary));
    }
    for (auto& w : mapping::fhir::check_compatibility(summaries, *s.fhir_)) {
      w.warning = true;
      s.device_errors_.push_back(std::move(w));
    }
  }
  return s;
}

bool mapping_session::valid() const {
  return device_ && fhir_ && !has_errors(device_errors_) && !has_errors(fhir_errors_);
}

boost::json::object mapping_session::validation_report() const {
  return {{"valid", valid()},
          {"deviceMapping", boost::json::object{{"errors", errors_to_json(device_errors_)}}},
          {"fhirMapping", boost::json::object{{"errors", errors_to_json(fhir_errors_)}}}};
}

mapping::result<boost::json::object> mapping_session::run_test(const std::vector<message_input>& inputs,
                                                               const test_options& opt, std::string* bound_hit) const {
  // Where identities are resolved: memory (the --resources), over a live server read only.
  boost::asio::io_context ioc;
  std::unique_ptr<fhir::client> server;
  std::unique_ptr<fhir::batch_exchange> live;
  if (opt.identity.server) {
    auto c = fhir::client::create(ioc.get_executor(), *opt.identity.server);
    if (!c) return c.error();
    server = std::move(*c);
    live = std::make_unique<fhir::batch_exchange>(
        *server, fhir::exchange_options{
                     .bundles = false, .max_entries = 1, .max_in_flight = opt.identity.server->pool.max_connections});
  }
  fhir::memory_exchange identities(live.get());
  for (const auto& r : opt.identity.resources)
    if (auto added = identities.add(r); !added) return added.error();

  std::vector<mapping::measurement> measurements;
  std::vector<stage_error> errors;
  std::vector<std::string> warnings;
  const json::date_time issued = opt.issued.value_or(now_utc());
  json::body_reader reader;
  json::arena arena;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    arena.reset();
    const message_input& in = inputs[i];
    auto fail = [&](std::string type, std::string message) {
      errors.push_back({"normalization", std::move(type), std::move(message) + " (" + in.source + ")", {}});
    };
    json::value envelope;
    if (opt.envelope) {
      auto parsed = reader.read(in.text, arena, {.sniff_dates = false});
      if (!parsed || !parsed->is_object()) {
        fail("InvalidDataFormatException",
             "Invalid event message. Expected a {\"Body\",\"Properties\",\"SystemProperties\"} object" +
                 (parsed ? std::string() : ": " + parsed.error().message));
        continue;
      }
      const json::value* body = parsed->find("Body");
      const json::value* props = parsed->find("Properties");
      const json::value* sys = parsed->find("SystemProperties");
      envelope = json::make_envelope(body ? sniff_body(*body, arena) : json::value::null(),
                                     props ? *props : json::value{}, sys ? *sys : json::value{}, arena);
    } else {
      auto body = reader.read(in.text, arena);
      if (!body) {
        fail("InvalidDataFormatException", "Invalid event message. Cannot be parsed into a JSON object.");
        continue;
      }
      envelope = json::make_envelope(*body, json::value{}, json::value{}, arena);
    }
    const std::size_t before = measurements.size();
    auto r = device_->normalize(envelope, arena, measurements, opt.max_measurements);
    if (!r && r.error().type == "MeasurementLimitException") {
      const std::string why = "the test made more than " + std::to_string(opt.max_measurements) + " measurements (at " +
                              in.source +
                              "; designer.max_measurements): a typeMatchExpression that matches too much (such as "
                              "$..a[*] over a big body), or too many messages at once";
      if (bound_hit) {
        *bound_hit = why;
        return boost::json::object{};
      }
      fail("MeasurementLimitException", why);
      break;
    }
    // IngestionTimeUtc: messages are taken as enqueued in order, 1 ms apart (dedupe, iomt-spec §5).
    for (std::size_t k = before; k < measurements.size(); ++k)
      measurements[k].ingestion_time = json::date_time{
          issued.ticks + static_cast<std::int64_t>(i) * json::ticks_per_millisecond, json::date_kind::utc};
    if (!r) fail(r.error().type, r.error().message);
    // MappingValidator's per-message warning: no template matched (the event would be dropped).
    if (r && measurements.size() == before)
      warnings.push_back("No measurements were produced for the given device data. (" + in.source + ")");
  }

  // SampledData values that are not FHIR decimals fail their measurement (issue 13), as in `run`.
  std::erase_if(measurements, [&](const mapping::measurement& m) {
    auto tpl = fhir_->get(m.type);
    if (!tpl) return false;
    auto bad = mapping::fhir::check_sampled_data_values(**tpl, m);
    if (bad) errors.push_back({"fhirConversion", bad->type, bad->message, {}});
    return bad.has_value();
  });
  offline_batch batch(*fhir_, {opt.device_identifier_system, issued, opt.identity.mode}, identities, ioc);
  batch.convert(measurements, errors);

  boost::json::object out;
  boost::json::array ms, obs, errs;
  for (const auto& m : measurements) ms.push_back(measurement_to_json(m));
  for (const auto* o : batch.store().all_of("Observation")) obs.push_back(*o);
  for (const auto& e : errors) {
    boost::json::object o{{"stage", e.stage}, {"type", e.type}, {"message", e.message}};
    if (!e.exception.empty()) o["exception"] = e.exception;
    errs.push_back(std::move(o));
  }
  out["measurements"] = std::move(ms);
  out["observations"] = std::move(obs);
  out["errors"] = std::move(errs);
  boost::json::array warns;
  for (auto& w : warnings) warns.push_back(boost::json::object{{"stage", "normalization"}, {"message", std::move(w)}});
  out["warnings"] = std::move(warns);
  // How identities were resolved, and what Create mode would write to the server (never written here).
  boost::json::array written;
  for (const auto& w : identities.written()) written.push_back(boost::json::string(w));
  boost::json::object id{{"mode", fhir::to_string(opt.identity.mode)},
                         {"source", server                           ? "server"
                                    : opt.identity.resources.empty() ? "empty"
                                                                     : "resources"},
                         {"wouldWrite", std::move(written)}};
  if (server) id["serverSearches"] = identities.server_searches();
  out["identity"] = std::move(id);
  return out;
}

}  // namespace iomt::pipeline
