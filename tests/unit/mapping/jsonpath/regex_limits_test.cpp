// `=~` never hangs, crashes or grows without bound (mapping/jsonpath/regex.hpp): the limits, bad
// UTF-8, threads, and the inputs the fuzzer found (tests/fuzz/corpus/fuzz_jsonpath/regression-*).
#include "mapping/jsonpath/regex.hpp"
#include "mapping/jsonpath/regex_translate.hpp"
#include "regex_test_util.hpp"

#include <atomic>
#include <chrono>
#include <thread>

using namespace iomt;
using namespace iomt::jsonpath::test;
using iomt::jsonpath::error;
namespace jd = iomt::jsonpath::detail;

namespace {

// Evaluates and reports how long it took (a figure for the log; the suite's timeout catches hangs).
error timed_error(std::string_view slashed, const std::string& input) {
  auto start = std::chrono::steady_clock::now();
  error e = match_error(slashed, input);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE(slashed << " on " << input.size() << " bytes: " << e.type << " after " << ms << " ms");
  return e;
}

std::string repeat(std::size_t n, char c, std::string_view tail = "") { return std::string(n, c) + std::string(tail); }

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(regex_limits)

BOOST_AUTO_TEST_CASE(catastrophic_backtracking_stops_at_the_step_limit) {
  // .NET (no timeout set, as in MedTech) would run for ages; here the step limit ends it.
  error e = timed_error("/(a+)+$/", repeat(40, 'a', "!"));
  BOOST_TEST(e.type == "RegexMatchTimeoutException");
  BOOST_TEST(e.message.starts_with("The Regex engine has timed out"));
  BOOST_TEST(e.message.find("backtracking steps at one start position") != std::string::npos, e.message);
  BOOST_TEST(timed_error("/^(([a-z])+.)+[A-Z]([a-z])+$/", repeat(60, 'a', "!")).type == "RegexMatchTimeoutException");
  BOOST_TEST(timed_error(R"(/(\w+\s?)+$/)", repeat(5000, 'a', "!")).type == "RegexMatchTimeoutException");
}

BOOST_AUTO_TEST_CASE(a_search_through_a_long_string_has_one_budget) {
  // Quadratic: every start position scans the rest of the string. PCRE2 counts steps per start
  // position, so the allowance per position shrinks with the length of the string.
  BOOST_TEST(timed_error("/(?:a|b)*?[cd]/", repeat(200'000, 'a')).type == "RegexMatchTimeoutException");
  BOOST_TEST(jd::regex_steps_per_position(false, 9) == jd::regex_max_steps_per_position);
  BOOST_TEST(jd::regex_steps_per_position(false, 9'999) == 1000u);
  BOOST_TEST(jd::regex_steps_per_position(false, 100'000'000) == jd::regex_min_steps_per_position);
  BOOST_TEST(jd::regex_steps_per_position(true, 100'000'000) == jd::regex_max_steps_per_position);
  // The same pattern on a short string finishes (no match), well within the budget.
  BOOST_TEST(!is_match("/(?:a|b)*?[cd]/", repeat(500, 'a')));
}

BOOST_AUTO_TEST_CASE(depth_and_memory_limits) {
  error depth = timed_error("/^(?:a|b)*$/", repeat(200'000, 'a'));
  BOOST_TEST(depth.type == "RegexMatchTimeoutException");
  BOOST_TEST(depth.message.find("nested backtracking points") != std::string::npos, depth.message);
  // Captures make each backtracking frame larger: the memory limit comes first.
  error heap = timed_error("/^((a)(b)?(c)?)*$/", repeat(200'000, 'a', "!"));
  BOOST_TEST(heap.type == "RegexMatchTimeoutException");
  BOOST_TEST(heap.message.find("KiB of backtracking memory") != std::string::npos, heap.message);
  // Matches after those still work (the thread's scratch memory was released and is made again).
  BOOST_TEST(is_match("/^(?:a|b)*$/", repeat(10'000, 'a')));
}

BOOST_AUTO_TEST_CASE(long_strings_that_need_no_backtracking_are_fine) {
  std::string samples;
  for (int i = 0; i < 10'000; ++i) samples += std::to_string(i * 37 % 1000) + " ";
  samples += "5";
  BOOST_TEST(is_match(R"(/^(?:\d+ )*\d+$/)", samples));
  BOOST_TEST(is_match(R"(/^[\d ]+$/)", samples));
  BOOST_TEST(is_match("/5$/", samples));
  BOOST_TEST(!is_match("/^(?:a+ )*a+$/", repeat(200'000, 'a', "!")));
  BOOST_TEST(is_match("/^a+$/", repeat(1'000'000, 'a')));
}

BOOST_AUTO_TEST_CASE(pattern_size_nesting_and_repetition_bounds) {
  std::string big = "/" + repeat(jd::max_regex_pattern_bytes, 'a') + "/";
  BOOST_TEST(is_match(big, repeat(jd::max_regex_pattern_bytes, 'a')));
  auto too_big = match_error("/" + repeat(jd::max_regex_pattern_bytes + 1, 'a') + "/", "a");
  BOOST_TEST(too_big.type == "NotSupportedException");
  BOOST_TEST(too_big.message.find("longer than 4096 bytes") != std::string::npos, too_big.message);

  auto nested = [](std::size_t depth) { return "/" + repeat(depth, '(') + "a" + repeat(depth, ')') + "/"; };
  BOOST_TEST(is_match(nested(jd::max_regex_group_depth), "a"));
  auto deep = match_error(nested(jd::max_regex_group_depth + 1), "a");
  BOOST_TEST(deep.type == "NotSupportedException");
  BOOST_TEST(deep.message.find("nested more than 32 deep") != std::string::npos, deep.message);
  BOOST_TEST(match_error_type("/" + repeat(1000, '(') + "/") == "NotSupportedException");

  BOOST_TEST(is_match("/^(?:ab){2,5}$/", "ababab"));
  BOOST_TEST(is_match("/^(?:a{200}){300}$/", repeat(60'000, 'a')));
  BOOST_TEST(match_error_type("/(?:a{300}){300}/") == "NotSupportedException");
  BOOST_TEST(match_error_type("/a{70000}/") == "NotSupportedException");
  BOOST_TEST(match_error_type("/a{1000}{1000}/") == "NotSupportedException");
  // PCRE2 copies counted groups; what still compiles too large is refused the same way.
  BOOST_TEST(match_error_type("/(?:(?:abcdefgh){100}){100}/") == "NotSupportedException");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_never_matches_and_never_fails) {
  // Strings normally come from JSON (valid UTF-8); the engine is safe with anything.
  auto c = jd::compile_regex("/a.c/");
  BOOST_TEST(!*jd::regex_is_match(c,
                                  "a\xff"
                                  "c"));
  BOOST_TEST(*jd::regex_is_match(c,
                                 "\xc3"
                                 "abc\xe2\x82"));
  BOOST_TEST(*jd::regex_is_match(jd::compile_regex("/c$/"),
                                 "a\xff"
                                 "c"));
  BOOST_TEST(!*jd::regex_is_match(jd::compile_regex("/\\xFF/"), "\xff"));          // U+00FF is not the byte 0xFF
  BOOST_TEST(!*jd::regex_is_match(jd::compile_regex("/^.*$/s"), "\xed\xa0\x80"));  // an encoded surrogate
  BOOST_TEST(*jd::regex_is_match(jd::compile_regex("//"), std::string_view()));
  // A pattern that is not UTF-8 is a parse error.
  BOOST_TEST(jd::regex_is_match(jd::compile_regex("/a\xff/"), "a").error().type == "RegexParseException");
}

BOOST_AUTO_TEST_CASE(one_compiled_path_matches_from_many_threads) {
  auto p = compiled("$[?(@.s =~ /^dev-(?<n>\\d+)$/)]");
  json::document d = doc(R"([{"s":"dev-1"},{"s":"x"},{"s":"dev-22"},{"s":"dev-"}])");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      std::vector<const json::value*> out;
      for (int i = 0; i < 2000; ++i) {
        out.clear();
        if (!p.select(d.root, out) || out.size() != 2) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_CASE(fuzz_crash_std_regex_backreference_overflow) {
  // tests/fuzz/corpus/fuzz_jsonpath/regression-regex-backreference-overflow.bin: libstdc++'s std::regex
  // overflowed a signed integer reading the back-reference \666...6 (UBSan). The path itself does
  // not parse; its regex literal was compiled on the way.
  std::string crash = unhex(
      "242e615b3f28402effffffffff0000ff6262203d7e202f5c3636363636363636363636363636363636363636363636363636363636"
      "363636242f671a5d");
  auto p = jsonpath::path::compile(crash);
  BOOST_REQUIRE(!p);
  BOOST_TEST(p.error().type == "JsonException");
  // The same literal in a path that parses: a .NET parse error, raised when a string is tested.
  auto e = match_error("/\\" + repeat(36, '6') + "$/g", "x");
  BOOST_TEST(e.type == "RegexParseException");
  BOOST_TEST(e.message.find("Int32.MaxValue") != std::string::npos, e.message);
}

BOOST_AUTO_TEST_SUITE_END()
