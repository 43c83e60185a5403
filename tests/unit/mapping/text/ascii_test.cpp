// mapping/text/ascii.hpp: the one copy of the ASCII helpers every folder used to carry.
#define BOOST_TEST_MODULE mapping_text
#include "mapping/text/ascii.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

namespace text = iomt::mapping::text;

BOOST_AUTO_TEST_CASE(iequals_folds_ascii_letters_only) {
  static_assert(text::iequals("Content-Type", "content-TYPE"));
  BOOST_TEST(text::iequals("", ""));
  BOOST_TEST(text::iequals("SharedAccessSignature", "sharedaccesssignature"));
  BOOST_TEST(!text::iequals("abc", "abcd"));
  BOOST_TEST(!text::iequals("a-b", "a_b"));
  BOOST_TEST(!text::iequals("[", "{"));                // '[' is 'A' - 6 + 32: not a letter
  BOOST_TEST(!text::iequals("\xC3\x89", "\xC3\xA9"));  // É / é: UTF-8 bytes are not folded
  BOOST_TEST(text::iequals("\xC3\xA9T", "\xC3\xA9t"));
}

BOOST_AUTO_TEST_CASE(to_lower_and_trim) {
  BOOST_TEST(text::to_lower("Hub/$Default/CHECKPOINT") == "hub/$default/checkpoint");
  BOOST_TEST(text::to_lower("\xC3\x89") == "\xC3\x89");
  BOOST_TEST(text::trim(" \t\n\v\f\rx y\r\n") == "x y");
  BOOST_TEST(text::trim("   ").empty());
  BOOST_TEST(text::trim("\xC2\xA0x") == "\xC2\xA0x");  // NBSP is not ASCII white space
}

BOOST_AUTO_TEST_CASE(hex_digits) {
  const std::string digits = "0123456789abcdefABCDEF";
  const int values[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15};
  for (std::size_t i = 0; i < digits.size(); ++i) BOOST_TEST(text::hex_value(digits[i]) == values[i]);
  for (char c : std::string("gG/:@`\x80 ")) BOOST_TEST(text::hex_value(c) == -1);
}

BOOST_AUTO_TEST_CASE(utf8_of_each_length) {
  std::string out;
  text::append_utf8(out, 0x41);
  text::append_utf8(out, 0xE9);
  text::append_utf8(out, 0x20AC);
  text::append_utf8(out, 0x1F600);
  BOOST_TEST(out == "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  out.clear();
  text::append_utf8(out, 0x7F);
  text::append_utf8(out, 0x80);
  text::append_utf8(out, 0x7FF);
  text::append_utf8(out, 0x800);
  text::append_utf8(out, 0xFFFF);
  text::append_utf8(out, 0x10000);
  text::append_utf8(out, 0x10FFFF);
  BOOST_TEST(out == "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
}
