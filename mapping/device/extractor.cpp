#include "mapping/device/extractor.hpp"

#include "mapping/device/device_errors.hpp"
#include "mapping/device/dotnet_text.hpp"
#include "mapping/json/dotnet.hpp"

#include <initializer_list>
#include <string>
#include <vector>

namespace iomt::mapping::device::detail {

namespace {

using expression_slot = const std::optional<compiled_expression>*;

// One entry of the AggregateException upstream builds when a required value cannot be had.
struct cause {
  std::string message;
  std::string inner;  // the .NET conversion exception's message, if any
};

const char* dotnet_type_name(const json::value& v) {
  switch (v.type()) {
    case json::kind::integer:
      return "Int64";
    case json::kind::floating:
      return "Double";
    case json::kind::boolean:
      return "Boolean";
    case json::kind::date:
      return "DateTime";
    default:
      return "String";
  }
}

// What Newtonsoft's token.Value<T>() throws when the conversion fails (iomt-spec §3.5).
std::string conversion_failure(const json::value& v, bool to_date) {
  switch (v.type()) {
    case json::kind::object:
      return "Cannot cast Newtonsoft.Json.Linq.JObject to Newtonsoft.Json.Linq.JToken.";
    case json::kind::array:
      return "Cannot cast Newtonsoft.Json.Linq.JArray to Newtonsoft.Json.Linq.JToken.";
    case json::kind::big_integer:
      return "Object must implement IConvertible.";
    case json::kind::string:
      if (to_date) return "String '" + std::string(v.as_string()) + "' was not recognized as a valid DateTime.";
      break;
    default:
      if (to_date) return std::string("Invalid cast from '") + dotnet_type_name(v) + "' to 'DateTime'.";
      break;
  }
  return {};
}

// Value<string>() into a caller-owned buffer; "null-ness" is String.IsNullOrWhiteSpace.
struct string_target {
  std::string& out;
  static constexpr bool is_date = false;
  json::conversion convert(const json::value& v) const {
    out.clear();
    return json::to_dotnet_string(v, out);
  }
  bool is_null() const { return is_blank(out); }
};

// Value<DateTime?>().
struct date_target {
  json::date_time& out;
  static constexpr bool is_date = true;
  json::conversion convert(const json::value& v) const { return json::to_dotnet_datetime(v, out); }
  static bool is_null() { return false; }
};

mapping_error required_failure(std::string_view name, const std::vector<cause>& causes) {
  // IncompatibleDataException(msg, AggregateException(causes)) seen through
  // NormalizationDataMappingException: "\n1:<aggregate>\n2:<first cause>\n3:<its inner>" (E3).
  std::string msg = "Unable to extract required value for [";
  msg += name;
  msg += "]\n1:One or more errors occurred.";
  for (const cause& c : causes) {
    msg += " (";
    msg += c.message;
    msg += ')';
  }
  msg += "\n2:";
  msg += causes.front().message;
  if (!causes.front().inner.empty()) {
    msg += "\n3:";
    msg += causes.front().inner;
  }
  return incompatible_data(std::move(msg));
}

// EvalExpression<T> (iomt-spec §3.5). Returns true when a value was produced, false for "null"
// (optional field without value), or the error.
template <class Target>
result<bool> eval_expression(std::initializer_list<expression_slot> slots, std::string_view name, bool required,
                             const json::value& root, json::arena& scratch, const Target& target) {
  bool any = false;
  for (expression_slot s : slots) any = any || s->has_value();
  if (!any) {
    if (required) return incompatible_data("An expression must be set for [" + std::string(name) + "]");
    return false;
  }

  std::vector<cause> causes;  // only filled on failure paths
  for (expression_slot s : slots) {
    if (!s->has_value()) continue;
    const compiled_expression& e = **s;
    auto token = e.select_token(root, scratch);
    if (!token) return token.error();
    if (!*token) continue;  // nothing selected: try the next expression
    switch (target.convert(**token)) {
      case json::conversion::ok:
        if (!required || !target.is_null()) return true;
        causes.push_back({"A null or empty value was supplied for the required field [" + std::string(name) + "]", {}});
        break;
      case json::conversion::null:
        if (!required) return false;
        causes.push_back({"A null or empty value was supplied for the required field [" + std::string(name) + "]", {}});
        break;
      case json::conversion::error:
        causes.push_back({"Encountered an error while extracting value for [" + std::string(name) +
                              "] using expression " + std::string(e.text()),
                          conversion_failure(**token, Target::is_date)});
        break;
    }
  }

  if (!required) return false;
  if (!causes.empty()) return required_failure(name, causes);
  std::string msg = "Unable to extract required value for [" + std::string(name) + "] using ";
  bool first = true;
  for (expression_slot s : slots) {
    if (!s->has_value()) continue;
    if (!first) msg += ',';
    msg += (*s)->text();
    first = false;
  }
  return incompatible_data(std::move(msg));
}

}  // namespace

namespace {

// The identity of a matched container (memo key); null data: not memoizable.
const void* container_data(const json::value& v) noexcept {
  if (v.is_object()) return v.as_object().data();
  if (v.is_array()) return v.as_array().data();
  return nullptr;
}

// Without a memo: every field is evaluated.
struct no_memo {
  template <class Eval, class Copy>
  result<bool> operator()(std::int32_t, Eval&& eval, Copy&&) const {
    return eval();
  }
};

// With a memo: a shared field already evaluated for the same match is copied from the
// measurement that holds it; a fresh successful evaluation is recorded.
struct with_memo {
  field_memo& memo;
  const json::value& match;
  std::size_t index;

  template <class Eval, class Copy>
  result<bool> operator()(std::int32_t id, Eval&& eval, Copy&& copy) const {
    if (id < 0) return eval();
    bool produced = false;
    if (const measurement* src = memo.find(id, match, produced)) {
      if (produced) copy(*src);
      return produced;
    }
    auto r = eval();
    if (r) memo.add(id, match, index, *r);
    return r;
  }
};

template <class Memo>
result<void> extract(const content_template& t, const shared_field_ids& ids, const json::value& root,
                     json::arena& scratch, const Memo& memo, measurement& m) {
  m.type = t.type_name;

  auto device = memo(
      ids.device_id,
      [&] {
        return eval_expression({&t.device_id}, "DeviceIdExpression", true, root, scratch, string_target{m.device_id});
      },
      [&](const measurement& src) { m.device_id = src.device_id; });
  if (!device) return device.error();

  auto time = memo(
      ids.timestamp,
      [&] {
        return eval_expression({&t.timestamp, &t.timestamp_fallback}, "TimestampExpression", true, root, scratch,
                               date_target{m.occurrence_time});
      },
      [&](const measurement& src) { m.occurrence_time = src.occurrence_time; });
  if (!time) return time.error();

  // The correlation id is required once an expression is defined (iomt-spec §3.5).
  if (t.correlation_id) {
    std::string& id = m.correlation_id.emplace();
    auto r = memo(
        ids.correlation_id,
        [&] {
          return eval_expression({&t.correlation_id}, "CorrelationIdExpression", true, root, scratch,
                                 string_target{id});
        },
        [&](const measurement& src) { id = *src.correlation_id; });
    if (!r) return r.error();
  }

  if (t.patient_id) {
    std::string& id = m.patient_id.emplace();
    auto r = memo(
        ids.patient_id,
        [&] {
          return eval_expression({&t.patient_id}, "PatientIdExpression", false, root, scratch, string_target{id});
        },
        [&](const measurement& src) { id = *src.patient_id; });
    if (!r) return r.error();
    if (!*r) m.patient_id.reset();
  }

  if (t.encounter_id) {
    std::string& id = m.encounter_id.emplace();
    auto r = memo(
        ids.encounter_id,
        [&] {
          return eval_expression({&t.encounter_id}, "EncounterIdExpression", false, root, scratch, string_target{id});
        },
        [&](const measurement& src) { id = *src.encounter_id; });
    if (!r) return r.error();
    if (!*r) m.encounter_id.reset();
  }

  m.properties.reserve(t.values.size());
  for (const value_spec& v : t.values) {
    // Upstream EnsureArg.IsNotEmptyOrWhiteSpace(name) in EvalExpression.
    if (is_blank(v.name))
      return mapping_error{"ArgumentException", "The value name must not be empty or whitespace. (Parameter 'name')"};
    measurement_property& p = m.properties.emplace_back();
    auto r = eval_expression({&v.expression}, v.name, v.required, root, scratch, string_target{p.value});
    if (!r) {
      m.properties.pop_back();
      return r.error();
    }
    if (!*r) {
      m.properties.pop_back();
      continue;
    }
    p.name = v.name;
  }
  return {};
}

}  // namespace

const measurement* field_memo::find(std::int32_t id, const json::value& match, bool& produced) const noexcept {
  const void* data = container_data(match);
  if (!data) return nullptr;
  for (std::size_t i = 0; i < count_; ++i) {
    const entry& e = entries_[i];
    if (e.id == id && e.data == data && e.kind == match.type() && e.size == match.size()) {
      produced = e.produced;
      return &out_[e.index];
    }
  }
  return nullptr;
}

void field_memo::add(std::int32_t id, const json::value& match, std::size_t index, bool produced) noexcept {
  const void* data = container_data(match);
  if (!data || count_ == capacity) return;
  entries_[count_++] = entry{id, produced, match.type(), static_cast<std::uint32_t>(match.size()), data, index};
}

result<void> extract_measurement(const content_template& t, const json::value& root, json::arena& scratch,
                                 measurement& m) {
  return extract(t, shared_field_ids{}, root, scratch, no_memo{}, m);
}

result<void> extract_measurement(const content_template& t, const shared_field_ids& ids, const json::value& match,
                                 const json::value& root, json::arena& scratch, field_memo& memo, std::size_t index,
                                 measurement& m) {
  return extract(t, ids, root, scratch, with_memo{memo, match, index}, m);
}

}  // namespace iomt::mapping::device::detail
