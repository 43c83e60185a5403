// The upstream exceptions a device mapping raises while normalizing a message, as values
// (iomt-spec §3.5, §13.1). Messages follow NormalizationDataMappingException: the exception's own
// message, then "\n1:<inner>", "\n2:<inner of inner>" ... (expected E3).
#pragma once

#include "mapping/error.hpp"
#include "mapping/json/reader.hpp"

#include <string>
#include <string_view>

namespace iomt::mapping::device {
class compiled_expression;
}

namespace iomt::mapping::device::detail {

// "Line Number: 6, Position: 19. " ("" when the position is unknown).
std::string line_prefix(json::source_pos pos);

inline mapping_error incompatible_data(std::string message) {
  return {"IncompatibleDataException", std::move(message)};
}

// TemplateExpressionException about expression `e` (line-aware like upstream's, expected A22),
// with an optional inner cause appended as "\n1:<inner>".
mapping_error template_expression(const compiled_expression& e, std::string_view message, std::string_view inner = {});

}  // namespace iomt::mapping::device::detail
