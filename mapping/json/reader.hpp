// Reading JSON text into json::value (iomt-spec §2).
//
// Message bodies: a strict simdjson fast path, and when that fails a lenient reader that accepts
// what Newtonsoft's JsonTextReader accepts (comments, trailing commas, single quotes, unquoted
// names, NaN/Infinity, one value with trailing content ignored, duplicate keys: last value wins in
// the first key's position). ISO-looking strings become Date tokens when `sniff_dates` is set.
// Templates are read with positions so validation can say "Line Number: n, Position: p".
// Empty text (or only a BOM) reads as null (a zero-length body gives "Body": null); text with no
// token (white space, comments) is an error. Invalid UTF-8 inside strings becomes U+FFFD (as .NET's
// UTF-8 decoder does); elsewhere it is an unexpected character. Nesting deeper than Newtonsoft's
// MaxDepth (64) is an error. Errors read like Newtonsoft's: "<what>. Path 'a.b', line 3, position 5."
// Details and the few known differences: lenient_reader.cpp.
#pragma once

#include "mapping/json/value.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace iomt::json {

// Newtonsoft JsonTextReader LineNumber / LinePosition (both 1-based; 0 = unknown).
struct source_pos {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct parse_error {
  std::string message;  // what went wrong, Newtonsoft-like wording
  source_pos pos;
};
[[noreturn]] void throw_exception_from_error(const parse_error& e, const boost::source_location&);

struct read_options {
  bool sniff_dates = true;  // DateParseHandling.DateTime (bodies, JMESPath literals); off for templates
  bool lenient = true;      // fall back to the Newtonsoft-compatible reader when strict parsing fails
};

// One reader per thread, reused (keeps the simdjson parser's buffers warm). Not thread-safe.
class body_reader {
public:
  body_reader();
  ~body_reader();
  body_reader(const body_reader&) = delete;
  body_reader& operator=(const body_reader&) = delete;

  // Parses `text` (UTF-8, BOM skipped) into `out`. Values point into `out`.
  boost::system::result<value, parse_error> read(std::string_view text, arena& out, const read_options& opt = {});

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Convenience: parse with a fresh reader into a new document.
boost::system::result<document, parse_error> parse(std::string_view text, const read_options& opt = {});

// The lenient (Newtonsoft-compatible) reader alone; also the fuzz target's entry point.
boost::system::result<value, parse_error> parse_lenient(std::string_view text, arena& out,
                                                        const read_options& opt = {});

// A document whose values and member keys remember where they were in the text.
struct located_document {
  document doc;
  source_pos root_pos;
  // Keyed by the address of the value slot inside the arena (array element or member value);
  // position = Newtonsoft LinePosition after reading the token (`{`/`[` for containers, the
  // closing quote for strings, the last character for scalars).
  std::unordered_map<const value*, source_pos> value_pos;
  // Keyed by the address of the member; position of the `:` after the name (Newtonsoft PropertyName).
  std::unordered_map<const member*, source_pos> key_pos;

  source_pos pos_of(const value* v) const {
    if (v == &doc.root) return root_pos;
    auto it = value_pos.find(v);
    return it == value_pos.end() ? source_pos{} : it->second;
  }
  source_pos pos_of(const member* m) const {
    auto it = key_pos.find(m);
    return it == key_pos.end() ? source_pos{} : it->second;
  }
};

// Lenient parse with positions; no date sniffing (templates are read as plain JSON values).
boost::system::result<located_document, parse_error> parse_located(std::string_view text);

}  // namespace iomt::json
