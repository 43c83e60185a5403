// JMESPath tokens (2015 specification grammar). Identifiers are decoded and literals parsed here,
// into the program's storage.
#pragma once

#include "mapping/jmespath/expression.hpp"
#include "mapping/json/value.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace iomt::jmespath {

enum class tok : std::uint8_t {
  eof,
  unquoted_identifier,
  quoted_identifier,
  literal,  // `json` and 'raw string'
  number,
  dot,
  star,
  flatten,  // []
  filter,   // [?
  lbracket,
  rbracket,
  lbrace,
  rbrace,
  lparen,
  rparen,
  comma,
  colon,
  pipe,
  or_,
  and_,
  not_,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  current,  // @
  expref,   // &
};

const char* describe(tok t);

struct token {
  tok kind = tok::eof;
  std::uint32_t pos = 0;
  std::string_view text;  // identifier (decoded)
  json::value lit;        // literal
  std::int64_t num = 0;   // number (saturated to the Int64 range)
};

// Tokenizes `expr` (ends with an eof token). Literals are read with the Newtonsoft-compatible
// reader with date sniffing (iomt-spec §3.9); strings and values live in `storage`.
boost::system::result<std::vector<token>, error> tokenize(std::string_view expr, json::arena& storage);

// "Syntax error at position N: what".
error syntax_error(std::uint32_t pos, std::string_view what);

}  // namespace iomt::jmespath
