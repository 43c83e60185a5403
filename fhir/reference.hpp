// Literal references "Type/id" (iomt-spec §11 Lookup step 2, iomt-expected D4).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iomt::fhir {

// The id of a relative reference to `type`: "Patient/123" -> "123". The type prefix is matched
// case-insensitively and the id must match ^[A-Za-z0-9_.\-~#]+$, so free text, absolute URLs and
// "Patient/123?_id=123" give nullopt (D4).
std::optional<std::string> reference_id(std::string_view reference, std::string_view type);

// "Patient/<id>".
std::string make_reference(std::string_view type, std::string_view id);

}  // namespace iomt::fhir
