#include "mapping/fhir/value_processor.hpp"

#include "mapping/fhir/dotnet_decimal.hpp"
#include "mapping/fhir/sampled_data.hpp"
#include "mapping/fhir/text_util.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <algorithm>

namespace iomt::mapping::fhir {

namespace {

namespace bj = boost::json;

std::string_view value_key(value_kind k) {
  switch (k) {
    case value_kind::sampled_data:
      return "valueSampledData";
    case value_kind::quantity:
      return "valueQuantity";
    case value_kind::string:
      return "valueString";
    case value_kind::codeable_concept:
      return "valueCodeableConcept";
  }
  return "value";
}

// The Hl7.Fhir.Model class of an existing value[x] member ("valueDateTime" -> FhirDateTime).
std::string model_type_of(std::string_view key) {
  std::string_view t = key.substr(5);
  if (t == "String") return "Hl7.Fhir.Model.FhirString";
  if (t == "Boolean") return "Hl7.Fhir.Model.FhirBoolean";
  if (t == "DateTime") return "Hl7.Fhir.Model.FhirDateTime";
  return "Hl7.Fhir.Model." + std::string(t);
}

mapping_error null_reference() {
  return {"NullReferenceException", "Object reference not set to an instance of an object."};
}

mapping_error sample_period_null() {
  return {"ArgumentNullException", "Value cannot be null. (Parameter 'samplePeriod')"};
}

bj::object coding(const fhir_code& c) {
  bj::object o;
  if (c.system) o["system"] = *c.system;
  if (c.code) o["code"] = *c.code;
  if (c.display) o["display"] = *c.display;
  return o;
}

result<bj::value> create_sampled_data(const value_template& t, const observation_data& d) {
  if (!t.default_period_ms) return sample_period_null();
  auto stream = build_sampled_data(*d.values, d.observation_start, d.observation_end, *t.default_period_ms);
  if (!stream) return stream.error();
  bj::object origin;
  origin["value"] = 0;
  if (t.unit) origin["unit"] = *t.unit;
  bj::object sd;
  sd["origin"] = std::move(origin);
  sd["period"] = t.default_period;
  sd["dimensions"] = 1;
  sd["data"] = std::move(*stream);
  return bj::value(std::move(sd));
}

result<bj::value> create_quantity(const value_template& t, const observation_data& d) {
  const auto& values = *d.values;
  if (values.size() != 1)
    return mapping_error{"InvalidQuantityFhirValueException",
                         "Expected 1 value. Received " + std::to_string(values.size()) + "."};
  const decimal_result n = parse_dotnet_decimal(values.front().value);
  if (n.status != decimal_status::ok)
    return mapping_error{"InvalidQuantityFhirValueException",
                         "Error encountered processing value: " + std::string(values.front().value) + "."};
  bj::object q;
  q["value"] = n.number;
  if (t.unit) q["unit"] = *t.unit;
  if (t.system) q["system"] = *t.system;
  if (t.code) q["code"] = *t.code;
  return bj::value(std::move(q));
}

result<bj::value> create_string(const observation_data& d) {
  const auto& values = *d.values;
  // Enumerable.Single(): not wrapped, blocks upstream (iomt-spec §8.5, §13.2).
  if (values.size() > 1) return mapping_error{"InvalidOperationException", "Sequence contains more than one element"};
  if (values.empty()) return mapping_error{"InvalidOperationException", "Sequence contains no elements"};
  return bj::value(bj::string(values.front().value));
}

result<bj::value> create_codeable_concept(const value_template& t) {
  if (!t.codes) return null_reference();
  bj::object cc;
  if (!t.codes->empty()) {
    bj::array codings;
    for (const fhir_code& c : *t.codes) codings.push_back(coding(c));
    cc["coding"] = std::move(codings);
  }
  if (t.text) cc["text"] = *t.text;
  return bj::value(std::move(cc));
}

}  // namespace

const bj::key_value_pair* find_value_member(const bj::object& holder) noexcept {
  for (const bj::key_value_pair& kv : holder) {
    std::string_view k = kv.key();
    if (k.size() > 5 && k.substr(0, 5) == "value" && k[5] >= 'A' && k[5] <= 'Z') return &kv;
  }
  return nullptr;
}

result<value_element> create_value(const value_template& t, const observation_data& d) {
  result<bj::value> v = bj::value();
  switch (t.kind) {
    case value_kind::sampled_data:
      v = create_sampled_data(t, d);
      break;
    case value_kind::quantity:
      v = create_quantity(t, d);
      break;
    case value_kind::string:
      v = create_string(d);
      break;
    case value_kind::codeable_concept:
      v = create_codeable_concept(t);
      break;
  }
  if (!v) return v.error();
  return value_element{value_key(t.kind), std::move(*v)};
}

result<void> merge_value(const value_template& t, const observation_data& d, bj::object& holder) {
  const std::string_view expected_key = value_key(t.kind);
  const bj::key_value_pair* existing = find_value_member(holder);
  if (!existing || existing->key() != expected_key)
    return mapping_error{"NotSupportedException",
                         "Element existingValue expected to be of type " + std::string(fhir_type_name(t.kind)) +
                             ". Actual type is " + (existing ? model_type_of(existing->key()) : std::string("null")) +
                             "."};

  if (t.kind != value_kind::sampled_data) {
    auto created = create_value(t, d);
    if (!created) return created.error();
    holder[created->key] = std::move(created->value);  // same member, same position
    return {};
  }

  // SampledData (iomt-spec §9 step 4): parse the stored stream from the Observation's start with the
  // template's current period, merge (new wins on equal times), rebuild over the union period.
  bj::value& sv = holder[expected_key];
  if (!sv.is_object()) return null_reference();
  bj::object& sd = sv.as_object();
  if (const bj::value* dims = sd.if_contains("dimensions")) {
    const bool more = (dims->is_int64() && dims->get_int64() > 1) || (dims->is_uint64() && dims->get_uint64() > 1) ||
                      (dims->is_double() && dims->get_double() > 1);
    if (more)
      return mapping_error{"NotSupportedException",
                           "Existing Hl7.Fhir.Model.SampledData value has more than 1 dimension."};
  }
  const bj::value* data = sd.if_contains("data");
  if (!data || !data->is_string())
    return mapping_error{"ArgumentNullException", "Value cannot be null. (Parameter 'stream')"};
  const std::string stored(data->get_string());
  if (detail::is_blank(stored))
    return mapping_error{
        "ArgumentException",
        "The value cannot be an empty string or composed entirely of whitespace. (Parameter 'stream')"};
  if (!t.default_period_ms) return sample_period_null();

  auto existing_values = sampled_data_to_time_values(stored, d.observation_start, *t.default_period_ms);
  if (!existing_values) return existing_values.error();
  const std::vector<time_value> merged = merge_data(*existing_values, *d.values);
  auto stream = build_sampled_data(merged, std::min(d.data_start, d.observation_start),
                                   std::max(d.data_end, d.observation_end), *t.default_period_ms);
  if (!stream) return stream.error();
  sd["data"] = std::move(*stream);
  return {};
}

}  // namespace iomt::mapping::fhir
