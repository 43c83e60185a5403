// raw_template -> content_template (upstream factories: CalculatedFunctionContentTemplateFactory
// and EnsureExpressionLanguageIsSet, JsonPathCalculatedFunctionContentTemplateAdapter, the Iot
// factories; iomt-spec §3.1-§3.3, §3.7). Every expression is compiled here, once.
#include "mapping/device/dotnet_text.hpp"
#include "mapping/device/template_loader.hpp"

namespace iomt::mapping::device::detail {

namespace {

// Fixed expressions of the IoT templates (iomt-spec §3.7).
constexpr std::string_view iot_device_id = "$.SystemProperties.iothub-connection-device-id";
constexpr std::string_view iot_creation_time = "$.Properties.iothub-creation-time-utc";
constexpr std::string_view iot_enqueued_time = "$.SystemProperties.iothub-enqueuedtime";
constexpr std::string_view iot_central_device_id = "$.deviceId";
constexpr std::string_view iot_central_time = "$.enqueuedTime";

class template_compiler {
public:
  template_compiler(const load_context& ctx, template_kind kind, expression_language default_language)
      : ctx_(ctx), kind_(kind), default_language_(default_language) {}

  content_template compile(raw_template& raw) {
    content_template t;
    t.kind = raw.kind;
    t.template_index = ctx_.template_index;
    t.type_name = raw.type_name.value_or(std::string());
    t.type_name_pos = raw.type_name_pos.line ? raw.type_name_pos : raw.pos;
    t.wraps_match = raw.kind == template_kind::calculated_content;
    t.default_language = raw.default_language;

    // Upstream order: type match, device id, patient id, encounter id, timestamp, correlation id, values.
    t.type_match = expression(raw.type_match, "TypeMatchExpression", "typeMatchExpression", true);
    switch (raw.kind) {
      case template_kind::iot_json_path_content:
        t.device_id = fixed(iot_device_id);
        t.timestamp = fixed(iot_creation_time);
        t.timestamp_fallback = fixed(iot_enqueued_time);
        break;
      case template_kind::iot_central_json_path_content:
        t.device_id = fixed(iot_central_device_id);
        t.timestamp = fixed(iot_central_time);
        break;
      default:
        t.device_id = expression(raw.device_id, "DeviceIdExpression", "deviceIdExpression", true);
        break;
    }
    t.patient_id = expression(raw.patient_id, "PatientIdExpression", "patientIdExpression", false);
    t.encounter_id = expression(raw.encounter_id, "EncounterIdExpression", "encounterIdExpression", false);
    const bool fixed_ids =
        raw.kind == template_kind::iot_json_path_content || raw.kind == template_kind::iot_central_json_path_content;
    if (!fixed_ids) t.timestamp = expression(raw.timestamp, "TimestampExpression", "timestampExpression", true);
    t.correlation_id = expression(raw.correlation_id, "CorrelationIdExpression", "correlationIdExpression", false);
    compile_values(raw, t);
    return t;
  }

private:
  void compile_values(raw_template& raw, content_template& t) {
    if (!raw.values) {
      // CalculatedFunctionContentTemplateFactory iterates template.Values without a null check.
      if (kind_ == template_kind::calculated_content)
        ctx_.add(raw.pos, "values",
                 "Object reference not set to an instance of an object. A CalculatedContent template needs a "
                 "\"values\" array (use \"values\": [] for none).",
                 "NullReferenceException");
      return;
    }
    t.has_values = true;
    t.values.reserve(raw.values->size());
    for (std::size_t i = 0; i < raw.values->size(); ++i) {
      raw_value& rv = (*raw.values)[i];
      const std::string prefix = "values[" + std::to_string(i) + "]";
      if (rv.is_null) {
        ctx_.add(rv.pos, prefix,
                 "Object reference not set to an instance of an object. The element " + prefix + " is null.",
                 "NullReferenceException");
        continue;
      }
      value_spec& v = t.values.emplace_back();
      v.name = rv.name.value_or(std::string());
      v.required = rv.required;
      v.pos = rv.name_pos.line ? rv.name_pos : rv.pos;
      if (rv.name && is_blank(v.name))
        ctx_.add(
            rv.pos, prefix + ".valueName",
            "The value name must not be empty or whitespace. (Parameter 'name') Every message this template matches "
            "fails.",
            "ArgumentException", /*warning=*/true);
      v.expression = expression(rv.expression, v.name, prefix + ".valueExpression", v.required);
    }
  }

  // Compiles one template expression. `name` is how upstream names it in messages
  // ("DeviceIdExpression", or the valueName); `needed` marks expressions whose absence fails
  // every message that reaches them.
  std::optional<compiled_expression> expression(std::optional<raw_expression>& re, const std::string& name,
                                                std::string property, bool needed) {
    if (!re) return std::nullopt;
    if (is_blank(re->value)) {
      if (kind_ == template_kind::calculated_content) {
        // The evaluators' EnsureArg.IsNotNullOrWhiteSpace at template creation.
        ctx_.add(re->pos, std::move(property),
                 "The expression value of [" + name + "] must not be null, empty or whitespace.", "ArgumentException");
      } else if (needed) {
        // JsonPath-family blank expressions are treated as absent (iomt-spec §3.1).
        ctx_.add(re->pos, std::move(property),
                 "An expression must be set for [" + name + "]. Every message this template matches fails.",
                 "IncompatibleDataException", /*warning=*/true);
      }
      return std::nullopt;
    }
    const expression_language language = re->language.value_or(default_language_);
    auto c = compiled_expression::compile(re->value, language, re->pos);
    if (!c) {
      ctx_.add(re->pos, std::move(property),
               "The following JmesPath expression could not be parsed: " + re->value + ". Cause: " + c.error().message,
               "TemplateExpressionException");
      return std::nullopt;
    }
    if (!c->deferred_error().empty())
      ctx_.add(re->pos, std::move(property),
               "The following JsonPath expression could not be parsed: " + re->value +
                   ". Cause: " + c->deferred_error() + " Every message it is evaluated on fails.",
               "TemplateExpressionException", /*warning=*/true);
    return std::move(*c);
  }

  std::optional<compiled_expression> fixed(std::string_view path) {
    auto c = compiled_expression::compile(path, expression_language::json_path);
    if (!c) return std::nullopt;
    return std::move(*c);
  }

  const load_context& ctx_;
  template_kind kind_;
  expression_language default_language_;
};

}  // namespace

content_template compile_template(raw_template raw, const load_context& ctx) {
  return template_compiler(ctx, raw.kind, raw.default_language).compile(raw);
}

}  // namespace iomt::mapping::device::detail
