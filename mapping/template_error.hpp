// A problem found while loading a device or FHIR mapping (iomt-spec §3.1, §6.1). Validation
// collects all of them; each names the upstream exception, the template and the property, and
// where in the file it is ("Line Number: n, Position: p." as Newtonsoft prints it).
#pragma once

#include "mapping/json/reader.hpp"

#include <string>
#include <vector>

namespace iomt::mapping {

struct template_error {
  std::string type;         // upstream exception name: "InvalidTemplateException", "TemplateExpressionException", ...
  std::string message;      // upstream message text, without the line prefix
  int template_index = -1;  // index in the root "template" array; -1 = the root itself
  std::string property;     // JSON property concerned, e.g. "typeMatchExpression" ("" if none)
  json::source_pos pos;     // 0/0 when unknown
  bool warning = false;     // warnings do not make the mapping invalid

  // "Line Number: 6, Position: 19. Required property 'DeviceIdExpression' not found in JSON."
  std::string full_message() const {
    if (pos.line == 0) return message;
    return "Line Number: " + std::to_string(pos.line) + ", Position: " + std::to_string(pos.column) + ". " + message;
  }
};

using template_errors = std::vector<template_error>;

}  // namespace iomt::mapping
