// `=~` matches like .NET's Regex.IsMatch with Newtonsoft's options (iomt-spec §3.8,
// docs/jsonpath-regex.md). Expected values are what .NET 6/8 returns for the same call.
#include "regex_test_util.hpp"

using namespace iomt;
using namespace iomt::jsonpath::test;

BOOST_AUTO_TEST_SUITE(regex_dotnet)

BOOST_AUTO_TEST_CASE(a_search_not_a_full_match) {
  BOOST_TEST(is_match("/eart/", "HeartRate"));
  BOOST_TEST(!is_match("/^eart/", "HeartRate"));
  BOOST_TEST(!is_match("/xyz/", "HeartRate"));
  BOOST_TEST(is_match("//", ""));  // the empty pattern matches everything
  BOOST_TEST(is_match("/^$/", ""));
}

BOOST_AUTO_TEST_CASE(flags_i_m_s_and_x_is_explicit_capture) {
  BOOST_TEST(!is_match("/heartrate/", "HeartRate"));
  BOOST_TEST(is_match("/heartrate/i", "HeartRate"));
  BOOST_TEST(is_match("/^ÉTÉ$/i", "été"));  // Unicode case folding
  BOOST_TEST(is_match("/^b$/m", "a\nb\nc"));
  BOOST_TEST(!is_match("/^b$/", "a\nb\nc"));
  BOOST_TEST(is_match("/a.c/s", "a\nc"));
  BOOST_TEST(!is_match("/a.c/", "a\nc"));
  // Newtonsoft maps `x` to RegexOptions.ExplicitCapture, not IgnorePatternWhitespace: blanks count,
  // and (...) does not capture, so \1 has nothing to refer to.
  BOOST_TEST(!is_match("/a b/x", "ab"));
  BOOST_TEST(is_match("/a b/x", "a b"));
  BOOST_TEST(match_error_type(R"(/(a)\1/x)", "aa") == "RegexParseException");
  BOOST_TEST(is_match(R"(/(?<n>a)\k<n>/x)", "aa"));  // named groups still capture
  // Other letters are ignored, whatever they mean elsewhere.
  BOOST_TEST(is_match("/A/gu", "xAx"));
  BOOST_TEST(is_match("/a/imsx", "A"));
}

BOOST_AUTO_TEST_CASE(dollar_and_newlines) {
  // `$` (and \Z) match at the end and before a final '\n'; \z only at the end.
  BOOST_TEST(is_match("/^ab$/", "ab\n"));
  BOOST_TEST(!is_match("/^ab$/", "ab\n\n"));
  BOOST_TEST(is_match(R"(/ab\Z/)", "ab\n"));
  BOOST_TEST(!is_match(R"(/ab\z/)", "ab\n"));
  BOOST_TEST(is_match(R"(/\Aab\z/)", "ab"));
  // `.` excludes only '\n': '\r' and the Unicode line separators are ordinary characters.
  BOOST_TEST(is_match("/^a.b$/", "a\rb"));
  BOOST_TEST(is_match("/^a.b$/", "a\u2028b"));
  BOOST_TEST(is_match("/^a.b$/", "a\u0085b"));
  BOOST_TEST(!is_match("/^a.b$/", "a\nb"));
  // Only '\n' ends a line: "\r\n" leaves the '\r' before `$`.
  BOOST_TEST(!is_match("/^ab$/m", "ab\r\ncd"));
  BOOST_TEST(is_match("/^ab\r$/m", "ab\r\ncd"));
  // Multiline `^` also matches after a final '\n', `$` before every '\n'.
  BOOST_TEST(is_match("/^$/m", "a\n"));
  BOOST_TEST(is_match("/a$/m", "a\nb"));
}

BOOST_AUTO_TEST_CASE(groups_and_references) {
  BOOST_TEST(is_match("/(?<first>A)lice/", "Alice"));
  BOOST_TEST(is_match(R"(/(?<c>.)\k<c>/)", "book"));
  BOOST_TEST(!is_match(R"(/(?<c>.)\k<c>/)", "abc"));
  BOOST_TEST(is_match(R"(/(?'c'.)\k'c'/)", "book"));
  BOOST_TEST(is_match(R"(/(.)\1/)", "book"));
  BOOST_TEST(is_match(R"(/(?<größe>x)\k<größe>/)", "xx"));  // non-ASCII names
  BOOST_TEST(is_match(R"(/(?<a>x)|(?<a>y)\k<a>/)", "x"));   // a name used twice
  // .NET numbers unnamed groups first, then named ones: in (a)(?<n>b), \1 is (a), \2 is (?<n>b).
  BOOST_TEST(is_match(R"(/(?<n>b)(a)\1\2/)", "baab"));
  BOOST_TEST(!is_match(R"(/(?<n>b)(a)\1\2/)", "baba"));
  BOOST_TEST(is_match(R"(/(?<n>b)(a)\k<1>\k<2>/)", "baab"));
  // \<name> is a reference when the group exists, else the character '<'.
  BOOST_TEST(is_match(R"(/(?<n>x)\<n>/)", "xx"));
  BOOST_TEST(is_match(R"(/\<n>/)", "<n>"));
  // (?:...) does not capture.
  BOOST_TEST(match_error_type(R"(/(?:a)\1/)", "aa") == "RegexParseException");
}

BOOST_AUTO_TEST_CASE(lookaround_atomic_conditional) {
  BOOST_TEST(is_match("/(?<=dev-)42/", "dev-42"));
  BOOST_TEST(!is_match("/(?<=dev-)42/", "id-42"));
  BOOST_TEST(is_match("/(?<!dev-)42/", "id-42"));
  BOOST_TEST(is_match("/(?<=ab|c)d/", "cd"));  // alternatives of different fixed lengths
  BOOST_TEST(is_match("/heart(?=rate)/i", "HeartRate"));
  BOOST_TEST(!is_match("/heart(?!rate)/i", "HeartRate"));
  BOOST_TEST(!is_match("/(?>a+)ab/", "aaab"));  // the atomic group gives nothing back
  BOOST_TEST(is_match("/(?:a+)ab/", "aaab"));
  // (?(name)yes|no) tests a group; (?(text)yes|no) is a lookahead for `text`.
  BOOST_TEST(is_match("/^(?<q>')?x(?(q)'|)$/", "'x'"));
  BOOST_TEST(is_match("/^(?<q>')?x(?(q)'|)$/", "x"));
  BOOST_TEST(!is_match("/^(?<q>')?x(?(q)'|)$/", "'x"));
  BOOST_TEST(is_match("/^(?(ab)abc|xyz)$/", "abc"));
  BOOST_TEST(is_match("/^(?(ab)abc|xyz)$/", "xyz"));
  BOOST_TEST(is_match("/^(?(?=ab)abc|xyz)$/", "xyz"));
}

BOOST_AUTO_TEST_CASE(inline_options_and_comments) {
  BOOST_TEST(is_match("/(?i)heart/", "HEART"));
  BOOST_TEST(is_match("/(?i:h)eart/", "Heart"));
  BOOST_TEST(!is_match("/(?i:h)eart/", "HEART"));
  BOOST_TEST(!is_match("/(?-i)HEART/i", "heart"));
  BOOST_TEST(is_match("/a(?s:.)b/", "a\nb"));
  // (?x): blanks and # comments are ignored, but not inside [...] or when escaped.
  BOOST_TEST(is_match("/(?x) heart \\s rate  # a comment\n$/", "heart rate"));
  BOOST_TEST(is_match("/(?x)[ ]x/", " x"));
  BOOST_TEST(is_match("/(?x)a\\ b/", "a b"));
  BOOST_TEST(is_match("/(?x:a b) c/", "ab c"));
  // (?#...) is a comment anywhere, even before a quantifier.
  BOOST_TEST(is_match("/^a(?#several)*b$/", "aaab"));
}

BOOST_AUTO_TEST_CASE(unicode_classes_and_properties) {
  BOOST_TEST(is_match(R"(/^\p{Lu}\p{Ll}+$/)", "Émile"));
  BOOST_TEST(is_match(R"(/^\P{L}+$/)", "123"));
  BOOST_TEST(is_match(R"(/^\d$/)", "\u0663"));  // ARABIC-INDIC DIGIT THREE is \d in .NET
  BOOST_TEST(is_match(R"(/^\w+$/)", "über"));
  BOOST_TEST(is_match(R"(/^\w+$/)", "e\u0301"));  // a combining mark (Mn) is a word character
  BOOST_TEST(!is_match(R"(/^\w$/)", "\u00B2"));   // SUPERSCRIPT TWO (No) is not
  BOOST_TEST(is_match(R"(/^[\w-]+$/)", "dev_1-ü"));
  BOOST_TEST(is_match(R"(/^\s$/)", "\u00A0"));  // NO-BREAK SPACE
  BOOST_TEST(is_match(R"(/\bbpm\b/)", "80 bpm"));
  BOOST_TEST(is_match("/^.$/", "é"));  // a character, not a byte
}

BOOST_AUTO_TEST_CASE(escapes) {
  BOOST_TEST(is_match(R"(/caf\u00e9/)", "café"));
  BOOST_TEST(is_match(R"(/\uD83D\uDE00/)", "😀"));  // a surrogate pair is one character
  BOOST_TEST(is_match(R"(/^\x41\101\cA$/)", "AA\x01"));
  BOOST_TEST(is_match(R"(/\e\t/)", "\x1b\t"));
  BOOST_TEST(is_match(R"(/^\v$/)", "\v"));  // .NET \v is U+000B only
  BOOST_TEST(!is_match(R"(/^\v$/)", "\n"));
  BOOST_TEST(is_match(R"(/[\b]/)", "\b"));  // backspace inside a class
  BOOST_TEST(is_match(R"(/a\.b\/c/)", "a.b/c"));
  // `{` that is not a quantifier is literal.
  BOOST_TEST(is_match("/x{,2}/", "x{,2}"));
  BOOST_TEST(is_match("/{a}/", "{a}"));
  BOOST_TEST(is_match("/^a{2,3}$/", "aaa"));
  BOOST_TEST(is_match("/x^*y/", "xy"));  // a quantified anchor, pointless but valid .NET
  // .NET keeps only the '[' of a POSIX-looking [:name:] inside a class.
  BOOST_TEST(is_match("/^[[:alpha:]]$/", "["));
  BOOST_TEST(!is_match("/[[:alpha:]]/", "a"));
  BOOST_TEST(is_match("/^[]a]+$/", "]a"));  // a leading ']' is literal
}

BOOST_AUTO_TEST_CASE(invalid_patterns_are_regex_parse_exceptions) {
  auto e = match_error("/a(/", "a");
  BOOST_TEST(e.type == "RegexParseException");
  BOOST_TEST(e.message == "Invalid pattern 'a(' at offset 2. Not enough )'s.");
  for (const char* p : {"/a)/", "/[a/", "/*a/", "/a**/", "/a{2}{3}/", "/(?<n>a/", "/[z-a]/", "/\\x4/", "/\\u12/",
                        "/\\k<nope>/", "/\\1/", "/(?P<n>a)/", "/\\p{Foo}/", "/\\p{lu}/", "/\\pL/", "/\\i/"})
    BOOST_TEST(match_error_type(p) == "RegexParseException", p);
  // PCRE2 syntax that .NET does not have is rejected, not given PCRE2's meaning.
  for (const char* p : {"/a*+/",   "/a++b/",     "/\\h/",   "/\\K/",     "/\\Qa\\E/",  "/\\R/",   "/\\X/",
                        "/\\N/",   "/\\o{101}/", "/\\g1/",  "/(*UTF)a/", "/(*SKIP)a/", "/(?R)/",  "/(?1)(a)/",
                        "/(?|a)/", "/(?C1)a/",   "/(?&n)/", "/(?^)a/",   "/(?J)a/",    "/(?U)a/", "/\\_/"})
    BOOST_TEST(match_error_type(p) == "RegexParseException", p);
  BOOST_TEST(match_error("/\\h/", "x").message.find("Unrecognized escape sequence \\h.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(what_pcre2_cannot_do_is_not_supported) {
  auto unsupported = [](std::string_view p, std::string_view construct) {
    auto e = match_error(p, "x");
    BOOST_TEST(e.type == "NotSupportedException", p);
    BOOST_TEST(e.message.find(construct) != std::string::npos, e.message);
  };
  unsupported("/[a-z-[aeiou]]/", "character class subtraction");
  unsupported("/(?<open-close>x)/", "balancing groups");
  unsupported("/(?<-close>x)/", "balancing groups");
  unsupported("/(?<2>x)/", "explicitly numbered groups");
  unsupported("/\\p{IsGreek}/", "Unicode blocks");
  unsupported("/(?<=a+)b/", "variable-length lookbehind");
  unsupported("/\\uD83D/", "surrogate");
}

BOOST_AUTO_TEST_CASE(errors_surface_only_when_a_string_is_tested) {
  // Newtonsoft builds the Regex when it first compares: a bad pattern compiles as part of the path
  // and fails only once a string reaches it (numbers, missing fields and objects do not).
  BOOST_TEST(select("$[?(@.n =~ /(?<=a+)b/)]", R"([{"n":5},{"m":"x"},{"n":{"a":"b"}}])").empty());
  BOOST_TEST(select_error("$[?(@.n =~ /(?<=a+)b/)]", R"([{"n":5},{"n":"ab"}])").type == "NotSupportedException");
}

BOOST_AUTO_TEST_SUITE_END()
