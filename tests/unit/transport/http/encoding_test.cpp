// transport/http/encoding.hpp: our base64 and %-encoding rules on top of OpenSSL and Boost.URL.
// The cases below are where the libraries alone would answer differently (EVP_DecodeBlock trims
// white space and a trailing '-', reads '=' anywhere as zero bits and wants full padding).
#include <boost/test/unit_test.hpp>

#include "transport/http/encoding.hpp"

#include <string>

using namespace iomt::transport::http;

BOOST_AUTO_TEST_SUITE(encoding)

BOOST_AUTO_TEST_CASE(base64_rfc4648_vectors_with_and_without_padding) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    BOOST_TEST(base64_encode(plain) == encoded);
    BOOST_TEST(base64_decode(encoded).value_or("?") == plain);
    std::string unpadded(encoded);
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    BOOST_TEST(base64_decode(unpadded).value_or("?") == plain);
  }
}

BOOST_AUTO_TEST_CASE(base64_binary_round_trip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t n = 0; n <= bytes.size(); n += 17) {
    const std::string part = bytes.substr(0, n);
    BOOST_TEST(base64_decode(base64_encode(part)).value_or("?") == part);
  }
}

BOOST_AUTO_TEST_CASE(base64_refuses_what_evp_decodeblock_would_accept) {
  BOOST_TEST(!base64_decode(" Zm9v"));   // leading white space
  BOOST_TEST(!base64_decode("Zm9v\n"));  // trailing line break
  BOOST_TEST(!base64_decode("Zm9v-"));   // trailing '-'
  BOOST_TEST(!base64_decode("Zm=v"));    // '=' inside
  BOOST_TEST(!base64_decode("Zg==="));   // a third '='
  BOOST_TEST(!base64_decode("Zg="));     // padding that does not reach a multiple of 4
  BOOST_TEST(!base64_decode("Zm9vY"));   // 4k+1 characters
  BOOST_TEST(!base64_decode("Zm9v\xC3\xA9"));
  BOOST_TEST(base64_decode("====").has_value() == false);
  BOOST_TEST(base64_decode("").value_or("?").empty());
}

BOOST_AUTO_TEST_CASE(base64_ignores_the_unused_bits_of_the_last_character) {
  BOOST_TEST(base64_decode("Zh==").value_or("?") == "f");  // 'h' carries bits past the last byte
  BOOST_TEST(base64_decode("Zm9=").value_or("?") == "fo");
}

BOOST_AUTO_TEST_CASE(percent_encoding_of_every_byte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  const std::string upper = url_encode(all), lower = url_encode(all, true);
  BOOST_TEST(upper.find("%2F%30") == std::string::npos);  // digits stay as they are
  BOOST_TEST(upper.find("-.") != std::string::npos);
  BOOST_TEST(upper.find("%FF") != std::string::npos);
  BOOST_TEST(lower.find("%ff") != std::string::npos);
  BOOST_TEST(url_decode(upper).value_or("?") == all);
  BOOST_TEST(url_decode(lower).value_or("?") == all);
  BOOST_TEST(url_encode(" ") == "%20");
  BOOST_TEST(url_decode("%00").value_or("?") == std::string(1, '\0'));
  BOOST_TEST(!url_decode("%"));
  BOOST_TEST(!url_decode("a%G0"));
  BOOST_TEST(!url_decode("%4"));
}

BOOST_AUTO_TEST_SUITE_END()
