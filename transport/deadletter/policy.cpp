#include "transport/deadletter/policy.hpp"

namespace iomt::transport::deadletter {

bool parse_action(std::string_view text, action& out) {
  if (text == "store")
    out = action::store;
  else if (text == "count")
    out = action::count;
  else
    return false;
  return true;
}

const char* to_string(action a) { return a == action::count ? "count" : "store"; }

std::uint64_t count_log_limiter::note(std::string_view type, std::int64_t now_ticks) {
  auto it = types_.find(std::string(type));
  const bool fresh = it == types_.end();
  if (fresh) it = types_.emplace(std::string(type), state{}).first;
  state& s = it->second;
  ++s.quiet;
  if (!fresh && now_ticks - s.last_line < interval_) return 0;
  s.last_line = now_ticks;
  const std::uint64_t n = s.quiet;
  s.quiet = 0;
  return n;
}

}  // namespace iomt::transport::deadletter
