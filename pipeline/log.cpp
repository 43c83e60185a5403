#include "pipeline/log.hpp"

#include "mapping/json/dotnet.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>

namespace iomt::log {

namespace {

std::atomic<int> min_level{static_cast<int>(level::info)};
std::mutex mutex;
unsigned burst = 20;
std::chrono::milliseconds interval{10000};

struct bucket {
  double tokens;
  std::chrono::steady_clock::time_point last;
  unsigned long suppressed = 0;
};
std::unordered_map<std::string, bucket> buckets;

// Bytes of JSON text one input byte becomes.
std::size_t escaped_size(char c) {
  switch (c) {
    case '"':
    case '\\':
    case '\n':
    case '\r':
    case '\t':
      return 2;
    default:
      return static_cast<unsigned char>(c) < 0x20 ? 6 : 1;
  }
}

void escape_char(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += c;
      }
  }
}

// Escapes `s`, at most max_value_bytes of output; a longer value is cut before a UTF-8 lead byte
// and ends with a marker naming the input bytes left out.
void escape(std::string& out, std::string_view s) {
  std::size_t n = 0, size = 0;
  while (n < s.size() && size + escaped_size(s[n]) <= max_value_bytes) size += escaped_size(s[n++]);
  if (n < s.size()) {
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // inside a character
  }
  for (std::size_t i = 0; i < n; ++i) escape_char(out, s[i]);
  if (n < s.size()) out += "...[+" + std::to_string(s.size() - n) + " bytes]";
}

const char* name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    default:
      return "error";
  }
}

void emit(level l, std::string_view msg, std::initializer_list<field> fields, unsigned long suppressed) {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  json::date_time t{json::unix_epoch_ticks + ns / 100 / 10000 * 10000, json::date_kind::utc};
  const std::string line = format_line(l, json::format_iso(t), msg, fields, suppressed);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

std::string format_line(level l, std::string_view ts, std::string_view msg, std::initializer_list<field> fields,
                        unsigned long suppressed) {
  std::string line = "{\"ts\":\"";
  escape(line, ts);
  line += "\",\"level\":\"";
  line += name(l);
  line += "\",\"msg\":\"";
  escape(line, msg);
  line += '"';
  for (const auto& [k, v] : fields) {
    line += ",\"";
    escape(line, k);
    line += "\":\"";
    escape(line, v);
    line += '"';
  }
  if (suppressed) line += ",\"suppressed\":" + std::to_string(suppressed);
  line += "}\n";
  return line;
}

void set_level(level l) { min_level = static_cast<int>(l); }

bool parse_level(std::string_view s, level& out) {
  if (s == "debug")
    out = level::debug;
  else if (s == "info")
    out = level::info;
  else if (s == "warn")
    out = level::warn;
  else if (s == "error")
    out = level::error;
  else
    return false;
  return true;
}

void set_rate_limit(unsigned b, std::chrono::milliseconds i) {
  std::lock_guard lock(mutex);
  burst = b;
  interval = i;
}

namespace {

// Token bucket per key (burst, then one per interval); the line printed after a pause says how
// many were suppressed. Called with `mutex` held.
void limited(level l, std::string_view key, std::string_view msg, std::initializer_list<field> fields) {
  const auto now = std::chrono::steady_clock::now();
  auto [it, fresh] = buckets.try_emplace(std::string(key), bucket{static_cast<double>(burst), now});
  bucket& b = it->second;
  if (!fresh) {
    const double refill = std::chrono::duration<double>(now - b.last) / std::chrono::duration<double>(interval);
    b.tokens = std::min(static_cast<double>(burst), b.tokens + refill);
    b.last = now;
  }
  if (b.tokens < 1) {
    ++b.suppressed;
    return;
  }
  b.tokens -= 1;
  emit(l, msg, fields, b.suppressed);
  b.suppressed = 0;
}

}  // namespace

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
  if (static_cast<int>(l) < min_level.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mutex);
  // A repeating warning is rate-limited by its message, like errors by their key (issue 12).
  if (l == level::warn) {
    std::string key = "warn\x1f";
    key += msg;
    return limited(l, key, msg, fields);
  }
  emit(l, msg, fields, 0);
}

void error(std::string_view key, std::string_view msg, std::initializer_list<field> fields) {
  std::lock_guard lock(mutex);
  limited(level::error, key, msg, fields);
}

}  // namespace iomt::log
