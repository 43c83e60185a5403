// .NET regex syntax -> PCRE2 syntax (iomt-spec §3.8; the .NET rules follow RegexParser in
// dotnet/runtime System.Text.RegularExpressions, which is what Newtonsoft's Regex.IsMatch runs).
#include "mapping/jsonpath/regex_translate.hpp"

#include "mapping/text/ascii.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <optional>

namespace iomt::jsonpath::detail {
namespace {

using mapping::text::hex_value;
using mapping::text::is_digit;

bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_ascii_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
// .NET group names are \w characters; every non-ASCII byte counts as one here (names are renamed
// for PCRE2 anyway, so only where a name ends matters).
bool is_name_char(char c) { return is_ascii_word(c) || static_cast<unsigned char>(c) >= 0x80; }
// RegexOptions.IgnorePatternWhitespace skips these (RegexParser.IsSpace), nothing else.
bool is_dotnet_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c); });
}
// Bytes in the UTF-8 sequence that starts with `lead` (1 for a stray byte: PCRE2 rejects it).
std::size_t utf8_length(char lead) {
  auto b = static_cast<unsigned char>(lead);
  if (b >= 0xF0 && b < 0xF8) return 4;
  if (b >= 0xE0) return b < 0xF0 ? 3 : 1;
  if (b >= 0xC0) return 2;
  return 1;
}

std::string code_point(std::uint32_t cp) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "\\x{%X}", static_cast<unsigned>(cp));
  return buf.data();
}

// .NET's general categories (RegexCharClass); names are case-sensitive there.
constexpr std::array<std::string_view, 37> dotnet_categories = {
    "L",  "Lu", "Ll", "Lt", "Lm", "Lo", "M",  "Mn", "Mc", "Me", "N",  "Nd", "Nl", "No", "Z",  "Zs", "Zl", "Zp", "C",
    "Cc", "Cf", "Cs", "Co", "Cn", "P",  "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S",  "Sm", "Sc", "Sk", "So"};

// .NET's \w (RegexCharClass.WordClass): letters, non-spacing marks, decimal digits, connectors.
// PCRE2's own \w under UCP is letters, all numbers and '_': different at the edges.
constexpr std::string_view word_set = "\\p{L}\\p{Mn}\\p{Nd}\\p{Pc}";

// Capture groups as PCRE2 numbers them (left to right), found by the first pass.
struct group_table {
  std::vector<std::int32_t> captures;  // per PCRE2 number - 1: index in `names`, or -1 when unnamed
  std::vector<std::string> names;      // distinct .NET names, first appearance first: PCRE2 name g<index+1>
  std::size_t unnamed = 0;
};

struct frame {
  bool extended = false;          // (?x): RegexOptions.IgnorePatternWhitespace
  bool explicit_capture = false;  // (?n) / Newtonsoft `x`: RegexOptions.ExplicitCapture
  std::uint64_t heaviest = 0;     // largest repetition weight of an item inside the group
};

// One pass over the pattern. The first (collect) pass only learns the groups; the second, given
// them, resolves references and writes the PCRE2 text. Both consume the pattern identically
// wherever a parenthesis could be involved, so group numbering agrees.
class translator {
public:
  translator(std::string_view pattern, bool explicit_capture, const group_table* known) : p_(pattern), known_(known) {
    frames_.push_back({false, explicit_capture, 0});
  }

  bool run() {
    while (i_ < p_.size()) {
      token_ = i_;
      char c = p_[i_];
      if (frames_.back().extended && is_dotnet_space(c)) {
        ++i_;
        continue;
      }
      if (frames_.back().extended && c == '#') {
        while (i_ < p_.size() && p_[i_] != '\n') ++i_;
        continue;
      }
      bool ok = true;
      switch (c) {
        case '\\':
          ok = escape();
          break;
        case '[':
          ok = char_class();
          break;
        case '(':
          ok = open_group();
          break;
        case ')':
          ok = close_group();
          break;
        case '|':
          emit("|");
          ++i_;
          atom_ = 0;
          quantified_ = false;
          break;
        case '*':
        case '+':
        case '?':
          ok = quantifier(std::string(1, c), 1, 1);
          break;
        case '{':
          ok = brace();
          break;
        case '}':
          emit("\\}");
          ++i_;
          atom(1);
          break;
        case '^':
        case '$':
          anchor(std::string(1, c), 1);
          break;
        default: {  // '.' and literal characters mean the same in both
          std::size_t n = std::min(utf8_length(c), p_.size() - i_);
          emit(p_.substr(i_, n));
          i_ += n;
          atom(1);
          break;
        }
      }
      if (!ok) return false;
    }
    if (frames_.size() > 1) return parse_error(p_.size(), "Not enough )'s.");
    return true;
  }

  error failure() const { return failure_; }
  group_table& groups() { return found_; }
  pcre2_pattern result() && { return {std::move(out_), std::move(origin_)}; }

private:
  bool collecting() const { return known_ == nullptr; }

  void emit(std::string_view s) {
    if (collecting()) return;
    out_.append(s);
    origin_.insert(origin_.end(), s.size(), static_cast<std::uint32_t>(token_));
  }

  bool parse_error(std::size_t offset, std::string_view reason) {
    failure_ = regex_parse_error(p_, offset, reason);
    return false;
  }
  bool not_supported(std::string_view construct) {
    failure_ = regex_not_supported(p_, construct);
    return false;
  }

  // A quantifiable item of repetition weight `w` was written.
  void atom(std::uint64_t w) {
    atom_ = w;
    quantified_ = false;
    frames_.back().heaviest = std::max(frames_.back().heaviest, w);
  }

  // An anchor of `len` pattern bytes at i_. .NET lets a quantifier follow one (`^*`); PCRE2 only
  // a group, so a quantified anchor is wrapped in one.
  void anchor(const std::string& text, std::size_t len) {
    bool quantified = i_ + len < p_.size() && std::string_view("*+?{").find(p_[i_ + len]) != std::string_view::npos;
    emit(quantified ? "(?:" + text + ")" : text);
    i_ += len;
    atom(1);
  }

  // A quantifier of `len` bytes whose largest repetition count PCRE2 compiles is `copies`.
  bool quantifier(const std::string& text, std::size_t len, std::uint64_t copies) {
    if (atom_ == 0) return parse_error(i_ + len, "Quantifier '" + text + "' following nothing.");
    std::uint64_t weight = atom_ * std::max<std::uint64_t>(copies, 1);  // both <= 65535: no overflow
    if (weight > max_regex_repeat)
      return not_supported("repetition counts that multiply to more than " + std::to_string(max_regex_repeat));
    if (quantified_) return parse_error(i_ + 1, "Nested quantifier '" + text.substr(0, 1) + "'.");
    emit(text);
    i_ += len;
    if (i_ < p_.size() && p_[i_] == '?') {  // lazy; .NET has no possessive `+` (a following `+` is nested)
      emit("?");
      ++i_;
    }
    atom_ = weight;
    quantified_ = true;
    frames_.back().heaviest = std::max(frames_.back().heaviest, weight);
    return true;
  }

  // `{n}`, `{n,}`, `{n,m}` are quantifiers (RegexParser.IsTrueQuantifier); any other `{` is literal.
  bool brace() {
    std::size_t j = i_ + 1;
    auto number = [&](std::uint64_t& n) {
      std::size_t begin = j;
      n = 0;
      while (j < p_.size() && is_digit(p_[j])) {
        n = std::min<std::uint64_t>(n * 10 + static_cast<std::uint64_t>(p_[j] - '0'), 1'000'000'000'000);
        ++j;
      }
      return j > begin;
    };
    std::uint64_t lo = 0, hi = 0;
    bool bounded = true;
    bool ok = number(lo);
    if (ok && j < p_.size() && p_[j] == ',') {
      ++j;
      bounded = number(hi);
    } else {
      hi = lo;
    }
    if (!ok || j >= p_.size() || p_[j] != '}') {
      emit("\\{");
      ++i_;
      atom(1);
      return true;
    }
    std::size_t len = j + 1 - i_;
    if (lo > max_regex_repeat || (bounded && hi > max_regex_repeat))
      return not_supported("repetition counts above " + std::to_string(max_regex_repeat));
    if (bounded && hi < lo) return parse_error(i_ + len, "Illegal {x, y} with x > y.");
    return quantifier(std::string(p_.substr(i_, len)), len, bounded ? hi : lo);
  }

  // ---- groups -------------------------------------------------------------------------------

  bool push(frame f) {
    if (frames_.size() > max_regex_group_depth)
      return not_supported("groups nested more than " + std::to_string(max_regex_group_depth) + " deep");
    f.heaviest = 0;
    frames_.push_back(f);
    atom_ = 0;
    quantified_ = false;
    return true;
  }

  void record_capture(std::int32_t name) {
    if (!collecting()) return;
    found_.captures.push_back(name);
    if (name < 0) ++found_.unnamed;
  }

  // Index of a .NET group name (the first pass adds it; the second finds it).
  std::optional<std::size_t> name_index(std::string_view name, bool add) {
    const group_table& t = collecting() ? found_ : *known_;
    for (std::size_t k = 0; k < t.names.size(); ++k)
      if (t.names[k] == name) return k;
    if (!add || !collecting()) return std::nullopt;
    found_.names.emplace_back(name);
    return found_.names.size() - 1;
  }

  bool open_group() {
    std::size_t start = i_++;
    frame next = frames_.back();
    if (i_ >= p_.size() || p_[i_] != '?') {
      if (!next.explicit_capture) record_capture(-1);
      emit("(");
      return push(next);
    }
    ++i_;
    if (i_ >= p_.size()) return parse_error(i_, "Unrecognized grouping construct.");
    char k = p_[i_];
    switch (k) {
      case ':':
      case '=':
      case '!':
      case '>':
        emit(p_.substr(start, 3));
        ++i_;
        return push(next);
      case '<':
        if (i_ + 1 < p_.size() && (p_[i_ + 1] == '=' || p_[i_ + 1] == '!')) {  // lookbehind
          emit(p_.substr(start, 4));
          i_ += 2;
          return push(next);
        }
        return named_group('>', next);
      case '\'':
        return named_group('\'', next);
      case '(':
        return conditional(next);
      case '#': {  // comment: ignored like blanks, even before a quantifier (RegexParser.ScanBlank)
        std::size_t close = p_.find(')', i_);
        if (close == std::string_view::npos) return parse_error(p_.size(), "Unterminated (?#...) comment.");
        i_ = close + 1;
        return true;
      }
      default:
        return inline_options(next);
    }
  }

  // At the '<' or '\'' of (?<name>...) / (?'name'...).
  bool named_group(char close, frame next) {
    std::size_t begin = ++i_;
    while (i_ < p_.size() && is_name_char(p_[i_])) ++i_;
    std::string_view name = p_.substr(begin, i_ - begin);
    if (i_ < p_.size() && p_[i_] == '-') return not_supported("balancing groups (?<name1-name2>...)");
    if (name.empty() || i_ >= p_.size() || p_[i_] != close || (is_digit(name[0]) && !all_digits(name)))
      return parse_error(i_, "Invalid group name: Group names must begin with a word character.");
    if (all_digits(name)) return not_supported("explicitly numbered groups (?<" + std::string(name) + ">...)");
    ++i_;
    std::size_t index = name_index(name, true).value_or(0);
    record_capture(static_cast<std::int32_t>(index));
    emit("(?<g" + std::to_string(index + 1) + ">");
    return push(next);
  }

  // At the second '(' of (?(...)yes|no).
  bool conditional(frame next) {
    if (i_ + 1 < p_.size() && p_[i_ + 1] == '?') {
      std::string_view rest = p_.substr(i_ + 2);
      bool assertion =
          rest.starts_with("=") || rest.starts_with("!") || rest.starts_with("<=") || rest.starts_with("<!");
      if (!assertion) return parse_error(i_ + 2, "Illegal conditional (?(...)) expression.");
      emit("(?");
      return push(next);  // the assertion is the next group, translated as usual
    }
    std::size_t j = i_ + 1;
    while (j < p_.size() && is_name_char(p_[j])) ++j;
    std::string_view word = p_.substr(i_ + 1, j - i_ - 1);
    if (!word.empty() && j < p_.size() && p_[j] == ')' && !collecting()) {
      std::optional<std::string> test;
      if (all_digits(word)) {
        auto ref = numbered_reference(word);
        if (!ref) return false;
        if (ref->empty()) return parse_error(j, "(?(" + std::string(word) + ") reference to undefined group.");
        test = *ref;
      } else if (auto k = name_index(word, false)) {
        test = "<g" + std::to_string(*k + 1) + ">";
      }
      if (test) {
        emit("(?(" + *test + ")");
        i_ = j + 1;
        return push(next);
      }
    }
    // Not a group: .NET tests the text as a lookahead, (?(expr)...) = (?(?=expr)...).
    emit("(?(?=");
    ++i_;
    return push(next) && push(next);
  }

  // (?imnsx-imnsx) or (?imnsx-imnsx:...). PCRE2 gets i, m, n, s; `x` is applied here.
  bool inline_options(frame next) {
    std::string on, off;
    bool enable = true;
    frame& scope = frames_.back();
    frame changed = next;
    for (; i_ < p_.size() && p_[i_] != ')' && p_[i_] != ':'; ++i_) {
      char c = p_[i_];
      if (c == '-' || c == '+') {
        enable = c == '+';
        continue;
      }
      if (c != 'i' && c != 'm' && c != 'n' && c != 's' && c != 'x')
        return parse_error(i_ + 1, "Unrecognized grouping construct.");
      if (c == 'x') changed.extended = enable;
      if (c == 'n') changed.explicit_capture = enable;
      if (c != 'x') (enable ? on : off) += c;
    }
    if (i_ >= p_.size()) return parse_error(i_, "Unrecognized grouping construct.");
    std::string options = "(?" + on + (off.empty() ? "" : "-" + off);
    if (p_[i_++] == ')') {  // to the end of the enclosing group
      emit(options + ")");
      scope.extended = changed.extended;
      scope.explicit_capture = changed.explicit_capture;
      atom_ = 0;
      quantified_ = false;
      return true;
    }
    emit(options + ":");
    return push(changed);
  }

  bool close_group() {
    if (frames_.size() == 1) return parse_error(i_ + 1, "Too many )'s.");
    std::uint64_t weight = std::max<std::uint64_t>(frames_.back().heaviest, 1);
    frames_.pop_back();
    emit(")");
    ++i_;
    atom(weight);
    return true;
  }

  // ---- references ---------------------------------------------------------------------------

  // A .NET group number -> PCRE2's spelling: "N" (unnamed group) or "<gK>" (named group); empty
  // when there is no such group. nullopt (failure set) when the number is too large.
  std::optional<std::string> numbered_reference(std::string_view digits) {
    std::uint64_t n = 0;
    for (char c : digits) {
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
      if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())) {
        parse_error(i_, "Capture group numbers must be less than or equal to Int32.MaxValue.");
        return std::nullopt;
      }
    }
    if (collecting()) return std::string("0");
    // .NET numbers unnamed groups 1..u in order, then each distinct name u+1, u+2, ...
    if (n >= 1 && n <= known_->unnamed) {
      std::size_t seen = 0;
      for (std::size_t k = 0; k < known_->captures.size(); ++k)
        if (known_->captures[k] < 0 && ++seen == n) return std::to_string(k + 1);
    }
    if (n > known_->unnamed && n - known_->unnamed <= known_->names.size())
      return "<g" + std::to_string(n - known_->unnamed) + ">";
    return std::string();
  }

  std::string backreference(const std::string& target) {
    return target.front() == '<' ? "\\k" + target : "\\g{" + target + "}";
  }

  // At the digit after '\' outside a class: a back-reference when the group exists, else octal.
  bool numbered_backreference() {
    std::size_t begin = i_;
    while (i_ < p_.size() && is_digit(p_[i_])) ++i_;
    std::string_view digits = p_.substr(begin, i_ - begin);
    auto target = numbered_reference(digits);
    if (!target) return false;
    if (collecting()) return true;
    if (!target->empty()) {
      emit(backreference(*target));
      atom(1);
      return true;
    }
    if (digits.size() == 1) return parse_error(i_, "Reference to undefined group number " + std::string(digits) + ".");
    i_ = begin;
    if (!is_octal(p_[i_])) return parse_error(i_ + 1, "Unrecognized escape sequence \\" + std::string(1, p_[i_]) + ".");
    emit(code_point(octal()));
    atom(1);
    return true;
  }

  // At 'k' of \k<name>, \k'name', \k<number>.
  bool named_backreference() {
    ++i_;
    if (i_ >= p_.size() || (p_[i_] != '<' && p_[i_] != '\''))
      return parse_error(i_, "Malformed \\k<...> named back reference.");
    char close = p_[i_] == '<' ? '>' : '\'';
    std::size_t begin = ++i_;
    while (i_ < p_.size() && is_name_char(p_[i_])) ++i_;
    std::string_view name = p_.substr(begin, i_ - begin);
    if (name.empty() || i_ >= p_.size() || p_[i_] != close)
      return parse_error(i_, "Malformed \\k<...> named back reference.");
    ++i_;
    if (collecting()) return true;
    std::string target;
    if (all_digits(name)) {
      auto ref = numbered_reference(name);
      if (!ref) return false;
      if (ref->empty()) return parse_error(i_, "Reference to undefined group number " + std::string(name) + ".");
      target = *ref;
    } else if (auto k = name_index(name, false)) {
      target = "<g" + std::to_string(*k + 1) + ">";
    } else {
      return parse_error(i_, "Reference to undefined group name '" + std::string(name) + "'.");
    }
    emit(backreference(target));
    atom(1);
    return true;
  }

  // At '<' or '\'' after '\': .NET reads \<name> and \'name' as back-references when the group
  // exists, and as the literal character otherwise.
  bool angled_backreference() {
    char close = p_[i_] == '<' ? '>' : '\'';
    std::size_t j = i_ + 1;
    while (j < p_.size() && is_name_char(p_[j])) ++j;
    std::string_view name = p_.substr(i_ + 1, j - i_ - 1);
    if (!collecting() && !name.empty() && j < p_.size() && p_[j] == close) {
      std::optional<std::string> target;
      if (all_digits(name)) {
        auto ref = numbered_reference(name);
        if (!ref) return false;
        if (!ref->empty()) target = *ref;
      } else if (auto k = name_index(name, false)) {
        target = "<g" + std::to_string(*k + 1) + ">";
      }
      if (target) {
        emit(backreference(*target));
        i_ = j + 1;
        atom(1);
        return true;
      }
    }
    emit(std::string("\\") + p_[i_]);
    ++i_;
    atom(1);
    return true;
  }

  // ---- escapes ------------------------------------------------------------------------------

  // Up to three octal digits at i_ (RegexParser.ScanOctal: larger values keep their low 8 bits).
  std::uint32_t octal() {
    std::uint32_t v = 0;
    for (int n = 0; n < 3 && i_ < p_.size() && is_octal(p_[i_]); ++n, ++i_)
      v = v * 8 + static_cast<std::uint32_t>(p_[i_] - '0');
    return v & 0xFF;
  }

  // `n` hex digits at i_.
  std::optional<std::uint32_t> hex(int n) {
    std::uint32_t v = 0;
    for (int k = 0; k < n; ++k, ++i_) {
      int d = i_ < p_.size() ? hex_value(p_[i_]) : -1;
      if (d < 0) {
        parse_error(i_, "Insufficient hex digits.");
        return std::nullopt;
      }
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    return v;
  }

  // At the letter of a character escape shared by both contexts (a e f n r t v x u c, octal
  // digits in a class). Writes its PCRE2 form; false (failure set) on a malformed escape.
  bool character_escape(char c) {
    ++i_;
    switch (c) {
      case 'a':
      case 'e':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        emit(std::string("\\") + c);
        return true;
      case 'v':  // vertical tab; PCRE2's \v is "any vertical white space"
        emit(code_point(0x0B));
        return true;
      case 'x': {
        auto v = hex(2);
        if (!v) return false;
        emit(code_point(*v));
        return true;
      }
      case 'u': {
        auto v = hex(4);
        if (!v) return false;
        std::uint32_t cp = *v;
        if (cp >= 0xD800 && cp <= 0xDBFF && p_.substr(i_).starts_with("\\u")) {  // a pair -> one code point
          std::size_t save = i_;
          i_ += 2;
          auto low = hex(4);
          if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
            emit(code_point(0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00)));
            return true;
          }
          failure_ = {};
          i_ = save;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
          return not_supported("a UTF-16 surrogate escape without its pair (\\u" + std::string(p_.substr(i_ - 4, 4)) +
                               "): strings are matched as Unicode code points");
        emit(code_point(cp));
        return true;
      }
      case 'c': {  // RegexParser.ScanControl: \c@ .. \c_ and \ca .. \cz
        if (i_ >= p_.size()) return parse_error(i_, "Missing control character.");
        char x = p_[i_++];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
        if (x < '@' || x > '_') return parse_error(i_, "Unrecognized control character.");
        emit(code_point(static_cast<std::uint32_t>(x - '@')));
        return true;
      }
      default:  // an octal digit (callers only pass one here inside a class or after \0)
        --i_;
        emit(code_point(octal()));
        return true;
    }
  }

  // At 'p' or 'P': \p{Category}. .NET blocks (\p{IsGreek}) have no PCRE2 equivalent.
  bool property(char c) {
    ++i_;
    if (i_ >= p_.size() || p_[i_] != '{') return parse_error(i_, "Malformed \\p{X} character escape.");
    std::size_t close = p_.find('}', i_);
    if (close == std::string_view::npos) return parse_error(p_.size(), "Incomplete \\p{X} character escape.");
    std::string_view name = p_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    if (name.starts_with("Is") && name.size() > 2)
      return not_supported("Unicode blocks (\\" + std::string(1, c) + "{" + std::string(name) + "})");
    if (std::find(dotnet_categories.begin(), dotnet_categories.end(), name) == dotnet_categories.end())
      return parse_error(i_, "Unknown property '" + std::string(name) + "'.");
    emit(std::string("\\") + c + "{" + std::string(name) + "}");
    return true;
  }

  // The literal character after '\' (not an ASCII letter, digit or '_').
  void escaped_literal() {
    auto b = static_cast<unsigned char>(p_[i_]);
    std::size_t n = std::min(utf8_length(p_[i_]), p_.size() - i_);
    if (b >= 0x80)
      emit(p_.substr(i_, n));  // literal in both (.NET refuses \ before a non-ASCII letter; not checked)
    else if (b < 0x20 || b == 0x7F)
      emit(code_point(b));
    else
      emit("\\" + std::string(1, p_[i_]));
    i_ += n;
  }

  // At '\' outside a character class.
  bool escape() {
    if (++i_ >= p_.size()) return parse_error(i_, "Illegal \\ at end of pattern.");
    char c = p_[i_];
    switch (c) {
      case 'b':
      case 'B':
      case 'A':
      case 'G':
      case 'Z':
      case 'z':
        --i_;
        anchor(std::string("\\") + c, 2);
        return true;
      case 'd':
      case 'D':
      case 's':
      case 'S':
        emit(std::string("\\") + c);
        ++i_;
        atom(1);
        return true;
      case 'w':
      case 'W':
        emit(std::string(c == 'w' ? "[" : "[^") + std::string(word_set) + "]");
        ++i_;
        atom(1);
        return true;
      case 'p':
      case 'P':
        if (!property(c)) return false;
        atom(1);
        return true;
      case 'k':
        return named_backreference();
      case '<':
      case '\'':
        return angled_backreference();
      case '0':
        if (!character_escape(c)) return false;
        atom(1);
        return true;
      case 'a':
      case 'e':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
      case 'x':
      case 'u':
      case 'c':
        if (!character_escape(c)) return false;
        atom(1);
        return true;
      default:
        break;
    }
    if (is_digit(c)) return numbered_backreference();
    if (is_ascii_word(c)) return parse_error(i_ + 1, "Unrecognized escape sequence \\" + std::string(1, c) + ".");
    escaped_literal();
    atom(1);
    return true;
  }

  // At '\' inside a character class.
  bool class_escape() {
    if (++i_ >= p_.size()) return parse_error(i_, "Illegal \\ at end of pattern.");
    char c = p_[i_];
    switch (c) {
      case 'd':
      case 'D':
      case 's':
      case 'S':
      case 'W':  // PCRE2's \W here: .NET's complement cannot be written inside a PCRE2 class
        emit(std::string("\\") + c);
        ++i_;
        return true;
      case 'w':
        emit(word_set);
        ++i_;
        return true;
      case 'p':
      case 'P':
        return property(c);
      case 'b':  // backspace inside a class
        emit(code_point(0x08));
        ++i_;
        return true;
      case 'a':
      case 'e':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
      case 'x':
      case 'u':
      case 'c':
        return character_escape(c);
      default:
        break;
    }
    if (is_octal(c)) return character_escape(c);
    if (is_ascii_word(c)) return parse_error(i_ + 1, "Unrecognized escape sequence \\" + std::string(1, c) + ".");
    escaped_literal();
    return true;
  }

  // At '['.
  bool char_class() {
    emit("[");
    ++i_;
    if (i_ < p_.size() && p_[i_] == '^') {
      emit("^");
      ++i_;
    }
    for (bool first = true;; first = false) {
      if (i_ >= p_.size()) return parse_error(i_, "Unterminated [] set.");
      token_ = i_;
      char c = p_[i_];
      if (c == ']') {
        if (!first) break;
        emit("\\]");  // a leading ']' is literal
        ++i_;
      } else if (c == '\\') {
        if (!class_escape()) return false;
      } else if (c == '[') {
        // .NET skips a POSIX-looking "[:name:]" and keeps only the '['; PCRE2 would read a POSIX class.
        emit("\\[");
        ++i_;
        if (i_ < p_.size() && p_[i_] == ':') {
          std::size_t j = i_ + 1;
          while (j < p_.size() && is_name_char(p_[j])) ++j;
          if (j + 1 < p_.size() && p_[j] == ':' && p_[j + 1] == ']') i_ = j + 2;
        }
      } else if (c == '-' && !first && i_ + 1 < p_.size() && p_[i_ + 1] == '[') {
        return not_supported("character class subtraction ([a-z-[aeiou]])");
      } else {
        std::size_t n = std::min(utf8_length(c), p_.size() - i_);
        emit(p_.substr(i_, n));
        i_ += n;
      }
    }
    emit("]");
    ++i_;
    atom(1);
    return true;
  }

  std::string_view p_;
  const group_table* known_;  // null in the collecting pass
  std::size_t i_ = 0;
  std::size_t token_ = 0;  // where the construct being written starts (for origin_)
  std::vector<frame> frames_;
  std::uint64_t atom_ = 0;   // repetition weight of the item a quantifier would apply to; 0: none
  bool quantified_ = false;  // that item already has a quantifier
  group_table found_;
  std::string out_;
  std::vector<std::uint32_t> origin_;
  error failure_;
};

}  // namespace

error regex_parse_error(std::string_view pattern, std::size_t offset, std::string_view reason) {
  return {
      "Invalid pattern '" + std::string(pattern) + "' at offset " + std::to_string(offset) + ". " + std::string(reason),
      "RegexParseException"};
}

error regex_not_supported(std::string_view pattern, std::string_view construct) {
  return {"Regular expression '" + std::string(pattern) + "' is not supported by iomtflow: " + std::string(construct),
          "NotSupportedException"};
}

boost::system::result<pcre2_pattern, error> translate_dotnet_regex(std::string_view pattern, bool explicit_capture) {
  translator collect(pattern, explicit_capture, nullptr);
  if (!collect.run()) return collect.failure();
  translator write(pattern, explicit_capture, &collect.groups());
  if (!write.run()) return write.failure();
  return std::move(write).result();
}

}  // namespace iomt::jsonpath::detail
