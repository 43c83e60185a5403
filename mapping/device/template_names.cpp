// Template type names (iomt-spec §3.1 table; upstream TemplateContainer.MatchTemplateName and
// each factory's target type name).
#include "mapping/device/dotnet_text.hpp"
#include "mapping/device/template_loader.hpp"

namespace iomt::mapping::device {

const char* to_string(template_kind k) noexcept {
  switch (k) {
    case template_kind::calculated_content:
      return "CalculatedContent";
    case template_kind::json_path_content:
      return "JsonPathContent";
    case template_kind::iot_json_path_content:
      return "IotJsonPathContent";
    case template_kind::iot_central_json_path_content:
      return "IotCentralJsonPathContent";
  }
  return "";
}

namespace detail {

// Factories whose expected name has no "Template" suffix therefore accept only that exact name.
bool match_template_name(std::string_view type, std::string_view expected) noexcept {
  constexpr std::string_view suffix = "Template";
  if (iequals(type, expected)) return true;
  return type.size() + suffix.size() == expected.size() && iequals(type, expected.substr(0, type.size())) &&
         iequals(suffix, expected.substr(type.size()));
}

std::optional<template_kind> match_template_kind(std::string_view type) noexcept {
  for (template_kind k : {template_kind::json_path_content, template_kind::iot_json_path_content,
                          template_kind::iot_central_json_path_content, template_kind::calculated_content})
    if (match_template_name(type, factory_type_name(k))) return k;
  return std::nullopt;
}

const char* factory_type_name(template_kind k) noexcept {
  switch (k) {
    case template_kind::calculated_content:
      return "CalculatedContent";
    case template_kind::json_path_content:
      return "JsonPathContentTemplate";
    case template_kind::iot_json_path_content:
      return "IotJsonPathContentTemplate";
    case template_kind::iot_central_json_path_content:
      return "IotCentralJsonPathContent";
  }
  return "";
}

const char* csharp_template_type(template_kind k) noexcept {
  switch (k) {
    case template_kind::calculated_content:
      return "CalculatedFunctionContentTemplate";
    case template_kind::json_path_content:
      return "JsonPathContentTemplate";
    case template_kind::iot_json_path_content:
      return "IotJsonPathContentTemplate";
    case template_kind::iot_central_json_path_content:
      return "IotCentralJsonPathContentTemplate";
  }
  return "";
}

const char* csharp_value_type(template_kind k) noexcept {
  return k == template_kind::calculated_content ? "CalculatedFunctionValueExpression" : "JsonPathValueExpression";
}

}  // namespace detail
}  // namespace iomt::mapping::device
