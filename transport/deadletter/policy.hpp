// deadletter.policy (sans-io): what happens to an event whose failure is final, by error type.
//   store  the default: the event goes to the dead-letter store with its reason
//   count  counted (iomtflow_deadletter_dropped_total{reason="policy"}) and logged, rate-limited,
//          but not stored: MedTech's behaviour, for known gaps such as a reading the mappings
//          leave out on purpose (TemplateNotFoundException)
// The store applies it in put() (store.hpp), so the sources that hand it failed events
// (durable_source, retrying_sink) need not know.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace iomt::transport::deadletter {

enum class action { store, count };

// "store" | "count"; false for anything else.
bool parse_action(std::string_view text, action& out);
const char* to_string(action a);

class policy {
public:
  struct rule {
    std::string type;  // exact upstream error name, e.g. "TemplateNotFoundException"
    action what = action::store;
  };

  policy() = default;  // everything is stored
  explicit policy(std::vector<rule> rules) : rules_(std::move(rules)) {}

  action decide(std::string_view type) const {
    for (const auto& r : rules_)
      if (r.type == type) return r.what;
    return action::store;
  }
  const std::vector<rule>& rules() const { return rules_; }

private:
  std::vector<rule> rules_;  // a handful: a linear scan beats hashing
};

// Rate limit of the "counted, not stored" log lines: per error type, a line for the first event
// and then at most one per `interval`, carrying the number of events since the previous line.
// Time comes in as .NET ticks, so tests move it by hand.
class count_log_limiter {
public:
  explicit count_log_limiter(std::int64_t interval_ticks) : interval_(interval_ticks) {}

  // One event of `type` at `now`: returns the events to report in a line now (this one and the
  // quiet ones before it), or 0 to stay quiet.
  std::uint64_t note(std::string_view type, std::int64_t now_ticks);

private:
  struct state {
    std::int64_t last_line = 0;
    std::uint64_t quiet = 0;
  };
  std::int64_t interval_;
  std::unordered_map<std::string, state> types_;  // only types the policy counts: a handful
};

}  // namespace iomt::transport::deadletter
