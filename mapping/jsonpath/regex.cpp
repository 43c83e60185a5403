// .NET regex -> std::regex (ECMAScript) for the `=~` filter operator (iomt-spec §3.8).
#include "mapping/jsonpath/regex.hpp"

#include <cstddef>
#include <string>

namespace iomt::jsonpath::detail {
namespace {

constexpr std::size_t max_pattern_bytes = 4096;
constexpr int max_group_depth = 32;
constexpr std::size_t max_repeat_product = 1000;
constexpr std::size_t max_backtracking_input = 2048;

struct options {
  bool ignore_case = false;
  bool multiline = false;
  bool singleline = false;
};

// MiscellaneousUtils.GetRegexOptions: i, m, s, x (ExplicitCapture: no effect on IsMatch); others ignored.
options parse_options(std::string_view flags) {
  options o;
  for (char c : flags) {
    if (c == 'i') o.ignore_case = true;
    if (c == 'm') o.multiline = true;
    if (c == 's') o.singleline = true;
  }
  return o;
}

error unsupported(std::string_view pattern, std::string_view why) {
  return {"Regular expression '" + std::string(pattern) + "' is not supported by iomtflow: " + std::string(why),
          "NotSupportedException"};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads "{n}", "{n,}" or "{n,m}" at p[i]; returns its length (0 when it is not a quantifier, in
// which case .NET takes '{' literally) and the largest repeat count.
std::size_t read_quantifier(std::string_view p, std::size_t i, std::size_t& largest) {
  std::size_t j = i + 1;
  auto number = [&](std::size_t& n) {
    std::size_t begin = j;
    n = 0;
    while (j < p.size() && is_digit(p[j])) {
      if (n < 1'000'000) n = n * 10 + static_cast<std::size_t>(p[j] - '0');
      ++j;
    }
    return j > begin;
  };
  std::size_t lo = 0, hi = 0;
  if (!number(lo)) return 0;
  largest = lo;
  if (j < p.size() && p[j] == ',') {
    ++j;
    if (number(hi)) largest = std::max(lo, hi);
  }
  if (j >= p.size() || p[j] != '}') return 0;
  return j - i + 1;
}

// Returns the ECMAScript pattern, or sets `why` when the .NET construct has no equivalent.
std::string translate(std::string_view p, const options& o, std::string& why) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  int depth = 0;
  std::size_t product = 1;
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) {
        out += c;  // std::regex rejects it like .NET ("Illegal \\ at end of pattern")
        break;
      }
      char d = p[++i];
      if (!in_class) {
        switch (d) {
          case 'A':
          case 'z':
          case 'Z':
            if (o.multiline) {
              why = "\\A, \\z and \\Z with the m option";
              return {};
            }
            out += d == 'A' ? "^" : d == 'z' ? "$" : "(?=\\n?$)";
            continue;
          case 'p':
          case 'P':
          case 'k':
          case 'G':
            why = std::string("\\") + d;
            return {};
          default:
            break;
        }
      }
      out += c;
      out += d;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      if (c == '-' && i + 1 < p.size() && p[i + 1] == '[') {
        why = "character class subtraction";
        return {};
      }
      out += c;
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        out += c;
        if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
        if (i + 1 < p.size() && p[i + 1] == ']') {  // .NET: a leading ']' is literal
          out += "\\]";
          ++i;
        }
        break;
      case '.':
        out += o.singleline ? "[\\s\\S]" : "[^\\n]";
        break;
      case '$':
        out += o.multiline ? "$" : "(?=\\n?$)";
        break;
      case '(':
        if (++depth > max_group_depth) {
          why = "groups nested too deeply";
          return {};
        }
        if (i + 1 < p.size() && p[i + 1] == '?') {
          char k = i + 2 < p.size() ? p[i + 2] : '\0';
          if (k == ':' || k == '=' || k == '!') {
            out.append(p.substr(i, 3));
            i += 2;
          } else if ((k == '<' || k == '\'') && i + 3 < p.size() && p[i + 3] != '=' && p[i + 3] != '!') {
            // named group (?<name>...) / (?'name'...) -> plain group
            std::size_t close = p.find(k == '<' ? '>' : '\'', i + 3);
            if (close == std::string_view::npos) {
              why = "unterminated group name";
              return {};
            }
            out += '(';
            i = close;
          } else {
            why = "(?" + std::string(1, k) + " constructs (lookbehind, inline options, atomic groups, ...)";
            return {};
          }
        } else {
          out += c;
        }
        break;
      case ')':
        --depth;
        out += c;
        break;
      case '{': {
        std::size_t largest = 0;
        std::size_t n = read_quantifier(p, i, largest);
        if (n == 0) {
          out += "\\{";
          break;
        }
        product *= std::max<std::size_t>(largest, 1);
        if (product > max_repeat_product) {
          why = "repetition counts too large";
          return {};
        }
        out.append(p.substr(i, n));
        i += n - 1;
        break;
      }
      case '}':
        out += "\\}";
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

error substring_error(std::string_view slashed) {
  // String.Substring(1, LastIndexOf('/') - 1) argument checks, in .NET's order.
  if (slashed.empty())
    return {"startIndex cannot be larger than length of string. (Parameter 'startIndex')",
            "ArgumentOutOfRangeException"};
  return {"Length cannot be less than zero. (Parameter 'length')", "ArgumentOutOfRangeException"};
}

}  // namespace

compiled_regex compile_regex(std::string_view slashed) {
  compiled_regex r;
  std::size_t last = slashed.rfind('/');
  if (slashed.empty() || last == std::string_view::npos || last == 0) {
    r.failure = substring_error(slashed);
    return r;
  }
  std::string_view pattern = slashed.substr(1, last - 1);
  options o = parse_options(slashed.substr(last + 1));
  if (pattern.size() > max_pattern_bytes) {
    r.failure = unsupported(pattern.substr(0, 64), "pattern longer than 4096 bytes");
    return r;
  }
  std::string why;
  std::string ecma = translate(pattern, o, why);
  if (!why.empty()) {
    r.failure = unsupported(pattern, why);
    return r;
  }
  auto flags = std::regex::ECMAScript;
  if (o.ignore_case) flags |= std::regex::icase;
  if (o.multiline) flags |= std::regex::multiline;
  try {
    // Validate as written; the polynomial (Thompson NFA) matcher refuses back-references.
    std::regex plain;
    try {
      plain.assign(ecma, flags | std::regex_constants::__polynomial);
    } catch (const std::regex_error&) {
      plain.assign(ecma, flags);
      r.backtracking = true;
    }
    if (r.backtracking) {
      r.re.emplace(std::move(plain));
    } else {
      // regex_search would restart the NFA at every position (quadratic); a lazy any-prefix
      // matched from the first position only simulates all starts at once (linear).
      r.re.emplace("[\\s\\S]*?(?:" + ecma + ")", flags | std::regex_constants::__polynomial);
      r.continuous = true;
    }
  } catch (const std::regex_error& e) {
    r.re.reset();
    r.backtracking = false;
    r.failure = {"Invalid pattern '" + std::string(pattern) + "': " + e.what(), "RegexParseException"};
  }
  return r;
}

boost::system::result<bool, error> regex_is_match(const compiled_regex& r, std::string_view input) {
  if (!r.re) return r.failure;
  if (r.backtracking && input.size() > max_backtracking_input)
    return error{"A regular expression with back-references cannot be matched against more than " +
                     std::to_string(max_backtracking_input) + " bytes in iomtflow.",
                 "NotSupportedException"};
  try {
    return std::regex_search(
        input.begin(), input.end(), *r.re,
        r.continuous ? std::regex_constants::match_continuous : std::regex_constants::match_default);
  } catch (const std::regex_error& e) {
    return error{std::string("Regular expression match failed: ") + e.what(), "RegexMatchTimeoutException"};
  }
}

}  // namespace iomt::jsonpath::detail
