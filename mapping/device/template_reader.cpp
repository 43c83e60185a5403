// One template object -> raw_template, reproducing what Newtonsoft reports when upstream
// deserializes it with MissingMemberHandling.Error and Required properties
// (TemplateExtensions.ToValidTemplate, TemplateExpressionJsonConverter; iomt-spec §3.1-§3.3).
#include "mapping/device/dotnet_text.hpp"
#include "mapping/device/template_loader.hpp"
#include "mapping/json/dotnet.hpp"

#include <array>
#include <span>

namespace iomt::mapping::device::detail {

namespace {

enum class field : std::uint8_t {
  type_name,
  type_match,
  device_id,
  timestamp,
  patient_id,
  encounter_id,
  correlation_id,
  values,
  default_language,
  value_name,
  value_expression,
  required,
  ignored,  // known to the C# type but [JsonIgnore]d: accepted silently
};

struct property_def {
  std::string_view json;    // camelCase name as documented (matched ignoring case)
  std::string_view pascal;  // the C# property name used in Newtonsoft's messages
  field id;
  bool required;  // Required.Always
};

// Properties in the order Newtonsoft checks Required ones (declaration order; derived class
// members before the base class's TypeName for CalculatedFunctionContentTemplate).
constexpr property_def calculated_properties[] = {
    {"typeMatchExpression", "TypeMatchExpression", field::type_match, true},
    {"deviceIdExpression", "DeviceIdExpression", field::device_id, true},
    {"patientIdExpression", "PatientIdExpression", field::patient_id, false},
    {"encounterIdExpression", "EncounterIdExpression", field::encounter_id, false},
    {"timestampExpression", "TimestampExpression", field::timestamp, true},
    {"correlationIdExpression", "CorrelationIdExpression", field::correlation_id, false},
    {"values", "Values", field::values, false},
    {"defaultExpressionLanguage", "DefaultExpressionLanguage", field::default_language, false},
    {"typeName", "TypeName", field::type_name, true},
};

constexpr property_def json_path_properties[] = {
    {"typeName", "TypeName", field::type_name, true},
    {"typeMatchExpression", "TypeMatchExpression", field::type_match, true},
    {"deviceIdExpression", "DeviceIdExpression", field::device_id, true},
    {"patientIdExpression", "PatientIdExpression", field::patient_id, false},
    {"encounterIdExpression", "EncounterIdExpression", field::encounter_id, false},
    {"timestampExpression", "TimestampExpression", field::timestamp, true},
    {"correlationIdExpression", "CorrelationIdExpression", field::correlation_id, false},
    {"values", "Values", field::values, false},
};

// IotJsonPathContent / IotCentralJsonPathContent: device id and timestamp are fixed, and the
// overriding properties carry [JsonIgnore] (iomt-spec §3.2 notes).
constexpr property_def iot_properties[] = {
    {"typeName", "TypeName", field::type_name, true},
    {"typeMatchExpression", "TypeMatchExpression", field::type_match, true},
    {"deviceIdExpression", "DeviceIdExpression", field::ignored, false},
    {"patientIdExpression", "PatientIdExpression", field::patient_id, false},
    {"encounterIdExpression", "EncounterIdExpression", field::encounter_id, false},
    {"timestampExpression", "TimestampExpression", field::ignored, false},
    {"correlationIdExpression", "CorrelationIdExpression", field::correlation_id, false},
    {"values", "Values", field::values, false},
};

constexpr property_def value_properties[] = {
    {"valueName", "ValueName", field::value_name, true},
    {"valueExpression", "ValueExpression", field::value_expression, true},
    {"required", "Required", field::required, false},
};

std::span<const property_def> template_properties(template_kind k) {
  switch (k) {
    case template_kind::calculated_content:
      return calculated_properties;
    case template_kind::json_path_content:
      return json_path_properties;
    default:
      return iot_properties;
  }
}

// Newtonsoft's token names in "Unexpected token: StartObject".
const char* token_name(const json::value& v) { return v.is_object() ? "StartObject" : "StartArray"; }

// How Newtonsoft prints a value in "Error converting value <v> to type 'T'".
std::string describe(const json::value& v) {
  switch (v.type()) {
    case json::kind::null:
      return "{null}";
    case json::kind::string: {
      std::string s(1, '"');  // (appended piecewise: GCC 12 -Wrestrict false positive on "x" + string)
      s += v.as_string();
      s += '"';
      return s;
    }
    case json::kind::big_integer:
      return std::string(v.as_string());
    case json::kind::object:
      return "{}";
    case json::kind::array:
      return "[]";
    default: {
      std::string s;
      json::to_dotnet_string(v, s);
      return s;
    }
  }
}

class template_reader {
public:
  explicit template_reader(const load_context& ctx) : ctx_(ctx) {}

  raw_template read(template_kind kind, const json::value& object, json::source_pos pos) {
    raw_template raw;
    raw.kind = kind;
    raw.pos = pos;
    const bool calculated = kind == template_kind::calculated_content;
    read_members(object, pos, template_properties(kind), csharp_template_type(kind), "", /*report_unknown=*/true,
                 [&](field f, const json::value& v, const std::string& property) {
                   switch (f) {
                     case field::type_name:
                       raw.type_name = read_string(v, property);
                       raw.type_name_pos = pos_of(v);
                       break;
                     case field::values:
                       raw.values = read_values(kind, v, property);
                       break;
                     case field::default_language:
                       if (auto l = read_language(v, property, /*nullable=*/false)) raw.default_language = **l;
                       break;
                     default: {
                       std::optional<raw_expression>& slot = expression_slot(raw, f);
                       slot = calculated ? read_expression(v, property) : read_path_string(v, property);
                       break;
                     }
                   }
                 });
    return raw;
  }

private:
  static std::optional<raw_expression>& expression_slot(raw_template& raw, field f) {
    switch (f) {
      case field::type_match:
        return raw.type_match;
      case field::device_id:
        return raw.device_id;
      case field::timestamp:
        return raw.timestamp;
      case field::patient_id:
        return raw.patient_id;
      case field::encounter_id:
        return raw.encounter_id;
      default:
        return raw.correlation_id;
    }
  }

  json::source_pos pos_of(const json::value& slot) const { return ctx_.doc.pos_of(&slot); }

  void error(const json::value& slot, const std::string& property, std::string message) const {
    ctx_.add(pos_of(slot), property, std::move(message));
  }

  // Visits the members of `object`: unknown names are errors (MissingMemberHandling.Error) unless
  // `report_unknown` is off, [JsonIgnore]d ones are skipped, known ones go to `on_member`
  // (property names match ignoring case; a repeated one is read again, the last wins). Then the
  // Required checks run, in `props` order, at the object's position.
  template <class OnMember>
  void read_members(const json::value& object, json::source_pos pos, std::span<const property_def> props,
                    std::string_view csharp_type, const std::string& prefix, bool report_unknown,
                    OnMember&& on_member) const {
    enum class presence : std::uint8_t { none, null, value };
    std::array<presence, 16> seen{};
    for (const json::member& m : object.as_object()) {
      std::size_t i = 0;
      while (i < props.size() && !iequals(props[i].json, m.key)) ++i;
      if (i == props.size()) {
        if (report_unknown)
          ctx_.add(ctx_.doc.pos_of(&m), prefix + std::string(m.key),
                   "Could not find member '" + std::string(m.key) + "' on object of type '" + std::string(csharp_type) +
                       "'.");
        continue;
      }
      seen[i] = m.val.is_null() ? presence::null : presence::value;
      if (props[i].id == field::ignored) continue;
      on_member(props[i].id, m.val, prefix + std::string(props[i].json));
    }
    for (std::size_t i = 0; i < props.size(); ++i) {
      if (!props[i].required || seen[i] == presence::value) continue;
      const std::string pascal(props[i].pascal);
      ctx_.add(pos, prefix + std::string(props[i].json),
               seen[i] == presence::none ? "Required property '" + pascal + "' not found in JSON."
                                         : "Required property '" + pascal + "' expects a value but got null.");
    }
  }

  // JsonReader.ReadAsString: strings as is, other primitives as .NET text; null -> nullopt.
  std::optional<std::string> read_string(const json::value& v, const std::string& property) const {
    switch (v.type()) {
      case json::kind::null:
        return std::nullopt;
      case json::kind::string:
      case json::kind::big_integer:
        return std::string(v.as_string());
      case json::kind::object:
      case json::kind::array:
        error(v, property, std::string("Error reading string. Unexpected token: ") + token_name(v) + ".");
        return std::nullopt;
      default: {
        std::string s;
        json::to_dotnet_string(v, s);
        return s;
      }
    }
  }

  // JsonPath-family expression: a plain string property.
  std::optional<raw_expression> read_path_string(const json::value& v, const std::string& property) const {
    auto s = read_string(v, property);
    if (!s) return std::nullopt;
    return raw_expression{std::move(*s), expression_language::json_path, pos_of(v)};
  }

  // TemplateExpressionJsonConverter: a string, or {"value": ..., "language": ...} where other
  // members are ignored (iomt-spec §3.3).
  std::optional<raw_expression> read_expression(const json::value& v, const std::string& property) const {
    switch (v.type()) {
      case json::kind::null:
        return std::nullopt;
      case json::kind::string:
        return raw_expression{std::string(v.as_string()), std::nullopt, pos_of(v)};
      case json::kind::object: {
        raw_expression e;
        e.pos = pos_of(v);
        bool ok = true;
        read_members(v, pos_of(v), expression_properties, "TemplateExpression", property + ".",
                     /*report_unknown=*/false, [&](field f, const json::value& x, const std::string& p) {
                       if (f == field::value_expression) {
                         if (auto s = read_string(x, p)) {
                           e.value = std::move(*s);
                           e.pos = pos_of(x);
                         } else {
                           ok = false;
                         }
                       } else if (auto l = read_language(x, p, /*nullable=*/true)) {
                         e.language = *l;
                       } else {
                         ok = false;
                       }
                     });
        const json::value* value = nullptr;
        for (const json::member& m : v.as_object())
          if (iequals(m.key, "value")) value = &m.val;
        if (!ok || !value || value->is_null()) return std::nullopt;
        return e;
      }
      case json::kind::array:
        error(
            v, property,
            "Cannot deserialize the current JSON array (e.g. [1,2,3]) into type 'TemplateExpression' because the type "
            "requires a JSON object (e.g. {\"name\":\"value\"}) to deserialize correctly.");
        return std::nullopt;
      default:
        error(v, property, "Error converting value " + describe(v) + " to type 'TemplateExpression'.");
        return std::nullopt;
    }
  }

  // StringEnumConverter for TemplateExpressionLanguage: names ignoring case, or 0 / 1. The outer
  // optional is empty on error; the inner one is empty for an unset (nullable) language.
  std::optional<std::optional<expression_language>> read_language(const json::value& v, const std::string& property,
                                                                  bool nullable) const {
    using result_t = std::optional<std::optional<expression_language>>;
    switch (v.type()) {
      case json::kind::null:
        if (nullable) return result_t{std::optional<expression_language>{}};
        break;
      case json::kind::string: {
        const std::string_view s = v.as_string();
        if (iequals(s, "JsonPath")) return result_t{expression_language::json_path};
        if (iequals(s, "JmesPath")) return result_t{expression_language::jmes_path};
        if (s.empty() && nullable) return result_t{std::optional<expression_language>{}};
        break;
      }
      case json::kind::integer:
        if (v.as_integer() == 0) return result_t{expression_language::json_path};
        if (v.as_integer() == 1) return result_t{expression_language::jmes_path};
        break;
      default:
        break;
    }
    error(v, property, "Error converting value " + describe(v) + " to type 'TemplateExpressionLanguage'.");
    return std::nullopt;
  }

  // JsonReader.ReadAsBoolean: true/false, "true"/"false" in any case, numbers (non-zero = true).
  std::optional<bool> read_bool(const json::value& v, const std::string& property) const {
    switch (v.type()) {
      case json::kind::boolean:
        return v.as_bool();
      case json::kind::integer:
        return v.as_integer() != 0;
      case json::kind::floating:
        return v.as_floating() != 0.0;
      case json::kind::string: {
        std::string_view s = v.as_string();
        while (!s.empty() && is_dotnet_whitespace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
        while (!s.empty() && is_dotnet_whitespace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
        if (iequals(s, "true")) return true;
        if (iequals(s, "false")) return false;
        error(v, property, "Could not convert string to boolean: " + std::string(v.as_string()) + ".");
        return std::nullopt;
      }
      case json::kind::object:
      case json::kind::array:
        error(v, property, std::string("Error reading boolean. Unexpected token: ") + token_name(v) + ".");
        return std::nullopt;
      default:
        error(v, property, "Error converting value " + describe(v) + " to type 'System.Boolean'.");
        return std::nullopt;
    }
  }

  // "values": a list of value objects (JSON null elements are kept: they fail later, §3.1).
  std::optional<std::vector<raw_value>> read_values(template_kind kind, const json::value& v,
                                                    const std::string& property) const {
    const std::string list_type = std::string("IList<") + csharp_value_type(kind) + ">";
    if (v.is_null()) return std::nullopt;
    if (v.is_object()) {
      error(v, property,
            "Cannot deserialize the current JSON object (e.g. {\"name\":\"value\"}) into type '" + list_type +
                "' because the type requires a JSON array (e.g. [1,2,3]) to deserialize correctly.");
      return std::nullopt;
    }
    if (!v.is_array()) {
      error(v, property, "Error converting value " + describe(v) + " to type '" + list_type + "'.");
      return std::nullopt;
    }
    std::vector<raw_value> values;
    const auto items = v.as_array();
    values.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      const json::value& item = items[i];
      const std::string prefix = property + "[" + std::to_string(i) + "]";
      raw_value& rv = values.emplace_back();
      rv.pos = pos_of(item);
      if (item.is_null()) {
        rv.is_null = true;
        continue;
      }
      if (!item.is_object()) {
        error(item, prefix, "Error converting value " + describe(item) + " to type '" + csharp_value_type(kind) + "'.");
        values.pop_back();
        continue;
      }
      const bool calculated = kind == template_kind::calculated_content;
      read_members(item, rv.pos, value_properties, csharp_value_type(kind), prefix + ".", /*report_unknown=*/true,
                   [&](field f, const json::value& x, const std::string& p) {
                     switch (f) {
                       case field::value_name:
                         rv.name = read_string(x, p);
                         rv.name_pos = pos_of(x);
                         break;
                       case field::value_expression:
                         rv.expression = calculated ? read_expression(x, p) : read_path_string(x, p);
                         break;
                       default:
                         if (auto b = read_bool(x, p)) rv.required = *b;
                         break;
                     }
                   });
    }
    return values;
  }

  static constexpr property_def expression_properties[] = {
      {"value", "Value", field::value_expression, true},
      {"language", "Language", field::default_language, false},
  };

  const load_context& ctx_;
};

}  // namespace

raw_template read_template(template_kind kind, const json::value& object, json::source_pos pos,
                           const load_context& ctx) {
  return template_reader(ctx).read(kind, object, pos);
}

}  // namespace iomt::mapping::device::detail
