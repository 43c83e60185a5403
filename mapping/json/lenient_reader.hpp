// Internal to mapping/json: the Newtonsoft JsonTextReader-compatible reader behind parse_lenient,
// parse_located and body_reader's fallback (iomt-spec §2). Use reader.hpp instead.
#pragma once

#include "mapping/json/reader.hpp"

namespace iomt::json::detail {

// Newtonsoft JsonReader.MaxDepth default (13.0): deeper nesting is an error.
inline constexpr int newtonsoft_max_depth = 64;

struct lenient_config {
  bool sniff_dates = false;             // DateParseHandling.DateTime for string values
  located_document* located = nullptr;  // when set, record the position of every value and key
};

// Reads ONE value from `text` (after an optional UTF-8 BOM) into `out`; what follows it is ignored.
// Empty text (or only a BOM) -> null; whitespace/comments only -> error.
boost::system::result<value, parse_error> read_lenient(std::string_view text, arena& out, const lenient_config& cfg);

}  // namespace iomt::json::detail
