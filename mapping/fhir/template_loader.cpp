// Reading a CollectionFhir document (iomt-spec §6.1-§6.3). Messages are Newtonsoft's and the
// template factories' own words; positions are the template file's line/column (the lead's
// template_error::full_message() prints them as "Line Number: n, Position: p.").
#include "mapping/fhir/template_loader.hpp"

#include "mapping/fhir/dotnet_decimal.hpp"
#include "mapping/fhir/text_util.hpp"
#include "mapping/json/dotnet.hpp"
#include "mapping/json/reader.hpp"

#include <array>
#include <cmath>
#include <limits>

namespace iomt::mapping::fhir {

namespace {

using json::kind;
using json::member;
using json::source_pos;
using json::value;

constexpr std::string_view ns = "Microsoft.Health.Fhir.Ingest.Template.";
constexpr std::string_view list_prefix = "System.Collections.Generic.IList`1[";

// MiscellaneousUtils.ToString: how Newtonsoft prints a value in "Error converting value X ...".
std::string print_value(const value& v) {
  switch (v.type()) {
    case kind::null:
      return "{null}";
    case kind::string:
      return "\"" + std::string(v.as_string()) + "\"";
    case kind::big_integer:
      return std::string(v.as_string());
    case kind::array:
      return "[...]";
    case kind::object:
      return "{...}";
    default: {
      std::string s;
      json::to_dotnet_string(v, s);
      return s;
    }
  }
}

std::string token_name(const value& v) {
  switch (v.type()) {
    case kind::object:
      return "StartObject";
    case kind::array:
      return "StartArray";
    case kind::null:
      return "Null";
    case kind::boolean:
      return "Boolean";
    case kind::integer:
    case kind::big_integer:
      return "Integer";
    case kind::floating:
      return "Float";
    case kind::date:
      return "Date";
    case kind::string:
      return "String";
  }
  return "None";
}

// Newtonsoft's message when a JSON value cannot become a .NET object / list type.
std::string cannot_deserialize(const value& v, std::string_view type_name, bool want_array) {
  if (v.is_object() && want_array)
    return "Cannot deserialize the current JSON object (e.g. {\"name\":\"value\"}) into type '" +
           std::string(type_name) + "' because the type requires a JSON array (e.g. [1,2,3]) to deserialize correctly.";
  if (v.is_array() && !want_array)
    return "Cannot deserialize the current JSON array (e.g. [1,2,3]) into type '" + std::string(type_name) +
           "' because the type requires a JSON object (e.g. {\"name\":\"value\"}) to deserialize correctly.";
  return "Error converting value " + print_value(v) + " to type '" + std::string(type_name) + "'.";
}

// One object's known properties, matched like Newtonsoft's contract lookup: exact name first,
// then ignoring case. Returns the index in `names` or -1.
template <std::size_t N>
int match_property(std::string_view key, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == key) return static_cast<int>(i);
  for (std::size_t i = 0; i < N; ++i)
    if (detail::iequals(names[i], key)) return static_cast<int>(i);
  return -1;
}

std::string join_path(std::string_view base, std::string_view name) {
  if (base.empty()) return std::string(name);
  std::string p(base);
  p.push_back('.');
  p += name;
  return p;
}

std::string index_path(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// Template containers accept "X" and "XTemplate" (case-insensitive) for an expected "XTemplate"
// (TemplateContainer.MatchTemplateName, iomt-spec §3.1).
bool match_template_name(const std::optional<std::string>& type, std::string_view expected) {
  if (!type) return false;
  if (detail::iequals(*type, expected)) return true;
  constexpr std::string_view suffix = "Template";
  return type->size() + suffix.size() == expected.size() && detail::iequals(*type, expected.substr(0, type->size())) &&
         detail::iequals(suffix, expected.substr(type->size()));
}

// A JSON value as one of the value[x] kinds of FhirValueType (AbstractJsonConverter lookup).
std::optional<value_kind> value_kind_of(std::string_view name) {
  if (detail::iequals(name, "SampledData")) return value_kind::sampled_data;
  if (detail::iequals(name, "Quantity")) return value_kind::quantity;
  if (detail::iequals(name, "String")) return value_kind::string;
  if (detail::iequals(name, "CodeableConcept")) return value_kind::codeable_concept;
  return std::nullopt;
}

class reader {
public:
  reader(const json::located_document& doc, template_errors& errors) : doc_(doc), errors_(errors) {}

  void set_index(int i) { index_ = i; }

  void error(std::string type, std::string message, std::string property, source_pos pos) {
    errors_.push_back({std::move(type), std::move(message), index_, std::move(property), pos, false});
  }
  void serialization_error(std::string message, std::string property, source_pos pos) {
    error("JsonSerializationException", std::move(message), std::move(property), pos);
  }

  source_pos pos(const value& v) const { return doc_.pos_of(&v); }
  source_pos pos(const member& m) const { return doc_.pos_of(&m); }

  // A .NET string property (ReadAsString): primitives become their text, containers fail.
  bool read_string(const value& v, std::optional<std::string>& out, const std::string& path) {
    if (v.is_null()) {
      out.reset();
      return true;
    }
    if (v.is_container()) {
      serialization_error("Error reading string. Unexpected token: " + token_name(v) + ".", path, pos(v));
      return false;
    }
    std::string s;
    if (v.type() == kind::big_integer)
      s = v.as_string();
    else
      json::to_dotnet_string(v, s);
    out = std::move(s);
    return true;
  }

  // ObservationPeriodInterval from a JSON value (Newtonsoft EnsureType + EnumUtils.ParseEnum).
  bool read_period_interval(const value& v, std::int32_t& out, const std::string& path) {
    const std::string enum_type = std::string(ns) + "ObservationPeriodInterval";
    auto fail = [&] {
      serialization_error("Error converting value " + print_value(v) + " to type '" + enum_type + "'.", path, pos(v));
      return false;
    };
    if (v.is_integer()) {  // Enum.ToObject(type, long): unchecked truncation to the int32 underlying type
      out = static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v.as_integer())));
      return true;
    }
    if (!v.is_string()) return fail();
    std::string_view s = v.as_string();
    static constexpr std::array<std::string_view, 4> names = {"CorrelationId", "Single", "Hourly", "Daily"};
    static constexpr std::array<std::int32_t, 4> values = {-1, 0, 60, 1440};
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == s) {
        out = values[i];
        return true;
      }
    std::string_view t = detail::trim(s);
    if (t.empty()) return fail();
    if ((t[0] >= '0' && t[0] <= '9') || t[0] == '-' || t[0] == '+') {
      // Convert.ChangeType(s, int32): Int32.Parse with NumberStyles.Integer.
      std::string_view d = t;
      bool neg = false;
      if (d[0] == '-' || d[0] == '+') {
        neg = d[0] == '-';
        d.remove_prefix(1);
      }
      bool digits = !d.empty();
      std::int64_t acc = 0;
      for (char c : d) {
        if (c < '0' || c > '9') {
          digits = false;
          break;
        }
        acc = acc * 10 + (c - '0');
        if (acc > static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::max()) + 1) return fail();  // Overflow
      }
      if (digits) {
        acc = neg ? -acc : acc;
        if (acc > std::numeric_limits<std::int32_t>::max() || acc < std::numeric_limits<std::int32_t>::min())
          return fail();
        out = static_cast<std::int32_t>(acc);
        return true;
      }
    }
    // Comma-separated names, each ordinal then ignore-case; combined with bitwise OR.
    std::uint64_t combined = 0;
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t comma = s.find(',', start);
      if (comma == std::string_view::npos) comma = s.size();
      std::string_view part = detail::trim(s.substr(start, comma - start));
      int found = -1;
      for (std::size_t i = 0; i < names.size() && found < 0; ++i)
        if (names[i] == part) found = static_cast<int>(i);
      for (std::size_t i = 0; i < names.size() && found < 0; ++i)
        if (detail::iequals(names[i], part)) found = static_cast<int>(i);
      if (found < 0) {
        for (std::size_t i = 0; i < names.size(); ++i)
          if (detail::iequals(names[i], s)) {
            out = values[i];
            return true;
          }
        return fail();
      }
      combined |= static_cast<std::uint64_t>(static_cast<std::int64_t>(values[static_cast<std::size_t>(found)]));
      start = comma + 1;
    }
    out = static_cast<std::int32_t>(static_cast<std::uint32_t>(combined));
    return true;
  }

  // IList<FhirCode>. `strict`: unknown members are errors (outside value objects).
  // Returns false when the whole list could not be read (the property stays null).
  bool read_codes(const value& v, std::vector<fhir_code>& out, const std::string& path, bool strict) {
    const std::string list_type = std::string(list_prefix) + std::string(ns) + "FhirCode]";
    if (!v.is_array()) {
      serialization_error(cannot_deserialize(v, list_type, true), path, pos(v));
      return false;
    }
    const auto items = v.as_array();
    out.clear();
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      const value& item = items[i];
      const std::string item_path = index_path(path, i);
      if (item.is_null()) {
        // Upstream keeps a null entry and fails with NullReferenceException on every group that
        // uses the template; we refuse it at load time instead.
        error("NullReferenceException",
              "Object reference not set to an instance of an object. (null entry in '" + path + "')", item_path,
              pos(item));
        continue;
      }
      if (!item.is_object()) {
        serialization_error(cannot_deserialize(item, std::string(ns) + "FhirCode", false), item_path, pos(item));
        if (!strict) return false;
        continue;
      }
      fhir_code code;
      static constexpr std::array<std::string_view, 3> names = {"Code", "System", "Display"};
      for (const member& m : item.as_object()) {
        const std::string member_path = join_path(item_path, m.key);
        switch (match_property(m.key, names)) {
          case 0:
            if (!read_string(m.val, code.code, member_path) && !strict) return false;
            break;
          case 1:
            if (!read_string(m.val, code.system, member_path) && !strict) return false;
            break;
          case 2:
            if (!read_string(m.val, code.display, member_path) && !strict) return false;
            break;
          default:
            if (strict) unknown_member(m, "FhirCode", member_path);
            break;
        }
      }
      out.push_back(std::move(code));
    }
    return true;
  }

  void unknown_member(const member& m, std::string_view type, const std::string& path) {
    serialization_error(
        "Could not find member '" + std::string(m.key) + "' on object of type '" + std::string(type) + "'", path,
        pos(m));
  }

  void required_missing(std::string_view csharp_name, const std::string& base, const value& obj) {
    serialization_error("Required property '" + std::string(csharp_name) + "' not found in JSON.",
                        join_path(base, camel(csharp_name)), pos(obj));
  }
  void required_null(std::string_view csharp_name, const std::string& path, const value& v) {
    serialization_error("Required property '" + std::string(csharp_name) + "' expects a value but got null.", path,
                        pos(v));
  }

  static std::string camel(std::string_view s) {
    std::string c(s);
    if (!c.empty() && c[0] >= 'A' && c[0] <= 'Z') c[0] = static_cast<char>(c[0] - 'A' + 'a');
    return c;
  }

  // FhirValueType via AbstractJsonConverter (iomt-spec §6.3): discriminator `ValueType` or
  // `valueType` exactly; the object is then deserialized with default settings (unknown members
  // ignored, first error aborts the value).
  std::optional<value_template> read_value(const value& v, const std::string& path) {
    if (v.is_array()) {
      error("ArgumentException",
            "Accessed JArray values with invalid key value: \"ValueType\". Int32 array index expected.", path, pos(v));
      return std::nullopt;
    }
    if (!v.is_object()) {
      error("InvalidOperationException", "Cannot access child value on Newtonsoft.Json.Linq.JValue.", path, pos(v));
      return std::nullopt;
    }
    const value* type_token = v.find("ValueType");
    if (!type_token) type_token = v.find("valueType");
    if (!type_token) {
      error("NotImplementedException", "Property ValueType is missing.", path, pos(v));
      return std::nullopt;
    }
    std::optional<std::string> type_name;
    if (type_token->is_container()) {
      error("InvalidCastException",
            std::string("Cannot cast Newtonsoft.Json.Linq.") + (type_token->is_object() ? "JObject" : "JArray") +
                " to Newtonsoft.Json.Linq.JToken.",
            join_path(path, "valueType"), pos(*type_token));
      return std::nullopt;
    }
    read_string(*type_token, type_name, join_path(path, "valueType"));
    if (!type_name || type_name->empty()) {
      error("NotImplementedException", "The method or operation is not implemented.", join_path(path, "valueType"),
            pos(*type_token));
      return std::nullopt;
    }
    const auto k = value_kind_of(*type_name);
    if (!k) {
      error("NotImplementedException", *type_name, join_path(path, "valueType"), pos(*type_token));
      return std::nullopt;
    }

    value_template t;
    t.kind = *k;
    static constexpr std::array<std::string_view, 8> names = {"ValueName", "ValueType", "DefaultPeriod", "Unit",
                                                              "System",    "Code",      "Text",          "Codes"};
    for (const member& m : v.as_object()) {
      const std::string mp = join_path(path, m.key);
      const int idx = match_property(m.key, names);
      bool ok = true;
      switch (idx) {
        case 0:
          ok = read_string(m.val, t.value_name, mp);
          break;
        case 1:
          ok = read_string(m.val, t.value_type, mp);
          break;
        case 2:
          if (t.kind == value_kind::sampled_data) ok = read_default_period(m.val, t, mp);
          break;
        case 3:
          if (t.kind == value_kind::sampled_data || t.kind == value_kind::quantity) ok = read_string(m.val, t.unit, mp);
          break;
        case 4:
          if (t.kind == value_kind::quantity) ok = read_string(m.val, t.system, mp);
          break;
        case 5:
          if (t.kind == value_kind::quantity) ok = read_string(m.val, t.code, mp);
          break;
        case 6:
          if (t.kind == value_kind::codeable_concept) ok = read_string(m.val, t.text, mp);
          break;
        case 7:
          if (t.kind == value_kind::codeable_concept) {
            if (m.val.is_null()) {
              t.codes.reset();
            } else {
              std::vector<fhir_code> codes;
              ok = read_codes(m.val, codes, mp, false);
              if (ok) t.codes = std::move(codes);
            }
          }
          break;
        default:
          break;  // unknown members are ignored inside value objects
      }
      if (!ok) return std::nullopt;
    }
    return t;
  }

  // decimal? defaultPeriod: the number as written, and Convert.ToDouble for the arithmetic.
  bool read_default_period(const value& v, value_template& t, const std::string& path) {
    switch (v.type()) {
      case kind::null:
        t.default_period = nullptr;
        t.default_period_ms.reset();
        return true;
      case kind::integer:
        t.default_period = v.as_integer();
        t.default_period_ms = static_cast<double>(v.as_integer());
        return true;
      case kind::floating:
        if (!std::isfinite(v.as_floating())) break;
        t.default_period = v.as_floating();
        t.default_period_ms = v.as_floating();
        return true;
      case kind::big_integer:
      case kind::string: {
        if (v.is_string() && v.as_string().empty()) {
          t.default_period = nullptr;
          t.default_period_ms.reset();
          return true;
        }
        const decimal_result d = parse_dotnet_decimal(v.as_string());
        if (d.status == decimal_status::ok) {
          t.default_period = d.number;
          t.default_period_ms = d.number.is_int64() ? static_cast<double>(d.number.get_int64()) : d.number.get_double();
          return true;
        }
        if (d.status == decimal_status::overflow) {
          error("OverflowException", "Value was either too large or too small for a Decimal.", path, pos(v));
          return false;
        }
        error("JsonReaderException", "Could not convert string to decimal: " + std::string(v.as_string()) + ".", path,
              pos(v));
        return false;
      }
      default:
        break;
    }
    error("JsonReaderException", "Error reading decimal. Unexpected token: " + token_name(v) + ".", path, pos(v));
    return false;
  }

  // IList<FhirCodeableConcept> (template category).
  std::optional<std::vector<fhir_codeable_concept>> read_category(const value& v, const std::string& path) {
    if (v.is_null()) return std::nullopt;
    if (!v.is_array()) {
      serialization_error(
          cannot_deserialize(v, std::string(list_prefix) + std::string(ns) + "FhirCodeableConcept]", true), path,
          pos(v));
      return std::nullopt;
    }
    std::vector<fhir_codeable_concept> out;
    const auto items = v.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const value& item = items[i];
      const std::string ip = index_path(path, i);
      if (!item.is_object()) {
        if (item.is_null())
          error("NullReferenceException",
                "Object reference not set to an instance of an object. (null entry in '" + path + "')", ip, pos(item));
        else
          serialization_error(cannot_deserialize(item, std::string(ns) + "FhirCodeableConcept", false), ip, pos(item));
        continue;
      }
      fhir_codeable_concept c;
      static constexpr std::array<std::string_view, 2> names = {"Text", "Codes"};
      for (const member& m : item.as_object()) {
        const std::string mp = join_path(ip, m.key);
        switch (match_property(m.key, names)) {
          case 0:
            read_string(m.val, c.text, mp);
            break;
          case 1:
            if (m.val.is_null()) {
              c.codes.reset();
            } else {
              std::vector<fhir_code> codes;
              if (read_codes(m.val, codes, mp, true)) c.codes = std::move(codes);
            }
            break;
          default:
            unknown_member(m, "FhirCodeableConcept", mp);
            break;
        }
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  // IList<CodeValueMapping> (template components).
  std::optional<std::vector<component_template>> read_components(const value& v, const std::string& path) {
    if (v.is_null()) return std::nullopt;
    if (!v.is_array()) {
      serialization_error(cannot_deserialize(v, std::string(list_prefix) + std::string(ns) + "CodeValueMapping]", true),
                          path, pos(v));
      return std::nullopt;
    }
    std::vector<component_template> out;
    const auto items = v.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const value& item = items[i];
      const std::string ip = index_path(path, i);
      if (!item.is_object()) {
        if (item.is_null())
          error("NullReferenceException",
                "Object reference not set to an instance of an object. (null entry in '" + path + "')", ip, pos(item));
        else
          serialization_error(cannot_deserialize(item, std::string(ns) + "CodeValueMapping", false), ip, pos(item));
        continue;
      }
      component_template c;
      bool has_codes = false;
      static constexpr std::array<std::string_view, 2> names = {"Codes", "Value"};
      for (const member& m : item.as_object()) {
        const std::string mp = join_path(ip, m.key);
        switch (match_property(m.key, names)) {
          case 0:
            has_codes = true;
            if (m.val.is_null())
              required_null("Codes", mp, m.val);
            else
              read_codes(m.val, c.codes, mp, true);
            break;
          case 1:
            c.value = read_value(m.val, mp);
            break;
          default:
            unknown_member(m, "CodeValueMapping", mp);
            break;
        }
      }
      if (!has_codes) required_missing("Codes", ip, item);
      out.push_back(std::move(c));
    }
    return out;
  }

  // CodeValueFhirTemplate (iomt-spec §6.2), MissingMemberHandling.Error.
  code_value_template read_code_value(const value& obj) {
    code_value_template t;
    bool has_codes = false, has_type_name = false;
    static constexpr std::array<std::string_view, 7> names = {
        "Category", "Codes", "Value", "Components", "TypeName", "PeriodInterval", "TemplateErrors"};
    for (const member& m : obj.as_object()) {
      const std::string mp(m.key);
      switch (match_property(m.key, names)) {
        case 0:
          t.category = read_category(m.val, mp);
          break;
        case 1:
          has_codes = true;
          if (m.val.is_null())
            required_null("Codes", mp, m.val);
          else
            read_codes(m.val, t.codes, mp, true);
          break;
        case 2:
          t.value = read_value(m.val, mp);
          break;
        case 3:
          t.components = read_components(m.val, mp);
          break;
        case 4: {
          has_type_name = true;
          std::optional<std::string> s;
          if (m.val.is_null()) {
            required_null("TypeName", mp, m.val);
            type_name_null_ = true;
          } else if (read_string(m.val, s, mp)) {
            t.type_name = std::move(*s);
            type_name_null_ = false;
          }
          break;
        }
        case 5:
          read_period_interval(m.val, t.period_interval, mp);
          break;
        case 6:
          // The get-only TemplateErrors list is populated by Newtonsoft: its strings become errors.
          if (m.val.is_array()) {
            for (const value& e : m.val.as_array()) {
              std::optional<std::string> s;
              if (read_string(e, s, mp) && s) error("InvalidTemplateException", *s, mp, pos(e));
            }
          } else if (!m.val.is_null()) {
            serialization_error(cannot_deserialize(m.val, std::string(list_prefix) + "System.String]", true), mp,
                                pos(m.val));
          }
          break;
        default:
          unknown_member(m, "CodeValueFhirTemplate", mp);
          break;
      }
    }
    // Required checks run at the end of the object, in contract order (Codes, then TypeName).
    if (!has_codes) required_missing("Codes", "", obj);
    if (!has_type_name) required_missing("TypeName", "", obj);
    type_name_known_ = has_type_name && !type_name_null_;
    return t;
  }

  bool type_name_known() const { return type_name_known_; }

private:
  const json::located_document& doc_;
  template_errors& errors_;
  int index_ = -1;
  bool type_name_null_ = false;
  bool type_name_known_ = false;
};

// TemplateContainer {templateType, template}: extra members ignored, names case-insensitive.
struct container {
  std::optional<std::string> template_type;
  const value* template_type_token = nullptr;
  const value* template_token = nullptr;
};

container read_container(reader& r, const value& obj, const std::string& path) {
  container c;
  static constexpr std::array<std::string_view, 2> names = {"TemplateType", "Template"};
  for (const member& m : obj.as_object()) {
    switch (match_property(m.key, names)) {
      case 0:
        c.template_type_token = &m.val;
        if (!r.read_string(m.val, c.template_type, join_path(path, m.key))) c.template_type.reset();
        break;
      case 1:
        c.template_token = &m.val;
        break;
      default:
        break;
    }
  }
  return c;
}

std::string actual_type(const container& c) {
  if (!c.template_type_token) return "Not Found";
  return c.template_type.value_or("");
}

}  // namespace

load_result mapping_loader::run(std::string_view json_text) {
  load_result result;
  auto mapping = std::make_shared<fhir_mapping>();
  auto finish = [&] {
    result.mapping = std::move(mapping);
    return std::move(result);
  };

  auto parsed = json::parse_located(json_text);
  if (!parsed) {
    result.errors.push_back({"JsonReaderException", parsed.error().message, -1, "", parsed.error().pos, false});
    return finish();
  }
  const json::located_document& doc = *parsed;
  reader r(doc, result.errors);
  const value& root = doc.doc.root;
  const std::string collection_type = "CollectionFhirTemplate";

  // Root container (CollectionTemplateFactory.Create / IsValid).
  if (!root.is_object()) {
    if (root.is_null())
      r.error("InvalidTemplateException", "Expected TemplateType value " + collection_type + ", actual Not Found.",
              "templateType", r.pos(root));
    else
      r.serialization_error(cannot_deserialize(root, std::string(ns) + "TemplateContainer", false), "", r.pos(root));
    return finish();
  }
  const container rc = read_container(r, root, "");
  if (!match_template_name(rc.template_type, collection_type)) {
    r.error("InvalidTemplateException",
            "Expected TemplateType value " + collection_type + ", actual " + actual_type(rc) + ".", "templateType",
            rc.template_type_token ? r.pos(*rc.template_type_token) : r.pos(root));
    return finish();
  }
  if (!rc.template_token || !rc.template_token->is_array()) {
    r.error("InvalidTemplateException",
            "Expected an array for the template property value for template type " + collection_type + ".", "template",
            rc.template_token ? r.pos(*rc.template_token) : r.pos(root));
    return finish();
  }

  const auto items = rc.template_token->as_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const value& item = items[i];
    const int index = static_cast<int>(i);
    r.set_index(index);
    const std::string path = index_path("template", i);
    if (!item.is_object()) {
      if (item.is_null())
        r.error("ArgumentNullException", "Value cannot be null. (Parameter 'jsonTemplate')", path, r.pos(item));
      else
        r.serialization_error(cannot_deserialize(item, std::string(ns) + "TemplateContainer", false), path,
                              r.pos(item));
      continue;
    }
    const container c = read_container(r, item, path);
    const std::string code_value_type = "CodeValueFhirTemplate";
    if (!match_template_name(c.template_type, code_value_type)) {
      r.error("InvalidTemplateException",
              "Expected TemplateType value " + code_value_type + ", actual " + actual_type(c) + ".", "templateType",
              c.template_type_token ? r.pos(*c.template_type_token) : r.pos(item));
      continue;
    }
    if (!c.template_token || !c.template_token->is_object()) {
      r.error("InvalidTemplateException",
              "Expected an object for the template property value for template type " + code_value_type + ".",
              "template", c.template_token ? r.pos(*c.template_token) : r.pos(item));
      continue;
    }
    code_value_template t = r.read_code_value(*c.template_token);
    t.template_index = index;

    // FhirLookupTemplate.RegisterTemplate: unique (case-insensitive) non-blank type names.
    if (!r.type_name_known()) continue;  // TypeName null: not registered, its errors are reported
    const source_pos type_pos = [&] {
      for (const member& m : c.template_token->as_object())
        if (detail::iequals(m.key, "TypeName")) return r.pos(m.val);
      return r.pos(*c.template_token);
    }();
    if (detail::is_blank(t.type_name)) {
      r.error("InvalidTemplateException", "Empty type name is not allowed.", "typeName", type_pos);
      continue;
    }
    if (mapping->find(t.type_name)) {
      r.error("InvalidTemplateException", "Duplicate template defined for type name: '" + t.type_name + "'", "typeName",
              type_pos);
      continue;
    }
    mapping->templates_.push_back(std::move(t));
  }
  return finish();
}

}  // namespace iomt::mapping::fhir
