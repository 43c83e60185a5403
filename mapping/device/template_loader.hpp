// Loading a device mapping (iomt-spec §3.1-§3.3), in three steps:
//   template_loader.cpp   - the root CollectionContent and each {templateType, template} container;
//   template_reader.cpp   - one template object -> raw_template, with Newtonsoft-style
//                           deserialization errors (unknown members, missing required ones, types);
//   template_compiler.cpp - raw_template -> content_template: languages, expression compilation,
//                           the fixed IoT Hub / IoT Central expressions.
#pragma once

#include "mapping/device/template_model.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/template_error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::device::detail {

struct loaded_collection {
  std::vector<content_template> templates;  // the templates without errors, in order
  template_errors errors;
};

loaded_collection load_collection(std::string_view json_text);

// --- template type names (template_names.cpp) ---

// TemplateContainer.MatchTemplateName(expected): `type` or `type + "Template"` equals `expected`,
// ignoring case.
bool match_template_name(std::string_view type, std::string_view expected) noexcept;
// The factory that accepts `template_type` (TemplateContainer.MatchTemplateName), if any.
std::optional<template_kind> match_template_kind(std::string_view template_type) noexcept;
// The name upstream's factory uses in "Expected an object ... for template type <T>."
const char* factory_type_name(template_kind k) noexcept;
// The C# class a template object deserializes to ("CalculatedFunctionContentTemplate", ...).
const char* csharp_template_type(template_kind k) noexcept;
const char* csharp_value_type(template_kind k) noexcept;

// --- raw (deserialized, not yet compiled) templates ---

struct raw_expression {
  std::string value;
  std::optional<expression_language> language;  // unset: the template's default applies
  json::source_pos pos;
};

struct raw_value {
  bool is_null = false;  // a JSON null element of "values"
  std::optional<std::string> name;
  std::optional<raw_expression> expression;
  bool required = false;
  json::source_pos pos;
  json::source_pos name_pos;  // of the valueName value (0/0 when absent)
};

struct raw_template {
  template_kind kind = template_kind::calculated_content;
  json::source_pos pos;
  std::optional<std::string> type_name;
  json::source_pos type_name_pos;  // of the typeName value (0/0 when absent)
  std::optional<raw_expression> type_match, device_id, timestamp, patient_id, encounter_id, correlation_id;
  std::optional<std::vector<raw_value>> values;  // nullopt: absent or null
  expression_language default_language = expression_language::json_path;
};

// Errors found while loading one template go here, tagged with its index.
struct load_context {
  const json::located_document& doc;
  template_errors& errors;
  int template_index = -1;

  void add(json::source_pos pos, std::string property, std::string message,
           std::string type = "InvalidTemplateException", bool warning = false) const {
    errors.push_back({std::move(type), std::move(message), template_index, std::move(property), pos, warning});
  }
};

// Deserializes one template object of kind `kind` (upstream TemplateExtensions.ToValidTemplate).
raw_template read_template(template_kind kind, const json::value& object, json::source_pos pos,
                           const load_context& ctx);

// Builds the evaluable template; problems are added to ctx (errors and warnings).
content_template compile_template(raw_template raw, const load_context& ctx);

}  // namespace iomt::mapping::device::detail
