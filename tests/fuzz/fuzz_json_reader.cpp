// libFuzzer target for the JSON readers (iomt-spec §2): arbitrary bytes must never crash, hang or
// recurse without bound. Also checks that body_reader (strict fast path + lenient fallback) accepts
// exactly what the lenient reader accepts, that accepted values can be written back out, and runs
// the .NET conversions (§3.5) over every string found.
#include "mapping/json/dotnet.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void visit(const iomt::json::value& v, int budget) {
  using iomt::json::kind;
  if (budget <= 0) return;
  std::string text;
  iomt::json::date_time t;
  (void)iomt::json::to_dotnet_string(v, text);
  (void)iomt::json::to_dotnet_datetime(v, t);
  if (v.is_string()) (void)iomt::json::sniff_date(v.as_string());
  if (v.is_array())
    for (const auto& e : v.as_array()) visit(e, budget - 1);
  if (v.is_object())
    for (const auto& m : v.as_object()) visit(m.val, budget - 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static iomt::json::body_reader reader;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  iomt::json::arena a1;
  auto body = reader.read(text, a1);
  if (body) {
    (void)iomt::json::to_string(*body);
    visit(*body, 128);
  }

  iomt::json::arena a2;
  auto lenient = iomt::json::parse_lenient(text, a2);
  if (lenient) (void)iomt::json::to_boost(*lenient);
  if (body.has_value() != lenient.has_value()) std::abort();

  auto located = iomt::json::parse_located(text);
  if (located.has_value() != lenient.has_value()) std::abort();

  // The raw input as a candidate date string.
  if (size <= 64) {
    (void)iomt::json::parse_datetime(text);
    (void)iomt::json::sniff_date(text);
  }
  return 0;
}
