// How a failure is classified, once, where it is detected (issue 12; STYLE habit 5). The class
// travels with the error to every source, which acts on it without looking at exception names:
// permanent failures are dead-lettered, all others keep the event waiting and retried.
#pragma once

#include <cstdint>
#include <string_view>

namespace iomt::mapping {

enum class failure_class : std::uint8_t {
  permanent,  // the data or the mappings must be fixed by a person: dead-letter with the reason
  transient,  // network error, timeout, 408, 5xx: retry; repeated for one event while the server
              // writes other events, it is that event's own problem (poison: dead-lettered)
  throttled,  // 429, 503: the server asks us to slow down; retry, never the event's own fault
  blocked,    // the FHIR server refuses our credentials (401/403), the token endpoint refuses
              // them, TLS verification fails: an operator must act; events wait meanwhile
};

constexpr bool is_transient(failure_class c) noexcept { return c != failure_class::permanent; }
// Whether repeats of this failure for one event, while other events are written, point at the
// event itself (transient network/server errors do; throttling and credentials never do).
constexpr bool counts_against_event(failure_class c) noexcept { return c == failure_class::transient; }

constexpr std::string_view to_string(failure_class c) noexcept {
  switch (c) {
    case failure_class::permanent:
      return "permanent";
    case failure_class::transient:
      return "transient";
    case failure_class::throttled:
      return "throttled";
    case failure_class::blocked:
      return "blocked";
  }
  return "permanent";
}

// Worst wins when outcomes merge: a transient failure anywhere retries the whole event.
constexpr int severity(failure_class c) noexcept {
  switch (c) {
    case failure_class::permanent:
      return 1;
    case failure_class::transient:
      return 2;
    case failure_class::throttled:
      return 3;
    case failure_class::blocked:
      return 4;
  }
  return 1;
}

}  // namespace iomt::mapping
