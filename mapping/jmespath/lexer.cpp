// Tokenizer of the JMESPath 2015 grammar (jmespath.org/specification, "Grammar" and "Lexemes").
#include "mapping/jmespath/lexer.hpp"

#include "mapping/json/reader.hpp"
#include "mapping/text/ascii.hpp"

#include <string>

namespace iomt::jmespath {

namespace {

using mapping::text::append_utf8;
using mapping::text::hex_value;
using mapping::text::is_digit;

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool read_hex4(std::string_view s, std::size_t i, std::uint32_t& v) {
  if (i + 4 > s.size()) return false;
  v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    int h = hex_value(s[i + k]);
    if (h < 0) return false;
    v = v * 16 + static_cast<std::uint32_t>(h);
  }
  return true;
}

// Body of a JSON string (between the quotes) -> UTF-8 text; false when not valid JSON
// (quoted identifiers are JSON strings: spec "quoted-string").
bool decode_json_string(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (static_cast<unsigned char>(c) < 0x20) return false;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::uint32_t cp = 0;
        if (!read_hex4(s, i + 1, cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && s.substr(i + 1, 2) == "\\u") {
          std::uint32_t lo = 0;
          if (read_hex4(s, i + 3, lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogate
        append_utf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

// Index just past the closing `delim` of a delimited lexeme starting at `start` (the opening
// delimiter); a backslash always escapes the next character. npos when unterminated.
std::size_t find_close(std::string_view s, std::size_t start, char delim) {
  for (std::size_t i = start + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == delim) return i;
  }
  return std::string_view::npos;
}

std::string replace_escape(std::string_view s, char quote) {
  std::string r;
  r.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == quote) {
      r += quote;
      ++i;
    } else {
      r += s[i];
    }
  }
  return r;
}

// `json` literal: the Newtonsoft-compatible reader with date sniffing (iomt-spec §3.9); when the
// text is not JSON, the legacy form `foo` (an unquoted string) is accepted as the string itself.
boost::system::result<json::value, error> read_literal(std::string_view body, std::uint32_t pos, json::arena& storage) {
  std::string text = replace_escape(body, '`');
  std::size_t b = 0;
  while (b < text.size() && is_space(text[b])) ++b;
  if (b == text.size()) return syntax_error(pos, "empty JSON literal");
  json::read_options opt;
  opt.sniff_dates = true;
  opt.lenient = true;
  auto v = json::parse_lenient(text, storage, opt);
  if (v) return *v;
  // Built piecewise: GCC 12 warns (-Wrestrict, a false positive) on the operator+ chain at -O2.
  std::string quoted;
  quoted.reserve(text.size() - b + 2);
  quoted += '"';
  quoted.append(text, b, std::string::npos);
  quoted += '"';
  auto legacy = json::parse_lenient(quoted, storage, opt);
  if (legacy && (legacy->is_string() || legacy->is_date())) return *legacy;
  return syntax_error(pos, "invalid JSON literal: " + v.error().message);
}

struct lexer {
  std::string_view s;
  json::arena& storage;
  std::vector<token> out;
  std::string scratch;

  void push(tok k, std::size_t pos) {
    token t;
    t.kind = k;
    t.pos = static_cast<std::uint32_t>(pos);
    out.push_back(t);
  }

  boost::system::result<void, error> run() {
    std::size_t i = 0;
    while (i < s.size()) {
      char c = s[i];
      if (is_space(c)) {
        ++i;
        continue;
      }
      std::size_t start = i;
      if (is_ident_start(c)) {
        while (i < s.size() && is_ident_char(s[i])) ++i;
        token t;
        t.kind = tok::unquoted_identifier;
        t.pos = static_cast<std::uint32_t>(start);
        t.text = storage.copy(s.substr(start, i - start));
        out.push_back(t);
        continue;
      }
      if (is_digit(c) || c == '-') {
        ++i;
        if (c == '-' && (i >= s.size() || !is_digit(s[i])))
          return syntax_error(static_cast<std::uint32_t>(start), "'-' must be followed by a digit");
        std::int64_t v = c == '-' ? 0 : c - '0';
        bool saturated = false;
        while (i < s.size() && is_digit(s[i])) {
          int d = s[i] - '0';
          if (!saturated) {
            if (v > (INT64_MAX - d) / 10)
              saturated = true;
            else
              v = v * 10 + d;
          }
          ++i;
        }
        if (saturated) v = INT64_MAX;
        token t;
        t.kind = tok::number;
        t.pos = static_cast<std::uint32_t>(start);
        t.num = c == '-' ? -v : v;
        out.push_back(t);
        continue;
      }
      switch (c) {
        case '.':
          push(tok::dot, i++);
          continue;
        case '*':
          push(tok::star, i++);
          continue;
        case '@':
          push(tok::current, i++);
          continue;
        case ']':
          push(tok::rbracket, i++);
          continue;
        case '{':
          push(tok::lbrace, i++);
          continue;
        case '}':
          push(tok::rbrace, i++);
          continue;
        case '(':
          push(tok::lparen, i++);
          continue;
        case ')':
          push(tok::rparen, i++);
          continue;
        case ',':
          push(tok::comma, i++);
          continue;
        case ':':
          push(tok::colon, i++);
          continue;
        case '[':
          if (i + 1 < s.size() && s[i + 1] == ']')
            push(tok::flatten, i), i += 2;
          else if (i + 1 < s.size() && s[i + 1] == '?')
            push(tok::filter, i), i += 2;
          else
            push(tok::lbracket, i++);
          continue;
        case '|':
          if (i + 1 < s.size() && s[i + 1] == '|')
            push(tok::or_, i), i += 2;
          else
            push(tok::pipe, i++);
          continue;
        case '&':
          if (i + 1 < s.size() && s[i + 1] == '&')
            push(tok::and_, i), i += 2;
          else
            push(tok::expref, i++);
          continue;
        case '!':
          if (i + 1 < s.size() && s[i + 1] == '=')
            push(tok::ne, i), i += 2;
          else
            push(tok::not_, i++);
          continue;
        case '=':
          if (i + 1 < s.size() && s[i + 1] == '=') {
            push(tok::eq, i), i += 2;
            continue;
          }
          return syntax_error(static_cast<std::uint32_t>(i), "unexpected '=' (did you mean '=='?)");
        case '<':
          if (i + 1 < s.size() && s[i + 1] == '=')
            push(tok::le, i), i += 2;
          else
            push(tok::lt, i++);
          continue;
        case '>':
          if (i + 1 < s.size() && s[i + 1] == '=')
            push(tok::ge, i), i += 2;
          else
            push(tok::gt, i++);
          continue;
        case '"': {
          std::size_t end = find_close(s, i, '"');
          if (end == std::string_view::npos)
            return syntax_error(static_cast<std::uint32_t>(i), "unterminated quoted identifier");
          if (!decode_json_string(s.substr(i + 1, end - i - 1), scratch))
            return syntax_error(static_cast<std::uint32_t>(i), "invalid quoted identifier");
          token t;
          t.kind = tok::quoted_identifier;
          t.pos = static_cast<std::uint32_t>(i);
          t.text = storage.copy(scratch);
          out.push_back(t);
          i = end + 1;
          continue;
        }
        case '\'': {
          std::size_t end = find_close(s, i, '\'');
          if (end == std::string_view::npos)
            return syntax_error(static_cast<std::uint32_t>(i), "unterminated raw string");
          token t;
          t.kind = tok::literal;
          t.pos = static_cast<std::uint32_t>(i);
          t.lit = storage.string(replace_escape(s.substr(i + 1, end - i - 1), '\''));
          out.push_back(t);
          i = end + 1;
          continue;
        }
        case '`': {
          std::size_t end = find_close(s, i, '`');
          if (end == std::string_view::npos)
            return syntax_error(static_cast<std::uint32_t>(i), "unterminated JSON literal");
          auto v = read_literal(s.substr(i + 1, end - i - 1), static_cast<std::uint32_t>(i), storage);
          if (!v) return v.error();
          token t;
          t.kind = tok::literal;
          t.pos = static_cast<std::uint32_t>(i);
          t.lit = *v;
          out.push_back(t);
          i = end + 1;
          continue;
        }
        default:
          break;
      }
      return syntax_error(static_cast<std::uint32_t>(i), std::string("unexpected character '") + c + "'");
    }
    push(tok::eof, s.size());
    return {};
  }
};

}  // namespace

error syntax_error(std::uint32_t pos, std::string_view what) {
  return error{error_kind::syntax, "Syntax error at position " + std::to_string(pos) + ": " + std::string(what)};
}

const char* describe(tok t) {
  switch (t) {
    case tok::eof:
      return "end of expression";
    case tok::unquoted_identifier:
      return "identifier";
    case tok::quoted_identifier:
      return "quoted identifier";
    case tok::literal:
      return "literal";
    case tok::number:
      return "number";
    case tok::dot:
      return "'.'";
    case tok::star:
      return "'*'";
    case tok::flatten:
      return "'[]'";
    case tok::filter:
      return "'[?'";
    case tok::lbracket:
      return "'['";
    case tok::rbracket:
      return "']'";
    case tok::lbrace:
      return "'{'";
    case tok::rbrace:
      return "'}'";
    case tok::lparen:
      return "'('";
    case tok::rparen:
      return "')'";
    case tok::comma:
      return "','";
    case tok::colon:
      return "':'";
    case tok::pipe:
      return "'|'";
    case tok::or_:
      return "'||'";
    case tok::and_:
      return "'&&'";
    case tok::not_:
      return "'!'";
    case tok::eq:
      return "'=='";
    case tok::ne:
      return "'!='";
    case tok::lt:
      return "'<'";
    case tok::le:
      return "'<='";
    case tok::gt:
      return "'>'";
    case tok::ge:
      return "'>='";
    case tok::current:
      return "'@'";
    case tok::expref:
      return "'&'";
  }
  return "token";
}

boost::system::result<std::vector<token>, error> tokenize(std::string_view expr, json::arena& storage) {
  lexer lx{expr, storage, {}, {}};
  auto r = lx.run();
  if (!r) return r.error();
  return std::move(lx.out);
}

}  // namespace iomt::jmespath
