// Structured JSON logs, one object per line on stderr:
//   {"ts":"2026-11-25T20:31:00.123Z","level":"error","msg":"...","stage":"...",...}
// Error lines are rate-limited per key and warnings per message (a burst, then one per interval,
// with a count of what was suppressed) so one bad device cannot flood the log. The message and every field value are
// cut at max_value_bytes of JSON text (at a UTF-8 character boundary) with a marker saying how many bytes were left
// out: "...[+2097152 bytes]". One event carrying 2 MB values made 96 MB of log.
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace iomt::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

using field = std::pair<std::string_view, std::string_view>;

inline constexpr std::size_t max_value_bytes = 1024;

// One line (with its newline) as it is written; `ts` is the time text. Pure: tests call it.
std::string format_line(level l, std::string_view ts, std::string_view msg, std::initializer_list<field> fields,
                        unsigned long suppressed = 0);

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
