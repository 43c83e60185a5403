// `=~` on PCRE2 (iomt-spec §3.8): compile once at path compile, match with per-thread scratch and
// hard limits (regex.hpp).
#include "mapping/jsonpath/regex.hpp"

#include "mapping/jsonpath/regex_translate.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>

static_assert(std::is_same_v<pcre2_code, pcre2_real_code_8>, "regex.hpp names PCRE2's 8-bit code type");

namespace iomt::jsonpath::detail {
namespace {

struct options {
  bool ignore_case = false;
  bool multiline = false;
  bool singleline = false;
  bool explicit_capture = false;
};

// MiscellaneousUtils.GetRegexOptions: i, m, s, x (= ExplicitCapture); other letters are ignored.
options parse_options(std::string_view flags) {
  options o;
  for (char c : flags) {
    if (c == 'i') o.ignore_case = true;
    if (c == 'm') o.multiline = true;
    if (c == 's') o.singleline = true;
    if (c == 'x') o.explicit_capture = true;
  }
  return o;
}

error substring_error(std::string_view slashed) {
  // String.Substring(1, LastIndexOf('/') - 1) argument checks, in .NET's order.
  if (slashed.empty())
    return {"startIndex cannot be larger than length of string. (Parameter 'startIndex')",
            "ArgumentOutOfRangeException"};
  return {"Length cannot be less than zero. (Parameter 'length')", "ArgumentOutOfRangeException"};
}

std::string pcre2_message(int code) {
  std::array<PCRE2_UCHAR, 256> buf{};
  int n = pcre2_get_error_message(code, buf.data(), buf.size());
  if (n < 0) return "PCRE2 error " + std::to_string(code);
  return {reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n)};
}

// The compile context every pattern shares (set up once; pcre2_compile only reads it).
pcre2_compile_context* compile_context() {
  static pcre2_compile_context* const context = [] {
    pcre2_compile_context* c = pcre2_compile_context_create(nullptr);
    if (c == nullptr) return c;
    pcre2_set_newline(c, PCRE2_NEWLINE_LF);  // .NET: only '\n' ends a line (`.`, `$`, `^`, \Z)
    // Backstops behind the translator's own checks (expansion of \w is at most 12x).
    pcre2_set_max_pattern_length(c, 16 * max_regex_pattern_bytes);
    pcre2_set_parens_nest_limit(c, static_cast<std::uint32_t>(2 * max_regex_group_depth + 2));
    return c;
  }();
  return context;
}

error compile_failure(const compiled_regex& r, const pcre2_pattern& translated, int code, PCRE2_SIZE offset) {
  switch (code) {
    case PCRE2_ERROR_LOOKBEHIND_NOT_FIXED_LENGTH:
      return regex_not_supported(r.pattern,
                                 "variable-length lookbehind (each alternative of (?<=...) or (?<!...) "
                                 "must match a fixed number of characters)");
    case PCRE2_ERROR_LOOKBEHIND_TOO_LONG:
    case PCRE2_ERROR_LOOKBEHIND_TOO_COMPLICATED:
      return regex_not_supported(r.pattern, "this lookbehind (" + pcre2_message(code) + ")");
    case PCRE2_ERROR_PATTERN_TOO_LARGE:
    case PCRE2_ERROR_PATTERN_TOO_COMPLICATED:
    case PCRE2_ERROR_PATTERN_STRING_TOO_LONG:
    case PCRE2_ERROR_PARENTHESES_NEST_TOO_DEEP:
    case PCRE2_ERROR_TOO_MANY_CAPTURES:
    case PCRE2_ERROR_TOO_MANY_NAMED_SUBPATTERNS:
    case PCRE2_ERROR_HEAP_FAILED:
      return regex_not_supported(r.pattern, "a pattern this large (" + pcre2_message(code) + ")");
    default:
      break;
  }
  std::size_t at = offset < translated.origin.size() ? translated.origin[offset] : r.pattern.size();
  return regex_parse_error(r.pattern, at, pcre2_message(code) + ".");
}

// Per-thread match scratch. PCRE2 keeps a match's backtracking frames in the match data and reuses
// them next time; the counting allocator lets us drop them after an unusually large match, so a
// thread keeps at most regex_retained_bytes between matches.
struct match_scratch {
  std::size_t live_bytes = 0;  // allocated through `general` and not yet freed
  pcre2_general_context* general = nullptr;
  pcre2_match_context* limits = nullptr;
  pcre2_match_data* data = nullptr;

  static void* allocate(PCRE2_SIZE size, void* self) {
    auto* block = static_cast<std::max_align_t*>(std::malloc(size + sizeof(std::max_align_t)));
    if (block == nullptr) return nullptr;
    *reinterpret_cast<PCRE2_SIZE*>(block) = size;
    static_cast<match_scratch*>(self)->live_bytes += size;
    return block + 1;
  }
  static void release(void* p, void* self) {
    if (p == nullptr) return;
    std::max_align_t* block = static_cast<std::max_align_t*>(p) - 1;
    static_cast<match_scratch*>(self)->live_bytes -= *reinterpret_cast<PCRE2_SIZE*>(block);
    std::free(block);
  }

  bool ready() {
    if (general == nullptr) general = pcre2_general_context_create(&allocate, &release, this);
    if (general != nullptr && limits == nullptr) {
      limits = pcre2_match_context_create(general);
      if (limits != nullptr) {
        pcre2_set_depth_limit(limits, regex_depth_limit);
        pcre2_set_heap_limit(limits, regex_heap_limit_kib);
      }
    }
    if (limits != nullptr && data == nullptr) data = pcre2_match_data_create(1, general);
    return data != nullptr;
  }

  void trim() {
    if (live_bytes <= regex_retained_bytes) return;
    pcre2_match_data_free(data);
    data = nullptr;
  }

  match_scratch() = default;
  match_scratch(const match_scratch&) = delete;
  match_scratch& operator=(const match_scratch&) = delete;
  ~match_scratch() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(limits);
    pcre2_general_context_free(general);
  }
};

match_scratch& scratch() {
  thread_local match_scratch s;
  return s;
}

error match_failure(const compiled_regex& r, int rc, std::size_t input_bytes, std::uint32_t steps) {
  std::string limit;
  switch (rc) {
    case PCRE2_ERROR_MATCHLIMIT:
      limit = "its limit of " + std::to_string(steps) + " backtracking steps at one start position";
      break;
    case PCRE2_ERROR_DEPTHLIMIT:
      limit = "its limit of " + std::to_string(regex_depth_limit) + " nested backtracking points";
      break;
    case PCRE2_ERROR_HEAPLIMIT:
      limit = "its limit of " + std::to_string(regex_heap_limit_kib) + " KiB of backtracking memory";
      break;
    case PCRE2_ERROR_NOMEMORY:
      return {"Out of memory matching the regular expression '" + r.pattern + "'.", "OutOfMemoryException"};
    default:
      return {"Matching the regular expression '" + r.pattern + "' failed: " + pcre2_message(rc),
              "InvalidOperationException"};
  }
  // .NET's wording, then which limit stopped the match.
  return {
      "The Regex engine has timed out while trying to match a pattern to an input string. This can occur for "
      "many reasons, including very large inputs or excessive backtracking caused by nested quantifiers, "
      "back-references and other factors. (iomtflow: the pattern '" +
          r.pattern + "' reached " + limit + " on a string of " + std::to_string(input_bytes) + " bytes.)",
      "RegexMatchTimeoutException"};
}

}  // namespace

void regex_code_free::operator()(pcre2_real_code_8* code) const noexcept { pcre2_code_free(code); }

std::uint32_t regex_steps_per_position(bool anchored, std::size_t input_bytes) {
  if (anchored) return regex_max_steps_per_position;
  std::uint64_t share = regex_steps_per_match / (static_cast<std::uint64_t>(input_bytes) + 1);
  return static_cast<std::uint32_t>(
      std::clamp<std::uint64_t>(share, regex_min_steps_per_position, regex_max_steps_per_position));
}

compiled_regex compile_regex(std::string_view slashed) {
  compiled_regex r;
  std::size_t last = slashed.rfind('/');
  if (slashed.empty() || last == std::string_view::npos || last == 0) {
    r.failure = substring_error(slashed);
    return r;
  }
  std::string_view pattern = slashed.substr(1, last - 1);
  options o = parse_options(slashed.substr(last + 1));
  r.pattern = pattern;
  if (pattern.size() > max_regex_pattern_bytes) {
    r.pattern = pattern.substr(0, 64);
    r.failure = regex_not_supported(r.pattern + "...",
                                    "patterns longer than " + std::to_string(max_regex_pattern_bytes) + " bytes");
    return r;
  }
  auto translated = translate_dotnet_regex(pattern, o.explicit_capture);
  if (!translated) {
    r.failure = translated.error();
    return r;
  }
  // UTF + UCP: code points and Unicode properties, like .NET's char-based matching; MATCH_INVALID_UTF:
  // invalid UTF-8 in a string is never matched instead of being an error; ALT_CIRCUMFLEX: multiline
  // `^` also matches after a final '\n' (.NET does); DUPNAMES: .NET allows a name twice.
  std::uint32_t flags =
      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C | PCRE2_ALT_CIRCUMFLEX | PCRE2_DUPNAMES;
  if (o.ignore_case) flags |= PCRE2_CASELESS;
  if (o.multiline) flags |= PCRE2_MULTILINE;
  if (o.singleline) flags |= PCRE2_DOTALL;
  if (o.explicit_capture) flags |= PCRE2_NO_AUTO_CAPTURE;
  pcre2_compile_context* context = compile_context();
  if (context == nullptr) {
    r.failure = {"Out of memory compiling the regular expression '" + r.pattern + "'.", "OutOfMemoryException"};
    return r;
  }
  int code = 0;
  PCRE2_SIZE offset = 0;
  r.code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated->text.data()), translated->text.size(), flags,
                             &code, &offset, context));
  if (!r.code) {
    r.failure = compile_failure(r, *translated, code, offset);
    return r;
  }
  std::uint32_t all = 0;
  pcre2_pattern_info(r.code.get(), PCRE2_INFO_ALLOPTIONS, &all);
  r.anchored = (all & PCRE2_ANCHORED) != 0;
  return r;
}

boost::system::result<bool, error> regex_is_match(const compiled_regex& r, std::string_view input) {
  if (!r.code) return r.failure;
  match_scratch& s = scratch();
  if (!s.ready()) return error{"Out of memory matching a regular expression.", "OutOfMemoryException"};
  std::uint32_t steps = regex_steps_per_position(r.anchored, input.size());
  pcre2_set_match_limit(s.limits, steps);
  static constexpr char empty[] = "";
  const char* subject = input.data() != nullptr ? input.data() : empty;
  int rc = pcre2_match(r.code.get(), reinterpret_cast<PCRE2_SPTR>(subject), input.size(), 0, 0, s.data, s.limits);
  s.trim();
  if (rc >= 0) return true;  // 0: matched, ovector too small for the groups (only the match is kept)
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  return match_failure(r, rc, input.size(), steps);
}

}  // namespace iomt::jsonpath::detail
