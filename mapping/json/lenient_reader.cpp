// The lenient reader: what Newtonsoft.Json 13 JsonTextReader + JToken.ReadFrom accept with default
// settings (iomt-spec §2), written as a recursive-descent parser bounded by the reader's MaxDepth.
//
// Accepted beyond RFC 8259 (as Newtonsoft does):
//   `//` and `/* */` comments wherever a value, a property or a separator may start;
//   trailing commas (`[1,]`, `{"a":1,}`); an empty array slot or property value (`[1,,2]`, `{"a":,}`)
//   reads as undefined, which we represent as null;
//   single-quoted strings, `\'` escapes, raw control characters and line breaks inside strings;
//   unquoted property names (letters, digits, `_`, `$`; any non-ASCII character is taken as a letter);
//   NaN, Infinity, -Infinity (floats), undefined (null);
//   numbers: `.5`, `1.`, hexadecimal `0x1F` and octal `017` integers (Convert.ToInt64), integers
//   beyond Int64 kept as big integers, anything with `.`/`e`/`E` a double (overflow -> ±Infinity);
//   NUL characters and Unicode white space (NBSP, U+2000.., U+3000, ...) between tokens;
//   duplicate property names: the last value replaces the first in its position;
//   one value is read and whatever follows it is ignored.
// Differences (documented): a comment before the root value is skipped (Newtonsoft would return a
// Comment token); invalid UTF-8 inside strings becomes U+FFFD (like .NET's UTF-8 decoder), elsewhere
// it is an unexpected character; `new Date(...)` constructors are rejected.
// Positions follow Newtonsoft LineNumber/LinePosition: lines are 1-based and broken by \n, \r\n or
// \r (also inside strings and comments); a position counts UTF-16 code units on the line up to and
// including the last character consumed.
#include "mapping/json/lenient_reader.hpp"

#include "mapping/json/dotnet.hpp"
#include "mapping/json/member_index.hpp"
#include "mapping/text/ascii.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

namespace iomt::json::detail {

namespace {

using mapping::text::append_utf8;
using mapping::text::hex_value;

// Length of a well-formed UTF-8 sequence at p (0 if ill-formed); `bad` receives the length of the
// maximal ill-formed subpart to replace with one U+FFFD.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end, std::size_t& bad) {
  unsigned char c = p[0];
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    bad = 1;
    return 0;
  }
  std::size_t i = 1;
  for (; i <= need; ++i) {
    if (p + i >= end) break;
    unsigned char b = p[i];
    unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) break;
  }
  if (i == need + 1) return need + 1;
  bad = i;
  return 0;
}

std::uint32_t decode_utf8(const unsigned char* p, std::size_t n) {
  switch (n) {
    case 1:
      return p[0];
    case 2:
      return (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
    case 3:
      return (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
    default:
      return (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
  }
}

constexpr std::uint32_t replacement_char = 0xFFFD;

// .NET char.IsWhiteSpace for code points >= 0x80.
bool is_unicode_space(std::uint32_t cp) {
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_ascii_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

bool is_number_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-' || c == '+' ||
         c == '.' || c == 'x' || c == 'X';
}

bool is_ascii_ident(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

// JsonPosition.WriteTo: names with these characters are written as ['name'].
bool needs_brackets(std::string_view key) {
  for (char c : key) switch (c) {
      case '.':
      case ' ':
      case '\'':
      case '/':
      case '"':
      case '[':
      case ']':
      case '(':
      case ')':
      case '\t':
      case '\n':
      case '\r':
      case '\f':
      case '\b':
      case '\\':
        return true;
      default:
        break;
    }
  return false;
}

// Convert.ToInt64(s, 16 or 8) for Newtonsoft's non-base-10 integers ("0x1F", "017"): at most 64
// bits, two's complement wrap (0xFFFFFFFFFFFFFFFF == -1).
bool parse_non_base10(std::string_view t, std::int64_t& out) {
  unsigned base = 8;
  if (t.size() >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty()) return false;
  std::uint64_t v = 0;
  for (char c : t) {
    int d = hex_value(c);
    if (d < 0 || static_cast<unsigned>(d) >= base) return false;
    unsigned shift = base == 16 ? 4 : 3;
    if (v >> (64 - shift) != 0) return false;  // overflow
    v = v << shift | static_cast<std::uint64_t>(d);
  }
  out = static_cast<std::int64_t>(v);
  return true;
}

enum class int_parse { success, overflow, invalid };

// ConvertUtils.Int64TryParse.
int_parse int64_try_parse(std::string_view t, std::int64_t& out) {
  if (t.empty()) return int_parse::invalid;
  bool neg = t[0] == '-';
  std::string_view d = neg ? t.substr(1) : t;
  if (d.empty()) return int_parse::invalid;
  if (d.size() > 19) {
    for (char c : d)
      if (c < '0' || c > '9') return int_parse::invalid;
    return int_parse::overflow;
  }
  std::uint64_t v = 0;
  for (char c : d) {
    if (c < '0' || c > '9') return int_parse::invalid;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  std::uint64_t limit = neg ? 9'223'372'036'854'775'808ULL : 9'223'372'036'854'775'807ULL;
  if (v > limit) return int_parse::overflow;
  out = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
  return int_parse::success;
}

// double.TryParse(s, NumberStyles.Float, InvariantCulture) on .NET Core 3.0+ (IEEE round to
// nearest, overflow -> ±Infinity).
bool double_try_parse(std::string_view t, double& out) {
  std::size_t i = 0;
  bool neg = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  std::size_t mant_start = i, int_digits = 0, frac_digits = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++int_digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  std::size_t mant_end = i;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != t.size()) return false;
  std::string_view body = t.substr(mant_start);
  double v = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
  if (r.ec == std::errc::result_out_of_range) {
    // Decide between overflow and underflow from the decimal exponent of the first digit.
    long long e = 0;
    if (mant_end < t.size()) {
      std::string_view ex = t.substr(mant_end + 1);
      bool eneg = !ex.empty() && ex[0] == '-';
      if (!ex.empty() && (ex[0] == '+' || ex[0] == '-')) ex.remove_prefix(1);
      for (char c : ex) e = e < 100000 ? e * 10 + (c - '0') : e;
      if (eneg) e = -e;
    }
    std::string_view m = t.substr(mant_start, mant_end - mant_start);
    long long lead = 0;  // position of the first significant digit relative to the point
    std::size_t dot = m.find('.');
    std::size_t int_len = dot == std::string_view::npos ? m.size() : dot;
    std::size_t first = m.find_first_not_of("0.");
    if (first == std::string_view::npos) {
      v = 0;
    } else {
      lead = first < int_len ? static_cast<long long>(int_len - first) : -static_cast<long long>(first - int_len - 1);
      v = e + lead > 0 ? HUGE_VAL : 0.0;
    }
  } else if (r.ec != std::errc() || r.ptr != body.data() + body.size()) {
    return false;
  }
  out = neg ? -v : v;
  return true;
}

class lenient_parser {
public:
  lenient_parser(std::string_view text, arena& a, const lenient_config& cfg)
      : begin_(reinterpret_cast<const unsigned char*>(text.data())),
        p_(begin_),
        end_(begin_ + text.size()),
        a_(a),
        cfg_(cfg),
        line_start_(begin_) {}

  boost::system::result<value, parse_error> run() {
    if (end_ - p_ >= 3 && p_[0] == 0xEF && p_[1] == 0xBB && p_[2] == 0xBF) {
      p_ += 3;
      line_start_ = p_;
    }
    if (p_ == end_) return value::null();  // zero-length body -> Body null (iomt-spec §2)
    if (!skip_space(true)) return std::move(*error_);
    if (p_ == end_) {
      fail("Error reading JToken from JsonReader.");
      return std::move(*error_);
    }
    value root;
    source_pos pos;
    if (!parse_value(root, pos)) return std::move(*error_);
    if (cfg_.located) cfg_.located->root_pos = pos;
    return root;
  }

private:
  // ---- positions and errors ----

  std::uint32_t column(const unsigned char* at) {
    if (col_at_ == nullptr || col_at_ > at) {
      col_at_ = line_start_;
      col_ = 0;
    }
    for (const unsigned char* q = col_at_; q < at; ++q) {
      unsigned char c = *q;
      if ((c & 0xC0) != 0x80) col_ += c >= 0xF0 ? 2 : 1;
    }
    col_at_ = at;
    return col_;
  }
  source_pos here() { return {line_, column(p_)}; }
  void newline() {
    ++line_;
    line_start_ = p_;
    col_at_ = nullptr;
  }

  std::string path() const {
    std::string s;
    for (const frame& f : path_) {
      if (f.object) {
        if (!f.has_key) continue;
        if (needs_brackets(f.key)) {
          s += "['";
          s += f.key;
          s += "']";
        } else {
          if (!s.empty()) s.push_back('.');
          s += f.key;
        }
      } else if (f.index >= 0) {
        s += '[';
        s += std::to_string(f.index);
        s += ']';
      }
    }
    return s;
  }

  bool fail(std::string what) {
    if (error_) return false;
    source_pos pos = here();
    while (!what.empty() && what.back() == ' ') what.pop_back();
    if (what.empty() || what.back() != '.') what.push_back('.');
    what +=
        " Path '" + path() + "', line " + std::to_string(pos.line) + ", position " + std::to_string(pos.column) + ".";
    error_ = parse_error{std::move(what), pos};
    return false;
  }

  // The character at p_ for messages (one UTF-8 sequence or the raw byte).
  std::string char_at_p() const {
    if (p_ >= end_) return "";
    std::size_t bad = 0;
    std::size_t n = *p_ < 0x80 ? 1 : utf8_sequence(p_, end_, bad);
    if (n == 0) return "\xEF\xBF\xBD";
    return std::string(reinterpret_cast<const char*>(p_), n);
  }

  bool unexpected_end() { return fail("Unexpected end when reading JSON."); }

  // ---- white space and comments ----

  // Length of a Unicode white space character at p_ (0 if none).
  std::size_t unicode_space_at() const {
    std::size_t bad = 0;
    std::size_t n = utf8_sequence(p_, end_, bad);
    return n && is_unicode_space(decode_utf8(p_, n)) ? n : 0;
  }

  bool skip_space(bool comments) {
    while (p_ < end_) {
      unsigned char c = *p_;
      if (is_ascii_space(c) || c == 0) {
        ++p_;
      } else if (c == '\n') {
        ++p_;
        newline();
      } else if (c == '\r') {
        ++p_;
        if (p_ < end_ && *p_ == '\n') ++p_;
        newline();
      } else if (c == '/' && comments) {
        if (!skip_comment()) return false;
      } else if (c >= 0x80) {
        std::size_t n = unicode_space_at();
        if (!n) return true;
        p_ += n;
      } else {
        return true;
      }
    }
    return true;
  }

  bool skip_comment() {
    ++p_;  // '/'
    if (p_ == end_) return fail("Unexpected end while parsing comment.");
    if (*p_ == '/') {
      ++p_;
      while (p_ < end_ && *p_ != '\n' && *p_ != '\r') ++p_;
      return true;
    }
    if (*p_ != '*') return fail("Error parsing comment. Expected: *, got " + char_at_p() + ".");
    ++p_;
    while (p_ < end_) {
      unsigned char c = *p_;
      if (c == '*' && p_ + 1 < end_ && p_[1] == '/') {
        p_ += 2;
        return true;
      }
      ++p_;
      if (c == '\n') {
        newline();
      } else if (c == '\r') {
        if (p_ < end_ && *p_ == '\n') ++p_;
        newline();
      }
    }
    return fail("Unexpected end while parsing comment.");
  }

  // IsSeparator after a literal (or the end of the text).
  bool at_separator() const {
    if (p_ == end_) return true;
    unsigned char c = *p_;
    switch (c) {
      case '}':
      case ']':
      case ',':
      case ' ':
      case '\t':
      case '\n':
      case '\r':
      case '\v':
      case '\f':
      case 0:
        return true;
      case '/':
        return p_ + 1 < end_ && (p_[1] == '*' || p_[1] == '/');
      default:
        return c >= 0x80 && unicode_space_at() != 0;
    }
  }

  // ---- values ----

  bool match_literal(std::string_view word, const char* error) {
    if (static_cast<std::size_t>(end_ - p_) < word.size()) {
      p_ = end_;
      return unexpected_end();
    }
    for (std::size_t i = 0; i < word.size(); ++i)
      if (p_[i] != static_cast<unsigned char>(word[i])) {
        p_ += i;
        return fail(error);
      }
    p_ += word.size();
    if (!at_separator()) return fail(error);
    return true;
  }

  bool parse_value(value& out, source_pos& pos) {
    if (!skip_space(true)) return false;
    if (p_ == end_) return unexpected_end();
    unsigned char c = *p_;
    switch (c) {
      case '"':
      case '\'': {
        std::string_view s;
        if (!parse_string(static_cast<char>(c), s)) return false;
        std::optional<date_time> d;
        if (cfg_.sniff_dates) d = sniff_date(s);
        out = d ? value::date(*d) : a_.string(s);
        break;
      }
      case '{':
        return parse_object(out, pos);
      case '[':
        return parse_array(out, pos);
      case 't':
        if (!match_literal("true", "Error parsing boolean value.")) return false;
        out = value::boolean(true);
        break;
      case 'f':
        if (!match_literal("false", "Error parsing boolean value.")) return false;
        out = value::boolean(false);
        break;
      case 'n':
        if (p_ + 1 < end_ && p_[1] == 'u') {
          if (!match_literal("null", "Error parsing null value.")) return false;
          out = value::null();
        } else if (p_ + 1 < end_ && p_[1] == 'e') {
          return fail("Unexpected content while parsing JSON (constructors are not supported).");
        } else if (p_ + 1 >= end_) {
          ++p_;
          return unexpected_end();
        } else {
          return fail("Unexpected character encountered while parsing value: n.");
        }
        break;
      case 'u':
        if (!match_literal("undefined", "Error parsing undefined value.")) return false;
        out = value::null();  // JTokenType.Undefined
        break;
      case 'N':
        if (!match_literal("NaN", "Cannot read NaN value.")) return false;
        out = value::floating(std::nan(""));
        break;
      case 'I':
        if (!match_literal("Infinity", "Cannot read Infinity value.")) return false;
        out = value::floating(HUGE_VAL);
        break;
      case '-':
        if (p_ + 1 < end_ && p_[1] == 'I') {
          if (!match_literal("-Infinity", "Cannot read -Infinity value.")) return false;
          out = value::floating(-HUGE_VAL);
          break;
        }
        if (!parse_number(out)) return false;
        break;
      case ',':
        // An empty slot: Newtonsoft reads an Undefined token and leaves the comma in place.
        out = value::null();
        pos = here();
        return true;
      default:
        if ((c >= '0' && c <= '9') || c == '.') {
          if (!parse_number(out)) return false;
          break;
        }
        return fail("Unexpected character encountered while parsing value: " + char_at_p() + ".");
    }
    if (cfg_.located) pos = here();
    return true;
  }

  bool parse_number(value& out) {
    const unsigned char* start = p_;
    while (p_ < end_ && is_number_char(*p_)) ++p_;
    if (p_ < end_) {
      unsigned char c = *p_;
      bool term = is_ascii_space(c) || c == '\n' || c == '\r' || c == 0 || c == ',' || c == '}' || c == ']' ||
                  c == ')' || c == '/' || (c >= 0x80 && unicode_space_at() != 0);
      if (!term) return fail("Unexpected character encountered while parsing number: " + char_at_p() + ".");
    }
    std::string_view t(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p_ - start));
    char first = t[0];
    if (t.size() == 1 && first >= '0' && first <= '9') {
      out = value::integer(first - '0');
      return true;
    }
    if (first == '0' && t.size() > 1 && t[1] != '.' && t[1] != 'e' && t[1] != 'E') {
      std::int64_t v = 0;
      if (!parse_non_base10(t, v)) return fail("Input string '" + std::string(t) + "' is not a valid number.");
      out = value::integer(v);
      return true;
    }
    std::int64_t i = 0;
    switch (int64_try_parse(t, i)) {
      case int_parse::success:
        out = value::integer(i);
        return true;
      case int_parse::overflow: {
        if (t.size() > 380) return fail("JSON integer " + std::string(t) + " is too large to parse.");
        // BigInteger.Parse: keep the canonical digits (no leading zeros, no "-0").
        bool neg = t[0] == '-';
        std::string_view d = neg ? t.substr(1) : t;
        std::size_t nz = d.find_first_not_of('0');
        d = nz == std::string_view::npos ? std::string_view("0") : d.substr(nz);
        if (neg && d != "0") {
          std::string s = "-";
          s += d;
          out = a_.big_integer(s);
        } else {
          out = a_.big_integer(d);
        }
        return true;
      }
      case int_parse::invalid:
        break;
    }
    double d = 0;
    if (!double_try_parse(t, d)) return fail("Input string '" + std::string(t) + "' is not a valid number.");
    out = value::floating(d);
    return true;
  }

  // Reads 4 hex digits after "\u".
  bool read_hex4(std::uint32_t& cp) {
    if (end_ - p_ < 4) {
      p_ = end_;
      return fail("Unexpected end while parsing unicode character.");
    }
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex_value(static_cast<char>(p_[i]));
      if (h < 0)
        return fail("Invalid Unicode escape sequence: \\u" + std::string(reinterpret_cast<const char*>(p_), 4) + ".");
      cp = cp << 4 | static_cast<std::uint32_t>(h);
    }
    p_ += 4;
    return true;
  }

  static bool is_high(std::uint32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
  static bool is_low(std::uint32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

  // "\uXXXX" after the 'u': JsonTextReader's surrogate handling (unpaired halves -> U+FFFD).
  bool parse_unicode_escape(std::string& buf) {
    std::uint32_t c = 0;
    if (!read_hex4(c)) return false;
    if (is_low(c)) {
      append_utf8(buf, replacement_char);
      return true;
    }
    if (!is_high(c)) {
      append_utf8(buf, c);
      return true;
    }
    for (;;) {
      if (end_ - p_ >= 2 && p_[0] == '\\' && p_[1] == 'u') {
        p_ += 2;
        std::uint32_t next = 0;
        if (!read_hex4(next)) return false;
        if (is_low(next)) {
          append_utf8(buf, 0x10000 + ((c - 0xD800) << 10) + (next - 0xDC00));
          return true;
        }
        append_utf8(buf, replacement_char);  // the high surrogate without its pair
        if (is_high(next)) {
          c = next;
          continue;
        }
        append_utf8(buf, next);
        return true;
      }
      append_utf8(buf, replacement_char);
      return true;
    }
  }

  // A quoted string (p_ at the opening quote). `out` views the text or sbuf_ until the next call.
  bool parse_string(char quote, std::string_view& out) {
    ++p_;
    const unsigned char* run = p_;
    bool buffered = false;
    sbuf_.clear();
    auto flush = [&] {
      sbuf_.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p_ - run));
      buffered = true;
    };
    for (;;) {
      if (p_ == end_) return fail(std::string("Unterminated string. Expected delimiter: ") + quote + ".");
      unsigned char c = *p_;
      if (c == static_cast<unsigned char>(quote)) break;
      if (c == '\\') {
        flush();
        ++p_;
        if (p_ == end_) return fail(std::string("Unterminated string. Expected delimiter: ") + quote + ".");
        unsigned char e = *p_++;
        switch (e) {
          case 'b':
            sbuf_.push_back('\b');
            break;
          case 't':
            sbuf_.push_back('\t');
            break;
          case 'n':
            sbuf_.push_back('\n');
            break;
          case 'f':
            sbuf_.push_back('\f');
            break;
          case 'r':
            sbuf_.push_back('\r');
            break;
          case '\\':
          case '"':
          case '\'':
          case '/':
            sbuf_.push_back(static_cast<char>(e));
            break;
          case 'u':
            if (!parse_unicode_escape(sbuf_)) return false;
            break;
          default:
            --p_;
            {
              std::string ch = char_at_p();
              ++p_;
              return fail("Bad JSON escape sequence: \\" + ch + ".");
            }
        }
        run = p_;
      } else if (c == '\n') {
        ++p_;
        newline();
      } else if (c == '\r') {
        ++p_;
        if (p_ < end_ && *p_ == '\n') ++p_;
        newline();
      } else if (c < 0x80) {
        ++p_;
      } else {
        std::size_t bad = 0;
        std::size_t n = utf8_sequence(p_, end_, bad);
        if (n) {
          p_ += n;
        } else {
          flush();
          append_utf8(sbuf_, replacement_char);
          p_ += bad;
          run = p_;
        }
      }
    }
    if (buffered) {
      flush();
      out = sbuf_;
    } else {
      out = std::string_view(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p_ - run));
    }
    ++p_;  // closing quote
    return true;
  }

  bool parse_unquoted_name(std::string_view& out) {
    const unsigned char* start = p_;
    for (;;) {
      if (p_ == end_) return fail("Unexpected end while parsing unquoted property name.");
      unsigned char c = *p_;
      if (is_ascii_ident(c)) {
        ++p_;
        continue;
      }
      if (c == 0 || c == ':' || is_ascii_space(c) || c == '\n' || c == '\r') break;
      if (c >= 0x80) {
        std::size_t bad = 0;
        std::size_t n = utf8_sequence(p_, end_, bad);
        if (n && is_unicode_space(decode_utf8(p_, n))) break;
        if (n) {  // taken as a letter (char.IsLetterOrDigit approximation)
          p_ += n;
          continue;
        }
      }
      return fail("Invalid JavaScript property identifier character: " + char_at_p() + ".");
    }
    out = std::string_view(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p_ - start));
    return true;
  }

  // Newtonsoft JsonReader.Push: SetToken(StartObject/StartArray) pushes the container and fails when
  // the open containers would exceed MaxDepth, so 64 nested containers read and the 65th fails.
  bool check_depth() {
    if (path_.size() + 1 > static_cast<std::size_t>(newtonsoft_max_depth))
      return fail("The reader's MaxDepth of " + std::to_string(newtonsoft_max_depth) + " has been exceeded.");
    return true;
  }

  // After a value inside a container: ',' (consumed), the container's close (consumed) or an error.
  // Returns 1 for ',', 2 for the close, 0 on error.
  int post_value(char close) {
    if (!skip_space(true)) return 0;
    if (p_ == end_) return unexpected_end(), 0;
    unsigned char c = *p_;
    if (c == ',') {
      ++p_;
      return 1;
    }
    if (c == static_cast<unsigned char>(close)) {
      ++p_;
      return 2;
    }
    if (c == '}' || c == ']') {
      ++p_;
      fail(std::string("JsonToken ") + (c == '}' ? "EndObject" : "EndArray") + " is not valid for closing JsonType " +
           (close == '}' ? "Object" : "Array") + ".");
      return 0;
    }
    fail("After parsing a value an unexpected character was encountered: " + char_at_p() + ".");
    return 0;
  }

  bool parse_array(value& out, source_pos& pos) {
    ++p_;
    if (cfg_.located) pos = here();
    if (!check_depth()) return false;
    path_.push_back({false, false, {}, -1});
    std::size_t base = values_.size();
    std::size_t pos_base = item_pos_.size();
    for (;;) {
      if (!skip_space(true)) return false;
      if (p_ == end_) return unexpected_end();
      if (*p_ == ']') {
        ++p_;
        break;
      }
      path_.back().index = static_cast<int>(values_.size() - base);
      value item;
      source_pos item_pos;
      if (!parse_value(item, item_pos)) return false;
      values_.push_back(item);
      if (cfg_.located) item_pos_.push_back(item_pos);
      int r = post_value(']');
      if (r == 0) return false;
      if (r == 2) break;
    }
    std::span<const value> items(values_.data() + base, values_.size() - base);
    out = a_.array(items);
    if (cfg_.located) {
      const value* slots = out.as_array().data();
      for (std::size_t i = 0; i < items.size(); ++i) cfg_.located->value_pos[slots + i] = item_pos_[pos_base + i];
      item_pos_.resize(pos_base);
    }
    values_.resize(base);
    path_.pop_back();
    return true;
  }

  bool parse_object(value& out, source_pos& pos) {
    ++p_;
    if (cfg_.located) pos = here();
    if (!check_depth()) return false;
    path_.push_back({true, false, {}, -1});
    std::size_t base = members_.size();
    std::size_t pos_base = member_pos_.size();
    member_index index;
    for (;;) {
      if (!skip_space(true)) return false;
      if (p_ == end_) return unexpected_end();
      unsigned char c = *p_;
      if (c == '}') {
        ++p_;
        break;
      }
      std::string_view name;
      if (c == '"' || c == '\'') {
        if (!parse_string(static_cast<char>(c), name)) return false;
      } else if (is_ascii_ident(c) || c >= 0x80) {
        if (c >= 0x80) {
          std::size_t bad = 0;
          std::size_t n = utf8_sequence(p_, end_, bad);
          if (!n || is_unicode_space(decode_utf8(p_, n)))
            return fail("Invalid property identifier character: " + char_at_p() + ".");
        }
        if (!parse_unquoted_name(name)) return false;
      } else {
        return fail("Invalid property identifier character: " + char_at_p() + ".");
      }
      std::string_view key = a_.copy(name);
      if (!skip_space(false)) return false;
      if (p_ == end_ || *p_ != ':')
        return p_ == end_
                   ? unexpected_end()
                   : fail("Invalid character after parsing property name. Expected ':' but got: " + char_at_p() + ".");
      ++p_;
      source_pos key_pos;
      if (cfg_.located) key_pos = here();
      path_.back().has_key = true;
      path_.back().key = key;

      value v;
      source_pos v_pos;
      if (!parse_value(v, v_pos)) return false;
      std::span<const member> so_far(members_.data() + base, members_.size() - base);
      std::size_t dup = index.find(so_far, key);
      if (dup == member_index::npos) {
        members_.push_back({key, v});
        if (cfg_.located) member_pos_.push_back({key_pos, v_pos});
        index.added({members_.data() + base, members_.size() - base});
      } else {
        members_[base + dup].val = v;
        if (cfg_.located) member_pos_[pos_base + dup] = {key_pos, v_pos};
      }
      int r = post_value('}');
      if (r == 0) return false;
      if (r == 2) break;
    }
    std::span<const member> ms(members_.data() + base, members_.size() - base);
    out = a_.object(ms);
    if (cfg_.located) {
      const member* slots = out.as_object().data();
      for (std::size_t i = 0; i < ms.size(); ++i) {
        cfg_.located->key_pos[slots + i] = member_pos_[pos_base + i].key;
        cfg_.located->value_pos[&slots[i].val] = member_pos_[pos_base + i].val;
      }
      member_pos_.resize(pos_base);
    }
    members_.resize(base);
    path_.pop_back();
    return true;
  }

  struct frame {
    bool object;
    bool has_key;
    std::string_view key;
    int index;
  };
  struct member_positions {
    source_pos key;
    source_pos val;
  };

  const unsigned char* begin_;
  const unsigned char* p_;
  const unsigned char* end_;
  arena& a_;
  lenient_config cfg_;

  std::uint32_t line_ = 1;
  const unsigned char* line_start_;
  const unsigned char* col_at_ = nullptr;
  std::uint32_t col_ = 0;

  std::vector<frame> path_;
  std::vector<value> values_;
  std::vector<member> members_;
  std::vector<source_pos> item_pos_;
  std::vector<member_positions> member_pos_;
  std::string sbuf_;
  std::optional<parse_error> error_;
};

}  // namespace

boost::system::result<value, parse_error> read_lenient(std::string_view text, arena& out, const lenient_config& cfg) {
  lenient_parser p(text, out, cfg);
  return p.run();
}

}  // namespace iomt::json::detail
