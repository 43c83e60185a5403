// How a delivery is settled once the pipeline has decided about its event (STYLE habit 4;
// AMQP 1.0 §3.4 delivery states). Sans-io.
//
//   completion fired                      -> accepted. This includes events whose mapping failed:
//                                            the pipeline has reported them (error log, metrics and
//                                            the dead-letter store when configured) and a broker
//                                            redelivery would fail the same way forever.
//   failure of a transient type reported  -> modified{delivery-failed}: the broker redelivers it
//     (FHIR unreachable after the writer's   (delivery-count + 1).
//     own retries; outcome::failures[i].type, when the outcome carries per-event failures)
//   outcome refused (a durable buffer in  -> modified{delivery-failed}
//     front could not store the events)
//   submit -> shutting_down               -> released (never processed; redelivered as is)
//   source stopping, not yet submitted    -> released
//   undecodable AMQP message              -> rejected{amqp:decode-error} (cannot become an event)
// Nothing is settled before its completion fires.
#pragma once

#include "transport/event.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::transport::amqp {

enum class disposition : std::uint8_t { accepted, released, modified_failed, rejected };
const char* to_string(disposition d) noexcept;

// The failure types that ask for redelivery rather than acceptance (the FHIR server was not
// reachable or overloaded beyond the writer's retries): iomt-spec §13.2 retryable exceptions.
inline const std::vector<std::string>& default_redeliver_types() {
  static const std::vector<std::string> types{"HttpRequestException", "AuthenticationFailedException",
                                              "FhirServerUnavailableException", "TaskCanceledException",
                                              "TimeoutException"};
  return types;
}

// Fills `per_event` (one slot per event of the submission, initially anything) from `o`.
void plan_settlement(const outcome& o, std::span<disposition> per_event,
                     const std::vector<std::string>& redeliver_types);

}  // namespace iomt::transport::amqp
