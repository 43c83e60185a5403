#include "mapping/fhir/observation_builder.hpp"

#include "mapping/fhir/fhir_datetime.hpp"
#include "mapping/fhir/text_util.hpp"
#include "mapping/fhir/value_processor.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>

namespace iomt::mapping::fhir {

namespace {

namespace bj = boost::json;

bj::object coding(const fhir_code& c) {
  bj::object o;
  if (c.system) o["system"] = *c.system;
  if (c.code) o["code"] = *c.code;
  if (c.display) o["display"] = *c.display;
  return o;
}

// ResolveCode: template codings, then {service system, type, type}; text = type.
bj::object resolve_code(std::string_view type, const std::vector<fhir_code>& codes) {
  bj::array codings;
  codings.reserve(codes.size() + 1);
  for (const fhir_code& c : codes) codings.push_back(coding(c));
  codings.push_back(bj::object{{"system", service_system}, {"code", type}, {"display", type}});
  return bj::object{{"coding", std::move(codings)}, {"text", type}};
}

// ResolveCategory: each entry -> CodeableConcept {coding?, text?}.
bj::array resolve_category(const std::vector<fhir_codeable_concept>& categories) {
  bj::array out;
  for (const fhir_codeable_concept& c : categories) {
    bj::object cc;
    if (c.codes && !c.codes->empty()) {
      bj::array codings;
      for (const fhir_code& code : *c.codes) codings.push_back(coding(code));
      cc["coding"] = std::move(codings);
    }
    if (c.text) cc["text"] = *c.text;
    out.push_back(std::move(cc));
  }
  return out;
}

bj::object period(json::date_time start, json::date_time end) {
  return bj::object{{"start", format_period_time(start)}, {"end", format_period_time(end)}};
}

// The template component's value name, failing as upstream does on missing pieces.
result<std::string_view> component_value_name(const component_template& c) {
  if (!c.value) return mapping_error{"NullReferenceException", "Object reference not set to an instance of an object."};
  if (!c.value->value_name) return mapping_error{"ArgumentNullException", "Value cannot be null. (Parameter 'key')"};
  return std::string_view(*c.value->value_name);
}

result<bj::object> create_component(const component_template& c, std::string_view name, const observation_data& d) {
  auto v = create_value(*c.value, d);
  if (!v) return v.error();
  bj::object comp;
  comp["code"] = resolve_code(name, c.codes);
  comp[v->key] = std::move(v->value);
  return comp;
}

// FHIR R4 Observation element order (the SDK serializer writes elements in this order).
constexpr std::array<std::string_view, 33> observation_order = {"resourceType",
                                                                "id",
                                                                "meta",
                                                                "implicitRules",
                                                                "language",
                                                                "text",
                                                                "contained",
                                                                "extension",
                                                                "modifierExtension",
                                                                "identifier",
                                                                "basedOn",
                                                                "partOf",
                                                                "status",
                                                                "category",
                                                                "code",
                                                                "subject",
                                                                "focus",
                                                                "encounter",
                                                                "effective",
                                                                "issued",
                                                                "performer",
                                                                "value",
                                                                "dataAbsentReason",
                                                                "interpretation",
                                                                "note",
                                                                "bodySite",
                                                                "method",
                                                                "specimen",
                                                                "device",
                                                                "referenceRange",
                                                                "hasMember",
                                                                "derivedFrom",
                                                                "component"};

// Rank of a member name; choice elements ("effectivePeriod", "valueQuantity") rank as their stem.
std::size_t rank_of(std::string_view key) {
  for (std::size_t i = 0; i < observation_order.size(); ++i) {
    const std::string_view n = observation_order[i];
    if (key == n) return i;
    if ((n == "effective" || n == "value") && key.size() > n.size() && key.substr(0, n.size()) == n &&
        key[n.size()] >= 'A' && key[n.size()] <= 'Z')
      return i;
  }
  return observation_order.size();  // unknown members keep their relative order at the end
}

bj::object in_fhir_order(bj::object o) {
  std::vector<std::pair<std::size_t, std::size_t>> order;  // (rank, original index)
  order.reserve(o.size());
  std::size_t i = 0;
  for (const bj::key_value_pair& kv : o) order.emplace_back(rank_of(kv.key()), i++);
  if (std::is_sorted(order.begin(), order.end())) return o;
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<bj::key_value_pair*> items;
  items.reserve(o.size());
  for (bj::key_value_pair& kv : o) items.push_back(&kv);
  bj::object out(o.storage());
  out.reserve(o.size());
  for (const auto& [rank, idx] : order) out.emplace(items[idx]->key(), std::move(items[idx]->value()));
  return out;
}

bool numbers_equal(const bj::value& a, const bj::value& b) noexcept {
  if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
  if (a.is_int64() && b.is_uint64())
    return a.get_int64() >= 0 && static_cast<std::uint64_t>(a.get_int64()) == b.get_uint64();
  if (a.is_uint64() && b.is_int64())
    return b.get_int64() >= 0 && static_cast<std::uint64_t>(b.get_int64()) == a.get_uint64();
  return a.to_number<double>() == b.to_number<double>();
}

bool equal_at(const bj::value& a, const bj::value& b, int depth) noexcept;

bool objects_equal(const bj::object& x, const bj::object& y, int depth) noexcept {
  if (x.size() != y.size()) return false;
  for (const bj::key_value_pair& kv : x) {
    const bj::value* o = y.if_contains(kv.key());
    if (!o || !equal_at(kv.value(), *o, depth + 1)) return false;
  }
  return true;
}

bool equal_at(const bj::value& a, const bj::value& b, int depth) noexcept {
  if (depth > 256) return false;  // pathological nesting: report "changed" rather than recurse on
  const bool an = a.is_number(), bn = b.is_number();
  if (an || bn) return an && bn && numbers_equal(a, b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case bj::kind::null:
      return true;
    case bj::kind::bool_:
      return a.get_bool() == b.get_bool();
    case bj::kind::string:
      return a.get_string() == b.get_string();
    case bj::kind::array: {
      const bj::array& x = a.get_array();
      const bj::array& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!equal_at(x[i], y[i], depth + 1)) return false;
      return true;
    }
    case bj::kind::object:
      return objects_equal(a.get_object(), b.get_object(), depth);
    default:
      return false;
  }
}

// Removes `key` keeping the order of the other members (Boost 1.81 object::erase moves the last
// member into the hole).
void stable_erase(bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return;
  if (std::next(it) == o.end()) {
    o.erase(it);
    return;
  }
  bj::object rebuilt(o.storage());
  rebuilt.reserve(o.size());
  for (bj::key_value_pair& kv : o)
    if (kv.key() != key) rebuilt.emplace(kv.key(), std::move(kv.value()));
  o = std::move(rebuilt);
}

mapping_error effective_null() { return {"ArgumentNullException", "Value cannot be null. (Parameter 'Effective')"}; }

mapping_error bad_datetime(std::string_view text) {
  return {"FormatException", "String '" + std::string(text) + "' was not recognized as a valid DateTime."};
}

result<std::int64_t> parse_element(const bj::object& p, std::string_view member) {
  const bj::value* v = p.if_contains(member);
  if (!v || v->is_null())
    return mapping_error{"ArgumentNullException", "Value cannot be null. (Parameter 'fhirDateTime')"};
  if (!v->is_string()) return bad_datetime(bj::serialize(*v));
  auto t = parse_fhir_datetime(v->get_string());
  if (!t) return bad_datetime(v->get_string());
  return *t;
}

// GetObservationPeriod (iomt-spec §9 step 3): effectiveDateTime or effectivePeriod, as UTC.
result<std::pair<std::int64_t, std::int64_t>> observation_period(const bj::object& obs) {
  for (const bj::key_value_pair& kv : obs) {
    const std::string_view k = kv.key();
    if (k.size() <= 9 || k.substr(0, 9) != "effective" || k[9] < 'A' || k[9] > 'Z') continue;
    if (kv.value().is_null()) continue;
    const std::string_view type = k.substr(9);
    if (type == "DateTime") {
      if (!kv.value().is_string()) return bad_datetime(bj::serialize(kv.value()));
      auto t = parse_fhir_datetime(kv.value().get_string());
      if (!t) return bad_datetime(kv.value().get_string());
      return std::pair{*t, *t};
    }
    if (type == "Period") {
      if (!kv.value().is_object()) return effective_null();
      auto s = parse_element(kv.value().get_object(), "start");
      if (!s) return s.error();
      auto e = parse_element(kv.value().get_object(), "end");
      if (!e) return e.error();
      return std::pair{*s, *e};
    }
    return mapping_error{"NotSupportedException",
                         "Observation effective type of Hl7.Fhir.Model." + std::string(type) + " is not supported."};
  }
  return effective_null();
}

// Whether an existing component carries the coding {service system, valueName}.
result<bool> has_service_coding(const bj::value& component, std::string_view value_name) {
  const bj::object* c = component.if_object();
  const bj::value* code = c ? c->if_contains("code") : nullptr;
  if (!code || !code->is_object())
    return mapping_error{"NullReferenceException", "Object reference not set to an instance of an object."};
  const bj::value* codings = code->get_object().if_contains("coding");
  if (!codings || !codings->is_array()) return false;
  for (const bj::value& cv : codings->get_array()) {
    const bj::object* co = cv.if_object();
    if (!co) continue;
    const bj::value* cc = co->if_contains("code");
    const bj::value* cs = co->if_contains("system");
    if (cc && cs && cc->is_string() && cs->is_string() && cc->get_string() == value_name &&
        cs->get_string() == service_system)
      return true;
  }
  return false;
}

}  // namespace

bool fhir_equal(const bj::value& a, const bj::value& b) noexcept { return equal_at(a, b, 0); }

result<bj::object> create_observation(const observation_group& group, const code_value_template& tpl,
                                      const resource_ids& ids, json::date_time issued) {
  // GenerateObservation: Ensure.String.IsNotNullOrWhiteSpace on both ids.
  if (detail::is_blank(ids.patient))
    return mapping_error{
        "ArgumentException",
        "The value cannot be an empty string or composed entirely of whitespace. (Parameter 'Patient')"};
  if (detail::is_blank(ids.device))
    return mapping_error{
        "ArgumentException",
        "The value cannot be an empty string or composed entirely of whitespace. (Parameter 'Device')"};

  const observation_data data_template{group.start.ticks, group.end.ticks, group.start.ticks, group.end.ticks, nullptr};

  // value[x] (§8.1): only when valueName is non-blank and the group has that property.
  std::optional<value_element> main_value;
  if (tpl.value && !detail::is_blank(tpl.value->value_name)) {
    if (const auto* values = group.values_of(*tpl.value->value_name)) {
      observation_data d = data_template;
      d.values = values;
      auto v = create_value(*tpl.value, d);
      if (!v) return v.error();
      main_value = std::move(*v);
    }
  }
  bj::array components;
  if (tpl.components) {
    for (const component_template& c : *tpl.components) {
      auto name = component_value_name(c);
      if (!name) return name.error();
      const auto* values = group.values_of(*name);
      if (!values) continue;
      observation_data d = data_template;
      d.values = values;
      auto comp = create_component(c, *name, d);
      if (!comp) return comp.error();
      components.push_back(std::move(*comp));
    }
  }

  const observation_identifier identifier = make_identifier(ids, group);
  bj::object obs;
  obs.reserve(14);
  obs["resourceType"] = "Observation";
  obs["id"] = observation_id(identifier);
  obs["identifier"] = bj::array{bj::object{{"system", identifier.system}, {"value", identifier.value}}};
  obs["status"] = "final";
  if (tpl.category && !tpl.category->empty()) obs["category"] = resolve_category(*tpl.category);
  obs["code"] = resolve_code(group.name, tpl.codes);
  obs["subject"] = bj::object{{"reference", "Patient/" + ids.patient}};
  if (ids.encounter) obs["encounter"] = bj::object{{"reference", "Encounter/" + *ids.encounter}};
  obs["effectivePeriod"] = period(group.start, group.end);
  obs["issued"] = format_issued(issued);
  if (main_value) obs[main_value->key] = std::move(main_value->value);
  obs["device"] = bj::object{{"reference", "Device/" + ids.device}};
  if (!components.empty()) obs["component"] = std::move(components);
  return obs;
}

result<merge_outcome> merge_observation(const bj::object& existing, const observation_group& group,
                                        const code_value_template& tpl) {
  bj::object obs = existing;  // deep copy

  // 2. category := template category, or removed.
  stable_erase(obs, "category");
  if (tpl.category && !tpl.category->empty()) obs["category"] = resolve_category(*tpl.category);

  // 3. The Observation's current period.
  auto op = observation_period(obs);
  if (!op) return op.error();
  const auto [os, oe] = *op;
  const observation_data base{group.start.ticks, group.end.ticks, os, oe, nullptr};

  // 4. Main value.
  if (tpl.value && !detail::is_blank(tpl.value->value_name)) {
    if (const auto* values = group.values_of(*tpl.value->value_name)) {
      observation_data d = base;
      d.values = values;
      auto r = merge_value(*tpl.value, d, obs);
      if (!r) return r.error();
    }
  }

  // 5. Components: merge into the first one coded {service system, valueName}, else append.
  if (tpl.components && !tpl.components->empty()) {
    bj::array comps;
    if (const bj::value* c = obs.if_contains("component"); c && c->is_array()) comps = c->get_array();
    for (const component_template& c : *tpl.components) {
      auto name = component_value_name(c);
      if (!name) return name.error();
      const auto* values = group.values_of(*name);
      if (!values) continue;
      observation_data d = base;
      d.values = values;
      bj::object* found = nullptr;
      for (bj::value& existing_comp : comps) {
        auto has = has_service_coding(existing_comp, *name);
        if (!has) return has.error();
        if (*has) {
          found = &existing_comp.get_object();
          break;
        }
      }
      if (found) {
        auto r = merge_value(*c.value, d, *found);
        if (!r) return r.error();
      } else {
        auto comp = create_component(c, *name, d);
        if (!comp) return comp.error();
        comps.push_back(std::move(*comp));
      }
    }
    if (!comps.empty()) obs["component"] = std::move(comps);
  }

  // 6. effectivePeriod := (min, max), Utc-kind "o" strings; replaces any effective[x].
  const std::int64_t start = std::min(group.start.ticks, os);
  const std::int64_t end = std::max(group.end.ticks, oe);
  for (bool again = true; again;) {
    again = false;
    for (const bj::key_value_pair& kv : obs) {
      const std::string_view k = kv.key();
      if (k.size() > 9 && k.substr(0, 9) == "effective" && k[9] >= 'A' && k[9] <= 'Z' && k != "effectivePeriod") {
        stable_erase(obs, std::string(k));
        again = true;
        break;
      }
    }
  }
  obs["effectivePeriod"] = period({start, json::date_kind::utc}, {end, json::date_kind::utc});

  // 8. AmendIfChanged.
  merge_outcome out;
  out.changed = !objects_equal(obs, existing, 0);
  if (out.changed) obs["status"] = "amended";
  out.observation = in_fhir_order(std::move(obs));
  return out;
}

}  // namespace iomt::mapping::fhir
