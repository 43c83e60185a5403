// Retry policy for FHIR requests (sans-io): what to do after a response or a network error.
// Pure functions of (attempt, outcome, now, jitter), so tests need no clock and no socket
// (STYLE habit 1, 7).
//
// Rules (issue 3 §4, iomt-spec §12, §13.2):
//   429 / 503            -> retry after Retry-After (delta-seconds or HTTP-date), else backoff
//   408, other 5xx       -> retry with bounded exponential backoff, full jitter
//   network errors       -> same, except permanent ones (TLS verification, bad URL, cancelled)
//   409 / 412            -> conflict: the caller re-reads and merges again (§12 step 5)
//   other 4xx            -> permanent failure carrying the OperationOutcome text
//   1xx-3xx, 404, 410    -> done (the caller interprets the status)
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace iomt::fhir {

struct retry_options {
  std::chrono::milliseconds base_delay{200};           // first backoff ceiling
  std::chrono::milliseconds max_delay{30'000};         // backoff ceiling cap
  int max_attempts = 6;                                // total tries of one request, >= 1
  std::chrono::milliseconds max_retry_after{120'000};  // longer server hints are clamped
};

enum class retry_action {
  done,      // final response: hand it to the caller
  retry,     // wait `delay`, then send again
  conflict,  // 409/412: version conflict, the caller re-reads (not retried here)
  fail,      // permanent failure, or retries exhausted; `reason` says why
};

struct retry_decision {
  retry_action action = retry_action::done;
  std::chrono::milliseconds delay{0};
  std::string reason;  // for fail/retry: human-readable cause (status + OperationOutcome text)
};

class retry_policy {
public:
  explicit retry_policy(retry_options options = {}) : options_(options) {}

  // After an HTTP response. `attempt` is 1 for the first try. `jitter01` is a uniform random
  // number in [0, 1) (the caller's RNG; tests pass constants).
  retry_decision on_response(int attempt, unsigned status, std::string_view retry_after, std::string_view body,
                             std::chrono::system_clock::time_point now, double jitter01) const;

  // After a transport error (no response). `detail` is the error text to report.
  retry_decision on_error(int attempt, const boost::system::error_code& ec, std::string_view detail,
                          double jitter01) const;

  // Full jitter: uniform in [0, min(max_delay, base_delay * 2^(attempt-1))].
  std::chrono::milliseconds backoff(int attempt, double jitter01) const;

  const retry_options& options() const noexcept { return options_; }

private:
  retry_options options_;
};

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an IMF-fixdate / RFC 850 / asctime date.
// Returns the wait relative to `now` (0 for dates in the past), or -1 s when unparseable.
std::chrono::seconds parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

// Transport errors that cannot heal by retrying (certificate verification, cancellation, ...).
bool is_permanent_network_error(const boost::system::error_code& ec);

// The OperationOutcome text of an error body: issue[].diagnostics, else issue[].details.text
// (joined with "; "); the body itself (truncated) when it is not an OperationOutcome.
std::string operation_outcome_text(std::string_view body);

// "400 Bad Request", "429 Too Many Requests", ...
std::string status_text(unsigned status);

}  // namespace iomt::fhir
