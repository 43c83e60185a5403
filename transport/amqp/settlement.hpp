// How a delivery is settled once the pipeline has decided about its event (STYLE habit 4;
// AMQP 1.0 §3.4 delivery states). Sans-io.
//
//   completion fired                      -> accepted. This includes events whose mapping failed:
//                                            the pipeline has reported them (error log, metrics and
//                                            the dead-letter store when configured) and a broker
//                                            redelivery would fail the same way forever.
//   a transient failure (outcome::failures -> modified{delivery-failed}: the broker redelivers it
//     [i].cls is not permanent: the FHIR     (delivery-count + 1). The service puts a retrying
//     server failing, throttling, ...)       sink in front of the pipeline (transport/retrying_sink.hpp),
//                                            so this only happens when it gives up (shutdown).
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

namespace iomt::transport::amqp {

enum class disposition : std::uint8_t { accepted, released, modified_failed, rejected };
const char* to_string(disposition d) noexcept;

// Fills `per_event` (one slot per event of the submission, initially anything) from `o`, by each
// failure's class alone (mapping/failure_class.hpp), never by its type name.
void plan_settlement(const outcome& o, std::span<disposition> per_event);

}  // namespace iomt::transport::amqp
