// Structured log lines (pipeline/log.hpp): long values are cut with a marker, so no line grows
// with what a device sends (issue 12: 2 MB values made 96 MB of log from one bad event).
#define BOOST_TEST_MODULE pipeline log
#include <boost/test/unit_test.hpp>

#include "pipeline/log.hpp"

#include <boost/json.hpp>

#include <string>

using namespace iomt;

namespace {

boost::json::object parse(const std::string& line) {
  BOOST_REQUIRE(!line.empty() && line.back() == '\n');
  boost::system::error_code ec;
  auto v = boost::json::parse(line.substr(0, line.size() - 1), ec);
  BOOST_REQUIRE_MESSAGE(!ec && v.is_object(), line.substr(0, 200));
  return v.as_object();
}

}  // namespace

BOOST_AUTO_TEST_CASE(short_values_are_kept_whole) {
  const std::string line =
      log::format_line(log::level::error, "2024-05-01T10:00:00Z", "device event not normalized",
                       {{"type", "IncompatibleDataException"}, {"detail", "a \"quoted\"\nline"}}, 3);
  const auto o = parse(line);
  BOOST_TEST(o.at("level").as_string() == "error");
  BOOST_TEST(o.at("msg").as_string() == "device event not normalized");
  BOOST_TEST(o.at("detail").as_string() == "a \"quoted\"\nline");
  BOOST_TEST(o.at("suppressed").as_int64() == 3);
}

BOOST_AUTO_TEST_CASE(long_values_are_cut_with_a_marker) {
  const std::string big(2 << 20, 'A');
  const std::string line =
      log::format_line(log::level::error, "t", big, {{"message", big}, {"value", big}, {"type", "X"}});
  BOOST_TEST(line.size() < 4 * 1024u);
  const auto o = parse(line);
  const std::string want =
      std::string(log::max_value_bytes, 'A') + "...[+" + std::to_string(big.size() - log::max_value_bytes) + " bytes]";
  BOOST_TEST(std::string(o.at("msg").as_string()) == want);
  BOOST_TEST(std::string(o.at("message").as_string()) == want);
  BOOST_TEST(o.at("type").as_string() == "X");
  // Exactly at the limit: nothing is cut.
  const std::string edge(log::max_value_bytes, 'b');
  BOOST_TEST(std::string(parse(log::format_line(log::level::info, "t", edge, {})).at("msg").as_string()) == edge);
}

BOOST_AUTO_TEST_CASE(the_limit_counts_escaped_text_and_keeps_characters_whole) {
  // Control bytes escape to six characters each: the limit is on what is written.
  const std::string controls(4096, '\x01');
  std::string line = log::format_line(log::level::warn, "t", "m", {{"v", controls}});
  BOOST_TEST(line.size() < 2 * 1024u);
  BOOST_TEST(line.find("bytes]") != std::string::npos);
  // A cut never splits a UTF-8 character: the line stays valid UTF-8 (boost::json checks).
  for (std::size_t pad = 0; pad < 4; ++pad) {
    std::string text(pad, 'x');
    for (int i = 0; i < 600; ++i) text += "\xE2\x82\xAC";  // U+20AC, 3 bytes
    line = log::format_line(log::level::warn, "t", "m", {{"v", text}});
    const auto o = parse(line);
    const std::string v(o.at("v").as_string());
    BOOST_TEST(v.find("...[+") != std::string::npos);
    BOOST_TEST((v.find("...[+") - pad) % 3 == 0u);
  }
}
