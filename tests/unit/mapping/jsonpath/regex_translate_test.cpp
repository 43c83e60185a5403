// .NET pattern -> the PCRE2 pattern regex.cpp compiles (mapping/jsonpath/regex_translate.hpp).
// The table is the rewrite rules made executable; regex_test.cpp checks the resulting matches.
#include "mapping/jsonpath/regex_translate.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

namespace jd = iomt::jsonpath::detail;

namespace {

std::string pcre(std::string_view dotnet, bool explicit_capture = false) {
  auto t = jd::translate_dotnet_regex(dotnet, explicit_capture);
  BOOST_REQUIRE_MESSAGE(t, "'" << dotnet << "' does not translate: " << (t ? "" : t.error().message));
  BOOST_TEST(t->origin.size() == t->text.size());
  return t->text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(regex_translation)

BOOST_AUTO_TEST_CASE(shared_syntax_is_unchanged) {
  for (const char* p : {"^abc$", "a|b", "(a)(?:b)", "a*?b+?c??", "a{2}b{2,}c{2,3}?", "[^a-z0-9_]", "\\d\\D\\s\\S",
                        "\\b\\B\\A\\G\\Z\\z", "(?=a)(?!b)(?<=c)(?<!d)(?>e)", "\\p{Lu}\\P{Nd}", "\\.\\*\\/", "é😀"})
    BOOST_TEST(pcre(p) == p);
}

BOOST_AUTO_TEST_CASE(rewrites) {
  BOOST_TEST(pcre("\\w\\W") == "[\\p{L}\\p{Mn}\\p{Nd}\\p{Pc}][^\\p{L}\\p{Mn}\\p{Nd}\\p{Pc}]");
  BOOST_TEST(pcre("[\\w.]") == "[\\p{L}\\p{Mn}\\p{Nd}\\p{Pc}.]");
  BOOST_TEST(pcre("\\v[\\v\\b]") == "\\x{B}[\\x{B}\\x{8}]");
  BOOST_TEST(pcre("\\x41\\u00e9\\uD83D\\uDE00\\cJ\\0\\012") == "\\x{41}\\x{E9}\\x{1F600}\\x{A}\\x{0}\\x{A}");
  BOOST_TEST(pcre("x{,2}{a}}") == "x\\{,2\\}\\{a\\}\\}");
  BOOST_TEST(pcre("[[:alpha:]][]a]") == "[\\[][\\]a]");
  BOOST_TEST(pcre("(?<year>\\d+)-(?'year'x)\\k<year>\\k'year'") == "(?<g1>\\d+)-(?<g1>x)\\k<g1>\\k<g1>");
  BOOST_TEST(pcre("(?<n>a)(b)\\1\\2") == "(?<g1>a)(b)\\g{2}\\k<g1>");  // .NET: unnamed groups first
  BOOST_TEST(pcre("(a)\\11") == "(a)\\x{9}");                          // no group 11: octal
  BOOST_TEST(pcre("(?<q>a)?(?(q)b|c)(?(1)d)") == "(?<g1>a)?(?(<g1>)b|c)(?(<g1>)d)");
  BOOST_TEST(pcre("(?(ab)c|d)") == "(?(?=ab)c|d)");
  BOOST_TEST(pcre("(?(?=a)b)") == "(?(?=a)b)");
  BOOST_TEST(pcre("a(?#note)*") == "a*");
  BOOST_TEST(pcre("^*a\\b?$") == "(?:^)*a(?:\\b)?$");  // .NET may quantify an anchor, PCRE2 a group
  BOOST_TEST(pcre("(?x) a b # c\n [ ] \\ ") == "(?)ab[ ]\\ ");
  BOOST_TEST(pcre("(?ix-s:a b)(?-x) c") == "(?i-s:ab)(?) c");
  BOOST_TEST(pcre("(?n)(a)(?<b>c)") == "(?n)(a)(?<g1>c)");
  // With ExplicitCapture (Newtonsoft's `x`) (...) is no group, so \1 refers to nothing.
  BOOST_TEST(!jd::translate_dotnet_regex("(a)\\1", true));
  BOOST_TEST(pcre("(?<a>x)\\1", true) == "(?<g1>x)\\k<g1>");
}

BOOST_AUTO_TEST_CASE(error_offsets_point_into_the_dotnet_pattern) {
  auto t = jd::translate_dotnet_regex("\\w(", false);
  BOOST_REQUIRE(!t);
  BOOST_TEST(t.error().message == "Invalid pattern '\\w(' at offset 3. Not enough )'s.");
  auto ok = jd::translate_dotnet_regex("\\w[z-a]", false);
  BOOST_REQUIRE(ok);
  // Every byte of "[z-a]" comes from offset 2 onwards of the .NET text.
  BOOST_TEST(ok->origin.back() == 6u);
  BOOST_TEST(ok->origin[ok->text.find('[', 1)] == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
