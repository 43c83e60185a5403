// Structured JSON logs, one object per line on stderr:
//   {"ts":"2026-11-25T20:31:00.123Z","level":"error","msg":"...","stage":"...",...}
// Error lines are rate-limited per key (a burst, then one per interval, with a count of what was
// suppressed) so one bad device cannot flood the log.
#pragma once

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace iomt::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

using field = std::pair<std::string_view, std::string_view>;

void set_level(level l);
bool parse_level(std::string_view s, level& out);
void set_rate_limit(unsigned burst, std::chrono::milliseconds interval);

void write(level l, std::string_view msg, std::initializer_list<field> fields = {});
inline void debug(std::string_view m, std::initializer_list<field> f = {}) { write(level::debug, m, f); }
inline void info(std::string_view m, std::initializer_list<field> f = {}) { write(level::info, m, f); }
inline void warn(std::string_view m, std::initializer_list<field> f = {}) { write(level::warn, m, f); }
// Rate-limited by `key` (e.g. the error type): thread-safe.
void error(std::string_view key, std::string_view m, std::initializer_list<field> f = {});

}  // namespace iomt::log
