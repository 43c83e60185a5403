#include "mapping/device/device_errors.hpp"

#include "mapping/device/expression.hpp"

namespace iomt::mapping::device::detail {

std::string line_prefix(json::source_pos pos) {
  if (pos.line == 0) return {};
  return "Line Number: " + std::to_string(pos.line) + ", Position: " + std::to_string(pos.column) + ". ";
}

mapping_error template_expression(const compiled_expression& e, std::string_view message, std::string_view inner) {
  std::string text = line_prefix(e.pos());
  text += message;
  if (!inner.empty()) {
    text += "\n1:";
    text += inner;
  }
  return {"TemplateExpressionException", std::move(text)};
}

}  // namespace iomt::mapping::device::detail
