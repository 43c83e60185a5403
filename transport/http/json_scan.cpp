#include "transport/http/json_scan.hpp"

#include "mapping/text/ascii.hpp"

#include <cstdint>

namespace iomt::transport::http::json_scan {
namespace {

using result = boost::system::result<std::size_t, scan_error>;

scan_error fail(std::size_t offset, std::string message) { return {offset, std::move(message)}; }

// scan_error is constructible from a size_t (C++20 aggregate init), so say which one we mean.
result ok(std::size_t end) { return result(boost::system::in_place_value, end); }

using mapping::text::append_utf8;
using mapping::text::hex_value;
using mapping::text::is_digit;

// Length of the well-formed UTF-8 sequence at s[pos] (RFC 3629: no overlongs, no surrogates,
// at most U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t pos) noexcept {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (pos + n > s.size()) return 0;
  if (byte(pos + 1) < lo || byte(pos + 1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) return 0;
  return n;
}

result scan_string(std::string_view t, std::size_t pos) {
  const std::size_t start = pos;
  ++pos;  // opening quote
  while (pos < t.size()) {
    const char c = t[pos];
    if (c == '"') return ok(pos + 1);
    if (c == '\\') {
      if (pos + 1 >= t.size()) break;
      const char e = t[pos + 1];
      if (e == 'u') {
        for (std::size_t i = 2; i < 6; ++i)
          if (pos + i >= t.size() || hex_value(t[pos + i]) < 0) return fail(pos, "invalid \\u escape in string");
        pos += 6;
        continue;
      }
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
        return fail(pos, "invalid escape sequence in string");
      pos += 2;
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) return fail(pos, "control character in string (must be escaped)");
    const std::size_t n = utf8_sequence(t, pos);
    if (n == 0) return fail(pos, "invalid UTF-8 in string");
    pos += n;
  }
  return fail(start, "unterminated string");
}

result scan_number(std::string_view t, std::size_t pos) {
  const std::size_t start = pos;
  if (t[pos] == '-') ++pos;
  if (pos >= t.size() || !is_digit(t[pos])) return fail(start, "invalid number");
  if (t[pos] == '0') {
    ++pos;
  } else {
    while (pos < t.size() && is_digit(t[pos])) ++pos;
  }
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    if (pos >= t.size() || !is_digit(t[pos])) return fail(start, "invalid number (digit expected after '.')");
    while (pos < t.size() && is_digit(t[pos])) ++pos;
  }
  if (pos < t.size() && (t[pos] == 'e' || t[pos] == 'E')) {
    ++pos;
    if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) ++pos;
    if (pos >= t.size() || !is_digit(t[pos])) return fail(start, "invalid number (digit expected in exponent)");
    while (pos < t.size() && is_digit(t[pos])) ++pos;
  }
  return ok(pos);
}

result scan_literal(std::string_view t, std::size_t pos, std::string_view word) {
  if (t.substr(pos, word.size()) != word) return fail(pos, "unexpected character");
  return ok(pos + word.size());
}

result scan_container(std::string_view t, std::size_t pos, int depth) {
  const bool object = t[pos] == '{';
  const char close = object ? '}' : ']';
  if (depth >= max_depth) return fail(pos, "nesting deeper than " + std::to_string(max_depth) + " levels");
  pos = skip_ws(t, pos + 1);
  if (pos < t.size() && t[pos] == close) return ok(pos + 1);
  for (;;) {
    if (pos >= t.size()) return fail(pos, "unexpected end of input");
    if (object) {
      if (t[pos] != '"') return fail(pos, "expected a property name in double quotes");
      auto key = scan_string(t, pos);
      if (!key) return key;
      pos = skip_ws(t, *key);
      if (pos >= t.size() || t[pos] != ':') return fail(pos, "expected ':' after property name");
      pos = skip_ws(t, pos + 1);
      if (pos >= t.size()) return fail(pos, "unexpected end of input");
    }
    auto end = scan_value(t, pos, depth + 1);
    if (!end) return end;
    pos = skip_ws(t, *end);
    if (pos >= t.size()) return fail(pos, "unexpected end of input");
    if (t[pos] == close) return ok(pos + 1);
    if (t[pos] != ',') return fail(pos, object ? "expected ',' or '}'" : "expected ',' or ']'");
    pos = skip_ws(t, pos + 1);
  }
}

std::uint32_t read_hex4(std::string_view s, std::size_t pos) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = v * 16 + static_cast<std::uint32_t>(hex_value(s[pos + i]));
  return v;
}

}  // namespace

std::size_t skip_ws(std::string_view text, std::size_t pos) noexcept {
  while (pos < text.size()) {
    const char c = text[pos];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
    ++pos;
  }
  return pos;
}

boost::system::result<std::size_t, scan_error> scan_value(std::string_view text, std::size_t pos, int depth) {
  if (pos >= text.size()) return fail(pos, "unexpected end of input");
  switch (text[pos]) {
    case '{':
    case '[':
      return scan_container(text, pos, depth);
    case '"':
      return scan_string(text, pos);
    case 't':
      return scan_literal(text, pos, "true");
    case 'f':
      return scan_literal(text, pos, "false");
    case 'n':
      return scan_literal(text, pos, "null");
    default:
      if (text[pos] == '-' || is_digit(text[pos])) return scan_number(text, pos);
      return fail(pos, "unexpected character");
  }
}

boost::system::result<std::string_view, scan_error> scan_document(std::string_view text) {
  std::size_t pos = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  pos = skip_ws(text, pos);
  if (pos >= text.size()) return fail(pos, "empty document");
  auto end = scan_value(text, pos);
  if (!end) return end.error();
  if (skip_ws(text, *end) != text.size()) return fail(skip_ws(text, *end), "unexpected content after the JSON value");
  return text.substr(pos, *end - pos);
}

value_kind kind_of(std::string_view value) noexcept {
  switch (value.front()) {
    case '{':
      return value_kind::object;
    case '[':
      return value_kind::array;
    case '"':
      return value_kind::string;
    case 't':
      return value_kind::true_;
    case 'f':
      return value_kind::false_;
    case 'n':
      return value_kind::null;
    default:
      return value_kind::number;
  }
}

std::string decode_string(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  const std::size_t end = token.size() - 1;  // closing quote
  for (std::size_t pos = 1; pos < end;) {
    const char c = token[pos];
    if (c != '\\') {
      out.push_back(c);
      ++pos;
      continue;
    }
    const char e = token[pos + 1];
    pos += 2;
    switch (e) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        std::uint32_t cp = read_hex4(token, pos);
        pos += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && pos + 6 <= end && token[pos] == '\\' && token[pos + 1] == 'u') {
          const std::uint32_t low = read_hex4(token, pos + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            pos += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogate
        append_utf8(out, cp);
        break;
      }
      default:
        out.push_back(e);
        break;  // '"', '\\', '/'
    }
  }
  return out;
}

void append_minified(std::string_view value, std::string& out) {
  out.reserve(out.size() + value.size());
  bool in_string = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\') {
        out.push_back(value[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '"') in_string = true;
    out.push_back(c);
  }
}

void append_quoted(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 0xF]);
      }
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (const std::size_t n = utf8_sequence(s, i); n != 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      append_utf8(out, c);  // ISO-8859-1 byte -> its code point
      ++i;
    }
  }
  out.push_back('"');
}

}  // namespace iomt::transport::http::json_scan
