// A small validating JSON scanner for the HTTP ingest: it checks RFC 8259 syntax and hands back the
// exact text of each value, so batch items keep their bytes as sent (numbers are not re-printed,
// big integers keep every digit, member order is kept). Used for Event Hubs batch bodies and the
// BrokerProperties header (transport/http/eventhub_request.hpp). Sans-io, no allocation except in
// decode_string / append_minified.
//
// Strict on purpose: Event Hubs rejects a batch that is not valid JSON, so comments, trailing commas
// and single quotes are errors here (the device message inside a "Body" string is read leniently
// later by the pipeline, iomt-spec §2). Nesting deeper than `max_depth` is an error, never a crash.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace iomt::transport::http::json_scan {

inline constexpr int max_depth = 256;

struct scan_error {
  std::size_t offset = 0;  // byte offset into the scanned text
  std::string message;     // e.g. "expected ',' or ']'"
};

// Index of the first non-whitespace byte at or after `pos` (JSON whitespace: space, tab, CR, LF).
std::size_t skip_ws(std::string_view text, std::size_t pos) noexcept;

// Validates the value that starts at text[pos] (no leading whitespace) and returns one past its end.
boost::system::result<std::size_t, scan_error> scan_value(std::string_view text, std::size_t pos, int depth = 0);

// Validates a whole document: optional UTF-8 BOM, whitespace, one value, whitespace, end.
// Returns the span of the value.
boost::system::result<std::string_view, scan_error> scan_document(std::string_view text);

// What a validated value is, from its first byte.
enum class value_kind { object, array, string, number, true_, false_, null };
value_kind kind_of(std::string_view value) noexcept;

// Decodes a validated string token (with its quotes) to UTF-8. Lone surrogate escapes become U+FFFD.
std::string decode_string(std::string_view token);

// Appends a validated value without insignificant whitespace.
void append_minified(std::string_view value, std::string& out);

// Appends `s` as a JSON string literal (with quotes). Bytes that are not valid UTF-8 are taken as
// ISO-8859-1 (HTTP header obs-text) so the output is always valid JSON.
void append_quoted(std::string_view s, std::string& out);

// Iterates the items of a validated array: f(std::string_view item).
template <class F>
void for_each_item(std::string_view array, F&& f) {
  std::size_t pos = skip_ws(array, 1);
  if (array[pos] == ']') return;
  for (;;) {
    auto end = scan_value(array, pos, 1);  // already validated: cannot fail
    f(array.substr(pos, *end - pos));
    pos = skip_ws(array, *end);
    if (array[pos] == ']') return;
    pos = skip_ws(array, pos + 1);  // ','
  }
}

// Iterates the members of a validated object: f(std::string_view key_token, std::string_view value).
// `key_token` includes its quotes (use decode_string, or compare directly when it has no escapes).
template <class F>
void for_each_member(std::string_view object, F&& f) {
  std::size_t pos = skip_ws(object, 1);
  if (object[pos] == '}') return;
  for (;;) {
    auto key_end = scan_value(object, pos, 1);
    std::string_view key = object.substr(pos, *key_end - pos);
    pos = skip_ws(object, skip_ws(object, *key_end) + 1);  // ':'
    auto end = scan_value(object, pos, 1);
    f(key, object.substr(pos, *end - pos));
    pos = skip_ws(object, *end);
    if (object[pos] == '}') return;
    pos = skip_ws(object, pos + 1);  // ','
  }
}

}  // namespace iomt::transport::http::json_scan
