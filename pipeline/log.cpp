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

void escape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
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
}

const char* name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    default: return "error";
  }
}

void emit(level l, std::string_view msg, std::initializer_list<field> fields, unsigned long suppressed) {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  json::date_time t{json::unix_epoch_ticks + ns / 100 / 10000 * 10000, json::date_kind::utc};
  std::string line = "{\"ts\":\"" + json::format_iso(t) + "\",\"level\":\"" + name(l) + "\",\"msg\":\"";
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
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void set_level(level l) { min_level = static_cast<int>(l); }

bool parse_level(std::string_view s, level& out) {
  if (s == "debug") out = level::debug;
  else if (s == "info") out = level::info;
  else if (s == "warn") out = level::warn;
  else if (s == "error") out = level::error;
  else return false;
  return true;
}

void set_rate_limit(unsigned b, std::chrono::milliseconds i) {
  std::lock_guard lock(mutex);
  burst = b;
  interval = i;
}

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
  if (static_cast<int>(l) < min_level.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mutex);
  emit(l, msg, fields, 0);
}

void error(std::string_view key, std::string_view msg, std::initializer_list<field> fields) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex);
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
  emit(level::error, msg, fields, b.suppressed);
  b.suppressed = 0;
}

}  // namespace iomt::log
