#include "transport/buffer/compact_properties.hpp"

#include "mapping/json/dotnet.hpp"
#include "transport/buffer/varint.hpp"
#include "transport/http/json_scan.hpp"

#include <charconv>

namespace iomt::transport::buffer {

namespace {

namespace js = http::json_scan;

// Key codes are stored on disk: append new names, never reorder. Tokens with their quotes.
constexpr std::string_view kNames[] = {
    "",  // 0: a key token stored as sent
    "\"message-id\"",
    "\"to\"",
    "\"subject\"",
    "\"reply-to\"",
    "\"correlation-id\"",
    "\"content-type\"",
    "\"group-id\"",
    "\"reply-to-group-id\"",
    "\"x-opt-sequence-number\"",
    "\"x-opt-offset\"",
    "\"x-opt-enqueued-time\"",
    "\"x-opt-publisher\"",
    "\"x-opt-partition-key\"",
    "\"content-encoding\"",
    "\"user-id\"",
    "\"creation-time\"",
    "\"absolute-expiry-time\"",
};
constexpr std::uint64_t kNameCount = sizeof kNames / sizeof kNames[0];

enum tag : std::uint8_t { raw = 0, integer = 1, digits = 2, enqueued = 3 };

bool parse_int(std::string_view s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() && std::to_string(v) == s;
}

bool parse_digits(std::string_view s, std::uint64_t& v) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() && std::to_string(v) == s;
}

}  // namespace

std::string enqueued_time_text(std::int64_t ticks) {
  if (ticks < 0 || ticks > json::max_ticks) return {};
  const json::civil_time c = json::to_civil(ticks);
  // Written digit by digit: snprintf cost 1 % of iomtflow's CPU at saturation (once per event).
  char b[32];
  std::size_t n = 0;
  auto put = [&](long long v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      b[n + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    n += static_cast<std::size_t>(width);
  };
  put(c.year, 4);
  b[n++] = '-';
  put(c.month, 2);
  b[n++] = '-';
  put(c.day, 2);
  b[n++] = 'T';
  put(c.hour, 2);
  b[n++] = ':';
  put(c.minute, 2);
  b[n++] = ':';
  put(c.second, 2);
  const long long ms = static_cast<long long>(c.fraction_ticks / json::ticks_per_millisecond);
  if (ms != 0) {
    b[n++] = '.';
    put(ms, 3);
    while (b[n - 1] == '0') --n;
  }
  b[n++] = 'Z';
  return std::string(b, n);
}

bool compact_properties_encode(std::string_view json, std::int64_t enqueued_ticks, std::string& out) {
  auto doc = js::scan_document(json);
  if (!doc || doc->size() != json.size() || js::kind_of(*doc) != js::value_kind::object) return false;
  const std::string time = enqueued_time_text(enqueued_ticks);  // empty: out of range, never matched
  std::string body;
  std::uint64_t members = 0;
  js::for_each_member(*doc, [&](std::string_view key, std::string_view value) {
    ++members;
    std::uint64_t code = 0;
    for (std::uint64_t i = 1; i < kNameCount; ++i)
      if (kNames[i] == key) code = i;
    body.push_back(static_cast<char>(code));
    if (code == 0) put_bytes(body, key);
    const auto kind = js::kind_of(value);
    if (kind == js::value_kind::number) {
      std::int64_t v = 0;
      if (parse_int(value, v)) {
        body.push_back(static_cast<char>(tag::integer));
        put_varint(body, zigzag(v));
        return;
      }
    } else if (kind == js::value_kind::string && value.size() >= 2) {
      const std::string_view inner = value.substr(1, value.size() - 2);
      if (!time.empty() && inner == time) {
        body.push_back(static_cast<char>(tag::enqueued));
        return;
      }
      std::uint64_t v = 0;
      if (parse_digits(inner, v)) {
        body.push_back(static_cast<char>(tag::digits));
        put_varint(body, v);
        return;
      }
    }
    body.push_back(static_cast<char>(tag::raw));
    put_bytes(body, value);
  });
  std::string packed;
  put_varint(packed, members);
  packed += body;
  // Only what comes back byte for byte (no whitespace, no other spelling) is kept compact.
  std::string_view check = packed;
  std::string text;
  if (!compact_properties_decode(check, enqueued_ticks, text) || !check.empty() || text != json) return false;
  out += packed;
  return true;
}

bool compact_properties_decode(std::string_view& in, std::int64_t enqueued_ticks, std::string& out) {
  std::uint64_t members = 0;
  if (!get_varint(in, members) || members > in.size() / 2) return false;  // >= 2 bytes per member
  out.push_back('{');
  for (std::uint64_t i = 0; i < members; ++i) {
    if (in.size() < 2) return false;
    if (i > 0) out.push_back(',');
    const auto code = static_cast<std::uint8_t>(in[0]);
    in.remove_prefix(1);
    if (code >= kNameCount) return false;
    if (code == 0) {
      std::string_view key;
      if (!get_bytes(in, key)) return false;
      out += key;
    } else {
      out += kNames[code];
    }
    out.push_back(':');
    if (in.empty()) return false;
    const auto t = static_cast<std::uint8_t>(in[0]);
    in.remove_prefix(1);
    std::uint64_t v = 0;
    switch (t) {
      case tag::raw: {
        std::string_view value;
        if (!get_bytes(in, value)) return false;
        out += value;
        break;
      }
      case tag::integer:
        if (!get_varint(in, v)) return false;
        out += std::to_string(unzigzag(v));
        break;
      case tag::digits:
        if (!get_varint(in, v)) return false;
        out.push_back('"');
        out += std::to_string(v);
        out.push_back('"');
        break;
      case tag::enqueued: {
        const std::string time = enqueued_time_text(enqueued_ticks);
        if (time.empty()) return false;
        out.push_back('"');
        out += time;
        out.push_back('"');
        break;
      }
      default:
        return false;
    }
  }
  out.push_back('}');
  return true;
}

}  // namespace iomt::transport::buffer
